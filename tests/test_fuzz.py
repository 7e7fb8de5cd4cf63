"""Fuzzing the command line (issue 10): random designs (valid or not), random data and random flags never give a
traceback or an internal error; the exit code is 0 or 2 (bad input, one line), and JSON output is valid JSON
without NaN."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixid.cli import main

NAMES = ["A", "B", "C", "D"]
ODD = st.sampled_from([-1, 0, 1, 10**30, "2", None, 2.5, [2], True, "A\n"])


@st.composite
def designs(draw) -> dict:
    """A design mapping: mostly valid (2-4 small categorical variables, 1-3 classes, maybe a treatment, an
    outcome and edges), sometimes with an odd value in one field."""
    names = NAMES[: draw(st.integers(2, 4))]
    spec: dict = {"latent": {"classes": draw(st.integers(1, 3))},
                  "variables": {v: {"type": "categorical", "categories": draw(st.integers(2, 3))} for v in names}}
    if draw(st.booleans()):
        spec["variables"][names[0]]["categories"] = 2
        spec["treatment"], spec["outcome"] = names[0], names[-1]
        if len(names) > 2 and draw(st.booleans()):
            spec["edges"] = [f"{names[1]} -> {names[0]}", f"{names[0]} -> {names[-1]}"]
    if draw(st.integers(0, 4)) == 4:  # one odd field (one design in five)
        where = draw(st.sampled_from(["classes", "categories", "treatment", "edges", "name", "extra"]))
        value = draw(ODD)
        if where == "classes":
            spec["latent"]["classes"] = value
        elif where == "categories":
            spec["variables"][names[-1]]["categories"] = value
        elif where == "extra":
            spec["unknown"] = value
        else:
            spec[where] = value
    return spec


@st.composite
def frames(draw, names: list[str]) -> pd.DataFrame:
    """Rows of small codes (sometimes out of range, missing, text or too few), with the design's columns."""
    n = draw(st.sampled_from([300, 40, 12, 3]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({v: rng.integers(0, 2, n) for v in names})
    damage = draw(st.sampled_from(["none", "none", "none", "range", "missing", "text", "float", "drop", "constant"]))
    col = names[-1]
    if damage == "range":
        frame.loc[0, col] = 7
    elif damage == "missing":
        frame[col] = frame[col].astype(float)
        frame.loc[0, col] = np.nan
    elif damage == "text":
        frame[col] = frame[col].astype(object)
        frame.loc[0, col] = "x"
    elif damage == "float":
        frame[col] = frame[col] + 0.5
    elif damage == "drop":
        frame = frame.drop(columns=col)
    elif damage == "constant":
        frame[:] = 0
    return frame


FLAGS = st.lists(st.sampled_from([  # the valid ones first (hypothesis draws early entries more often)
    ["--seed", "1"], ["--bootstrap", "2"], ["--estimator", "spo"], ["--estimator", "cp"], ["--estimator", "md"],
    ["--estimator", "proximal"], ["--estimator", "adjustment"], ["--columns", "A=B"], ["--seed", "-1"],
    ["--seed", "1e3"], ["--starts", "0"], ["--starts", "100000"], ["--bootstrap", "-1"], ["--bootstrap", "1e9"],
    ["--estimator", "nope"], ["--columns", "=="], ["--plot", "nowhere/p.png"], ["--truth", "missing.json"],
]), max_size=2)


def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"{name} in JSON output")

    return json.loads(text, parse_constant=refuse)


EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 25))  # a longer hunt: FUZZ_EXAMPLES=1000 pytest tests/test_fuzz.py


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=designs(), data=st.data(), flags=FLAGS, as_yaml=st.booleans())
def test_random_designs_data_and_flags_never_crash(spec, data, flags, as_yaml, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz")
    design = folder / ("d.yaml" if as_yaml else "d.json")
    design.write_text(yaml.safe_dump(spec) if as_yaml else json.dumps(spec))
    frame = data.draw(frames([v for v in NAMES if v in spec["variables"]]))
    frame.to_csv(folder / "x.csv", index=False)
    flags = [x.replace("nowhere/", str(folder / "nowhere") + "/").replace("missing.json", str(folder / "m.json"))
             for flag in flags for x in flag]
    command = data.draw(st.sampled_from(["estimate", "simulate", "identify"]))
    if command == "estimate":
        args = ["estimate", str(design), str(folder / "x.csv"), "--json", "--starts", "2", *flags]
    elif command == "simulate":
        n = data.draw(st.sampled_from(["50", "0", "1e23", "-5"]))
        args = ["simulate", str(design), "-n", n, "-o", str(folder / "s.csv"), *[x for x in flags[:2]
                                                                              if x.startswith("--seed")]]
    else:
        args = ["identify", str(design), "--json"]
    code = main(args)
    out = capsys.readouterr()
    assert code in (0, 2), (args, out.err)
    assert "internal error" not in out.err and "Traceback" not in out.err, (args, out.err)
    if code == 2:
        assert len(out.err.strip().splitlines()) == 1, out.err
    elif command != "simulate":
        _strict_json(out.out)
