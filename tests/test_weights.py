"""Sampling weights: pseudo-maximum likelihood, sandwich standard errors, weighted moments, and bad weights."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from mixid.estimate import data as data_module
from mixid.estimate.data import sufficient_stats
from mixid.estimate.select import select

from mixid import DataError, Design, fit, simulate
from mixid.cli import main

ITEMS = list("ABCDE")
LCA = Design.latent_class(ITEMS, classes=2)
SHARE = 0.3  # population share of class 0
PROFILES = np.array([[0.85, 0.8, 0.8, 0.75, 0.9], [0.2, 0.25, 0.15, 0.3, 0.2]])  # P(item = 1 | class)
INCLUSION = np.array([0.8, 0.2])  # class 0 is over-sampled: the sample's share of class 0 is about 0.63


def _population(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = (rng.random(n) >= SHARE).astype(int)
    answers = (rng.random((n, len(ITEMS))) < PROFILES[u]).astype(int)
    return pd.DataFrame(answers, columns=ITEMS), u


def _informative_sample(population: pd.DataFrame, u: np.ndarray, seed: int) -> pd.DataFrame:
    """Rows drawn with a probability that depends on their class; the weight is its inverse."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(u)) < INCLUSION[u]
    return population[keep].assign(w=1.0 / INCLUSION[u[keep]]).reset_index(drop=True)


def _share0(result) -> float:
    """The class whose first item is mostly 1 is class 0 of the population."""
    tables = result.to_dict()["mixture"]["tables"]["A"]
    u = int(np.argmax([tables[c][1] for c in range(2)]))
    return result.to_dict()["mixture"]["weights"][u], result.to_dict()["mixture"]["weights_se"][u]


POPULATION, CLASSES = _population(40_000, seed=0)


def test_inverse_probability_weights_recover_the_population_share():
    sample = _informative_sample(POPULATION, CLASSES, seed=1)
    weighted, se = _share0(fit(LCA, sample, seed=0, weights="w"))
    unweighted, _ = _share0(fit(LCA, sample.drop(columns="w"), seed=0, interval="wald"))
    assert abs(weighted - SHARE) < 3 * se and abs(weighted - SHARE) < 0.03
    assert unweighted > 0.55  # the sample over-represents class 0: without weights the share is biased
    r = fit(LCA, sample, seed=0, weights="w").to_dict()
    w = sample["w"].to_numpy()
    assert r["weights"]["column"] == "w" and r["weights"]["rows"] == len(sample)
    assert r["weights"]["sum"] == pytest.approx(w.sum())
    assert r["weights"]["effective_n"] == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    assert r["interval"]["kind"] == "wald" and r["fit"]["g2"] is None
    # the criteria rescale the weights to sum to the rows: they do not depend on the weights' scale
    scaled = r["fit"]["loglik"] * len(sample) / w.sum()
    assert r["fit"]["bic"] == pytest.approx(-2 * scaled + 11 * np.log(len(sample)))
    assert any("sandwich" in x for x in r["warnings"])


def test_sandwich_standard_error_matches_the_spread_over_replicate_samples():
    estimates, errors = [], []
    for rep in range(30):
        sample = _informative_sample(POPULATION, CLASSES, seed=100 + rep).iloc[:1500]
        share, se = _share0(fit(LCA, sample, seed=0, weights="w", starts=3))
        estimates.append(share)
        errors.append(se)
    ratio = np.mean(errors) / np.std(estimates, ddof=1)
    assert 0.7 < ratio < 1.45, ratio


def test_equal_weights_give_the_unweighted_estimate():
    frame, _ = simulate(LCA, 1500, seed=3)
    plain = fit(LCA, frame, seed=1, interval="wald")  # (weighted fits give Wald intervals too)
    ones = fit(LCA, frame.assign(w=1), seed=1, weights="w")
    # equal to rounding: the unweighted fit reads its counts back from the normalised table (tensor * n)
    np.testing.assert_allclose(ones.estimate.extra["params"], plain.estimate.extra["params"], rtol=0, atol=1e-12)
    assert ones.to_dict()["fit"]["loglik"] == pytest.approx(plain.to_dict()["fit"]["loglik"], rel=1e-13)
    scaled = fit(LCA, frame.assign(w=2.5), seed=1, weights="w")
    np.testing.assert_allclose(scaled.estimate.extra["params"], plain.estimate.extra["params"], atol=1e-8)
    assert scaled.to_dict()["fit"]["loglik"] == pytest.approx(2.5 * plain.to_dict()["fit"]["loglik"], rel=1e-10)
    # weights summing to 1 (probabilities): the fit climbs on weights rescaled to the rows, so the tolerances hold
    tiny = fit(LCA, frame.assign(w=1 / len(frame)), seed=1, weights="w")
    np.testing.assert_allclose(tiny.estimate.extra["params"], plain.estimate.extra["params"], atol=1e-8)
    assert tiny.to_dict()["fit"]["loglik"] == pytest.approx(plain.to_dict()["fit"]["loglik"] / len(frame), rel=1e-10)
    assert tiny.to_dict()["fit"]["bic"] == pytest.approx(scaled.to_dict()["fit"]["bic"], rel=1e-10)
    # the sandwich does not depend on the weights' scale
    np.testing.assert_allclose(scaled.to_dict()["mixture"]["weights_se"], ones.to_dict()["mixture"]["weights_se"],
                               rtol=1e-6)


def test_integer_weights_are_duplicated_rows():
    """A weight of 2 counts a row twice: the weighted estimate is the one of the data with that row repeated,
    for maximum likelihood (with missing answers, FIML) and for the constructive estimators (weighted moments)."""
    frame, _ = simulate("paper-level3", 3000, seed=4)
    w = np.random.default_rng(0).integers(0, 4, len(frame))
    repeated = frame.loc[frame.index.repeat(w)].reset_index(drop=True)
    spo_w = fit("paper-level3", frame.assign(w=w), estimator="spo", weights="w")
    spo_r = fit("paper-level3", repeated, estimator="spo")
    assert spo_w.to_dict()["ate"]["estimate"] == pytest.approx(spo_r.to_dict()["ate"]["estimate"], abs=1e-10)
    assert spo_w.to_dict()["weights"]["zero_rows"] == int((w == 0).sum())
    assert any("spo uses weighted moments" in x for x in spo_w.to_dict()["warnings"])
    holes = frame.astype(float)
    holes.loc[np.random.default_rng(1).random(len(holes)) < 0.1, "X"] = np.nan
    mle_w = fit("paper-level3", holes.assign(w=w), seed=0, weights="w")
    mle_r = fit("paper-level3", holes.loc[holes.index.repeat(w)].reset_index(drop=True), seed=0, interval="wald")
    assert mle_w.to_dict()["fit"]["loglik"] == pytest.approx(mle_r.to_dict()["fit"]["loglik"], rel=1e-9)
    assert mle_w.to_dict()["ate"]["estimate"] == pytest.approx(mle_r.to_dict()["ate"]["estimate"], abs=1e-6)
    assert mle_w.to_dict()["missing"]["rows"] == len(frame)  # rows are counted as rows, not by weight
    assert mle_w.to_dict()["ate"]["se"] > 0


def test_weights_read_the_same_from_every_source(tmp_path, monkeypatch):
    import dask.dataframe as dd

    sample = _informative_sample(POPULATION, CLASSES, seed=7).iloc[:2000].astype(float)
    sample.loc[::37, "B"] = np.nan
    ref = sufficient_stats(LCA, sample, weights="w")
    csv = tmp_path / "s.csv"
    sample.to_csv(csv, index=False)
    for source in (csv, dd.from_pandas(sample, npartitions=3)):
        s = sufficient_stats(LCA, source, weights="w", chunksize=300)
        np.testing.assert_allclose(s.sums, ref.sums)
        assert s.weights == pytest.approx(ref.weights) and s.missing == ref.missing
        np.testing.assert_allclose(np.sort(s.patterns.squares), np.sort(ref.patterns.squares))
    dense = fit(LCA, sample, seed=0, weights="w").to_dict()
    monkeypatch.setattr(data_module, "MAX_DENSE_CELLS", 4)  # the table is now kept as observed patterns
    sparse = fit(LCA, csv, seed=0, weights="w").to_dict()
    assert sparse["fit"]["loglik"] == pytest.approx(dense["fit"]["loglik"], rel=1e-9)
    np.testing.assert_allclose(sparse["mixture"]["weights_se"], dense["mixture"]["weights_se"], rtol=1e-4)
    assert sparse["weights"] == pytest.approx(dense["weights"])


def test_select_with_weights_skips_the_blrt():
    sample = _informative_sample(POPULATION, CLASSES, seed=8).iloc[:1500]
    s = select(LCA, sample, classes=[1, 2, 3], blrt=9, weights="w", workers=1)
    out = s.to_dict()
    assert all(r["blrt_p"] is None for r in out["rows"]) and out["blrt_replicates"] == 0
    assert out["weights"]["column"] == "w" and out["recommended"] == 2
    assert any("not valid for a pseudo-likelihood" in w for w in out["warnings"])


BAD = [({"w": "x"}, "weights column 'w' has a non-numeric value 'x' at data row 3"),
       ({"w": -1.0}, "weights column 'w' has a negative weight -1 at data row 3"),
       ({"w": np.nan}, "weights column 'w' has a missing or infinite weight at data row 3"),
       ({"w": np.inf}, "weights column 'w' has a missing or infinite weight at data row 3")]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_weights_name_the_row(change, message):
    frame, _ = simulate(LCA, 50, seed=0)
    frame["w"] = pd.Series([1.0] * 50, dtype=object if isinstance(change["w"], str) else float)
    frame.loc[2, "w"] = change["w"]
    with pytest.raises(DataError, match=re.escape(message)):
        fit(LCA, frame, weights="w")


def test_other_bad_weights():
    frame, _ = simulate(LCA, 50, seed=0)
    with pytest.raises(DataError, match="weights column 'w' is not in the data"):
        fit(LCA, frame, weights="w")
    with pytest.raises(DataError, match="weights column 'w' is 0 in every row"):
        fit(LCA, frame.assign(w=0.0), weights="w")
    with pytest.raises(DataError, match="column 'A' is read as variable A; it cannot also hold the sampling weights"):
        fit(LCA, frame, weights="A")
    with pytest.raises(DataError, match="holds booleans"):
        fit(LCA, frame.assign(w=True), weights="w")
    with pytest.raises(DataError, match="bootstrap is not available with sampling weights"):
        fit(LCA, frame.assign(w=1.0), weights="w", bootstrap=10)
    continuous = Design.from_dict({"variables": {"A": {"type": "categorical", "categories": 2},
                                                 "B": {"type": "categorical", "categories": 2},
                                                 "C": {"type": "continuous", "features": 3}},
                                   "latent": {"name": "U", "classes": 2}})
    cont = pd.DataFrame({"A": [0, 1] * 50, "B": [1, 1, 0, 0] * 25, "C": np.linspace(0, 1, 100), "w": 1.0})
    with pytest.raises(DataError, match="not supported by minimum distance"):
        fit(continuous, cont, weights="w", estimator="md")
    normal = Design.from_dict({"variables": {"A": {"type": "categorical", "categories": 2},
                                             "B": {"type": "categorical", "categories": 2},
                                             "C": {"type": "continuous", "distribution": "normal"}},
                               "latent": {"name": "U", "classes": 2}})
    with pytest.raises(DataError, match="not supported by maximum likelihood with normal variables"):
        fit(normal, cont, weights="w")


def test_cli_weights(tmp_path, capsys):
    sample = _informative_sample(POPULATION, CLASSES, seed=9).iloc[:800]
    good = tmp_path / "good.csv"
    sample.to_csv(good, index=False)
    design = tmp_path / "lca.yaml"
    design.write_text("items: [A, B, C, D, E]\ncategories: 2\nlatent: {name: U, classes: 2}\n")
    assert main(["estimate", str(design), str(good), "--weights", "w", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["weights"]["column"] == "w" and out["interval"]["kind"] == "wald"
    assert main(["estimate", str(design), str(good), "--weights", "w"]) == 0
    assert "sampling weights 'w': sum" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    sample.assign(w=np.r_[sample["w"].to_numpy()[:-1], -2.0]).to_csv(bad, index=False)
    for args in (["estimate", str(design), str(bad), "--weights", "w"],
                 ["estimate", str(design), str(good), "--weights", "nope"],
                 ["select", str(design), str(bad), "--weights", "w", "--classes", "1-2"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "weights column" in err
