"""Smoke tests: every benchmark script runs at its --quick size and writes its tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = {
    "bench_identify.py": ["--quick", "--naive-timeout", "0.2"],
    "bench_estimate.py": ["--quick", "--only", "exact", "sweeps", "truncation"],
    "bench_paper.py": ["--quick"],
    "bench_extensions.py": ["--quick"],
    "bench_startup.py": ["--quick"],
    "bench_survey_identify.py": ["--quick"],
    "bench_survey_estimate.py": ["--quick"],
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_runs(script, tmp_path):
    env = {**os.environ, "MIXID_BENCH_RESULTS": str(tmp_path)}
    r = subprocess.run([sys.executable, str(BENCH / script), *SCRIPTS[script]], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    written = list(tmp_path.glob("*.md"))
    assert written and all(p.with_suffix(".csv").exists() for p in written)
    assert "|---" in written[0].read_text()


def _table(path: Path) -> list[dict]:
    import csv

    with path.open() as f:
        return list(csv.DictReader(f))


def test_bench_mle_quick(tmp_path):
    """bench_mle.py --quick: every section runs (stepmix only when StepMix is installed, and says so), and the
    targets that hold at quick size hold: carcinoma parity with poLCA, no impossible fit in the sweeps, a Wald
    interval in every calibration set, no fit below the truth's likelihood, carcinoma 4 classes under a second,
    and a likelihood at least StepMix's."""
    import importlib.util

    env = {**os.environ, "MIXID_BENCH_RESULTS": str(tmp_path)}
    r = subprocess.run([sys.executable, str(BENCH / "bench_mle.py"), "--quick"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    has_stepmix = importlib.util.find_spec("stepmix") is not None
    ran = "parity, stepmix, sweeps" if has_stepmix else "parity, sweeps"
    assert f"sections run: {ran}, calibration, jacobian_only, speed;" in r.stdout
    if not has_stepmix:
        assert "SKIPPED section stepmix: StepMix is not installed" in r.stdout
    parity = _table(tmp_path / "mle_parity_quick.csv")
    assert [row["classes"] for row in parity] == ["2", "3", "4"]
    assert all(row["within target"] == "yes" for row in parity), parity
    sweeps = _table(tmp_path / "mle_sweeps_quick.csv")
    assert len(sweeps) == 22 and all(row["default impossible"] == "0" for row in sweeps)
    calibration = _table(tmp_path / "mle_calibration_quick.csv")
    assert {row["quantity"] for row in calibration} >= {"ATE", "effect 0", "effect 1"}
    assert all(row["no se"] == "0" for row in calibration)
    jac = _table(tmp_path / "mle_jacobian_only_quick.csv")
    assert jac and all(row["fits below truth loglik"].startswith("0 of") for row in jac)
    speed = _table(tmp_path / "mle_speed_quick.csv")
    carcinoma = [row for row in speed if row["task"].startswith("carcinoma")]
    assert len(carcinoma) == 2 and all(row["within target"] == "yes" for row in carcinoma), carcinoma
    if has_stepmix:
        peers = _table(tmp_path / "mle_stepmix_quick.csv")
        assert peers and all(float(row["loglik diff"]) >= -1e-3 for row in peers), peers
    for stem in ("mle_sweeps_quick", "mle_calibration_quick", "mle_jacobian_only_quick"):
        assert (tmp_path / f"{stem}.png").exists()
