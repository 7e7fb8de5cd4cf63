"""Global identifiability by counting the generic fibre: evidence, real semantics, published formats.

Three tables, written to results/fibre.md and results/fibre.json next to this file:

1. **Counts and evidence** on the test designs: m (parameter points up to relabelling with the observables of a
   generic point, over the complex numbers), the engine, each target's answer over the real parameter space and
   its evidence (exact / probabilistic / numerical), the number of valid models at the base point, and a check
   that no target is called "not identifiable" without a valid witness (real, interior, nonsingular, the same law
   at 50 digits, not a relabelling).
2. **identifiable_fraction** on paper-level3's graph with k = 3, a binary Z and X of 3 or 4 categories: the share
   of sampled parameter points at which one valid model alone gives the law, with its 95 % Wilson interval.
3. **Published formats** within a budget (default 60 s each), with ``count_fibre``'s ``auto`` method as
   ``--global`` runs it: 2x2x2x3 with 4 classes (1 decomposition; square), five binary items with 5 classes (2,
   Chiantini-Ottaviani-Vannieuwenhoven 2014; overdetermined, so monodromy in the model's own parameters), 3x3x5
   with 5 classes (6; square), 3x4x5 with 6 classes (1; Hauenstein-Oeding-Ottaviani-Sommese 2019; square). A count
   that does not finish is reported with ``complete: false`` and its verdict stays undecided.

Also the wall time of ``place(design, scope="global", max_seconds=1)`` on the k = 3 design (the budget includes
the 50-digit witness).

    python benchmarks/bench_fibre.py [--quick] [--max-seconds S] [--samples N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, load_average, machine_info  # noqa: E402
from mixid.identify import Design, place  # noqa: E402
from mixid.identify.fibre import count_fibre, engines, recheck_separation, recheck_witness  # noqa: E402

LC = Design.latent_class


def binary_z(x_categories: int) -> Design:
    """paper-level3's graph (Z -> T -> Y) with k = 3, binary Z, T, Y and an X of ``x_categories``."""
    k3 = dataclasses.replace(Design.builtin("paper-level3"), classes=3, name=f"k3, binary Z, X {x_categories}")
    return dataclasses.replace(k3, variables=tuple(dataclasses.replace(v, size=x_categories) if v.name == "X" else v
                                                   for v in k3.variables))


def test_designs(quick: bool) -> list[tuple[str, Design, str, object]]:
    out = [
        ("paper-level2", Design.builtin("paper-level2"), "auto", 1),
        ("paper-level3", Design.builtin("paper-level3"), "auto", 1),
        ("2x2x2, k=2 (Kruskal)", LC({"A": 2, "B": 2, "C": 2}, classes=2), "auto", 1),
        ("2x2x2, k=2 (Kruskal), numeric", LC({"A": 2, "B": 2, "C": 2}, classes=2), "numeric", 1),
        ("3x3x3, k=3 (Kruskal)", LC({"A": 3, "B": 3, "C": 3}, classes=3), "auto", 1),
        ("2x2x2x2, k=3 (defective)", LC({"A": 2, "B": 2, "C": 2, "D": 2}, classes=3), "auto", "positive-dimensional"),
        ("3x3x2x2, k=5 (defective)", LC({"A": 3, "B": 3, "C": 2, "D": 2}, classes=5), "auto", "positive-dimensional"),
        ("4x4x3, k=5 (defective)", LC({"A": 4, "B": 4, "C": 3}, classes=5), "auto", "positive-dimensional"),
    ]
    if not quick:
        out += [("3x3x3, k=3 (Kruskal), numeric", LC({"A": 3, "B": 3, "C": 3}, classes=3), "numeric", 1),
                ("k3, binary Z, X 3 (numeric)", binary_z(3), "numeric", "4 over C")]
    return out


PUBLISHED = [
    ("2x2x2x3, k=4", {"A": 2, "B": 2, "C": 2, "D": 3}, 4, 1),
    ("2x2x2x2x2, k=5", {c: 2 for c in "ABCDE"}, 5, 2),
    ("3x3x5, k=5", {"A": 3, "B": 3, "C": 5}, 5, 6),
    ("3x4x5, k=6", {"A": 3, "B": 4, "C": 5}, 6, 1),
]


def unfounded_refutations(design: Design, f) -> int:
    """Targets called not identifiable (finite fibre) without a witness that re-checks as a valid twin."""
    bad = 0
    for t in f.one_valued:
        if f.dimension == 0 and f.identifiable(t) is False:
            w = f.witnesses.get(t)
            ok = w is not None and w["valid"] and recheck_witness(design, w) < 1e-40 and \
                recheck_separation(design, w) > 1e-6
            bad += not ok
    return bad


def count_row(name: str, design: Design, method: str, expected, max_seconds: float, samples: int) -> dict:
    t = time.perf_counter()
    f = count_fibre(design, method=method, max_seconds=max_seconds, seed=0, samples=samples)
    seconds = time.perf_counter() - t
    m = "positive-dimensional" if f.dimension > 0 else (f.solutions if f.complete else f">= {f.solutions}")
    return {"design": name, "m": m, "expected": expected, "method": f.method, "complete": f.complete,
            "identifiable": {t: f.identifiable(t) for t in f.one_valued},
            "evidence": {t: f.evidence(t) for t in f.one_valued}, "valid_solutions": f.valid_solutions,
            "identifiable_fraction": f.fractions, "unfounded_refutations": unfounded_refutations(design, f),
            "seconds": round(seconds, 2), "details": {k: v for k, v in f.details.items() if k != "point"}}


def measured_fraction(design: Design, samples: int) -> tuple[dict, float]:
    """The share of sampled parameter points with one valid model, measured on the complete fibre of seed 0."""
    import numpy as np
    from mixid.identify.fibre.sampling import sample
    from mixid.identify.fibre.system import Orbits, target_values
    from mixid.identify.model import Model

    t = time.perf_counter()
    f = count_fibre(design, method="numeric", max_seconds=120, seed=0, samples=1)
    model = Model(design)
    rng = np.random.default_rng([0, 17])
    orbits = Orbits(model, rng)
    targets = tuple(f.one_valued)
    found = sample(model, f.points, targets, target_values(model, targets, orbits), orbits, rng,
                   time.monotonic() + 300, samples)
    return {t: found.fraction(t) for t in targets}, round(time.perf_counter() - t, 2)


def _fmt_fraction(fr: dict) -> str:
    return f"{100 * fr['estimate']:.0f} % ({100 * fr['low']:.0f}-{100 * fr['high']:.0f} %), {fr['points']} points"


def _work(d: dict) -> str:
    """What a count did, in a few words."""
    if "starts" in d:  # parameter monodromy
        return (f"{d['loops']} rounds ({d['stable_loops']} quiet), {d['starts']} starts ({d['converged_starts']} "
                f"converged), {d['loop_paths']} loop paths ({d['failed_paths']} failed)")
    if "loops" in d:
        return f"{d['loops']} loops ({d['stable_loops']} quiet), {d['paths']} paths ({d['failed_paths']} failed)"
    return f"degree {d.get('degree')}" if "degree" in d else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the test designs that take seconds")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="budget per count (published formats: 60 s)")
    ap.add_argument("--samples", type=int, default=60, help="parameter points sampled for identifiable_fraction")
    args = ap.parse_args()
    t_start, load = time.perf_counter(), load_average()
    out: dict = {"engines": engines(), "machine": machine_info(), "load": load}

    out["counts"] = [count_row(n, d, m, e, args.max_seconds, args.samples) for n, d, m, e in test_designs(args.quick)]
    for r in out["counts"]:
        print(r["design"], r["m"], r["method"], r["evidence"], r["seconds"], flush=True)

    out["fractions"] = []
    for x in ((3,) if args.quick else (3, 4)):
        design = binary_z(x)
        budget = args.max_seconds if args.quick else max(args.max_seconds, 120.0)  # quick: a smoke run
        row = count_row(design.name, design, "numeric", "", budget, args.samples)
        if not row["identifiable_fraction"] and row["complete"] and not args.quick:
            # refuted at the base point already, so the count sampled nothing: measure the share all the same
            row["identifiable_fraction"], row["fraction_seconds"] = measured_fraction(design, args.samples)
        out["fractions"].append(row)
        print(row["design"], row["m"], row["identifiable"], row["identifiable_fraction"], row["seconds"], flush=True)

    t = time.perf_counter()
    p = place(binary_z(3), scope="global", max_seconds=1)
    out["budget_1s"] = {"seconds": round(time.perf_counter() - t, 2), "summary": p.global_check["summary"],
                        "scopes": {t: v.scope for t, v in p.targets.items()}}
    print("place(scope='global', max_seconds=1):", out["budget_1s"], flush=True)

    out["published"] = []
    if not args.quick:
        for name, items, k, expected in PUBLISHED:
            row = count_row(name, LC(items, classes=k), "auto", expected, 60.0, args.samples)
            out["published"].append(row)
            print(name, row["m"], row["method"], row["complete"], row["seconds"], flush=True)

    RESULTS.mkdir(exist_ok=True)
    stem = "fibre_quick" if args.quick else "fibre"  # a smoke run never overwrites the full results
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=1, default=str))
    command = " ".join(["python benchmarks/bench_fibre.py", *sys.argv[1:]])
    lines = [f"# fibre{' (quick)' if args.quick else ''}", "",
             f"{machine_info()}, {load}. `{command}` ({time.perf_counter() - t_start:.0f} s).", "",
             "## Counts and evidence", "",
             "| design | m over C | expected | method | complete | answer (evidence) per target | valid at base "
             "| unfounded refutations | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for r in out["counts"] + out["fractions"]:
        answers = "; ".join(f"{t}: {r['identifiable'][t]} ({r['evidence'][t]})" for t in r["identifiable"])
        lines.append(f"| {r['design']} | {r['m']} | {r['expected']} | {r['method']} | {r['complete']} | {answers} | "
                     f"{r['valid_solutions']} | {r['unfounded_refutations']} | {r['seconds']} |")
    lines += ["", "## identifiable_fraction (k = 3, binary Z)", "",
              "| design | m over C | valid at base | share of sampled points with one valid model (95 % Wilson) "
              "| refuted by a valid twin | seconds |", "|---|---|---|---|---|---|"]
    for r in out["fractions"]:
        fr = r["identifiable_fraction"].get("full_mixture")
        share = _fmt_fraction(fr) if fr else "not sampled (decided at the base point)"
        refuted = ", ".join(t for t, v in r["identifiable"].items() if v is False) or "none"
        lines.append(f"| {r['design']} | {r['m']} | {r['valid_solutions']} | {share} | {refuted} | {r['seconds']} |")
    b = out["budget_1s"]
    lines += ["", f"`place(k3 binary Z X 3, scope='global', max_seconds=1)`: {b['seconds']} s; {b['summary']}"]
    if out["published"]:
        lines += ["", "## Published formats (budget 60 s each)", "",
                  "| format | m found | published | method | complete | evidence | work | seconds |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in out["published"]:
            lines.append(f"| {r['design']} | {r['m']} | {r['expected']} | {r['method']} | {r['complete']} | "
                         f"{r['evidence']['full_mixture']} | {_work(r['details'])} | {r['seconds']} |")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
