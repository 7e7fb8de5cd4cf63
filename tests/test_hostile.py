"""Hostile and degenerate input (issue 10): every such input exits 2 with one line naming what is wrong, before
any work; degenerate data give a DataError or a warning naming the variable, never an internal error or a NaN."""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mixid.estimate import data as data_module
from mixid.estimate.data import n_parameters
from mixid.estimate.moment_problem import solve_atoms
from mixid.identify import Model
from mixid.identify.design import MAX_DEPTH

from mixid import DataError, Design, DesignError, fit, place, population_moments, random_params, simulate
from mixid.cli import main

LC3 = "variables: {A: {categories: 2}, B: {categories: 2}, C: {categories: 2}}\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.integers(0, 2, 200) for c in "ABC"})
    bomb = "".join(f"{a}: &{a} [" + ", ".join([f"*{p}"] * 9 if p else ['"x"'] * 9) + "]\n"
                   for p, a in zip([None, "a", "b", "c", "d"], "abcde"))
    texts = {
        "lc3.yaml": LC3,
        "bomb.yaml": "name: &a x\n" + LC3,
        "bomb2.yaml": bomb + LC3,
        "bigint.yaml": "latent: {classes: " + "9" * 4301 + "}\n" + LC3,
        "bigint.json": '{"latent": {"classes": ' + "9" * 4301 + '}, "variables": {"A": {"categories": 2}}}',
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "deep.yaml": "variables: " + "[" * 5000 + "]" * 5000 + "\n",
        "unhashable.yaml": "variables: {[a, b]: {categories: 2}}\n",
        "newline.json": json.dumps({"variables": {"A\n": {"categories": 2}}}),
        "categories.yaml": "variables: {A: {categories: 1000000000}, B: {categories: 2}}\n",
        "many.yaml": "variables: {" + ", ".join(f"Q{i}: {{categories: 2}}" for i in range(200)) + "}\n",
        "k1e6.yaml": "latent: {classes: 1000000}\n" + LC3,
        "label.yaml": "name: " + "x" * 100_000 + "\n" + LC3,
        "bad.json": '{"params": [1, 2]}',
        "list.json": "[1, 2, 3]",
        "ate.json": '{"ate": "high"}',
        "params.json": json.dumps({"pi_0": [1], **{f"p_{v}0_U{u}": 0.5 for v in "ABC" for u in (0, 1)}}),
    }
    for name, text in texts.items():
        (d / name).write_text(text)
    (d / "binary.yaml").write_bytes(bytes(range(256)))
    (d / "latin1.yaml").write_bytes(b"name: \xff\xfe\n" + LC3.encode())
    frame.to_csv(d / "lc3.csv", index=False)
    pd.DataFrame({"A": pd.date_range("2020", periods=200), "B": frame.B, "C": frame.C}).to_parquet(d / "dt.parquet")
    pd.DataFrame({"A": pd.to_timedelta(frame.A, unit="s"), "B": frame.B, "C": frame.C}).to_parquet(d / "td.parquet")
    pd.DataFrame({"A": frame.A.astype(bool), "B": frame.B, "C": frame.C}).to_parquet(d / "bool.parquet")
    pq.write_table(pa.table([pa.array(frame.A), pa.array(frame.A), pa.array(frame.B), pa.array(frame.C)],
                            names=["A", "A", "B", "C"]), d / "dup.parquet")
    (d / "corrupt.parquet").write_bytes(b"PAR1" + os.urandom(200) + b"PAR1")
    return d


CASES = [
    (["identify", "bomb.yaml"], "anchors and aliases"),
    (["identify", "bomb2.yaml"], "anchors and aliases"),
    (["identify", "binary.yaml"], "not UTF-8 text"),
    (["identify", "latin1.yaml"], "not UTF-8 text"),
    (["identify", "bigint.yaml"], "4301 digits"),
    (["identify", "bigint.json"], "4301 digits"),
    (["identify", "deep.json"], "nested too deeply"),
    (["identify", "deep.yaml"], "nested too deeply"),
    (["identify", "unhashable.yaml"], "a key must be text"),
    (["identify", "newline.json"], "not a valid name"),
    (["identify", "categories.yaml"], "over the limit of 1000"),
    (["identify", "many.yaml"], "200 variables"),
    (["identify", "label.yaml"], "100002 characters"),
    (["identify", "lc3.yaml", "--seed", "-1"], "--seed"),
    (["estimate", "k1e6.yaml", "lc3.csv"], "1,000,000 classes"),
    (["simulate", "k1e6.yaml", "-n", "10", "-o", "x.csv"], "1,000,000 classes"),
    (["estimate", "lc3.yaml", "dt.parquet"], "dates and times"),
    (["estimate", "lc3.yaml", "td.parquet"], "time spans"),
    (["estimate", "lc3.yaml", "bool.parquet"], "booleans"),
    (["estimate", "lc3.yaml", "dup.parquet"], "column 'A' twice"),
    (["estimate", "lc3.yaml", "corrupt.parquet"], "cannot read Parquet file"),
    (["estimate", "lc3.yaml", "binary.yaml"], "must end in .csv or .parquet"),
    (["estimate", "lc3.yaml", "lc3.csv", "--seed", "-1"], "--seed"),
    (["estimate", "lc3.yaml", "lc3.csv", "--bootstrap", "1e9"], "--bootstrap"),
    (["estimate", "lc3.yaml", "lc3.csv", "--bootstrap", "1000000000"], "--bootstrap"),
    (["estimate", "lc3.yaml", "lc3.csv", "--starts", "0"], "--starts"),
    (["estimate", "lc3.yaml", "lc3.csv", "--truth", "bad.json"], "'ate', 'mte' or 'weights'"),
    (["estimate", "lc3.yaml", "lc3.csv", "--truth", "list.json"], "truth must be a JSON object"),
    (["estimate", "lc3.yaml", "lc3.csv", "--truth", "ate.json"], "'ate' must be a number"),
    (["estimate", "lc3.yaml", "lc3.csv", "--truth", "bigint.json"], "4301 digits"),
    (["estimate", "lc3.yaml", "lc3.csv", "--plot", "nowhere/x.png"], "does not exist"),
    (["estimate", "lc3.yaml", "lc3.csv", "--plot", "x.txt"], "must end in"),
    (["simulate", "lc3.yaml", "-n", "1e23", "-o", "x.csv"], "-n"),
    (["simulate", "lc3.yaml", "-n", "100000000000000000000000", "-o", "x.csv"], "-n must be an integer"),
    (["simulate", "lc3.yaml", "-n", "100", "-o", "nowhere/x.csv"], "does not exist"),
    (["simulate", "lc3.yaml", "-n", "100", "-o", "x.csv", "--truth", "nowhere/t.json"], "does not exist"),
    (["simulate", "lc3.yaml", "-n", "100", "-o", ".", "--seed", "1"], "must end in .csv or .parquet"),
    (["simulate", "lc3.yaml", "-n", "100", "-o", "x.csv", "--params", "params.json"], "must be a number"),
    (["simulate", "lc3.yaml", "-n", "100", "-o", "x.csv", "--params", "list.json"], "JSON object"),
    (["validate", "lc3.yaml", "--n", "1e30"], "--n"),
    (["validate", "lc3.yaml", "--runs", "100000000000"], "--runs"),
    (["validate", "lc3.yaml", "--out", "lc3.csv"], "is a file"),
    (["demo", "-n", "100000000000"], "-n"),
]


@pytest.mark.parametrize("args,fragment", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_hostile_input_exits_2_with_one_line(args, fragment, files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err and len(err.strip().splitlines()) == 1 and "internal error" not in err, err
    assert len(err) < 400  # nothing unbounded is echoed
    assert not (files / "x.csv").exists()  # refused before any work


def test_bounds_that_must_stay_allowed():
    fifty = Design.latent_class([f"Q{i}" for i in range(50)], classes=10)  # a survey identify must answer
    assert len(fifty.names) == 50 and n_parameters(fifty) == Model(fifty).n_params
    big = Design.from_dict({"latent": {"classes": 10**6}, "variables": {v: {"categories": 2} for v in "ABC"}})
    assert big.classes == 10**6  # loads: identify answers it by counting dimensions
    with pytest.raises(DesignError, match="at most 100"):
        fit(big, {v: [0, 1] * 10 for v in "ABC"})
    nested = {"variables": {"A": {"categories": 2}}}
    for _ in range(MAX_DEPTH):
        nested = {"name": "x", "variables": nested["variables"]}
    assert Design.from_dict(nested).names == ("A",)


def test_columns_are_refused_by_type():
    d = Design.latent_class(list("ABC"))
    rows = {v: np.arange(20) % 2 for v in "ABC"}
    with pytest.raises(DataError, match="column 'A' holds complex numbers"):
        fit(d, {**rows, "A": rows["A"].astype(complex)})
    with pytest.raises(DataError, match="non-numeric value '1'"):
        fit(d, {**rows, "A": np.array(["1", "0"] * 10, dtype=object)})
    with pytest.raises(DataError, match="non-numeric value 1000000000"):
        fit(d, {**rows, "A": np.array([10**30] * 20, dtype=object)})


def test_markup_in_a_design_name_is_printed_as_text(tmp_path, capsys):
    f = tmp_path / "m.yaml"
    f.write_text('name: "[bold red]x[/]"\n' + LC3)
    assert main(["identify", str(f)]) == 0
    assert "[bold red]x[/]" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------- data hygiene
def test_degenerate_rows_give_a_data_error_naming_the_proxies():
    rows = {"Z": [0] * 10, "X": [0] * 10, "T": [0, 1] * 5, "Y": [0] * 5 + [1] * 5}
    for estimator in ("spo", "proximal"):
        with pytest.raises(DataError, match=r"M\[Z,X\|T=0\] has rank 1 .* proxies Z, X"):
            fit("paper-level3", rows, estimator=estimator)
    with pytest.raises(DataError, match=r"cp: parameter p_\w+ is not determined by these data"):
        fit("paper-level3", rows, estimator="cp", seed=0)


def test_a_declared_category_never_observed_is_named():
    d = Design.from_dict({"variables": {"Z": {"categories": 4}, "X": {"categories": 4}, "T": {"categories": 2},
                                        "Y": {"categories": 2}},
                          "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
    data, _ = simulate("paper-level3", 5000, seed=0)  # Z and X use codes 0 and 1 of their 4
    r = fit(d, data, estimator="spo")
    assert "categories 2, 3 of 'Z' never occur in the data: their probabilities are estimated at 0" in r.warnings
    assert np.isfinite(r.to_dict()["ate"]["estimate"])
    small = data.assign(Z=0)
    with pytest.raises(DataError, match="has rank 1"):
        fit(d, small, estimator="spo")


def test_one_class_is_identified_and_estimated_alike():
    d = Design.from_dict({"latent": {"classes": 1}, "variables": {v: {"categories": 2} for v in "ZXTY"},
                          "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
    assert place(d).targets["labels"].method == "adjustment"
    params = random_params(d, seed=0)
    data, t = simulate(d, 20_000, params=params, seed=1)
    for estimator in ("auto", "adjustment"):
        r = fit(d, data, estimator=estimator, seed=0, interval="wald")
        assert r.to_dict()["mte"][0]["weight"] == 1.0
        assert abs(r.to_dict()["ate"]["estimate"] - t.ate) < 0.03


def test_the_residual_warning_is_held_to_sampling_noise():
    moments = [1.0, 0.5, 0.25 + 3e-5]  # one atom; m_2 off by 3e-5, noise at 5,000,000 rows is 2e-4
    warned = lambda sol: any(w.startswith("moments not reproduced") for w in sol.warnings)  # noqa: E731
    assert warned(solve_atoms(moments, 1))  # exact moments: any residual is a real misfit
    assert not warned(solve_atoms(moments, 1, noise=0.5 / np.sqrt(5e6)))
    assert warned(solve_atoms(moments, 1, noise=0.5 / np.sqrt(1e12)))
    assert warned(solve_atoms([1.0, 0.5, 0.5], 1, noise=0.5 / np.sqrt(1e4)))  # variance 1/4: far beyond noise


def test_constructive_estimators_read_marginals_of_observed_patterns(monkeypatch):
    d = Design.builtin("paper-level3")
    params = random_params(d, seed=3, min_effect_gap=0.3)
    data, _ = simulate(d, 20_000, params=params, seed=0)
    dense = {e: fit(d, data, estimator=e, seed=0).to_dict() for e in ("spo", "cp", "proximal")}
    monkeypatch.setattr(data_module, "MAX_DENSE_CELLS", 4)  # every table is now kept as patterns
    for e, want in dense.items():
        got = fit(d, data, estimator=e, seed=0, bootstrap=3).to_dict()
        assert got["ate"]["estimate"] == pytest.approx(want["ate"]["estimate"], abs=1e-9), e
        assert got["ate"]["ci"] is not None
    assert population_moments(d, params).shape == (2, 2, 2, 2)


# ---------------------------------------------------------------------------------------------------------------
# Issue 22 (outside the checker): every hostile input ends in exit 2 with one line, or a DataError / DesignError.

MIXID = str(Path(sysconfig.get_path("scripts")) / "mixid")
CONTINUOUS_Y = {"variables": {"Z": {"type": "categorical", "categories": 2},
                              "X": {"type": "categorical", "categories": 2},
                              "T": {"type": "categorical", "categories": 2},
                              "Y": {"type": "continuous", "features": 3}},
                "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]}


def _exit_2(args, capsys, *fragments):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture(scope="module")
def level3(tmp_path_factory):
    """paper-level3 data (CSV) and its truth, in a folder of their own."""
    d = tmp_path_factory.mktemp("level3")
    data, truth = simulate("paper-level3", 300, seed=0)
    data.to_csv(d / "data.csv", index=False)
    (d / "truth.json").write_text(json.dumps(truth.to_dict()))
    return d


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_truth_file_with_nan_or_infinity_is_refused_on_read(level3, tmp_path, capsys, constant):
    text = (level3 / "truth.json").read_text()
    key = '"ate": '
    start = text.index(key) + len(key)
    end = min(i for i in (text.index(",", start), text.index("}", start)))
    (tmp_path / "t.json").write_text(text[:start] + constant + text[end:])
    _exit_2(["estimate", "paper-level3", str(level3 / "data.csv"), "--truth", str(tmp_path / "t.json"), "--json"],
            capsys, constant.lstrip("-"), "strict JSON")


def test_plugins_never_import_from_the_current_folder_first(tmp_path):
    marker = tmp_path / "shadowed"
    (tmp_path / "scipy.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit('shadow scipy ran')\n")
    (tmp_path / "my_plugin.py").write_text(
        "from mixid.estimate.proximal import proximal\n\n\ndef ate(mo):\n    return proximal(mo, ('Z',), ('X',), 2)\n")
    ok = subprocess.run([MIXID, "validate", "paper-level4", "--n", "1e3", "--runs", "1", "--out", "v",
                         "--plugin", "./my_plugin.py:ate"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "./my_plugin.py:ate" in ok.stdout and not marker.exists()
    # a module name is looked up among the installed packages only; the error says how to give a file
    bad = subprocess.run([MIXID, "validate", "paper-level4", "--plugin", "my_plugin:ate"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    assert bad.returncode == 2 and "./" not in bad.stderr and "my_plugin.py:ate" in bad.stderr, bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not marker.exists()


def test_a_plugin_function_that_does_not_exist_is_refused_before_the_module_runs(tmp_path):
    (tmp_path / "loud.py").write_text("print('IMPORT-TIME CODE RAN')\n\n\ndef ate(mo):\n    return None\n")
    for spec in ("this:x", "./loud.py:nope"):  # the standard library's `this` prints the Zen of Python on import
        r = subprocess.run([MIXID, "validate", "paper-level4", "--plugin", spec], capture_output=True, text=True,
                           cwd=tmp_path, timeout=300)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "defines no" in r.stderr and "Zen of Python" not in r.stdout and "IMPORT-TIME" not in r.stdout


@pytest.mark.parametrize("scale", [1e200, 1e120])
def test_continuous_values_near_the_float_range_are_a_data_error_naming_the_column(scale):
    d = Design.from_dict(CONTINUOUS_Y)
    data, _ = simulate(d, 2000, seed=0)
    data["Y"] = data["Y"] * scale
    for estimator in ("spo", "md", "auto"):
        with pytest.raises(DataError, match="column 'Y'.*overflow"):
            fit(d, data, estimator=estimator)


def test_the_divides_by_zero_message_says_overflow_when_that_is_the_cause(monkeypatch):
    import importlib

    fit_module = importlib.import_module("mixid.estimate.fit")
    d = Design.from_dict(CONTINUOUS_Y)
    data, _ = simulate(d, 2000, seed=0)
    data["Y"] = data["Y"] * 1e100
    real = fit_module.compile_estimator

    def nan_estimator(*args, **kwargs):  # an estimator whose products overflowed into a NaN ATE
        name, run = real(*args, **kwargs)

        def nan(mo, **kw):
            est = run(mo, **kw)
            est.ate = float("nan")
            return est
        return name, nan

    monkeypatch.setattr(fit_module, "compile_estimator", nan_estimator)
    with pytest.raises(DataError, match="overflow") as info:
        fit(d, data, estimator="proximal")
    assert "divides by is 0" not in str(info.value)


def _full(tmp_path, name):
    link = tmp_path / name
    link.symlink_to("/dev/full")
    return str(link)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_full_or_unwritable_outputs_exit_2_with_one_line(level3, tmp_path, capsys):
    long = "x" * 300
    _exit_2(["simulate", "paper-level3", "-n", "50", "-o", _full(tmp_path, "full.csv")], capsys, "cannot write")
    _exit_2(["simulate", "paper-level3", "-n", "50", "-o", str(tmp_path / f"{long}.csv")], capsys, "longer than")
    _exit_2(["simulate", "paper-level3", "-n", "50", "-o", str(tmp_path / "nofolder" / "d.csv")], capsys,
            "does not exist")
    _exit_2(["estimate", "paper-level3", str(level3 / "data.csv"), "--plot", _full(tmp_path, "full.png")], capsys,
            "cannot write --plot")
    _exit_2(["estimate", "paper-level3", str(level3 / "data.csv"), "--plot", str(tmp_path / f"{long}.png")], capsys,
            "longer than")
    _exit_2(["validate", "paper-level4", "--n", "1e3", "--runs", "1", "--out", str(tmp_path / long)], capsys,
            "longer than")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_simulate_leaves_no_data_behind_when_the_truth_cannot_be_written(tmp_path, capsys):
    data = tmp_path / "d.csv"
    _exit_2(["simulate", "paper-level3", "-n", "50", "-o", str(data), "--truth", _full(tmp_path, "full.json")],
            capsys, "cannot write --truth")
    assert not data.exists()
    _exit_2(["simulate", "paper-level3", "-n", "50", "-o", str(data), "--truth", str(tmp_path / ("t" * 300 + ".json"))],
            capsys, "longer than")
    assert not data.exists()


def test_a_wrong_data_path_fails_before_the_design_is_placed(tmp_path, monkeypatch):
    import importlib

    fit_module = importlib.import_module("mixid.estimate.fit")
    monkeypatch.setattr(fit_module, "_cached_place", lambda design: pytest.fail("the design was placed"))
    (tmp_path / "data.txt").write_text("T,Y\n")
    for path, message in ((tmp_path / "nope.csv", "does not exist"), (tmp_path, "is a folder, not a regular file"),
                          (tmp_path / "data.txt", r"must end in \.csv or \.parquet"),
                          (tmp_path / "data.txt" / "x.csv", "does not exist"),
                          (tmp_path / ("x" * 300 + ".csv"), "cannot read data file .*: File name too long")):
        with pytest.raises(DataError, match=message):
            fit("paper-level3", str(path))
        with pytest.raises(DataError, match=message):
            fit("paper-level3", path)  # a Path too


def test_any_path_like_object_names_a_data_file(level3):
    from mixid import Design, sufficient_stats

    design = Design.builtin("paper-level3")

    class Located:  # an os.PathLike that is neither str nor pathlib.Path
        def __fspath__(self):
            return str(level3 / "data.csv")

    assert sufficient_stats(design, Located()).n == sufficient_stats(design, level3 / "data.csv").n == 300


def test_a_folder_or_a_ragged_csv_as_data_is_a_data_error(level3, tmp_path, capsys):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder"):
        fit("paper-level3", str(folder))
    _exit_2(["estimate", "paper-level3", str(folder)], capsys, "is a folder")
    lines = (level3 / "data.csv").read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0]  # the fifth data row loses its last field
    (tmp_path / "ragged.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 6 has 3 fields, the header 4 \(lines counted from 1, the header"):
        fit("paper-level3", str(tmp_path / "ragged.csv"))
    lines = (level3 / "data.csv").read_text().splitlines()
    lines[7] += ",1"  # a long row is refused too
    (tmp_path / "long.csv").write_text("\n".join(lines) + "\n")
    _exit_2(["estimate", "paper-level3", str(tmp_path / "long.csv")], capsys, "line 8 has 5 fields")


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="needs FIFOs and /dev/zero")
def test_a_fifo_or_a_device_as_data_exits_2_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    for name, kind in (("fifo.csv", "a FIFO"), ("zero.csv", "a character device")):  # would block, or read without end
        r = subprocess.run([MIXID, "estimate", "paper-level3", name], capture_output=True, text=True, cwd=tmp_path,
                           timeout=60)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert kind in r.stderr and "not a regular file" in r.stderr


def test_validate_refuses_a_plain_one_class_design_in_one_line(tmp_path, capsys):
    (tmp_path / "one.yaml").write_text("latent: {classes: 1}\n" + LC3)
    _exit_2(["validate", str(tmp_path / "one.yaml"), "--n", "100,1000", "--runs", "1", "--out", str(tmp_path / "v")],
            capsys, "no treatment and outcome")


def test_demo_runs_at_its_documented_minimum_of_10_rows(capsys):
    assert main(["demo", "-n", "10"]) == 0
    out = capsys.readouterr().out
    assert "the naive difference in means is off by" in out


def test_fit_refuses_another_designs_placement():
    data, _ = simulate("paper-level3", 500, seed=0)
    with pytest.raises(DesignError, match="placement is of design 'paper-level2', not of design 'paper-level3'"):
        fit("paper-level3", data, placement=place("paper-level2"))
    with pytest.raises(DesignError, match="placement must be a Placement"):
        fit("paper-level3", data, placement="paper-level3")
    assert fit("paper-level3", data, placement=place(Design.builtin("paper-level3")), seed=0,
               interval="wald").level == 2


def test_wrong_types_of_the_main_arguments_are_design_or_data_errors():
    d = Design.builtin("paper-level3")
    for bad in (123, None, 1.5, ["paper-level3"]):
        with pytest.raises(DesignError, match="a design must be a Design, a built-in name or a design file"):
            place(bad)
        with pytest.raises(DesignError, match="a design must be"):
            simulate(bad, 10)
        with pytest.raises(DesignError, match="a design must be"):
            fit(bad, {"Z": [0]})
    with pytest.raises(DesignError, match="seed must be a non-negative integer"):
        place(d, seed="x")
    with pytest.raises(DesignError, match="error must be a probability"):
        place(d, error="x")
    with pytest.raises(DesignError, match="placement must be a Placement"):
        fit(d, {"Z": [0]}, placement=3)
