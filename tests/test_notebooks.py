"""The course notebooks are committed executed: every code cell ran, top to bottom, in one fresh python3 kernel,
without an error, and the outputs are in the file. CI re-executes them with ``pytest --nbmake``;
``python -m theory_notebooks`` refreshes the committed outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "theory_notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and any(c.cell_type == "markdown" for c in nb.cells)
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: not executed top to bottom in one run: {counts}"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"], f"{path.name} holds an error"
    with_output = sum(bool(c.outputs) for c in code)
    assert with_output >= len(code) / 2, f"{path.name}: only {with_output} of {len(code)} code cells show output"
    figures = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert figures >= 1, f"{path.name} shows no figure"


def test_the_runner_is_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "python -m theory_notebooks" in readme
