"""Speed of ``mixid.place()`` against the usual numeric practice and a symbolic route, measured in the same run.

What is measured, per design:

* ``place_s``: median wall time of ``place(design)`` over a few repeats. Cold start is excluded: imports are
  warmed by one ``place`` call on a tiny built-in design before any timing.
* ``numeric_s``: the strongest fair baseline, the usual practice: the Jacobian of the observable map in floating
  point at 3 random interior points (mixid's own vectorised forward-mode derivative, the fastest evaluator we
  have; building the parametrisation included) and ``numpy.linalg.matrix_rank`` (SVD, numpy's default
  tolerance), the largest rank kept. It gives rank J only: no verdict per target, no certificate, and a
  tolerance instead of a proof. ``numeric_rank`` / ``numeric_match`` compare it with place()'s exact rank.
* ``symbolic_s``: a weak baseline (nobody should rank symbolically): the symbolic Jacobian
  ``sympy.Matrix(exprs).jacobian(model.symbols)`` and ``.rank()``, in a forked child process killed at
  ``--naive-timeout``; a killed run is reported as ``killed at T`` and ``rank_match`` as n/a.
* ``rank_match``: whether the symbolic rank equals ``place(...).model_info["jacobian_rank"]``.

Designs: the four built-ins (target < 1 s each); k = 3 with 4-category Z, X, binary T, Y and
Z -> T, T -> Y, X -> Y (target < 2 s); k = 4 with three conditionally independent 4-category proxies
A, B, C and binary T -> Y (target < 10 s).

Reproduce (from the repository root, after ``pip install -e '.[test]'``)::

    python benchmarks/bench_identify.py            # full run, < 5 min on 2 cores
    python benchmarks/bench_identify.py --quick    # smoke test, < 30 s

The full run writes ``benchmarks/results/identify.{md,csv}``; ``--quick`` writes
``benchmarks/results/identify_quick.{md,csv}`` so that a smoke test never overwrites the full results.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One BLAS thread for both sides of every ratio: on this shared 2-core machine threaded BLAS thrashes under load
# (a 256 x 51 SVD took 0.5 s with 2 threads, 0.3 ms with 1). Set OPENBLAS_NUM_THREADS to override.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import sympy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import load_average, machine_info, median_time, timed_subprocess, write_results  # noqa: E402

from mixid import Design, Model, place  # noqa: E402

CAT4 = {"type": "categorical", "categories": 4}
BIN = {"type": "categorical", "categories": 2}

# (label, spec, target seconds); a spec is a built-in name or a Design.from_dict mapping (both picklable).
DESIGNS: list[tuple[str, str | dict, float]] = [
    *((f"paper-level{i}", f"paper-level{i}", 1.0) for i in range(1, 5)),
    ("k3-ZX4", {"name": "k3-ZX4", "latent": {"name": "U", "classes": 3},
                "variables": {"Z": CAT4, "X": CAT4, "T": BIN, "Y": BIN}, "treatment": "T", "outcome": "Y",
                "edges": ["Z -> T", "T -> Y", "X -> Y"]}, 2.0),
    ("k4-ABC4", {"name": "k4-ABC4", "latent": {"name": "U", "classes": 4},
                 "variables": {"A": CAT4, "B": CAT4, "C": CAT4, "T": BIN, "Y": BIN}, "treatment": "T",
                 "outcome": "Y", "edges": ["T -> Y"]}, 10.0),
]

COLUMNS = ["design", "classes", "parameters", "observables", "target_s", "place_s", "within_target",
           "numeric_s", "place/numeric", "numeric_rank", "numeric_match", "symbolic_s", "jacobian_rank",
           "symbolic_rank", "rank_match"]


def load(spec: str | dict) -> Design:
    return Design.builtin(spec) if isinstance(spec, str) else Design.from_dict(spec)


def naive_rank(spec: str | dict) -> int:
    """The weak baseline: symbolic observable vector -> symbolic Jacobian -> sympy rank (in a child process)."""
    design = load(spec)
    m = Model(design)
    exprs = []
    for cell in m._cells:
        assign = {v: int(c) for v, c in zip(design.names, cell)}
        klass = int(cell[-1]) if design.latent_observed else None  # observed U is the last cell column
        exprs.append(m.expr(m.joint_poly(assign, klass=klass)))
    return sympy.Matrix(exprs).jacobian(m.symbols).rank()


def numeric_rank(design: Design, points: int = 3, seed: int = 0) -> int:
    """The usual practice: the float Jacobian at random interior points, ranked by SVD (numpy's tolerance)."""
    m = Model(design)
    rng = np.random.default_rng(seed)
    return max(int(np.linalg.matrix_rank(m.evaluate(m.random_point(rng))[1])) for _ in range(points))


def bench(label: str, spec: str | dict, target: float, repeats: int, timeout: float) -> list:
    design = load(spec)
    place_s, numeric_s = [], []
    for _ in range(repeats):  # interleaved, so both see the same load
        place_s.append(median_time(lambda: place(design), 1)[0])
        numeric_s.append(median_time(lambda: numeric_rank(design), 1)[0])
    p = place(design)
    place_s, numeric_s, nrank = float(np.median(place_s)), float(np.median(numeric_s)), numeric_rank(design)
    info = p.model_info
    sym = timed_subprocess(naive_rank, (spec,), timeout)
    if sym is None:
        sym_s, srank, match = f"killed at {timeout:g}", "", "n/a (killed)"
    else:
        sym_s, srank, match = f"{sym[0]:.2f}", sym[1], "yes" if sym[1] == info["jacobian_rank"] else "NO"
    return [label, design.classes, info["parameters"], info["observables"], f"{target:g}", f"{place_s:.3f}",
            "yes" if place_s < target else "NO", f"{numeric_s:.4f}", f"{place_s / numeric_s:.0f}x", nrank,
            "yes" if nrank == info["jacobian_rank"] else "NO", sym_s, info["jacobian_rank"], srank, match]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: fewer repeats, short symbolic timeout")
    ap.add_argument("--naive-timeout", type=float, default=None,
                    help="seconds before the symbolic route is killed (default 45, or 2 with --quick)")
    args = ap.parse_args(argv)
    timeout = args.naive_timeout if args.naive_timeout is not None else (2.0 if args.quick else 45.0)
    repeats = 1 if args.quick else 5

    machine = f"{machine_info()}, {load_average()}"
    print(machine, flush=True)
    place("paper-level1")  # warm imports and first-call costs; not timed

    rows = []
    print(" | ".join(COLUMNS), flush=True)
    for label, spec, target in DESIGNS:
        rows.append(bench(label, spec, target, repeats, timeout))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)

    cmd = "python benchmarks/bench_identify.py" + (" --quick" if args.quick else "") + \
        (f" --naive-timeout {args.naive_timeout:g}" if args.naive_timeout is not None else "")
    header = (f"# mixid.place() vs a numeric Jacobian rank (and a symbolic one)\n\n{machine}. `{cmd}`: place_s "
              f"(every target decided, with certificates) and numeric_s (float Jacobian at 3 random points, "
              f"numpy matrix_rank: rank J only, no certificate) are medians of {repeats} interleaved warm runs "
              f"(one BLAS thread); "
              f"the symbolic route (sympy Jacobian `.rank()`, a weak baseline) is killed after {timeout:g} s.")
    for path in write_results("identify_quick" if args.quick else "identify", header, COLUMNS, rows):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
