"""The course notebooks as tests: each one runs top to bottom, every code cell in order, and fails on the first
cell that raises.

They run inside the test process, each in a fresh IPython shell (its own namespace, the notebook's folder as the
working folder, figures drawn and closed after each cell as the inline backend does), not each in a new kernel:
a kernel's start and the imports of mixid and matplotlib cost about three seconds per notebook, a third of the
course's share of the suite. What the process shares between notebooks and tests is put back after each
notebook: working folder, import path, warning filters, numpy's print options and matplotlib's settings.
``pytest --nbmake theory_notebooks`` (nbmake is in the test extra) still runs each in its own kernel, and
``python -m theory_notebooks`` writes the committed outputs from fresh kernels.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import traceback
import warnings
from pathlib import Path

import pytest


class CellError(Exception):
    """A notebook cell raised: the notebook, the cell and the error."""


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ipynb" and not parent.config.getoption("nbmake", default=False):
        return Notebook.from_parent(parent, path=file_path)
    return None


class Notebook(pytest.File):
    def collect(self):
        yield NotebookRun.from_parent(self, name=self.path.name)


class NotebookRun(pytest.Item):
    def runtest(self):
        run_notebook(self.path)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CellError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"notebook {self.path.name}"


def run_notebook(path: Path) -> None:
    """Run every code cell of the notebook at ``path`` in a fresh IPython shell; CellError on the first failure."""
    import matplotlib
    import nbformat
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = nbformat.read(path, as_version=4)
    config = Config()
    config.HistoryManager.enabled = False  # no history database in the user's home
    with contextlib.ExitStack() as undo:  # undone in reverse order: the shell first, then the process's state
        undo.enter_context(warnings.catch_warnings())  # the shell's own filters too
        undo.enter_context(np.printoptions())
        undo.enter_context(matplotlib.rc_context())
        undo.callback(setattr, sys, "path", list(sys.path))
        undo.callback(os.chdir, os.getcwd())
        os.chdir(path.parent)
        undo.callback(plt.close, "all")
        warnings.filterwarnings("ignore", "FigureCanvasAgg is non-interactive")  # plt.show() without a screen
        shell = InteractiveShell(config=config)
        undo.callback(atexit.unregister, shell.atexit_operations)
        undo.callback(shell.reset, new_session=False)  # the notebook's objects go when it ends
        undo.callback(shell.cleanup)  # sys.modules["__main__"] and the standard streams as they were
        for number, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
            result = shell.run_cell(cell.source, store_history=False)
            error = result.error_before_exec or result.error_in_exec
            if error is None:
                try:  # what the inline backend shows: each figure drawn, then closed
                    for figure in map(plt.figure, plt.get_fignums()):
                        figure.canvas.draw()
                except Exception as exc:  # a figure that cannot be drawn fails its cell, as in a kernel
                    error = exc
                plt.close("all")
            if error is None:
                continue
            source = "\n".join("    " + line for line in cell.source.splitlines()[:12])
            shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            raise CellError(f"{path.name}, code cell {number}, raised {type(error).__name__}: {error}\n\n{source}\n\n"
                            f"{shown}")
