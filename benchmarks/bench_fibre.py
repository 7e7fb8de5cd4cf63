"""Global identifiability by counting the generic fibre: published tensor formats and the paper's designs.

For each design: the number m of parameter points up to relabelling with the observables of a generic point, the
engine that counted it (Groebner via msolve or sympy, monodromy, random starts), whether the count is exact, and
the time. Expected values come from the tensor literature: Kruskal-range formats have m = 1; defective formats
(four binary items with three classes; 3x3x2x2 with five; 4x4x3 with five) have a positive-dimensional fibre;
the perfect format 3x3x5 with five classes has m = 6 (a generic 5-dimensional space of 3x3 matrices meets the
Segre variety P2 x P2, of degree 6, in 6 rank-one matrices; any 5 of them give a decomposition).

    python benchmarks/bench_fibre.py [--quick] [--max-seconds S]

Writes results/fibre.md and results/fibre.json next to this file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from mixid.identify import Design
from mixid.identify.fibre import count_fibre, engines

RESULTS = Path(__file__).parent / "results"


def designs(quick: bool) -> list[tuple[str, Design, str, object]]:
    lc = Design.latent_class
    k3 = dataclasses.replace(Design.builtin("paper-level3"), classes=3, name="k3")
    tight = dataclasses.replace(k3, name="paper-level3, k=3, X 3 categories",
                                variables=tuple(dataclasses.replace(v, size=3) if v.name == "X" else v
                                                for v in k3.variables))
    out = [
        ("paper-level2", Design.builtin("paper-level2"), "auto", 1),
        ("paper-level3", Design.builtin("paper-level3"), "auto", 1),
        ("2x2x2, k=2 (Kruskal)", lc({"A": 2, "B": 2, "C": 2}, classes=2), "auto", 1),
        ("3x3x3, k=3 (Kruskal)", lc({"A": 3, "B": 3, "C": 3}, classes=3), "auto", 1),
        ("3x3x3, k=3 (Kruskal), numeric", lc({"A": 3, "B": 3, "C": 3}, classes=3), "numeric", 1),
        ("2x2x2x2, k=3 (defective)", lc({"A": 2, "B": 2, "C": 2, "D": 2}, classes=3), "auto", "positive-dimensional"),
        ("3x3x2x2, k=5 (defective)", lc({"A": 3, "B": 3, "C": 2, "D": 2}, classes=5), "auto", "positive-dimensional"),
        ("4x4x3, k=5 (defective)", lc({"A": 4, "B": 4, "C": 3}, classes=5), "auto", "positive-dimensional"),
    ]
    if not quick:
        out += [
            ("paper-level3 with k=3, X 3 categories (notebook 05)", tight, "numeric", "not 1 (points with other ATE)"),
            ("3x3x5, k=5 (perfect, exceptional)", lc({"A": 3, "B": 3, "C": 5}, classes=5), "numeric", 6),
        ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the designs that take seconds")
    ap.add_argument("--max-seconds", type=float, default=600.0)
    args = ap.parse_args()
    rows = []
    for name, design, method, expected in designs(args.quick):
        t = time.perf_counter()
        f = count_fibre(design, method=method, max_seconds=args.max_seconds, seed=0)
        seconds = time.perf_counter() - t
        m = "positive-dimensional" if f.dimension > 0 else (f.solutions if f.complete else f">= {f.solutions}")
        rows.append({"design": name, "m": m, "expected": expected,
                     "method": f.method, "exact": f.exact, "complete": f.complete, "seconds": round(seconds, 2),
                     "one_valued": f.one_valued, "details": {k: v for k, v in f.details.items() if k != "point"}})
        print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fibre.json").write_text(json.dumps({"engines": engines(), "rows": rows}, indent=1, default=str))
    lines = ["| design | m found | expected | method | exact | seconds |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['design']} | {r['m']} | {r['expected']} | {r['method']} | {r['exact']} | {r['seconds']} |"
              for r in rows]
    (RESULTS / "fibre").with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
