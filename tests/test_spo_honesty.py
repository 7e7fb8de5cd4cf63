"""SPO says from the data when its estimate is unreliable, and its bootstrap never reports a clamp as a draw."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate.data import sufficient_stats
from mixid.estimate.evaluate import Moments
from mixid.estimate.fit import _bootstrap
from mixid.estimate.result import Estimate
from mixid.estimate.spo import SIGNAL_TO_NOISE, spo

from mixid import Design, fit, population_moments, random_params, simulate
from tests.test_efficient import ISSUE, ISSUE_SEED


def test_issue_case_warns_from_the_data():
    params = random_params(ISSUE, seed=ISSUE_SEED)
    data, _ = simulate(ISSUE, 20_000, params=params, seed=104)
    est = spo(Moments.of(sufficient_stats(ISSUE, data)), ("Z",), ("X",), 3)
    signal = est.diagnostics["signal_to_noise"]
    assert signal["effects"] < SIGNAL_TO_NOISE
    assert any("class effects are not separated" in w for w in est.warnings)
    assert any("the proxies barely separate 3 classes" in w for w in est.warnings)


def test_no_signal_warning_where_the_data_carry_the_signal():
    d = Design.builtin("paper-level3")
    params = random_params(d, seed=3, min_effect_gap=0.3)
    est = spo(Moments(d, population_moments(d, params), n=10**9), ("Z",), ("X",), 2)
    assert min(est.diagnostics["signal_to_noise"].values()) > SIGNAL_TO_NOISE
    assert not any("separate" in w for w in est.warnings)
    # the ratios scale with sqrt(n): a thousand times fewer rows is about 32 times less signal
    few = spo(Moments(d, population_moments(d, params), n=10**6), ("Z",), ("X",), 2)
    ratio = est.diagnostics["signal_to_noise"]["M[Z,X|0]"] / few.diagnostics["signal_to_noise"]["M[Z,X|0]"]
    assert ratio == pytest.approx(np.sqrt(1000), rel=1e-6)


def test_a_clamped_effect_is_flagged_and_its_bootstrap_replicates_fail():
    params = random_params(ISSUE, seed=ISSUE_SEED)
    data, _ = simulate(ISSUE, 20_000, params=params, seed=104)
    r = fit(ISSUE, data, estimator="spo", bootstrap=20, seed=1)
    out = r.to_dict()
    limit = out["diagnostics"]["projected"]["search_limit"]
    assert out["diagnostics"]["projected"]["clamped"] and any("search limit" in w for w in out["warnings"])
    assert any("bootstrap replicates failed" in w for w in out["warnings"])
    assert np.all(np.abs(r.bootstrap[:, 3 + 3:]) < limit * (1 - 1e-6))  # no kept replicate sits at the limit


def test_bootstrap_counts_clamped_replicates_as_failures():
    params = random_params(ISSUE, seed=0)
    stats = sufficient_stats(ISSUE, simulate(ISSUE, 300, params=params, seed=0)[0], keep_rows=True)
    calls = iter(range(10))

    def run(_):  # every other replicate is a clamp
        i = next(calls)
        est = Estimate(ate=float(i), potential_outcome_means={0: 0.0, 1: float(i)})
        est.diagnostics["clamped"] = i % 2 == 1
        return est

    kept, failures, notes, _ = _bootstrap(stats, Moments.of(stats), run, 10, np.random.default_rng(0), 3, None)
    assert failures == 5 and kept[:, 0].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0] and notes == []


def test_the_projection_uses_the_exact_jacobian_and_recovers_valid_moments():
    """atom_residuals' Jacobian is the derivative of its residuals (central differences); projecting the moments of
    a valid 3-atom distribution returns it."""
    from mixid.estimate.spo import atom_residuals, project_atoms

    rng = np.random.default_rng(0)
    k = 3
    moments = np.concatenate([[1.0], rng.normal(scale=0.3, size=2 * k - 1)])
    _, resid, jac = atom_residuals(moments, k)
    for _ in range(3):
        x, h = rng.normal(size=2 * k - 1), 1e-6
        numeric = np.column_stack([(resid(x + h * e) - resid(x - h * e)) / (2 * h) for e in np.eye(2 * k - 1)])
        np.testing.assert_allclose(jac(x), numeric, atol=1e-8)
    tau, w = np.array([-0.6, 0.1, 0.7]), np.array([0.2, 0.5, 0.3])
    valid = np.array([w @ tau**j for j in range(2 * k)])
    weights, effects, residual = project_atoms(valid, k, 1.0, w, tau + 0.2)
    np.testing.assert_allclose(effects, tau, atol=1e-6)
    np.testing.assert_allclose(weights, w, atol=1e-6)
    assert residual < 1e-10
