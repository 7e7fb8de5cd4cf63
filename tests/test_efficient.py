"""The default estimator with continuous variables (estimate/efficient.py): efficient minimum distance started
from the constructive estimate, with standard errors, and a warning where the constructive estimate disagrees."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate.efficient import compile_efficient, constructive_points, disagreements
from mixid.estimate.evaluate import Moments
from mixid.estimate.fit import compile_estimator
from mixid.estimate.result import Estimate

from mixid import Model, fit, place, population_moments, random_params, simulate, truth
from tests.conftest import make_design

# the design of the report that asked for this default: k = 3, Z (4 categories) -> T, X (4), continuous Y
ISSUE = make_design(3, {"Z": 4, "X": 4, "T": 2, "Y": {"type": "continuous", "features": 2}}, ["Z -> T", "T -> Y"])
ISSUE_SEED = 4  # random_params(ISSUE, seed=4): weights 0.088 / 0.718 / 0.195, effects 0.564 / 0.632 / 0.836


def test_auto_is_efficient_minimum_distance_started_from_spo():
    name, _ = compile_estimator(place(ISSUE), "auto")
    assert name == "md"
    assert compile_estimator(place(ISSUE), "spo")[0] == "spo"  # the constructive estimator stays selectable


def test_exact_moments_recover_the_planted_mixture():
    for seed in (0, ISSUE_SEED):
        params = random_params(ISSUE, seed=seed)
        t = truth(ISSUE, params)
        est = compile_efficient(place(ISSUE), starts=1, seed=0)(Moments(ISSUE, population_moments(ISSUE, params),
                                                                        n=1e6), standard_errors=False)
        order = np.argsort(t.effects)
        assert est.ate == pytest.approx(t.ate, abs=1e-6)
        np.testing.assert_allclose(est.weights, t.weights[order], atol=1e-5)
        np.testing.assert_allclose(est.effects, t.effects[order], atol=1e-4)
        assert est.diagnostics["constructive"]["estimator"] == "spo"


def test_issue_case_reports_errors_and_warns_where_spo_disagrees():
    params = random_params(ISSUE, seed=ISSUE_SEED)
    t = truth(ISSUE, params)
    data, _ = simulate(ISSUE, 20_000, params=params, seed=104)
    r = fit(ISSUE, data, seed=1, starts=3)
    out = r.to_dict()
    assert r.estimator == "md"
    assert out["ate"]["se"] > 0 and out["ate"]["ci"][0] <= out["ate"]["estimate"] <= out["ate"]["ci"][1]
    for atom in out["mte"]:
        assert atom["weight_se"] > 0 and atom["effect_se"] > 0
        assert 0 <= atom["weight_ci"][0] <= atom["weight_ci"][1] <= 1
    # the efficient estimate is near the truth; SPO misplaces the small class and the warning says so
    assert abs(out["ate"]["estimate"] - t.ate) < 4 * out["ate"]["se"]
    assert max(abs(a["weight"] - w) for a, w in zip(out["mte"], t.weights[np.argsort(t.effects)])) < 0.15
    assert any(w.startswith("spo and efficient minimum distance disagree") for w in out["warnings"])
    assert out["diagnostics"]["constructive"]["estimator"] == "spo"


def test_disagreement_is_measured_in_standard_errors():
    eff = Estimate(ate=1.0, potential_outcome_means={0: 0.0, 1: 1.0}, weights=np.array([0.5, 0.5]),
                   effects=np.array([0.0, 2.0]), se={"ate": 0.1, "weights": [0.05, 0.05], "effects": [0.1, None]})
    near = Estimate(ate=1.2, potential_outcome_means={0: 0.0, 1: 1.2}, weights=np.array([0.45, 0.55]),
                    effects=np.array([0.1, 9.0]))
    assert disagreements("spo", near, eff) == []  # within 3 se, or no standard error to compare with
    far = Estimate(ate=1.5, potential_outcome_means={0: 0.0, 1: 1.5}, weights=np.array([0.2, 0.8]),
                   effects=np.array([0.0, 2.0]))
    warned = disagreements("spo", far, eff)
    assert len(warned) == 3 and "the ATE" in warned[0] and "5.0 standard errors" in warned[0]


def test_constructive_start_carries_the_weights_and_effects():
    est = Estimate(ate=0.5, potential_outcome_means={0: 1.0, 1: 1.5}, weights=np.array([0.2, 0.3, 0.5]),
                   effects=np.array([-1.0, 0.0, 2.0]))
    model = Model(ISSUE)
    (x,) = constructive_points(model, est, None, np.random.default_rng(0), 1)
    named = dict(zip([p.name for p in model.params], x))
    assert named["pi_0"] == pytest.approx(0.2) and named["pi_1"] == pytest.approx(0.3)
    assert [named[f"mu_Y1_T1_U{u}"] - named[f"mu_Y1_T0_U{u}"] for u in range(3)] == pytest.approx([-1, 0, 2])
