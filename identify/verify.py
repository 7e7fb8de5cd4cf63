"""``mixid check``: re-derive every claim of a placement's JSON from its design, trusting nothing else.

The certificate (``mixid identify --json``, ``Placement.to_dict()``) states verdicts and the claims they rest on.
The checker rebuilds the design from the JSON (with the limits of a design file), then:

1. re-checks each claim, which ends ``holds``, ``fails`` (with why) or ``unchecked`` (with why):

   * rank claims (the model's Jacobian, the Jacobian witnesses of verdicts and local checks, the proxy routes'
     rank M[Z,X|t] >= k, Kruskal ranks and the extension's full column rank): the stated minor, at the stated
     integer point modulo the stated prime, is re-evaluated and must be nonzero. Primes must be primes in
     ``3 .. 2^63 - 1`` (tested, not trusted); arithmetic is exact at any of them (machine integers up to
     2^31 - 1, Python integers above). Indices must be integers (not booleans), distinct, in range and as many as
     the rank needs. A nonzero minor mod p at an integer point proves the generic rank over Q is at least its size;
   * Kruskal claims: three distinct, disjoint views (per arm, and a stitch view independent of T), mutually
     independent given U (d-separation), a nonzero minor for every column subset of the stated size, ranks
     summing to 2k + 2;
   * proxy routes (SPO, proximal): the roles of the rank witnesses, the d-separation conditions they need, both
     arms, det H_0 != 0 at the witnesses' point (SPO), and the ``roles`` of the JSON;
   * dimension counts, recounted; structural verdicts (U latent or observed, no treatment), from the design;
   * probabilistic Jacobian verdicts, re-run at the checker's own random points (evidence ``probabilistic``);
   * fibre counts: the witness re-evaluated at 50 digits (same observables; ``point_b`` real, interior and not
     ``point_a`` with the classes relabelled; the target different at the two points), and an exact count re-run
     at its point and prime when its engine is installed (else ``unchecked: engine missing``). A numerical count
     (monodromy, parameter monodromy) is ``unchecked``: a floating-point search cannot be re-checked;
   * every d-separation condition of the JSON, recomputed on the design's graph;

2. recomputes each target's verdict, scope and evidence from the claims that held, and the level from those
   verdicts (:func:`~mixid.identify.levels.levels`), and compares them with the stated ones. A verdict without
   the claims it needs fails; so does a certificate with no claim at all.

Evidence: constructive routes, witnesses and dimension counts are ``exact`` (a constructive certificate with a
check made at random points, a positive ``error_bound``, is ``probabilistic``); a probabilistic Jacobian verdict
is ``probabilistic``; a fibre verdict is ``exact`` when an exact (Groebner) count decides it by itself,
``numerical`` otherwise (a numerical count, or a refutation by a witness that a search found); an implied verdict
has the evidence of the verdict it comes from. A stated evidence that differs fails.
A certificate written before verdicts carried ``evidence`` is accepted: the verdict's line gives the evidence
recomputed.

Work is bounded: the design passes the limits of a design file, no table or Jacobian larger than
:data:`~mixid.identify.marginals.MAX_CELLS` entries is formed, no Kruskal claim over more than
:data:`~mixid.identify.rank.MAX_KRUSKAL_SUBSETS` column subsets is enumerated, and a time budget covers every
step (the exact count runs in a child process that is stopped when the budget is spent): what a limit stops is
``unchecked`` with the limit named.

What is not re-checked: the polynomial identities of constructive certificates (they are the routes' theorems
given the conditions re-checked here), and the nonsingularity of a fibre witness.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from .design import Design
from .errors import DesignError
from .evidence import error_bound
from .levels import LEVELS, TARGETS, levels
from .marginals import MAX_CELLS, MAX_PARAMETERS, LimitReached, dimension_count
from .model import eval_poly_exact
from .rank import DEFAULT_ERROR, MAX_KRUSKAL_SUBSETS, PRIME, det_mod

HOLDS, FAILS, UNCHECKED = "holds", "fails", "unchecked"
MIN_PRIME, MAX_PRIME = 3, 2**63 - 1  # primes a claim may state (tested); machine arithmetic is exact up to PRIME
DEFAULT_CHECK_SECONDS = 120.0  # the checker's time budget (mixid check --max-seconds)
MAX_CERTIFICATE_BYTES = 16 << 20
MAX_JSON_DIGITS = 40  # an integer in a certificate (a residue modulo a prime below 2^63 has at most 19 digits)
MAX_WITNESS_CELLS = 200_000  # observables x parameters of a 50-digit fibre witness evaluation
CHECK_SEED = 7_919  # the checker's own random points (probabilistic re-checks); certificates use their own
WITNESS_TOLERANCE = 1e-30  # largest observable difference of a fibre witness at 50 digits
DISTINCT_TOLERANCE = 1e-20  # two fibre points closer than this, class by class, are the same point
# the certificate kind of each method (an implied verdict repeats the kind of the verdict it comes from)
KINDS = {"latent_class": "witness", "adjustment": "constructive", "none": "none", "stopped": "none",
         "kruskal_pooled": "constructive", "kruskal_per_arm": "constructive", "spo": "constructive",
         "proximal": "constructive", "dimension_count": "count", "jacobian": ("witness", "probabilistic"),
         "fibre": "fibre"}


@dataclass(frozen=True)
class Claim:
    """One re-checked claim: where it was stated, what it says, ``holds`` / ``fails`` / ``unchecked``, and why."""

    where: str
    statement: str
    status: str
    detail: str

    @property
    def holds(self) -> bool:
        return self.status == HOLDS

    def line(self) -> str:
        """One line for the command line: the status, where, the claim, and how it was checked (or why not)."""
        return f"{self.status:9s} {self.where}: {self.statement} ({self.detail})"


class _Bad(Exception):
    """A claim's data is malformed or wrong: the claim fails with this message."""


class _Unchecked(Exception):
    """A claim could not be re-checked (budget, limit, engine): the claim is unchecked with this message."""


# --------------------------------------------------------------------------------------------- reading
def read_certificate(path) -> dict:
    """Parse a certificate file strictly: a regular file of at most 16 MiB, UTF-8 JSON without duplicate keys,
    NaN or Infinity, integers of at most 40 digits. Raises DesignError (one line) otherwise.

    Examples
    --------
    >>> read_certificate("/dev/null")
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DesignError: certificate file '/dev/null' is not a regular file (a character device)
    """
    from .files import _shown, read_bounded

    raw = read_bounded(path, MAX_CERTIFICATE_BYTES, "certificate")
    name = _shown(str(path))
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_int=_bounded_int,
                          parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise DesignError(f"certificate file {name} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise DesignError(f"certificate file {name} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise DesignError(f"certificate file {name} is nested too deeply") from None
    except DesignError as exc:
        raise DesignError(f"certificate file {name}: {exc}") from None


def _unique_keys(pairs: list) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise DesignError(f"duplicate key {key[:60]!r} (JSON objects must not repeat a key)")
        out[key] = value
    return out


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_DIGITS:
        raise DesignError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_JSON_DIGITS})")
    return int(text)


def _no_constant(text: str):
    raise DesignError(f"{text} is not a JSON number (strict JSON has no NaN or Infinity)")


# --------------------------------------------------------------------------------------------- values
def _shown(value, limit: int = 40) -> str:
    """A stated value for a message: text as it is (when short and printable), anything else as its repr, cut."""
    if isinstance(value, str) and value.isprintable() and len(value) <= limit:
        return value
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...({len(text)} characters)"


def _get(m, key: str, what: str):
    if not isinstance(m, Mapping):
        raise _Bad(f"{what} is not a JSON object")
    if key not in m:
        raise _Bad(f"{what} has no '{key}'")
    return m[key]


def _int(value, what: str, low: int | None = None, high: int | None = None) -> int:
    if type(value) is not int:
        raise _Bad(f"{what} must be an integer, got {_shown(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Bad(f"{what} must be in {low}..{high}, got {_shown(value)}")
    return value


def _list(value, what: str) -> list:
    if not isinstance(value, list):
        raise _Bad(f"{what} must be a list, got {_shown(value)}")
    return value


def _indices(value, what: str, size: int, bound: int) -> list[int]:
    """A list of ``size`` distinct integers in 0..bound-1."""
    items = _list(value, what)
    if len(items) != size:
        raise _Bad(f"{what} lists {len(items)} indices, {size} needed")
    out = [_int(x, f"an index of {what}", 0, bound - 1) for x in items]
    if len(set(out)) != len(out):
        raise _Bad(f"{what} repeats an index: {_shown(out)}")
    return out


def _prime(value, what: str = "prime") -> int:
    p = _int(value, what)
    if not MIN_PRIME <= p <= MAX_PRIME:
        raise _Bad(f"{what} {p} is outside the primes the checker accepts ({MIN_PRIME} .. 2^63 - 1)")
    import flint

    if not flint.fmpz(p).is_prime():
        raise _Bad(f"{what} {p} is not a prime")
    return p


def _names(value, what: str, design: Design, allowed: set | None = None) -> tuple[str, ...]:
    items = _list(value, what)
    pool = set(design.names) if allowed is None else allowed
    if not items:
        raise _Bad(f"{what} is empty")
    if any(not isinstance(n, str) or n not in pool for n in items):
        raise _Bad(f"{what} names {_shown(items)}: not variables of the design it may use")
    if len(set(items)) != len(items):
        raise _Bad(f"{what} repeats a variable: {_shown(items)}")
    return tuple(items)


def _fmt(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else "(" + ",".join(names) + ")"


# --------------------------------------------------------------------------------------------- the checker
class _Checker:
    def __init__(self, data: Mapping, max_seconds: float):
        if not isinstance(data, Mapping) or not isinstance(data.get("design"), Mapping) \
                or not isinstance(data.get("targets"), Mapping):
            raise DesignError("not a placement: the JSON of `mixid identify --json` has 'design' and 'targets'")
        self.data = data
        self.design = Design.from_dict(dict(data["design"]))  # the limits of a design file, before any work
        self.count = dimension_count(self.design)
        self.k = self.design.classes
        self.deadline = time.monotonic() + max_seconds
        self.max_seconds = max_seconds
        self.claims: list[Claim] = []
        self.memo: dict = {}
        self.contexts: dict = {}
        self.derived: dict[str, dict] = {}  # target -> {"verdict", "scope", "evidence", "status"}
        self.route_roles: dict[str, tuple] = {}  # proxy route -> (Z, X) of its rank witnesses

    # ------------------------------------------------------------------------------------- plumbing
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def claim(self, key, where: str, statement: str, check: Callable[[], str]) -> Claim:
        """Run ``check`` (returns the detail of a claim that holds; raises _Bad / _Unchecked) once per ``key``."""
        if key is not None and key in self.memo:
            return self.memo[key]
        if self.left() <= 0:
            status, detail = UNCHECKED, f"budget: the {self.max_seconds:g} s of --max-seconds were spent"
        else:
            try:
                status, detail = HOLDS, check()
            except _Bad as exc:
                status, detail = FAILS, str(exc)
            except _Unchecked as exc:
                status, detail = UNCHECKED, str(exc)
            except LimitReached as exc:
                status, detail = UNCHECKED, ("budget: " if exc.limit == "max_seconds" else "limit: ") + str(exc)
            except DesignError as exc:
                status, detail = FAILS, str(exc)
            except (ValueError, ArithmeticError) as exc:  # a stated value the model cannot be evaluated at
                status, detail = FAILS, f"cannot be evaluated: {type(exc).__name__}: {exc}"
        c = Claim(where, statement, status, detail)
        self.claims.append(c)
        if key is not None:
            self.memo[key] = c
        return c

    @cached_property
    def model(self):
        if self.count.parameters > MAX_PARAMETERS:
            raise _Unchecked(f"limit: {self.count.parameters:,} parameters (the checker builds models of at most "
                             f"{MAX_PARAMETERS:,})")
        return _model(json.dumps(self.design.to_dict()))  # key order kept: it orders the parameters

    @cached_property
    def graph(self):
        from .graph import Graph

        return Graph(self.design)

    def point(self, value, p: int, what: str = "point") -> np.ndarray:
        """A stated integer point: one integer per parameter, as residues mod p (Python integers above 2^31)."""
        items = _list(value, what)
        d = self.count.parameters
        if len(items) != d:
            raise _Bad(f"{what} has {len(items)} coordinates; the design has {d} parameters")
        xs = [_int(x, f"a coordinate of {what}") % p for x in items]
        return np.array(xs, dtype=np.int64 if p <= PRIME else object)

    def context(self, point: np.ndarray, p: int):
        from .routes.base import Context

        key = (tuple(int(x) for x in point), p)
        if key not in self.contexts:
            ctx = Context(self.design, prime=min(p, PRIME), max_seconds=max(self.left(), 1e-3))
            ctx.prime = p
            ctx.__dict__["model"] = self.model
            ctx.__dict__["point"] = point
            self.contexts[key] = ctx
        return self.contexts[key]

    def minor(self, matrix: np.ndarray, rows, cols, p: int, size: int, what: str = "minor") -> str:
        """The stated minor: ``size`` distinct rows and columns in range, nonzero mod p."""
        r = _indices(rows, f"{what} rows", size, matrix.shape[0])
        c = _indices(cols, f"{what} cols", size, matrix.shape[1])
        det = det_mod(np.asarray(matrix)[np.ix_(r, c)], p) if size else 1
        where = f"minor rows {_shown(r, 120)} cols {_shown(c, 120)} mod {p}"
        if det == 0:
            raise _Bad(f"{where}: determinant 0")
        return f"{where}: nonzero"

    # ------------------------------------------------------------------------------------- rank claims
    def jacobian_claim(self, where: str, entry, target: str | None = None) -> Claim:
        """A Jacobian rank claim ``{"rank", "witness"}``: rank J (or [J; grad target]) >= rank."""
        rank = entry.get("rank") if isinstance(entry, Mapping) else None
        what = f"rank [J; grad {target}] >= {_shown(rank)}" if target else f"rank J >= {_shown(rank)}"

        def check() -> str:
            r = _int(_get(entry, "rank", "the rank claim"), "the rank", 0, self.count.parameters)
            w = _get(entry, "witness", "the rank claim")
            p = _prime(_get(w, "prime", "the witness"))
            point = self.point(_get(w, "point", "the witness"), p)
            if "minor_size" in w and _int(w["minor_size"], "minor_size") != r:
                raise _Bad(f"minor_size {w['minor_size']} is not the rank {r}")
            matrix = self.jacobian_matrix(w, point, p, target)
            return self.minor(matrix, _get(w, "minor_rows", "the witness"), _get(w, "minor_cols", "the witness"),
                              p, r)

        return self.claim(("jacobian", target, repr(entry)), where, what, check)

    def jacobian_matrix(self, w: Mapping, point: np.ndarray, p: int, target: str | None) -> np.ndarray:
        model, count = self.model, self.count
        if "marginals" in w:
            from .marginals import Marginals

            groups = [_names(g, "a marginal of the witness", self.design) for g in _list(w["marginals"], "marginals")]
            if not groups:
                raise _Bad("the witness lists no marginal")
            marg = Marginals(model)
            matrix = np.vstack([marg.jacobian(point, g, p) for g in groups])
        else:
            if count.observables * count.parameters > MAX_CELLS:
                raise _Unchecked(f"limit: the full Jacobian has {count.observables:,} x {count.parameters:,} entries "
                                 f"(at most {MAX_CELLS:,})")
            matrix = model.evaluate(point, p)[1]
        if target is not None:
            from .model import gradient_mod

            pts = [int(x) for x in point]
            try:
                grads = [[int(g) for g in gradient_mod(f, pts, p)] for f in model.target_polys(target)]
            except ValueError as exc:  # a coefficient's denominator divisible by p
                raise _Bad(f"the target's gradient is undefined mod {p}: {exc}") from None
            matrix = np.vstack([matrix, np.array(grads, dtype=object).reshape(-1, model.n_params)])
        return matrix

    def proxy_claim(self, where: str, w, size: int) -> Claim:
        """rank M[Z,X | T=t] >= size from a witness with its ``matrix`` {treatment_side, outcome_side, arm}."""
        m = w.get("matrix") if isinstance(w, Mapping) else None
        try:
            what = (f"rank M[{_fmt(m['treatment_side'])},{_fmt(m['outcome_side'])} | {self.design.treatment}="
                    f"{m['arm']}] >= {size}")
        except (KeyError, TypeError, IndexError):
            what = f"rank M[Z,X | t] >= {size}"

        def check() -> str:
            Z, X, t = self.roles_of(w)
            p = _prime(_get(w, "prime", "the witness"))
            point = self.point(_get(w, "point", "the witness"), p)
            if "minor_size" in w and _int(w["minor_size"], "minor_size") != size:
                raise _Bad(f"minor_size {w['minor_size']} is not the rank {size}")
            from .routes.proxies import zx_matrix

            matrix = zx_matrix(self.context(point, p), Z, X, t)
            return self.minor(matrix, _get(w, "minor_rows", "the witness"), _get(w, "minor_cols", "the witness"), p,
                              size)

        return self.claim(("proxy", repr(w), size), where, what, check)

    def roles_of(self, w) -> tuple[tuple[str, ...], tuple[str, ...], int]:
        d = self.design
        if not d.causal:
            raise _Bad("the design has no treatment and outcome")
        m = _get(w, "matrix", "the witness")
        others = set(d.names) - {d.treatment, d.outcome}
        Z = _names(_get(m, "treatment_side", "the matrix"), "treatment_side", d, others)
        X = _names(_get(m, "outcome_side", "the matrix"), "outcome_side", d, others)
        if set(Z) & set(X):
            raise _Bad(f"treatment_side {list(Z)} and outcome_side {list(X)} share a variable")
        t = _int(_get(m, "arm", "the matrix"), "arm", 0, 1)
        return Z, X, t

    # ------------------------------------------------------------------------------------- the walk
    def run(self) -> list[Claim]:
        d = self.data
        model = d.get("model")
        if model is not None:
            self.model_claims(model)
        targets = d["targets"]
        for t in TARGETS:
            self.target(t, targets.get(t))
        extra = sorted(set(targets) - set(TARGETS))
        if extra:
            self.claim(None, "targets", f"targets {_shown(extra)}", _raiser(
                _Bad(f"unknown target(s): the targets are {', '.join(TARGETS)}")))
        self.roles_claim()
        conditions = d.get("conditions", [])
        if not isinstance(conditions, list):
            self.claim(None, "conditions", "conditions", _raiser(_Bad("not a list")))
        else:
            for c in conditions:
                self.condition(c, conditions)
        self.level_claim()
        return self.claims

    def model_claims(self, model) -> None:
        if not isinstance(model, Mapping):
            self.claim(None, "model", "the model entry", _raiser(_Bad("not a JSON object")))
            return
        c = self.count

        def counts() -> str:
            d = _int(_get(model, "parameters", "model"), "parameters")
            n = _int(_get(model, "observables", "model"), "observables")
            if (d, n) != (c.parameters, c.observables):
                raise _Bad(f"recounted from the design: {c.parameters} parameters, {c.observables} observables; "
                           f"stated {d}, {n}")
            return "recounted from the design"

        self.claim(None, "model", f"{_shown(model.get('parameters'))} parameters, {_shown(model.get('observables'))} "
                   "observables", counts)
        if model.get("jacobian_rank_witness") is not None or model.get("jacobian_rank") is not None:
            self.jacobian_claim("model", {"rank": model.get("jacobian_rank"),
                                          "witness": model.get("jacobian_rank_witness")})

    # ------------------------------------------------------------------------------------- targets
    def target(self, t: str, v) -> None:
        where = f"{t}"
        if not isinstance(v, Mapping):
            self.claim(None, where, "the verdict", _raiser(
                _Bad("missing: a placement states a verdict on every target")))
            self.derived[t] = {"status": FAILS}
            return
        method, cert = v.get("method"), v.get("certificate")
        where = f"{t} ({_shown(method)})"
        needed: list[Claim] = []
        derived: tuple | None = None  # (verdict, scope, evidence)
        try:
            if not isinstance(method, str) or not isinstance(cert, Mapping):
                raise _Bad("a verdict has a 'method' (text) and a 'certificate' (object)")
            derived = self.support(t, method, cert, v, where, needed)
        except _Bad as exc:
            self.claim(None, where, "the verdict's certificate", _raiser(exc))
            self.derived[t] = {"status": FAILS}
            return
        self.local_check(t, v.get("local_check"))
        self.verdict_claim(t, v, where, derived, needed)

    def verdict_claim(self, t: str, v: Mapping, where: str, derived: tuple, needed: list[Claim]) -> None:
        verdict, scope, evidence = derived
        stated = (v.get("verdict"), v.get("scope"), v.get("evidence"))
        text = f"{_shown(stated[0])}, {_shown(stated[1])}" + (f", {stated[2]}" if "evidence" in v else "")
        def check() -> str:
            if not needed and verdict != "inconclusive":
                raise _Bad("the certificate carries no claim this verdict could rest on")
            if (stated[0], stated[1]) != (verdict, scope):
                raise _Bad(f"its claims support {verdict}, {scope}")
            if verdict != "inconclusive" and "evidence" in v and stated[2] != evidence:
                raise _Bad(f"states evidence {_shown(stated[2])}; its claims support {evidence}")
            bad = sorted((c for c in needed if c.status != HOLDS), key=lambda c: c.status != FAILS)
            if bad:
                c = bad[0]
                exc = _Bad if c.status == FAILS else _Unchecked
                raise exc(f"rests on a claim that {'fails' if c.status == FAILS else 'is unchecked'}: "
                          f"{c.where}: {c.statement}")
            if verdict == "inconclusive":
                return "a limit stopped it: nothing is claimed"
            rest = f"follows from {len(needed)} claim(s)"
            return rest + ("" if "evidence" in v else f"; evidence not stated, recomputed: {evidence}")

        c = self.claim(None, where, f"verdict {text}", check)
        self.derived[t] = {"status": c.status, "verdict": verdict, "scope": scope, "evidence": evidence}

    def support(self, t: str, method: str, cert: Mapping, v: Mapping, where: str,
                needed: list[Claim]) -> tuple[str, str, str]:
        """What the certificate's claims support: (verdict, scope, evidence); the claims go into ``needed``."""
        d, k = self.design, self.k
        kind = cert.get("kind")
        expected = KINDS.get(method) or (self.kind_of(method[len("implied by "):])
                                         if method.startswith("implied by ") else None)
        if expected is not None and kind not in (expected if isinstance(expected, tuple) else (expected,)):
            raise _Bad(f"a certificate of method {method} is of kind {expected}, not {_shown(kind)}")
        if method == "latent_class" and t == "labels":
            def latent() -> str:
                if d.latent_observed or k < 2:
                    raise _Bad(f"the design has {'U observed' if d.latent_observed else 'one class'}")
                return f"{d.latent} latent with {k} classes: P({d.latent}=u | v) is strictly between 0 and 1"
            needed.append(self.claim(None, where, f"{d.latent} is latent: no function of the observed variables "
                                     "recovers a unit's class", latent))
            needed.append(self.claim(None, where, "the stated posterior at the stated point and cell",
                                     lambda: self.posterior(cert)))
            return "not_identifiable", "global", "exact"
        if method == "adjustment" and t in ("labels", "full_mixture"):
            def observed() -> str:
                if not (d.latent_observed or k == 1):
                    raise _Bad(f"{d.latent} is latent with {k} classes")
                return "from the design"
            needed.append(self.claim(None, where, f"{d.latent} is observed (or there is one class): adjustment "
                                     "identifies it", observed))
            return "identifiable", "global", _constructive_evidence(cert)
        if method == "none" and t in ("mte", "ate"):
            def plain() -> str:
                if d.causal:
                    raise _Bad(f"the design names treatment {d.treatment} and outcome {d.outcome}")
                return "the design has no treatment and outcome"
            needed.append(self.claim(None, where, "no treatment and outcome: the target is not defined", plain))
            return "not_applicable", "global", "exact"
        if method == "stopped":
            if kind != "none":
                raise _Bad("an inconclusive verdict has a certificate of kind 'none'")
            return "inconclusive", "local", "exact"
        if method.startswith("implied by "):
            finer = method[len("implied by "):]
            if finer not in TARGETS or LEVELS[finer] >= LEVELS[t] or cert.get("implied_by") != finer:
                raise _Bad(f"'{_shown(method)}' must name a finer target (and the certificate's 'implied_by')")
            src = self.derived.get(finer, {})

            def implied() -> str:
                if src.get("status") != HOLDS or src.get("verdict") != "identifiable":
                    exc = _Unchecked if src.get("status") == UNCHECKED else _Bad
                    raise exc(f"{finer}'s verdict does not hold as identifiable")
                return f"{finer} determines {t}"
            needed.append(self.claim(None, where, f"{finer} is identifiable", implied))
            return "identifiable", src.get("scope") or "global", src.get("evidence") or "exact"
        if method in ("kruskal_pooled", "kruskal_per_arm") and t == "full_mixture":
            self.kruskal(where, cert, method == "kruskal_per_arm", needed)
            return "identifiable", "global", _constructive_evidence(cert)
        if (method, t) in (("spo", "mte"), ("proximal", "ate")):
            self.proxy_route(where, cert, method, needed)
            return "identifiable", "global", _constructive_evidence(cert)
        if method == "dimension_count" and t in ("full_mixture", "mte"):
            needed.append(self.count_claim(where, cert, t))
            return "not_identifiable", "local", "exact"
        if method == "jacobian" and t in ("full_mixture", "mte", "ate"):
            return self.jacobian_verdict(where, cert, t, v, needed)
        if method == "fibre" and t in ("full_mixture", "mte", "ate"):
            return self.fibre(where, cert, t, v, needed)
        raise _Bad(f"method '{_shown(method)}' does not decide {t}")

    def posterior(self, cert: Mapping) -> str:
        """The labels' witness: at an interior rational point, P(U=u | cell) for every class, recomputed exactly,
        equals the stated values, each strictly between 0 and 1 (no function of the cell recovers the class)."""
        from fractions import Fraction

        d, point = self.design, _get(cert, "point", "the witness")
        if isinstance(point, str):
            if self.count.parameters <= MAX_PARAMETERS:
                raise _Bad("a model of this size states its point")
            return "the uniform point, where every posterior is 1/k"
        values = []
        for x in _list(point, "point"):
            try:
                values.append(Fraction(x) if isinstance(x, str) and len(x) <= 40 else None)
            except (ValueError, ZeroDivisionError):
                values.append(None)
            if values[-1] is None:
                raise _Bad(f"a coordinate of the point is not a rational in text, got {_shown(x)}")
        if len(values) != self.count.parameters:
            raise _Bad(f"the point has {len(values)} coordinates; the design has {self.count.parameters} parameters")
        x = np.array(values, dtype=object)
        if not self.interior(x):
            raise _Bad("the point is not interior: a probability is not strictly between 0 and 1")
        cell = _get(cert, "cell", "the witness")
        if not isinstance(cell, Mapping) or sorted(cell) != sorted(d.names):
            raise _Bad("the cell gives a value to each observed variable")
        for name, value in cell.items():
            _int(value, f"the cell's {name}", 0, d.variable(name).dim - 1)
        model = self.model
        joint = [eval_poly_exact(model.weight_poly(u) * model.class_poly(dict(cell), u), values) for u in range(self.k)]
        total = sum(joint)
        if total == 0:
            raise _Bad("the cell has probability 0 at the point")
        posterior = [v / total for v in joint]
        if _get(cert, "posterior", "the witness") != [str(v) for v in posterior]:
            raise _Bad(f"recomputed: {_shown([str(v) for v in posterior], 80)}")
        if not all(0 < v < 1 for v in posterior):
            raise _Bad("a posterior is 0 or 1")
        return "recomputed exactly: every class has a posterior strictly between 0 and 1"

    def kind_of(self, target: str):
        """The certificate kind of a target's verdict (what an implied verdict repeats)."""
        v = self.data["targets"].get(target)
        cert = v.get("certificate") if isinstance(v, Mapping) else None
        return cert.get("kind") if isinstance(cert, Mapping) else "?"

    def local_check(self, t: str, local) -> None:
        """The Jacobian cross-check's witnesses are claims too: each minor is re-checked."""
        if local is None:
            return
        entries = [(f"{t} (local check)", local, t)]
        comps = local.get("components") if isinstance(local, Mapping) else None
        if isinstance(comps, Mapping):
            entries += [(f"{t} {part} (local check)", comp, part) for part, comp in comps.items()
                        if part in ("weights", "effects")]
        rank_j = local.get("rank_J") if isinstance(local, Mapping) else None
        for where, entry, target in entries:
            said = entry if isinstance(entry, Mapping) else {}
            self.claim(None, where, f"verdict {_shown(said.get('verdict'))} [{_shown(said.get('kind'))}]",
                       lambda entry=entry: self.local_verdict(entry, rank_j))
            w = entry.get("witnesses") if isinstance(entry, Mapping) else None
            if not isinstance(w, Mapping):
                continue
            if "rank_J" in w:
                self.jacobian_claim(where, w["rank_J"])
            if "rank_augmented" in w:
                self.jacobian_claim(where, w["rank_augmented"], target)

    def local_verdict(self, entry, rank_j) -> str:
        """A local check's verdict and kind follow from its ranks: identifiable when the gradient adds no rank;
        ``witness`` when that is exact (rank J = d, or rank J at its dimension-count bound), else
        ``probabilistic``; ``count`` with no ranks (a dimension count), ``none`` when a limit stopped it."""
        if not isinstance(entry, Mapping):
            raise _Bad("a local check is a JSON object")
        verdict, kind, r_aug = entry.get("verdict"), entry.get("kind"), entry.get("rank_augmented")
        c = self.count
        bound = min(c.parameters, c.observables - 1)
        if kind == "none":
            expected = ("inconclusive", "none")
        elif rank_j is None:
            expected = ("not_identifiable", "count")
        else:
            j, a = _int(rank_j, "rank_J", 0, c.parameters), _int(r_aug, "rank_augmented", 0, c.parameters)
            w = entry.get("witnesses")
            stated = w.get("rank_augmented", {}).get("rank") if isinstance(w, Mapping) and isinstance(
                w.get("rank_augmented"), Mapping) else a
            if stated != a:
                raise _Bad(f"rank_augmented {a}, its witness states {_shown(stated)}")
            if a < j:
                raise _Bad(f"rank_augmented {a} below rank_J {j}")
            ident = a == j
            exact = (ident and j == c.parameters) or (not ident and j == bound)
            expected = ("identifiable" if ident else "not_identifiable", "witness" if exact else "probabilistic")
        if (verdict, kind) != expected:
            raise _Bad(f"its ranks give {expected[0]} [{expected[1]}]")
        return "follows from its ranks"

    # ------------------------------------------------------------------------------------- counts, Jacobian
    def count_claim(self, where: str, cert: Mapping, t: str) -> Claim:
        c, k = self.count, self.k
        d, n = c.parameters, c.observables
        need = f"d = {d:,}" if t == "full_mixture" else f"k - 1 = {k - 1:,}"

        def check() -> str:
            stated = tuple(_int(_get(cert, key, "the count"), key) for key in ("parameters", "observables",
                                                                               "classes"))
            if stated != (d, n, k):
                raise _Bad(f"recounted from the design: d = {d}, N = {n}, k = {k}; stated {stated}")
            short = d > n - 1 if t == "full_mixture" else k - 1 > n - 1
            if not short:
                raise _Bad(f"rank J <= N - 1 = {n - 1:,} is not below {need}")
            return f"recounted from the design: d = {d:,}, N = {n:,}, k = {k:,}"

        return self.claim(None, where, f"dimension count: rank J <= N - 1 = {n - 1:,} < {need}", check)

    def jacobian_verdict(self, where: str, cert: Mapping, t: str, v: Mapping,
                         needed: list[Claim]) -> tuple[str, str, str]:
        c = self.count
        d, n = c.parameters, c.observables
        bound = n - 1 if n - 1 < d else d
        kind = cert.get("kind")
        stated = v.get("verdict")
        if "rank_J" not in cert:
            raise _Bad("a Jacobian verdict states rank_J")
        needed.append(self.jacobian_claim(where, cert["rank_J"]))
        r_j = cert["rank_J"].get("rank") if isinstance(cert["rank_J"], Mapping) else None
        if "rank_augmented" in cert:
            needed.append(self.jacobian_claim(where, cert["rank_augmented"], t))
        r_aug = cert["rank_augmented"].get("rank") if isinstance(cert.get("rank_augmented"), Mapping) else None
        if kind == "witness":
            if stated == "identifiable" or "rank_augmented" not in cert:
                def full() -> str:
                    if _int(r_j, "rank_J") < d:
                        raise _Bad(f"stated rank {r_j}, {d} parameters")
                    return f"the witnessed rank is the number of parameters, {d}"
                needed.append(self.claim(None, where, f"rank J = d = {d}: every parameter locally identifiable",
                                         full))
                return "identifiable", "local", "exact"

            def raised() -> str:
                a, j = _int(r_aug, "rank_augmented"), _int(r_j, "rank_J")
                if not a > j >= bound:
                    raise _Bad(f"stated ranks {a} and {j}; the bound min(d = {d}, observables - 1 = {n - 1}) is "
                               f"{bound}")
                return f"bound min(d = {d}, observables - 1 = {n - 1}) recounted from the design"
            needed.append(self.claim(None, where, f"rank [J; grad] = {_shown(r_aug)} > rank J = {_shown(r_j)} = its "
                                     f"bound {bound}: not locally identifiable", raised))
            return "not_identifiable", "local", "exact"
        if kind != "probabilistic":
            raise _Bad(f"a Jacobian certificate is of kind witness or probabilistic, not {_shown(kind)}")
        p = _prime(_get(cert, "prime", "a probabilistic certificate"))
        witness_primes = {json.dumps(e.get("witness", {}).get("prime")) for e in (cert.get("rank_J"), cert.get(
            "rank_augmented")) if isinstance(e, Mapping) and isinstance(e.get("witness"), Mapping)}
        if witness_primes != {json.dumps(p)}:
            raise _Bad(f"prime {p} is not the prime of its rank witnesses")
        verdict = "identifiable" if r_aug == r_j else "not_identifiable"

        def rerun() -> str:
            from .routes.base import Context
            from .routes.jacobian import JacobianRoute

            error = self.data.get("error", DEFAULT_ERROR)
            if type(error) is not float or not 0 < error < 1:
                raise _Bad(f"the certificate's 'error' must be a number in (0, 1), got {_shown(error)}")
            again = JacobianRoute(Context(self.design, error=error, seed=CHECK_SEED,
                                          max_seconds=max(self.left(), 1e-3))).decide(t)
            if (again.verdict, again.rank_J, again.rank_augmented) != (verdict, r_j, r_aug):
                raise _Bad(f"at the checker's random points: {again.verdict.replace('_', ' ')}, rank J "
                           f"{again.rank_J}, rank [J; grad] {again.rank_augmented}")
            bound_ = again.certificate.get("error_bound", 0.0)
            return f"re-run at the checker's own random points: probabilistic, error <= {bound_:.1e}"
        needed.append(self.claim(None, where, f"rank [J; grad {t}] = {_shown(r_aug)}, rank J = {_shown(r_j)} at "
                                 "random points", rerun))
        return verdict, "local", "probabilistic"

    # ------------------------------------------------------------------------------------- Kruskal
    def kruskal(self, where: str, cert: Mapping, per_arm: bool, needed: list[Claim]) -> None:
        d, k = self.design, self.k
        T, U = d.treatment, d.latent
        if per_arm and not d.causal:
            raise _Bad("per-arm Kruskal needs a treatment")
        allowed = set(d.names) - ({T} if per_arm else set())
        views = [_names(v, "a view", d, allowed) for v in _list(_get(cert, "views", "the certificate"), "views")]
        if len(views) != 3:
            raise _Bad(f"{len(views)} views: a CP decomposition needs 3")
        used = [n for v in views for n in v]
        if len(set(used)) != len(used):
            raise _Bad(f"the views {views} overlap or repeat a view")
        p = _prime(_get(cert, "prime", "the certificate"))
        point = self.point(_get(cert, "witness_point", "the certificate"), p, "witness_point")
        entries = _list(_get(cert, "kruskal", "the certificate"), "kruskal")
        arms = (0, 1) if per_arm else (None,)
        blocks = list(views)
        given = {U, T} if per_arm else {U}
        ext = cert.get("extension")
        if ext is not None:
            if per_arm:
                raise _Bad("a per-arm certificate has no extension")
            blocks += [_names(b, "an extension block", d, allowed) for b in _list(_get(ext, "blocks", "extension"),
                                                                                   "blocks")]
        covered = [n for b in blocks for n in b]
        if len(set(covered)) != len(covered) or set(covered) != allowed:
            raise _Bad(f"views and blocks must cover each of {sorted(allowed)} once, got {blocks}")

        def independent() -> str:
            for i, b in enumerate(blocks):
                rest = {n for j, o in enumerate(blocks) if j != i for n in o}
                if not self.graph.separated(set(b), rest, given):
                    raise _Bad(f"{_fmt(b)} is not d-separated from the other views given {', '.join(sorted(given))}")
            return "d-separation on the design's graph"
        needed.append(self.claim(None, where, "views " + ", ".join(map(_fmt, blocks)) + " mutually independent given "
                                 + ", ".join(sorted(given, key=lambda n: n != U)), independent))
        ranks: dict = {}
        seen = set()
        for e in entries:
            view = _names(_get(e, "view", "a Kruskal entry"), "a Kruskal view", d, allowed)
            arm = e.get("arm") if isinstance(e, Mapping) else None
            if per_arm:
                arm = _int(arm, "arm", 0, 1)
            elif arm is not None:
                raise _Bad("a pooled Kruskal entry has no arm")
            if view not in views or (view, arm) in seen:
                raise _Bad(f"Kruskal entry {_fmt(view)}{'' if arm is None else f' (arm {arm})'} is not one of the "
                           "views, or is listed twice")
            seen.add((view, arm))
            c = self.kruskal_claim(where, e, view, arm, point, p)
            needed.append(c)
            ranks[(view, arm)] = e.get("rank") if type(e.get("rank")) is int else 0
        for arm in arms:
            missing = [v for v in views if (v, arm) not in ranks]
            if missing:
                raise _Bad(f"no Kruskal rank for view {_fmt(missing[0])}" + ("" if arm is None else f" in arm {arm}"))
            total = sum(ranks[(v, arm)] for v in views)
            label = "" if arm is None else f" in arm {T}={arm}"

            def enough(total=total) -> str:
                if total < 2 * k + 2:
                    raise _Bad(f"{total} < {2 * k + 2}")
                return "the stated ranks, each re-checked"
            needed.append(self.claim(None, where, f"Kruskal ranks sum{label} = {total} >= 2k + 2 = {2 * k + 2}",
                                     enough))
        if per_arm:
            stitch = _names(_get(cert, "stitch_view", "the certificate"), "stitch_view", d, allowed)

            def stitches() -> str:
                if stitch not in views:
                    raise _Bad("the stitch view is not one of the views")
                if not self.graph.separated(set(stitch), {T}, {U}):
                    raise _Bad(f"{_fmt(stitch)} is not independent of {T} given {U}")
                low = min(ranks[(stitch, t)] for t in (0, 1))
                if low < min(2, k):
                    raise _Bad(f"its Kruskal rank {low} does not separate the classes")
                return f"independent of {T} given {U} (d-separation), Kruskal rank >= {min(2, k)} in each arm"
            needed.append(self.claim(None, where, f"{_fmt(stitch)} stitches the arms", stitches))
        if ext is not None:
            S = _names(_get(ext, "through", "extension"), "through", d, set(used))
            w = _get(ext, "rank_witness", "extension")

            def full_rank() -> str:
                from .routes.kruskal import view_matrix

                matrix = view_matrix(self.context(point, p), S, None)
                rows = _get(w, "rows", "the rank witness")
                return self.minor(matrix, rows, list(range(k)), p, k)
            needed.append(self.claim(None, where, f"P({_fmt(S)} | {U}) has full column rank {k}", full_rank))

    def kruskal_claim(self, where: str, e: Mapping, view: tuple, arm, point: np.ndarray, p: int) -> Claim:
        d, k = self.design, self.k
        r = e.get("rank")
        given = d.latent + ("" if arm is None else f", {d.treatment}={arm}")

        def check() -> str:
            rank = _int(r, "rank", 1, k)
            subsets = math.comb(k, rank)
            if subsets > MAX_KRUSKAL_SUBSETS:
                raise _Unchecked(f"limit: {subsets:,} column subsets (the checker enumerates at most "
                                 f"{MAX_KRUSKAL_SUBSETS:,})")
            minors = _list(_get(e, "witness_minors", "a Kruskal entry"), "witness_minors")
            if len(minors) != subsets:
                raise _Bad(f"{len(minors)} minors stated; rank {rank} needs one for each of the {subsets} column "
                           f"subsets")
            from .routes.kruskal import view_matrix

            matrix = view_matrix(self.context(point, p), view, arm)
            if rank > matrix.shape[0]:
                raise _Bad(f"rank {rank} exceeds the {matrix.shape[0]} rows")
            listed = {}
            for m in minors:
                cols = tuple(_indices(_get(m, "cols", "a minor"), "cols", rank, k))
                if list(cols) != sorted(cols) or cols in listed:
                    raise _Bad(f"column subset {list(cols)} is unsorted or listed twice")
                listed[cols] = _get(m, "rows", "a minor")
            for cols, rows in listed.items():
                if self.left() <= 0:
                    raise _Unchecked("budget: spent during the column subsets")
                self.minor(matrix, rows, list(cols), p, rank, f"the minor of columns {list(cols)}")
            return f"{subsets} column subset(s), a nonzero minor each mod {p}"

        return self.claim(None, where, f"Kruskal rank of P({','.join(view)} | {given}) >= {_shown(r)}", check)

    # ------------------------------------------------------------------------------------- proxy routes
    def proxy_route(self, where: str, cert: Mapping, method: str, needed: list[Claim]) -> None:
        d, k = self.design, self.k
        witnesses = _list(_get(cert, "rank_witnesses", "the certificate"), "rank_witnesses")
        roles = {self.roles_of(w)[:2] for w in witnesses}
        arms = sorted(self.roles_of(w)[2] for w in witnesses)
        if len(roles) != 1 or arms != [0, 1]:
            raise _Bad("the rank witnesses state rank M[Z,X | t] >= k for t = 0 and 1, with one Z and one X")
        Z, X = roles.pop()
        self.route_roles[method] = (Z, X)
        points = {(repr(w.get("point")), repr(w.get("prime"))) for w in witnesses}
        if len(points) != 1:
            raise _Bad("the rank witnesses are at one point and prime (the formula's checks use it)")
        for w in witnesses:
            needed.append(self.proxy_claim(where, w, k))
        U, T, Y = d.latent, d.treatment, d.outcome
        seps = [(Z, (Y,), (U, T)), (Z, X, (U, T)), (X, (T,), (U,))] + ([(X, (Y,), (U, T))] if method == "spo" else [])
        for a, b, given in seps:
            def sep(a=a, b=b, given=given) -> str:
                if not self.graph.separated(set(a), set(b), set(given)):
                    raise _Bad("d-connected in the design's graph")
                return "d-separation on the design's graph"
            needed.append(self.claim(("sep", a, b, given), where, f"{_fmt(a)} ⊥ {_fmt(b)} | {', '.join(given)}", sep))

        def backdoor() -> str:
            if not self.graph.adjustment_condition(method).holds:
                raise _Bad("a back-door path avoids U")
            return "d-separation on the design's graph without T's out-edges"
        needed.append(self.claim(("backdoor",), where, f"{U} blocks every back-door path {T} <- ... -> {Y}",
                                 backdoor))
        if method == "spo":
            w = witnesses[0]
            needed.append(self.distinct_claim(where, w))

    def distinct_claim(self, where: str, w: Mapping, stated=None, nonzero: bool = True, prime=None) -> Claim:
        """det H_0 at the rank witnesses' point and prime: nonzero (or zero, for a condition stated as failing),
        and equal to the stated value when there is one."""
        def check() -> str:
            p = _prime(_get(w, "prime", "the witness"))
            if prime is not None and prime != p:
                raise _Bad(f"stated mod {_shown(prime)}, the rank witnesses' prime is {p}")
            point = self.point(_get(w, "point", "the witness"), p)
            from .routes.proxies import det_h0

            try:
                det = det_h0(self.context(point, p))
            except ValueError as exc:
                raise _Bad(f"undefined mod {p}: {exc}") from None
            if (det != 0) is not nonzero:
                raise _Bad(f"{det} mod {p} at the rank witnesses' point")
            if stated is not None and _int(stated, "det_H0_mod_p") != det:
                raise _Bad(f"{det} mod {p}, stated {stated}")
            return f"{det} mod {p} at the rank witnesses' point"

        return self.claim(("distinct", repr(w.get("point")), repr(w.get("prime")), repr(stated), nonzero, repr(prime)),
                          where, f"det H_0 = prod pi_u prod (tau_u - tau_v)^2 {'!=' if nonzero else '=='} 0", check)

    def roles_claim(self) -> None:
        """The JSON's ``roles`` are those of the proxy route that set them (SPO first, then proximal)."""
        roles = self.data.get("roles")
        found = self.route_roles.get("spo") or self.route_roles.get("proximal")
        if roles is None and found is None:
            return

        def check() -> str:
            if found is None:
                raise _Bad("no proxy route verdict uses roles")
            z = _get(roles, "treatment_side", "roles")
            x = _get(roles, "outcome_side", "roles")
            if (tuple(z) if isinstance(z, list) else z, tuple(x) if isinstance(x, list) else x) != found:
                raise _Bad(f"the proxy route's rank witnesses use Z = {list(found[0])}, X = {list(found[1])}")
            return "the proxy route's rank witnesses use them"

        self.claim(None, "roles", f"Z = {_shown((roles or {}).get('treatment_side'))}, X = "
                   f"{_shown((roles or {}).get('outcome_side'))}", check)

    # ------------------------------------------------------------------------------------- conditions
    def condition(self, c, conditions: list) -> None:
        if not isinstance(c, Mapping):
            self.claim(None, "condition", "a condition", _raiser(_Bad("not a JSON object")))
            return
        kind, route = c.get("kind"), c.get("route")
        where = f"condition ({_shown(route)})"
        stated = c.get("holds")
        if kind == "d_separation":
            self.claim(None, where, f"{_shown(c.get('statement'), 80)}: {_shown(stated)}",
                       lambda: self.d_separation(c))
        elif kind == "rank" and not (isinstance(c.get("witness"), Mapping) and "matrix" in c["witness"]):
            self.claim(None, where, f"{_shown(c.get('statement'), 80)}: {_shown(stated)}", lambda: self.extension(c))
        elif kind == "rank":
            low = c.get("rank_lower_bound")

            def consistent() -> str:
                r = _int(low, "rank_lower_bound", 0, self.count.observables)
                Z, X, t = self.roles_of(c["witness"])
                head = f"rank M[{','.join(Z) if len(Z) == 1 else '(' + ','.join(Z) + ')'},"
                head += f"{','.join(X) if len(X) == 1 else '(' + ','.join(X) + ')'} | {self.design.treatment}={t}] = "
                if not str(c.get("statement", "")).startswith(head):
                    raise _Bad(f"the statement is not about the witness's matrix ({head}...)")
                if stated is not (r >= self.k):
                    raise _Bad(f"holds is {_shown(stated)} with rank >= {r} and k = {self.k}")
                return "holds exactly when the rank reaches k"
            self.claim(None, where, f"{_shown(c.get('statement'), 80)}: {_shown(stated)}", consistent)
            if type(low) is int and low > 0:
                self.proxy_claim(where, c["witness"], low)
        elif kind == "distinct_effects":
            ranks = [x for x in conditions if isinstance(x, Mapping) and x.get("kind") == "rank"
                     and x.get("route") == route and isinstance(x.get("witness"), Mapping)]
            w = c.get("witness") if isinstance(c.get("witness"), Mapping) else {}
            if not ranks:
                self.claim(None, where, "det H_0 != 0", _raiser(
                    _Bad("no rank condition of its route states the point")))
            elif type(stated) is not bool:
                self.claim(None, where, "det H_0 != 0", _raiser(_Bad("holds is not a boolean")))
            else:
                self.distinct_claim(where, ranks[0]["witness"], w.get("det_H0_mod_p"), stated, w.get("prime"))
        elif kind == "structure":
            self.claim(None, where, f"{_shown(c.get('statement'), 80)}: {_shown(stated)}", lambda: self.structure(c))
        elif kind != "kruskal":
            self.claim(None, where, f"{_shown(c.get('statement'), 80)}", _raiser(_Bad(
                f"unknown condition kind {_shown(kind)} (d_separation, rank, distinct_effects, kruskal, structure)")))
        else:
            def total() -> str:
                views = [_names(v, "a view", self.design) for v in _list(_get(c, "views", "condition"), "views")]
                if len(views) != 3:
                    raise _Bad(f"{len(views)} views: Kruskal's condition is about 3")
                rs = [_int(r, "a Kruskal rank", 0, self.k) for r in _list(_get(c, "kruskal_ranks", "condition"),
                                                                        "kruskal_ranks")]
                if len(rs) != len(views):
                    raise _Bad("one Kruskal rank per view")
                if stated is not (sum(rs) >= 2 * self.k + 2):
                    raise _Bad(f"holds is {_shown(stated)} with ranks summing to {sum(rs)} and 2k + 2 = "
                               f"{2 * self.k + 2}")
                return "holds exactly when the ranks reach 2k + 2"
            self.claim(None, where, f"{_shown(c.get('statement'), 80)}: {_shown(stated)}", total)

    def extension(self, c: Mapping) -> str:
        """The pooled route's extension condition: the same set and witness as the full mixture's certificate
        (whose minor is re-checked with its verdict)."""
        if "witness" not in c or "through" not in c:
            raise _Bad("a rank condition carries its witness")
        v = self.data["targets"].get("full_mixture")
        cert = v.get("certificate") if isinstance(v, Mapping) else None
        ext = cert.get("extension") if isinstance(cert, Mapping) else None
        if not isinstance(ext, Mapping) or c.get("holds") is not True:
            raise _Bad("only the full mixture's extension states such a condition, as holding")
        if json.dumps([c["through"], c["witness"]]) != json.dumps([ext.get("through"), ext.get("rank_witness")]):
            raise _Bad("not the set and witness of the full mixture's extension")
        return "the full mixture's extension, re-checked with its verdict"

    def structure(self, c: Mapping) -> str:
        """The blocks a CP route found (recomputed on the graph), or whether a stitch view was named."""
        d, stated = self.design, c.get("holds")
        if type(stated) is not bool:
            raise _Bad("a condition has a boolean 'holds'")
        if "blocks" in c:
            per_arm = c.get("route") == "kruskal_per_arm"
            if per_arm and not d.causal:
                raise _Bad("per-arm views need a treatment")
            names = [n for n in d.names if not per_arm or n != d.treatment]
            given = {d.latent, d.treatment} if per_arm else {d.latent}
            blocks = [list(b) for b in self.graph.components(names, given)]
            if c["blocks"] != blocks:
                raise _Bad(f"recomputed on the design's graph: blocks {blocks}")
            if stated is not (len(blocks) >= 3):
                raise _Bad(f"{len(blocks)} blocks: holds must be {len(blocks) >= 3}")
            return "blocks recomputed on the design's graph"
        if "stitch_view" in c:
            if stated is not (c["stitch_view"] is not None):
                raise _Bad("holds exactly when a stitch view is named")
            if c["stitch_view"] is not None:
                _names(c["stitch_view"], "stitch_view", d, set(d.names) - {d.treatment})
            return "the stitch view is re-checked with the per-arm verdict"
        raise _Bad("a structure condition states its 'blocks' or its 'stitch_view'")

    def d_separation(self, c: Mapping) -> str:
        """Recompute a d-separation statement ``A ⊥ B | C, D`` (or the back-door statement) on the graph."""
        text, stated = c.get("statement"), c.get("holds")
        if not isinstance(text, str) or type(stated) is not bool:
            raise _Bad("a condition has a text 'statement' and a boolean 'holds'")
        d = self.design
        if " blocks every back-door path " in text:
            actual = self.graph.adjustment_condition("check").holds if d.causal else None
        else:
            try:
                a, rest = text.split(" ⊥ ")
                b, given = rest.split(" | ")
            except ValueError:
                raise _Bad("not a d-separation statement 'A ⊥ B | C'") from None

            def names(part: str) -> set:
                part = part.strip()
                items = part[1:-1].split(", ") if part.startswith("(") else part.split(", ")
                known = set(d.names) | {d.latent}
                if not items or any(n not in known for n in items):
                    raise _Bad(f"{_shown(part)} names no variables of the design")
                return set(items)

            actual = self.graph.separated(names(a), names(b), names(given))
        if actual is None:
            raise _Bad("the design has no treatment")
        if actual is not stated:
            raise _Bad(f"recomputed on the design's graph: {actual}")
        return "recomputed on the design's graph"

    # ------------------------------------------------------------------------------------- fibre
    def fibre(self, where: str, cert: Mapping, t: str, v: Mapping, needed: list[Claim]) -> tuple[str, str, str]:
        k = self.k
        exact = cert.get("exact")
        if type(exact) is not bool:
            raise _Bad("a fibre certificate states 'exact' (a boolean)")
        if cert.get("scope", "global") != "global":
            raise _Bad("a fibre certificate's scope is global")
        how = cert.get("method")
        if exact and how != f"groebner ({cert.get('engine')})":
            raise _Bad(f"an exact count is by 'groebner (<engine>)' with its engine, not {_shown(how)}")
        if not exact and (not isinstance(how, str) or how.startswith("groebner")):
            raise _Bad(f"a numerical count names its method (monodromy, parameter monodromy), not {_shown(how)}")
        m = cert.get("solutions")
        dimension = _int(cert.get("dimension"), "dimension", 0)
        complete = cert.get("complete")
        one = cert.get("one_valued")
        if type(complete) is not bool:
            raise _Bad("a fibre certificate states 'complete' (a boolean)")
        if _int(cert.get("relabellings"), "relabellings") != math.factorial(k):
            raise _Bad(f"relabellings must be k! = {math.factorial(k)}")
        if dimension > 0:
            raise _Bad("a positive-dimensional fibre decides no global verdict")
        m = _int(m, "solutions", 1)
        stated = v.get("verdict")
        if m == 1:
            if not complete:
                raise _Bad("one point found by an incomplete count proves nothing")
            verdict = "identifiable"
        elif one is True and t != "full_mixture":
            verdict = "identifiable"  # the target takes one value on the m points
            if not complete:
                raise _Bad("one value on the points of an incomplete count proves nothing")
        else:
            verdict = "not_identifiable"
        # exact only when an exact count decides the target by itself; a refutation rests on a witness that a
        # floating-point search found (re-checked here at 50 digits): numerical
        evidence = "exact" if exact and verdict == "identifiable" else "numerical"
        if "identifiable" in cert and cert["identifiable"] is not (verdict == "identifiable"):
            raise _Bad(f"'identifiable' {_shown(cert['identifiable'])} contradicts the count ({verdict})")
        if one is not (verdict == "identifiable") and not (t == "full_mixture" and m == 1 and one is None):
            raise _Bad(f"one_valued {_shown(one)} contradicts {m} point(s) and the verdict it supports, {verdict}")
        count = self.count_claim_fibre(where, cert, m, exact)  # always re-checked (or unchecked) as a claim
        if verdict == "identifiable":
            needed.append(count)  # a refutation rests on its witness alone
        if verdict == "not_identifiable":
            w = cert.get("witness")
            if not isinstance(w, Mapping):
                raise _Bad("'not identifiable' from a fibre needs a witness: a second valid point")
            needed.extend(self.witness_claims(where, w, t))
        elif stated == "identifiable" and m > 1:
            needed.append(self.claim(None, where, f"{t} takes one value on the {m} points", _raiser(
                _Unchecked("the target's degree is not re-counted"))))
        if "evidence" in cert and cert["evidence"] != evidence:
            raise _Bad(f"the certificate states evidence {_shown(cert['evidence'])}; its count supports {evidence}")
        return verdict, "global", evidence

    def count_claim_fibre(self, where: str, cert: Mapping, m: int, exact: bool) -> Claim:
        what = f"{m} point(s) up to relabelling share a generic point's observables"

        def check() -> str:
            if not exact:
                raise _Unchecked(f"a numerical count ({_shown(cert.get('method'))}) cannot be re-checked")
            p = _prime(_get(cert, "prime", "the certificate"))
            self.point(_get(cert, "point", "the certificate"), p)
            deg = _int(_get(cert, "degree", "the certificate"), "degree", 1)
            if deg != m * math.factorial(self.k):
                raise _Bad(f"degree {deg} is not {m} x {math.factorial(self.k)} relabellings")
            engine = cert.get("engine")
            from . import fibre

            if engine == "msolve" and fibre.msolve_path() is None:
                raise _Unchecked("engine missing: needs msolve (pip install 'mixid[global]')")
            if engine not in ("msolve", "sympy"):
                raise _Bad(f"unknown engine {_shown(engine)}")
            outcome = _in_child(fibre.recheck_count, (self.design, dict(cert), max(self.left(), 0.01)), self.left())
            if outcome == "budget":
                raise _Unchecked(f"budget: the count did not finish within the {self.max_seconds:g} s")
            if isinstance(outcome, Exception):
                raise _Bad(str(outcome))
            if outcome is not True:
                raise _Bad(f"the Groebner basis at the stated point mod {p} has another degree")
            return f"degree {deg} recomputed by {engine} at the stated point mod {p}"

        return self.claim(("fibre-count", repr(cert.get("point")), m), where, what, check)

    def witness_claims(self, where: str, w: Mapping, t: str) -> list[Claim]:
        """Two claims: the points give the same observables; the second is a valid twin (real, interior, not the
        first relabelled) with another value of the target."""
        key = (repr(w.get("point_a")), repr(w.get("point_b")))
        same = self.claim(("fibre-same",) + key, where, "two parameter points give the same observables",
                          lambda: self.same_observables(w))
        twin = self.claim(("fibre-twin", t) + key, where, f"the second point is a valid model (real, interior, not the "
                          f"first relabelled) with another {t}", lambda: self.valid_twin(w, t))
        return [same, twin]

    def points(self, w: Mapping) -> tuple[np.ndarray, np.ndarray]:
        """The witness's two points at 50 digits (a complex coordinate is a [real, imaginary] pair)."""
        import mpmath

        c = self.count
        if c.observables * c.parameters > MAX_WITNESS_CELLS:
            raise _Unchecked(f"limit: a 50-digit evaluation of {c.observables:,} x {c.parameters:,} entries (at most "
                             f"{MAX_WITNESS_CELLS:,})")
        model = self.model
        if "parameters" in w and w["parameters"] != [q.name for q in model.params]:
            raise _Bad("'parameters' are not the model's parameter names in order")
        mpmath.mp.dps = 65

        def number(x, name):
            if not isinstance(x, str) or len(x) > 80:
                raise _Bad(f"{name}: a coordinate is a decimal string, got {_shown(x)}")
            try:
                value = mpmath.mpf(x)
            except (ValueError, TypeError):
                raise _Bad(f"{name}: {_shown(x)} is not a decimal number") from None
            if not mpmath.isfinite(value):
                raise _Bad(f"{name}: {_shown(x)} is not finite")
            return value

        def parse(values, name):
            values = _list(values, name)
            if len(values) != model.n_params:
                raise _Bad(f"{name} has {len(values)} coordinates; the model has {model.n_params}")
            out = []
            for x in values:
                if isinstance(x, list) and len(x) == 2:
                    out.append(mpmath.mpc(number(x[0], name), number(x[1], name)))
                else:
                    out.append(number(x, name))
            return np.array(out, dtype=object)

        return parse(_get(w, "point_a", "the witness"), "point_a"), parse(_get(w, "point_b", "the witness"), "point_b")

    def same_observables(self, w: Mapping) -> str:
        import mpmath

        a, b = self.points(w)
        gap = max(abs(u - v) for u, v in zip(self.model.evaluate(a)[0], self.model.evaluate(b)[0]))
        if not gap < WITNESS_TOLERANCE:
            raise _Bad(f"the observables differ by {mpmath.nstr(gap, 3)} at 50 digits")
        return f"largest difference at 50 digits: {mpmath.nstr(gap, 3)}"

    def valid_twin(self, w: Mapping, t: str) -> str:
        import mpmath

        a, b = self.points(w)
        for name, x in (("point_a", a), ("point_b", b)):
            if any(isinstance(v, mpmath.mpc) and v.imag != 0 for v in x):
                raise _Bad(f"{name} is not real")
            x[:] = [mpmath.mpf(v.real) if isinstance(v, mpmath.mpc) else v for v in x]
            if not self.interior(x):
                raise _Bad(f"{name} is not a probability model: a probability is not strictly between 0 and 1")
        if w.get("real") is not True or w.get("interior") is not True or w.get("valid", True) is not True \
                or w.get("nonsingular", True) is not True:
            raise _Bad("a refuting witness states real, interior (and valid, nonsingular) as true; real and interior "
                       "are recomputed")
        if self.same_up_to_relabelling(a, b):
            raise _Bad("point_b is point_a with the classes relabelled")
        if t != "full_mixture":
            va, vb = self.target_values(a, t), self.target_values(b, t)
            if max(abs(x - y) for x, y in zip(va, vb)) < DISTINCT_TOLERANCE:
                raise _Bad(f"{t} takes the same value at the two points")
        if self.design.causal and ("ate_a" in w or "ate_b" in w):
            ates = self.target_values(a, "ate")[0], self.target_values(b, "ate")[0]
            for name, value in zip(("ate_a", "ate_b"), ates):
                stated = w.get(name)
                if type(stated) not in (int, float) or not abs(stated - value) <= 1e-9 * (1 + abs(value)):
                    raise _Bad(f"{name} is {_shown(stated)}; at the point it is {float(value):.12g}")
        return "real, interior, and distinct up to relabelling, recomputed at 50 digits"

    def class_profiles(self, x: np.ndarray) -> list[list]:
        """Per class: its weight, then its free parameters in the model's order (for comparing up to relabelling)."""
        model, k = self.model, self.k
        free_weights = [x[i] for i, q in enumerate(model.params) if q.variable is None]
        weights = free_weights + [1 - sum(free_weights)]
        return [[weights[u]] + [x[i] for i, q in enumerate(model.params) if q.variable is not None and q.klass == u]
                for u in range(k)]

    def same_up_to_relabelling(self, a: np.ndarray, b: np.ndarray) -> bool:
        pa, pb = self.class_profiles(a), self.class_profiles(b)
        left = list(range(self.k))
        for row in pa:
            match = next((j for j in left if max(abs(u - v) for u, v in zip(row, pb[j])) < DISTINCT_TOLERANCE),
                         None)
            if match is None:
                return False
            left.remove(match)
        return True

    def interior(self, x: np.ndarray) -> bool:
        model = self.model
        if any(row[0] <= 0 or row[0] >= 1 for row in self.class_profiles(x)):
            return False
        for name, table in model.tables.items():
            if not self.design.variable(name).categorical:
                continue
            for row in table.reshape(-1, table.shape[-1]):
                free = [x[i] for i in row if i >= 0]
                if any(v <= 0 for v in free) or 1 - sum(free) <= 0:
                    return False
        return True

    def target_values(self, x: np.ndarray, t: str) -> list:
        model = self.model

        def value(poly):
            total = 0
            for monom, coeff in poly.terms():
                term = mpmath_fraction(coeff)
                for xi, e in zip(x, monom):
                    if e:
                        term *= xi**e
                total += term
            return total

        if t == "ate":
            return [value(f) for f in model.target_polys("ate")]
        pairs = sorted(zip([value(f) for f in model.target_polys("weights")],
                           [value(f) for f in model.target_polys("effects")]))
        return [v for pair in pairs for v in pair]

    # ------------------------------------------------------------------------------------- the level
    def level_claim(self) -> None:
        d = self.data
        stated = (d.get("level"), d.get("level_scope"), d.get("local_level"))
        all_stated = {t: (d["targets"].get(t) if isinstance(d["targets"].get(t), Mapping) else {}) for t in TARGETS}
        held = {t: {"verdict": x.get("verdict"), "scope": x.get("scope")} for t, x in self.derived.items()
                if x.get("status") == HOLDS}
        pending = [t for t, x in self.derived.items() if x.get("status") == UNCHECKED]

        def check() -> str:
            if levels(all_stated) != stated:
                raise _Bad(f"the stated verdicts give {levels(all_stated)}")
            again = levels(held)
            if again != stated:
                if pending:
                    raise _Unchecked(f"rests on unchecked verdicts ({', '.join(pending)})")
                raise _Bad(f"the verdicts that hold give level {again[0]} ({again[1]}), local level {again[2]}")
            return "recomputed from the verdicts that hold"

        self.claim(None, "level", f"level {_shown(stated[0])} ({_shown(stated[1])}), local level {_shown(stated[2])}",
                   check)
        if "level_evidence" in d:
            level = stated[0]

            def evidence() -> str:
                target = TARGETS[level - 1] if type(level) is int and 1 <= level <= 4 else None
                expected = self.derived.get(target, {}).get("evidence") if target else None
                if d["level_evidence"] != expected:
                    raise _Bad(f"the level's target has evidence {expected}")
                return "the evidence of the level's target"
            self.claim(None, "level", f"level evidence {_shown(d['level_evidence'])}", evidence)


def _constructive_evidence(cert: Mapping) -> str:
    """A constructive certificate is exact, unless one of its checks was made at random points (a positive
    ``error_bound``, e.g. identities too large to expand): then probabilistic."""
    return "probabilistic" if error_bound(cert) > 0 else "exact"


@lru_cache(maxsize=8)
def _model(design_json: str):
    """The model of a design (by its canonical JSON): a model is built once for repeated checks of one design."""
    from .model import Model

    return Model(Design.from_dict(json.loads(design_json)))


def _raiser(exc: Exception) -> Callable[[], str]:
    """A claim check that fails (or is unchecked) with ``exc``."""
    def check() -> str:
        raise exc
    return check


def mpmath_fraction(coeff):
    import mpmath

    return mpmath.mpf(int(coeff.numerator)) / int(coeff.denominator)


def _child(conn, fn, args) -> None:
    os.setsid()  # its own process group: stopping it stops the engines it started (msolve) too
    try:
        conn.send(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        conn.send("budget" if type(exc).__name__ == "FibreBudget" else DesignError(f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _in_child(fn, args, seconds: float):
    """``fn(*args)`` in a child process stopped after ``seconds``: its value, an exception, or ``"budget"``."""
    import multiprocessing

    if seconds <= 0:
        return "budget"
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        outcome = parent.recv() if parent.poll(seconds) else "budget"
    except EOFError:
        outcome = DesignError("the count ended without an answer")
    finally:
        if proc.is_alive():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        proc.join()
        parent.close()
    return outcome


def verify(data: Mapping, *, max_seconds: float = DEFAULT_CHECK_SECONDS) -> list[Claim]:
    """Re-check every claim of a placement's JSON (``Placement.to_dict()``) and the verdicts and level it states.

    Returns the claims, each ``holds``, ``fails`` or ``unchecked`` with why; the certificate is sound when every
    claim holds (:func:`sound`). Raises DesignError (one line) when ``data`` is not a placement's JSON or its
    design is invalid.

    Examples
    --------
    >>> from mixid.identify import place
    >>> claims = verify(place("paper-level3").to_dict())
    >>> sound(claims), len(claims) > 10
    (True, True)
    >>> print(claims[1].line())  # doctest: +ELLIPSIS
    holds     model: rank J >= 13 (minor rows [0, 1, ...] cols [...] mod 2147483647: nonzero)
    """
    ok = isinstance(max_seconds, (int, float)) and not isinstance(max_seconds, bool) and \
        math.isfinite(max_seconds) and max_seconds > 0
    if not ok:
        raise DesignError(f"--max-seconds must be a positive finite number of seconds, got {max_seconds!r}")
    return _Checker(data, float(max_seconds)).run()


def sound(claims: list[Claim]) -> bool:
    """True when there are claims and every one holds (what ``mixid check`` exits 0 on).

    Examples
    --------
    >>> sound([])
    False
    """
    return bool(claims) and all(c.holds for c in claims)
