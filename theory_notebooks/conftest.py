"""The course notebooks as tests: each one runs top to bottom, every code cell in order, and fails on the first
cell that raises, shows a traceback (a display formatter that fails, say) or makes a figure that cannot be drawn.

They run inside the test process, each in a fresh IPython shell (its own namespace, the notebook's folder as the
working folder, figures drawn and closed after each cell as the inline backend does), not each in a new kernel:
a kernel's start and the imports of mixid and matplotlib cost about three seconds per notebook, a third of the
course's share of the suite. What a notebook or the shell changes in the process is put back when the notebook
ends: working folder, import path, builtins, __main__, standard streams, recursion limit, warning filters,
numpy's print options, matplotlib's settings and backend, exit handlers. A cell gets ``CELL_SECONDS``, as under
nbmake. ``pytest --nbmake theory_notebooks`` (nbmake is in the test extra) still runs each in its own kernel, and
``python -m theory_notebooks`` writes the committed outputs from fresh kernels.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import os
import signal
import sys
import tempfile
import threading
import traceback
import warnings
from pathlib import Path

import pytest

CELL_SECONDS = 300  # nbmake's default per cell: a cell that hangs fails instead of holding up the suite


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
    with contextlib.ExitStack() as undo:  # undone in reverse order: the shell first, then the process's state
        undo.callback(sys.setrecursionlimit, sys.getrecursionlimit())  # (importing IPython's jedi raises it)
        saved = dict(builtins.__dict__)  # the shell adds display, get_ipython and __IPYTHON__
        undo.callback(_restore_builtins, saved)
        import matplotlib
        import nbformat
        import numpy as np
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        undo.enter_context(warnings.catch_warnings())  # the shell's own filters too
        undo.enter_context(np.printoptions())
        undo.enter_context(matplotlib.rc_context())
        import matplotlib.pyplot as plt

        undo.callback(plt.switch_backend, matplotlib.get_backend())
        plt.switch_backend("Agg")
        undo.callback(setattr, sys, "path", list(sys.path))
        undo.callback(os.chdir, os.getcwd())
        os.chdir(path.parent)
        undo.callback(plt.close, "all")
        warnings.filterwarnings("ignore", "FigureCanvasAgg is non-interactive")  # plt.show() without a screen
        arm = undo.enter_context(_cell_timer())

        class Shell(InteractiveShell):
            """The shell, remembering every traceback it shows: IPython shows a failing display formatter's and
            goes on, where a kernel reports it as an error of the cell."""

            def showtraceback(self, exc_tuple=None, *args, **kwargs):
                self.shown.append((exc_tuple or sys.exc_info())[1])
                super().showtraceback(exc_tuple, *args, **kwargs)

        config = Config()
        config.HistoryManager.enabled = False  # no history database
        config.InteractiveShell.ipython_dir = undo.enter_context(tempfile.TemporaryDirectory())  # no profile in ~
        shell = Shell.instance(config=config)  # the current shell (get_ipython), as in a kernel
        shell.shown = []
        undo.callback(Shell.clear_instance)
        undo.callback(atexit.unregister, shell.atexit_operations)
        undo.callback(atexit.unregister, shell.magics_manager.registry["ScriptMagics"].kill_bg_processes)
        # the notebook's objects go with the shell (not shell.reset(): its gc.collect() costs 0.2-0.3 s in a full
        # test process, every notebook)
        undo.callback(shell.cleanup)  # sys.modules["__main__"] and the standard streams as they were

        nb = nbformat.read(path, as_version=4)
        for number, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
            shell.shown.clear()
            arm(CELL_SECONDS)
            result = shell.run_cell(cell.source, store_history=False)
            arm(0)
            error = result.error_before_exec or result.error_in_exec or next(iter(shell.shown), None)
            if isinstance(error, KeyboardInterrupt):
                raise error  # Ctrl-C stops the run, as it would any test
            if error is None:
                try:  # what the inline backend shows: each figure drawn, then closed
                    for figure in map(plt.figure, plt.get_fignums()):
                        figure.canvas.draw()
                except Exception as exc:  # a figure that cannot be drawn fails its cell, as under nbmake
                    error = exc
                plt.close("all")
            if error is None:
                continue
            source = "\n".join("    " + line for line in cell.source.splitlines()[:12])
            shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            raise CellError(f"{path.name}, code cell {number}, raised {type(error).__name__}: {error}\n\n{source}\n\n"
                            f"{shown}")


def _restore_builtins(saved: dict) -> None:
    for name in set(builtins.__dict__) - set(saved):
        del builtins.__dict__[name]
    builtins.__dict__.update(saved)


@contextlib.contextmanager
def _cell_timer():
    """A function that arms a TimeoutError in the running cell after its argument's seconds (0 disarms), where the
    process has SIGALRM and this is its main thread; elsewhere it does nothing (no limit)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield lambda seconds: None
        return

    def expire(signum, frame):
        raise TimeoutError(f"the cell ran past {CELL_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        yield signal.alarm
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
