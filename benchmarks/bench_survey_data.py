"""Survey data as people have them (issue 19): choosing k with ``select``, and maximum likelihood with missing
answers (FIML).

* ``select``: ``select(design, carcinoma, classes=range(1, 5), blrt=100)``: the maximised log-likelihoods against
  poLCA's published ones (``mixid.datasets.CARCINOMA_LOGLIK``), the criteria, the bootstrap likelihood-ratio test
  (100 replicates per k, spread over the cores) and the wall time of the whole call (fits, placements, BLRT).
  Targets: every log-likelihood within 1e-3 of poLCA's; the whole call in under 30 s.
* ``fiml``: maximum likelihood with 10-20 % of the answers missing (completely at random) against StepMix 3.0's
  ``binary_nan`` and ``categorical_nan`` measurement models on the same data (same number of random starts; both
  log-likelihoods recomputed by StepMix's ``score`` and by mixid's fit; target: mixid's at least StepMix's,
  within 1e-3 when both find the same maximum).
* ``covariates``: latent class regression (covariates of class membership) on simulated data against StepMix 3.0's
  1-step covariate model (``structural="covariate"``, Newton-Raphson M-step) on the same rows (same number of
  random starts; StepMix's log-likelihood by its ``score``, which is the same conditional likelihood
  sum_i log sum_u P(U=u | W_i) P(answers_i | U=u)). Target: mixid's at least StepMix's, within 1e-3 when both
  find the same maximum; the time ratio is recorded.
* ``fiml_speed``: ``fit`` (statistics + maximum likelihood, placement cached) on 10^5 rows of 20 binary items,
  3 classes, complete against 15 % of the answers missing, one run each, same process. Target: FIML within 2x.
* ``weights``: sampling weights. (a) The weighted (pseudo-)log-likelihood sum_i w_i log P(x_i) of mixid's fit
  against StepMix 3.0's ``fit(X, sample_weight=w)`` (its ``score`` times the sum of the weights) on informatively
  sampled data (class 0 over-sampled, inverse-probability weights), the same number of random starts each side,
  with the wall times; target: mixid's at least StepMix's (within 1e-3 when both reach the same maximum).
  (b) Coverage of the 95 % Wald intervals on the sandwich standard errors of the class weights over simulated
  weighted samples (a fresh population and sample each), against the unweighted fit's intervals on the same
  samples; target: within the Monte Carlo band of 95 % (about +-3 points at 200 samples); the mean sandwich
  standard error against the standard deviation of the estimates over the samples.
* ``election``: poLCA's election data (ANES 2000, 12 items with 4 categories, shipped as ``election``), k = 1-3
  on the 1,311 complete rows (``missing="drop"``, poLCA's default ``na.rm = TRUE``) against poLCA's published
  maxima (``mixid.datasets.ELECTION_LOGLIK``; target within 1e-2, the published precision), and the same fits
  over all 1,785 rows (FIML), with wall times; and poLCA's 3-class latent class regression on ``PARTY``
  (-16222.32) on the 1,300 rows complete in the items and PARTY.
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


def _holes(frame, share: float, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    out = frame.astype(float)
    out[rng.random(out.shape) < share] = np.nan
    return out


def fiml_section(quick: bool) -> list[list]:
    from stepmix.stepmix import StepMix

    from mixid import fit, simulate

    cases = [("binary_nan", 2, 8, 2, 0.10), ("binary_nan", 2, 10, 3, 0.20), ("categorical_nan", 3, 6, 2, 0.15),
             ("categorical_nan", 4, 8, 3, 0.20)]
    n = 2000 if quick else 5000
    rows = []
    for measurement, cats, items, k, share in (cases[0], cases[2]) if quick else cases:
        design = Design.latent_class([f"Q{i}" for i in range(items)], classes=k, categories=cats)
        frame, _ = simulate(design, n, seed=items + k)
        data = _holes(frame, share, items)
        t0 = time.perf_counter()
        ours = fit(design, data, seed=0, starts=10).to_dict()["fit"]["loglik"]
        t_ours = time.perf_counter() - t0
        model = StepMix(n_components=k, measurement=measurement, n_init=10, random_state=0, verbose=0,
                        progress_bar=0, max_iter=5000, abs_tol=1e-10, rel_tol=1e-12)
        X = data.to_numpy()
        t0 = time.perf_counter()
        model.fit(X)
        t_peer = time.perf_counter() - t0
        theirs = float(model.score(X) * len(X))
        missing = float(data.isna().to_numpy().mean())
        rows.append([measurement, f"{items} x {cats} categories, k = {k}, n = {n:,}", f"{100 * missing:.1f} %",
                     f"{ours:.4f}", f"{theirs:.4f}", f"{ours - theirs:+.1e}", f"{t_ours:.2f} / {t_peer:.2f}",
                     "yes" if ours >= theirs - 1e-3 else "NO"])
    return rows


def covariates_section(quick: bool) -> list[list]:
    import numpy as np
    import pandas as pd
    from mixid.estimate.covariates import simulate_regression
    from mixid.estimate.simulate import random_params
    from stepmix.stepmix import StepMix

    from mixid import fit

    cases = [("binary", 2, 6, 2, [[-2.0, 0.05]]),
             ("binary", 2, 8, 3, [[-1.0, 0.05, 0.5], [0.5, -0.03, -1.0]]),
             ("categorical", 3, 6, 3, [[-1.0, 0.05, 0.5], [0.5, -0.03, -1.0]])]
    n = 2000 if quick else 5000
    rows = []
    for measurement, cats, items, k, coefficients in cases[:2] if quick else cases:
        covariates = ["age", "group"][:len(coefficients[0]) - 1]
        design = Design.latent_class([f"Q{i}" for i in range(items)], classes=k, categories=cats,
                                     covariates=covariates)
        rng = np.random.default_rng(items + k)
        W = pd.DataFrame({"age": rng.normal(40, 10, n), "group": rng.integers(0, 2, n).astype(float)})[covariates]
        params = random_params(design.without_covariates(), rng, concentration=1.0)
        frame, _ = simulate_regression(design, W, coefficients, params=params, seed=rng)
        t0 = time.perf_counter()
        ours = fit(design, frame, seed=0, starts=10).to_dict()["fit"]["loglik"]
        t_ours = time.perf_counter() - t0
        model = StepMix(n_components=k, measurement=measurement, structural="covariate", n_init=10, random_state=0,
                        verbose=0, progress_bar=0, max_iter=5000, abs_tol=1e-10, rel_tol=1e-12,
                        structural_params={"method": "newton-raphson", "max_iter": 1})
        X, Z = frame[list(design.names)].to_numpy(), frame[covariates].to_numpy()
        t0 = time.perf_counter()
        model.fit(X, Z)
        t_peer = time.perf_counter() - t0
        theirs = float(model.score(X, Z) * n)
        rows.append([f"{measurement} + covariate", f"{items} x {cats} categories, k = {k}, covariates "
                     f"{', '.join(covariates)}, n = {n:,}", f"{ours:.4f}", f"{theirs:.4f}", f"{ours - theirs:+.1e}",
                     f"{t_ours:.2f} / {t_peer:.2f}", f"{t_ours / t_peer:.2f}",
                     "yes" if ours >= theirs - 1e-3 else "NO"])
    return rows


def fiml_speed_section(quick: bool) -> list[list]:
    import statistics

    from mixid import fit, place, simulate

    n, items = (3_000, 8) if quick else (100_000, 20)  # quick: a smoke run
    design = Design.latent_class([f"Q{i}" for i in range(items)], classes=3)
    complete, _ = simulate(design, n, seed=1)
    holes = _holes(complete, 0.15, 2)
    p = place(design)
    times: dict[str, list[float]] = {"complete": [], "fiml": []}
    lls = {}
    for _ in range(1):  # one run each: a 20-item fit takes minutes on the shared machine
        for name, data in (("complete", complete), ("fiml", holes)):
            t0 = time.perf_counter()
            r = fit(design, data, seed=0, placement=p)
            times[name].append(time.perf_counter() - t0)
            lls[name] = r.to_dict()["fit"]["loglik"]
    a, b = statistics.median(times["complete"]), statistics.median(times["fiml"])
    return [[f"{items} binary items, k = 3, n = {n:,}", f"{a:.2f} s", f"{b:.2f} s (15 % missing)",
             f"{b / a:.2f}x", "yes" if b <= 2 * a else "NO"]]


def _weighted_sample(n_population: int, seed: int, items: int = 6):
    """A population of a 2-class model (class 0 share 0.3) and a sample drawing class 0 with probability 0.8 and
    class 1 with 0.2: the weights are the inverse probabilities."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    profiles = np.array([np.linspace(0.9, 0.7, items), np.linspace(0.15, 0.35, items)])
    u = (rng.random(n_population) >= 0.3).astype(int)
    answers = (rng.random((n_population, items)) < profiles[u]).astype(int)
    inclusion = np.array([0.8, 0.2])
    keep = rng.random(n_population) < inclusion[u]
    frame = pd.DataFrame(answers[keep], columns=[f"Q{i}" for i in range(items)])
    return frame.assign(w=1.0 / inclusion[u[keep]])


def weights_section(quick: bool) -> list[list]:
    import numpy as np
    from stepmix.stepmix import StepMix

    from mixid import fit, place

    rows = []
    for items, k, population in ((6, 2, 5000), (8, 3, 12000))[: 1 if quick else 2]:
        data = _weighted_sample(population, seed=items, items=items)
        design = Design.latent_class([c for c in data.columns if c != "w"], classes=k)
        t0 = time.perf_counter()
        ours = fit(design, data, seed=0, starts=10, weights="w").to_dict()["fit"]["loglik"]
        t_ours = time.perf_counter() - t0
        X, w = data.drop(columns="w").to_numpy(), data["w"].to_numpy()
        model = StepMix(n_components=k, measurement="binary", n_init=10, random_state=0, verbose=0,
                        progress_bar=0, max_iter=5000, abs_tol=1e-10, rel_tol=1e-12)
        t0 = time.perf_counter()
        model.fit(X, sample_weight=w)
        t_peer = time.perf_counter() - t0
        theirs = float(model.score(X, sample_weight=w) * w.sum())
        rows.append([f"StepMix binary, {items} items, k = {k}, n = {len(data):,} (sum of weights {w.sum():,.0f})",
                     f"{ours:.4f}", f"{theirs:.4f}", f"{ours - theirs:+.1e}",
                     f"{t_ours:.2f} / {t_peer:.2f} ({t_peer / t_ours:.0f}x)",
                     "yes" if ours >= theirs - 1e-3 else "NO"])
    samples = 30 if quick else 200
    design = Design.latent_class([f"Q{i}" for i in range(6)], classes=2)
    p = place(design)
    hits = {"weighted": 0, "unweighted": 0}
    shares, errors = [], []
    seconds = 0.0
    for s in range(samples):
        data = _weighted_sample(4000, seed=1000 + s)
        for name, weights in (("weighted", "w"), ("unweighted", None)):
            t0 = time.perf_counter()
            r = fit(design, data if weights else data.drop(columns="w"), seed=0, starts=3, placement=p,
                    weights=weights, interval="wald").to_dict()
            seconds += (time.perf_counter() - t0) * (weights is not None)
            m = r["mixture"]
            u = int(np.argmax([m["tables"]["Q0"][c][1] for c in range(2)]))  # the class answering Q0 = 1
            lo, hi = m["weights_ci"][u]
            hits[name] += lo <= 0.3 <= hi
            if weights:
                shares.append(m["weights"][u])
                errors.append(m["weights_se"][u])
    band = 1.96 * np.sqrt(0.95 * 0.05 / samples)
    for name in ("weighted", "unweighted"):
        cover = hits[name] / samples
        target = "yes" if abs(cover - 0.95) <= band else "NO"
        rows.append([f"coverage of the 95 % Wald interval of the class 0 share (0.3), {name}, {samples} samples "
                     "of about 1,700 rows", f"{100 * cover:.1f} %",
                     f"mean sandwich se {np.mean(errors):.4f} / sd of the estimates {np.std(shares, ddof=1):.4f}"
                     if name == "weighted" else "", "",
                     f"{seconds / samples:.2f} s per weighted fit" if name == "weighted" else "",
                     target if name == "weighted" else f"(expected to fail: {target})"])
    return rows


def election_section(quick: bool) -> list[list]:
    from mixid import fit
    from mixid.datasets import ELECTION_LOGLIK

    data = datasets.load("election")
    items = list(data.columns[:12])
    rows = []
    for k in (1, 2) if quick else (1, 2, 3):
        design = Design.from_dict({"items": items, "categories": [1, 2, 3, 4],
                                   "latent": {"name": "U", "classes": k}})
        out = []
        for missing in ("drop", "fiml"):
            t0 = time.perf_counter()
            r = fit(design, data, seed=0, missing=missing, interval="wald").to_dict()
            out.append((r["n"], r["fit"]["loglik"], time.perf_counter() - t0))
        (n_drop, ll_drop, t_drop), (n_fiml, ll_fiml, t_fiml) = out
        diff = ll_drop - ELECTION_LOGLIK[k]
        rows.append([f"k = {k}", f"{ll_drop:.4f} ({n_drop:,} rows, {t_drop:.1f} s)", f"{ELECTION_LOGLIK[k]}",
                     f"{diff:+.1e}", "yes" if abs(diff) <= 1e-2 else "NO",
                     f"{ll_fiml:.4f} ({n_fiml:,} rows, {t_fiml:.1f} s)"])
    if not quick:  # poLCA's latent class regression of the same items on PARTY (its rows complete in both)
        from mixid.datasets import ELECTION_PARTY_LOGLIK

        design = Design.from_dict({"items": items, "categories": [1, 2, 3, 4], "covariates": ["PARTY"],
                                   "latent": {"name": "U", "classes": 3}})
        complete = data[items + ["PARTY"]].dropna()
        t0 = time.perf_counter()
        r = fit(design, complete, seed=0).to_dict()
        seconds = time.perf_counter() - t0
        diff = r["fit"]["loglik"] - ELECTION_PARTY_LOGLIK
        rows.append(["k = 3, covariate PARTY", f"{r['fit']['loglik']:.4f} ({r['n']:,} rows, {seconds:.1f} s)",
                     f"{ELECTION_PARTY_LOGLIK}", f"{diff:+.1e}", "yes" if abs(diff) <= 1e-2 else "NO", ""])
    return rows


SECTIONS = {"select": (select_section, ["classes", "loglik", "poLCA published", "diff", "BIC", "BLRT p",
                                        "entropy R2", "identified", "within target"]),
            "fiml": (fiml_section, ["StepMix model", "data", "missing answers", "mixid loglik", "StepMix loglik",
                                    "diff", "seconds mixid / StepMix", "at least StepMix's"]),
            "fiml_speed": (fiml_speed_section, ["data", "complete data fit", "FIML fit", "ratio", "within 2x"]),
            "covariates": (covariates_section, ["StepMix model", "data", "mixid loglik", "StepMix loglik", "diff",
                                                "seconds mixid / StepMix", "time ratio", "at least StepMix's"]),
            "weights": (weights_section, ["case", "mixid weighted loglik / coverage", "StepMix weighted loglik",
                                          "diff", "seconds mixid / StepMix", "target met"]),
            "election": (election_section, ["classes", "mixid loglik, complete rows", "poLCA published", "diff",
                                            "within 1e-2", "mixid loglik, every row (FIML)"])}

if __name__ == "__main__":
    sys.exit(run_sections("survey_data", "bench_survey_data.py", SECTIONS, __doc__))
