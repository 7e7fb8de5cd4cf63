"""The maximum-likelihood bootstrap (estimate/likelihood/bootstrap.py): replicates warm-started from the estimate,
classes matched to it by the Hungarian algorithm, intervals inside their quantities' ranges."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate import mle
from mixid.estimate.intervals import quantity_ranges
from mixid.estimate.likelihood import bootstrap as boot
from mixid.estimate.likelihood import model

from mixid import Design, fit, random_params, simulate


@pytest.fixture(scope="module")
def k3_fit():
    d = Design.latent_class(list("ABCDE"), classes=3)
    frame, _ = simulate(d, 3000, seed=1, params=random_params(d, seed=3))
    return d, frame, fit(d, frame, seed=0, interval="wald")


def test_matching_undoes_a_planted_label_switch(k3_fit):
    _, _, r = k3_fit
    f = r.estimate.extra["mle"]
    lik = f.likelihood
    x = lik.state_of(f.point)
    for perm in ([1, 2, 0], [2, 0, 1], [0, 2, 1]):
        switched = boot.permute_classes(lik, x, np.array(perm))
        assert not np.allclose(switched, x)
        np.testing.assert_allclose(boot.match_classes(lik, x, switched), x)


def test_replicates_are_matched_whatever_labels_the_climb_returns(k3_fit, monkeypatch):
    """A climb that hands back every replicate with its classes relabelled gives the same replicates (up to where
    the climb stops: the relabelled run sums in another order, and a flat ridge turns that into ~1e-3)."""
    _, _, r = k3_fit
    plain, _ = mle.bootstrap(r.estimate, 12, np.random.default_rng(4))
    climb = model.Likelihood.squarem

    def relabelled(self, X, data, **kw):
        X, ll, conv = climb(self, X, data, **kw)
        return np.array([boot.permute_classes(self, x, np.array([2, 0, 1])) for x in X]), ll, conv

    monkeypatch.setattr(model.Likelihood, "squarem", relabelled)
    switched, _ = mle.bootstrap(r.estimate, 12, np.random.default_rng(4))
    np.testing.assert_allclose(switched, plain, atol=5e-3)
    weights = plain[:, 3:]  # the classes are far apart: a replicate left unmatched would miss by far more
    assert np.isfinite(weights).all() and np.abs(weights[:, [2, 0, 1]] - weights).max() > 0.1


def test_replicates_start_at_the_estimate(k3_fit, monkeypatch):
    """Every replicate climbs from the estimate, and one whose draw is the data itself stays there."""
    _, _, r = k3_fit
    f = r.estimate.extra["mle"]
    climb, starts = model.Likelihood.squarem, []

    def recorded(self, X, data, **kw):
        starts.append(X.copy())
        return climb(self, X, data, **kw)

    monkeypatch.setattr(model.Likelihood, "squarem", recorded)
    mle.bootstrap(r.estimate, 5, np.random.default_rng(0))
    estimate = f.likelihood.state_of(f.point)
    assert starts[0].shape == (5, len(estimate))
    np.testing.assert_allclose(starts[0], np.tile(estimate, (5, 1)), atol=1e-5)

    class Same:  # a generator whose multinomial draws are the observed counts
        def multinomial(self, n, p, size):
            return np.repeat(np.asarray(f.patterns.counts, float)[None, :], size, axis=0)

    reps, _ = mle.bootstrap(r.estimate, 3, Same())
    np.testing.assert_allclose(reps[:, 3:], np.tile(r.estimate.vector()[3:], (3, 1)), atol=2e-3)


def test_bootstrap_count_and_intervals_in_range():
    d = Design.builtin("paper-level3")
    frame, _ = simulate(d, 800, seed=2)
    r = fit(d, frame, seed=0, interval="wald", bootstrap=40)
    assert r.interval_kind == "bootstrap" and r.bootstrap.shape == (40, len(r.estimate.vector()))
    cis = r._ci()
    for ci, (lo, hi) in zip(cis, quantity_ranges(d, d.classes)):
        assert ci is not None and lo <= ci[0] <= ci[1] <= hi
    assert "95% bootstrap interval" in r.summary()
    assert r.to_dict()["bootstrap"]["replicates"] == 40


def test_a_sparse_table_is_fitted_on_its_patterns_to_the_dense_maximum(monkeypatch):
    """11 binary items (2,048 cells) and 300 rows: EM and the empirical information on the observed patterns reach
    the maximum that Newton on every cell reaches."""
    from mixid.estimate.likelihood import optimise

    d = Design.latent_class([f"x{i}" for i in range(11)], classes=2)
    frame, _ = simulate(d, 300, seed=0)
    sparse = fit(d, frame, seed=0, starts=3, interval="wald")
    monkeypatch.setattr(optimise, "SPARSE_RATIO", 10 ** 9)
    dense = fit(d, frame, seed=0, starts=3, interval="wald")
    assert sparse.estimate.diagnostics["information"] == "empirical"
    assert dense.estimate.diagnostics["information"] == "expected"
    assert abs(sparse.estimate.fit["loglik"] - dense.estimate.fit["loglik"]) < 1e-6 * abs(dense.estimate.fit["loglik"])
