"""Covariates of class membership (latent class regression): designs, data, the likelihood, the fit, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mixid.estimate.covariates import read_rows, simulate_regression
from mixid.estimate.likelihood.covariates import RegressionLikelihood
from mixid.estimate.likelihood.model import likelihood
from mixid.estimate.select import select
from mixid.estimate.simulate import simulate
from mixid.estimate.simulate import truth as sim_truth
from mixid.identify.errors import DataError, DesignError

from mixid import Design, fit
from mixid.cli import main

ITEMS = [f"Q{i}" for i in range(5)]
# P(answer 1 | class): well separated, class 0 the larger one
HIGH = np.array([[0.85, 0.8, 0.9, 0.75, 0.8], [0.15, 0.2, 0.1, 0.3, 0.2]])


def _params(design: Design, high: np.ndarray) -> dict[str, float]:
    """Parameters of a binary latent class design: P(item = 0 | class) from P(item = 1 | class)."""
    k = design.classes
    out = {f"pi_{u}": 1.0 / k for u in range(k - 1)}
    for i, name in enumerate(design.names):
        for u in range(k):
            out[f"p_{name}0_U{u}"] = 1 - float(high[u, i])
    return out


def _data(n: int, coefficients, seed: int = 0, covariates=("age", "group")):
    design = Design.latent_class(ITEMS, covariates=list(covariates))
    rng = np.random.default_rng(seed)
    W = pd.DataFrame({"age": rng.normal(40, 10, n), "group": rng.integers(0, 2, n).astype(float)})
    frame, truth = simulate_regression(design, W[list(covariates)], coefficients,
                                       params=_params(design.without_covariates(), HIGH), seed=rng)
    return design, frame, truth


# ------------------------------------------------------------------------------------------------ designs
def test_design_declares_covariates_in_every_form():
    spec = {"items": ITEMS, "covariates": ["age", "group"]}
    d = Design.from_dict(spec)
    assert d.covariates == ("age", "group")
    assert Design.from_dict(d.to_dict()) == d  # round trip
    assert d.to_dict()["covariates"] == ["age", "group"]
    assert "covariates" not in d.without_covariates().to_dict()
    assert Design.latent_class(ITEMS, covariates=["age", "group"]) .covariates == d.covariates
    # a design with variables too
    v = Design.from_dict({"variables": {n: {"type": "categorical", "categories": 2} for n in "ABC"},
                          "covariates": ["age"]})
    assert v.covariates == ("age",) and v.rename({"A": "A2"}).covariates == ("age",)


@pytest.mark.parametrize("spec, message", [
    ({"items": ITEMS, "covariates": ["Q1"]}, "both a variable"),
    ({"items": ITEMS, "covariates": "age"}, "must be a list"),
    ({"items": ITEMS, "covariates": ["age", "age"]}, "twice"),
    ({"items": ITEMS, "covariates": ["U"]}, "latent class's name"),
    ({"items": ITEMS, "covariates": ["2x"]}, "not a valid name"),
    ({"items": ITEMS, "covariates": ["age"], "edges": ["age -> Q1"]}, "cause of U only"),
    ({"items": ITEMS, "covariates": ["age"], "edges": ["Q1 -> age"]}, "cause of U only"),
    ({"items": ITEMS, "covariates": ["age"], "edges": ["age -> U"]}, "a cause of U already"),
    ({"items": ITEMS, "edges": ["age -> U"]}, "declared as a covariate"),
    ({"variables": {"A": {"categories": 2}, "B": {"categories": 2}}, "latent": {"observed": True},
      "covariates": ["age"]}, "need a latent class"),
])
def test_design_refuses_bad_covariates(spec, message):
    with pytest.raises(DesignError, match=message):
        Design.from_dict(spec)


# --------------------------------------------------------------------------------------------------- data
def test_bad_covariate_values_name_the_column_and_row():
    design, frame, _ = _data(300, [[-1.0, 0.02, 0.5]])
    bad = frame.copy()
    bad.loc[4, "age"] = np.nan
    with pytest.raises(DataError, match=r"'age' has a missing value at data row 5 \(counting from 1"):
        read_rows(design, bad)
    bad.loc[4, "age"] = np.inf
    with pytest.raises(DataError, match="'age' has a non-finite value"):
        read_rows(design, bad)
    text = frame.astype({"group": object})
    text.loc[2, "group"] = "north"
    with pytest.raises(DataError, match=r"'group' is not numeric: 'north' at data row 3"):
        read_rows(design, text)
    with pytest.raises(DataError, match="holds booleans"):
        read_rows(design, frame.assign(group=frame["group"] > 0))
    with pytest.raises(DataError, match="missing covariate column 'group'"):
        read_rows(design, frame.drop(columns="group"))
    with pytest.raises(DataError, match="'group' is constant"):
        read_rows(design, frame.assign(group=1.0))


def test_rows_are_read_with_missing_answers_and_the_covariates_are_not_an_ignored_column(tmp_path):
    design, frame, _ = _data(300, [[-1.0, 0.02, 0.5]])
    holes = frame.copy()
    holes.loc[[1, 2], "Q3"] = np.nan
    path = tmp_path / "d.csv"
    holes.assign(extra=1).to_csv(path, index=False)
    codes, W, notes, report = read_rows(design, path)
    assert codes.shape == (300, 5) and W.shape == (300, 2)
    assert np.allclose(W, frame[["age", "group"]].to_numpy())
    assert report["missing_answers"] == {"Q3": 2} and report["complete_rows"] == 298
    assert any("extra" in n for n in notes) and not any("age" in n for n in notes)
    codes, _, _, report = read_rows(design, holes, missing="drop")
    assert len(codes) == 298 and report["handling"] == "drop"


# --------------------------------------------------------------------------------------------- likelihood
def _regression(design, frame):
    codes, W, _, _ = read_rows(design, frame)
    reg = RegressionLikelihood(likelihood(design.without_covariates()), design.covariates, W.mean(0), W.std(0))
    return reg, reg.rows(codes, W)


def test_em_never_lowers_the_likelihood():
    design, frame, _ = _data(1500, [[-1.0, 0.03, 0.8]], seed=3)
    reg, rows = _regression(design, frame)
    X = reg.random_states(np.random.default_rng(0), 4)
    trace = []
    for _ in range(60):
        X, ll = reg.em_step(X, rows)
        trace.append(ll)
    trace = np.array(trace)
    assert np.all(np.diff(trace, axis=0) >= -1e-9 * np.abs(trace[1:]))
    assert np.all(trace[-1] > trace[0] + 1)  # and it climbs
    _, ll_fast, _ = reg.squarem(X, rows)
    assert np.all(ll_fast >= trace[-1] - 1e-9 * np.abs(trace[-1]))


def test_score_is_the_gradient_of_the_loglikelihood():
    design, frame, _ = _data(800, [[-1.0, 0.03, 0.8]], seed=4)
    reg, rows = _regression(design, frame)
    x = reg.random_states(np.random.default_rng(1), 1)[0]
    g, point = reg.coordinates(x)
    score = reg.score(x, rows)
    h = 1e-6
    for j in [0, 1, 2, reg.n_coefficients, reg.n_coefficients + 3]:  # coefficients and table parameters
        up, down = g.copy(), g.copy()
        pu, pd_ = point.copy(), point.copy()
        if j < reg.n_coefficients:
            up[j] += h
            down[j] -= h
        else:
            pu[reg.table_params[j - reg.n_coefficients]] += h
            pd_[reg.table_params[j - reg.n_coefficients]] -= h
        numeric = (reg.loglik(reg.state_at(up, pu)[None], rows)[0]
                   - reg.loglik(reg.state_at(down, pd_)[None], rows)[0]) / (2 * h)
        assert numeric == pytest.approx(score[j], rel=1e-5, abs=1e-4)


# ---------------------------------------------------------------------------------------------------- fit
PLANTED = [[-2.5, 0.03, 0.8]]


@pytest.fixture(scope="module")
def planted():
    """20,000 rows of a latent class regression with known coefficients, and their fit."""
    design, frame, _ = _data(20_000, PLANTED, seed=5)
    return design, frame, fit(design, frame, seed=0, starts=5)


def test_plant_and_recover_coefficients_within_a_few_standard_errors(planted):
    truth = PLANTED
    design, frame, r = planted
    d = r.to_dict()
    assert d["fit"]["replicated"]
    rows = d["covariates"]["coefficients"]
    assert [(c["class"], c["term"]) for c in rows] == [(1, "intercept"), (1, "age"), (1, "group")]
    for row, true in zip(rows, truth[0]):
        assert row["se"] is not None and row["se"] > 0
        assert abs(row["estimate"] - true) < 4 * row["se"], (row, true)
        assert row["odds_ratio"] == pytest.approx(np.exp(row["estimate"]))
        lo, hi = row["odds_ratio_ci"]
        assert 0 < lo < row["odds_ratio"] < hi
    tables = np.array(d["mixture"]["tables"]["Q0"])  # [class][category]
    assert tables[:, 1] == pytest.approx(HIGH[:, 0], abs=0.02)
    lr = d["covariates"]["likelihood_ratio"]
    assert lr["df"] == 2 and lr["p_value"] < 1e-6
    assert "measurement part given W" in d["covariates"]["identification"]
    assert d["fit"]["g2"] is None and d["interval"]["kind"] == "wald"
    json.dumps(d, allow_nan=False)
    text = r.summary()
    assert "odds ratio" in text and "likelihood-ratio test of no covariate effect" in text


def test_observed_information_agrees_with_the_outer_product_of_scores(planted):
    """At a maximum both estimate the Fisher information: at n = 20,000 their standard errors agree closely (a
    wrong derivative or a wrong scale would part them)."""
    design, frame, r = planted
    reg, rows = _regression(design, frame)
    fitted = r.estimate.extra["mle"].regression
    x = fitted.state
    assert np.abs(reg.score(x, rows)).max() < 1e-3  # a maximum: the score vanishes
    D, _ = reg.face(x, rows)
    observed = reg.observed_information(x, rows, D)
    scores = reg.row_scores(x, rows) @ D
    outer = (scores.T * rows.counts) @ scores
    se_obs, se_outer = (np.sqrt(np.diag(np.linalg.inv(m))) for m in (observed, outer))
    assert se_obs == pytest.approx(se_outer, rel=0.1)


def test_a_covariate_without_effect_gives_the_plain_fit():
    """Every answer pattern appears once at W = -1 and once at W = +1: the slope's maximum is exactly 0, and the
    log-likelihood is the plain latent class model's on the same rows."""
    design, frame, _ = _data(1000, [[-1.0, 0.0]], covariates=["age"])
    doubled = pd.concat([frame.assign(age=-1.0), frame.assign(age=1.0)], ignore_index=True)
    with_w = fit(design, doubled, seed=0).to_dict()
    plain = fit(design.without_covariates(), doubled[ITEMS], seed=0, interval="wald").to_dict()
    assert with_w["fit"]["loglik"] == pytest.approx(plain["fit"]["loglik"], abs=1e-6)
    slope = with_w["covariates"]["coefficients"][1]
    assert abs(slope["estimate"]) < 1e-4 and slope["p_value"] > 0.99
    assert with_w["covariates"]["likelihood_ratio"]["statistic"] < 1e-6
    assert with_w["fit"]["n_parameters"] == plain["fit"]["n_parameters"] + 1
    assert with_w["mixture"]["weights"] == pytest.approx(plain["mixture"]["weights"], abs=1e-4)
    # the slope is orthogonal to the rest here: the regression's observed information gives the plain model's
    # standard errors, up to the gap between observed and expected information (a wrong derivative would not)
    assert with_w["mixture"]["weights_se"] == pytest.approx(plain["mixture"]["weights_se"], rel=0.03)
    for name in ITEMS:
        assert np.array(with_w["mixture"]["tables_se"][name]) == pytest.approx(
            np.array(plain["mixture"]["tables_se"][name]), rel=0.1)


def test_missing_answers_and_posteriors():
    design, frame, _ = _data(2000, [[-1.0, 0.03, 0.8]], seed=6)
    holes = frame.copy()
    rng = np.random.default_rng(0)
    for name in ITEMS:
        holes.loc[rng.random(len(holes)) < 0.1, name] = np.nan
    r = fit(design, holes, seed=0)
    d = r.to_dict()
    assert d["missing"]["complete_rows"] < 2000 and set(d["missing"]["missing_answers"]) == set(ITEMS)
    assert all(c["se"] is not None for c in d["covariates"]["coefficients"])
    post = r.posterior(holes)
    assert post.shape == (2000, 2) and np.allclose(post.sum(axis=1), 1)
    # a row's posterior moves with its covariates: the same answers at another age
    older = r.posterior(holes.assign(age=holes["age"] + 30))
    assert not np.allclose(post, older)
    # class probabilities of a few new rows (one age for all): nothing a fit needs is asked of them
    few = r.posterior(holes.head(3).assign(age=50.0))
    assert few.shape == (3, 2) and np.allclose(few.sum(axis=1), 1)
    # a placement of the design, or of the design without covariates, may be given
    from mixid import place

    for p in (place(design), place(design.without_covariates())):
        assert fit(design, holes, seed=0, placement=p).level == r.level


def test_causal_design_with_covariates_averages_over_the_sample():
    base = Design.builtin("paper-level3")
    design = Design.from_dict({**base.to_dict(), "covariates": ["age"]})
    rng = np.random.default_rng(7)
    W = pd.DataFrame({"age": rng.normal(0, 1, 3000)})
    frame, truth = simulate_regression(design, W, [[0.3, 1.0]], seed=rng)
    assert set(truth["classes"]) == {0, 1}
    r = fit(design, frame, seed=0)
    d = r.to_dict()
    assert d["ate"]["se"] is not None and -1 <= d["ate"]["ci"][0] <= d["ate"]["ci"][1] <= 1
    # the true ATE averaged over this sample's W: the class effects weighted by the mean of P(U = 1 | W)
    share1 = float(np.mean(1 / (1 + np.exp(-(0.3 + 1.0 * W["age"].to_numpy())))))
    true_ate = sim_truth(base, {**truth["params"], "pi_0": 1 - share1}).ate
    assert abs(d["ate"]["estimate"] - true_ate) < 4 * d["ate"]["se"]
    assert sum(a["weight"] for a in d["mte"]) == pytest.approx(1)
    # the ATE is the class effects averaged with the mean shares of P(U | W)
    assert d["ate"]["estimate"] == pytest.approx(sum(a["weight"] * a["effect"] for a in d["mte"]))
    assert d["covariates"]["coefficients"][1]["se"] is not None


def test_fit_refuses_what_covariates_do_not_support():
    design, frame, _ = _data(300, [[-1.0, 0.02, 0.5]])
    with pytest.raises(DataError, match="bootstrap is not available with covariates"):
        fit(design, frame, bootstrap=10)
    with pytest.raises(DataError, match="maximum likelihood only"):
        fit(design, frame, estimator="spo")
    with pytest.raises(DesignError, match="has covariates"):
        select(design, frame, classes=[1, 2], blrt=0)


def test_simulate_refuses_a_design_with_covariates():
    with pytest.raises(DesignError, match="simulate_regression"):
        simulate(Design.latent_class(ITEMS, covariates=["age"]), 100, seed=0)


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_estimate_with_covariates(tmp_path, capsys):
    design, frame, _ = _data(1000, [[-1.0, 0.03, 0.8]], seed=8)
    path = tmp_path / "d.yaml"
    path.write_text("items: [Q0, Q1, Q2, Q3, Q4]\ncovariates: [age, group]\n")
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    assert main(["estimate", str(path), str(data), "--json", "--posterior", str(tmp_path / "post.csv")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [c["term"] for c in out["covariates"]["coefficients"]] == ["intercept", "age", "group"]
    assert len(pd.read_csv(tmp_path / "post.csv")) == 1000
    bad = tmp_path / "bad.csv"
    frame.assign(age=frame["age"].astype(object).where(frame.index != 9, "old")).to_csv(bad, index=False)
    assert main(["estimate", str(path), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'age' is not numeric: 'old' at data row 10" in err
    assert main(["identify", str(path)]) == 0
    assert "measurement part given them" in capsys.readouterr().out
    path.write_text("items: [Q0, Q1, Q2, Q3, Q4]\ncovariates: [Q2]\n")
    assert main(["estimate", str(path), str(data)]) == 2
    assert "both a variable" in capsys.readouterr().err


def test_sampling_weights_with_covariates_are_refused_in_one_line():
    design, frame, _ = _data(300, [[-1.0, 0.02, 0.5]])
    with pytest.raises(DataError, match="sampling weights are not available with covariates"):
        fit(design, frame.assign(w=1.0), weights="w", seed=0)
