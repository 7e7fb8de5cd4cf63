"""Re-execute the course notebooks in place, so that the committed copies carry current outputs.

From the repository root (after ``pip install -e '.[test]'``, which brings nbclient and ipykernel)::

    python -m theory_notebooks                   # every notebook, in order, each followed by its solutions
    python -m theory_notebooks 03 04             # the notebooks whose names start with 03 or 04, with solutions

The exercises' solutions live in ``theory_notebooks/solutions/NN_solutions.ipynb`` (so that a teacher can hand
out the course without them): ``python -m theory_notebooks 03`` runs ``03_...ipynb``, then
``solutions/03_solutions.ipynb``. Each notebook runs top to bottom in a fresh ``python3`` kernel whose working
folder is the notebook's own (as when the test suite runs it), and is written back with its outputs. A cell that
raises stops that notebook with its error and leaves the file untouched; the exit code is the number of notebooks
that failed. Each notebook's execution time is printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 1200) -> None:
    """Run one notebook in a fresh kernel and write it back with its outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    prefixes = (sys.argv[1:] if argv is None else argv) or [""]
    found = [*HERE.glob("*.ipynb"), *HERE.glob("solutions/*.ipynb")]
    in_order = sorted(found, key=lambda p: (p.name[:2], p.parent.name == "solutions", p.name))  # lesson, solutions
    notebooks = [p for p in in_order if any(p.name.startswith(x) for x in prefixes)]
    if not notebooks:
        print(f"no notebook in {HERE} starts with {' or '.join(prefixes)}", file=sys.stderr)
        return 1
    failed, start = 0, time.perf_counter()
    for path in notebooks:
        t0 = time.perf_counter()
        try:
            execute(path)
        except Exception as exc:  # a failing cell: report it and go on with the next notebook
            failed += 1
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"FAILED {path.name}: {first}", file=sys.stderr)
            continue
        print(f"executed {path.name} in {time.perf_counter() - t0:.0f} s")
    if len(notebooks) > 1:
        print(f"{len(notebooks) - failed} of {len(notebooks)} notebooks in {time.perf_counter() - start:.0f} s")
    return failed


if __name__ == "__main__":
    sys.exit(main())
