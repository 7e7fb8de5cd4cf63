"""Place a design in the identifiability hierarchy, with a certificate for every verdict.

Levels (docs/theory.md): 1 class labels, 2 the full mixture, 3 the mixture of treatment effects (MTE), 4 the ATE.
For each target the first constructive route that applies gives a global verdict; otherwise a finer identifiable
target implies it (with that target's scope); otherwise the Jacobian route decides locally. The Jacobian verdict
is recorded for every target as a cross-check (routes must never disagree).

Levels carry their scope. A design's ``level`` is the finest target identifiable at the strongest scope
established: the finest *globally* identifiable target when there is one (``level_scope == "global"``), else the
finest locally identifiable one (``level_scope == "local"``: nearby parameter points give different observables,
but distant ones may not). ``local_level`` is the finest locally identifiable target whatever its scope, so a
design with a global ATE and a full mixture identified only by the Jacobian has level 4 and local level 2.

A plain latent class design (no treatment and outcome) has no causal targets: the MTE and the ATE get the verdict
``not_applicable``.

Work is bounded: a time budget (``max_seconds``) and a size limit on every table
(:data:`~mixid.identify.marginals.MAX_CELLS`) and model (:data:`~mixid.identify.marginals.MAX_PARAMETERS`). A target
that a limit leaves undecided gets the verdict ``inconclusive``, whose certificate says which limit stopped what
and what had been established.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .budget import check_seconds
from .design import Design, Roles
from .errors import DesignError
from .evidence import error_bound, evidence_of, weakest
from .fibre import GLOBAL_SECONDS, MAX_PARAMS, SYMPY_MAX_PARAMS, Fibre, count_fibre, msolve_path
from .graph import Condition
from .levels import TARGETS, levels
from .marginals import LimitReached
from .model import eval_poly_exact
from .rank import DEFAULT_ERROR
from .routes import adjustment, kruskal, proximal, spo
from .routes.base import Context, Estimand, RouteResult
from .routes.jacobian import JacobianRoute

DEFAULT_MAX_SECONDS = 300.0  # place()'s time budget and the default of `mixid identify --max-seconds`
SCOPES = ("auto", "global", "local")
# The global check that scope="auto" runs unasked: on models of at most AUTO_MAX_PARAMS parameters, exact (Groebner)
# up to AUTO_EXACT_PARAMS, else numeric with at most AUTO_PATHS continued paths or starts (a few seconds); the time
# limit is only a safety net, so that the answer is the same on any machine.
AUTO_MAX_PARAMS = 24
# Above this many classes a target that the dimension count settles skips the constructive routes, whose searches
# grow exponentially in k, instead of running them only to report why they fail.
COUNTED_ROUTES_MAX_CLASSES = 10
AUTO_EXACT_PARAMS = 16
AUTO_PATHS = 40
AUTO_SAMPLES = 10  # parameter points the default check samples when a complex count finds no valid twin
AUTO_SAFETY_SECONDS = 60.0

TITLES = {"labels": "class labels (HTE)", "full_mixture": "full mixture", "mte": "mixture of treatment effects",
          "ate": "average treatment effect"}


@dataclass
class TargetVerdict:
    """The verdict on one target, with its proof.

    ``verdict`` is ``identifiable``, ``not_identifiable``, ``inconclusive``, or ``not_applicable`` (the MTE and the
    ATE of a design with no treatment and outcome). ``scope`` is ``global`` for a constructive proof, a structural
    fact (U latent; no treatment) or an implication from a global verdict, and ``local`` for the Jacobian route:
    an identifiable verdict with scope ``local`` means *locally* identifiable (not proved global), while a local
    ``not_identifiable`` (not even locally identifiable) implies global non-identifiability too.

    ``evidence`` says how the verdict is known (:mod:`~mixid.identify.evidence`): ``exact``, ``probabilistic``
    (with :attr:`error_bound`) or ``numerical`` (a floating-point search: never a proof); None for an
    ``inconclusive`` verdict. By default it is read off the certificate.
    """

    target: str
    verdict: str
    scope: str
    method: str
    certificate: dict
    reason: str = ""
    local_check: dict | None = None
    evidence: str | None = None

    def __post_init__(self):
        if self.evidence is None:
            self.evidence = evidence_of(self.certificate, self.verdict)

    @property
    def error_bound(self) -> float:
        """The probability that a probabilistic verdict is wrong (0 for exact evidence)."""
        return error_bound(self.certificate)

    @property
    def evidence_text(self) -> str:
        """The evidence in words, with what it rests on, e.g. ``numerical: monodromy, 40 loops``.

        Examples
        --------
        >>> TargetVerdict("ate", "identifiable", "local", "jacobian", {"kind": "probabilistic",
        ...               "error_bound": 2e-12}).evidence_text
        'probabilistic: error <= 2e-12'
        """
        if self.evidence == "probabilistic":
            return f"probabilistic: error <= {self.error_bound:.0e}"
        if self.evidence == "numerical":
            how = self.certificate.get("evidence_note")
            return f"numerical: {how}" if how else "numerical"
        return self.evidence or "no evidence"

    @property
    def identifiable(self) -> bool:
        """Identifiable at some scope (check :attr:`scope`: ``local`` is not proved global)."""
        return self.verdict == "identifiable"

    @property
    def label(self) -> str:
        """The verdict in words; a local identification always says that it is not proved global.

        Examples
        --------
        >>> TargetVerdict("ate", "identifiable", "local", "jacobian", {"kind": "witness"}).label
        'locally identifiable (not proved global)'
        """
        if self.verdict == "identifiable" and self.scope != "global":
            return "locally identifiable (not proved global)"
        if self.verdict == "not_identifiable" and self.certificate.get("kind") == "fibre" and \
                self.certificate.get("dimension") == 0:
            m = self.certificate.get("solutions")
            more = "" if self.certificate.get("complete") else "at least "
            return f"not globally identifiable ({more}{m} points over C; locally identifiable)"
        return self.verdict.replace("_", " ")

    def to_dict(self) -> dict:
        out = {"verdict": self.verdict, "scope": self.scope, "evidence": self.evidence, "method": self.method,
               "certificate": self.certificate, "reason": self.reason}
        if self.evidence == "probabilistic":
            out["error_bound"] = self.error_bound
        if self.local_check is not None:
            out["local_check"] = self.local_check
        return out


@dataclass
class Placement:
    """Where a design sits in the hierarchy, and why.

    The levels are derived from :attr:`targets` (1 labels, 2 full mixture, 3 MTE, 4 ATE):

    * :attr:`level`: the finest target identifiable at the strongest scope established: the finest globally
      identifiable target if any target is identifiable globally, else the finest locally identifiable one;
    * :attr:`level_scope`: ``"global"``, ``"local"`` (no target is proved globally identifiable), or None;
    * :attr:`local_level`: the finest target identifiable at any scope (finer than ``level`` when a finer target is
      only locally identifiable).

    All three are None when nothing is identifiable.

    Examples
    --------
    >>> from mixid.identify import Design, place
    >>> p = place(Design.builtin("paper-level3"))
    >>> p.level, p.level_scope, p.targets["full_mixture"].method, p.targets["mte"].method
    (2, 'global', 'kruskal_per_arm', 'spo')
    """

    design: Design
    targets: dict[str, TargetVerdict]
    roles: Roles | None
    conditions: list[Condition]
    estimands: dict[str, Estimand]
    routes: list[RouteResult]
    model_info: dict
    error: float
    global_check: dict | None = None
    fibre: Fibre | None = field(default=None, repr=False, compare=False)  # the global check's count, points included

    # ------------------------------------------------------------------------------------------ levels
    def _levels(self) -> tuple[int | None, str | None, int | None]:
        return levels({t: {"verdict": v.verdict, "scope": v.scope} for t, v in self.targets.items()})

    @property
    def level(self) -> int | None:
        """The finest target identifiable at the strongest scope established (see the class docstring)."""
        return self._levels()[0]

    @property
    def level_scope(self) -> str | None:
        """``"global"`` when :attr:`level` is proved globally identifiable, ``"local"`` when only locally."""
        return self._levels()[1]

    @property
    def local_level(self) -> int | None:
        """The finest locally identifiable target (equal to :attr:`level`, or finer when only local)."""
        return self._levels()[2]

    @property
    def level_evidence(self) -> str | None:
        """How :attr:`level` is known: the evidence of the target it rests on (``exact``, ``probabilistic`` or
        ``numerical``; a target implied by a finer one carries that one's)."""
        level = self._levels()[0]
        return None if level is None else weakest([self.targets[TARGETS[level - 1]].evidence])

    def level_text(self, titles: bool = False) -> str:
        """The level with its scope in words, and its evidence when it is not exact, e.g. ``level 4 (global);
        level 2 only locally (probabilistic: error <= 1e-12): not proved global`` or ``level 2 (global, numerical:
        monodromy, 40 loops)``. Only exact and probabilistic evidence is a proof.

        With ``titles`` each level is followed by its target's name.

        Examples
        --------
        >>> place("paper-level1").level_text(titles=True)
        'level 1 = class labels (HTE) (global)'
        """
        level, scope, local = self._levels()
        name = (lambda lv: f"level {lv} = {TITLES[TARGETS[lv - 1]]}") if titles else (lambda lv: f"level {lv}")

        def how(lv: int, before: str = ", ", after: str = "") -> str:
            v = self.targets[TARGETS[lv - 1]]
            return "" if v.evidence == "exact" else f"{before}{v.evidence_text}{after}"

        if level is None:
            return "level none (no target is identifiable)"
        if scope == "local":
            return f"{name(level)}, local only{how(level, ' (', ')')}: not proved global"
        glob = f"{name(level)} (global{how(level)})"
        if local < level:
            return f"{glob}; {name(local)} only locally{how(local, ' (', ')')}: not proved global"
        return glob

    def to_dict(self) -> dict:
        """The JSON of ``mixid identify --json`` (docs/json.md).

        ``level``, ``level_scope`` (``"global"``, ``"local"`` or null) and ``local_level`` as in the class
        docstring.
        """
        return {
            "level": self.level,
            "level_scope": self.level_scope,
            "level_evidence": self.level_evidence,
            "local_level": self.local_level,
            "targets": {t: v.to_dict() for t, v in self.targets.items()},
            "roles": self.roles.to_dict() if self.roles else None,
            "conditions": [c.to_dict() for c in self.conditions],
            "estimands": {t: e.to_dict() for t, e in self.estimands.items()},
            "routes": [{"route": r.route, "target": r.target, "applies": r.applies, "reason": r.reason}
                       for r in self.routes],
            "design": self.design.to_dict(),
            "model": self.model_info,
            "error": self.error,
            "global_check": self.global_check,
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def verify(self) -> list:
        """Re-check every claim of :meth:`to_dict` from its design alone (what ``mixid check`` runs), then the
        verdicts and the level. Returns the claims (:class:`~mixid.identify.verify.Claim`), each with ``status``
        ``holds``, ``fails`` or ``unchecked``.

        Examples
        --------
        >>> claims = place("paper-level4").verify()
        >>> all(c.holds for c in claims), sorted({c.where.split()[0] for c in claims})
        (True, ['ate', 'condition', 'full_mixture', 'labels', 'level', 'model', 'mte', 'roles'])
        """
        from .verify import verify

        return verify(self.to_dict())

    def report(self) -> str:
        """A readable plain-text report."""
        d = self.design
        lines = [f"{d.name}: {self.level_text(titles=True)}"]
        if not d.causal:
            lines.append("  a plain latent class model: no treatment and outcome, so no causal targets")
        lines.append(f"  model: {self.model_info['parameters']} parameters, {self.model_info['observables']} "
                     f"observables, Jacobian rank {rank_text(self.model_info)}")
        if self.roles:
            lines.append(f"  roles: Z = {', '.join(self.roles.treatment_side)}; "
                         f"X = {', '.join(self.roles.outcome_side)}")
        for t in TARGETS:
            v = self.targets[t]
            known = v.scope if v.evidence in ("exact", None) else f"{v.scope} ({v.evidence_text})"
            lines.append(f"  {t:13s} {v.label:40s} {known} via {v.method} [{v.certificate.get('kind')}]"
                         + (f": {v.reason}" if v.reason else ""))
        if self.global_check:
            lines.append(f"  global check: {self.global_check['summary']}")
        failed = [r for r in self.routes if not r.applies]
        if failed:
            lines.append("  routes that do not apply:")
            lines += [f"    {r.route} ({r.target}): {r.reason}" for r in failed]
        return "\n".join(lines)

    def latex(self) -> str:
        """The identifying formulas of the constructive routes, one per line (estimands, then the formulas of
        certificates without one, such as a Kruskal route's), in the design's own variable names."""
        rows = [rf"\text{{{TITLES[t]}}}:&\ {e.formula}" for t, e in self.estimands.items()]
        rows += [rf"\text{{{TITLES[t]}}}:&\ {self.targets[t].certificate['formula']}" for t in TARGETS[1:]
                 if t not in self.estimands and "formula" in self.targets[t].certificate]
        return r"\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}" if rows else r"\text{no estimand}"

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def __str__(self) -> str:
        return self.report()


def place(design: Design | str, *, error: float = DEFAULT_ERROR, seed: int | None = 0,
          max_seconds: float | None = None, scope: str = "auto") -> Placement:
    """Decide every target of a design and place it in the hierarchy.

    Parameters
    ----------
    design : Design or str
        A design, a built-in name (``paper-level1`` ... ``paper-level4``) or a design file path.
    error : float
        The one correctness knob: the largest probability of a wrong probabilistic verdict (Schwartz-Zippel
        bound). Witness and constructive certificates are exact whatever it is.
    seed : int
        Seed of the random witness points (certificates record them, so any seed can be re-checked).
    max_seconds : float
        Time budget (positive and finite; default 300 s, of which an explicit global check takes at most 120 s).
        A target still undecided when it is spent gets the verdict ``inconclusive``, with what was established;
        so does one that would need a table larger than :data:`~mixid.identify.marginals.MAX_CELLS` entries.
    scope : str
        ``"auto"`` (default): a target that only the Jacobian identifies (locally) gets the global check of
        :func:`~mixid.identify.fibre.count_fibre` when the design has at most 24 parameters, with a fixed amount
        of work (the same answer on every machine); ``"global"``: always try it, within the budget; ``"local"``:
        never (local verdicts stand).

    Returns
    -------
    Placement
        Every target's verdict with its certificate. ``level`` is the finest target identifiable at the strongest
        scope established (``level_scope``: ``"global"`` when some target is proved globally identifiable, else
        ``"local"``); ``local_level`` is the finest locally identifiable target. A design without treatment and
        outcome gets ``not_applicable`` for the MTE and the ATE.

    Examples
    --------
    >>> place("paper-level4").level
    4
    >>> place("paper-level4").targets["mte"].verdict
    'not_identifiable'
    >>> p = place(Design.latent_class(list("ABCDEFG"), classes=3))
    >>> p.level, p.level_scope, p.targets["full_mixture"].method, p.targets["ate"].verdict
    (2, 'global', 'kruskal_pooled', 'not_applicable')
    >>> place(Design.latent_class(list("ABCD"), classes=10**6)).targets["full_mixture"].method
    'dimension_count'
    """
    design = Design.load(design)
    if scope not in SCOPES:
        raise DesignError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise DesignError(f"seed must be a non-negative integer or None, got {seed!r}")
    if isinstance(error, bool) or not isinstance(error, (int, float)) or not 0 < error < 1:
        raise DesignError(f"error must be a probability in (0, 1), got {error!r}")
    explicit = max_seconds is not None
    max_seconds = check_seconds(DEFAULT_MAX_SECONDS if max_seconds is None else max_seconds, "max_seconds")
    ctx = Context(design, error=error, seed=seed, max_seconds=max_seconds)
    jac = JacobianRoute(ctx)
    routes: list[RouteResult] = []
    verdicts: dict[str, TargetVerdict] = {}
    estimands: dict[str, Estimand] = {}

    def attempt(route: str, target: str, run) -> RouteResult | None:
        """Run a route; a limit that stops it is recorded as a route that did not finish."""
        try:
            return run()
        except LimitReached as stop:
            routes.append(RouteResult(route, target, False, f"stopped: {stop}"))
            stopped[target] = stop
            return None

    def constructive(res: RouteResult | None) -> TargetVerdict | None:
        if res is None:
            return None
        routes.append(res)
        if not res.applies:
            return None
        if res.estimand is not None:
            estimands[res.target] = res.estimand
        return TargetVerdict(res.target, "identifiable", "global", res.route, res.certificate, res.reason)

    stopped: dict[str, LimitReached] = {}
    observed = design.latent_observed or design.classes == 1
    # --- labels
    adj = attempt("adjustment", "labels", lambda: adjustment.run(ctx, "labels"))
    if adj is None:
        verdicts["labels"] = _inconclusive(ctx, "labels", stopped["labels"], routes)
    elif adj.applies:
        routes.append(adj)
        verdicts["labels"] = TargetVerdict("labels", "identifiable", "global", "adjustment", adj.certificate,
                                           adj.reason)
    else:
        routes.append(adj)
        verdicts["labels"] = _labels_not_identifiable(ctx)
    # --- the other targets: a dimension count, constructive routes in order, implication, then the Jacobian
    plans = {
        "full_mixture": [("adjustment", lambda: adjustment.run(ctx, "full_mixture"))] if observed
        else [("kruskal_pooled", lambda: kruskal.pooled(ctx)), ("kruskal_per_arm", lambda: kruskal.per_arm(ctx))],
        "mte": [] if observed else [("spo", lambda: spo.run(ctx))],
        "ate": [] if observed else [("proximal", lambda: proximal.run(ctx))],
    }
    for target in ("full_mixture", "mte", "ate"):
        if not design.causal and target in ("mte", "ate"):
            verdicts[target] = _not_applicable(design, target)
            continue
        verdict = None
        counted = jac.count(target)  # settles the target when it says "not identifiable"
        for route, run in plans[target]:
            if counted is not None and design.classes > COUNTED_ROUTES_MAX_CLASSES:
                # the routes cannot apply, and their search (Kruskal ranks over column subsets) grows like 2^k
                routes.append(RouteResult(route, target, False, "not run: the dimension count already shows "
                                          f"that {TITLES[target]} is not identifiable"))
                continue
            verdict = constructive(attempt(route, target, run))  # report why they fail, within the budget
            if verdict:
                break
        local = _decide(jac, target, stopped)
        if verdict is not None and counted is not None:
            raise AssertionError(f"{verdict.method} identifies {target} against the dimension count; a bug in mixid")
        if verdict is None:
            finer = [verdicts[t] for t in TARGETS[: TARGETS.index(target)] if verdicts[t].identifiable]
            if finer:  # implied by the closest finer target of the strongest scope; it inherits that scope
                f = next((v for v in reversed(finer) if v.scope == "global"), finer[-1])
                cert = {"kind": f.certificate["kind"], "implied_by": f.target}
                if f.evidence == "probabilistic":
                    cert["error_bound"] = f.error_bound
                verdict = TargetVerdict(target, "identifiable", f.scope, f"implied by {f.target}", cert,
                                        f"{f.target} determines {target}", evidence=f.evidence)
            elif counted is not None:
                many = f"{jac.d:,} parameters" if target == "full_mixture" else \
                    f"{design.classes - 1:,} free class weights"
                verdict = TargetVerdict(target, "not_identifiable", "local", "dimension_count",
                                        counted.certificate, f"{many}, {jac.N:,} observables: rank J <= {jac.N - 1:,}")
            elif local is None:
                verdict = _inconclusive(ctx, target, stopped[target], routes)
            else:
                verdict = TargetVerdict(target, local.verdict, "local", "jacobian", local.certificate,
                                        _jacobian_reason(local))
        verdict.local_check = _local_check(local, stopped.get(target))
        if target == "mte":  # which part of the MTE is lost: the weights, the effects, or both
            verdict.local_check["components"] = {
                part: {k: v for k, v in _local_check(_decide(jac, part, stopped), stopped.get(part)).items()
                       if k != "rank_J"} for part in ("weights", "effects")}
        verdicts[target] = verdict
    if design.classes == 1 or design.latent_observed:
        if adj is not None and adj.applies:
            estimands["full_mixture"] = Estimand("full_mixture", "adjustment", adj.certificate["formula"],
                                                 ("P(V, U)",), {}, design.classes)
    roles = _roles(routes)
    conditions = _conditions(routes)
    try:
        rank_J = jac.rank_J
    except LimitReached:
        rank_J = None
    info = {"parameters": jac.d, "observables": jac.N, "jacobian_rank": rank_J.rank if rank_J else None,
            "jacobian_rank_upper_bound": rank_J.upper_bound if rank_J else jac.bound,
            "jacobian_rank_upper_reason": rank_J.upper_reason if rank_J else jac.reason,
            "jacobian_rank_witness": rank_J.witness.to_dict() if rank_J else None}
    left = ctx.deadline - time.monotonic()
    budget = left if explicit else min(left, GLOBAL_SECONDS)
    check = _globalise(design, jac.d, verdicts, scope, budget, 0 if seed is None else seed)
    fib = check.pop("fibre_count", None) if check else None
    return Placement(design, verdicts, roles, conditions, estimands, routes, info, error, check, fib)


def _globalise(design: Design, n: int, verdicts: dict[str, TargetVerdict], scope: str, budget: float,
               seed: int) -> dict | None:
    """Count the fibre for the targets that only the Jacobian identifies, and make their verdicts global.

    m = 1 makes every such target globally identifiable; with m > 1 the full mixture is not globally
    identifiable, and the MTE or the ATE is globally identifiable exactly when it takes one value on the fibre.
    Verdicts the count leaves undecided (budget, size, engine) keep their local scope; the returned
    ``global_check`` says why. ``n`` is the number of parameters (the placement has counted them).
    """
    pending = tuple(t for t in ("full_mixture", "mte", "ate")
                    if verdicts[t].verdict == "identifiable" and verdicts[t].scope == "local")
    if scope == "local" or not pending:
        return None
    if scope == "auto" and n > AUTO_MAX_PARAMS:
        return {"status": "skipped", "targets": list(pending), "summary": f"not run by default for {n} parameters "
                f"(more than {AUTO_MAX_PARAMS}); ask for it with scope='global' (mixid identify --global)"}
    if n > MAX_PARAMS:
        return {"status": "too_large", "targets": list(pending), "summary": f"too large for a global check: {n} "
                f"parameters (the limit is {MAX_PARAMS}); the local verdicts stand"}
    if budget <= 0:
        return {"status": "budget", "targets": list(pending), "summary": "no time left for the global check"}
    if scope == "auto":  # a budget of work, not time, so that the answer does not depend on the machine
        small = n <= AUTO_EXACT_PARAMS and (msolve_path() is not None or n <= SYMPY_MAX_PARAMS)
        fib = count_fibre(design, targets=pending, method="exact" if small else "numeric",
                          max_seconds=min(budget, AUTO_SAFETY_SECONDS), max_paths=AUTO_PATHS, seed=seed,
                          samples=AUTO_SAMPLES)
    else:
        fib = count_fibre(design, targets=pending, max_seconds=budget, seed=seed)
    decided = []
    for t in pending:
        real = fib.identifiable(t)  # over the real parameter space; None: the count does not decide
        old = verdicts[t]
        if real is None:
            frac = fib.fractions.get(t)
            if frac is not None:  # m > 1 over C, yet no valid twin anywhere sampled: say so, keep the local verdict
                old.reason += (f"; the global check found {fib.solutions} points over the complex numbers but no "
                               f"other valid model at {frac['points']} sampled parameter points (identifiable at "
                               f"{100 * frac['estimate']:.0f} %, {100 * frac['low']:.0f}-{100 * frac['high']:.0f} %): "
                               "not proved global")
            continue
        cert = fib.certificate(t)
        verdict = "identifiable" if real else "not_identifiable"
        reason = (f"one value on the fibre ({fib.solutions} point(s) up to relabelling)" if real else
                  f"a second valid model (real, interior, nonsingular; {fib.refuted_at.get(t, 'base')} point) has the "
                  f"same observables and another {t}")
        verdicts[t] = TargetVerdict(t, verdict, "global", "fibre", cert, reason, old.local_check)
        decided.append(t)
    status = "done" if len(decided) == len(pending) else ("budget" if not fib.complete else "undecided")
    m = fib.solutions
    what = (f"{'at least ' if not fib.complete else ''}{m} point(s) up to relabelling over the complex numbers"
            if m is not None else f"positive-dimensional fibre (dimension {fib.dimension})" if fib.dimension else
            "no count")
    summary = f"{what}, by {fib.method} in {fib.seconds:.1f} s"
    if fib.valid_solutions is not None:
        summary += f"; {fib.valid_solutions} valid (real, interior) at the base point"
    if decided:  # grouped by how they are known
        groups: dict[str, list[str]] = {}
        for t in decided:
            groups.setdefault(verdicts[t].evidence_text, []).append(t)
        summary += "; decided globally: " + "; ".join(f"{', '.join(ts)} ({how})" for how, ts in groups.items())
    left = [t for t in pending if t not in decided]
    if left:
        if fib.dimension > 0:
            why = "a positive-dimensional fibre does not decide them"
        elif fib.fractions and all(t in fib.fractions for t in left):
            f = fib.fractions[left[0]]
            why = (f"no other valid model at the base point or at {f['points']} sampled parameter points: "
                   f"identifiable at {100 * f['estimate']:.0f} % ({100 * f['low']:.0f}-{100 * f['high']:.0f} %) "
                   "of them, not proved for every point")
        elif not fib.complete and scope == "auto":
            why = (f"the default check stops after {AUTO_PATHS} paths; ask for the full count with scope='global' "
                   "(mixid identify --global)")
        elif not fib.complete:
            why = "the budget ran out before the count was complete"
        elif m is None:
            why = fib.details.get("degree_note", "the count decided nothing")
        else:
            why = "no other valid model at the base point, and no time left to sample the parameter space"
        summary += f"; still local only: {', '.join(left)} ({why})"
    return {"status": status, "targets": list(pending), "decided": decided, "summary": summary,
            "fibre": fib.to_dict(), "fibre_count": fib}


def rank_text(info: dict) -> str:
    """The Jacobian rank of a placement's ``model`` entry in words ("not computed" when a limit stopped it)."""
    return "not computed" if info["jacobian_rank"] is None else str(info["jacobian_rank"])


def _decide(jac: JacobianRoute, target: str, stopped: dict):
    """The Jacobian route's verdict, or None when a limit stopped it (recorded in ``stopped``)."""
    try:
        return jac.decide(target)
    except LimitReached as stop:
        stopped.setdefault(target, stop)
        return None


def _local_check(local, stop: LimitReached | None) -> dict:
    if local is None:
        return {"verdict": "inconclusive", "rank_J": None, "rank_augmented": None, "kind": "none",
                "stopped": stop.to_dict() if stop else None}
    return {"verdict": local.verdict, "rank_J": local.rank_J, "rank_augmented": local.rank_augmented,
            "kind": local.certificate["kind"], "witnesses": _rank_witnesses(local.certificate)}


def _inconclusive(ctx: Context, target: str, stop: LimitReached, routes: list[RouteResult]) -> TargetVerdict:
    """A target a limit left undecided, with what had been established."""
    c = ctx.count
    established = [f"dimension count: d = {c.parameters:,} parameters, N = {c.observables:,} observables "
                   f"(rank J <= {min(c.parameters, c.observables - 1):,}; the count does not settle {target})"]
    established += [f"{r.route}: {'applies' if r.applies else 'does not apply'}: {r.reason}" for r in routes
                    if r.target == target]
    cert = {"kind": "none", "statement": f"undecided: {stop}", "stopped": stop.to_dict(), "established": established}
    return TargetVerdict(target, "inconclusive", "local", "stopped", cert, f"{stop.limit} reached while {stop.at}")


def _not_applicable(design: Design, target: str) -> TargetVerdict:
    """The verdict on a causal target of a design that names no treatment and outcome."""
    why = "the design has no treatment and outcome"
    cert = {"kind": "none", "statement": f"design '{design.name}' is a plain latent class model: {TITLES[target]} "
            "is defined only for a treatment and an outcome (fields 'treatment' and 'outcome')"}
    return TargetVerdict(target, "not_applicable", "global", "none", cert, why)


def _rank_witnesses(cert: dict) -> dict:
    """The augmented Jacobian rank claim of a certificate, ``{"rank_augmented": {"rank", "witness"}}`` (rank J's
    witness is the model's, ``model.jacobian_rank_witness``); :meth:`Placement.verify` re-checks it."""
    return {key: {"rank": cert[key]["rank"], "witness": cert[key]["witness"]}
            for key in ("rank_augmented",) if key in cert}


def _jacobian_reason(v) -> str:
    if v.verdict == "identifiable":
        return f"rank [J; grad] = rank J = {v.rank_J}"
    return f"rank [J; grad] = {v.rank_augmented} > rank J = {v.rank_J}"


def _roles(routes: list[RouteResult]) -> Roles | None:
    for name in ("spo", "proximal"):
        for r in routes:
            if r.route == name and r.estimand is not None:
                return Roles(r.estimand.roles["treatment_side"], r.estimand.roles["outcome_side"])
    return None


def _conditions(routes: list[RouteResult]) -> list[Condition]:
    seen, out = set(), []
    for r in routes:
        for c in r.conditions:
            key = (c.statement, c.route)
            if key not in seen:
                seen.add(key)
                out.append(c)
    return out


def _labels_not_identifiable(ctx: Context) -> TargetVerdict:
    """With U latent, every class has positive posterior probability in every cell at interior parameters."""
    d = ctx.design
    statement = (f"{d.latent} is latent and P({d.latent}=u | v) lies strictly between 0 and 1 in every cell at every "
                 "interior parameter, so no function of the observed variables recovers a unit's class")
    try:
        m = ctx.model
    except LimitReached:  # too many parameters to list a point: the uniform one, where the posterior is 1/k
        cert = {"kind": "witness", "statement": statement,
                "point": "uniform: pi_u = 1/k and every class-conditional law the same in every class",
                "cell": {n: 0 for n in d.names}, "posterior": f"1/{d.classes} for every class"}
        return TargetVerdict("labels", "not_identifiable", "global", "latent_class", cert,
                             f"{d.latent} is not observed")
    rng = np.random.default_rng(0)
    point = []
    for p in m.params:
        if p.variable is None:
            point.append(Fraction(int(rng.integers(1, 10)), 10 * d.classes))
        elif d.variable(p.variable).categorical:
            point.append(Fraction(int(rng.integers(1, 10)), 10 * d.variable(p.variable).dim))
        else:
            point.append(Fraction(int(rng.integers(-9, 10)), 10))
    cell = {n: 0 for n in d.names}
    joint = [m.weight_poly(u) * m.class_poly(cell, u) for u in range(d.classes)]
    values = [eval_poly_exact(j, point) if m.n_params else Fraction(1) for j in joint]
    total = sum(values)
    posterior = [v / total for v in values]
    cert = {"kind": "witness", "statement": statement,
            "point": [str(x) for x in point], "cell": cell, "posterior": [str(x) for x in posterior]}
    return TargetVerdict("labels", "not_identifiable", "global", "latent_class", cert,
                         f"{d.latent} is not observed")


def local_identifiability(design: Design | str, target, *, error: float = DEFAULT_ERROR,
                          seed: int | None = 0) -> TargetVerdict:
    """Generic local identifiability of one target by the Jacobian route.

    Parameters
    ----------
    design : Design or str
        A design, built-in name or file path.
    target : str or sympy.Expr
        ``"weights"``, ``"effects"``, ``"mte"``, ``"ate"``, ``"full_mixture"``, or a polynomial in the model's
        parameter symbols (``Model(design).symbols``).
    error : float
        The probability bound of a probabilistic verdict.

    Examples
    --------
    >>> local_identifiability("paper-level4", "effects").verdict
    'not_identifiable'
    >>> local_identifiability("paper-level4", "ate").verdict
    'identifiable'
    """
    design = Design.load(design)
    ctx = Context(design, error=error, seed=seed)
    jac = JacobianRoute(ctx)
    name = target if isinstance(target, str) else str(target)
    try:
        v = jac.decide(target) if isinstance(target, str) else jac.decide_expression(target)
    except LimitReached as stop:
        return _inconclusive(ctx, name, stop, [])
    if v.rank_J is None:
        return TargetVerdict(name, v.verdict, "local", "dimension_count", v.certificate, v.certificate["statement"])
    return TargetVerdict(name, v.verdict, "local", "jacobian", v.certificate, _jacobian_reason(v))
