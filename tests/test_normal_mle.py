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
    r = fit(d, data, seed=0, starts=5)
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
    a = fit(d, data, seed=0).to_dict()
    variances = a["mixture"]["normal"]["Y"]["variances"]
    assert variances[0] == variances[1]
    b = fit(d, data.assign(Y=data.Y * 1e6 + 3e7), seed=0).to_dict()  # new units: same fit, log-lik - n log 1e6
    assert b["fit"]["loglik"] == pytest.approx(a["fit"]["loglik"] - 3000 * np.log(1e6), abs=1e-5)
    assert b["mixture"]["normal"]["Y"]["variances"][0] == pytest.approx(variances[0] * 1e12, rel=1e-6)


def test_normal_outcome_gives_the_causal_targets_with_errors():
    d = make_design(2, {"Z": 2, "X": 3, "T": 2, "Y": NORMAL}, ["Z -> T", "T -> Y"])
    params = random_params(d, seed=2, min_effect_gap=0.5)
    t = truth(d, params)
    data, _ = simulate(d, 20_000, params=params, seed=1)
    r = fit(d, data, seed=0)
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
    ours = fit(d, data, estimator="mle", starts=5, max_starts=5, seed=0).to_dict()["fit"]["loglik"]
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
    r = fit(d, collapsed, seed=0).to_dict()
    assert any("no variance within a class: Y in class" in w for w in r["warnings"])
    with pytest.raises(DataError, match="bootstrap is not available"):
        fit(d, data, bootstrap=10)


def test_mle_needs_a_law_for_every_variable():
    d = items(2, 4, {"Y": {"type": "continuous", "features": 3}})
    with pytest.raises(IdentificationError, match="'Y' is continuous with moments only"):
        fit(d, simulate(d, 500, seed=0)[0], estimator="mle")
