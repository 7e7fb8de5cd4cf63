"""Identify at survey scale: time and peak memory of ``place()`` against the number of items.

Plain latent class designs (``Design.latent_class``, no edges): 8 to 100 binary items with k = 3, 4, 5 classes,
4-category items with k = 3 and 5, and k = 10^6 classes (answered by a dimension count, or stopped by the model
size limit). Each design runs in a fresh Python process, so that its peak resident memory is its own:

* ``place_s``: wall time of ``place(design)`` after a warm-up ``place("paper-level1")`` (imports excluded);
* ``cli_s`` (full run only): wall time of ``mixid identify DESIGN.json --json`` end to end, start-up included;
* ``peak_rss_mb``: the child's peak resident set size (``ru_maxrss``) after ``place``, imports included;
  ``base_rss_mb`` is the same after the imports and the warm-up, before ``place``;
* ``largest_marginal``: the most variables in one marginal the Jacobian witness was computed on (the full
  table has ``items`` variables), and ``marginals`` how many there were.

Goals (issue 10): 16 binary items with 3 classes under 5 s, 40 binary items with 4 classes under 20 s, under
1.5 GB; k = 10^6 answered in under 2 s.

Reproduce (from the repository root, after ``pip install -e '.[test]'``; matplotlib for the figure)::

    python benchmarks/bench_survey_identify.py            # full run, a few minutes on 2 cores
    python benchmarks/bench_survey_identify.py --quick    # smoke test

The full run writes ``benchmarks/results/identify_survey.{md,csv,png}``; ``--quick`` writes
``identify_survey_quick.{md,csv,png}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, machine_info, write_results  # noqa: E402

COLUMNS = ["items", "categories", "classes", "parameters", "place_s", "cli_s", "peak_rss_mb", "base_rss_mb",
           "full_mixture", "method", "marginals", "largest_marginal", "goal"]
GOALS = {(16, 2, 3): ("place < 5 s", 5.0), (40, 2, 4): ("place < 20 s", 20.0),
         (4, 2, 10**6): ("answered < 2 s", 2.0), (40, 2, 10**6): ("answered (inconclusive) < 2 s", 2.0)}
RSS_GOAL_MB = 1536

CHILD = """
import json, resource, sys, time
from mixid import Design, place
from mixid.identify.routes import kruskal
from mixid.identify.routes.base import Context
from mixid.identify.routes.jacobian import JacobianRoute
n, cats, k = (int(a) for a in sys.argv[1:4])
place("paper-level1")
design = Design.latent_class({f"Q{i}": cats for i in range(n)}, classes=k)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
p = place(design)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
fm = p.targets["full_mixture"]
marginals = None
if fm.method == "kruskal_pooled":  # the witness's marginals (the placement keeps only the rank)
    ctx = Context(design, seed=0)
    kruskal.pooled(ctx)
    marginals = JacobianRoute(ctx).rank_J.witness.marginals
print(json.dumps({"seconds": seconds, "peak": peak, "base": base, "verdict": f"{fm.verdict} ({fm.scope})",
                  "method": fm.method, "parameters": p.model_info["parameters"],
                  "marginals": len(marginals) if marginals else "",
                  "largest": max(map(len, marginals)) if marginals else ""}))
"""


def child(n: int, cats: int, k: int) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, str(n), str(cats), str(k)], capture_output=True, text=True,
                       timeout=900)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def cli_seconds(n: int, cats: int, k: int) -> float:
    spec = {"name": f"survey-{n}x{cats}-k{k}", "latent": {"classes": k},
            "variables": {f"Q{i}": {"type": "categorical", "categories": cats} for i in range(n)}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "design.json"
        path.write_text(json.dumps(spec))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mixid.cli", "identify", str(path), "--json"], check=True,
                       capture_output=True, timeout=900)
        return time.perf_counter() - t0


def designs(quick: bool) -> list[tuple[int, int, int]]:
    if quick:
        return [(8, 2, 3), (16, 2, 3), (8, 4, 3), (4, 2, 10**6)]
    out = [(n, 2, k) for k in (3, 4, 5) for n in (8, 12, 16, 20, 30, 40, 60, 80, 100)]
    out += [(n, 4, k) for k in (3, 5) for n in (8, 16, 40, 100)]
    return out + [(4, 2, 10**6), (40, 2, 10**6)]


def figure(rows: list[list], stem: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    series: dict[str, list] = {}
    for r in rows:
        if r[2] < 1000:
            series.setdefault(f"{'binary' if r[1] == 2 else f'{r[1]}-category'}, k = {r[2]}", []).append(r)
    for label, rs in series.items():
        xs = [r[0] for r in rs]
        axes[0].plot(xs, [float(r[4]) for r in rs], "o-", ms=4, label=label)
        axes[1].plot(xs, [float(r[6]) for r in rs], "o-", ms=4, label=label)
    axes[0].set_ylabel("place() seconds")
    axes[1].set_ylabel("peak resident memory (MB, whole process)")
    axes[1].axhline(RSS_GOAL_MB, color="grey", ls="--", lw=0.8)
    axes[1].text(axes[1].get_xlim()[0], RSS_GOAL_MB * 0.97, " goal 1.5 GB", va="top", fontsize=8, color="grey")
    for ax in axes:
        ax.set_xlabel("items")
        ax.legend(fontsize=7)
    axes[0].set_title("identify a plain latent class design", fontsize=10)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{stem}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: four small designs, no CLI timing")
    args = ap.parse_args(argv)
    machine = machine_info()
    print(machine, f"load average {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    print(" | ".join(COLUMNS), flush=True)
    for n, cats, k in designs(args.quick):
        out = child(n, cats, k)
        cli = "" if args.quick else f"{cli_seconds(n, cats, k):.2f}"
        goal = ""
        if (n, cats, k) in GOALS:
            text, limit = GOALS[(n, cats, k)]
            met = out["seconds"] < limit and out["peak"] < RSS_GOAL_MB
            goal = f"{text}, < 1.5 GB: {'met' if met else 'NOT met'}"
        rows.append([n, cats, k, out["parameters"], f"{out['seconds']:.3f}", cli, f"{out['peak']:.0f}",
                     f"{out['base']:.0f}", out["verdict"], out["method"], out["marginals"], out["largest"], goal])
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    stem = "identify_survey_quick" if args.quick else "identify_survey"
    cmd = "python benchmarks/bench_survey_identify.py" + (" --quick" if args.quick else "")
    header = (f"# identify at survey scale: place() time and peak memory against the items\n\n{machine}, load "
              f"average {os.getloadavg()[0]:.2f} at the end. `{cmd}`: one fresh process per design; place_s is one "
              "warm run; cli_s is `mixid identify DESIGN.json --json` end to end; peak_rss_mb is the whole "
              "process's peak (imports included), base_rss_mb the same before place().")
    for path in write_results(stem, header, COLUMNS, rows):
        print(f"wrote {path}")
    print(f"wrote {figure(rows, stem)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
