"""The mixid command line: outputs and exit codes (0 ok, 2 bad input with one line, 1 otherwise)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from mixid.cli import main


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_identify_text(capsys):
    code, out, _ = run(["identify", "paper-level3"], capsys)
    assert code == 0 and "level 2" in out and "kruskal_per_arm" in out and "kruskal_pooled" in out


def test_identify_json(capsys):
    code, out, _ = run(["identify", "paper-level4", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["level"] == 4
    assert d["targets"]["mte"]["verdict"] == "not_identifiable"
    assert d["targets"]["ate"]["certificate"]["kind"] == "constructive"


def test_identify_latex(capsys):
    code, out, _ = run(["identify", "paper-level3", "--latex"], capsys)
    assert code == 0 and out.startswith("\\begin{aligned}") and "\\gamma" in out


def test_identify_file(tmp_path, capsys):
    f = tmp_path / "d.yaml"
    f.write_text("variables: {A: {type: categorical, categories: 3}, B: {type: categorical, categories: 3},"
                 " T: {type: categorical, categories: 2}, Y: {type: categorical, categories: 2}}\n"
                 "treatment: T\noutcome: Y\nedges: [A -> T, T -> Y]\n")
    code, out, _ = run(["identify", str(f), "--json"], capsys)
    assert code == 0 and json.loads(out)["design"]["name"] == "d"


@pytest.mark.parametrize("args,fragment", [
    (["identify", "no-such-design"], "neither a file nor a built-in"),
    (["identify", "paper-level3", "--error", "3"], "--error"),
    (["identify", "paper-level3", "--bogus"], "No such option"),
])
def test_bad_input_exits_2_with_one_line(args, fragment, capsys):
    code, _, err = run(args, capsys)
    assert code == 2
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_design_file_exits_2(tmp_path, capsys):
    f = tmp_path / "cyc.yaml"
    f.write_text("variables: {T: {type: categorical, categories: 2}, Y: {type: categorical, categories: 2}}\n"
                 "treatment: T\noutcome: Y\nedges: [Y -> T]\n")
    code, _, err = run(["identify", str(f)], capsys)
    assert code == 2 and "ancestor of treatment" in err


def test_demo(tmp_path, capsys):
    fig = tmp_path / "demo.png"
    code, out, _ = run(["demo", "--figure", str(fig), "-n", "50000", "--bootstrap", "50"], capsys)
    assert code == 0 and "paper-level3" in out and "naive difference in means is off by" in out
    assert fig.stat().st_size > 1000


@pytest.mark.skipif(shutil.which("mixid") is None, reason="console script not installed")
def test_console_script_exit_codes():
    ok = subprocess.run(["mixid", "identify", "paper-level2", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["level"] == 2
    bad = subprocess.run(["mixid", "identify", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "mixid.cli", "identify", "paper-level1", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["level"] == 1


def test_simulate_then_estimate_round_trip(tmp_path, capsys):
    design = tmp_path / "k3.yaml"
    design.write_text("latent: {classes: 3}\nvariables:\n  Z: {type: categorical, categories: 4}\n"
                      "  X: {type: categorical, categories: 4}\n  T: {type: categorical, categories: 2}\n"
                      "  Y: {type: categorical, categories: 2}\ntreatment: T\noutcome: Y\nedges: [Z -> T, T -> Y]\n")
    params = tmp_path / "p.json"
    from mixid import Design, random_params, truth
    from tests.test_estimate import separated_params

    d = Design.from_file(design)
    point = separated_params(d, 1, gap=0.3)[0]
    params.write_text(json.dumps({"params": point}))
    data, tr = tmp_path / "d.parquet", tmp_path / "t.json"
    code, _, err = run(["simulate", str(design), "-n", "400000", "--seed", "3", "--params", str(params),
                        "-o", str(data), "--truth", str(tr)], capsys)
    assert code == 0 and "wrote 400000 rows" in err
    code, out, _ = run(["estimate", str(design), str(data), "--estimator", "spo", "--bootstrap", "200", "--seed", "1",
                        "--json", "--truth", str(tr)], capsys)
    res = json.loads(out)
    assert code == 0 and res["estimator"] == "spo" and res["n"] == 400000
    truth_ = json.loads(tr.read_text())
    lo, hi = res["ate"]["ci"]
    assert lo <= truth_["ate"] <= hi
    covered = sum(a["effect_ci"][0] <= b["effect"] <= a["effect_ci"][1] for a, b in zip(res["mte"], truth_["mte"]))
    assert covered >= 2  # 95% intervals: all three usually, allow one miss
    assert truth(d, point).ate == pytest.approx(truth_["ate"])
    del random_params


def test_estimate_errors(tmp_path, capsys):
    bad = tmp_path / "d.csv"
    bad.write_text("Z,X,T,Y\n0,1,0,3\n")
    code, _, err = run(["estimate", "paper-level3", str(bad)], capsys)
    assert code == 2 and "integer codes 0..1" in err
    code, _, err = run(["estimate", "paper-level4", str(bad), "--estimator", "spo"], capsys)
    assert code == 2 and "not identifiable" in err
    code, _, err = run(["simulate", "paper-level3", "-n", "10", "-o", str(tmp_path / "x.txt")], capsys)
    assert code == 2 and ".csv or .parquet" in err
    code, _, err = run(["simulate", "paper-level3", "-n", "10", "--params", str(bad), "-o", str(tmp_path / "x.csv")],
                       capsys)
    assert code == 2 and "not valid JSON" in err
