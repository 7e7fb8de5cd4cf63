"""Estimation at survey scale: plain latent class designs (binary items, 3 classes) through ``fit()``, end to end,
against the number of items and of rows (maximum likelihood on the observed response patterns: the table of
2^items cells is never built).

* ``items``: 10 to 50 binary items, 1e5 rows. Times: ``place()`` (the identification of the design, which
  ``fit()`` does first), then ``fit(design, data, placement=p, starts=10, seed=0)`` with its defaults (statistics
  as observed patterns, maximum likelihood, profile-likelihood intervals for the class shares); the end-to-end time
  is their sum. The class shares are compared with the truth (largest absolute difference, classes sorted).
* ``rows``: 30 binary items, 1e4 to 3e5 rows.

Target (issue 10): a 30-item, 3-class survey with 1e5 rows estimated in under 60 s with class shares within 0.03.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import plot_lines, run_sections  # noqa: E402

from mixid import Design, fit, place, random_params, simulate  # noqa: E402


def _one(items: int, n: int, seed: int = 0) -> dict:
    d = Design.latent_class([f"Q{i}" for i in range(items)], classes=3, name=f"{items} items")
    params = random_params(d, seed=seed)
    data, truth = simulate(d, n, params=params, seed=seed + 1)
    t0 = time.perf_counter()
    p = place(d)
    t1 = time.perf_counter()
    r = fit(d, data, placement=p, starts=10, seed=seed)
    t2 = time.perf_counter()
    error = float(np.max(np.abs(np.sort(r.estimate.weights) - np.sort(truth.weights))))
    f = r.to_dict()["fit"]
    patterns = r.estimate.diagnostics.get("patterns", f"all {2 ** items:,} cells")
    return {"patterns": patterns, "place": t1 - t0, "fit": t2 - t1, "error": error,
            "replicated": f.get("replicated"), "level": p.level}


def _rows(cases) -> tuple[list[list], list[float]]:
    rows, totals = [], []
    for items, n in cases:
        load = os.getloadavg()[0]
        r = _one(items, n)
        total = r["place"] + r["fit"]
        totals.append(total)
        target = "< 60 s, shares within 0.03"
        met = "yes" if total < 60 and r["error"] <= 0.03 else "NO"
        rows.append([items, n, r["patterns"], f"level {r['level']}", f"{r['place']:.2f}", f"{r['fit']:.2f}",
                     f"{total:.2f}", f"{r['error']:.4f}", r["replicated"], f"{load:.1f}",
                     target if (items, n) == (30, 100_000) else "", met if (items, n) == (30, 100_000) else ""])
    return rows, totals


COLUMNS = ["items", "rows", "patterns", "placement", "place s", "fit s", "end to end s", "share error",
           "best maximum replicated", "load", "target", "met"]


def section_items(quick: bool) -> list[list]:
    items = [5, 6] if quick else [10, 20, 30, 40, 50]
    n = 1000 if quick else 100_000
    rows, totals = _rows([(i, n) for i in items])
    plot_lines("survey_estimate_items" + ("_quick" if quick else ""), items, {f"n = {n:,}": totals},
               "binary items (3 classes)", "seconds (place() + fit())",
               "estimate time against items (observed patterns)")
    return rows


def section_rows(quick: bool) -> list[list]:
    ns = [500, 1000] if quick else [10_000, 30_000, 100_000, 300_000]
    items = 5 if quick else 30
    rows, totals = _rows([(items, n) for n in ns])
    plot_lines("survey_estimate_rows" + ("_quick" if quick else ""), ns, {f"{items} items": totals},
               "rows", "seconds (place() + fit())", "estimate time against rows", logx=True)
    return rows


SECTIONS = {"items": (section_items, COLUMNS), "rows": (section_rows, COLUMNS)}

if __name__ == "__main__":
    sys.exit(run_sections("survey_estimate", "bench_survey_estimate.py", SECTIONS, __doc__))
