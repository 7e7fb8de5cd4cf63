"""Start-up of the command line and the cost of a fit, each against a baseline measured in the same run.

Sections (each writes ``benchmarks/results/startup_<section>{_quick}.{md,csv}``):

* ``cli``: wall time of ``mixid --help`` and ``mixid identify paper-level2 --json`` (fresh processes, the installed
  console script) against ``python -c "import numpy"``; median of repeated runs, interleaved so that a slow moment
  of the machine hits all three. Targets: 5x and 12x.
* ``fit``: ``fit("paper-level3", frame)`` on 10^6 rows (5 * 10^4 with --quick), the placement cached by the first
  call (as in any session that fits more than once), against the strongest plain-numpy SPO we could write: one
  ``np.bincount`` over the joint code of Z, X, T, Y, the moments read off the 16-cell table, then the same linear
  algebra (mixid's own SPO solve). A weaker baseline (one-hot matrices, moments by matrix products) is shown too.
  Target: fit <= 0.25x the baseline.
* ``demo``: ``mixid demo`` (and with ``--plot``) end to end in a fresh process, as a new user runs it first.

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


def bincount_spo(design, Z, X, T, Y):
    """The strongest plain-numpy SPO we could write (what mixid itself does for its statistics): one pass of
    ``np.bincount`` over the joint code of the four binary columns, every moment read off the 16-cell table, then
    the same solve as mixid."""
    from mixid.estimate.spo import spo

    table = np.bincount(((Z * 2 + X) * 2 + T) * 2 + Y, minlength=16).reshape(2, 2, 2, 2) / len(Z)  # Z, X, T, Y
    m = {(("X",), (), None, False): table.sum(axis=(0, 2, 3))[:, None]}
    for t in (0, 1):
        arm = table[:, :, t, :] / table[:, :, t, :].sum()
        m[(("Z",), ("X",), t, False)] = arm.sum(axis=2)
        m[(("Z",), (), t, True)] = arm[:, :, 1].sum(axis=1)[:, None]
        m[(("Z",), ("X",), t, True)] = arm[:, :, 1]
    return spo(_ArmMoments(design, m), ("Z",), ("X",), 2)


def section_fit(quick: bool) -> list[list]:
    from mixid import Design, fit, simulate

    d = Design.builtin("paper-level3")
    n = 50_000 if quick else 1_000_000
    frame, _ = simulate(d, n, seed=0)
    repeats = 1 if quick else 15
    first_start = time.perf_counter()
    ours = fit("paper-level3", frame, estimator="spo")  # places the design and caches the placement
    first = time.perf_counter() - first_start
    columns = [frame[c].to_numpy() for c in ("Z", "X", "T", "Y")]
    baselines = {"bincount": lambda: bincount_spo(d, *columns), "one-hot": lambda: onehot_spo(d, *columns)}
    for name, baseline in baselines.items():
        est = baseline()
        if abs(est.ate - ours.estimate.ate) > 1e-9 or np.abs(est.effects - ours.estimate.effects).max() > 1e-6:
            raise AssertionError(f"the {name} baseline and fit disagree: the comparison would be meaningless")
    times: dict[str, list[float]] = {"spo": [], "mle": [], "bincount": [], "one-hot": []}
    for i in range(repeats):  # interleaved: every side sees the same moments of the machine
        times["spo"].append(median_time(lambda: fit("paper-level3", frame, estimator="spo"), 1)[0])
        times["bincount"].append(median_time(baselines["bincount"], 1)[0])
        times["mle"].append(median_time(lambda i=i: fit("paper-level3", frame, seed=i), 1)[0])
        times["one-hot"].append(median_time(baselines["one-hot"], 1)[0])
    med = {name: statistics.median(ts) for name, ts in times.items()}
    base = med["bincount"]
    return [
        [f"fit('paper-level3', frame, estimator='spo'), {n:,} rows, placement cached", repeats, f"{med['spo']:.4f}",
         f"{med['spo'] / base:.2f}x", "<= 0.25x", "yes" if med["spo"] <= 0.25 * base else "NO"],
        [f"fit('paper-level3', frame): the default (maximum likelihood, profile intervals), {n:,} rows", repeats,
         f"{med['mle']:.4f}", f"{med['mle'] / base:.2f}x", "", ""],
        [f"first fit in the process (places paper-level3, then SPO), {n:,} rows", 1, f"{first:.4f}",
         f"{first / base:.2f}x", "", ""],
        ["baseline: np.bincount of the joint code + the same SPO solve (the strongest we could write)", repeats,
         f"{base:.4f}", "1x", "", ""],
        ["weaker baseline: one-hot matrices, moments by matrix products + the same solve", repeats,
         f"{med['one-hot']:.4f}", f"{med['one-hot'] / base:.2f}x", "", ""],
    ]


def _demo(args: list[str]) -> float:
    return _wall([MIXID, "demo", *args])


def section_demo(quick: bool) -> list[list]:
    """``mixid demo`` end to end in a fresh process (start-up, simulation, placement, fit, report), as a new user
    runs it first; with ``--plot`` too (matplotlib's import and the figure)."""
    import tempfile

    repeats = 1 if quick else 5
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = ((("mixid demo -n 5000", ["-n", "5000"]),) if quick else  # quick: a smoke run, not the timing
                 (("mixid demo", []), ("mixid demo --plot demo.png", ["--plot", f"{tmp}/demo.png"])))
        for label, args in cases:
            ts = [_demo(args) for _ in range(repeats)]
            rows.append([label, repeats, f"{statistics.median(ts):.2f}", f"{min(ts):.2f}", f"{max(ts):.2f}"])
    return rows


SECTIONS = {
    "cli": (section_cli, ["command", "runs", "median s", "min s", "vs import numpy", "target", "met"]),
    "fit": (section_fit, ["task", "runs", "median s", "vs bincount SPO", "target", "met"]),
    "demo": (section_demo, ["command", "runs", "median s", "min s", "max s"]),
}


def main(argv: list[str] | None = None) -> int:
    return run_sections("startup", "bench_startup.py", SECTIONS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
