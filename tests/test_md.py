"""Minimum distance (estimate/md.py) for designs with continuous variables: exact recovery, the weight matrix,
and the sampling behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate.data import sufficient_stats
from mixid.estimate.evaluate import Moments
from mixid.estimate.fit import compile_estimator
from mixid.estimate.md import feature_covariance

from mixid import fit, place, population_moments, random_params, simulate, truth
from tests.conftest import make_design

CONTINUOUS = make_design(2, {"Z": 2, "X": 2, "T": 2, "Y": {"type": "continuous", "features": 3}},
                         ["Z -> T", "T -> Y"])


def test_exact_moments_recover_the_truth():
    params = random_params(CONTINUOUS, seed=1, min_effect_gap=0.3)
    t = truth(CONTINUOUS, params)
    _, run = compile_estimator(place(CONTINUOUS), "md", seed=0, starts=4, interval="wald")  # estimates only
    est = run(Moments(CONTINUOUS, population_moments(CONTINUOUS, params), n=1e6))
    assert est.fit["objective"] < 1e-20
    assert est.ate == pytest.approx(t.ate, abs=1e-7)
    np.testing.assert_allclose(est.effects, np.sort(t.effects), atol=1e-6)


def test_feature_covariance_is_the_covariance_of_the_feature_products():
    data, _ = simulate(CONTINUOUS, 500, seed=3)
    cols = {c: data[c].to_numpy() for c in data.columns}
    cols = {c: v.astype(np.int64) if c != "Y" else v for c, v in cols.items()}
    rows = []
    for i in range(500):  # phi(row) in the moment tensor's layout, one row at a time
        onehot = [np.eye(2)[cols[v][i]] for v in ("Z", "X", "T")]
        y = np.array([1.0, cols["Y"][i], cols["Y"][i] ** 2])
        rows.append(np.einsum("a,b,c,d->abcd", *onehot, y).ravel())
    phi = np.array(rows)
    expected = (phi.T @ phi) / 500 - np.outer(phi.mean(0), phi.mean(0))
    np.testing.assert_allclose(feature_covariance(CONTINUOUS, cols), expected, atol=1e-10)
    stats = sufficient_stats(CONTINUOUS, data)
    np.testing.assert_allclose(stats.tensor.ravel(), phi.mean(0), atol=1e-12)


def test_error_shrinks_with_n_and_the_fit_test_is_calibrated():
    """The error shrinks with n, and Hansen's J has the mean of its chi-square law over six data sets."""
    params = random_params(CONTINUOUS, seed=1, min_effect_gap=0.3)
    t = truth(CONTINUOUS, params)
    errors, j, df = {}, [], set()
    for n in (4_000, 400_000):
        runs = [fit(CONTINUOUS, simulate(CONTINUOUS, n, params=params, seed=s)[0], estimator="md", seed=0, starts=2,
                    interval="wald") for s in range(3)]  # (estimates and J only)
        errors[n] = np.median([abs(r.estimate.ate - t.ate) for r in runs])
        j += [r.to_dict()["fit"]["j_stat"] for r in runs]
        df |= {r.to_dict()["fit"]["df"] for r in runs}
    assert errors[400_000] < errors[4_000]
    # Under the correct model J is chi-square with df degrees of freedom: the mean of 6 draws lies within 3 of its
    # standard deviations (sqrt(2 df / 6)) of df; a weight matrix off by a factor of 2 moves it by df.
    assert df == {6}
    assert abs(np.mean(j) - 6) < 3 * np.sqrt(2 * 6 / 6), j


def test_auto_fits_the_model_when_no_formula_takes_continuous_variables():
    """k = 3 with a binary proxy: the full mixture is certified (per-arm Kruskal), but CP needs categorical
    views and SPO needs k-category proxies, so the default is the model by minimum distance."""
    d = make_design(3, {"Z": 2, "X": 4, "T": 2, "Y": {"type": "continuous", "features": 3}}, ["Z -> T", "T -> Y"])
    r = fit(d, simulate(d, 20_000, seed=0)[0], seed=0, starts=2, interval="wald")
    assert r.estimator == "md" and r.to_dict()["ate"]["se"] > 0


def test_boundary_probabilities_are_named_held_and_get_no_standard_error():
    """Z = 0 never occurs in class 0, so P(T | Z = 0, U = 0) is not pinned and goes to a bound: md names the
    boundary probabilities (the implied last category too), gives them null, and no standard error is 0; every
    implied last category stays a probability."""
    from mixid.estimate.md import _last_entries
    from mixid.identify import Model

    params = dict(random_params(CONTINUOUS, seed=1, min_effect_gap=0.3), p_Z0_U0=0.0)
    data, _ = simulate(CONTINUOUS, 4000, params=params, seed=0)
    r = fit(CONTINUOUS, data, estimator="md", seed=0, starts=3, interval="wald")
    d = r.to_dict()
    held = next(w for w in d["warnings"] if "lie on the boundary" in w)
    u = min(range(2), key=lambda c: d["mixture"]["parameters"][f"p_Z0_U{c}"])  # the class without Z = 0 (any label)
    assert f"p_T0_Z0_U{u}" in held and f"p_T1_Z0_U{u}" in held
    assert d["mixture"]["parameters_se"][f"p_T0_Z0_U{u}"] is None
    ses = [v for v in d["mixture"]["parameters_se"].values() if v is not None]
    ses += [d["ate"]["se"]] + [a[k] for a in d["mte"] for k in ("weight_se", "effect_se")]
    assert all(s is None or s > 0 for s in ses)
    assert (_last_entries(Model(CONTINUOUS), np.asarray(r.estimate.extra["params"])) >= 0).all()


ISSUE23 = make_design(3, {"Z": 4, "X": 4, "T": 2, "Y": {"type": "continuous", "features": 2}}, ["Z -> T", "T -> Y"])


def test_class_means_stay_inside_the_data_range():
    """On this data set (n = 1e4, a class of weight 0.09 whose effect is 0.07 from another's) minimum distance
    without bounds sends a class's outcome mean to 3e5; bounded by the data's range of Y, the mean stops at its
    edge, is named in a warning and gets no standard error, and the ATE keeps its interval."""
    data, _ = simulate(ISSUE23, 10_000, params=random_params(ISSUE23, seed=4), seed=1028)
    r = fit(ISSUE23, data, estimator="md", seed=1028, starts=3, interval="wald").to_dict()
    lo, hi = data["Y"].min(), data["Y"].max()
    means = {k: v for k, v in r["mixture"]["parameters"].items() if k.startswith("mu_")}
    assert all(lo - 1e-9 <= v <= hi + 1e-9 for v in means.values()), means
    edge = next(w for w in r["warnings"] if "edge of their column's range" in w)
    at_edge = [k for k, v in means.items() if min(v - lo, hi - v) < 1e-6]
    assert at_edge and all(k in edge for k in at_edge)
    assert all(r["mixture"]["parameters_se"][k] is None for k in at_edge)
    assert r["ate"]["ci"] is not None and r["ate"]["ci"][0] <= r["ate"]["estimate"] <= r["ate"]["ci"][1]


def _rise(design, data, est):
    """psi -> n (min_{g = psi} Q - Q_hat) for a quantity g(theta), by an independent SLSQP with an equality
    constraint (and every implied last category >= 0) from the estimate: the test's own profile."""
    import scipy.optimize
    from mixid.estimate.md import _bounds, _efficient_weight, _mean_bounds, _objective, _probability_rows
    from mixid.identify import Model

    stats = sufficient_stats(design, data)
    mo = Moments.of(stats)
    W, _ = _efficient_weight(feature_covariance(design, stats.columns))
    w, V = np.linalg.eigh(W)
    model, x = Model(design), np.asarray(est.extra["params"])
    criterion = _objective(model, mo.tensor.ravel(), (V * np.sqrt(np.maximum(w, 0))).T, mo.n)  # -n Q / 2
    lo, hi = _mean_bounds(model, *_bounds(model), stats.ranges)
    box = [(a if np.isfinite(a) else None, b if np.isfinite(b) else None) for a, b in zip(lo, hi)]
    rows = np.zeros((len(_probability_rows(model)), model.n_params))
    for i, (free, _) in enumerate(_probability_rows(model)):
        rows[i, free] = 1.0

    def rise(g, psi):
        res = scipy.optimize.minimize(lambda t: -criterion(t)[0], x, jac=lambda t: -criterion(t)[1], method="SLSQP",
                                      bounds=box, constraints=[{"type": "eq", "fun": lambda t: g(t) - psi},
                                                               {"type": "ineq", "fun": lambda t: 1 - rows @ t}],
                                      options={"maxiter": 1000, "ftol": 1e-12})
        return 2 * (criterion(x)[0] + res.fun)
    return rise, model


def test_distance_metric_interval_ends_are_where_the_criterion_rises_by_the_chi_square_quantile():
    """Each end psi of the ATE's and a class weight's interval is where the distance statistic, minimised under
    g(theta) = psi, exceeds its minimum by chi2_1(0.95) = 3.84; the plain Wald end (estimate + 1.96 se) is not
    (the criterion is not quadratic here), and the modes report n Q (Hansen's J), the best's equal to the fit's."""
    from mixid.estimate.likelihood.inference import causal_quantities

    data, _ = simulate(CONTINUOUS, 100_000, params=random_params(CONTINUOUS, seed=1, min_effect_gap=0.3), seed=3)
    est = fit(CONTINUOUS, data, estimator="md", seed=0, starts=3).estimate
    rise, _ = _rise(CONTINUOUS, data, est)
    x = np.asarray(est.extra["params"])
    order = np.argsort(causal_quantities(CONTINUOUS, x)[0]["effects"])
    quantities = {0: lambda t: causal_quantities(CONTINUOUS, t)[0]["ate"][0],
                  3: lambda t: causal_quantities(CONTINUOUS, t)[0]["weights"][order[0]]}
    for i, g in quantities.items():
        for end in est.intervals[i]:
            assert rise(g, end) == pytest.approx(3.841, abs=0.05), (i, end)
    assert rise(quantities[0], est.ate + 1.96 * est.se["ate"]) < 3.0  # Wald's end: inside the region
    assert est.modes[0]["j_stat"] == pytest.approx(est.fit["j_stat"])


def test_the_least_squares_profile_finds_the_same_ends_when_slsqp_gives_up(monkeypatch):
    """Where SLSQP's search for an end fails (forced here: one iteration), md walks the profile min_{g = psi} n Q
    by least squares and bisects its crossing of chi2_1: the same intervals to a thousandth of their width, and the
    notes say which ends came from the fallback."""
    import mixid.estimate.likelihood.profile as profile

    data, _ = simulate(CONTINUOUS, 20_000, params=random_params(CONTINUOUS, seed=1, min_effect_gap=0.3), seed=3)
    searched = fit(CONTINUOUS, data, estimator="md", seed=0, starts=3).estimate.intervals
    notes = []
    original = profile.region_extremes

    def spy(*args, **kwargs):
        out, found = original(*args, **kwargs)
        notes.extend(found)
        return out, found

    monkeypatch.setattr(profile, "MAX_ITER", 1)
    monkeypatch.setattr("mixid.estimate.md.region_extremes", spy)
    walked = fit(CONTINUOUS, data, estimator="md", seed=0, starts=3).estimate.intervals
    assert notes and all("the estimator's own profile gave the end" in note for note in notes)
    for a, b in zip(searched, walked):
        assert (a is None) == (b is None)
        if a is not None:
            assert abs(a[0] - b[0]) + abs(a[1] - b[1]) < 1e-3 * (a[1] - a[0]), (a, b)


def test_several_minima_are_reported_by_their_distance_statistic():
    """A weakly separated data set (n = 1e4) where the starts reach several minima within the distance-metric
    threshold: the JSON's modes carry n Q (j_stat), none below the best's, and the text names them as minima."""
    data, _ = simulate(ISSUE23, 10_000, params=random_params(ISSUE23, seed=4), seed=1007)
    r = fit(ISSUE23, data, seed=1007, starts=3)
    modes = r.to_dict()["modes"]
    assert len(modes) >= 2 and all("loglik" not in m for m in modes)
    assert modes[0]["j_stat"] == pytest.approx(r.to_dict()["fit"]["j_stat"])
    assert all(m["j_stat"] >= modes[0]["j_stat"] - 1e-9 and m["delta"] <= 1.921 for m in modes)
    text = r.summary()
    assert f"{len(modes)} local minima within" in text and "n Q " in text
    # here SLSQP stopped at -0.056 for the lower end of E[Y(0)] and said it had converged (the criterion had risen
    # by 0.03); the least-squares profile carries that end on to where the rise is the quantile
    from mixid.estimate.likelihood.inference import causal_quantities

    rise, _ = _rise(ISSUE23, data, r.estimate)
    low = r.estimate.intervals[1][0]
    assert rise(lambda t: causal_quantities(ISSUE23, t)[0]["po"][0], low) == pytest.approx(3.841, abs=0.05)


def test_the_estimate_does_not_depend_on_the_units_of_a_continuous_column():
    """Y in other units (x 1000) or shifted (+ 20): the efficient weight is computed on the correlation scale, so
    the same directions are kept, the class weights and the fit statistic agree and the ATE moves with the units
    (a pseudo-inverse of the raw covariance dropped directions and changed the estimate)."""
    data, _ = simulate(CONTINUOUS, 20_000, params=random_params(CONTINUOUS, seed=1, min_effect_gap=0.3), seed=3)
    base = fit(CONTINUOUS, data, estimator="md", seed=0, starts=3, interval="wald").to_dict()
    for scale, shift in ((1000.0, 0.0), (1.0, 20.0)):
        moved = fit(CONTINUOUS, data.assign(Y=data["Y"] * scale + shift), estimator="md", seed=0, starts=3,
                    interval="wald").to_dict()
        assert moved["fit"]["df"] == base["fit"]["df"]
        assert moved["fit"]["j_stat"] == pytest.approx(base["fit"]["j_stat"], rel=1e-3)
        assert moved["ate"]["estimate"] == pytest.approx(scale * base["ate"]["estimate"], rel=1e-3)
        for a, b in zip(moved["mte"], base["mte"]):
            assert a["weight"] == pytest.approx(b["weight"], abs=1e-4)
