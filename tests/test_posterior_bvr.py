"""Class membership out (``Result.posterior``, ``mixid estimate --posterior``) and bivariate residuals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mixid.estimate.likelihood import likelihood
from mixid.estimate.local_fit import BVR_FLAG, bivariate_residuals, pair_probabilities

from mixid import Design, datasets, fit, simulate
from mixid.cli import main

SEVEN = list("ABCDEFG")


@pytest.fixture(scope="module")
def carcinoma_fit():
    # posteriors and residuals only: Wald intervals (no profile search)
    return fit(Design.latent_class(SEVEN, classes=3), datasets.load("carcinoma"), seed=1, interval="wald")


def _bayes(result, frame):
    """P(U = u | row) from the reported tables by Bayes' rule, row by row (no shared code with the library)."""
    m = result.to_dict()["mixture"]
    out = []
    for _, row in frame.iterrows():
        joint = np.array([m["weights"][u] * np.prod([m["tables"][c][u][int(row[c])] for c in SEVEN])
                          for u in range(len(m["weights"]))])
        out.append(joint / joint.sum())
    return np.array(out)


def test_posterior_is_bayes_rule_on_the_reported_tables_in_input_order(carcinoma_fit):
    frame = datasets.load("carcinoma")
    post = carcinoma_fit.posterior(frame)
    np.testing.assert_allclose(post, _bayes(carcinoma_fit, frame), atol=1e-10)
    order = np.random.default_rng(0).permutation(len(frame))
    np.testing.assert_allclose(carcinoma_fit.posterior(frame.iloc[order]), post[order], atol=1e-12)
    out = carcinoma_fit.posterior_frame(frame)
    assert list(out.columns) == ["p_class_0", "p_class_1", "p_class_2", "modal_class"]
    np.testing.assert_array_equal(out["modal_class"], post.argmax(axis=1))


def test_cli_posterior_writes_every_row_from_csv_and_parquet(tmp_path, carcinoma_fit):
    frame = datasets.load("carcinoma").rename(columns={"A": "rater_a"})
    design = tmp_path / "lc.yaml"
    design.write_text("items: [A, B, C, D, E, F, G]\nlatent: {classes: 3}\n")
    expected = carcinoma_fit.posterior(datasets.load("carcinoma"))
    for suffix in ("csv", "parquet"):
        data = tmp_path / f"d.{suffix}"
        getattr(frame, f"to_{suffix}")(data, index=False)
        out = tmp_path / f"post_{suffix}.csv"
        assert main(["estimate", str(design), str(data), "--columns", "A=rater_a", "--seed", "1",
                     "--posterior", str(out), "--json", "--interval", "wald"]) == 0
        written = pd.read_csv(out)
        assert len(written) == len(frame)
        np.testing.assert_allclose(written[[f"p_class_{u}" for u in range(3)]].to_numpy(), expected, atol=1e-6)
        np.testing.assert_array_equal(written["modal_class"], expected.argmax(axis=1))


def test_cli_posterior_bad_input_exits_2_before_fitting(tmp_path, capsys):
    data = tmp_path / "d.csv"
    datasets.load("carcinoma").to_csv(data, index=False)
    design = tmp_path / "lc.yaml"
    design.write_text("items: [A, B, C, D, E, F, G]\n")
    assert main(["estimate", str(design), str(data), "--posterior", str(tmp_path / "p.txt")]) == 2
    assert "--posterior" in capsys.readouterr().err
    assert main(["estimate", str(design), str(data), "--posterior", str(tmp_path / "no" / "p.csv")]) == 2
    sim, _ = simulate("paper-level3", 2000, seed=0)
    sim.to_csv(data, index=False)
    assert main(["estimate", "paper-level3", str(data), "--estimator", "spo", "--posterior",
                 str(tmp_path / "p.csv")]) == 2
    assert "needs maximum likelihood" in capsys.readouterr().err


def test_bivariate_residuals_flag_a_planted_dependence():
    true = Design.latent_class(["A", "B", "C", "D", "E"], classes=2, edges=["A -> B"])
    params = {"pi_0": 0.6, "p_A0_U0": 0.8, "p_A0_U1": 0.2, "p_B0_A0_U0": 0.95, "p_B0_A0_U1": 0.5,
              "p_B0_A1_U0": 0.5, "p_B0_A1_U1": 0.05, "p_C0_U0": 0.9, "p_C0_U1": 0.1, "p_D0_U0": 0.85,
              "p_D0_U1": 0.15, "p_E0_U0": 0.9, "p_E0_U1": 0.2}  # B follows A within each class
    frame, _ = simulate(true, 20000, params=params, seed=3)
    plain = fit(Design.latent_class(["A", "B", "C", "D", "E"], classes=2), frame, seed=0, interval="wald")
    rows = plain.to_dict()["diagnostics"]["bivariate_residuals"]
    assert rows[0]["pair"] == ["A", "B"] and rows[0]["bvr"] > BVR_FLAG
    assert "bivariate residuals" in plain.summary() and "A-B" in plain.summary()
    right = fit(true, frame, seed=0, interval="wald").to_dict()["diagnostics"]["bivariate_residuals"]
    assert max(r["bvr"] for r in right) < BVR_FLAG


def test_bvr_values_match_a_direct_computation(carcinoma_fit):
    frame = datasets.load("carcinoma")
    m = carcinoma_fit.to_dict()["mixture"]
    w, t = np.asarray(m["weights"]), {c: np.asarray(m["tables"][c]) for c in SEVEN}
    rows = {tuple(r["pair"]): r["bvr"] for r in carcinoma_fit.to_dict()["diagnostics"]["bivariate_residuals"]}
    for a, b in [("A", "B"), ("D", "F"), ("C", "G")]:
        expected = len(frame) * np.einsum("u,ua,ub->ab", w, t[a], t[b])
        observed = pd.crosstab(frame[a], frame[b]).reindex(index=[0, 1], columns=[0, 1], fill_value=0).to_numpy()
        live = expected > 0
        assert rows[(a, b)] == pytest.approx(((observed - expected)[live] ** 2 / expected[live]).sum(), rel=1e-6)
    # the full-table route (variables with parents) agrees with the class-table route
    fitted = carcinoma_fit.estimate.extra["mle"]
    lik = likelihood(fitted.design)
    dense, _ = bivariate_residuals(lik, fitted.point, fitted.patterns, dense=True)
    lik.parents[0] = [1]  # pretend A has a parent: the pair goes through the full table (restored below)
    try:
        np.testing.assert_allclose(pair_probabilities(lik, fitted.point, 0, 2, dense=True),
                                   np.einsum("u,ua,ub->ab", w, t["A"], t["C"]), atol=1e-12)
        assert pair_probabilities(lik, fitted.point, 0, 2, dense=False) is None
    finally:
        lik.parents[0] = []
    assert [r["pair"] for r in dense] == [list(p) for p in sorted(rows, key=lambda p: -rows[p])]
