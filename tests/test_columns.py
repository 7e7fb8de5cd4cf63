"""Data as people have it: design variables mapped to data columns, extra columns ignored with a notice."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from mixid.estimate.data import column_map, parse_columns

from mixid import DataError, Design, fit, simulate, sufficient_stats

D = Design.builtin("paper-level3")
NAMES = {"Z": "age_group", "X": "income", "T": "treated", "Y": "outcome"}


@pytest.fixture(scope="module")
def frames():
    data, _ = simulate(D, 4000, seed=2)
    renamed = data.rename(columns=NAMES).assign(region=3, notes="free text")
    return data, renamed


def test_every_source_reads_mapped_columns_and_ignores_the_rest(frames, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    data, renamed = frames
    ref = sufficient_stats(D, data).sums
    csv, pq = tmp_path / "d.csv", tmp_path / "d.parquet"
    renamed.to_csv(csv, index=False)
    renamed.to_parquet(pq, index=False)
    sources = [renamed, {c: renamed[c].to_numpy() for c in renamed}, csv, pq, dd.from_pandas(renamed, npartitions=3)]
    for src in sources:
        s = sufficient_stats(D, src, columns=NAMES, chunksize=999)
        np.testing.assert_array_equal(s.sums, ref)
        assert s.notes == ["ignored 2 columns the design does not use: region, notes"]


def test_fit_takes_columns_and_warns_once(frames):
    data, renamed = frames
    r = fit(D, renamed, columns=NAMES, seed=0, interval="wald")  # (intervals not read: no profile search)
    assert r.to_dict()["ate"]["estimate"] == fit(D, data, seed=0, interval="wald").to_dict()["ate"]["estimate"]
    assert r.warnings.count("ignored 2 columns the design does not use: region, notes") == 1
    assert "warning: ignored 2 columns" in r.summary()
    # a partial mapping: the other variables keep their names
    partial = data.rename(columns={"Z": "age_group"})
    assert fit(D, partial, columns={"Z": "age_group"}, interval="wald").n == 4000


def test_files_are_read_for_the_needed_columns_only(frames, tmp_path, monkeypatch):
    _, renamed = frames
    csv = tmp_path / "d.csv"
    renamed.to_csv(csv, index=False)
    calls = []
    read_csv = pd.read_csv

    def spy(*args, **kwargs):
        calls.append(kwargs.get("usecols"))
        return read_csv(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", spy)
    sufficient_stats(D, csv, columns=NAMES)
    assert sorted(calls[-1]) == sorted(NAMES.values())  # the data pass reads four columns, not six


@pytest.mark.parametrize("columns,message", [
    ({"Z": "age_group", "X": "income", "T": "treated", "Y": "nope"},
     "column 'nope' (mapped to variable Y) is not in the data"),
    ({"Z": "age_group", "X": "age_group", "T": "treated", "Y": "outcome"},
     "variables 'Z' and 'X' are both read from column 'age_group'"),
    ({"Z": "age_group", "X": "income", "T": "treated"}, "missing column 'Y'"),
    ({**NAMES, "W": "region"}, "columns maps 'W', which is not a variable of design 'paper-level3'"),
    ({**NAMES, "Y": 3}, "the column of variable 'Y' must be a non-empty name, got 3"),
    ({**NAMES, "Y": ""}, "must be a non-empty name"),
    (["Z", "age_group"], "columns must map design variables to data columns, got list"),
])
def test_bad_mappings(frames, columns, message):
    _, renamed = frames
    with pytest.raises(DataError, match=re.escape(message)):
        sufficient_stats(D, renamed, columns=columns)


def test_implicit_and_explicit_reads_of_one_column_clash(frames):
    data, _ = frames
    with pytest.raises(DataError, match=r"'Z' and 'X' are both read from column 'Z' \(map 'Z' to another"):
        sufficient_stats(D, data, columns={"X": "Z"})
    swapped = sufficient_stats(D, data, columns={"X": "Z", "Z": "X"})  # a swap is two distinct columns
    np.testing.assert_array_equal(swapped.sums, sufficient_stats(D, data).sums.transpose(1, 0, 2, 3))


def test_errors_name_the_data_column_and_the_variable(frames):
    _, renamed = frames
    bad = renamed.astype({"income": float})
    bad.loc[7, "income"] = 0.5
    with pytest.raises(DataError, match=re.escape("categorical column 'income' (X) must hold integer codes 0..1; "
                                                  "found 0.5 at data row 8 (counting from 1, header excluded)")):
        sufficient_stats(D, bad, columns=NAMES)


def test_parse_columns():
    assert parse_columns("Z=age_group, X = income") == {"Z": "age_group", "X": "income"}
    assert column_map(D, parse_columns("Y=outcome"))["Y"] == "outcome"
    for text in ("", "Z", "Z=", "=a", "Z=a,", "Z=a=b", "Z=a,Z=b"):
        with pytest.raises(DataError):
            parse_columns(text)


def test_sufficient_stats_refuse_a_mapping(frames):
    data, _ = frames
    s = sufficient_stats(D, data)
    assert sufficient_stats(D, s) is s
    with pytest.raises(DataError, match="already sufficient statistics"):
        sufficient_stats(D, s, columns={"Z": "Z"})


def test_continuous_rows_kept_within_the_memory_budget(tmp_path):
    cont = {"type": "continuous", "features": 2}
    d = Design.from_dict({"variables": {"Z": {"type": "categorical", "categories": 2}, "X": cont,
                                        "T": {"type": "categorical", "categories": 2}, "Y": cont},
                          "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
    data, _ = simulate(d, 3000, seed=0)
    path = tmp_path / "c.csv"
    data.assign(extra=1).to_csv(path, index=False)
    kept = sufficient_stats(d, path, keep_rows=True, chunksize=1000)
    np.testing.assert_allclose(kept.columns["X"], data["X"].to_numpy())
    assert any("in memory (3,000 rows" in note for note in kept.notes)
    np.testing.assert_allclose(kept.sums, sufficient_stats(d, data).sums)
    over = sufficient_stats(d, path, keep_rows=True, chunksize=1000, memory_budget=3000 * 4 * 8 - 1)
    assert over.columns is None and "over the in-memory budget" in over.rows_unavailable
    np.testing.assert_allclose(over.sums, kept.sums)  # the sums streamed on
    assert sufficient_stats(d, path).columns is None  # rows are kept only when asked
    r = fit(d, path, bootstrap=20, seed=0)
    assert len(r.bootstrap) == 20 and any("in memory" in w for w in r.warnings)
    with pytest.raises(DataError, match="resamples rows, which are not in memory: 'c.csv' has 3,000 rows"):
        fit(d, sufficient_stats(d, path, keep_rows=True, memory_budget=100), bootstrap=20)
