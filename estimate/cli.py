"""The ``mixid`` command line: thin rendering around the library (the library never prints).

Exit codes: 0 ok; 2 bad input (one line on stderr naming what is wrong, no traceback); 1 anything else.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from identify import Placement, place
from identify.errors import MixidError
from identify.placement import TARGETS, TITLES

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Prove and measure identifiability in causal mixtures.")
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

_COLOURS = {"identifiable": "green", "not_identifiable": "red", "inconclusive": "yellow"}


def render(p: Placement, console: Console = out) -> None:
    """A rich report of a placement: level, verdicts with their certificates, roles, failing routes."""
    level = p.level if p.level is not None else "none"
    console.print(f"[bold]{p.design.name}[/bold]: level [bold]{level}[/bold]"
                  f"  ({p.model_info['parameters']} parameters, {p.model_info['observables']} observables, "
                  f"Jacobian rank {p.model_info['jacobian_rank']})")
    table = Table(show_header=True, header_style="bold")
    for col in ("level", "target", "verdict", "scope", "method", "certificate"):
        table.add_column(col, no_wrap=True)
    table.add_column("why", overflow="fold")
    for i, t in enumerate(TARGETS, start=1):
        v = p.targets[t]
        colour = _COLOURS[v.verdict]
        table.add_row(str(i), TITLES[t], f"[{colour}]{v.verdict}[/{colour}]", v.scope, v.method,
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


@app.command()
def demo() -> None:
    """Identify the paper's Z -> T design end to end: the pooled tensor fails, per-arm CP and SPO succeed."""
    out.print("[bold]mixid demo[/bold]: the paper's MTE graph (Z -> T, T -> Y; U latent, k = 2, binary)\n")
    p = place("paper-level3")
    render(p)
    out.print("\nand with X -> Y added (the paper's ATE graph):\n")
    render(place("paper-level4"))


def main(argv: list[str] | None = None) -> int:
    """Console entry point; maps errors to exit codes without tracebacks."""
    try:
        app(args=argv, standalone_mode=False)
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
