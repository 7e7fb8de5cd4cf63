"""Identify causal survey designs: place() on a treatment T, an outcome Y (T -> Y) and m binary proxies.

Each design runs in a fresh process (the time is one place() call after the imports). ``--before PYTHON`` runs
the same designs with another interpreter (for example the virtual environment of an older checkout) in the same
run, interleaved, and checks that both give the same level, verdicts, scopes and proxy roles.

    python benchmarks/bench_causal_survey.py --before /path/to/old/.venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from harness import machine_info, write_results

CHILD = r"""
import json, sys, time
from mixid import Design, place
spec = json.loads(sys.argv[1])
design = Design.from_dict(spec)
t0 = time.perf_counter()
p = place(design)
seconds = time.perf_counter() - t0
d = p.to_dict()
print(json.dumps({"seconds": seconds, "level": d["level"], "roles": d["roles"],
                  "targets": {n: [t["verdict"], t["scope"]] for n, t in d["targets"].items()}}))
"""

GOALS = {14: 0.2, 38: 1.0}  # seconds for place() (issue: causal surveys fast)


def design(m: int, k: int, to_t: int, to_y: int) -> dict:
    """m binary proxies P0..; the first ``to_t`` point into T, the next ``to_y`` into Y."""
    variables = {f"P{i}": {"type": "categorical", "categories": 2} for i in range(m)}
    variables.update({"T": {"type": "categorical", "categories": 2}, "Y": {"type": "categorical", "categories": 2}})
    edges = ["T -> Y"] + [f"P{i} -> T" for i in range(to_t)] + [f"P{i} -> Y" for i in range(to_t, to_t + to_y)]
    return {"name": f"causal-{m}", "latent": {"classes": k}, "variables": variables, "treatment": "T",
            "outcome": "Y", "edges": edges}


def cases(quick: bool) -> list[tuple[int, int, int, int]]:
    if quick:
        return [(6, 2, 0, 0), (6, 3, 1, 1)]
    return [(m, k, t, y) for m in (14, 38) for k in (2, 3) for t, y in ((0, 0), (1, 1), (3, 3))]


def run(python: str, spec: dict, timeout: float) -> dict | None:
    try:
        r = subprocess.run([python, "-c", CHILD, json.dumps(spec)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


COLUMNS = ["proxies", "k", "proxies -> T", "proxies -> Y", "place_s", "before_s", "speed-up", "level",
           "roles (Z; X)", "same as before", "goal"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: two small designs")
    ap.add_argument("--before", help="another interpreter to time the same designs with (e.g. an older checkout)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds before a 'before' run is stopped")
    args = ap.parse_args(argv)
    machine = f"{machine_info()}, load average {os.getloadavg()[0]:.2f} at start"
    print(machine, flush=True)
    print(" | ".join(COLUMNS), flush=True)
    rows = []
    for m, k, to_t, to_y in cases(args.quick):
        spec = design(m, k, to_t, to_y)
        now = run(sys.executable, spec, args.timeout)
        before = run(args.before, spec, args.timeout) if args.before else None
        roles = now["roles"]
        if before is None:
            before_s = f"> {args.timeout:.0f} (stopped)" if args.before else ""
            speedup = same = ""
        else:
            before_s = f"{before['seconds']:.3f}"
            speedup = f"{before['seconds'] / now['seconds']:.0f}x"
            same = "yes" if all(now[f] == before[f] for f in ("level", "targets", "roles")) else (
                "verdicts yes, roles differ" if (now["level"], now["targets"]) == (before["level"], before["targets"])
                else "NO")
        goal = ""
        if m in GOALS and not to_t and not to_y:
            goal = f"< {GOALS[m]} s: {'met' if now['seconds'] < GOALS[m] else 'NOT met'}"
        rows.append([m, k, to_t, to_y, f"{now['seconds']:.3f}", before_s, speedup, now["level"],
                     "; ".join(",".join(roles[s]) for s in ("treatment_side", "outcome_side")) if roles else "none",
                     same, goal])
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    stem = "causal_survey_quick" if args.quick else "causal_survey"
    cmd = "python benchmarks/bench_causal_survey.py" + (" --quick" if args.quick else " --before OLD_PYTHON")
    header = (f"# identify causal survey designs: place() with a treatment, an outcome and m binary proxies\n\n"
              f"{machine}, {os.getloadavg()[0]:.2f} at the end. `{cmd}`: one fresh process per design and "
              "interpreter; place_s is one place() call after the imports; before_s the same design with the "
              "interpreter given by --before (the code before the proxy-role search stopped early), in the same "
              "run; 'same as before' compares level, every target's verdict and scope, and the proxy roles.")
    for path in write_results(stem, header, COLUMNS, rows):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
