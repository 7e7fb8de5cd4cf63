"""The identified set at a parameter point and at a fit: containment, accuracy at n = 1e6, width, time.

Designs: paper-level3's graph with k = 3, a binary Z -> T proxy and a 3- or 4-category X (finite fibres of 4 and 2
complex points), and paper-level4 (a 2-dimensional fibre: the MTE is bounded, the ATE determined).

* ``exact``: at random parameter points (exact population law, no sampling): the set holds the truth (its ATE and
  every class's weight and effect, classes sorted by effect); for the finite fibres, the set at the first point of
  the global check's refuting witness holds both of the witness's ATEs; for paper-level4, every one of 10,000
  valid fibre points visited by a random walk lies inside the bounds, and the bounds' width is compared with the
  range those points span.
* ``sampled``: maximum likelihood on n = 1e6 simulated rows: the set at the fit against the set at the truth
  (largest difference of any element), and the set's time against the fit's own.
* ``bootstrap``: maximum likelihood with ``bootstrap=B`` on n = 1e5 rows: the time the replicates' sets add
  against the fit and the bootstrap's own climb, the replicates whose set failed or is incomplete, and whether
  the union (points) or the outer interval (bounds) holds the set at the truth.

    python benchmarks/bench_identified_set.py [--quick] [--only exact sampled bootstrap] [--designs x3 x4 level4]

Writes results/identified_set[_quick].md and .json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
from harness import RESULTS, load_average, machine_info
from mixid.identify import Model, place
from mixid.identify.fibre.bounds import FibreWalk
from mixid.identify.fibre.identified_set import identified_set
from mixid.identify.fibre.targets import CausalTargets, parameter_point

from mixid import Design, fit, random_params, simulate, truth


def k3_design(x_categories: int) -> Design:
    k3 = dataclasses.replace(Design.builtin("paper-level3"), classes=3, name=f"k = 3, binary Z -> T, X {x_categories}")
    return dataclasses.replace(k3, variables=tuple(dataclasses.replace(v, size=x_categories) if v.name == "X" else v
                                                   for v in k3.variables))


def contains_truth(s, t) -> bool:
    """The truth's ATE and sorted (weights, effects) are among the set's points / inside its bounds (1e-8)."""
    order = np.argsort(t.effects)
    w, e = t.weights[order], t.effects[order]
    if s.kind == "points":
        return any(abs(p["ate"] - t.ate) < 1e-8 and np.abs(np.array(p["effects"]) - e).max() < 1e-8
                   and np.abs(np.array(p["weights"]) - w).max() < 1e-8 for p in s.points)
    inside = lambda r, v: r["low"] - 1e-8 <= v <= r["high"] + 1e-8  # noqa: E731
    return inside(s.ate, t.ate) and all(inside(s.weights[j], w[j]) and inside(s.effects[j], e[j])
                                        for j in range(len(e)))


def elements(s: dict) -> np.ndarray:
    """The set as one vector (sorted ATE values then per-class hulls, or the bounds' ends)."""
    if s["kind"] == "points":
        out = list(s["ate"]["values"])
    else:
        out = [s["ate"]["low"], s["ate"]["high"]]
    for r in s["mte"]["weights"] + s["mte"]["effects"]:
        out += [r["low"], r["high"]]
    return np.array(out)


DESIGNS = ("x3", "x4", "level4")


def exact_rows(quick: bool, designs=DESIGNS) -> list[dict]:
    rows = []
    points = 3 if quick else 10
    for x in [x for x in (3, 4) if f"x{x}" in designs]:
        design = k3_design(x)
        t0 = time.perf_counter()
        p = place(design, scope="global", max_seconds=300 if not quick else 120)
        count_seconds = time.perf_counter() - t0
        fib = p.fibre
        w = fib.witnesses.get("ate") or {}
        witness_ok = None
        if w.get("valid"):
            params = {name: float(v) for name, v in zip(w["parameters"], w["point_a"])}
            s = identified_set(design, params, fibre=fib, seed=0)
            witness_ok = all(min(abs(v - w[key]) for v in s.ate["values"]) < 1e-8 for key in ("ate_a", "ate_b"))
        held, seconds, valid, complete = 0, [], [], 0
        for seed in range(points):
            params = random_params(design, seed=seed)
            s = identified_set(design, params, fibre=fib, seed=seed)
            held += contains_truth(s, truth(design, params))
            seconds.append(s.seconds)
            valid.append(len(s.points))
            complete += s.complete
        rows.append({"design": design.name, "fibre": f"{fib.solutions} complex points ({fib.method}, "
                     f"{'complete' if fib.complete else 'lower bound'}), global check {count_seconds:.1f} s",
                     "points": points, "truth held": f"{held}/{points}", "complete sets": f"{complete}/{points}",
                     "witness's two ATEs held": witness_ok,
                     "valid points": f"{min(valid)}-{max(valid)}",
                     "median seconds": round(float(np.median(seconds)), 3),
                     "max seconds": round(max(seconds), 3)})
        print(rows[-1], flush=True)
    design = Design.builtin("paper-level4")
    model = Model(design)
    targets = CausalTargets(model)
    walk_points = 1000 if quick else 10_000
    for seed in range(0 if "level4" not in designs else 2 if quick else 5):
        params = random_params(design, seed=seed)
        s = identified_set(design, params, seed=seed)
        walk = FibreWalk(model, parameter_point(model, params), np.random.default_rng([seed, 99]))
        t0 = time.perf_counter()
        seen = np.array([np.concatenate(targets.sorted(x)[1:]) for x in walk.points(walk_points, thin=3)])
        walk_seconds = time.perf_counter() - t0
        k = model.k
        ratios, outside = [], 0
        for j in range(k):
            for r, col in ((s.weights[j], seen[:, j]), (s.effects[j], seen[:, k + j])):
                ratios.append((r["high"] - r["low"]) / max(col.max() - col.min(), 1e-300))
                outside += int(((col < r["low"] - 1e-7) | (col > r["high"] + 1e-7)).sum())
        eff = "; ".join(f"[{r['low']:.3f}, {r['high']:.3f}]" for r in s.effects)
        rows.append({"design": f"paper-level4, point {seed}", "fibre": f"dimension {s.details['dimension']}",
                     "points": 1, "truth held": f"{int(contains_truth(s, truth(design, params)))}/1",
                     "complete sets": "", "witness's two ATEs held": "",
                     "valid points": f"{walk_points} walk points: {outside} outside the bounds",
                     "effect bounds": eff, "width / walk range": f"{min(ratios):.2f}-{max(ratios):.2f}",
                     "starts reaching low/high (effects)": ", ".join(f"{r['low_starts']}/{r['high_starts']}"
                                                                     for r in s.effects),
                     "starts used / runs": f"{s.details['starts_used']} of {s.details['starts']} / "
                                           f"{s.details['runs']}",
                     "median seconds": round(s.seconds, 3), "max seconds": round(s.seconds, 3),
                     "walk seconds": round(walk_seconds, 1)})
        print(rows[-1], flush=True)
    return rows


def chosen(designs) -> list[Design]:
    return [d for key, d in (("x3", k3_design(3)), ("x4", k3_design(4)), ("level4", Design.builtin("paper-level4")))
            if key in designs]


def sampled_rows(quick: bool, designs=DESIGNS) -> list[dict]:
    rows = []
    n = 10**5 if quick else 10**6
    for design in chosen(designs):
        p = place(design, scope="global", max_seconds=300)
        diffs, fit_seconds, set_seconds, sizes, missing, complete = [], [], [], [], [], 0
        for seed in range(2 if quick else 5):
            params = random_params(design, seed=seed, min_effect_gap=0.05)
            exact = identified_set(design, params, fibre=p.fibre, seed=seed).to_dict()
            data, _ = simulate(design, n, params=params, seed=seed)
            t0 = time.perf_counter()
            r = fit(design, data, seed=seed, placement=p)
            total = time.perf_counter() - t0
            s = r.identified_set
            if s is None:
                diffs.append(None)
                missing.append(next((w for w in r.to_dict()["warnings"] if "no identified set" in w), "none"))
                continue
            complete += s["complete"]
            set_seconds.append(s["seconds"])
            fit_seconds.append(total - s["seconds"])
            a, b = elements(s), elements(exact)
            sizes.append(f"{len(s.get('points', [])) or '-'}/{len(exact.get('points', [])) or '-'}")
            diffs.append(float(np.abs(a - b).max()) if a.shape == b.shape else None)
        ok = [d for d in diffs if d is not None]
        rows.append({"design": design.name, "n": n, "fits": len(diffs),
                     "points at fit / at truth": ", ".join(sizes),
                     "complete sets at fit": f"{complete}/{len(diffs)}",
                     "sets comparable (same number of points)": f"{len(ok)}/{len(diffs)}",
                     "fits without a set": "; ".join(missing) or "0",
                     "largest element difference": round(max(ok), 4) if ok else None,
                     "within 0.02": f"{sum(d <= 0.02 for d in ok)}/{len(diffs)}",
                     "set seconds (median)": round(float(np.median(set_seconds)), 3) if set_seconds else None,
                     "fit seconds without the set (median)": round(float(np.median(fit_seconds)), 3)
                     if fit_seconds else None})
        print(rows[-1], flush=True)
    return rows


def covers(outer: dict, s: dict) -> bool:
    """The bootstrap's union / outer interval holds every element of the set at the truth (1e-9)."""
    ranges = [outer["ate"]] + outer["mte"]["weights"] + outer["mte"]["effects"]
    a = elements(s)
    low = np.array([r["low"] for r in ranges])
    high = np.array([r["high"] for r in ranges])
    if s["kind"] == "points":  # the set's ATE values, then per class its hulls' ends
        ate, rest = a[:len(s["ate"]["values"])], a[len(s["ate"]["values"]):].reshape(-1, 2)
    else:
        ate, rest = a[:2], a[2:].reshape(-1, 2)
    ok = bool(((ate >= low[0] - 1e-9) & (ate <= high[0] + 1e-9)).all())
    return ok and bool(((rest[:, 0] >= low[1:] - 1e-9) & (rest[:, 1] <= high[1:] + 1e-9)).all())


def bootstrap_rows(quick: bool, designs=DESIGNS) -> list[dict]:
    rows = []
    n, B = 10**5, (10 if quick else 50)
    for design in chosen(designs):
        p = place(design, scope="global", max_seconds=300)
        for seed in range(1 if quick else 3):
            params = random_params(design, seed=seed, min_effect_gap=0.05)
            exact = identified_set(design, params, fibre=p.fibre, seed=seed).to_dict()
            data, _ = simulate(design, n, params=params, seed=seed)
            t0 = time.perf_counter()
            plain = fit(design, data, seed=seed, placement=p, interval="wald")
            fit_seconds = time.perf_counter() - t0 - (plain.identified_set or {}).get("seconds", 0.0)
            t0 = time.perf_counter()
            r = fit(design, data, seed=seed, placement=p, interval="wald", bootstrap=B)
            total = time.perf_counter() - t0
            s = r.identified_set
            row = {"design": design.name, "n": n, "B": B, "seed": seed, "fit seconds (no set)": round(fit_seconds, 2)}
            if s is None or "bootstrap" not in s:
                row["sets"] = next((w for w in r.warnings if "no identified set" in w), "no set at the estimate")
                rows.append(row)
                print(row, flush=True)
                continue
            b = s["bootstrap"]
            row.update({"set at the estimate seconds": s["seconds"],
                        "fit + bootstrap seconds (no sets)": round(total - b["seconds"] - s["seconds"], 2),
                        "replicates' sets seconds": b["seconds"],
                        "per replicate": round(b["seconds"] / max(b["replicates"], 1), 3),
                        "sets / replicates": f"{b['sets']}/{b['replicates']}",
                        "failed": "; ".join(f"{c}: {why[:60]}" for why, c in b["failed"].items()) or "0",
                        "incomplete": b["incomplete"],
                        "valid models per replicate": b.get("valid_models", "-"),
                        "holds the set at the truth": covers(b, exact) if "ate" in b else None})
            rows.append(row)
            print(row, flush=True)
    return rows


def table(rows: list[dict]) -> list[str]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return (["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)] +
            ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="+", choices=["exact", "sampled", "bootstrap"],
                    default=["exact", "sampled", "bootstrap"])
    ap.add_argument("--designs", nargs="+", choices=DESIGNS, default=list(DESIGNS),
                    help="k = 3 with a 3- or 4-category X, paper-level4")
    args = ap.parse_args()
    out = {"machine": machine_info(), "load": load_average(), "designs": args.designs}
    lines = [f"# identified set ({out['machine']}; {out['load']}; designs {', '.join(args.designs)})", ""]
    if "exact" in args.only:
        out["exact"] = exact_rows(args.quick, args.designs)
        lines += ["## exact population law", ""] + table(out["exact"]) + [""]
    if "sampled" in args.only:
        out["sampled"] = sampled_rows(args.quick, args.designs)
        lines += ["## at a maximum-likelihood fit", ""] + table(out["sampled"]) + [""]
    if "bootstrap" in args.only:
        out["bootstrap"] = bootstrap_rows(args.quick, args.designs)
        lines += ["## over bootstrap replicates", ""] + table(out["bootstrap"]) + [""]
    out["load_at_end"] = load_average()
    lines.insert(1, out["load_at_end"].replace("at start", "at the end"))
    RESULTS.mkdir(exist_ok=True)
    stem = ("identified_set" + ("_quick" if args.quick else "")
            + ("" if len(args.only) == 3 else "_" + "_".join(args.only))
            + ("" if len(args.designs) == 3 else "_" + "_".join(args.designs)))
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=1, default=str))
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
