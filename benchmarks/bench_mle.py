"""Maximum likelihood (``estimator="mle"``, the default for categorical designs) against published numbers and peers.

Sections (each writes ``benchmarks/results/mle_<section>{_quick}.{md,csv}``, some a PNG):

* ``parity``: the carcinoma data (118 slides, 7 raters) with 2, 3 and 4 classes: maximised log-likelihood against
  poLCA's published -317.2568, -293.705, -289.2858 (target |diff| <= 1e-3), 3-class shares against .3736 / .1817
  / .4447 (1e-3), and the log-likelihood recomputed here from the reported tables; AIC, BIC, G^2, X^2, df.
* ``stepmix``: StepMix (``pip install -e '.[bench]'``) and mixid side by side, same data, same machine, same run:
  carcinoma (k = 2, 3, 4) and simulated surveys (10-30 binary or 3-category items, k = 3-5, n = 1e4-1e6). StepMix
  gets as many starts as mixid used (its random starts plus its constructive one), its default tolerance and
  iteration cap; both log-likelihoods are recomputed here from the fitted parameters. Target: mixid's log-
  likelihood >= StepMix's - 1e-3 and mixid's wall time <= 0.1x StepMix's (StepMix as documented, on rows).
* ``sweeps``: the authors' level 2 -> 3 and 3 -> 4 sweeps (n = 1000, 100 runs), the authors' MTE metric, the
  default estimator beside this project's SPO (same draws) and the authors' published means; impossible fits
  (weights outside [0, 1], effects outside [-1, 1]) and the worst run. Target: default at or below both, 0
  impossible.
* ``calibration``: 95 % Wald intervals (bootstrap = 0) for the ATE, E[Y(t)], class weights and class effects on
  paper-level3 with well-separated parameters, n = 1e4, 500 data sets; coverage target 93-97 %.
* ``jacobian_only``: designs identified only by the Jacobian (k = 3 with a binary Z -> T proxy and a 4-category
  X; 5 binary items with 5 classes): RMSE against n = 1e4, 1e5, 1e6 (and 1e7) and the log-log slope over 1e4-1e6
  (target -1/2 +- 0.15).
* ``speed``: the default fit against plain SPO on 1e6 rows of paper-level3 (target: no slower); carcinoma with 4
  classes and 20 starts (target < 0.5 s, "well under a second"); place() on m binary items (what bounds fit()).

* ``modes``: the k = 3 case of issue 18 (motivation(4) -> trained(2) -> employed(2), prior_earn(3), teacher(3),
  n = 5,000) fitted with 20 seeds: the best maximum found every time? the ATE's profile interval holds every mode?
* ``coverage``: profile-likelihood and range-respecting Wald 95 % intervals on the same fits (paper-level3,
  n = 1e4, ``MIXID_COVERAGE_SETS`` data sets, default 60); target 93-97 % for the profile.

Reproduce: ``python benchmarks/bench_mle.py [--quick] [--only SECTION ...]``. With ``--quick`` the stepmix section
runs a small case when StepMix is installed and is reported as skipped otherwise; a full run needs StepMix.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_estimate import AUTHORS_ATE_L3_L4, AUTHORS_L2_L3, AUTHORS_L3_L4, _mte_error  # noqa: E402
from harness import RESULTS, machine_info, timed_subprocess, write_results  # noqa: E402
from mixid.estimate.data import (
    Patterns,  # noqa: E402
    SufficientStats,  # noqa: E402
)
from mixid.estimate.intervals import quantity_ranges  # noqa: E402
from mixid.estimate.likelihood import likelihood  # noqa: E402
from mixid.estimate.simulate import paper_main_params, point_from_params  # noqa: E402

from mixid import Design, Model, datasets, fit, place, population_moments, random_params, simulate, truth  # noqa: E402

STEPMIX_HINT = "StepMix is not installed: pip install -e '.[bench]'  (or: pip install stepmix)"
PUBLISHED_SHARES_3 = (0.3736, 0.1817, 0.4447)  # poLCA's carcinoma example, 3 classes


def _stepmix_available() -> bool:
    try:
        import stepmix  # noqa: F401
    except ImportError:
        return False
    return True


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# ------------------------------------------------------------------------------------------ likelihoods
def lc_loglik(weights, tables, codes: np.ndarray, counts: np.ndarray) -> float:
    """Log-likelihood of a plain latent class model, computed here independently of mixid's estimator.

    ``weights`` (k,), ``tables[j]`` (k, C_j) = P(item j = c | class), ``codes`` (P, m) response patterns with
    their ``counts`` (P,).
    """
    with np.errstate(divide="ignore"):
        logj = np.log(np.asarray(weights, float))[None, :] + sum(
            np.log(np.asarray(t, float))[:, codes[:, j]].T for j, t in enumerate(tables))
    return float(np.sum(counts * logsumexp(logj, axis=1)))


def _patterns(frame, names) -> tuple[np.ndarray, np.ndarray]:
    codes, counts = np.unique(frame[list(names)].to_numpy(np.int64), axis=0, return_counts=True)
    return codes, counts.astype(float)


def _mixid_tables(result) -> tuple[list[float], list[np.ndarray]]:
    """Class weights and item tables (k, C) from fit()'s JSON contract."""
    m = result.to_dict()["mixture"]
    return m["weights"], [np.asarray(t, float) for t in m["tables"].values()]


def _stepmix_tables(sm, n_items: int, binary: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    params = sm.get_parameters()
    pis = np.asarray(params["measurement"]["pis"], float)
    if binary:  # P(item = 1 | class), shape (k, m)
        return np.asarray(params["weights"], float), [np.stack([1 - pis[:, j], pis[:, j]], axis=1)
                                                      for j in range(n_items)]
    width = pis.shape[1] // n_items  # one-hot blocks of max_n_outcomes columns per item
    return np.asarray(params["weights"], float), [pis[:, j * width:(j + 1) * width] for j in range(n_items)]


# -------------------------------------------------------------------------------------------- parity
def section_parity(quick: bool) -> tuple[list[list], list[str]]:
    frame = datasets.load("carcinoma")
    codes, counts = _patterns(frame, frame.columns)
    rows = []
    for k in (2, 3, 4):
        d = Design.latent_class(list("ABCDEFG"), classes=k, name="carcinoma")
        seconds, r = _timed(lambda d=d: fit(d, frame, estimator="mle", starts=20, seed=1, interval="wald"))
        f = r.to_dict()["fit"]
        w, tables = _mixid_tables(r)
        recomputed = lc_loglik(w, tables, codes, counts)
        published = datasets.CARCINOMA_LOGLIK[k]
        diff = abs(f["loglik"] - published)
        shares = sorted(w, reverse=True)
        share_diff = (max(abs(a - b) for a, b in zip(shares, sorted(PUBLISHED_SHARES_3, reverse=True)))
                      if k == 3 else None)
        ok = diff <= 1e-3 and abs(recomputed - f["loglik"]) <= 1e-6 and (share_diff is None or share_diff <= 1e-3)
        rows.append([k, f"{f['loglik']:.4f}", f"{published}", f"{diff:.1e}", f"{recomputed:.4f}",
                     " / ".join(f"{s:.4f}" for s in shares),
                     " / ".join(f"{s:.4f}" for s in sorted(PUBLISHED_SHARES_3, reverse=True)) if k == 3 else "",
                     "" if share_diff is None else f"{share_diff:.1e}", f"{f['aic']:.4f}", f"{f['bic']:.4f}",
                     f"{f['g2']:.4f}", f"{f['x2']:.4f}", f["df"], f"{f['starts_at_best']} / {f['starts']}",
                     f"{seconds:.2f}", "yes" if ok else "NO"])
    notes = ["`fit(Design.latent_class(list('ABCDEFG'), classes=k), carcinoma, estimator='mle', starts=20, seed=1)`; "
             "published: poLCA's documentation (Agresti 2002, Tables 13.2-13.3). Shares sorted (class order is "
             "arbitrary). 'recomputed' is the log-likelihood of the reported weights and tables evaluated by this "
             "script. Target: |diff| <= 1e-3, shares within 1e-3, recomputed = reported within 1e-6."]
    return rows, notes


# ------------------------------------------------------------------------------------------- stepmix
def _run_stepmix(X: np.ndarray, k: int, binary: bool, n_init: int, seed: int, sample_weight=None):
    """StepMix's measurement model with its defaults (tolerance 1e-10 on the mean log-likelihood, at most 1000
    EM iterations, random responsibilities as initialisation): (seconds, fitted model, convergence warnings)."""
    from stepmix.stepmix import StepMix

    sm = StepMix(n_components=k, measurement="binary" if binary else "categorical", n_init=n_init,
                 random_state=seed, progress_bar=0, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seconds, _ = _timed(lambda: sm.fit(X, sample_weight=sample_weight))
    return seconds, sm, [str(w.message) for w in caught]


def _survey_design(items: int, categories: int, k: int) -> Design:
    return Design.latent_class({f"Q{i}": categories for i in range(items)}, classes=k,
                               name=f"survey-{items}x{categories}-k{k}")


def _survey_params(d: Design, seed: int) -> dict:
    # Dirichlet(1) rows: items of mixed strength, as in real surveys; weights kept away from 0
    rng = np.random.default_rng(seed)
    while True:
        p = random_params(d, seed=rng, concentration=1.0)
        if truth(d, p).weights.min() > 0.5 / d.classes:
            return p


def _compare(label: str, d: Design, frame, k: int, binary: bool, starts: int, seed: int, path: str,
             with_patterns: bool = True) -> list:
    codes, counts = _patterns(frame, d.names)
    n = int(counts.sum())
    place_s, p = _timed(lambda: place(d))
    place_s = f"{place_s:.1f}"
    t_mix, r = _timed(lambda: fit(d, frame, estimator="mle", starts=starts, seed=seed, placement=p, interval="wald"))
    total = r.to_dict()["fit"]["starts"]
    w, tables = _mixid_tables(r)
    ll_mix_re = lc_loglik(w, tables, codes, counts)
    X = frame[list(d.names)].to_numpy()
    t_sm, sm, warns = _run_stepmix(X, k, binary, total, seed)
    ll_sm = lc_loglik(*_stepmix_tables(sm, len(d.names), binary), codes, counts)
    reported = float(sm.lower_bound_) * n  # StepMix reports the mean log-likelihood per row
    t_pat = ""
    if with_patterns:
        t_pat_v, _, _ = _run_stepmix(codes, k, binary, total, seed, sample_weight=counts)
        t_pat = f"{t_pat_v:.2f}"
    diff = ll_mix_re - ll_sm
    ratio = t_mix / t_sm
    strongest = min(t_sm, float(t_pat)) if t_pat else t_sm  # StepMix's faster path is the baseline of the target
    ok = diff >= -1e-3 and t_mix / strongest <= 0.1
    conv = "" if sm.converged_ else " (StepMix: not converged)"
    return [label, len(d.names), max(v.dim for v in d.variables), k, n, len(codes), f"{total} / {total}",
            path + conv, f"{ll_mix_re:.4f}", f"{ll_sm:.4f}", f"{reported:.4f}", f"{diff:+.1e}", f"{t_mix:.2f}",
            f"{t_sm:.2f}", f"{ratio:.3f}", t_pat, f"{t_mix / float(t_pat):.2f}" if t_pat else "", place_s,
            "yes" if ok else "NO"]


def section_stepmix(quick: bool) -> tuple[list[list], list[str]]:
    if not _stepmix_available():
        raise SystemExit(STEPMIX_HINT)
    import stepmix
    import threadpoolctl

    frame = datasets.load("carcinoma")
    rows = []
    starts = 5 if quick else 20
    for k in (2,) if quick else (2, 3, 4):  # quick: a smoke run (StepMix's own EM is most of its time)
        d = Design.latent_class(list("ABCDEFG"), classes=k, name="carcinoma")
        rows.append(_compare("carcinoma", d, frame, k, True, starts, 1, "fit()"))
    surveys = ([(8, 2, 3, 5_000, 3, "fit()")] if quick else
               [(10, 2, 3, 10_000, 10, "fit()"), (10, 2, 3, 1_000_000, 3, "fit()"), (12, 3, 3, 100_000, 5, "fit()"),
                (20, 2, 4, 100_000, 5, "fit()"), (30, 2, 5, 10_000, 3, "fit()")])
    for items, cats, k, n, R, path in surveys:
        d = _survey_design(items, cats, k)
        frame, _ = simulate(d, n, params=_survey_params(d, items + k), seed=n)
        rows.append(_compare("simulated", d, frame, k, cats == 2, R, 2, path))
    notes = [f"StepMix {stepmix.__version__}: `StepMix(n_components=k, measurement='binary' (2 categories) or "
             "'categorical', n_init=<mixid's starts>, random_state=seed, progress_bar=0)` with its defaults "
             "(abs_tol 1e-10 on the mean log-likelihood, max_iter 1000, random initial responsibilities), fitted on "
             "the rows as its documentation shows; 'StepMix on patterns' is the same model fitted on the unique "
             "response patterns with sample_weight = counts (not its documented usage, shown for fairness). Both "
             "log-likelihoods are recomputed by this script from the fitted weights and tables; StepMix's own "
             "report (mean per row x n) is shown beside it. mixid's starts: its random starts plus the "
             "constructive (CP) start where identify certifies one; StepMix gets the same total.",
             "mixid: `mixid.fit(design, frame, estimator='mle', starts=R, seed=2, placement=place(design), "
             "interval='wald')` end to end from the rows (statistics, then maximum likelihood on the observed "
             "patterns, standard errors; StepMix computes none); place() is timed apart (column 'mixid place s')."]
    pools = threadpoolctl.threadpool_info()
    notes.append(f"BLAS threads: {pools[0].get('num_threads') if pools else '?'}"
                 " (both libraries share the same numpy). Target: loglik diff >= -1e-3 and time ratio <= 0.1 against "
                 "StepMix's faster path (rows or patterns).")
    return rows, notes


# -------------------------------------------------------------------------------------------- sweeps
def _impossible(weights, effects) -> bool:
    w, e = np.asarray(weights, float), np.asarray(effects, float)
    return bool(not (np.all(np.isfinite(w)) and np.all(np.isfinite(e))) or np.any(np.abs(e) > 1)
                or np.any(w < 0) or np.any(w > 1))


def section_sweeps(quick: bool) -> tuple[list[list], list[str]]:
    d4 = Design.builtin("paper-level4")
    d3 = Design.builtin("paper-level3")  # the estimators' design: X -/-> Y, the assumption SPO makes too
    assert d3.names == d4.names
    p3 = place(d3)
    runs = 1 if quick else 100  # quick: a smoke run of the 22 grid points
    rng = np.random.default_rng(123)
    grid = np.round(np.linspace(0, 1, 11), 1)
    rows = []
    for sweep, authors in (("zt (L2->L3)", AUTHORS_L2_L3), ("xy (L3->L4)", AUTHORS_L3_L4)):
        for i, s in enumerate(grid):
            a, b = (s, 0.0) if sweep.startswith("zt") else (1.0, s)
            p = paper_main_params(a, b)
            t = truth(d4, p)
            P = population_moments(d4, p)
            err = {"mle": [], "spo": []}
            ate = {"mle": [], "spo": []}
            bad = {"mle": 0, "spo": 0}
            projected = 0  # SPO fits whose impossible solution was projected onto a valid mixture
            estimator_name = None
            for r_i in range(runs):
                counts = rng.multinomial(1000, P.ravel()).reshape(P.shape).astype(float)
                stats = SufficientStats(d3, 1000, counts)
                for name, est in (("mle", "auto"), ("spo", "spo")):
                    r = fit(d3, stats, estimator=est, placement=p3, seed=r_i, interval="wald")
                    if name == "mle":
                        estimator_name = r.estimator
                    e = r.estimate
                    err[name].append(_mte_error(e, t.effects))
                    ate[name].append((e.ate - t.ate) ** 2)
                    bad[name] += _impossible(e.weights, e.effects)
                    projected += name == "spo" and "projected" in e.diagnostics
            m_mle, m_spo = float(np.mean(err["mle"])), float(np.mean(err["spo"]))
            below = m_mle <= authors[i] and m_mle <= m_spo
            rows.append([sweep, s, runs, f"{m_mle:.4f}", f"{m_spo:.4f}", f"{authors[i]:.4f}",
                         "yes" if below else "no", f"{max(err['mle']):.4f}", f"{max(err['spo']):.4f}",
                         bad["mle"], bad["spo"], f"{projected / runs:.0%}", f"{np.mean(ate['mle']):.5f}",
                         f"{np.mean(ate['spo']):.5f}",
                         f"{AUTHORS_ATE_L3_L4[i]:.5f}" if sweep.startswith("xy") else "",
                         "yes" if below and bad["mle"] == 0 else "NO"])
    _sweep_figure(rows, quick)
    notes = [f"Default estimator: `fit(paper-level3, table)` = {estimator_name} (10 random starts + the SPO-weights "
             "start); SPO: `fit(..., estimator='spo')`, both on the same multinomial draws (n = 1000) of the "
             "authors' main generator (paper-level4 parameters; X -> Y strength 0 in the zt sweep). Both "
             "estimators assume the paper-level3 graph (no X -> Y), as the authors' SPO does. Metric: the "
             "authors' sum (sorted tau - tau_hat)^2 + sum (pi - pi_hat)^2; authors' means: their published means. "
             "'worst run': the largest error of the runs. Impossible: a weight outside [0, 1] or an effect "
             "outside [-1, 1]; maximum likelihood stays on valid mixtures by construction, and SPO projects an "
             "impossible solution onto the nearest valid mixture ('SPO projected': the share of its fits that "
             "needed it, the figure comparable to the authors' 2-10 % impossible fits). Target: default mean <= "
             "authors' mean and <= SPO mean, 0 impossible."]
    return rows, notes


def _sweep_figure(rows, quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, sweep, title in zip(axes, ("zt", "xy"), ("Level 2 -> 3 (Z -> T)", "Level 3 -> 4 (X -> Y)")):
        sub = [r for r in rows if r[0].startswith(sweep)]
        x = [r[1] for r in sub]
        for col, label in ((3, "mixid default (mle)"), (4, "mixid SPO"), (5, "authors' SPO (published)")):
            ax.plot(x, [float(r[col]) for r in sub], "o-", ms=4, label=label)
        ax.set_xlabel(f"{sweep} strength")
        ax.set_ylabel("MTE error (authors' metric), mean")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / f"mle_sweeps{'_quick' if quick else ''}.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


# --------------------------------------------------------------------------------------- calibration
CALIBRATION_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


def calibration_params(d: Design, seed: int = 2024) -> dict:
    """A paper-level3 point with effects >= 0.2 apart, weights >= 0.25 and proxies that separate the classes."""
    rng = np.random.default_rng(seed)
    while True:
        p = random_params(d, seed=rng, concentration=1.0, min_effect_gap=0.2)
        t = truth(d, p)
        sep = [abs(p["p_Z0_U0"] - p["p_Z0_U1"]), abs(p["p_X0_U0"] - p["p_X0_U1"])]
        if t.weights.min() >= 0.25 and min(sep) >= 0.3:
            return p


#: The parameter points of the calibration section (seeds of calibration_params): one point proves little.
CALIBRATION_SEEDS = (2024, 2025, 2026)


def section_calibration(quick: bool) -> tuple[list[list], list[str]]:
    from statistics import NormalDist

    d = Design.builtin("paper-level3")
    pl = place(d)
    seeds = CALIBRATION_SEEDS[:2] if quick else CALIBRATION_SEEDS
    sets = 10 if quick else 500
    n = 10_000
    names = ["ATE", "E[Y(0)]", "E[Y(1)]", "weight 0", "weight 1", "effect 0", "effect 1"]
    rows, truths = [], []
    curve = {name: np.zeros(len(CALIBRATION_LEVELS)) for name in names}
    estimator = None
    for point, seed in enumerate(seeds):
        p = calibration_params(d, seed)
        t = truth(d, p).to_dict()
        truths.append(f"point {point} (seed {seed}): weights {[round(a['weight'], 3) for a in t['mte']]}, effects "
                      f"{[round(a['effect'], 3) for a in t['mte']]}, ATE {t['ate']:.3f}")
        true = np.array([t["ate"], t["potential_outcome_means"]["0"], t["potential_outcome_means"]["1"]]
                        + [a["weight"] for a in t["mte"]] + [a["effect"] for a in t["mte"]])
        est = np.full((sets, len(names)), np.nan)
        se = np.full((sets, len(names)), np.nan)
        covered = np.zeros((sets, len(names)), dtype=bool)
        rng = np.random.default_rng(7 + point)
        for s in range(sets):
            frame, _ = simulate(d, n, params=p, seed=rng)
            r = fit(d, frame, placement=pl, seed=s, interval="wald")
            estimator = r.estimator
            x = r.to_dict()
            po_se = x.get("potential_outcome_means_se", {})
            est[s] = [x["ate"]["estimate"], x["potential_outcome_means"]["0"], x["potential_outcome_means"]["1"]] + \
                [a["weight"] for a in x["mte"]] + [a["effect"] for a in x["mte"]]
            se[s] = [np.nan if v is None else v for v in [x["ate"]["se"], po_se.get("0"), po_se.get("1")]
                     + [a.get("weight_se") for a in x["mte"]] + [a.get("effect_se") for a in x["mte"]]]
            cis = [x["ate"]["ci"], x.get("potential_outcome_means_ci", {}).get("0"),
                   x.get("potential_outcome_means_ci", {}).get("1")] + [a.get("weight_ci") for a in x["mte"]] + \
                [a.get("effect_ci") for a in x["mte"]]
            covered[s] = [ci is not None and ci[0] <= v <= ci[1] for ci, v in zip(cis, true)]
        for j, name in enumerate(names):
            have = np.isfinite(se[:, j])
            cov = covered[:, j].mean()
            half = 1.96 * np.sqrt(cov * (1 - cov) / sets)
            z = np.abs(est[:, j] - true[j]) / se[:, j]
            curve[name] += np.array([float(np.mean(np.where(have, z <= NormalDist().inv_cdf(0.5 + lv / 2), False)))
                                     for lv in CALIBRATION_LEVELS]) / len(seeds)
            rows.append([point, name, f"{true[j]:.4f}", sets, int((~have).sum()), f"{100 * cov:.1f}%",
                         f"[{100 * (cov - half):.1f}, {100 * (cov + half):.1f}]", f"{np.nanmean(se[:, j]):.4f}",
                         f"{np.nanstd(est[:, j]):.4f}", f"{np.nanmean(est[:, j]) - true[j]:+.4f}",
                         "yes" if 0.93 <= cov <= 0.97 else "NO"])
    _calibration_figure({k: list(v) for k, v in curve.items()}, sets * len(seeds), quick)
    notes = [f"`fit(paper-level3, simulate(paper-level3, {n}, params=P))` ({estimator}, bootstrap = 0: Wald "
             f"intervals), {sets} data sets at each of {len(seeds)} points P = calibration_params(seed): effects "
             "0.2 or more apart, weights 0.25 or more, proxy gaps 0.3 or more. " + "; ".join(truths) + ". Classes "
             "matched by sorting on the effect (both the estimate and the truth are sorted). A set without an "
             "interval counts as not covered ('no se' column). Target: 93-97 % (the binomial 95 % band of the "
             f"coverage is shown; with {sets} sets it is +-{196 * np.sqrt(0.95 * 0.05 / sets):.1f} points around "
             "95 %). The figure pools the points."]
    return rows, notes


def _calibration_figure(curve: dict, sets: int, quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    lv = np.array(CALIBRATION_LEVELS)
    band = 1.96 * np.sqrt(lv * (1 - lv) / sets)
    ax.fill_between(lv, lv - band, lv + band, color="0.85", label="binomial 95 % band")
    ax.plot([0.45, 1], [0.45, 1], "k--", lw=1)
    for name, cov in curve.items():
        ax.plot(lv, cov, "o-", ms=3, label=name)
    ax.set_xlabel("nominal level of the Wald interval")
    ax.set_ylabel(f"coverage over {sets} data sets")
    ax.set_title("paper-level3, n = 1e4, default estimator (mle)", fontsize=10)
    ax.legend(fontsize=7)
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / f"mle_calibration{'_quick' if quick else ''}.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


# ------------------------------------------------------------------------------------- jacobian_only
def _jacobian_designs() -> list[tuple[Design, dict]]:
    cat = lambda c: {"type": "categorical", "categories": c}  # noqa: E731
    causal = Design.from_dict({"name": "k3-binary-Z", "latent": {"classes": 3},
                               "variables": {"Z": cat(2), "X": cat(4), "T": cat(2), "Y": cat(2)},
                               "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
    items = Design.latent_class([f"Q{i}" for i in range(5)], classes=5, name="5-binary-items-k5")
    out = []
    rng = np.random.default_rng(11)
    p = random_params(causal, seed=rng, concentration=1.0, min_effect_gap=0.2)
    out.append((causal, p))
    while True:  # 5 classes of binary items: weights >= 0.1 so that every class is seen
        q = random_params(items, seed=rng, concentration=1.0)
        if truth(items, q).weights.min() >= 0.1:
            out.append((items, q))
            return out


def _match_error(d: Design, point_hat: np.ndarray, point_true: np.ndarray) -> dict[str, float]:
    """Errors of a fitted point: causal designs by class effect order (both sorted), latent class designs by the
    label permutation that best matches the item tables (Hungarian)."""
    lik = likelihood(d)
    if d.causal:
        from mixid.estimate.likelihood import causal_quantities

        vh, _ = causal_quantities(d, point_hat)
        vt, _ = causal_quantities(d, point_true)
        oh, ot = np.argsort(vh["effects"]), np.argsort(vt["effects"])
        return {"ATE": abs(vh["ate"][0] - vt["ate"][0]),
                "weights (max)": float(np.abs(vh["weights"][oh] - vt["weights"][ot]).max()),
                "effects (max)": float(np.abs(vh["effects"][oh] - vt["effects"][ot]).max())}
    ph, th = lik.from_point(point_hat)
    pt, tt = lik.from_point(point_true)
    A = np.concatenate([t[0] for t in th], axis=1)  # (k, sum C)
    B = np.concatenate([t[0] for t in tt], axis=1)
    cost = np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)
    ri, ci = linear_sum_assignment(cost)
    return {"weights (max)": float(np.abs(ph[ri] - pt[ci]).max()),
            "tables (max)": float(np.abs(A[ri] - B[ci]).max())}


def section_jacobian_only(quick: bool) -> tuple[list[list], list[str]]:
    sizes = (5_000, 50_000) if quick else (10_000, 100_000, 1_000_000, 10_000_000)
    target_sizes = [n for n in sizes if n <= 1_000_000]  # the goal's range; 1e7 shows where the curve goes
    runs = 2 if quick else 50
    rows, curves, notes = [], {}, []
    for d, params in _jacobian_designs():
        pl = place(d)
        fm = pl.targets["full_mixture"]
        notes.append(f"{d.name}: place() says level {pl.level}, full mixture {fm.method} ({fm.scope}); "
                     + ", ".join(f"{t}: {pl.targets[t].method} ({pl.targets[t].scope})" for t in ("mte", "ate")
                                 if pl.targets[t].verdict != "not_applicable"))
        model = Model(d)
        point_true = point_from_params(model, params)
        references = [point_true]
        if d.causal and not quick:  # not globally identifiable: score each fit against the nearest valid model with
            # the true law (the quick smoke run skips the fibre count this needs)
            from mixid.identify.fibre.identified_set import identified_set

            at_truth = identified_set(d, params)
            references = [point_from_params(model, q["params"]) for q in at_truth.points]
            ates = ", ".join(f"{q['ate']:.4f}" for q in at_truth.points)
            notes.append(f"{d.name}: the identified set at the truth holds {len(references)} valid model(s) with the "
                         f"true law (ATEs {ates}; complete: {at_truth.complete}); each fit is scored against the "
                         "nearest of them (a fit on another valid model is no error of the estimator)")
        P = population_moments(d, params)
        lik = likelihood(d)
        rng = np.random.default_rng(5)
        errs: dict[str, dict[int, list[float]]] = {}
        below, seconds = 0, []
        for n in sizes:
            for r_i in range(runs):
                counts = rng.multinomial(n, P.ravel()).reshape(P.shape).astype(float)
                t0 = time.perf_counter()
                r = fit(d, SufficientStats(d, n, counts), placement=pl, seed=r_i, interval="wald")
                seconds.append(time.perf_counter() - t0)
                point_hat = np.asarray(r.estimate.extra["params"], float)
                pat = Patterns.from_table(counts)
                ll_true = lik.posterior(lik.state_of(point_true)[None, :],
                                        _compiled(lik, pat))[1][0]
                below += r.estimate.fit["loglik"] < ll_true - 1e-6
                scored = [_match_error(d, point_hat, ref) for ref in references]
                for q, e in min(scored, key=lambda es: max(es.values())).items():
                    errs.setdefault(q, {}).setdefault(n, []).append(e)
        for q, by_n in errs.items():
            rmse = [float(np.sqrt(np.mean(np.square(by_n[n])))) for n in sizes]
            slope = float(np.polyfit(np.log10(target_sizes), np.log10(rmse[:len(target_sizes)]), 1)[0])
            last = float(np.log10(rmse[-1] / rmse[-2]) / np.log10(sizes[-1] / sizes[-2]))
            curves[f"{d.name}: {q}"] = rmse
            rows.append([d.name, q, runs, " / ".join(f"{n:.0e}" for n in sizes), " / ".join(f"{v:.4f}" for v in rmse),
                         f"{slope:.3f}", f"{last:.3f}", f"{below} of {runs * len(sizes)}",
                         f"{statistics.median(seconds):.2f}",
                         "yes" if abs(slope + 0.5) <= 0.15 else "NO"])
    _slope_figure(sizes, curves, quick)
    notes.append("`fit(design, table)` (default estimator: mle, 10 random starts) on multinomial draws of the exact "
                 "table; RMSE over runs of the absolute error (the largest over classes for weights, effects and "
                 "table entries). 'fits below truth': fits whose maximised log-likelihood is below the "
                 "log-likelihood of the true parameters on the same data (the optimiser missed the maximum). "
                 "Target: log-log slope of RMSE against n (least squares over n = 1e4..1e6) within -0.5 +- 0.15; "
                 "the slope between the two largest n (1e6 -> 1e7 in the full run) is shown beside it.")
    return rows, notes


def _compiled(lik, patterns):
    from mixid.estimate.likelihood.model import _Compiled

    return _Compiled.build(lik, patterns)


def _slope_figure(sizes, curves: dict, quick: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, rmse in curves.items():
        ax.loglog(sizes, rmse, "o-", ms=4, label=label)
    ref = next(iter(curves.values()))
    ax.loglog(sizes, ref[0] * (np.asarray(sizes) / sizes[0]) ** -0.5, "k--", lw=1, label="slope -1/2")
    ax.set_xlabel("n")
    ax.set_ylabel("RMSE over runs")
    ax.set_title("Jacobian-only designs, maximum likelihood", fontsize=10)
    ax.legend(fontsize=7)
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(RESULTS / f"mle_jacobian_only{'_quick' if quick else ''}.png", dpi=120, bbox_inches="tight")
    plt.close(fig)


# --------------------------------------------------------------------------------------------- speed
def _place_items(items: int) -> int:
    return place(Design.latent_class([f"Q{i}" for i in range(items)], classes=3)).level


def section_speed(quick: bool) -> tuple[list[list], list[str]]:
    rows = []
    d = Design.builtin("paper-level3")
    pl = place(d)
    n = 5_000 if quick else 1_000_000
    frame, _ = simulate(d, n, seed=0)
    repeats = 1 if quick else 7  # quick: a smoke run of the section, not a timing
    times: dict[str, list[float]] = {"profile": [], "wald": [], "spo": []}
    for r_i in range(repeats):  # interleaved, same frame
        times["profile"].append(_timed(lambda r_i=r_i: fit(d, frame, placement=pl, seed=r_i))[0])
        times["wald"].append(_timed(lambda r_i=r_i: fit(d, frame, placement=pl, seed=r_i, interval="wald"))[0])
        times["spo"].append(_timed(lambda: fit(d, frame, placement=pl, estimator="spo"))[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    for label, key in (("default fit (mle, profile-likelihood intervals)", "profile"),
                       ("fit(interval='wald') (mle, Wald intervals)", "wald")):
        rows.append([f"paper-level3, {n:.0e} rows: {label} vs estimator='spo' (statistics + fit, placement given)",
                     f"{med[key]:.4f}", f"{med['spo']:.4f}", f"{med[key] / med['spo']:.1f}x", "mle <= spo",
                     "yes" if med[key] <= med["spo"] else "NO"])
    carc = datasets.load("carcinoma")
    d4 = Design.latent_class(list("ABCDEFG"), classes=4, name="carcinoma")
    p4 = place(d4)
    for label, kwargs, target in (("default (profile intervals), placement given", {"placement": p4}, 0.5),
                                  ("interval='wald', placement given", {"placement": p4, "interval": "wald"}, 0.5),
                                  ("default, fit() incl. place()", {}, 1.0)):
        ts = [_timed(lambda s=s, kw=kwargs: fit(d4, carc, estimator="mle", starts=20, seed=s, **kw))[0]
              for s in range(repeats)]
        rows.append([f"carcinoma, 4 classes, 20 starts: {label}", f"{statistics.median(ts):.3f}", "", "",
                     f"< {target:g} s", "yes" if statistics.median(ts) < target else "NO"])
    limit = 20 if quick else 60
    for items in ((6,) if quick else (8, 10, 12, 14)):
        out = timed_subprocess(_place_items, (items,), limit)
        rows.append([f"place() on {items} binary items, k = 3 (plain latent class)",
                     f"killed at {limit} s" if out is None else f"{out[0]:.2f}", "", "", "", ""])
    notes = [f"Medians of {repeats} repeats, interleaved. The first rows time `fit(paper-level3, frame, "
             "placement=p)` (default: mle with profile-likelihood intervals, then with interval='wald') against "
             "`fit(..., estimator='spo')` on the same DataFrame. place() rows: a child process, killed at the limit "
             "(no target: they show what bounds fit() on many items)."]
    return rows, notes


def section_patterns(quick: bool) -> tuple[list[list], list[str]]:
    """A large sparse table fitted on its observed patterns (EM, empirical information) against the dense path
    (Newton scoring and the expected information on every cell): 12 binary items, k = 4, 1,000 rows, 10 starts."""
    from mixid.estimate.likelihood import optimise

    items, n, k = (11, 300, 2) if quick else (12, 1000, 4)  # quick: a smoke run (2,048 cells), not the case
    d = Design.latent_class([f"x{i}" for i in range(items)], classes=k, name=f"{items} binary items, k = {k}")
    pl = place(d)
    frame, _ = simulate(d, n, seed=0)
    rows = []
    dense_ratio = optimise.SPARSE_RATIO
    for path, ratio in (("observed patterns", dense_ratio), ("every cell (before)", 10 ** 9)):
        optimise.SPARSE_RATIO = ratio  # 10**9: no table counts as sparse, so Newton runs on the full table
        try:
            for interval in ("wald",) if quick else ("wald", "profile"):
                seconds, r = _timed(lambda interval=interval: fit(d, frame, placement=pl, seed=0, starts=10,
                                                                  interval=interval))
                f = r.to_dict()["fit"]
                rows.append([d.name, 2 ** items, r.estimate.diagnostics.get("patterns", len(r.estimate.extra[
                    "mle"].patterns.codes)), n, path, interval, f["starts"], f"{f['loglik']:.6f}",
                    r.estimate.diagnostics["information"], f"{seconds:.2f}"])
        finally:
            optimise.SPARSE_RATIO = dense_ratio
    notes = [f"`fit(Design.latent_class(12 items, classes=4), simulate(..., {n}, seed=0), seed=0, starts=10, "
             "interval=...)`, placement given, one run each. 'every cell (before)': the dense path this package "
             "took before (Newton scoring and the expected information on all cells), forced by "
             "optimise.SPARSE_RATIO = 10**9. Target (issue 18): 10 starts in a few seconds."]
    return rows, notes


def k3_training_design() -> Design:
    """The k = 3 design of issue 18: motivation(4) -> trained(2) -> employed(2), proxies prior_earn(3), teacher(3)."""
    return Design.from_dict({"name": "training-k3", "latent": {"name": "U", "classes": 3},
                             "variables": {"motivation": {"categories": 4}, "trained": {"categories": 2},
                                           "employed": {"categories": 2}, "prior_earn": {"categories": 3},
                                           "teacher": {"categories": 3}},
                             "treatment": "trained", "outcome": "employed",
                             "edges": ["motivation -> trained", "trained -> employed"]})


def section_modes(quick: bool) -> tuple[list[list], list[str]]:
    """One data set of the k = 3 case (n = 5,000), fitted with 20 seeds: the best maximum each time, and whether
    the ATE's profile interval holds every local mode within 1.92 of the best."""
    d = Design.builtin("paper-level3") if quick else k3_training_design()  # quick: a smoke run, not the case
    pl = place(d)
    frame, t = simulate(d, 5000, seed=0)
    seeds = range(1) if quick else range(20)
    fits = []
    for s in seeds:
        seconds, r = _timed(lambda s=s: fit(d, frame, placement=pl, seed=s))
        fits.append((s, seconds, r))
    best = max(r.to_dict()["fit"]["loglik"] for _, _, r in fits)
    rows = []
    for s, seconds, r in fits:
        x = r.to_dict()
        f, ci = x["fit"], x["ate"]["ci"]
        modes = x.get("modes", [])
        holds = ci is not None and all(ci[0] - 1e-9 <= m["ate"] <= ci[1] + 1e-9 for m in modes)
        found = abs(f["loglik"] - best) <= 1e-6 * abs(best)
        rows.append([s, f"{f['loglik']:.4f}", "yes" if found else "NO", f["starts"], f["starts_at_best"],
                     f["replicated"], f"{x['ate']['estimate']:.4f}", "none" if ci is None else
                     f"[{ci[0]:.4f}, {ci[1]:.4f}]", len(modes), " ".join(f"{m['ate']:.3f}" for m in modes),
                     "yes" if holds else "NO", f"{seconds:.1f}", "yes" if found and holds else "NO"])
    notes = [f"`fit({d.name}, simulate({d.name}, 5000, seed=0), seed=s)` for seeds {seeds.start}.."
             f"{seeds.stop - 1} (placement given; default starts: batches of 10 until 3 reach the best, at most "
             f"200; profile intervals). Truth: ATE {t.ate:.4f}. 'best found': log-likelihood within 1e-6 "
             "relative of the best over all seeds; 'holds every mode': every local maximum within 1.92 of the best "
             "has its ATE inside the ATE's interval."]
    return rows, notes


def section_bootstrap(quick: bool) -> tuple[list[list], list[str]]:
    """The bootstrap's cost against the fit's: 200 replicates of the k = 3 case (n = 5,000), each a multinomial
    draw of the observed patterns climbed from the estimate, classes matched to it. Seconds are medians of
    interleaved repeats; the bootstrap's are the fit-with-bootstrap's minus the fit's (same seed, same fit)."""
    d = Design.builtin("paper-level3") if quick else k3_training_design()  # quick: a smoke run, not the case
    pl = place(d)
    frame, t = simulate(d, 5000, seed=0)
    B, repeats = (10, 1) if quick else (200, 3)
    times: dict[str, list[float]] = {"wald": [], "profile": [], "boot": []}
    for _ in range(repeats):
        times["wald"].append(_timed(lambda: fit(d, frame, placement=pl, seed=0, interval="wald"))[0])
        times["profile"].append(_timed(lambda: fit(d, frame, placement=pl, seed=0))[0])
        seconds, r = _timed(lambda: fit(d, frame, placement=pl, seed=0, interval="wald", bootstrap=B))
        times["boot"].append(seconds)
    wald, profile, both = (float(np.median(times[key])) for key in ("wald", "profile", "boot"))
    boot = both - wald
    x = r.to_dict()
    ranges = quantity_ranges(d, d.classes)
    inside = all(lo - 1e-12 <= c[0] <= c[1] <= hi + 1e-12 for c, (lo, hi) in zip(r._ci(), ranges) if c)
    ci = x["ate"]["ci"]
    rows = [[d.name, r.n, B, x["bootstrap"]["replicates"], f"{wald:.2f}", f"{profile:.2f}", f"{boot:.2f}",
             f"{boot / wald:.2f}", f"{boot / profile:.2f}", f"{x['ate']['estimate']:.4f}",
             f"[{ci[0]:.4f}, {ci[1]:.4f}]", "yes" if inside else "NO",
             "yes" if boot <= 2 * wald and inside else "NO"]]
    notes = [f"`fit({d.name}, simulate({d.name}, 5000, seed=0), seed=0, interval=..., bootstrap={B})`, placement "
             f"given, medians of {repeats} interleaved repeats. 'bootstrap s' = fit with the bootstrap minus the "
             "Wald fit; ratios against the Wald fit and the default (profile) fit. Truth: ATE "
             f"{t.ate:.4f}. 'in range': every bootstrap interval inside its quantity's range. Target: bootstrap "
             "<= 2x the fit (Wald) and every interval in range."]
    return rows, notes


def section_coverage(quick: bool) -> tuple[list[list], list[str]]:
    """Profile-likelihood and range-respecting Wald 95 % intervals side by side on the same fits (the Wald
    intervals from the same standard errors, as interval='wald' computes them): paper-level3, n = 1e4, at the
    calibration section's parameter points."""
    from mixid.estimate.intervals import quantity_ranges, wald_in_range

    d = Design.builtin("paper-level3")
    pl = place(d)
    sets = 3 if quick else int(os.environ.get("MIXID_COVERAGE_SETS", "60"))
    names = ["ATE", "E[Y(0)]", "E[Y(1)]", "weight 0", "weight 1", "effect 0", "effect 1"]
    ranges = quantity_ranges(d, 2)
    rows, seconds = [], []
    for point, seed in enumerate(CALIBRATION_SEEDS[:1] if quick else CALIBRATION_SEEDS):
        p = calibration_params(d, seed)
        t = truth(d, p).to_dict()
        true = np.array([t["ate"], t["potential_outcome_means"]["0"], t["potential_outcome_means"]["1"]]
                        + [a["weight"] for a in t["mte"]] + [a["effect"] for a in t["mte"]])
        cover = {"profile": np.zeros((sets, 7)), "wald": np.zeros((sets, 7))}
        missing = {"profile": np.zeros(7, int), "wald": np.zeros(7, int)}
        width = {"profile": np.zeros((sets, 7)), "wald": np.zeros((sets, 7))}
        rng = np.random.default_rng(11 + point)
        for s in range(sets):
            frame, _ = simulate(d, 10_000, params=p, seed=rng)
            sec, r = _timed(lambda frame=frame, s=s: fit(d, frame, placement=pl, seed=s))
            seconds.append(sec)
            vec, profile = r.estimate.vector(), r._ci()
            ses = r._se_list()
            wald = [wald_in_range(v, e, lo, hi, 0.95)[0] for v, e, (lo, hi) in zip(vec, ses, ranges)]
            for kind, cis in (("profile", profile), ("wald", wald)):
                for j, (ci, v) in enumerate(zip(cis, true)):
                    if ci is None:
                        missing[kind][j] += 1
                        continue
                    cover[kind][s, j] = ci[0] <= v <= ci[1]
                    width[kind][s, j] = ci[1] - ci[0]
        for j, name in enumerate(names):
            c = {k: cover[k][:, j].mean() for k in cover}
            rows.append([point, name, f"{true[j]:.4f}", sets, f"{100 * c['profile']:.1f}%", missing["profile"][j],
                         f"{np.mean(width['profile'][:, j]):.4f}", f"{100 * c['wald']:.1f}%", missing["wald"][j],
                         f"{np.mean(width['wald'][:, j]):.4f}", "yes" if 0.93 <= c["profile"] <= 0.97 else "NO"])
    band = 196 * np.sqrt(0.95 * 0.05 / sets)
    notes = [f"`fit(paper-level3, simulate(paper-level3, 10000, params=calibration_params(seed)))` at the "
             f"calibration section's points, {sets} data sets each (MIXID_COVERAGE_SETS); profile = the default "
             "interval, Wald = wald_in_range on the same estimate and standard error (logit of the position in the "
             f"range). A missing interval counts as not covered. Median fit {statistics.median(seconds):.2f} s. "
             f"Binomial 95 % band at {sets} sets: +-{band:.1f} points."]
    return rows, notes


# ---------------------------------------------------------------------------------------------- main
SECTIONS = {
    "parity": (section_parity, ["classes", "mixid loglik", "published (poLCA)", "abs diff", "recomputed loglik",
                                "shares (mixid)", "published shares", "max share diff", "AIC", "BIC", "G2", "X2",
                                "df", "starts at best", "seconds", "within target"]),
    "stepmix": (section_stepmix, ["data", "items", "categories", "classes", "n", "patterns", "starts (mixid / StepMix)",
                                  "mixid path", "mixid loglik", "StepMix loglik (recomputed)",
                                  "StepMix reported (mean x n)", "loglik diff", "mixid s", "StepMix s",
                                  "time ratio", "StepMix on patterns s", "ratio vs patterns", "mixid place s",
                                  "within target"]),
    "sweeps": (section_sweeps, ["sweep", "strength", "runs", "default (mle) mean", "SPO mean", "authors' mean",
                                "at or below both", "default worst run", "SPO worst run", "default impossible",
                                "SPO impossible", "SPO projected", "default ATE sq err", "SPO ATE sq err",
                                "authors' ATE sq err", "within target"]),
    "calibration": (section_calibration, ["point", "quantity", "truth", "data sets", "no se", "coverage (95 % Wald)",
                                          "binomial 95 % band", "mean se", "sd of estimates", "bias",
                                          "within target"]),
    "jacobian_only": (section_jacobian_only, ["design", "quantity", "runs", "n", "RMSE", "log-log slope",
                                              "slope of the last decade", "fits below truth loglik", "median fit s",
                                              "within target"]),
    "speed": (section_speed, ["task", "seconds", "baseline seconds", "ratio", "target", "within target"]),
    "modes": (section_modes, ["seed", "loglik", "best found", "starts", "starts at best", "replicated", "ATE",
                              "ATE interval (profile)", "modes", "modes' ATE", "holds every mode", "seconds",
                              "within target"]),
    "patterns": (section_patterns, ["design", "cells", "patterns", "n", "path", "interval", "starts", "loglik",
                                    "information", "seconds"]),
    "bootstrap": (section_bootstrap, ["design", "n", "replicates asked", "replicates", "fit s (Wald)",
                                      "fit s (profile)", "bootstrap s", "ratio to Wald fit",
                                      "ratio to profile fit", "ATE", "ATE 95 % bootstrap interval", "in range",
                                      "within target"]),
    "coverage": (section_coverage, ["point", "quantity", "truth", "data sets", "profile coverage", "profile missing",
                                    "profile mean width", "Wald (range) coverage", "Wald missing", "Wald mean width",
                                    "profile within 93-97 %"]),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    ap.add_argument("--only", nargs="*", choices=list(SECTIONS), help="run only these sections")
    args = ap.parse_args(argv)
    wanted = args.only or list(SECTIONS)
    if "stepmix" in wanted and not _stepmix_available() and (args.only or not args.quick):
        print(f"error: the stepmix section needs StepMix. {STEPMIX_HINT}", file=sys.stderr)
        return 2
    ran, skipped = [], []
    for name in wanted:
        if name == "stepmix" and not _stepmix_available():
            skipped.append(f"stepmix ({STEPMIX_HINT})")
            print(f"SKIPPED section stepmix: {STEPMIX_HINT}\n")
            continue
        fn, columns = SECTIONS[name]
        load = os.getloadavg()[0]  # the machine may be shared: the 1-minute load average before the section
        t0 = time.perf_counter()
        rows, notes = fn(args.quick)
        header = (f"# mle: {name}\n\n{machine_info()}; 1-minute load average {load:.2f} before the section. "
                  f"`python benchmarks/bench_mle.py --only {name}{' --quick' if args.quick else ''}` "
                  f"({time.perf_counter() - t0:.0f} s).\n\n" + "\n".join(notes))
        paths = write_results(f"mle_{name}" + ("_quick" if args.quick else ""), header, columns, rows)
        print(paths[0].read_text())
        ran.append(name)
    print(f"sections run: {', '.join(ran) or 'none'}; skipped: {'; '.join(skipped) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
