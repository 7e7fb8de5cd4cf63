"""Categories declared by the values the data hold (``categories: [1, 2]`` or ``["no", "yes"]``) and the
``items:`` shorthand of plain latent class designs: parsing, round trips, mapping data to codes, reports."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from mixid.estimate.data import sufficient_stats

from mixid import DataError, Design, DesignError, datasets, fit, simulate
from mixid.cli import main

SEVEN = list("ABCDEFG")


def test_categories_as_values_and_items_round_trip(tmp_path):
    d = Design.from_dict({"items": ["A", "B", "C"], "categories": ["no", "yes"], "latent": {"classes": 2}})
    assert d.names == ("A", "B", "C") and d.variable("B").labels == ("no", "yes") and d.variable("B").dim == 2
    assert not d.causal
    assert d.to_dict()["variables"]["A"] == {"type": "categorical", "categories": ["no", "yes"]}
    assert Design.from_dict(d.to_dict()) == d
    assert Design.from_dict(json.loads(json.dumps(d.to_dict()))) == d
    f = tmp_path / "lc.yaml"
    f.write_text('items: [A, B, C]\ncategories: ["no", "yes"]\n')
    assert Design.from_file(f).variables == d.variables
    numeric = Design.from_dict({"variables": {"Z": {"categories": [1, 2, 3]}, "T": {"categories": [0, 1]},
                                              "Y": {"categories": 2}}, "treatment": "T", "outcome": "Y"})
    assert numeric.variable("Z").labels == (1, 2, 3) and numeric.variable("Y").labels is None
    assert Design.from_dict(numeric.to_dict()) == numeric
    assert numeric.rename({"Z": "Q"}).variable("Q").labels == (1, 2, 3)
    # a count and the same count of values are different designs (the data differ)
    assert Design.from_dict({"items": ["A", "B"], "categories": 2}) != Design.from_dict(
        {"items": ["A", "B"], "categories": [0, 1]})
    assert Design.latent_class(["A", "B"], categories=["x", "y", "z"]).variable("A").labels == ("x", "y", "z")


@pytest.mark.parametrize("spec,message", [
    ({"items": ["A", "B"], "categories": [False, True]}, "'categories': False is a boolean (YAML reads unquoted"),
    ({"items": ["A", "B"], "categories": ["no", "no"]}, "'categories' lists the value 'no' twice"),
    ({"items": ["A", "B"], "categories": [1, 1.0]}, "lists the value 1.0 twice"),
    ({"items": ["A", "B"], "categories": [1, "yes"]}, "mixes text and numbers"),
    ({"items": ["A", "B"], "categories": ["yes"]}, "must list at least 2 values"),
    ({"items": ["A", "B"], "categories": [1, float("nan")]}, "is not a category value"),
    ({"items": ["A", "B"], "categories": ["", "x"]}, "is not a category value"),
    ({"items": ["A", "B"], "categories": 1}, "field 'categories' must be an integer >= 2"),
    ({"items": ["A", "A"]}, "field 'items' lists 'A' twice"),
    ({"items": "ABC"}, "field 'items' must be a non-empty list"),
    ({"items": ["A", "B"], "variables": {"C": {"categories": 2}}}, "'variables' does not go with 'items'"),
    ({"items": ["T", "Y"], "treatment": "T", "outcome": "Y"}, "'items' declares a plain latent class design"),
    ({"variables": {"A": {"categories": 2}}, "categories": 2}, "goes with 'items: [...]'"),
    ({"variables": {"A": {"categories": [[1], [2]]}}}, "is not a category value"),
])
def test_bad_categories_are_refused_with_one_line(spec, message):
    with pytest.raises(DesignError, match=re.escape(message)):
        Design.from_dict(spec)


def test_yaml_booleans_are_refused_in_a_file(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("items: [A, B]\ncategories: [no, yes]\n")
    assert main(["identify", str(f)]) == 2


def _survey(values, n=400, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: rng.choice(np.asarray(values, dtype=object), n) for c in "ABC"})


def test_values_are_mapped_to_codes_from_every_source(tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    d = Design.from_dict({"items": ["A", "B", "C"], "categories": ["01", "02", "10"]})
    frame = _survey(["01", "02", "10"])
    codes = frame.replace({"01": 0, "02": 1, "10": 2}).astype(int)
    ref = sufficient_stats(Design.from_dict({"items": ["A", "B", "C"], "categories": 3}), codes).sums
    csv, pq = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)  # "01" would read as the number 1 unless the column is read as text
    frame.to_parquet(pq, index=False)
    for source in (frame, csv, pq, dd.from_pandas(frame, npartitions=3), {c: list(frame[c]) for c in frame}):
        np.testing.assert_array_equal(sufficient_stats(d, source, chunksize=150).sums, ref)
    numeric = Design.from_dict({"items": ["A", "B", "C"], "categories": [1, 2, 3]})
    np.testing.assert_array_equal(sufficient_stats(numeric, codes + 1).sums, ref)
    np.testing.assert_array_equal(sufficient_stats(numeric, (codes + 1).astype(float)).sums, ref)


def test_an_unknown_value_names_the_value_the_column_and_the_first_bad_row(tmp_path):
    d = Design.from_dict({"items": ["A", "B", "C"], "categories": ["no", "yes"]})
    frame = _survey(["no", "yes"])
    frame.loc[170, "B"] = "maybe"
    frame.loc[200, "A"] = "perhaps"  # a later row of an earlier column: the first bad row is reported
    csv = tmp_path / "d.csv"
    frame.to_csv(csv, index=False)
    expected = ("column 'B' has the value 'maybe' at data row 171 (counting from 1, header excluded), which is "
                "not one of its categories ('no', 'yes')")
    for source, chunk in ((frame, 10**6), (csv, 10**6), (csv, 64)):
        with pytest.raises(DataError, match=re.escape(expected)):
            sufficient_stats(d, source, chunksize=chunk)
    numeric = Design.from_dict({"items": ["A", "B", "C"], "categories": [1, 2]})
    with pytest.raises(DataError, match=re.escape("column 'C' has the value 0 at data row 4")):
        sufficient_stats(numeric, pd.DataFrame({"A": [1, 2] * 10, "B": [2, 1] * 10, "C": [1, 2, 2, 0] * 5}))
    with pytest.raises(DataError, match=re.escape("column 'A' has the value 1 at data row 1")):
        sufficient_stats(d, pd.DataFrame({c: [1, 0] * 10 for c in "ABC"}))  # codes where values are declared
    assert main(["estimate", _write(tmp_path, d), str(csv)]) == 2


def _write(tmp_path, design) -> str:
    f = tmp_path / "design.json"
    f.write_text(json.dumps(design.to_dict()))
    return str(f)


def test_carcinoma_coded_one_two_fits_as_poLCA_does():
    codes = datasets.load("carcinoma")
    ones = codes + 1
    coded = fit(Design.latent_class(SEVEN, classes=2), codes, seed=1, interval="wald")  # (intervals not read)
    valued = fit(Design.from_dict({"items": SEVEN, "categories": [1, 2]}), ones, seed=1, interval="wald")
    a, b = coded.to_dict(), valued.to_dict()
    assert b["fit"]["n_parameters"] == 15 and b["fit"]["df"] == a["fit"]["df"]
    assert abs(b["fit"]["loglik"] - (-317.2568)) < 1e-3 and abs(b["fit"]["bic"] - a["fit"]["bic"]) < 1e-8
    assert not any("never occur" in w for w in b["warnings"])
    assert b["mixture"]["categories"]["A"] == [1, 2] and a["mixture"]["categories"]["A"] == [0, 1]
    assert "P(A | class):  categories 1, 2" in valued.summary()
    np.testing.assert_allclose(valued.posterior(ones), coded.posterior(codes), atol=1e-8)


def test_simulate_writes_the_values_and_estimate_reads_them(tmp_path):
    d = Design.from_dict({"variables": {"Z": {"categories": ["lo", "hi"]}, "X": {"categories": [1, 2]},
                                        "T": {"categories": ["ctl", "trt"]}, "Y": {"categories": ["no", "yes"]}},
                          "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
    frame, _ = simulate(d, 50, seed=0)
    assert set(frame["Z"]) == {"lo", "hi"} and set(frame["X"]) == {1, 2} and set(frame["T"]) == {"ctl", "trt"}
    design, data = _write(tmp_path, d), tmp_path / "sim.csv"
    assert main(["simulate", design, "-n", "3000", "--seed", "1", "-o", str(data)]) == 0
    assert set(pd.read_csv(data)["Y"]) == {"no", "yes"}
    r = fit(d, str(data), seed=0, interval="wald")
    assert "P(T | parents, class):  categories ctl, trt" in r.summary() and "Z=hi" in r.summary()


def test_a_never_seen_value_is_named_in_the_warning():
    d = Design.from_dict({"items": ["A", "B", "C"], "categories": ["no", "maybe", "yes"]})
    r = fit(d, _survey(["no", "yes"], seed=2).assign(B=lambda f: f["B"].where(f.index > 0, "maybe")), seed=0,
            estimator="mle", interval="wald")
    assert any("category 'maybe' of 'A' never occur" in w for w in r.to_dict()["warnings"])
