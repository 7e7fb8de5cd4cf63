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
