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
    _, run = compile_estimator(place(CONTINUOUS), "md", seed=0, starts=4)
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
        runs = [fit(CONTINUOUS, simulate(CONTINUOUS, n, params=params, seed=s)[0], estimator="md", seed=0, starts=2)
                for s in range(3)]
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
    r = fit(d, simulate(d, 20_000, seed=0)[0], seed=0, starts=2)
    assert r.estimator == "md" and r.to_dict()["ate"]["se"] > 0


def test_boundary_probabilities_are_named_held_and_get_no_standard_error():
    """Z = 0 never occurs in class 0, so P(T | Z = 0, U = 0) is not pinned and goes to a bound: md names the
    boundary probabilities (the implied last category too), gives them null, and no standard error is 0; every
    implied last category stays a probability."""
    from mixid.estimate.md import _last_entries
    from mixid.identify import Model

    params = dict(random_params(CONTINUOUS, seed=1, min_effect_gap=0.3), p_Z0_U0=0.0)
    data, _ = simulate(CONTINUOUS, 4000, params=params, seed=0)
    r = fit(CONTINUOUS, data, estimator="md", seed=0, starts=3)
    d = r.to_dict()
    held = next(w for w in d["warnings"] if "lie on the boundary" in w)
    assert "p_T0_Z0_U0" in held and "p_T1_Z0_U0" in held
    assert d["mixture"]["parameters_se"]["p_T0_Z0_U0"] is None
    ses = [v for v in d["mixture"]["parameters_se"].values() if v is not None]
    ses += [d["ate"]["se"]] + [a[k] for a in d["mte"] for k in ("weight_se", "effect_se")]
    assert all(s is None or s > 0 for s in ses)
    assert (_last_entries(Model(CONTINUOUS), np.asarray(r.estimate.extra["params"])) >= 0).all()
