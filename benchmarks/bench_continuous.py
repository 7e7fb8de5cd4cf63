"""Designs with continuous variables: the default estimator (efficient minimum distance) against SPO and md.

Section ``coverage`` (writes ``benchmarks/results/continuous_coverage{_quick}.{md,csv}``): the design of issue 23
(k = 3, 4-category Z -> T, 4-category X, continuous Y with features 1, y; parameters ``random_params(design,
seed=4)``: class weights 0.088 / 0.718 / 0.195, effects 0.564 / 0.632 / 0.836), data drawn by ``simulate`` at
n = 1e4 and 2e5. Per data set: the default fit (``fit(design, data, seed=s)``: efficient minimum distance from the
constructive starts and 10 random ones, with its distance-metric intervals), whether each 95 % interval (ATE,
class weights, class effects) covers the truth, whether the plain Wald interval estimate +- 1.96 se would, and the
absolute errors of the default, of SPO (the constructive estimate the default computed on the same data) and of
minimum distance from random starts only (``estimator="md"``, 3 starts). Coverage pairs each reported class with
the true class of the nearest response profile (its Z, X and T tables; Hungarian method): an interval is about a
class, and sorting by effect swaps the labels of the two classes whose effects differ by 0.07. A missing interval
(the search did not converge) counts as a miss, and the table says how many there were. Mean errors compare the
three estimators as they report, classes in effect order. Data sets run until ``--runs`` per n or ``--budget``
seconds per n, whichever comes first (``--jobs`` processes at once); the table says how many ran. Target (issue
23): coverage 93-97 % over 200 data sets at each n.

Section ``stepmix`` (writes ``benchmarks/results/continuous_stepmix{_quick}.{md,csv}``): mixed indicators, 6
binary items and 2 normal ones (a variance per class), k = 3, data from ``simulate`` at n = 1e4 and 1e5. mixid's
maximum likelihood (``fit(..., estimator="mle", starts=S, max_starts=S)``: EM with SQUAREM, then the observed
information for standard errors) and StepMix 3.0 (``measurement`` from ``get_mixed_descriptor`` with ``binary``
and ``gaussian_diag``, ``n_init=S``, its default tolerance and iteration cap), S = 10 random starts each, same
data, same run, alternating; both log-likelihoods in the data's units. Target (issue 23): the same
log-likelihood in at most 0.3x StepMix's time.

Section ``diagnosis`` (writes ``benchmarks/results/continuous_diagnosis{_quick}.{md,csv}``): why the weights'
intervals undercover, per data set of the coverage design (seeds 1000 + r, as there). The efficient minimum-distance
fit's distance statistic n Q at the estimate and at the true parameters (n Q(truth) < n Q(estimate) would mean the
optimiser missed the minimum); the z-scores (estimate - truth) / se of the weights, with the efficient weight
matrix estimated on the same rows and on an independent sample of the same size (equal z: the correlation of the
weight matrix with the moments is not the cause); and whether the estimate orders the classes by effect as the
truth does (the report's classes are sorted by effect, so a swapped order pairs a weight with another class's
truth).

Section ``normal`` (writes ``benchmarks/results/continuous_normal{_quick}.{md,csv}``): maximum likelihood with a
normal outcome (k = 2, 3-category Z -> T, 3-category X, Y normal given T and U; ``random_params(seed=5,
min_effect_gap=1.0)``), n = 5,000, data sets until ``--runs`` or ``--budget`` seconds: coverage of the 95 % profile
(default) and Wald intervals of the ATE, class weights and effects on the same data sets, how often the profile
search gave no interval, and the profile's width against Wald's.

Reproduce: ``python benchmarks/bench_continuous.py [--quick] [--only coverage|stepmix|diagnosis|normal] [--runs R]
[--budget S]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import warnings
from functools import partial

import numpy as np
from harness import load_average, machine_info, write_results
from scipy.optimize import linear_sum_assignment

from mixid import Design, fit, random_params, simulate, truth

ISSUE = Design.from_dict({
    "name": "issue23", "latent": {"name": "U", "classes": 3}, "treatment": "T", "outcome": "Y",
    "variables": {"Z": {"type": "categorical", "categories": 4}, "X": {"type": "categorical", "categories": 4},
                  "T": {"type": "categorical", "categories": 2}, "Y": {"type": "continuous", "features": 2}},
    "edges": ["Z -> T", "T -> Y"]})
COLUMNS = ["n", "data sets", "quantity", "default coverage", "default no interval", "plain Wald coverage",
           "default mean abs error", "SPO mean abs error", "md (random starts) mean abs error",
           "default warned SPO disagrees"]


def class_profiles(params: dict, k: int) -> np.ndarray:
    """Each class's response profile (its Z, X and T tables; not its weight or outcome means), shape (k, ...)."""
    return np.array([[v for name, v in sorted(params.items()) if name.startswith("p_") and name.endswith(f"_U{u}")]
                     for u in range(k)])


def reported_truth(params: dict, truth_params: dict, t) -> np.ndarray:
    """The truth of each entry of a fit's report (ATE, weights, effects; classes in the report's effect order):
    each estimated class is matched to the true class with the nearest response profile (Hungarian method)."""
    k = len(t.weights)
    effects = np.array([params[f"mu_Y1_T1_U{u}"] - params[f"mu_Y1_T0_U{u}"] for u in range(k)])
    order = np.argsort(effects, kind="stable")  # the report's order (as causal_estimate)
    A, B = class_profiles(params, k), class_profiles(truth_params, k)
    _, match = linear_sum_assignment(np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2))
    true_class = match[order]
    return np.concatenate([[t.ate], t.weights[true_class], t.effects[true_class]])


def one(n: int, seed: int, params: dict, truth_vec: np.ndarray) -> dict:
    data, _ = simulate(ISSUE, n, params=params, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = fit(ISSUE, data, seed=seed).to_dict()  # the default: 10 random starts besides the constructive ones
        md = fit(ISSUE, data, estimator="md", seed=seed, starts=3, interval="wald").to_dict()

    def vec(d):
        return np.array([d["ate"]["estimate"]] + [a["weight"] for a in d["mte"]] + [a["effect"] for a in d["mte"]])

    t = truth(ISSUE, params)
    matched = reported_truth(auto["mixture"]["parameters"], params, t)
    cis = [auto["ate"]["ci"]] + [a["weight_ci"] for a in auto["mte"]] + [a["effect_ci"] for a in auto["mte"]]
    ses = [auto["ate"]["se"]] + [a["weight_se"] for a in auto["mte"]] + [a["effect_se"] for a in auto["mte"]]
    est = vec(auto)
    cover = np.array([ci is not None and ci[0] <= v <= ci[1] for ci, v in zip(cis, matched)], float)
    wald = np.array([s is not None and abs(e - v) <= 1.959964 * s for e, s, v in zip(est, ses, matched)], float)
    c = auto["diagnostics"]["constructive"]
    spo_vec = np.array([c["ate"]] + list(c["weights"]) + list(c["effects"]))
    return {"cover": cover, "missing": np.array([ci is None for ci in cis], float), "wald": wald,
            "default": np.abs(est - truth_vec), "spo": np.abs(spo_vec - truth_vec), "md": np.abs(vec(md) - truth_vec),
            "warned": any("disagree" in w for w in auto["warnings"])}


def coverage(ns, runs: int, budget: float, jobs: int = 1) -> list[list]:
    params = random_params(ISSUE, seed=4)
    t = truth(ISSUE, params)
    order = np.argsort(t.effects)
    truth_vec = np.concatenate([[t.ate], t.weights[order], t.effects[order]])
    names = ["ATE"] + [f"weight {u}" for u in range(3)] + [f"effect {u}" for u in range(3)]
    rows = []
    for n in ns:
        out, t0 = [], time.perf_counter()
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for o in pool.imap(partial(one, n, params=params, truth_vec=truth_vec), range(1000, 1000 + runs)):
                out.append(o)
                if time.perf_counter() - t0 > budget:
                    pool.terminate()
                    break
        cover, wald, missing = (np.array([o[key] for o in out]) for key in ("cover", "wald", "missing"))
        warned = np.mean([o["warned"] for o in out])
        for i, name in enumerate(names):
            rows.append([n, len(out), name, f"{100 * cover[:, i].mean():.1f} %", int(missing[:, i].sum()),
                         f"{100 * wald[:, i].mean():.1f} %",
                         f"{np.mean([o['default'][i] for o in out]):.4f}", f"{np.mean([o['spo'][i] for o in out]):.4f}",
                         f"{np.mean([o['md'][i] for o in out]):.4f}", f"{100 * warned:.0f} %"])
    return rows


NORMAL_OUTCOME = Design.from_dict({
    "name": "normal-outcome", "latent": {"name": "U", "classes": 2}, "treatment": "T", "outcome": "Y",
    "variables": {"Z": {"type": "categorical", "categories": 3}, "X": {"type": "categorical", "categories": 3},
                  "T": {"type": "categorical", "categories": 2},
                  "Y": {"type": "continuous", "distribution": "normal"}},
    "edges": ["Z -> T", "T -> Y"]})
NORMAL_COLUMNS = ["n", "data sets", "quantity", "profile coverage", "Wald coverage", "profile missing",
                  "median profile / Wald width", "median fit s (profile)"]


def normal_coverage(n: int, runs: int, budget: float) -> list[list]:
    """Coverage of maximum likelihood's 95 % profile and Wald intervals with a normal outcome (k = 2)."""
    params = random_params(NORMAL_OUTCOME, seed=5, min_effect_gap=1.0)
    t = truth(NORMAL_OUTCOME, params)
    order = np.argsort(t.effects)
    truth_vec = np.concatenate([[t.ate], t.weights[order], t.effects[order]])
    out, t0 = [], time.perf_counter()
    for r in range(runs):
        if time.perf_counter() - t0 > budget:
            break
        data, _ = simulate(NORMAL_OUTCOME, n, params=params, seed=2000 + r)
        row = {}
        for kind in ("profile", "wald"):
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                d = fit(NORMAL_OUTCOME, data, seed=r, interval=kind).to_dict()
            row[f"{kind} s"] = time.perf_counter() - t1
            row[kind] = [d["ate"]["ci"]] + [a["weight_ci"] for a in d["mte"]] + [a["effect_ci"] for a in d["mte"]]
        out.append(row)
    names = ["ATE", "weight 0", "weight 1", "effect 0", "effect 1"]
    rows = []
    for i, name in enumerate(names):
        def covered(kind, i=i):
            return [ci[i][0] <= truth_vec[i] <= ci[i][1] for ci in (o[kind] for o in out) if ci[i] is not None]
        widths = [(o["profile"][i][1] - o["profile"][i][0]) / (o["wald"][i][1] - o["wald"][i][0]) for o in out
                  if o["profile"][i] is not None and o["wald"][i] is not None]
        rows.append([n, len(out), name, f"{100 * np.mean(covered('profile')):.0f} %",
                     f"{100 * np.mean(covered('wald')):.0f} %", sum(o["profile"][i] is None for o in out),
                     f"{np.median(widths):.3f}", f"{np.median([o['profile s'] for o in out]):.1f}"])
    return rows


DIAGNOSIS_COLUMNS = ["n", "data set", "n Q(estimate)", "n Q(truth)", "weights", "z of weights (same rows)",
                     "z of weights (independent weight matrix)", "effects", "effect order as the truth's"]


def diagnosis(ns, runs: int) -> list[list]:
    from mixid.estimate.data import sufficient_stats
    from mixid.estimate.efficient import compile_efficient
    from mixid.estimate.evaluate import Moments
    from mixid.estimate.md import feature_covariance
    from mixid.identify import Model

    from mixid import place

    model, placement = Model(ISSUE), place(ISSUE)
    params = random_params(ISSUE, seed=4)
    true_point = np.array([params[p.name] for p in model.params])
    t = truth(ISSUE, params)
    order = np.argsort(t.effects)
    rows = []
    for n in ns:
        for r in range(runs):
            data, _ = simulate(ISSUE, n, params=params, seed=1000 + r)
            other, _ = simulate(ISSUE, n, params=params, seed=5000 + r)
            stats = sufficient_stats(ISSUE, data, keep_rows=True)
            mo = Moments.of(stats)
            target = np.asarray(mo.tensor, float).ravel()
            cov = feature_covariance(ISSUE, stats.columns)
            weight = np.linalg.pinv(cov, rcond=1e-10, hermitian=True)

            def distance(point, target=target, weight=weight, n=n):
                resid = target - model.evaluate(point)[0]
                return n * float(resid @ weight @ resid)

            zs = []
            for c in (cov, feature_covariance(ISSUE, sufficient_stats(ISSUE, other, keep_rows=True).columns)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = compile_efficient(placement, starts=3, seed=1000 + r)(mo, covariance=c)
                se = np.array([np.nan if s is None else s for s in est.se["weights"]])
                zs.append((est.weights - t.weights[order]) / se)
                if len(zs) == 1:
                    first = est
            # each estimated class (effect order) to its nearest true class (weight and effect, Hungarian)
            cost = (np.abs(first.weights[:, None] - t.weights[order][None, :])
                    + np.abs(first.effects[:, None] - t.effects[order][None, :]))
            same_order = bool(np.array_equal(linear_sum_assignment(cost)[1], np.arange(len(order))))
            rows.append([n, r, f"{distance(np.asarray(first.extra['params'])):.1f}", f"{distance(true_point):.1f}",
                         " / ".join(f"{w:.3f}" for w in first.weights), " / ".join(f"{z:+.1f}" for z in zs[0]),
                         " / ".join(f"{z:+.1f}" for z in zs[1]), " / ".join(f"{e:.3f}" for e in first.effects),
                         same_order])
    return rows


MIXED = Design.from_dict({
    "name": "mixed-indicators", "latent": {"name": "U", "classes": 3},
    "variables": {**{f"A{i}": {"type": "categorical", "categories": 2} for i in range(6)},
                  "Y1": {"type": "continuous", "distribution": "normal"},
                  "Y2": {"type": "continuous", "distribution": "normal"}}})
STEPMIX_COLUMNS = ["n", "starts", "mixid loglik", "StepMix loglik", "mixid - StepMix", "mixid s", "StepMix s",
                   "time ratio mixid / StepMix", "mixid replicated"]


def stepmix_rows(ns, starts: int, repeats: int) -> list[list]:
    from stepmix import StepMix
    from stepmix.utils import get_mixed_descriptor

    from mixid import place

    place(MIXED)  # fit() caches the placement: time the estimation only
    rows = []
    for n in ns:
        data, _ = simulate(MIXED, n, params=random_params(MIXED, seed=7), seed=n)
        mixed, descriptor = get_mixed_descriptor(data, binary=[f"A{i}" for i in range(6)],
                                                 gaussian_diag=["Y1", "Y2"])
        ours, theirs = [], []
        for r in range(repeats):  # alternate, so both see the same load
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = fit(MIXED, data, estimator="mle", starts=starts, max_starts=starts, seed=r)
            ours.append((time.perf_counter() - t0, res))
            t0 = time.perf_counter()
            model = StepMix(n_components=3, measurement=descriptor, n_init=starts, random_state=r, verbose=0,
                            progress_bar=0)
            model.fit(mixed)
            theirs.append((time.perf_counter() - t0, float(model.score(mixed)) * n))
        t_ours, t_theirs = np.median([t for t, _ in ours]), np.median([t for t, _ in theirs])
        ll_ours = max(r.to_dict()["fit"]["loglik"] for _, r in ours)
        ll_theirs = max(ll for _, ll in theirs)
        rows.append([n, starts, f"{ll_ours:.4f}", f"{ll_theirs:.4f}", f"{ll_ours - ll_theirs:+.2e}",
                     f"{t_ours:.2f}", f"{t_theirs:.2f}", f"{t_ours / t_theirs:.2f}",
                     all(r.to_dict()["fit"]["replicated"] for _, r in ours)])
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    ap.add_argument("--runs", type=int, default=200, help="data sets per n (default 200)")
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per n (default 300)")
    ap.add_argument("--only", nargs="*", choices=["coverage", "stepmix", "diagnosis", "normal"],
                    help="run only these sections (default: coverage and stepmix)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000], help="stepmix: row counts")
    ap.add_argument("--jobs", type=int, default=1, help="coverage: data sets fitted at once (processes)")
    args = ap.parse_args(argv)
    for section in args.only or ["coverage", "stepmix"]:
        t0, load = time.perf_counter(), load_average()
        if section == "coverage":
            ns, runs = ([200_000], 1) if args.quick else ([10_000, 200_000], args.runs)
            rows, columns = coverage(ns, runs, args.budget, args.jobs), COLUMNS
            cmd = "python benchmarks/bench_continuous.py --only coverage" + (
                " --quick" if args.quick else f" --runs {args.runs} --budget {args.budget:g} --jobs {args.jobs}")
        elif section == "normal":
            n, runs = (2_000, 2) if args.quick else (5_000, args.runs)
            rows, columns = normal_coverage(n, runs, args.budget), NORMAL_COLUMNS
            cmd = "python benchmarks/bench_continuous.py --only normal" + (
                " --quick" if args.quick else f" --runs {args.runs} --budget {args.budget:g}")
        elif section == "diagnosis":
            ns, runs = ([10_000], 1) if args.quick else ([10_000, 200_000], min(args.runs, 8))
            rows, columns = diagnosis(ns, runs), DIAGNOSIS_COLUMNS
            cmd = "python benchmarks/bench_continuous.py --only diagnosis" + (
                " --quick" if args.quick else f" --runs {min(args.runs, 8)}")
        else:
            try:
                import stepmix  # noqa: F401
            except ImportError:
                print("SKIPPED section stepmix: pip install -e '.[bench]'")
                continue
            rows = stepmix_rows([2_000] if args.quick else args.sizes, 3 if args.quick else 10,
                                1 if args.quick else 2)
            columns = STEPMIX_COLUMNS
            cmd = "python benchmarks/bench_continuous.py --only stepmix" + (
                " --quick" if args.quick else f" --sizes {' '.join(map(str, args.sizes))}")
        header = (f"# continuous: {section}\n\n{machine_info()}, {load}. `{cmd}` "
                  f"({time.perf_counter() - t0:.0f} s).")
        paths = write_results(f"continuous_{section}" + ("_quick" if args.quick else ""), header, columns, rows)
        print(paths[0].read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
