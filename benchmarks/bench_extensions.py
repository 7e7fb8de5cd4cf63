"""Extensions the paper lacks: more classes, richer proxies, strong confounding, near-equal effects, continuous
proxies. Each case runs ``estimate.validate`` (exact-moment check, then error against n with the naive
difference in means beside) and reports the median absolute ATE error and the median MTE max-abs error.

Writes ``benchmarks/results/extensions{_quick}.{md,csv,png}``.
Reproduce: ``python benchmarks/bench_extensions.py [--quick]`` (the --quick smoke run skips the k = 4 case).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import machine_info, plot_lines, write_results  # noqa: E402
from mixid.estimate.validate import validate  # noqa: E402

from mixid import (  # noqa: E402
    Design,  # noqa: E402
    random_params,
    truth,
)
from mixid.cli import DEMO_PARAMS  # noqa: E402

CAT2 = {"type": "categorical", "categories": 2}


def _design(name: str, k: int, variables: dict, edges: list[str]) -> Design:
    spec = {n: ({"type": "categorical", "categories": c} if isinstance(c, int) else c) for n, c in variables.items()}
    return Design.from_dict({"name": name, "latent": {"classes": k}, "variables": spec, "treatment": "T",
                             "outcome": "Y", "edges": edges})


def _near_equal(d: Design, gap: float) -> dict:
    """A random point, then class 1's outcome law moved to within ``gap`` of class 0's effect."""
    p = random_params(d, seed=3)
    t = truth(d, p)
    shift = (t.effects[0] + gap - t.effects[1]) / 2  # raise P(Y=1 | T=1, U=1) and lower P(Y=1 | T=0, U=1)
    p["p_Y0_T1_U1"] = float(np.clip(p["p_Y0_T1_U1"] - shift, 0.01, 0.99))
    p["p_Y0_T0_U1"] = float(np.clip(p["p_Y0_T0_U1"] + shift, 0.01, 0.99))
    return p


def cases() -> list[tuple[str, Design, dict | None]]:
    zt = ["Z -> T", "T -> Y"]
    cont = {"type": "continuous", "features": 3}
    d_near = _design("near-equal effects (k=2)", 2, {"Z": 3, "X": 3, "T": 2, "Y": 2}, zt)
    return [
        ("k=3, 4-category proxies", _design("k3", 3, {"Z": 4, "X": 4, "T": 2, "Y": 2}, zt), None),
        ("k=4, 5-category proxies", _design("k4", 4, {"Z": 5, "X": 5, "T": 2, "Y": 2}, zt), None),
        ("k=2, 5-category proxies (d > k)", _design("k2d5", 2, {"Z": 5, "X": 5, "T": 2, "Y": 2}, zt), None),
        ("strong confounding (mixid demo)", Design.builtin("paper-level3"), DEMO_PARAMS),
        ("near-equal effects (gap 0.05)", d_near, _near_equal(d_near, 0.05)),
        ("continuous X and Y", _design("cont", 2, {"Z": 3, "X": cont, "T": 2, "Y": {"type": "continuous",
                                                                                  "features": 2}}, zt), None),
    ]


def run(quick: bool) -> tuple[list[list], dict]:
    ns = (1_000, 5_000) if quick else (1_000, 10_000, 100_000)
    runs = 2 if quick else 20
    rows, curves = [], {}
    for label, design, params in cases():
        if quick and design.classes > 3:  # the smoke run skips the slowest placement (k = 4)
            continue
        v = validate(design, params=params, ns=ns, runs=runs, seed=1)
        exact = {r["estimator"]: r for r in v.exact}
        for r in v.study:
            if r["estimator"] not in ("spo", "naive"):
                continue
            ex = exact.get(r["estimator"])
            rows.append([label, r["estimator"], r["n"], runs, f"{r['median']:.4f}",
                         "" if r["mte_median"] is None else f"{r['mte_median']:.4f}",
                         "" if ex is None else f"{ex['ate_error']:.1e}"])
            if r["estimator"] == "spo":
                curves.setdefault(label, []).append(r["median"])
    return rows, {"ns": list(ns), "curves": curves}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows, fig = run(args.quick)
    stem = "extensions" + ("_quick" if args.quick else "")
    header = (f"# extensions\n\n{machine_info()}. `python benchmarks/bench_extensions.py"
              f"{' --quick' if args.quick else ''}` ({time.perf_counter() - t0:.0f} s). Median absolute ATE error "
              "and median MTE max-abs error (weights and effects) over the runs; exact = error on exact moments.")
    paths = write_results(stem, header, ["case", "estimator", "n", "runs", "ATE err median", "MTE err median",
                                         "exact ATE err"], rows)
    plot_lines(stem, fig["ns"], fig["curves"], "n", "median |ATE error| (SPO)", "Extensions: SPO error against n",
               logx=True)
    print(paths[0].read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
