"""Missing answers: maximum likelihood over every row (FIML), the report, missing='drop', and what is refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from mixid.estimate.data import sufficient_stats

from mixid import DataError, Design, datasets, fit, simulate
from mixid.cli import main

SIX = list("ABCDEF")


def _holes(frame: pd.DataFrame, share: float, seed: int, columns=None) -> pd.DataFrame:
    out = frame.astype(object if frame.dtypes.eq(object).any() else float).copy()
    rng = np.random.default_rng(seed)
    for c in columns or out.columns:
        out.loc[rng.random(len(out)) < share, c] = np.nan
    return out


def _observed_loglik(result, frame: pd.DataFrame, names) -> float:
    """sum over rows of log sum_u pi_u prod_(answered items) P(answer | u), from the reported tables."""
    m = result.to_dict()["mixture"]
    w = np.asarray(m["weights"])
    total = 0.0
    for _, row in frame.iterrows():
        like = w.copy()
        for c in names:
            if pd.notna(row[c]):
                like = like * np.asarray(m["tables"][c])[:, int(row[c])]
        total += np.log(like.sum())
    return total


@pytest.fixture(scope="module")
def survey():
    d = Design.latent_class(SIX, classes=2, categories=3)
    frame, _ = simulate(d, 1500, seed=0)
    return d, _holes(frame, 0.15, 1)


def test_fiml_maximises_the_likelihood_of_the_answers_given(survey):
    d, frame = survey
    r = fit(d, frame, seed=0, interval="wald")  # (intervals not read here: no profile search)
    out = r.to_dict()
    assert out["n"] == 1500 and out["estimator"] == "mle"
    assert out["fit"]["loglik"] == pytest.approx(_observed_loglik(r, frame, SIX), abs=1e-6)
    assert out["fit"]["g2"] is None and out["fit"]["df"] is None and out["fit"]["n_parameters"] == 25
    report = out["missing"]
    complete = int(frame.notna().all(axis=1).sum())
    assert report["rows"] == 1500 and report["complete_rows"] == complete and report["handling"] == "fiml"
    assert report["missing_answers"] == {c: int(frame[c].isna().sum()) for c in SIX}
    assert f"complete rows {complete:,}" in r.summary()
    assert any("maximum likelihood uses every row (FIML" in w for w in out["warnings"])
    post = r.posterior(frame)  # rows with missing answers get their posterior from the answers given
    assert post.shape == (1500, 2) and np.allclose(post.sum(axis=1), 1)


def test_fiml_matches_stepmix_binary_nan():
    stepmix = pytest.importorskip("stepmix.stepmix")
    d = Design.latent_class(list("ABCDE"), classes=2)
    frame, _ = simulate(d, 600, seed=6)
    data = _holes(frame, 0.15, 7)
    ours = fit(d, data, seed=0, interval="wald").to_dict()["fit"]["loglik"]
    model = stepmix.StepMix(n_components=2, measurement="binary_nan", n_init=2, random_state=0, verbose=0,
                            progress_bar=0, max_iter=3000, abs_tol=1e-9, rel_tol=1e-11)
    X = data.to_numpy(dtype=float)
    model.fit(X)
    assert ours == pytest.approx(model.score(X) * len(X), abs=1e-3)


def test_drop_is_the_fit_on_the_complete_rows(survey):
    d, frame = survey
    dropped = fit(d, frame, seed=0, missing="drop", interval="wald")
    complete = fit(d, frame.dropna().astype(int), seed=0, interval="wald")
    assert dropped.n == len(frame.dropna())
    assert dropped.to_dict()["fit"]["loglik"] == pytest.approx(complete.to_dict()["fit"]["loglik"], abs=1e-6)
    assert dropped.to_dict()["missing"]["handling"] == "drop"
    assert any("left out" in w and "missing='drop'" in w for w in dropped.to_dict()["warnings"])
    with pytest.raises(DataError, match="missing must be 'fiml' or 'drop'"):
        fit(d, frame, missing="pairwise")


def test_rows_without_any_answer_are_kept_counted_and_add_nothing(survey):
    d, frame = survey
    empty = pd.concat([frame, pd.DataFrame(np.nan, index=range(7), columns=SIX)], ignore_index=True)
    a, b = fit(d, frame, seed=0, interval="wald").to_dict(), fit(d, empty, seed=0, interval="wald").to_dict()
    assert b["n"] == 1507 and b["missing"]["rows_without_answers"] == 7
    assert b["fit"]["loglik"] == pytest.approx(a["fit"]["loglik"], abs=1e-6)
    np.testing.assert_allclose(b["mixture"]["weights"], a["mixture"]["weights"], atol=1e-5)


def test_every_source_reads_empty_cells_as_missing_answers(tmp_path, survey):
    dd = pytest.importorskip("dask.dataframe")
    d, frame = survey
    ref = sufficient_stats(d, frame)
    csv, pq = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)  # NaN is written as an empty cell
    assert ",," in csv.read_text() or ",\n" in csv.read_text()
    frame.astype("Int64").to_parquet(pq, index=False)  # nullable integers: nulls
    for source in (csv, pq, dd.from_pandas(frame, npartitions=3)):
        s = sufficient_stats(d, source, chunksize=400)
        assert s.missing == ref.missing and s.n == 1500
        np.testing.assert_array_equal(s.sums, ref.sums)
        got = dict(zip(map(tuple, s.patterns.codes), s.patterns.counts))
        assert got == dict(zip(map(tuple, ref.patterns.codes), ref.patterns.counts))
    labelled = Design.from_dict({"items": SIX, "categories": ["lo", "mid", "hi"]})
    words = frame.apply(lambda col: col.map({0.0: "lo", 1.0: "mid", 2.0: "hi"}))
    words.to_csv(csv, index=False)
    assert sufficient_stats(labelled, csv).missing["missing_answers"] == ref.missing["missing_answers"]


def test_a_large_design_keeps_missing_answers_in_its_patterns():
    d = Design.latent_class([f"Q{i}" for i in range(24)], classes=2)  # 2^24 cells: patterns, no table
    frame, _ = simulate(d, 2000, seed=5)
    holes = _holes(frame, 0.1, 2)
    s = sufficient_stats(d, holes)
    assert not s.dense and s.missing["complete_rows"] == int(holes.notna().all(axis=1).sum())
    assert (s.patterns.codes < 0).any() and s.patterns.counts.sum() == 2000
    r = fit(d, holes, seed=0, starts=3, interval="wald")
    assert r.to_dict()["fit"]["loglik"] == pytest.approx(_observed_loglik(r, holes, d.names), abs=1e-5)


def test_causal_designs_missing_outcomes_and_refused_parents(tmp_path, capsys):
    frame, _ = simulate("paper-level3", 4000, seed=3)
    holes = _holes(frame, 0.12, 4, columns=["Y", "X"])
    r = fit("paper-level3", holes, seed=0, interval="wald")
    assert r.estimator == "mle" and r.to_dict()["missing"]["missing_answers"].keys() == {"X", "Y"}
    spo = fit("paper-level3", holes, estimator="spo")
    complete = int(holes.notna().all(axis=1).sum())
    assert any(f"spo uses the {complete:,} complete rows of 4,000" in w for w in spo.to_dict()["warnings"])
    bad = _holes(frame, 0.05, 5, columns=["T"])
    with pytest.raises(DataError, match=re.escape("'T' is a parent of Y: maximum likelihood with missing answers")):
        fit("paper-level3", bad)
    dropped = fit("paper-level3", bad, missing="drop", seed=0, interval="wald")
    assert dropped.n == int(bad["T"].notna().sum())
    with pytest.raises(DataError, match="class probabilities need it answered in every row"):
        dropped.posterior(bad)
    assert dropped.posterior(bad.dropna()).shape == (dropped.n, 2)
    data = tmp_path / "bad.csv"
    bad.to_csv(data, index=False)
    assert main(["estimate", "paper-level3", str(data)]) == 2
    err = capsys.readouterr().err.strip()
    assert "parent of Y" in err and "\n" not in err
    assert main(["estimate", "paper-level3", str(data), "--missing", "drop", "--json", "--interval", "wald"]) == 0
    assert json.loads(capsys.readouterr().out)["missing"]["handling"] == "drop"


def test_complete_data_report_no_missing_answers():
    r = fit(Design.latent_class(list("ABCDEFG"), classes=2), datasets.load("carcinoma"), seed=0,
            interval="wald").to_dict()
    assert r["missing"] == {"rows": 118, "complete_rows": 118, "missing_answers": {}, "rows_without_answers": 0,
                            "handling": "fiml"}
    assert r["fit"]["g2"] is not None
