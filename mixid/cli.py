"""The ``mixid`` command line: thin rendering around the library (the library never prints).

Exit codes: 0 ok; 2 bad input (one line on stderr naming what is wrong, no traceback); 1 anything else.

Start-up is kept short: only typer is imported here. sympy, pandas, scipy, tensorly, matplotlib and the tables
and progress bars of rich are imported by the command that uses them (``mixid --help`` imports none of them).
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Optional

import typer


def _plain_flags() -> None:
    """Show boolean flags as plain flags in the help (``--json``), not ``--json <bool>``.

    Recent typer releases print a type for every option, flags included, which reads as if a value were
    expected (``--json true`` is then refused). Flags take no value, so they get no type column.
    """
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover - an older typer without this class prints flags plainly
        return
    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_mixid_plain_flags", False):
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._mixid_plain_flags = True
    TyperOption.display_type_rich = display_type_rich


_plain_flags()

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Prove and measure identifiability in causal mixtures.")


@cache
def _consoles():
    """(stdout, stderr) rich consoles, built on first use (importing rich.console costs ~20 ms)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160), Console(stderr=True, soft_wrap=True)


def _out():
    return _consoles()[0]


def _err():
    return _consoles()[1]


def _version(value: bool) -> None:
    if value:
        import mixid

        print(f"mixid {mixid.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Prove and measure identifiability in causal mixtures."""


_COLOURS = {"identifiable": "green", "not_identifiable": "red", "inconclusive": "yellow"}


def render(p, console=None) -> None:
    """A rich report of a placement: level, verdicts with their certificates, roles, failing routes."""
    from rich.markup import escape
    from rich.table import Table

    from mixid.identify.placement import TARGETS, TITLES, rank_text

    console = console or _out()  # every text from the design or the verdicts is escaped: plain text, not markup
    console.print(f"[bold]{escape(p.design.name)}[/bold]: [bold]{escape(p.level_text())}[/bold]"
                  f"  ({p.model_info['parameters']} parameters, {p.model_info['observables']} observables, "
                  f"Jacobian rank {rank_text(p.model_info)})")
    table = Table(show_header=True, header_style="bold")
    for col in ("level", "target", "verdict", "scope", "evidence", "method", "certificate"):
        table.add_column(col, no_wrap=True)
    table.add_column("why", overflow="fold")
    for i, t in enumerate(TARGETS, start=1):
        v = p.targets[t]
        colour = "yellow" if v.identifiable and v.scope != "global" else _COLOURS.get(v.verdict, "dim")
        evidence = v.evidence_text if v.evidence else ""
        table.add_row(str(i), TITLES[t], f"[{colour}]{escape(v.label)}[/{colour}]", escape(v.scope), escape(evidence),
                      escape(v.method), escape(str(v.certificate.get("kind", ""))), escape(v.reason))
    console.print(table)
    if p.roles:
        console.print(escape(f"roles: Z (treatment side) = {', '.join(p.roles.treatment_side)}; "
                             f"X (outcome side) = {', '.join(p.roles.outcome_side)}"))
    if p.design.covariates:
        console.print(escape(f"covariates {', '.join(p.design.covariates)}: these verdicts are of the measurement "
                             f"part given them (the design without covariates); P({p.design.latent} | covariates) "
                             "is identified wherever the class weights are"))
    if p.global_check:
        console.print(f"[bold]global check[/bold]: {escape(p.global_check['summary'])}")
    failed = [r for r in p.routes if not r.applies]
    if failed:
        console.print("[bold]routes that do not apply[/bold]")
        for r in failed:
            console.print(escape(f"  {r.route} ({r.target}): {r.reason}"))
    bad = [c for c in p.conditions if not c.holds]
    if bad:
        console.print("[bold]conditions that fail[/bold]")
        for c in bad:
            console.print(f"  [red]✗[/red] {escape(f'{c.statement}  ({c.route})')}")


def _bad(message: str):
    """A bad-input error (exit 2), without importing the library at start."""
    from mixid.identify.errors import MixidError

    return MixidError(message)


@app.command()
def identify(
    design: str = typer.Argument(..., help="A design file (YAML/JSON) or a built-in name (paper-level1..4)."),
    json_out: bool = typer.Option(False, "--json", help="Print the placement as JSON."),
    latex: bool = typer.Option(False, "--latex", help="Print the identifying formulas in LaTeX."),
    error: float = typer.Option(1e-9, "--error", help="Largest probability of a wrong probabilistic verdict."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random witness points."),
    max_seconds: Optional[float] = typer.Option(  # noqa: UP045 - typer reads the annotation
        None, "--max-seconds", help="Time budget (default 300 s; an unasked-for --global check takes at most 120 s "
        "of it); targets still undecided then are reported inconclusive or keep their local verdict."),
    global_: bool = typer.Option(False, "--global", help="Count the generic fibre for every target that is only "
                                 "locally identifiable: global verdicts, or a witness of non-identifiability."),
    local: bool = typer.Option(False, "--local", help="Never run the global check (local verdicts stand)."),
    params: Path = typer.Option(None, "--params", help="JSON parameter point (as for simulate --params): report "
                                "the identified set there, every valid model with its law (needs the global check)."),
) -> None:
    """Place DESIGN in the identifiability hierarchy, with certificates."""
    from mixid.identify.placement import check_seconds, place

    if not 0 < error < 1:
        raise _bad(f"--error must be in (0, 1), got {error}")
    _check_range(seed, "--seed", 0, MAX_SEED)
    if global_ and local:
        raise _bad("--global and --local exclude each other")
    if max_seconds is not None:
        check_seconds(max_seconds, "--max-seconds")
    if params is not None and local:
        raise _bad("--params needs the global check: drop --local")
    if params is not None and latex:
        raise _bad("--params and --latex exclude each other")
    point = _read_params(params)
    if point is not None:  # a bad point is bad input: said before any work
        from mixid.identify import Design, Model
        from mixid.identify.fibre.targets import CausalTargets, parameter_point

        model = Model(Design.load(design))
        CausalTargets(model)
        parameter_point(model, point)
    scope = "global" if global_ else ("local" if local else "auto")
    p = place(design, error=error, seed=seed, max_seconds=max_seconds, scope=scope)
    found = None
    if point is not None:
        from mixid.identify.fibre.identified_set import identified_set

        found = identified_set(p.design, point, fibre=p.fibre, seed=seed,
                               **({} if max_seconds is None else {"max_seconds": max_seconds}))
    if json_out:
        out = p.to_dict()
        if found is not None:
            out["identified_set"] = found.to_dict()
        print(json.dumps(out, indent=2))
    elif latex:
        print(p.latex())
    else:
        render(p)
        if found is not None:
            render_identified_set(found)


def render_identified_set(found, console=None) -> None:
    """The identified set at a parameter point: the statement, how it is known, and a table of the targets."""
    from rich.markup import escape
    from rich.table import Table

    console = console or _out()
    console.print(f"[bold]identified set at the parameter point[/bold] ({escape(found.kind)}, "
                  f"{escape(found.evidence)}: {escape(found.evidence_note)}): {escape(found.statement)}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("target (classes sorted by effect)", no_wrap=True)
    table.add_column("identified set", overflow="fold")
    for row in found.table():
        table.add_row(*map(escape, row))
    console.print(table)


@app.command()
def check(
    certificate: Path = typer.Argument(..., help="The JSON that `mixid identify DESIGN --json` wrote."),
    max_seconds: Optional[float] = typer.Option(  # noqa: UP045 - typer reads the annotation
        None, "--max-seconds", help="Time budget of the re-check (default 120 s); claims still unchecked when it "
        "is spent are reported 'unchecked: budget'."),
) -> None:
    """Re-check every claim of a placement's JSON from its design, then its verdicts and level.

    Prints one line per claim: holds, fails or unchecked, with why. Exits 0 only when every claim holds (and
    there is at least one), 1 otherwise, 2 on bad input.
    """
    from mixid.identify.verify import DEFAULT_CHECK_SECONDS, read_certificate, sound, verify

    claims = verify(read_certificate(certificate),
                    max_seconds=DEFAULT_CHECK_SECONDS if max_seconds is None else max_seconds)
    for c in claims:
        print(c.line())
    failed = sum(c.status == "fails" for c in claims)
    unchecked = sum(c.status == "unchecked" for c in claims)
    held = len(claims) - failed - unchecked
    print(f"{held} of {len(claims)} claims hold" + (f"; {failed} fail" if failed else "")
          + (f"; {unchecked} unchecked" if unchecked else "") + ("" if claims else ": nothing was re-checked"))
    if not sound(claims):
        raise typer.Exit(1)


# Bounds of the flags (the library checks the same ones): rows, replicates, starts, runs, seeds, JSON inputs.
MAX_ROWS = 10**8
MAX_BOOTSTRAP = 10_000
MAX_STARTS = 1000
MAX_RUNS = 10_000
MAX_SEED = 2**63 - 1
MAX_JSON_BYTES = 16 << 20


def _shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...({len(text)} characters)"


def _check_range(value: int, flag: str, low: int, high: int) -> None:
    if not low <= value <= high:
        raise _bad(f"{flag} must be an integer from {low:,} to {high:,}, got {_shown(value)}")


def _check_output(path: Path | None, flag: str, suffixes: tuple[str, ...] = (), folder: bool = False) -> None:
    """An output path is checked before any work: its folder exists, it is not a folder (or, for ``folder``,
    not a file), and it ends in one of ``suffixes``."""
    if path is None:
        return
    shown = _shown(str(path))
    if suffixes and path.suffix.lower() not in suffixes:
        raise _bad(f"{flag} {shown} must end in {' or '.join(suffixes)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise _bad(f"{flag} {shown}: folder '{_shown(str(parent))[1:-1]}' does not exist")
    import os

    try:
        longest = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    if len(os.fsencode(path.name)) > longest:
        raise _bad(f"{flag} {shown}: the file name is longer than {longest} bytes")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _bad(f"{flag} {shown}: not writable")
    if folder:
        if path.exists() and not path.is_dir():
            raise _bad(f"{flag} {shown} is a file, not a folder")
    elif path.is_dir():
        raise _bad(f"{flag} {shown} is a folder, not a file")


def _no_constant(name: str):
    """NaN, Infinity and -Infinity are not JSON: refused on read, so that they never reach an output."""
    raise _bad(f"{name} is not a JSON number (strict JSON has no NaN or Infinity)")


def _read_json(path: Path, what: str) -> dict:
    from mixid.identify.design import _bounded_int
    from mixid.identify.errors import MixidError

    shown = _shown(str(path))
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise _bad(f"{what} file {shown} is larger than {MAX_JSON_BYTES >> 20} MiB")
        return json.loads(path.read_bytes().decode("utf-8"), parse_int=_bounded_int, parse_constant=_no_constant)
    except OSError as exc:
        raise _bad(f"cannot read {what} file {shown}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _bad(f"{what} file {shown} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _bad(f"{what} file {shown} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise _bad(f"{what} file {shown} is nested too deeply") from None
    except MixidError as exc:
        raise _bad(f"{what} file {shown}: {exc}") from None


@contextmanager
def _writing(path: Path, flag: str):
    """Writing an output: a failure (a full device, a file removed meanwhile) is bad input, said in one line."""
    try:
        yield
    except OSError as exc:
        raise _bad(f"cannot write {flag} {_shown(str(path))}: {exc.strerror or exc}") from None


def _read_params(path: Path | None) -> dict | None:
    """A parameter point from JSON: a flat object, or the ``params`` entry of a --truth file."""
    if path is None:
        return None
    raw = _read_json(path, "params")
    point = raw.get("params", raw) if isinstance(raw, dict) else None
    if not isinstance(point, dict):
        raise _bad(f"params file {_shown(str(path))} must hold a JSON object of parameter values")
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

    _check_range(n, "-n", 1, MAX_ROWS)
    _check_range(seed, "--seed", 0, MAX_SEED)
    _check_output(output, "output", (".csv", ".parquet"))
    _check_output(truth_out, "--truth", (".json",))
    point = _read_params(params)
    data, truth = run(design, n, params=point, seed=seed)
    # the truth first (small, strict JSON), then the data: a failure leaves neither file half written
    if truth_out is not None:
        with _writing(truth_out, "--truth"):
            truth_out.write_text(json.dumps(truth.to_dict(), indent=2, allow_nan=False))
    try:
        with _writing(output, "output"):
            if output.suffix.lower() == ".csv":
                data.to_csv(output, index=False)
            else:
                data.to_parquet(output, index=False)
    except Exception:
        for written in (output, truth_out):
            if written is not None and written.is_file():
                written.unlink()
        raise
    _err().print(f"wrote {n} rows to {output}" + (f" and the truth to {truth_out}" if truth_out else ""),
                 markup=False, highlight=False)


@app.command()
def estimate(
    design: str = typer.Argument(..., help="A design file or a built-in name."),
    data: Path = typer.Argument(..., help="Data file (.csv or .parquet)."),
    estimator: str = typer.Option("auto", "--estimator",
                                  help="auto (maximum likelihood for categorical designs), mle, md, spo, proximal, "
                                       "cp or adjustment."),
    starts: int = typer.Option(10, "--starts", help="Random starts of maximum likelihood per batch (besides the "
                                                    "constructive estimate)."),
    max_starts: int = typer.Option(None, "--max-starts",
                                   help="Cap on the starts of maximum likelihood: batches run until 3 starts reach "
                                        "the best log-likelihood or this many have run (default 200)."),
    columns: str = typer.Option(None, "--columns", metavar="VAR=COLUMN,...",
                                help="Data columns of design variables, e.g. Z=age_group,X=income (unnamed "
                                "variables use their own name)."),
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap replicates for percentile intervals (without: "
                                                         "the --interval kind)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the starts and the bootstrap."),
    interval: str = typer.Option("profile", "--interval",
                                 help="Intervals without --bootstrap: profile (likelihood ratio; for minimum "
                                      "distance, distance metric) or wald (on a scale that respects each "
                                      "quantity's range)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON (no progress bars)."),
    truth_in: Path = typer.Option(None, "--truth", help="Ground truth JSON (from mixid simulate) to compare."),
    plot: Path = typer.Option(None, "--plot", help="Save a figure of what the design identifies here (PNG)."),
    missing: str = typer.Option("fiml", "--missing", help="Missing answers (empty cells, NA): fiml (maximum "
                                "likelihood sums over them) or drop (leave out rows with one)."),
    posterior: Path = typer.Option(None, "--posterior", metavar="OUT.csv",
                                   help="Write each row's class probabilities (p_class_0, ...) and modal class "
                                        "here, rows in input order (maximum likelihood)."),
    weights: str = typer.Option(None, "--weights", metavar="COL",
                                help="Data column of sampling weights: pseudo-maximum likelihood with sandwich "
                                     "standard errors and Wald intervals."),
) -> None:
    """Estimate what DESIGN identifies from DATA, with intervals (profile likelihood, Wald or bootstrap)."""
    from mixid.identify.files import check_data_file

    check_data_file(data)  # a mistyped or special path fails before the estimate stack loads (about 2 s)
    from mixid.estimate.data import parse_columns
    from mixid.estimate.fit import fit
    from mixid.estimate.result import check_truth

    _check_range(bootstrap, "--bootstrap", 0, MAX_BOOTSTRAP)
    _check_range(starts, "--starts", 1, MAX_STARTS)
    if max_starts is not None:
        _check_range(max_starts, "--max-starts", 1, MAX_STARTS)
    if interval not in ("profile", "wald"):
        raise _bad(f"--interval must be profile or wald, got {_shown(interval)}")
    _check_range(seed, "--seed", 0, MAX_SEED)
    _check_output(plot, "--plot", (".png", ".pdf", ".svg"))
    _check_output(posterior, "--posterior", (".csv",))
    if posterior is not None and estimator not in ("auto", "mle"):
        raise _bad(f"--posterior needs maximum likelihood (--estimator auto or mle), not {_shown(estimator)}")
    mapping = parse_columns(columns) if columns is not None else None
    truth = _read_json(truth_in, "truth") if truth_in is not None else None
    if truth is not None:
        check_truth(truth)
    with _progress(enabled=not json_out) as report:
        result = fit(design, str(data), estimator=estimator, bootstrap=bootstrap, seed=seed, truth=truth,
                     columns=mapping, progress=report, starts=starts, max_starts=max_starts, interval=interval,
                     missing=missing, weights=weights)
    if plot is not None:
        with _writing(plot, "--plot"):
            result.plot(path=plot)
    if posterior is not None:
        with _writing(posterior, "--posterior"):
            result.posterior_frame(str(data), mapping).to_csv(posterior, index=False)
    if json_out:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
        for w in result.to_dict()["warnings"]:  # stdout holds only the JSON: repeat the notices on stderr
            _err().print(f"warning: {w}", markup=False, highlight=False)
    else:
        _out().print(result.summary(), markup=False, highlight=False)
    if plot is not None:
        _err().print(f"figure saved to {plot}", markup=False, highlight=False)
    if posterior is not None:
        _err().print(f"class probabilities of {result.n:,} rows written to {posterior}", markup=False,
                     highlight=False)


@app.command()
def select(
    design: str = typer.Argument(..., help="A design file or a built-in name (its number of classes is replaced)."),
    data: Path = typer.Argument(..., help="Data file (.csv or .parquet)."),
    classes: str = typer.Option("1-6", "--classes", help="The numbers of classes to compare: 1-6, 2,3,5 or 4."),
    blrt: int = typer.Option(100, "--blrt", help="Bootstrap replicates of the likelihood-ratio test of k-1 against "
                                                 "k classes (0: no test)."),
    starts: int = typer.Option(10, "--starts", help="Random starts per batch of each fit."),
    max_starts: int = typer.Option(None, "--max-starts", help="Cap on the starts of each fit (default 200)."),
    columns: str = typer.Option(None, "--columns", metavar="VAR=COLUMN,...",
                                help="Data columns of design variables, e.g. A=q1,B=q2."),
    workers: int = typer.Option(None, "--workers", help="Processes for the BLRT replicates (default: the cores, "
                                                        "at most 8)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the starts and the replicates."),
    missing: str = typer.Option("fiml", "--missing", help="Missing answers: fiml or drop (as for estimate)."),
    weights: str = typer.Option(None, "--weights", metavar="COL",
                                help="Data column of sampling weights (pseudo-likelihood; the BLRT is not given)."),
    json_out: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    plot: Path = typer.Option(None, "--plot", help="Save a figure of the criteria against k here (PNG)."),
) -> None:
    """Choose the number of classes: fit DESIGN with each k, with information criteria, entropy and a bootstrap
    likelihood-ratio test; a k whose mixture is not identified is flagged and never recommended."""
    from mixid.identify.files import check_data_file

    check_data_file(data)  # before the estimate stack loads
    from mixid.estimate.data import parse_columns
    from mixid.estimate.select import MAX_BLRT, parse_classes
    from mixid.estimate.select import select as run

    ks = parse_classes(classes)
    _check_range(blrt, "--blrt", 0, MAX_BLRT)
    _check_range(starts, "--starts", 1, MAX_STARTS)
    if max_starts is not None:
        _check_range(max_starts, "--max-starts", 1, MAX_STARTS)
    if workers is not None:
        _check_range(workers, "--workers", 1, 64)
    _check_range(seed, "--seed", 0, MAX_SEED)
    _check_output(plot, "--plot", (".png", ".pdf", ".svg"))
    mapping = parse_columns(columns) if columns is not None else None
    with _progress(enabled=not json_out) as report:
        selection = run(design, str(data), classes=ks, blrt=blrt, seed=seed, starts=starts, max_starts=max_starts,
                        columns=mapping, workers=workers, progress=report, missing=missing, weights=weights)
    if plot is not None:
        selection.plot(path=plot)
    if json_out:
        out = selection.to_dict()
        print(json.dumps(out, indent=2, allow_nan=False))
        for w in out["warnings"]:
            _err().print(f"warning: {w}", markup=False, highlight=False)
    else:
        _out().print(selection.summary(), markup=False, highlight=False)
    if plot is not None:
        _err().print(f"figure saved to {plot}", markup=False, highlight=False)


def _stderr_is_terminal() -> bool:
    return _err().is_terminal


@contextmanager
def _progress(enabled: bool = True):
    """A progress callback ``report(task, done, total)`` drawing rich bars on stderr, one per task.

    Yields None (no bars, no cost) when ``enabled`` is false (``--json``) or stderr is not a terminal.
    """
    if not enabled or not _stderr_is_terminal():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=_err(), transient=True) as bar:
        tasks: dict[str, int] = {}

        def report(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        yield report


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise _bad(f"--n must be a comma-separated list of sizes like 1e3,1e4, got {_shown(text)}") from None
    if not sizes or len(sizes) > 20 or not all(10 <= x <= MAX_ROWS and x == int(x) for x in sizes):
        raise _bad(f"--n must list 1 to 20 whole sizes from 10 to {MAX_ROWS:.0e}, got {_shown(text)}")
    return [int(x) for x in sizes]


def _load_plugin(spec: str):
    """``module:function`` (an installed module) or ``path/to/file.py:function`` (a file) -> the function, an
    extra estimator for validate.

    The current folder is not put on ``sys.path`` (a ``scipy.py`` there would shadow the installed package): a
    plugin that is not installed is given by its file path, e.g. ``./myplugin.py:estimate``. A module's source is
    read first, and a function it does not define is refused before any of its code runs.
    """
    import importlib
    import importlib.util
    import os

    module, _, name = spec.rpartition(":")
    if not module or not name or not name.isidentifier():
        raise _bad(f"--plugin must look like package.module:function or path/to/file.py:function, got {spec!r}")

    def failed(exc: BaseException):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _bad(f"cannot load plugin {spec!r}: {type(exc).__name__}" + (f": {detail}" if detail else ""))

    try:
        if module.endswith(".py") or os.sep in module or (os.altsep and os.altsep in module):
            path = Path(module)
            if not path.is_file():
                raise _bad(f"plugin {spec!r}: no file {_shown(module)}")
            source = path.read_text(encoding="utf-8")
            _require_definition(source, name, spec)
            found = importlib.util.spec_from_file_location(f"mixid_plugin_{path.stem}", path)
            loaded = importlib.util.module_from_spec(found)
            found.loader.exec_module(loaded)
        else:
            found = importlib.util.find_spec(module)
            if found is None:
                raise _bad(f"plugin {spec!r}: no installed module {module!r} (give a file as "
                           f"path/to/{module.rpartition('.')[2]}.py:{name})")
            source = found.loader.get_source(module) if hasattr(found.loader, "get_source") else None
            if source is not None:
                _require_definition(source, name, spec)
            loaded = importlib.import_module(module)
        function = getattr(loaded, name)
    except Exception as exc:  # a plugin may fail to import in any way: one line, never a traceback
        errors = sys.modules.get("mixid.identify.errors")
        if errors is not None and isinstance(exc, errors.MixidError):
            raise
        raise failed(exc) from None
    if not callable(function):
        raise _bad(f"plugin {spec!r} is not a function")
    return function


def _require_definition(source: str, name: str, spec: str) -> None:
    """Refuse a plugin whose module source does not bind ``name`` at top level (checked before running it); a
    module that may create names dynamically (``__getattr__``, ``import *``) is given the benefit of the doubt."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        raise _bad(f"cannot load plugin {spec!r}: {type(exc).__name__}: {exc}") from None
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).partition(".")[0])
        else:
            for sub in ast.walk(node):  # assignments, also inside if/try blocks at top level
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    bound.add(sub.id)
                elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    bound.add(sub.name)
    if name not in bound and "__getattr__" not in bound and "*" not in bound:
        raise _bad(f"cannot load plugin {spec!r}: it defines no {name!r} (read without running it)")


@app.command()
def validate(
    design: str = typer.Argument(..., help="A design file or a built-in name."),
    params: Path = typer.Option(None, "--params", help="JSON parameter point (random seeded when omitted)."),
    sizes: str = typer.Option("1e3,1e4,1e5,1e6", "--n", help="Comma-separated sample sizes."),
    runs: int = typer.Option(20, "--runs", help="Runs per sample size."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    output: Path = typer.Option(Path("validate_out"), "--out", help="Folder for the table, CSV and figure."),
    plugin: list[str] = typer.Option(None, "--plugin", metavar="MODULE:FUNCTION",
                                     help="Extra estimator to validate, repeatable: an installed module's function, "
                                     "or a file's (./myplugin.py:estimate); the current folder is not searched."),
) -> None:
    """Check every applicable estimator on exact moments, then study its error against n."""
    _check_range(runs, "--runs", 1, MAX_RUNS)
    _check_range(seed, "--seed", 0, MAX_SEED)
    _check_output(output, "--out", folder=True)
    point = _read_params(params)
    extra = {spec: _load_plugin(spec) for spec in plugin or []}
    ns = _parse_sizes(sizes)
    from mixid.estimate.validate import validate as run

    with _progress() as report, _writing(output, "--out"):
        result = run(design, params=point, ns=ns, runs=runs, seed=seed, out=output, extra=extra, progress=report)
    _out().print(result.markdown(), markup=False, highlight=False)
    _out().print(f"wrote {', '.join(result.files)}", markup=False, highlight=False)


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
    bootstrap: int = typer.Option(0, "--bootstrap", help="Bootstrap replicates (0: profile-likelihood "
                                                         "intervals)."),
    plot: Path = typer.Option(None, "--plot", help="Save the figure here (PNG); no figure unless asked."),
) -> None:
    """End to end: identify the paper's Z -> T design, simulate confounded data, estimate the MTE by maximum
    likelihood with standard errors, and check it against the SPO formula."""
    from mixid.estimate.fit import fit
    from mixid.estimate.simulate import simulate as run
    from mixid.identify.placement import place

    _check_range(n, "-n", 10, MAX_ROWS)
    _check_range(bootstrap, "--bootstrap", 0, MAX_BOOTSTRAP)
    _check_output(plot, "--plot", (".png", ".pdf", ".svg"))
    out = _out()
    out.print("[bold]1. identify[/bold]: the paper's MTE graph (Z -> T, T -> Y; U latent, k = 2, all binary)")
    p = place("paper-level3")
    render(p)
    out.print(f"\n[bold]2. simulate[/bold] n = {n:,} rows in which U drives both treatment and outcome")
    data, truth = run("paper-level3", n, params=DEMO_PARAMS, seed=0)
    how = (f"{bootstrap} bootstrap replicates" if bootstrap else
           "standard errors from the Fisher information, profile-likelihood intervals")
    out.print(f"\n[bold]3. estimate[/bold] by maximum likelihood (started by the certified CP estimate), {how}")
    with _progress() as report:
        result = fit("paper-level3", data, bootstrap=bootstrap, seed=1, placement=p, truth=truth.to_dict(),
                     progress=report)
    out.print(result.summary(), markup=False, highlight=False)
    from mixid.identify.errors import MixidError

    try:
        spo = fit("paper-level3", data, estimator="spo", placement=p)
        by_spo = f"the SPO formula's by {spo.estimate.ate - truth.ate:+.3f}"
    except MixidError as exc:  # a few rows may leave an arm without the rank the formula needs
        by_spo = f"the SPO formula cannot be applied to these {n:,} rows ({_one_line(exc)})"
    bias = result.naive - truth.ate
    se = result.to_dict()["ate"]["se"]
    out.print(f"\nthe naive difference in means is off by {bias:+.3f}; the likelihood's ATE by "
              f"{result.estimate.ate - truth.ate:+.3f} ({'no standard error' if se is None else f'se {se:.3f}'}); "
              f"{by_spo}", markup=False, highlight=False)
    if plot is not None:
        with _writing(plot, "--plot"):
            result.plot(path=plot)
        out.print(f"figure saved to {plot}", markup=False, highlight=False)


def _one_line(message: object) -> str:
    """An error message on one line (a library message may carry a line break)."""
    return " ".join(str(message).split("\n")).strip()


def main(argv: list[str] | None = None) -> int:
    """Console entry point; maps errors to exit codes without tracebacks."""
    try:
        code = app(args=argv, standalone_mode=False)  # click returns the code of a typer.Exit raised by a command
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        _err().print("aborted")
        return 1
    except Exception as exc:
        # mixid's own errors: looked up only now, so that start-up imports none of the library
        errors = sys.modules.get("mixid.identify.errors")
        if errors is not None and isinstance(exc, errors.MixidError):
            checks = sys.modules.get("mixid.estimate.validate")
            if checks is not None and isinstance(exc, checks.ValidationError):  # a failed check, not bad input
                _err().print(f"validation failed: {_one_line(exc)}", markup=False, highlight=False)
                return 1
            _err().print(f"error: {_one_line(exc)}", markup=False, highlight=False)
            return 2
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click usage errors: exit 2
            message = exc.format_message()
            if message:
                _err().print(f"error: {_one_line(message)}", markup=False, highlight=False)
            return exc.exit_code
        _err().print(f"internal error: {type(exc).__name__}: {_one_line(exc)}", markup=False, highlight=False)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
