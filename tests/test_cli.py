"""The mixid command line: outputs and exit codes (0 ok, 2 bad input with one line, 1 otherwise)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from estimate.cli import main


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


def test_demo(capsys):
    code, out, _ = run(["demo"], capsys)
    assert code == 0 and "paper-level3" in out and "paper-level4" in out


@pytest.mark.skipif(shutil.which("mixid") is None, reason="console script not installed")
def test_console_script_exit_codes():
    ok = subprocess.run(["mixid", "identify", "paper-level2", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["level"] == 2
    bad = subprocess.run(["mixid", "identify", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "estimate.cli", "identify", "paper-level1", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout)["level"] == 1
