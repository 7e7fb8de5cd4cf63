"""Normal variables ({type: continuous, distribution: normal}): the design field, maximum likelihood for designs
mixing categorical and normal variables (estimate/likelihood/gaussian.py, estimate/normal_mle.py), its causal
targets and its refusals."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate.likelihood.gaussian import MixedLikelihood
from mixid.identify.errors import DataError, DesignError, IdentificationError

from mixid import Design, fit, random_params, simulate, truth
from tests.conftest import make_design

NORMAL = {"type": "continuous", "distribution": "normal"}


def items(k: int, binary: int, normal: dict[str, dict]) -> Design:
    return Design.from_dict({"latent": {"name": "U", "classes": k}, "variables": {
        **{f"A{i}": {"type": "categorical", "categories": 2} for i in range(binary)}, **normal}})


def test_design_field():
    d = items(2, 3, {"Y": NORMAL, "W": {**NORMAL, "variance": "shared"}})
    y, w = d.variable("Y"), d.variable("W")
    assert (y.normal, y.dim, y.variance, w.variance) == (True, 3, "class", "shared")
    assert Design.from_dict(d.to_dict()) == d
    for bad, msg in [({**NORMAL, "distribution": "gamma"}, "must be 'normal'"),
                     ({"type": "continuous", "features": 2, "variance": "shared"}, "needs 'distribution: normal'"),
                     ({**NORMAL, "variance": "pooled"}, "must be 'class' or 'shared'")]:
        with pytest.raises(DesignError, match=msg):
            items(2, 3, {"Y": bad})


def test_planted_mixture_is_recovered_within_its_standard_errors():
    d = items(3, 6, {"Y1": NORMAL, "Y2": NORMAL})
    params = random_params(d, seed=7)
    data, _ = simulate(d, 20_000, params=params, seed=1)
    r = fit(d, data, seed=0, starts=5, interval="wald")  # estimates and standard errors: no profile search
    out = r.to_dict()
    assert r.estimator == "mle" and out["fit"]["replicated"]
    w_true = np.array([params["pi_0"], params["pi_1"], 1 - params["pi_0"] - params["pi_1"]])
    est = np.array(out["mixture"]["weights"])
    order = [int(np.argmin(np.abs(est - w))) for w in w_true]  # classes are labelled by the fit
    assert sorted(order) == [0, 1, 2]
    se = np.array(out["mixture"]["weights_se"])
    assert np.all(np.abs(est[order] - w_true) < 4 * se[order])
    for u_true, u in enumerate(order):  # Y1's class means, and their variances, in the data's units
        mean = params[f"mu_Y11_U{u_true}"]  # feature 1 of Y1 (its mean), feature 2 (its second moment)
        var = params[f"mu_Y12_U{u_true}"] - mean**2
        assert out["mixture"]["normal"]["Y1"]["means"][u][0] == pytest.approx(mean, abs=0.08)
        assert out["mixture"]["normal"]["Y1"]["variances"][u] == pytest.approx(var, rel=0.1)


def test_shared_variance_is_one_for_all_classes_and_the_likelihood_is_scale_equivariant():
    d = items(2, 4, {"Y": {**NORMAL, "variance": "shared"}})
    data, _ = simulate(d, 3000, params=random_params(d, seed=2), seed=0)
    a = fit(d, data, seed=0, interval="wald").to_dict()
    variances = a["mixture"]["normal"]["Y"]["variances"]
    assert variances[0] == variances[1]
    # new units: same fit, log-lik - n log 1e6
    b = fit(d, data.assign(Y=data.Y * 1e6 + 3e7), seed=0, interval="wald").to_dict()
    assert b["fit"]["loglik"] == pytest.approx(a["fit"]["loglik"] - 3000 * np.log(1e6), abs=1e-5)
    assert b["mixture"]["normal"]["Y"]["variances"][0] == pytest.approx(variances[0] * 1e12, rel=1e-6)


def test_normal_outcome_gives_the_causal_targets_with_errors():
    d = make_design(2, {"Z": 2, "X": 3, "T": 2, "Y": NORMAL}, ["Z -> T", "T -> Y"])
    params = random_params(d, seed=2, min_effect_gap=0.5)
    t = truth(d, params)
    data, _ = simulate(d, 20_000, params=params, seed=1)
    r = fit(d, data, seed=0, interval="wald")  # the standard errors (profile intervals: tested below)
    out = r.to_dict()
    assert r.estimator == "mle"
    assert abs(out["ate"]["estimate"] - t.ate) < 4 * out["ate"]["se"]
    assert all(a["effect_se"] > 0 and a["weight_se"] > 0 for a in out["mte"])
    effects = sorted(t.effects)
    assert all(abs(a["effect"] - e) < 4 * a["effect_se"] for a, e in zip(out["mte"], effects))


def test_same_log_likelihood_as_stepmix_at_equal_starts():
    stepmix = pytest.importorskip("stepmix")
    from stepmix.utils import get_mixed_descriptor

    d = items(3, 6, {"Y1": NORMAL, "Y2": NORMAL})
    data, _ = simulate(d, 2000, params=random_params(d, seed=7), seed=3)
    ours = fit(d, data, estimator="mle", starts=5, max_starts=5, seed=0, interval="wald").to_dict()["fit"]["loglik"]
    mixed, descriptor = get_mixed_descriptor(data, binary=[f"A{i}" for i in range(6)], gaussian_diag=["Y1", "Y2"])
    model = stepmix.StepMix(n_components=3, measurement=descriptor, n_init=5, random_state=0, verbose=0,
                            progress_bar=0).fit(mixed)
    assert ours == pytest.approx(float(model.score(mixed)) * 2000, abs=1e-3)


def test_bad_normal_data_name_the_variable():
    d = items(2, 4, {"Y": NORMAL})
    data, _ = simulate(d, 1000, seed=0)
    with pytest.raises(DataError, match="'Y' is constant"):
        fit(d, data.assign(Y=2.5), seed=0)
    with pytest.raises(DataError, match="'Y' has values of magnitude up to"):
        MixedLikelihood(d).rows({**{c: data[c].to_numpy() for c in data.columns}, "Y": data.Y.to_numpy() * 1e300})
    collapsed = data.assign(Y=np.where(data.A0 == 1, 2.0, data.Y))  # one class's values are all equal
    r = fit(d, collapsed, seed=0, interval="wald").to_dict()
    assert any("no variance within a class: Y in class" in w for w in r["warnings"])
    constant = fit(d, data.assign(A0=1), seed=0, max_starts=10).to_dict()  # a categorical column with one value
    assert any("of 'A0' never occur" in w for w in constant["warnings"])
    assert all(0 <= lo <= hi <= 1 for lo, hi in filter(None, constant["mixture"].get("weights_ci", [])))
    with pytest.raises(DataError, match="'Y' has values of magnitude up to"):
        fit(d, data.assign(Y=data.Y * 1e-200), seed=0)
    scaled = fit(d, data.assign(Y=data.Y * 1e140), seed=0).to_dict()  # near the float limits, still fitted
    plain = fit(d, data, seed=0).to_dict()
    np.testing.assert_allclose(scaled["mixture"]["weights"], plain["mixture"]["weights"], atol=1e-6)
    np.testing.assert_allclose(scaled["mixture"]["weights_ci"], plain["mixture"]["weights_ci"], atol=1e-4)
    floored = fit(d, collapsed, seed=0, bootstrap=5)  # a collapsed class: no information, the bootstrap still runs
    assert floored.estimate.intervals is None and floored.interval_kind == "bootstrap"


def test_mle_needs_a_law_for_every_variable():
    d = items(2, 4, {"Y": {"type": "continuous", "features": 3}})
    with pytest.raises(IdentificationError, match="'Y' is continuous with moments only"):
        fit(d, simulate(d, 500, seed=0)[0], estimator="mle")


def _weights_ci(d, data, **kw) -> tuple[dict, list]:
    out = fit(d, data, seed=0, **kw).to_dict()
    return out, out["mixture"]["weights_ci"]


def test_profile_and_wald_intervals_agree_on_a_well_identified_design_and_stay_in_range():
    d = items(2, 5, {"Y1": NORMAL, "Y2": NORMAL})
    data, _ = simulate(d, 5000, params=random_params(d, seed=3), seed=0)
    prof, p_ci = _weights_ci(d, data)
    wald, w_ci = _weights_ci(d, data, interval="wald")
    assert (prof["interval"]["kind"], wald["interval"]["kind"]) == ("profile", "wald")
    assert prof["modes"][0]["delta"] == 0.0 and prof["fit"]["replicated"]
    for est, a, b, se in zip(prof["mixture"]["weights"], p_ci, w_ci, prof["mixture"]["weights_se"]):
        assert 0 <= a[0] < est < a[1] <= 1 and 0 <= b[0] < est < b[1] <= 1
        assert abs(a[0] - b[0]) < 0.15 * se and abs(a[1] - b[1]) < 0.15 * se  # both ~ 2 x 1.96 se wide
        assert a[1] - a[0] == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_causal_profile_intervals_hold_the_truth_and_the_modes_are_reported():
    d = make_design(2, {"Z": 3, "X": 3, "T": 2, "Y": NORMAL}, ["Z -> T", "T -> Y"])
    params = random_params(d, seed=5, min_effect_gap=1.0)
    t = truth(d, params)
    data, _ = simulate(d, 20_000, params=params, seed=2)
    out = fit(d, data, seed=0, ci_level=0.99).to_dict()  # 99 %: a planted truth outside is a 1-in-100 event
    assert out["interval"]["kind"] == "profile" and [m["delta"] for m in out["modes"]][0] == 0.0
    assert out["ate"]["ci"][0] < t.ate < out["ate"]["ci"][1]
    order = np.argsort(t.effects)
    for a, w, e in zip(out["mte"], np.asarray(t.weights)[order], np.asarray(t.effects)[order]):
        assert 0 <= a["weight_ci"][0] < w < a["weight_ci"][1] <= 1
        assert a["effect_ci"][0] < e < a["effect_ci"][1]
        assert a["effect_ci"][0] < a["effect"] < a["effect_ci"][1]


def test_planted_quantities_are_recovered_with_error_shrinking_in_n():
    d = items(3, 6, {"Y1": NORMAL, "Y2": NORMAL})
    params = random_params(d, seed=7)
    w_true = np.sort([params["pi_0"], params["pi_1"], 1 - params["pi_0"] - params["pi_1"]])
    errors = {}
    for n in (1000, 20_000):
        runs = []
        for seed in range(2):
            data, _ = simulate(d, n, params=params, seed=seed)
            out = fit(d, data, seed=0, starts=5, interval="wald").to_dict()
            runs.append(np.abs(np.sort(out["mixture"]["weights"]) - w_true).max())
        errors[n] = np.mean(runs)
    assert errors[20_000] < 0.03 and errors[20_000] < errors[1000] / 2.5  # ~ 1 / sqrt(20)


def test_bootstrap_resamples_rows_matches_classes_and_agrees_with_the_standard_errors():
    d = items(2, 5, {"Y1": NORMAL, "Y2": NORMAL})
    data, _ = simulate(d, 3000, params=random_params(d, seed=3), seed=0)
    r = fit(d, data, seed=0, bootstrap=40)
    out = r.to_dict()
    assert out["interval"]["kind"] == "bootstrap" and out["bootstrap"]["replicates"] == 40
    spread = np.std(r.bootstrap[:, 3:], axis=0)
    se = np.array(out["mixture"]["weights_se"])
    assert np.all((0.6 * se < spread) & (spread < 1.6 * se))  # matched classes: no label switching inflates it
    for est, (lo, hi) in zip(out["mixture"]["weights"], out["mixture"]["weights_ci"]):
        assert 0 <= lo < est < hi <= 1


def test_an_unreplicated_maximum_is_reported():
    d = items(3, 6, {"Y1": NORMAL, "Y2": NORMAL})
    data, _ = simulate(d, 2000, params=random_params(d, seed=7), seed=0)
    out = fit(d, data, seed=0, starts=1, max_starts=1, interval="wald").to_dict()
    assert out["fit"]["starts"] == 1 and not out["fit"]["replicated"]
    assert any("reached by 1 of 1 starts (not replicated)" in w for w in out["warnings"])


def test_the_quantities_gradients_are_exact_away_from_the_estimate():
    from mixid.estimate.normal_mle import _vector_map

    d = make_design(2, {"Z": 2, "X": 3, "T": 2, "Y": NORMAL}, ["Z -> T", "T -> Y"])
    data, _ = simulate(d, 500, params=random_params(d, seed=2), seed=0)
    lik = MixedLikelihood(d)
    rows = lik.rows({c: data[c].to_numpy() for c in data.columns})
    rng = np.random.default_rng(0)
    at, x = (lik.free(lik.random_start(rows, rng)) for _ in range(2))
    values = _vector_map(lik, rows, np.array([1, 0]), at)  # built at one point, used at another
    _, grads = values(x)
    h = 1e-6
    numeric = np.array([(values(x + h * e, gradients=False) - values(x - h * e, gradients=False)) / (2 * h)
                        for e in np.eye(len(x))]).T
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-6)
