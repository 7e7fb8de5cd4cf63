"""Data loading and sufficient statistics: every DataError path; CSV, Parquet, chunks and dask agree."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from mixid.estimate.data import chunk_sums

from mixid import DataError, Design, simulate, sufficient_stats
from tests.conftest import make_design

D = Design.builtin("paper-level3")


@pytest.fixture(scope="module")
def frame():
    return simulate(D, 5000, seed=0)[0]


def test_table_matches_a_direct_count(frame):
    s = sufficient_stats(D, frame)
    direct = frame.groupby(list(D.names)).size()
    for cell, count in direct.items():
        assert s.sums[cell] == count
    assert s.n == 5000 and s.sums.sum() == 5000 and s.categorical


def test_continuous_sums():
    cont = {"type": "continuous", "features": 3}
    d = make_design(2, {"Z": 2, "X": cont, "T": 2, "Y": cont}, ["T -> Y"])
    data, _ = simulate(d, 400, seed=1)
    s = sufficient_stats(d, data)
    z, x, t, y = (data[c].to_numpy() for c in ("Z", "X", "T", "Y"))
    assert s.sums[1, 2, 0, 1] == pytest.approx(np.sum((z == 1) * x**2 * (t == 0) * y))
    assert s.sums[0, 0, 1, 0] == np.sum((z == 0) * (t == 1))


def test_continuous_ranges_agree_across_memory_chunks_and_dask(tmp_path):
    """Each continuous column's (min, max) over the complete rows bounds md's class means: every way of reading
    the data gives the same range, and a row with a missing answer does not widen it."""
    d = make_design(2, {"Z": 2, "X": 2, "T": 2, "Y": {"type": "continuous", "features": 2}}, ["T -> Y"])
    data, _ = simulate(d, 3000, seed=2)
    data = data.astype({"Z": float})
    data.loc[17, "Y"], data.loc[17, "Z"] = 1e6, np.nan  # the widest value sits in an incomplete row
    y = data["Y"].to_numpy()[np.arange(len(data)) != 17]
    want = {"Y": (float(y.min()), float(y.max()))}
    assert sufficient_stats(d, data, missing="drop").ranges == want
    data.to_csv(tmp_path / "d.csv", index=False)
    assert sufficient_stats(d, tmp_path / "d.csv", chunksize=400, missing="drop").ranges == want
    dd = pytest.importorskip("dask.dataframe")
    assert sufficient_stats(d, dd.from_pandas(data, npartitions=3), missing="drop").ranges == want
    assert sufficient_stats(D, simulate(D, 100, seed=0)[0]).ranges is None  # categorical: no range


def test_files_and_chunks_agree(frame, tmp_path):
    ref = sufficient_stats(D, frame).sums
    csv, pq = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(pq, index=False)
    for src in (csv, pq, str(csv)):
        np.testing.assert_array_equal(sufficient_stats(D, src, chunksize=777).sums, ref)
    np.testing.assert_array_equal(sufficient_stats(D, {c: frame[c].to_list() for c in frame}).sums, ref)


def test_dask_matches_pandas(frame):
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.from_pandas(frame, npartitions=4)
    s = sufficient_stats(D, ddf)
    np.testing.assert_array_equal(s.sums, sufficient_stats(D, frame).sums)
    bad = frame.copy()
    bad.loc[4321, "Z"] = 5
    with pytest.raises(DataError, match="the row with index 4321"):
        sufficient_stats(D, dd.from_pandas(bad, npartitions=3))


def _bad(frame, column, row, value):
    out = frame.copy()
    out[column] = out[column].astype(object)
    out.loc[row, column] = value
    return out


ROW = "(counting from 1, header excluded)"


@pytest.mark.parametrize("mutate,message", [
    (lambda f: f.drop(columns="X"), "missing column 'X'"),
    (lambda f: _bad(f, "Z", 17, np.inf), "column 'Z' has an infinite value at data row 18 " + ROW),
    (lambda f: _bad(f, "Z", 17, np.nan), "column 'Z' has 1 missing answer, and 'Z' is a parent of T"),
    (lambda f: _bad(f, "X", 3, 2), "categorical column 'X' must hold integer codes 0..1; found 2 at data row 4 " + ROW),
    (lambda f: _bad(f, "X", 5, 0.5), "found 0.5 at data row 6 " + ROW),
    (lambda f: _bad(f, "Y", 8, -1), "found -1 at data row 9 " + ROW),
    (lambda f: _bad(f, "T", 9, 2), "treatment column 'T' must hold integer codes 0..1"),
    (lambda f: _bad(f, "Z", 11, "a"), "non-numeric value 'a' at data row 12 " + ROW),
    (lambda f: _bad(f, "Z", 12, "1"), "non-numeric value '1' at data row 13 " + ROW),
    (lambda f: f.assign(Y=f["Y"].astype(bool)), "column 'Y' holds booleans"),
    (lambda f: f.assign(T=0), "treatment arm T=1 is empty"),
    (lambda f: f.head(5), "too few rows: 5"),
])
def test_data_errors(frame, mutate, message):
    with pytest.raises(DataError, match=re.escape(message)):
        sufficient_stats(D, mutate(frame))


def test_source_errors(tmp_path, frame):
    with pytest.raises(DataError, match="does not exist"):
        sufficient_stats(D, tmp_path / "nope.csv")
    txt = tmp_path / "d.txt"
    txt.write_text("x")
    with pytest.raises(DataError, match=r"\.csv or \.parquet"):
        sufficient_stats(D, txt)
    with pytest.raises(DataError, match="cannot read data of type list"):
        sufficient_stats(D, [1, 2, 3])
    with pytest.raises(DataError, match="different lengths"):
        sufficient_stats(D, {"Z": [0, 1], "X": [0], "T": [0, 1], "Y": [1, 1]})
    bad = tmp_path / "bad.csv"
    frame.head(20).to_csv(bad, index=False)
    with open(bad, "a") as fh:
        fh.write("1,0,1\n")  # a short row is refused (not read as missing answers), by its line in the file
    with pytest.raises(DataError, match=r"line 22 has 3 fields, the header 4"):
        sufficient_stats(D, bad)
    frame.head(20).to_csv(bad, index=False)
    with open(bad, "a") as fh:
        fh.write("1,0,1,7\n")  # a code out of range, on the 21st data line
    with pytest.raises(DataError, match=re.escape("data row 21 (counting from 1")):
        sufficient_stats(D, bad)
    with pytest.raises(DataError, match=re.escape("data row 1235 (counting")):
        chunked = tmp_path / "chunked.csv"
        _bad(frame, "Y", 1234, 7).to_csv(chunked, index=False)
        sufficient_stats(D, chunked, chunksize=500)


def test_chunk_sums_empty_columns_have_zero_counts():
    cols = {"Z": np.array([], dtype=np.int64), "X": np.array([], dtype=np.int64),
            "T": np.array([], dtype=np.int64), "Y": np.array([], dtype=np.int64)}
    assert chunk_sums(D, cols).sum() == 0


def test_observed_latent_column_is_required():
    d = Design.builtin("paper-level1")
    data, _ = simulate(d, 100, seed=0)
    assert "U" in data.columns
    with pytest.raises(DataError, match="missing column 'U'"):
        sufficient_stats(d, data.drop(columns="U"))
    assert sufficient_stats(d, pd.DataFrame(data)).sums.shape == (2, 2, 2)


def test_a_table_too_large_to_build_is_kept_as_observed_patterns():
    from mixid import Design

    d = Design.latent_class([f"Q{i}" for i in range(30)], classes=2)
    rng = np.random.default_rng(0)
    cols = {c: rng.integers(0, 2, 100) for c in d.names}
    cols["Q3"][:50] = 0
    s = sufficient_stats(d, cols)
    assert not s.dense and s.sums is None and s.n == 100 and s.patterns.counts.sum() == 100
    expected = np.zeros((2, 2))
    np.add.at(expected, (cols["Q3"], cols["Q7"]), 1)
    np.testing.assert_array_equal(s.marginal(("Q3", "Q7")), expected)
    np.testing.assert_array_equal(s.marginal(("Q7", "Q3")), expected.T)
    with pytest.raises(DataError, match="1,073,741,824 cells.*observed response patterns"):
        _ = s.tensor
    big = Design.from_dict({"variables": {**{f"Q{i}": {"categories": 2} for i in range(29)},
                                          "V": {"type": "continuous", "features": 2}}})
    with pytest.raises(DataError, match="continuous variables"):
        sufficient_stats(big, {**cols, "V": np.zeros(100)})
