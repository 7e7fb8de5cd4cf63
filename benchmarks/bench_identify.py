"""Speed of ``mixid.place()`` against the naive symbolic-Jacobian route, measured in the same run.

What is measured, per design:

* ``place_s``: median wall time of ``place(design)`` over a few repeats. Cold start is excluded: imports are
  warmed by one ``place`` call on a tiny built-in design before any timing.
* ``naive_s``: the route this toolkit exists to beat. Build the symbolic observable vector (one sympy
  expression per cell of the observable table), its symbolic Jacobian
  ``sympy.Matrix(exprs).jacobian(model.symbols)``, and call ``.rank()``. It runs in a forked child process
  that is killed at ``--naive-timeout``; a killed run is reported as ``>T`` and its speed-up as ``>= T/place``.
* ``rank_match``: whether the naive symbolic rank equals ``place(...).model_info["jacobian_rank"]``.

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
import sys
from pathlib import Path

import sympy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine_info, median_time, timed_subprocess, write_results  # noqa: E402

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
           "naive_s", "naive/place", "jacobian_rank", "naive_rank", "rank_match"]


def load(spec: str | dict) -> Design:
    return Design.builtin(spec) if isinstance(spec, str) else Design.from_dict(spec)


def naive_rank(spec: str | dict) -> int:
    """Symbolic observable vector -> symbolic Jacobian -> sympy rank (run in a child process)."""
    design = load(spec)
    m = Model(design)
    exprs = []
    for cell in m._cells:
        assign = {v: int(c) for v, c in zip(design.names, cell)}
        klass = int(cell[-1]) if design.latent_observed else None  # observed U is the last cell column
        exprs.append(m.expr(m.joint_poly(assign, klass=klass)))
    return sympy.Matrix(exprs).jacobian(m.symbols).rank()


def bench(label: str, spec: str | dict, target: float, repeats: int, timeout: float) -> list:
    design = load(spec)
    place_s, p = median_time(lambda: place(design), repeats)
    info = p.model_info
    naive = timed_subprocess(naive_rank, (spec,), timeout)
    if naive is None:
        naive_s, ratio, nrank, match = f">{timeout:g}", f">= {timeout / place_s:.0f}", "", "n/a (timeout)"
    else:
        naive_s, ratio = f"{naive[0]:.2f}", f"{naive[0] / place_s:.0f}"
        nrank, match = naive[1], "yes" if naive[1] == info["jacobian_rank"] else "NO"
    return [label, design.classes, info["parameters"], info["observables"], f"{target:g}", f"{place_s:.3f}",
            "yes" if place_s < target else "NO", naive_s, ratio, info["jacobian_rank"], nrank, match]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: fewer repeats, short naive timeout")
    ap.add_argument("--naive-timeout", type=float, default=None,
                    help="seconds before the naive route is killed (default 45, or 2 with --quick)")
    args = ap.parse_args(argv)
    timeout = args.naive_timeout if args.naive_timeout is not None else (2.0 if args.quick else 45.0)
    repeats = 1 if args.quick else 5

    machine = machine_info()
    print(machine, flush=True)
    place("paper-level1")  # warm imports and first-call costs; not timed

    rows = []
    print(" | ".join(COLUMNS), flush=True)
    for label, spec, target in DESIGNS:
        rows.append(bench(label, spec, target, repeats, timeout))
        print(" | ".join(str(c) for c in rows[-1]), flush=True)

    cmd = "python benchmarks/bench_identify.py" + (" --quick" if args.quick else "") + \
        (f" --naive-timeout {args.naive_timeout:g}" if args.naive_timeout is not None else "")
    header = (f"# mixid.place() vs naive symbolic Jacobian rank\n\n{machine}. `{cmd}`: place_s is the median "
              f"of {repeats} warm runs; the naive route (sympy Jacobian `.rank()`) is killed after {timeout:g} s.")
    for path in write_results("identify_quick" if args.quick else "identify", header, COLUMNS, rows):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
