"""Survey data as people have them (issue 19): choosing k with ``select``, and maximum likelihood with missing
answers (FIML).

* ``select``: ``select(design, carcinoma, classes=range(1, 5), blrt=100)``: the maximised log-likelihoods against
  poLCA's published ones (``mixid.datasets.CARCINOMA_LOGLIK``), the criteria, the bootstrap likelihood-ratio test
  (100 replicates per k, spread over the cores) and the wall time of the whole call (fits, placements, BLRT).
  Targets: every log-likelihood within 1e-3 of poLCA's; the whole call in under 30 s.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import run_sections  # noqa: E402
from mixid.estimate.select import select  # noqa: E402

from mixid import Design, datasets  # noqa: E402
from mixid.datasets import CARCINOMA_LOGLIK  # noqa: E402


def select_section(quick: bool) -> list[list]:
    blrt = 9 if quick else 100
    design = Design.latent_class(list("ABCDEFG"))
    t0 = time.perf_counter()
    s = select(design, datasets.load("carcinoma"), classes=range(1, 5), blrt=blrt, seed=0)
    seconds = time.perf_counter() - t0
    rows = []
    for r in s.rows:
        published = CARCINOMA_LOGLIK[r["classes"]]
        diff = r["loglik"] - published
        rows.append([f"k = {r['classes']}", f"{r['loglik']:.4f}", f"{published}", f"{diff:+.1e}",
                     f"{r['bic']:.2f}", "-" if r["blrt_p"] is None else f"{r['blrt_p']:.3f}",
                     "-" if r["entropy_r2"] is None else f"{r['entropy_r2']:.3f}",
                     "yes" if r["identified"] else "NO", "yes" if abs(diff) <= 1e-3 else "NO"])
    rows.append([f"select k = 1-4, BLRT {blrt} replicates per k (recommended k = {s.recommended})", "", "", "", "",
                 "", "", "", f"{seconds:.1f} s ({'yes' if seconds < 30 else 'NO'}: target < 30 s)"])
    return rows


SECTIONS = {"select": (select_section, ["classes", "loglik", "poLCA published", "diff", "BIC", "BLRT p",
                                        "entropy R2", "identified", "within target"])}

if __name__ == "__main__":
    sys.exit(run_sections("survey_data", "bench_survey_data.py", SECTIONS, __doc__))
