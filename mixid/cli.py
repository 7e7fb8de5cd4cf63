"""The ``mixid`` command line: thin rendering around the library (the library never prints).

Exit codes: 0 ok; 2 bad input (one line on stderr naming what is wrong, no traceback); 1 anything else.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from mixid.identify import Placement, place
from mixid.identify.errors import MixidError
from mixid.identify.placement import TARGETS, TITLES

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Prove and measure identifiability in causal mixtures.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

_COLOURS = {"identifiable": "green", "not_identifiable": "red", "inconclusive": "yellow"}


def render(p: Placement, console: Console = out) -> None:
    """A rich report of a placement: level, verdicts with their certificates, roles, failing routes."""
    console.print(f"[bold]{p.design.name}[/bold]: [bold]{p.level_text()}[/bold]"
                  f"  ({p.model_info['parameters']} parameters, {p.model_info['observables']} observables, "
                  f"Jacobian rank {p.model_info['jacobian_rank']})")
    table = Table(show_header=True, header_style="bold")
    for col in ("level", "target", "verdict", "scope", "method", "certificate"):
        table.add_column(col, no_wrap=True)
    table.add_column("why", overflow="fold")
    for i, t in enumerate(TARGETS, start=1):
        v = p.targets[t]
        colour = "yellow" if v.identifiable and v.scope != "global" else _COLOURS.get(v.verdict, "dim")
        table.add_row(str(i), TITLES[t], f"[{colour}]{v.label}[/{colour}]", v.scope, v.method,
                      v.certificate.get("kind", ""), v.reason)
    console.print(table)
    if p.roles:
        console.print(f"roles: Z (treatment side) = {', '.join(p.roles.treatment_side)}; "
                      f"X (outcome side) = {', '.join(p.roles.outcome_side)}")
    failed = [r for r in p.routes if not r.applies]
    if failed:
        console.print("[bold]routes that do not apply[/bold]")
        for r in failed:
            console.print(f"  {r.route} ({r.target}): {r.reason}")
    bad = [c for c in p.conditions if not c.holds]
    if bad:
        console.print("[bold]conditions that fail[/bold]")
        for c in bad:
            console.print(f"  [red]✗[/red] {c.statement}  ({c.route})")


@app.command()
def identify(
    design: str = typer.Argument(..., help="A design file (YAML/JSON) or a built-in name (paper-level1..4)."),
    json_out: bool = typer.Option(False, "--json", help="Print the placement as JSON."),
    latex: bool = typer.Option(False, "--latex", help="Print the identifying formulas in LaTeX."),
    error: float = typer.Option(1e-9, "--error", help="Largest probability of a wrong probabilistic verdict."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random witness points."),
) -> None:
    """Place DESIGN in the identifiability hierarchy, with certificates."""
    if not 0 < error < 1:
        raise MixidError(f"--error must be in (0, 1), got {error}")
    p = place(design, error=error, seed=seed)
    if json_out:
        print(p.to_json(indent=2))
    elif latex:
        print(p.latex())
    else:
        render(p)


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise MixidError(f"cannot read {what} file '{path}': {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise MixidError(f"{what} file '{path}' is not valid JSON: {exc.msg} (line {exc.lineno})") from None


def _read_params(path: Path | None) -> dict | None:
    """A parameter point from JSON: a flat object, or the ``params`` entry of a --truth file."""
    if path is None:
        return None
    raw = _read_json(path, "params")
    point = raw.get("params", raw) if isinstance(raw, dict) else None
    if not isinstance(point, dict):
        raise MixidError(f"params file '{path}' must hold a JSON object of parameter values")
    return point


@app.command()
def simulate(
    design: str = typer.Argument(..., help="A design file or a built-in name."),
    n: int = typer.Option(..., "-n", "--n", help="Number of rows."),
    seed: int = typer.Option(0, "--seed", help="Random seed (parameters and samples)."),
    params: Path = typer.Option(None, "--params", help="JSON parameter point (names as in --truth output)."),
    output: Path = typer.Option(..., "-o", "--output", help="Data file to write (.csv or .parquet)."),
    truth_out: Path = typer.Option(None, "--truth", help="Write the ground truth here (JSON)."),
) -> None:
    """Sample data from DESIGN's model (random seeded parameters unless --params) with its ground truth."""
    from mixid.estimate.simulate import simulate as run

    if n < 1:
        raise MixidError(f"-n must be a positive integer, got {n}")
    if output.suffix.lower() not in (".csv", ".parquet"):
        raise MixidError(f"output '{output}' must end in .csv or .parquet")
    data, truth = run(design, n, params=_read_params(params), seed=seed)
    if output.suffix.lower() == ".csv":
        data.to_csv(output, index=False)
    else:
        data.to_parquet(output, index=False)
    if truth_out is not None:
        truth_out.write_text(json.dumps(truth.to_dict(), indent=2))
    err.print(f"wrote {n} rows to {output}" + (f" and the truth to {truth_out}" if truth_out else ""))


@app.command()
def estimate(
    design: str = typer.Argument(..., help="A design file or a built-in name."),
    data: Path = typer.Argument(..., help="Data file (.csv or .parquet)."),
    estimator: str = typer.Option("auto", "--estimator",
                                  help="auto (maximum likelihood for categorical designs), mle, spo, proximal, cp "
                                       "or adjustment."),
    starts: int = typer.Option(10, "--starts", help="Random starts of maximum likelihood (besides the "
                                                    "constructive estimate)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap replicates for intervals (maximum likelihood "
                                                         "gives Wald intervals without)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the bootstrap."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    truth_in: Path = typer.Option(None, "--truth", help="Ground truth JSON (from mixid simulate) to compare."),
    plot: Path = typer.Option(None, "--plot", help="Save a figure of the MTE here (PNG)."),
) -> None:
    """Estimate what DESIGN identifies from DATA, with bootstrap intervals."""
    from mixid.estimate.fit import fit

    if bootstrap < 0:
        raise MixidError(f"--bootstrap must be >= 0, got {bootstrap}")
    truth = _read_json(truth_in, "truth") if truth_in is not None else None
    with _progress(bootstrap) as tick:
        result = fit(design, str(data), estimator=estimator, bootstrap=bootstrap, seed=seed, truth=truth,
                     progress=tick, starts=starts)
    if plot is not None:
        result.plot(path=plot)
    if json_out:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        out.print(result.summary(), markup=False, highlight=False)


@contextmanager
def _progress(total: int):
    """A rich progress bar on stderr for long bootstraps (silent when stderr is not a terminal)."""
    if total == 0 or not err.is_terminal:
        yield None
        return
    with Progress(TextColumn("bootstrap"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("bootstrap", total=total)
        yield lambda done: bar.update(task, completed=done)


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(x)) for x in text.split(",") if x.strip()]
    except ValueError:
        raise MixidError(f"--n must be a comma-separated list of sizes like 1e3,1e4, got {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise MixidError(f"--n sizes must be at least 10, got {text!r}")
    return sizes


def _load_plugin(spec: str):
    """``module:function`` -> the function (an extra estimator for validate)."""
    import importlib

    module, _, name = spec.partition(":")
    if not module or not name:
        raise MixidError(f"--plugin must look like package.module:function, got {spec!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise MixidError(f"cannot load plugin {spec!r}: {exc}") from None


@app.command()
def validate(
    design: str = typer.Argument(..., help="A design file or a built-in name."),
    params: Path = typer.Option(None, "--params", help="JSON parameter point (random seeded when omitted)."),
    sizes: str = typer.Option("1e3,1e4,1e5,1e6", "--n", help="Comma-separated sample sizes."),
    runs: int = typer.Option(20, "--runs", help="Runs per sample size."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    output: Path = typer.Option(Path("validate_out"), "--out", help="Folder for the table, CSV and figure."),
    plugin: list[str] = typer.Option(None, "--plugin", help="Extra estimator module:function to validate."),
) -> None:
    """Check every applicable estimator on exact moments, then study its error against n."""
    from mixid.estimate.validate import validate as run

    if runs < 1:
        raise MixidError(f"--runs must be >= 1, got {runs}")
    point = _read_params(params)
    extra = {spec: _load_plugin(spec) for spec in plugin or []}
    ns = _parse_sizes(sizes)
    with _progress(len(ns) * runs) as tick:
        result = run(design, params=point, ns=ns, runs=runs, seed=seed, out=output, extra=extra,
                     progress=(lambda done, total: tick(done)) if tick else None)
    out.print(result.markdown(), markup=False, highlight=False)
    out.print(f"wrote {', '.join(result.files)}")


# The embedded demo: the paper's Z -> T graph with strong confounding (U drives both T and Y), so the naive
# difference in means is far from the ATE while SPO recovers the classes.
DEMO_PARAMS = {
    "pi_0": 0.6,
    "p_Z0_U0": 0.8, "p_Z0_U1": 0.2,
    "p_X0_U0": 0.75, "p_X0_U1": 0.15,
    "p_T0_Z0_U0": 0.8, "p_T0_Z0_U1": 0.3, "p_T0_Z1_U0": 0.7, "p_T0_Z1_U1": 0.15,
    "p_Y0_T0_U0": 0.8, "p_Y0_T0_U1": 0.3, "p_Y0_T1_U0": 0.4, "p_Y0_T1_U1": 0.2,
}


@app.command()
def demo(
    n: int = typer.Option(200_000, "-n", "--n", help="Rows to simulate."),
    bootstrap: int = typer.Option(200, "--bootstrap", help="Bootstrap replicates."),
    figure: Path = typer.Option(Path("mixid_demo.png"), "--figure", help="Where to save the figure."),
) -> None:
    """End to end: identify the paper's Z -> T design, simulate confounded data, estimate the MTE by SPO."""
    from mixid.estimate.fit import fit
    from mixid.estimate.simulate import simulate as run

    out.print("[bold]1. identify[/bold]: the paper's MTE graph (Z -> T, T -> Y; U latent, k = 2, all binary)")
    p = place("paper-level3")
    render(p)
    out.print(f"\n[bold]2. simulate[/bold] n = {n:,} rows in which U drives both treatment and outcome")
    data, truth = run("paper-level3", n, params=DEMO_PARAMS, seed=0)
    out.print(f"\n[bold]3. estimate[/bold] by {p.targets['mte'].method.upper()} with {bootstrap} bootstrap replicates")
    with _progress(bootstrap) as tick:
        result = fit("paper-level3", data, bootstrap=bootstrap, seed=1, placement=p, truth=truth.to_dict(),
                     progress=tick)
    out.print(result.summary(), markup=False, highlight=False)
    bias = result.naive - truth.ate
    out.print(f"\nthe naive difference in means is off by {bias:+.3f}; SPO's ATE by "
              f"{result.estimate.ate - truth.ate:+.3f}")
    result.plot(path=figure)
    out.print(f"figure saved to {figure}")


def main(argv: list[str] | None = None) -> int:
    """Console entry point; maps errors to exit codes without tracebacks."""
    from mixid.estimate.validate import ValidationError

    try:
        app(args=argv, standalone_mode=False)
    except ValidationError as exc:  # a failed check, not bad input
        err.print(f"validation failed: {exc}", markup=False, highlight=False)
        return 1
    except MixidError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 1
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors: exit 2
            message = exc.format_message()
            if message:
                err.print(f"error: {message}", markup=False, highlight=False)
            return exc.exit_code
        err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False, highlight=False)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
