"""Start-up of the command line and the cost of a fit, each against a baseline measured in the same run.

Sections (each writes ``benchmarks/results/startup_<section>{_quick}.{md,csv}``):

* ``cli``: wall time of ``mixid --help`` and ``mixid identify paper-level2 --json`` (fresh processes, the installed
  console script) against ``python -c "import numpy"``; median of repeated runs, interleaved so that a slow moment
  of the machine hits all three. Targets: 5x and 12x.
* ``fit``: ``fit("paper-level3", frame)`` on 10^6 rows (2 * 10^5 with --quick), the placement cached by the first
  call (as in any session that fits more than once), against a plain vectorised numpy SPO: one-hot feature
  matrices of Z and X, the moment matrices M[Z,X|t], M[Z,Y|t], M[Z,X,Y|t] and E[X] by matrix products over the
  rows of each arm, then the same linear algebra (mixid's own SPO solve on those matrices). Target: fit <= 0.25x
  the baseline.

Reproduce: ``python benchmarks/bench_startup.py [--quick] [--only SECTION ...]``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import median_time, run_sections  # noqa: E402

MIXID = str(Path(sysconfig.get_path("scripts")) / "mixid")
COMMANDS = {
    'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
    "mixid --help": [MIXID, "--help"],
    "mixid identify paper-level2 --json": [MIXID, "identify", "paper-level2", "--json"],
}
TARGETS = {"mixid --help": 5.0, "mixid identify paper-level2 --json": 12.0}


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr[-500:]}")
    return dt


def section_cli(quick: bool) -> list[list]:
    repeats = 1 if quick else 21
    for cmd in COMMANDS.values() if not quick else ():  # warm the file cache and the bytecode
        _wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(repeats):
        for name, cmd in COMMANDS.items():
            times[name].append(_wall(cmd))
    base = statistics.median(times['python -c "import numpy"'])
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        target = TARGETS.get(name)
        rows.append([name, repeats, f"{med:.3f}", f"{min(ts):.3f}", f"{med / base:.1f}x",
                     "" if target is None else f"<= {target:g}x", "" if target is None else
                     ("yes" if med / base <= target else "NO")])
    return rows


class _ArmMoments:
    """The moment matrices of the one-hot baseline behind the interface of mixid's SPO solve."""

    def __init__(self, design, matrices: dict):
        self.design, self.matrices = design, matrices

    def M(self, rows, cols, t, outcome=False):  # noqa: N802 - the theory's name
        return self.matrices[(tuple(rows), tuple(cols), t, outcome)]


def onehot_spo(design, Z, X, T, Y):
    """A plain vectorised numpy SPO: one-hot features, moment matrices by matrix products per arm, then the same
    solve as mixid (truncated pseudo-inverse, operator recursion, matrix pencil)."""
    from mixid.estimate.spo import spo

    z = (Z[:, None] == np.arange(2)).astype(float)
    x = (X[:, None] == np.arange(2)).astype(float)
    y = Y.astype(float)
    m = {(("X",), (), None, False): (x.sum(axis=0) / len(x))[:, None]}
    for t in (0, 1):
        arm = T == t
        zt, xt, yt = z[arm], x[arm], y[arm]
        nt = len(yt)
        m[(("Z",), ("X",), t, False)] = zt.T @ xt / nt
        m[(("Z",), (), t, True)] = (zt.T @ yt / nt)[:, None]
        m[(("Z",), ("X",), t, True)] = (zt * yt[:, None]).T @ xt / nt
    return spo(_ArmMoments(design, m), ("Z",), ("X",), 2)


def section_fit(quick: bool) -> list[list]:
    from mixid import Design, fit, simulate

    d = Design.builtin("paper-level3")
    n = 200_000 if quick else 1_000_000
    frame, _ = simulate(d, n, seed=0)
    repeats = 3 if quick else 15
    first_start = time.perf_counter()
    ours = fit("paper-level3", frame, estimator="spo")  # places the design and caches the placement
    first = time.perf_counter() - first_start

    def baseline():
        return onehot_spo(d, *(frame[c].to_numpy() for c in ("Z", "X", "T", "Y")))

    base_est = baseline()
    if abs(base_est.ate - ours.estimate.ate) > 1e-9 or np.abs(base_est.effects - ours.estimate.effects).max() > 1e-6:
        raise AssertionError("the one-hot baseline and fit disagree: the comparison would be meaningless")
    t_fit, t_base, t_mle = [], [], []
    for i in range(repeats):  # interleaved
        t_fit.append(median_time(lambda: fit("paper-level3", frame, estimator="spo"), 1)[0])
        t_base.append(median_time(baseline, 1)[0])
        t_mle.append(median_time(lambda i=i: fit("paper-level3", frame, seed=i), 1)[0])
    med_fit, med_base, med_mle = statistics.median(t_fit), statistics.median(t_base), statistics.median(t_mle)
    return [
        [f"fit('paper-level3', frame, estimator='spo'), {n:,} rows, placement cached", repeats, f"{med_fit:.4f}",
         f"{med_fit / med_base:.3f}x", "<= 0.25x", "yes" if med_fit <= 0.25 * med_base else "NO"],
        [f"fit('paper-level3', frame): the default, maximum likelihood with 10 random starts + CP, {n:,} rows",
         repeats, f"{med_mle:.4f}", f"{med_mle / med_base:.3f}x", "", ""],
        ["vectorised numpy one-hot SPO (moments by matrix products + the same solve)", repeats, f"{med_base:.4f}",
         "1x", "", ""],
        [f"first fit in the process (places paper-level3, {n:,} rows)", 1, f"{first:.4f}",
         f"{first / med_base:.3f}x", "", ""],
    ]


SECTIONS = {
    "cli": (section_cli, ["command", "runs", "median s", "min s", "vs import numpy", "target", "met"]),
    "fit": (section_fit, ["task", "runs", "median s", "vs one-hot SPO", "target", "met"]),
}


def main(argv: list[str] | None = None) -> int:
    return run_sections("startup", "bench_startup.py", SECTIONS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
