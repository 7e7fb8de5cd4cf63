"""The mixid command line: outputs and exit codes (0 ok, 2 bad input with one line, 1 otherwise)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from rich.console import Console

import mixid.cli as cli
from mixid.cli import main

# the installed console script (pip puts it beside the interpreter of the environment)
MIXID = str(Path(sysconfig.get_path("scripts")) / "mixid")


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


def test_demo_writes_a_figure_only_when_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["demo", "-n", "50000", "--bootstrap", "20"], capsys)
    assert code == 0 and "paper-level3" in out and "naive difference in means is off by" in out
    assert list(tmp_path.iterdir()) == []  # nothing written unasked
    fig = tmp_path / "demo.png"
    code, out, _ = run(["demo", "-n", "50000", "--bootstrap", "20", "--plot", str(fig)], capsys)
    assert code == 0 and fig.stat().st_size > 1000 and "figure saved to" in out


def test_help_version_and_plain_flags(capsys):
    code, out, _ = run(["-h"], capsys)
    assert code == 0 and "identify" in out and "estimate" in out
    code, out, _ = run(["identify", "-h"], capsys)
    assert code == 0 and "--json" in out and "--latex" in out
    assert "<bool>" not in out  # flags take no value, and the help says so
    assert "<float>" in out or "FLOAT" in out  # options with a value keep their type
    code, out, _ = run(["--version"], capsys)
    import mixid

    assert code == 0 and out.strip() == f"mixid {mixid.__version__}" and mixid.__version__[0].isdigit()
    code, _, err = run(["identify", "paper-level2", "--json", "true"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


def _imports_after(*commands: list[str], expect: int = 0) -> set[str]:
    """Heavy modules imported by running the command line (each command in turn) in one fresh interpreter; every
    command exits with ``expect``."""
    probe = ("import sys\nfrom mixid.cli import main\nimport contextlib, io\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             f"    codes = {{main(args) for args in {list(commands)!r}}}\n"
             "heavy = ('sympy', 'pandas', 'scipy', 'tensorly', 'matplotlib', 'networkx', 'numpy', 'rich.table',"
             " 'rich.progress', 'mixid.identify', 'mixid.estimate')\n"
             "print(','.join(map(str, sorted(codes))), ' '.join(m for m in heavy if m in sys.modules))\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    codes, _, mods = r.stdout.strip().partition(" ")
    assert codes == str(expect), r.stderr[-2000:]
    return set(mods.split())


def test_start_up_imports_only_what_the_command_uses():
    assert _imports_after(["--help"]) <= {"rich.table"}  # typer draws its help with rich; nothing else loads
    assert _imports_after(["--version"]) == set()
    identify = _imports_after(["identify", "paper-level2", "--json"])
    assert not identify & {"pandas", "scipy", "tensorly", "matplotlib", "rich.table", "rich.progress",
                           "mixid.estimate"}
    assert {"sympy", "mixid.identify"} <= identify  # what placing a design needs


def test_a_wrong_data_path_exits_before_the_estimate_stack_loads(tmp_path):
    """A mistyped data file, a folder or a file of another kind is refused before the design is placed and before
    pandas, scipy or mixid.estimate load (the command answers in under a second instead of about two)."""
    (tmp_path / "data.txt").write_text("T,Y\n")
    commands = (["estimate", "paper-level3", str(tmp_path / "nope.csv")], ["estimate", "paper-level3", str(tmp_path)],
                ["select", "paper-level3", str(tmp_path / "data.txt")])
    assert not _imports_after(*commands, expect=2) & {"pandas", "scipy", "mixid.estimate"}


def test_console_script_exit_codes():
    ok = subprocess.run([MIXID, "identify", "paper-level2", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["level"] == 2
    bad = subprocess.run([MIXID, "identify", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    flag = subprocess.run([MIXID, "estimate", "--bogus"], capture_output=True, text=True)
    assert flag.returncode == 2 and flag.stderr.count("\n") == 1 and "No such option" in flag.stderr


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
    code, out, _ = run(["estimate", str(design), str(data), "--estimator", "spo", "--bootstrap", "100", "--seed", "1",
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


def test_latex_escapes_names_and_uses_the_designs_own(tmp_path, capsys):
    f = tmp_path / "named.yaml"
    f.write_text("latent: {name: segment, classes: 2}\n"
                 "variables: {age_group: {type: categorical, categories: 2}, income_band: {type: categorical, "
                 "categories: 2}, got_offer: {type: categorical, categories: 2}, bought: {type: categorical, "
                 "categories: 2}}\ntreatment: got_offer\noutcome: bought\n"
                 "edges: [age_group -> got_offer, got_offer -> bought]\n")
    code, out, _ = run(["identify", str(f), "--latex"], capsys)
    assert code == 0 and out.startswith("\\begin{aligned}")
    for name in ("age_group", "income_band", "got_offer"):
        escaped = "\\mathit{" + name.replace("_", "\\_") + "}"
        assert escaped in out and name not in out.replace(escaped, "")
    assert "\\mathit{bought}(t)" in out and "Y(t)" not in out and "Y\\mid" not in out
    assert "\\mid \\mathit{got\\_offer}{=}t" in out
    assert "full mixture" in out  # the Kruskal certificate's formula is printed too
    from mixid import Design

    graph = Design.from_file(f).latex()  # the design's own LaTeX (notebooks render it)
    assert "\\mathit{age\\_group} \\to \\mathit{got\\_offer}" in graph and graph.startswith("\\mathit{segment}")
    code, out, _ = run(["identify", "paper-level1", "--latex"], capsys)  # adjustment, with U observed
    assert code == 0 and "P(U{=}u)" in out
    # the formulas typeset: matplotlib's mathtext parses each line (it has no aligned environment or \mathbb)
    from matplotlib.mathtext import MathTextParser

    parser = MathTextParser("agg")
    body = out.strip().removeprefix("\\begin{aligned}").removesuffix("\\end{aligned}")
    for row in body.split("\\\\ "):
        formula = row.split(":&\\ ", 1)[1].replace("\\mathbb{M}", "M").replace("\\textstyle", "")
        formula = formula.replace("\\operatorname{eig}", "\\mathrm{eig}").replace("\\le ", "\\leq ")
        parser.parse(f"${formula}$")


def test_plugin_loads_from_a_file_path(tmp_path, capsys, monkeypatch):
    (tmp_path / "my_plugin.py").write_text(
        "from mixid.estimate.proximal import proximal\n\n\n"
        "def ate(mo):\n    return proximal(mo, ('Z',), ('X',), 2)\n")
    (tmp_path / "broken_plugin.py").write_text("import no_such_module_anywhere\n\n\ndef ate(mo):\n    pass\n")
    (tmp_path / "raising_plugin.py").write_text("raise RuntimeError('boom\\nsecond line')\n\n\ndef f(mo):\n    pass\n")
    # the installed command, run from that folder, as a user would (no PYTHONPATH): a local plugin by its path
    ok = subprocess.run([MIXID, "validate", "paper-level4", "--n", "1e3", "--runs", "1", "--out", "v",
                         "--plugin", "./my_plugin.py:ate"], capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "my_plugin.py:ate" in ok.stdout and (tmp_path / "v" / "validate.png").exists()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored afterwards
    for spec, fragment in (("./broken_plugin.py:ate", "ModuleNotFoundError"), ("./my_plugin.py:nope", "defines no"),
                           ("nope_module:f", "no installed module"), ("my_plugin", "module:function"),
                           ("my_plugin:ate", "path/to/my_plugin.py:ate"), ("./missing.py:f", "no file"),
                           ("./raising_plugin.py:f", "RuntimeError: boom")):
        code, _, err = run(["validate", "paper-level4", "--plugin", spec], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, err
        assert "Traceback" not in err


@pytest.fixture
def renamed_csv(tmp_path):
    """paper-level4 data whose columns are named as a user would name them, plus one column the design ignores."""
    from mixid import simulate

    data, tr = simulate("paper-level4", 20_000, seed=4)
    frame = data.rename(columns={"Z": "age_group", "X": "income", "T": "treated", "Y": "outcome"})
    frame["region"] = 1
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    return path, tr


def test_estimate_with_columns_and_an_extra_column(renamed_csv, capsys):
    path, tr = renamed_csv
    cols = "Z=age_group,X=income,T=treated,Y=outcome"
    # the columns, the notice and the estimate only: Wald intervals (no profile search)
    code, out, err = run(["estimate", "paper-level4", str(path), "--columns", cols, "--json", "--interval", "wald"],
                         capsys)
    res = json.loads(out)
    assert code == 0 and res["estimator"] == "mle" and res["n"] == 20_000
    notice = "ignored 1 column the design does not use: region"
    assert notice in res["warnings"] and f"warning: {notice}" in err
    code, out, _ = run(["estimate", "paper-level4", str(path), "--columns", cols, "--interval", "wald"], capsys)
    assert code == 0 and f"warning: {notice}" in out
    assert abs(res["ate"]["estimate"] - tr.ate) < 0.05


@pytest.mark.parametrize("columns,fragment", [
    ("Z=age_group,X=income,T=treated,Y=nope", "column 'nope' (mapped to variable Y) is not in the data"),
    ("Z=age_group,X=age_group,T=treated,Y=outcome", "'Z' and 'X' are both read from column 'age_group'"),
    ("Z=age_group,X=income,T=treated", "missing column 'Y'"),
    ("W=age_group,X=income,T=treated,Y=outcome", "columns maps 'W', which is not a variable"),
    ("Z=age_group,X", "'X' is not VAR=column"),
    ("Z=age_group,,X=income", "'' is not VAR=column"),
    ("Z=age_group,Z=income", "maps variable 'Z' twice"),
    ("Z==age_group", "is not VAR=column"),
])
def test_bad_column_mappings_exit_2_with_one_line(renamed_csv, columns, fragment, capsys):
    path, _ = renamed_csv
    code, _, err = run(["estimate", "paper-level4", str(path), "--columns", columns], capsys)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_continuous_design_bootstraps_from_a_file(tmp_path, capsys, monkeypatch):
    design = tmp_path / "cont.yaml"
    design.write_text("variables:\n  Z: {type: categorical, categories: 2}\n  X: {type: continuous, features: 2}\n"
                      "  T: {type: categorical, categories: 2}\n  Y: {type: continuous, features: 2}\n"
                      "treatment: T\noutcome: Y\nedges: [Z -> T, T -> Y]\n")
    data, tr = tmp_path / "cont.parquet", tmp_path / "truth.json"
    code, _, _ = run(["simulate", str(design), "-n", "30000", "--seed", "1", "-o", str(data), "--truth", str(tr)],
                     capsys)
    assert code == 0
    code, out, err = run(["estimate", str(design), str(data), "--bootstrap", "30", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["bootstrap"]["replicates"] == 30 and res["ate"]["ci"] is not None
    assert any("in memory" in w and "30,000 rows" in w for w in res["warnings"])  # it says what it did
    monkeypatch.setattr("mixid.estimate.data.MEMORY_BUDGET", 1000)  # a file too large for memory
    code, _, err = run(["estimate", str(design), str(data), "--bootstrap", "30"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "over the in-memory budget" in err and "30,000 rows" in err
    # no bootstrap: streamed as before (the output's ATE only: Wald intervals, no distance-metric search)
    code, out, _ = run(["estimate", str(design), str(data), "--interval", "wald"], capsys)
    assert code == 0 and "ATE" in out


def _terminal(monkeypatch) -> io.StringIO:
    """Make the CLI believe stderr is a terminal, drawing into a buffer."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    monkeypatch.setattr(cli, "_err", lambda: console)
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    return buffer


def test_progress_bars_on_a_terminal_only_and_never_with_json(tmp_path, capsys, monkeypatch):
    from mixid import simulate

    data, _ = simulate("paper-level3", 5000, seed=0)
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    args = ["estimate", "paper-level3", str(path), "--bootstrap", "25"]
    code, _, err = run(args, capsys)  # stderr is not a terminal here: no bar (warnings may still be printed)
    assert code == 0 and "25/25" not in err and "bootstrap" not in err
    screen = _terminal(monkeypatch)
    code, _, _ = run(args, capsys)
    assert code == 0 and "bootstrap" in screen.getvalue() and "25/25" in screen.getvalue()
    screen = _terminal(monkeypatch)
    code, out, _ = run(args + ["--json"], capsys)
    shown = screen.getvalue()  # the result's warnings may be there, but no bar
    assert code == 0 and json.loads(out)["bootstrap"]["replicates"] == 25 and "25/25" not in shown
    assert "11/11" not in shown and "━" not in shown
    screen = _terminal(monkeypatch)
    code, _, _ = run(["validate", "paper-level4", "--n", "1e3", "--runs", "3", "--out", str(tmp_path / "v")],
                     capsys)
    assert code == 0 and "validate" in screen.getvalue() and "3/3" in screen.getvalue()


def test_estimate_plot_draws_what_the_design_identifies(tmp_path, capsys):
    from mixid import simulate

    for design in ("paper-level4", "paper-level3"):  # ATE only; the MTE (the figures: tests/test_plots.py)
        data, _ = simulate(design, 5000, seed=0)
        path, fig = tmp_path / f"{design}.csv", tmp_path / f"{design}.png"
        data.to_csv(path, index=False)
        code, _, err = run(["estimate", design, str(path), "--bootstrap", "20", "--plot", str(fig)], capsys)
        assert code == 0 and fig.stat().st_size > 1000 and "figure saved" in err
