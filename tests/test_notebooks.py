"""The course notebooks are committed executed: every code cell ran, top to bottom, in one fresh python3 kernel,
without an error, and the outputs are in the file. The suite re-executes them (the solutions in
``theory_notebooks/solutions/`` too) in its own process, each in a fresh IPython shell (theory_notebooks/conftest.py;
``pytest --nbmake theory_notebooks`` runs each in a kernel of its own); ``python -m theory_notebooks`` refreshes the
committed outputs from fresh kernels.

Every numbered lesson (01, 02, ...) opens with its goal and what the reader can do after it, ends with exercises,
and has its solutions in ``solutions/NN_solutions.ipynb``; ``00_glossary.ipynb`` defines the words."""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import pytest

COURSE = Path(__file__).resolve().parents[1] / "theory_notebooks"
NOTEBOOKS = sorted(COURSE.glob("*.ipynb"))
SOLUTIONS = sorted((COURSE / "solutions").glob("*.ipynb"))
LESSONS = [p for p in NOTEBOOKS if not p.name.startswith("00")]


def test_notebooks_exist():
    assert len(NOTEBOOKS) >= 5


def executed(path):
    """The notebook, checked to be committed executed top to bottom without errors."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and any(c.cell_type == "markdown" for c in nb.cells)
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not executed top to bottom in one run: {counts}"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"], f"{path.name} holds an error"
    return nb, code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_outputs(path):
    nb, code = executed(path)
    with_output = sum(bool(c.outputs) for c in code)
    assert with_output >= len(code) / 2, f"{path.name}: only {with_output} of {len(code)} code cells show output"
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert figures >= 1, f"{path.name} shows no figure"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_committed_with_outputs(path):
    executed(path)


def test_glossary_defines_the_words():
    text = " ".join(c.source for c in nbformat.read(COURSE / "00_glossary.ipynb", as_version=4).cells).lower()
    for word in ("generic", "local", "global", "up to relabelling", "level", "route", "certificate", "witness",
                 "defective"):
        assert f"**{word}**" in text, word


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_a_lesson_states_its_goal_and_ends_with_exercises(path):
    cells = nbformat.read(path, as_version=4).cells
    opening = cells[0].source
    assert "**Goal.**" in opening and "**After this notebook you can**" in opening, f"{path.name}: no goal"
    assert any("Exercises" in c.source for c in cells[-3:] if c.cell_type == "markdown"), f"{path.name}: no exercises"
    solutions = COURSE / "solutions" / f"{path.name[:2]}_solutions.ipynb"
    assert solutions.exists(), f"{path.name}: no {solutions.name}"
    assert f"solutions/{solutions.name}" in " ".join(c.source for c in cells), f"{path.name} does not point to them"


def test_the_runner_is_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "python -m theory_notebooks" in readme


def course_runner():
    """The suite's in-process notebook runner (theory_notebooks/conftest.py), loaded as a plain module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_runner", COURSE / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("a test notebook"), *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(nb, path)
    return path


def test_the_suite_runs_a_notebook_in_its_own_namespace_and_folder_and_puts_the_process_back(tmp_path):
    """Each code cell in order, in a namespace of its own, from the notebook's folder, with the shell as the current
    one; afterwards the process is as it was (working folder, __main__, import path, builtins, recursion limit,
    numpy's print options, matplotlib's settings and backend, warning filters) and the shell is gone."""
    import builtins
    import gc
    import sys
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np

    runner = course_runner()
    (tmp_path / "note.txt").write_text("read from the notebook's folder")
    path = write_notebook(
        tmp_path / "ok.ipynb",
        "import sys, numpy as np, matplotlib\nfrom pathlib import Path\ntext = Path('note.txt').read_text()",
        "assert __name__ == '__main__' and 'runner' not in dir()\nassert text.startswith('read')\n"
        "import weakref\nsys.shell_probe = weakref.ref(get_ipython())  # the current shell, as in a kernel",
        "np.set_printoptions(precision=2)\nmatplotlib.rcParams['lines.linewidth'] = 7\nsys.path.insert(0, '/nowhere')",
        "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()")

    def state():
        return (Path.cwd(), sys.modules["__main__"], list(sys.path), np.get_printoptions()["precision"],
                matplotlib.rcParams["lines.linewidth"], sorted(builtins.__dict__), sys.getrecursionlimit(),
                matplotlib.get_backend(), sys.displayhook)

    backend = matplotlib.get_backend()
    plt.switch_backend("pdf")  # not the Agg the notebooks run with, so that a backend left behind shows
    try:
        before = state()
        warm = write_notebook(tmp_path / "warm.ipynb", "import warnings\nwarnings.simplefilter('error')")
        runner.run_notebook(warm)  # importing IPython the first time adds warning filters of its own, once
        assert state() == before
        filters = list(warnings.filters)
        runner.run_notebook(path)
        assert state() == before and warnings.filters == filters
    finally:
        plt.switch_backend(backend)
    assert plt.get_fignums() == []
    gc.collect()
    assert sys.__dict__.pop("shell_probe")() is None  # the shell is gone: no exit handler or instance holds it


BAD_HTML = "class Bad:\n    def _repr_html_(self):\n        raise ValueError('no html')\n"


@pytest.mark.parametrize("cells, message", [
    (("x = 1", "def f():\n    return 1 / 0", "f()"), "code cell 3, raised ZeroDivisionError"),
    ((BAD_HTML + "Bad()",), "code cell 1, raised ValueError"),  # a display formatter fails: IPython shows, goes on
    (("from IPython.display import display", BAD_HTML + "display(Bad())"), "code cell 2, raised ValueError"),
    (("import matplotlib.pyplot as plt\nplt.title(r'$\\frac{1$')",), "code cell 1, raised ValueError"),  # not drawable
    (("x = (",), "code cell 1, raised SyntaxError"),
])
def test_the_suite_fails_a_notebook_at_the_cell_that_raises(tmp_path, cells, message):
    runner = course_runner()
    path = write_notebook(tmp_path / "bad.ipynb", *cells, "raise AssertionError('never reached')")
    with pytest.raises(runner.CellError) as err:
        runner.run_notebook(path)
    assert str(err.value).startswith(f"bad.ipynb, {message}") and "never reached" not in str(err.value)


# ------------------------------------------------------------------------------ numbers quoted in the text
# A number the prose of a notebook quotes must be one its outputs print (within the precision quoted), so that
# re-executing a notebook cannot leave its text behind. Integers may also be settings visible in the code (k = 3,
# n = 1000, seeds). Not quotes, so not checked: code spans, links, file names, references ("section 4",
# "notebook 05", "Theorem 3", "check C4"), citations ("Agresti 2002"), list numbers, a lesson's exercises (they
# pose questions), and math that is more than a lone number (a derivation by hand: "$2 + 3 + 6 = 11$" is checked
# by the reader, not by the outputs). A power of ten alone ("about $10^{-15}$") quotes an order of magnitude.
CONSTANTS = {"1.96": "the 97.5 % point of the standard normal distribution (a Wald interval's half-width in se)"}
_REFERENCE = re.compile(r"(?i)\b(?:notebooks?|sections?|exercises?|theorems?|lemmas?|assumptions?|checks?|tables?|"
                        r"steps?|figures?|items?)\s+[A-Z]?\d+(?:\.\d+)?(?:\s*(?:,|and|or|-|–|to)\s*[A-Z]?\d+(?:\.\d+)?)*")
_LONE_MATH = re.compile(r"^\s*[-−+]?(?:\d+(?:\.\d+)?\s*(?:\\times|\\cdot)\s*)?(?:10\^\{?[-−]?\d+\}?|\d+(?:\.\d+)?)"
                        r"\s*(?:\\?%)?\s*$")
_POWER = re.compile(r"(?:(\d+(?:\.\d+)?)\s*(?:\\times|\\cdot)\s*)?\b10\^\{?([-−]?\d+)\}?")
_NUMBER = re.compile(r"(?<![\w.^/])(\d{1,3}(?:[  ]\d{3})+|\d+(?:\.\d+)?|\.\d+)(?:\s*(\\?%)|(?![\w.]))")
_PRINTED = re.compile(r"\d+(?:[_,]\d{3})*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?")
_LEVEL_CLAIM = re.compile(r"\blevel (?:is )?(\d|none),? \(?(global|local)\b|\blevel is (\d|none)\b()")


def _quotable(text: str) -> str:
    """The prose of a markdown cell with what is not a quoted number removed (see above)."""
    text = re.split(r"^#+ .*Exercises", text, flags=re.M)[0]  # a lesson's exercises pose questions, quote nothing
    text = re.sub(r"```.*?```|`[^`]*`|<[^>]+>", " ", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$([^$]*)\$", lambda m: f" {m.group(1)} " if _LONE_MATH.match(m.group(1)) else " ", text)
    text = re.sub(r"\b\d\d_\w+|^#+\s*\d\d\s*·|^\s*\d+\.\s|^\|\s*\d+\s*\|", " ", text, flags=re.M)  # and row numbers
    text = re.sub(r"\b[A-Z][\w-]+,? \(?(?:19|20)\d\d\b", " ", text)  # citations
    return _REFERENCE.sub(" ", text)


def quoted_numbers(text: str) -> list[tuple[str, float, int | None, bool]]:
    """(as written, value, decimals or None for an order of magnitude, is a percentage) for every number quoted in
    a markdown cell's prose."""
    prose, out = _quotable(text), []
    for m in _POWER.finditer(prose):  # "10^{-15}" quotes an order of magnitude, "3 \times 10^5" a value
        exponent = int(m.group(2).replace("−", "-"))
        out.append((m.group(0), float(m.group(1) or 1) * 10.0**exponent, None if m.group(1) is None else
                    max(-exponent, 0) + len((m.group(1) + ".").split(".")[1]), False))
    for m in _NUMBER.finditer(_POWER.sub(" ", prose)):
        written = m.group(1).replace(" ", "").replace(" ", "")
        decimals = len(written.split(".")[1]) if "." in written else 0
        out.append((m.group(0).strip(), float(written), decimals, bool(m.group(2))))
    return out


def _printed(text: str, percent: bool = False) -> list[float]:
    values = []
    for m in _PRINTED.finditer(text):
        if percent and not re.match(r"\s*%", text[m.end():]):
            continue
        values.append(float(m.group(0).replace("_", "").replace(",", "").rstrip(".")))
    return values


def outputs_of(nb) -> tuple[str, str]:
    """The text every code cell printed (streams, plain text, LaTeX), and the code itself."""
    printed, code = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code.append(cell.source)
        for o in cell.outputs:
            if o.output_type == "stream":
                printed.append(o.text)
            for mime in ("text/plain", "text/latex", "text/markdown"):
                if mime in o.get("data", {}) and "image/png" not in o["data"]:
                    printed.append(o["data"][mime])
    return "\n".join(printed), "\n".join(code)


def unsupported_numbers(nb) -> list[str]:
    """The numbers a notebook's markdown quotes that its outputs do not print (nor its code set, for integers)."""
    printed, code = outputs_of(nb)
    values, percents, settings = _printed(printed), _printed(printed, percent=True), _printed(code)
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for written, q, decimals, percent in quoted_numbers(cell.source):
            if written.rstrip(" %\\") in CONSTANTS:
                continue
            if decimals is None:  # an order of magnitude: a printed value within a factor of about three
                ok = any(v > 0 and abs(math.log10(v / q)) <= 0.5 for v in values + settings)
                if not ok:
                    missing.append(f"cell {i}: {written!r}")
                continue
            close = 0.5 * 10.0**-decimals * (1 + 1e-9)
            if percent:
                ok = any(abs(v - q) <= close for v in percents) or any(abs(100 * v - q) < 1e-9 for v in settings)
            else:
                ok = any(abs(v - q) <= close for v in values)
                ok = ok or (decimals == 0 or "10^" in written) and any(abs(v - q) <= 1e-9 * max(1, q) for v in settings)
            if not ok:
                missing.append(f"cell {i}: {written!r}")
        for claim in _LEVEL_CLAIM.findall(_quotable_levels(cell.source)):
            level, scope = claim[0] or claim[2], claim[1]
            said = [line for line in printed.splitlines() if re.search(rf"\blevel {level}\b", line)
                    and (not scope or scope in line)]
            if not said:
                missing.append(f"cell {i}: 'level {level}{', ' + scope if scope else ''}' (no output line says so)")
    return missing


def _quotable_levels(text: str) -> str:
    # level claims about a result ("the level is 4, global", "level 2 (local)"), not the hierarchy's definitions
    return re.sub(r"`[^`]*`", " ", text)


ALL_NOTEBOOKS = NOTEBOOKS + SOLUTIONS


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_number_the_text_quotes_is_printed(path):
    missing = unsupported_numbers(nbformat.read(path, as_version=4))
    assert not missing, f"{path.name}: the text quotes numbers its outputs do not print: {missing}"


def test_the_quote_check_reads_numbers_as_written():
    """The rules above, on sentences of the kinds the course writes."""
    got = {w: (v, d, p) for w, v, d, p in quoted_numbers(
        "At $n = 10^5$ it is 4 %. The ATE drifts from 1.29 to $0.62$ in section 4 of notebook 05; "
        "$2 + 3 = 5$ by hand; 200 000 rows; (Agresti 2002); about $10^{-15}$; `seed=7`.")}
    assert got == {"4 %": (4.0, 0, True), "1.29": (1.29, 2, False), "0.62": (0.62, 2, False),
                   "200 000": (200000.0, 0, False), "10^{-15}": (1e-15, None, False)}


def test_the_quote_check_catches_a_number_the_outputs_do_not_print():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(x)", outputs=[nbformat.v4.new_output("stream", text="share 6 %, ratio 0.62\n"
                                                                                           "level 2 (global)\n")]),
        nbformat.v4.new_markdown_cell("It is 4 % and 0.62; the level is 4, global; level 2 (global).")])
    assert unsupported_numbers(nb) == ["cell 1: '4 %'", "cell 1: '4'",
                                       "cell 1: 'level 4, global' (no output line says so)"]


def test_the_suite_lets_ctrl_c_through_and_times_a_cell_out(tmp_path, monkeypatch):
    runner = course_runner()
    with pytest.raises(KeyboardInterrupt):
        runner.run_notebook(write_notebook(tmp_path / "stop.ipynb", "raise KeyboardInterrupt"))
    monkeypatch.setattr(runner, "CELL_SECONDS", 1)
    with pytest.raises(runner.CellError, match="code cell 2, raised TimeoutError: the cell ran past 1 s"):
        runner.run_notebook(write_notebook(tmp_path / "slow.ipynb", "import time", "time.sleep(30)"))
