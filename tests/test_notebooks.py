"""The course notebooks are committed executed: every code cell ran, top to bottom, in one fresh python3 kernel,
without an error, and the outputs are in the file. CI re-executes them with ``pytest --nbmake`` (the solutions in
``theory_notebooks/solutions/`` too); ``python -m theory_notebooks`` refreshes the committed outputs.

Every numbered lesson (01, 02, ...) opens with its goal and what the reader can do after it, ends with exercises,
and has its solutions in ``solutions/NN_solutions.ipynb``; ``00_glossary.ipynb`` defines the words."""

from __future__ import annotations

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
