"""Tiny shared benchmark harness: machine info, median timing, a killable timed subprocess, result files."""

from __future__ import annotations

import csv
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# MIXID_BENCH_RESULTS redirects the output (the CI smoke tests write to a temporary folder).
RESULTS = Path(os.environ.get("MIXID_BENCH_RESULTS", Path(__file__).resolve().parent / "results"))


def source_commit() -> str:
    """The commit the benchmark ran on, for result headers ("+ uncommitted changes" when the code differed from
    it; the result files themselves do not count). A result is only as current as the code that produced it."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)benchmarks/results"], cwd=root, capture_output=True, text=True,
                               timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "commit unknown (not a git checkout)"
    return f"commit {sha}" + (" + uncommitted changes" if dirty else "")


def machine_info() -> str:
    """Machine, interpreter and the commit measured, for every result header."""
    return (f"mixid {source_commit()}; python {platform.python_version()} ({platform.python_implementation()}), "
            f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}")


def load_average() -> str:
    """The 1-minute load average now, for result headers: timings taken while other work shares the cores are
    slower (the two sides of a same-run ratio see the same load)."""
    return f"load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else "load average n/a"


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time (seconds) of ``repeats`` calls of ``fn``, and the last call's result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _child(conn, fn, args) -> None:
    t0 = time.perf_counter()
    out = fn(*args)
    conn.send((time.perf_counter() - t0, out))
    conn.close()


def timed_subprocess(fn: Callable, args: tuple, timeout: float) -> tuple[float, object] | None:
    """Run ``fn(*args)`` in a child process; (seconds, result), or None if it was killed at ``timeout``.

    ``fn`` and ``args`` must be picklable (module-level function, plain data). The time is measured inside
    the child, so it excludes process start-up.
    """
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        return parent.recv() if parent.poll(timeout) else None
    except EOFError:  # the child died without answering
        return None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()


def write_results(stem: str, header: str, columns: Sequence[str], rows: Sequence[Sequence]) -> list[Path]:
    """Write ``results/<stem>.csv`` and ``results/<stem>.md`` (header paragraph + table); return the paths."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = RESULTS / f"{stem}.csv", RESULTS / f"{stem}.md"
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(rows)
    lines = [header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    md_path.write_text("\n".join(lines) + "\n")
    return [md_path, csv_path]


def plot_lines(stem: str, x: Sequence[float], series: dict[str, Sequence[float]], xlabel: str, ylabel: str,
               title: str, logx: bool = False) -> Path:
    """A line figure ``results/<stem>.png`` of several series against x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, y in series.items():
        ax.plot(x, y, "o-", label=label, ms=4)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    path = RESULTS / f"{stem}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def run_sections(prefix: str, script: str, sections: dict, doc: str, argv: list[str] | None = None) -> int:
    """The command line shared by the sectioned benchmark scripts: --quick, --only, one table per section.

    ``sections`` maps a name to ``(function(quick) -> rows, columns)``.
    """
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (CI smoke test)")
    ap.add_argument("--only", nargs="*", choices=list(sections), help="run only these sections")
    args = ap.parse_args(argv)
    for name in args.only or sections:
        fn, columns = sections[name]
        t0, load = time.perf_counter(), load_average()
        rows = fn(args.quick)
        header = (f"# {prefix}: {name}\n\n{machine_info()}, {load}. `python benchmarks/{script} --only {name}"
                  f"{' --quick' if args.quick else ''}` ({time.perf_counter() - t0:.0f} s).")
        paths = write_results(f"{prefix}_{name}" + ("_quick" if args.quick else ""), header, columns, rows)
        print(paths[0].read_text())
    return 0
