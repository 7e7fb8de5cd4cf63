"""Estimation at survey scale: maximum likelihood of plain latent class designs (binary items, 3 classes) against
the number of items and of rows, on observed response patterns (the table of 2^items cells is never built).

* ``items``: 10 to 50 binary items, 1e5 rows. Times: the sufficient statistics (``sufficient_stats``: the observed
  patterns and their counts), maximum likelihood on them (10 random starts, accelerated EM, the empirical
  information), and ``place()`` in a child process killed at a limit (fit() places a design first; making place
  fast on many items is the identify half of issue 10, not measured here beyond whether it finishes). The class
  shares are compared with the truth (largest absolute difference after matching the classes).
* ``rows``: 30 binary items, 1e4 to 3e5 rows.

Target (issue 10): a 30-item, 3-class survey with 1e5 rows estimated in under 60 s with class shares within 0.03.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from harness import plot_lines, run_sections, timed_subprocess  # noqa: E402
from mixid.estimate.data import Patterns  # noqa: E402
from mixid.estimate.likelihood import likelihood, maximise  # noqa: E402

from mixid import Design, place, random_params, simulate, sufficient_stats  # noqa: E402

PLACE_LIMIT = 60.0


def _place(items: int) -> str:
    """place() on the design: its level, or the error that stopped it."""
    try:
        return f"level {place(Design.latent_class([f'Q{i}' for i in range(items)], classes=3)).level}"
    except Exception as exc:  # noqa: BLE001 - a benchmark reports what stopped place()
        return type(exc).__name__


def _one(items: int, n: int, seed: int = 0) -> dict:
    d = Design.latent_class([f"Q{i}" for i in range(items)], classes=3)
    params = random_params(d, seed=seed)
    data, truth = simulate(d, n, params=params, seed=seed + 1)
    t0 = time.perf_counter()
    stats = sufficient_stats(d, data)
    patterns = stats.patterns if not stats.dense else Patterns.from_table(stats.sums)  # under 2^22 cells
    t1 = time.perf_counter()
    fit = maximise(likelihood(d), patterns, starts=10, seed=seed)
    t2 = time.perf_counter()
    pi, _ = likelihood(d).from_point(fit.point)
    error = float(np.max(np.abs(np.sort(pi) - np.sort(truth.weights))))
    return {"patterns": len(patterns.codes), "stats": t1 - t0, "mle": t2 - t1, "error": error,
            "converged": fit.converged}


def _rows(cases, place_limit: float) -> tuple[list[list], list[float]]:
    rows, totals = [], []
    for items, n in cases:
        load = os.getloadavg()[0]
        r = _one(items, n)
        placed = timed_subprocess(_place, (items,), place_limit)
        place_text = f"{placed[1]} after {placed[0]:.2f} s" if placed else f"killed at {place_limit:g} s"
        total = r["stats"] + r["mle"]
        totals.append(total)
        target = "< 60 s, shares within 0.03"
        met = "yes" if total < 60 and r["error"] <= 0.03 else "NO"
        rows.append([items, n, r["patterns"], f"{r['stats']:.2f}", f"{r['mle']:.2f}", f"{total:.2f}",
                     f"{r['error']:.4f}", r["converged"], place_text, f"{load:.1f}",
                     target if (items, n) == (30, 100_000) else "", met if (items, n) == (30, 100_000) else ""])
    return rows, totals


COLUMNS = ["items", "rows", "patterns", "statistics s", "mle s", "estimate s", "share error", "converged",
           "place()", "load", "target", "met"]


def section_items(quick: bool) -> list[list]:
    items = [5, 6] if quick else [10, 20, 30, 40, 50]
    n = 1000 if quick else 100_000
    rows, totals = _rows([(i, n) for i in items], 2.0 if quick else PLACE_LIMIT)
    plot_lines("survey_estimate_items" + ("_quick" if quick else ""), items, {f"n = {n:,}": totals},
               "binary items (3 classes)", "seconds (statistics + maximum likelihood)",
               "estimate time against items (observed patterns)")
    return rows


def section_rows(quick: bool) -> list[list]:
    ns = [500, 1000] if quick else [10_000, 30_000, 100_000, 300_000]
    items = 5 if quick else 30
    rows, totals = _rows([(items, n) for n in ns], 2.0 if quick else PLACE_LIMIT)
    plot_lines("survey_estimate_rows" + ("_quick" if quick else ""), ns, {f"{items} items": totals},
               "rows", "seconds (statistics + maximum likelihood)", "estimate time against rows", logx=True)
    return rows


SECTIONS = {"items": (section_items, COLUMNS), "rows": (section_rows, COLUMNS)}

if __name__ == "__main__":
    sys.exit(run_sections("survey_estimate", "bench_survey_estimate.py", SECTIONS, __doc__))
