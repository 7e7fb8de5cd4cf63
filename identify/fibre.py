"""Global identifiability: count the generic fibre of the observable map.

A target is *locally* identifiable when nearby parameter points give different observables (the Jacobian route);
it is *globally* identifiable when no parameter point at all, near or far, gives the same observables with a
different value of the target. The difference is the **fibre** of the observable map F at a generic point
theta*: the set {theta : F(theta) = F(theta*)}. When the Jacobian has full column rank the fibre is finite; with a
latent U it is a union of orbits of the k! relabellings of the classes, and m, the number of orbits, is the
number of parameter points *up to relabelling* that explain the same observables:

* m = 1: every target is globally identifiable (up to relabelling);
* m > 1: the full mixture is not globally identifiable; a target (the MTE, the ATE) still is when it takes one
  value on all m points;
* a positive-dimensional fibre (the Jacobian rank-deficient) proves non-identifiability, as the Jacobian does.

Two engines count the fibre:

* **Groebner** (exact at the stated point and prime): the fibre ideal <F(theta) - F(theta*)> over F_p at a random
  point theta* mod p; the degree of the zero-dimensional ideal is m * k!. A target g takes one value on the fibre
  iff adding g(theta) - g(theta*) keeps the degree. msolve (the optional extra ``mixid[global]``) runs it; sympy's
  ``groebner`` with a modulus is the fallback for small designs. The count at a random point equals the generic
  count unless the point or the prime is special, which happens with probability at most the degree of the
  relevant discriminant over p.
* **monodromy** (numerical, probabilistic): from a random real interior point, every known fibre point is
  continued along random loops of base points (theta* -> theta_1 -> theta_2 -> theta* in complex space); the loops
  permute the fibre, so new orbits appear until all are found. The count is a lower bound that is reported with
  the number of loops since the last new orbit. A second orbit is a proof (to working precision, re-checked at 50
  digits) that the full mixture is not globally identifiable, whatever the count.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .design import Design
from .errors import DesignError
from .model import Model, eval_poly_mod

# msolve's FGLM step refuses primes of 2^30 and above: the largest prime below 2^30.
FIBRE_PRIME = 1_073_741_789
SYMPY_MAX_PARAMS = 12  # sympy's groebner takes about a second at 11 parameters and grows fast beyond
MSOLVE_MAX_PARAMS = 40  # above this Groebner bases of these systems rarely finish in minutes
MAX_PARAMS = 60  # "too large for a global check": the monodromy's cost grows with n^3 per step and with m
GLOBAL_SECONDS = 120.0  # default budget of an explicit global check
EXACT_SECONDS = 30.0  # in "auto", the Groebner engine's share before monodromy takes over
STABLE_LOOPS = 8  # monodromy stops after this many loops without a new orbit
WITNESS_DIGITS = 50
TARGETS = ("full_mixture", "mte", "ate")


class FibreBudget(Exception):
    """The time budget ran out (internal: turned into an ``inconclusive`` answer)."""


@dataclass
class Fibre:
    """The generic fibre of a design's observable map, counted up to relabelling the classes.

    ``solutions`` is m, the number of parameter points up to relabelling with the observables of a generic point
    (None when the fibre is positive-dimensional or the count did not finish); ``one_valued`` maps each target to
    whether it takes one value on the whole fibre (None when undecided). ``complete`` is False when the
    count is only a lower bound (the budget ran out): a count above 1 still proves that the full mixture is not
    globally identifiable.
    """

    solutions: int | None
    dimension: int
    method: str
    exact: bool
    complete: bool
    relabellings: int
    one_valued: dict[str, bool | None]
    details: dict = field(default_factory=dict)
    witness: dict | None = None
    seconds: float = 0.0
    points: list = field(default_factory=list, repr=False)  # the numeric engines' fibre points (for the witness)

    @property
    def globally_identifiable(self) -> bool | None:
        """True (m = 1, complete), False (m > 1 or a positive-dimensional fibre), None (undecided)."""
        if self.dimension > 0 or (self.solutions or 0) > 1:
            return False
        return True if self.solutions == 1 and self.complete else None

    def statement(self, target: str) -> str:
        m = self.solutions
        d = self.details
        if self.exact:
            how = "exactly (Groebner basis over F_p at a random point)"
        elif self.method == "monodromy":
            how = f"by monodromy ({d.get('loops', 0)} loops, the last {d.get('stable_loops', 0)} without a new point)"
        else:
            how = (f"from {d.get('starts', 0)} random complex starts ({d.get('converged_starts', 0)} converged, the "
                   f"last {d.get('stable_starts', 0)} without a new point)")
        if self.dimension > 0:
            whole = (f"the fibre is positive-dimensional (dimension {self.dimension}): the full mixture is not "
                     "identifiable")
            return whole if target == "full_mixture" else f"{whole}; whether {target} is, the count does not decide"
        count = f"{m} parameter point(s) up to relabelling give the observables of a generic point, counted {how}"
        if not self.complete:
            count = (f"at least {m} parameter points up to relabelling give the observables of a generic point "
                     f"(found {how} before the budget ran out)")
        one = self.one_valued.get(target)
        if m == 1 and self.complete:
            return f"{count}: globally identifiable"
        if one is None:
            return f"{count}; whether {target} takes one value on them is undecided"
        return f"{count}; {target} takes {'one value' if one else 'different values'} on them"

    def certificate(self, target: str) -> dict:
        """The ``fibre`` certificate of one target (docs/json.md)."""
        out = {"kind": "fibre", "scope": "global", "solutions": self.solutions, "dimension": self.dimension,
               "complete": self.complete, "method": self.method, "exact": self.exact,
               "relabellings": self.relabellings, "one_valued": self.one_valued.get(target),
               "statement": self.statement(target), "seconds": round(self.seconds, 3), **self.details}
        if self.witness is not None and not self.one_valued.get(target, False):
            out["witness"] = self.witness
        return out

    def to_dict(self) -> dict:
        return {"solutions": self.solutions, "dimension": self.dimension, "method": self.method,
                "exact": self.exact, "complete": self.complete, "relabellings": self.relabellings,
                "one_valued": dict(self.one_valued), "witness": self.witness, "seconds": round(self.seconds, 3),
                **self.details}


# ------------------------------------------------------------------------------------------------- engines
def msolve_path() -> str | None:
    """The msolve executable: $MIXID_MSOLVE, the one the ``mixid[global]`` extra installs, or one on PATH."""
    env = os.environ.get("MIXID_MSOLVE")
    if env:
        return env if Path(env).is_file() else None
    for key in ("platlib", "purelib"):
        candidate = Path(sysconfig.get_paths()[key]) / "sage_wheels" / "bin" / "msolve"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("msolve")


def engines() -> dict[str, bool]:
    """Which fibre engines this installation has.

    Examples
    --------
    >>> sorted(engines())
    ['monodromy', 'msolve', 'sympy']
    """
    return {"msolve": msolve_path() is not None, "sympy": True, "monodromy": True}


# --------------------------------------------------------------------------------------------- the system
def _cell_polys(model: Model) -> list:
    """The observable cells (the flattened observable tensor, U last when it is observed) as ring polynomials."""
    names, observed = model.design.names, model.design.latent_observed
    return [model.joint_poly(dict(zip(names, map(int, cell))), int(cell[-1]) if observed else None)
            for cell in model._cells]


def _target_polys(model: Model, target: str, rng: np.random.Generator, p: int) -> list:
    """Polynomials whose values on a fibre point determine the target up to relabelling.

    The MTE is a multiset of (weight, effect) pairs: it is determined by the elementary symmetric functions of
    pi_u + lambda * tau_u at a random lambda (two different multisets of pairs give the same ones for at most
    k!^2 values of lambda).
    """
    if target == "ate":
        return model.target_polys("ate")
    if target == "mte":
        lam = int(rng.integers(1, p))
        lin = [w + lam * e for w, e in zip(model.target_polys("weights"), model.target_polys("effects"))]
        e = [model._one]
        for v in lin:
            e = [e[0]] + [e[j] + v * e[j - 1] for j in range(1, len(e))] + [v * e[-1]]
        return e[1:]
    raise ValueError(target)


def _mod(c, p: int) -> int:
    return int(c.numerator) * pow(int(c.denominator), -1, p) % p


def _poly_text(poly, names: list[str], p: int) -> str:
    """A ring polynomial in msolve's syntax, coefficients reduced mod p."""
    terms = []
    for monom, coeff in poly.terms():
        c = _mod(coeff, p)
        if c == 0:
            continue
        factors = [str(c)] + [f"{names[i]}^{e}" if e > 1 else names[i] for i, e in enumerate(monom) if e]
        terms.append("*".join(factors))
    return "+".join(terms) if terms else "0"


def _run_msolve(names: list[str], polys: list[str], p: int, seconds: float) -> int | None:
    """Degree of the ideal (number of points over the algebraic closure); -1 positive-dimensional; None: none."""
    exe = msolve_path()
    with tempfile.TemporaryDirectory(prefix="mixid-msolve-") as tmp:
        src, dst = Path(tmp) / "in.ms", Path(tmp) / "out.ms"
        src.write_text(",".join(names) + f"\n{p}\n" + ",\n".join(polys) + "\n")
        try:
            subprocess.run([exe, "-f", str(src), "-o", str(dst)], capture_output=True, timeout=max(seconds, 0.01),
                           check=False)
        except subprocess.TimeoutExpired:
            raise FibreBudget from None
        text = dst.read_text() if dst.exists() else ""
    if text.startswith("[-1]"):
        return None
    if text.startswith("[1,"):
        return -1
    found = re.match(r"\[0,\s*\[\s*\d+,\s*\d+,\s*(\d+)", text)
    if not found:
        raise RuntimeError(f"msolve gave no answer (output: {text[:80]!r})")
    return int(found.group(1))


def _groebner_degree_sympy(polys: list, model: Model, p: int, deadline: float) -> int:
    """Degree of a zero-dimensional ideal from sympy's grevlex Groebner basis (-1 when positive-dimensional)."""
    import sympy

    if time.monotonic() > deadline:
        raise FibreBudget
    gens = model.symbols
    G = sympy.groebner([model.expr(f) for f in polys], *gens, modulus=p, order="grevlex")
    if time.monotonic() > deadline:
        raise FibreBudget
    leads = [sympy.Poly(g, *gens).monoms(order="grevlex")[0] for g in G.exprs]
    n = len(gens)
    if any(all(e == 0 for e in lm) for lm in leads):
        return 0
    pure = [any(lm[i] > 0 and sum(lm) == lm[i] for lm in leads) for i in range(n)]
    if not all(pure):
        return -1
    # standard monomials form an order ideal: grow it from 1
    seen, frontier = {(0,) * n}, [(0,) * n]
    while frontier:
        nxt = []
        for mono in frontier:
            for i in range(n):
                cand = mono[:i] + (mono[i] + 1,) + mono[i + 1:]
                if cand in seen or any(all(c >= e for c, e in zip(cand, lm)) for lm in leads):
                    continue
                seen.add(cand)
                nxt.append(cand)
        frontier = nxt
    return len(seen)


def _exact(model: Model, targets: tuple[str, ...], engine: str, seed: int, deadline: float,
           point: list[int] | None = None) -> Fibre:
    """Count the fibre at a random point mod p (or the given one) with a Groebner basis (msolve or sympy)."""
    p = FIBRE_PRIME
    rng = np.random.default_rng(seed)
    point = [int(x) for x in model.random_point(rng, p)] if point is None else [int(x) % p for x in point]
    cells = _cell_polys(model)
    values = [eval_poly_mod(f, point, p) for f in cells]
    # every cell's equation (a constant cell, e.g. a continuous variable's feature 0, gives none); the ones that
    # sum to one are redundant but harmless
    base = [f - v for f, v in zip(cells, values) if f - v != 0]
    names = [f"x{i}" for i in range(model.n_params)]
    extra: dict[str, list] = {t: _target_polys(model, t, rng, p) for t in targets if t != "full_mixture"}

    def degree(polys: list) -> int | None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FibreBudget
        if engine == "msolve":
            return _run_msolve(names, [_poly_text(f, names, p) for f in polys], p, left)
        return _groebner_degree_sympy(polys, model, p, deadline)

    start = time.monotonic()
    deg = degree(base)
    perms = _relabellings(model)
    details = {"prime": p, "point": point, "degree": deg, "engine": engine}
    if deg is None:
        raise RuntimeError("the fibre ideal has no point although it contains theta*: a bug in mixid")
    if deg < 0:
        one = {t: (False if t == "full_mixture" else None) for t in targets}
        return Fibre(None, 1, f"groebner ({engine})", True, True, perms, one, details, seconds=time.monotonic() - start)
    one = {"full_mixture": deg == perms}
    for t, polys in extra.items():
        d_t = degree(base + [f - eval_poly_mod(f, point, p) for f in polys])
        details[f"degree_{t}"] = d_t
        one[t] = d_t == deg
    m = deg // perms if deg % perms == 0 else None
    details["degree_note"] = f"degree {deg} = m * {perms} relabellings"
    return Fibre(m, 0, f"groebner ({engine})", True, True, perms, {t: one.get(t) for t in targets}, details,
                 seconds=time.monotonic() - start)


def _relabellings(model: Model) -> int:
    return 1 if model.design.latent_observed else math.factorial(model.k)


# ------------------------------------------------------------------------------------------- numerical fibre
class _Orbits:
    """Class relabelling of parameter points: canonical forms, so that a fibre is counted up to relabelling."""

    def __init__(self, model: Model, rng: np.random.Generator):
        self.model = model
        k = model.k
        blocks = [[] for _ in range(k)]
        for table in model.tables.values():
            for row in table.reshape(-1, k, table.shape[-1]):
                for c in range(row.shape[-1]):
                    if (row[:, c] >= 0).all():
                        for u in range(k):
                            blocks[u].append(int(row[u, c]))
        self.blocks = np.array(blocks, dtype=np.int64).reshape(k, -1)
        self.direction = rng.normal(size=self.blocks.shape[1] + 1)
        self.observed = model.design.latent_observed

    def classes(self, x: np.ndarray) -> np.ndarray:
        """Per class: its weight then its parameters, shape (k, 1 + per-class parameters)."""
        w = self.model.weights(x)
        return np.column_stack([w, x[self.blocks]]) if self.blocks.size else w[:, None]

    def order(self, x: np.ndarray) -> np.ndarray:
        if self.observed:
            return np.arange(self.model.k)
        key = self.classes(x) @ self.direction
        return np.lexsort((key.imag, np.round(key.real, 9)))

    def canonical(self, x: np.ndarray) -> np.ndarray:
        return self.classes(x)[self.order(x)].ravel()

    def same(self, a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
        ca, cb = self.canonical(a), self.canonical(b)
        return float(np.abs(ca - cb).max()) <= tol * (1 + float(np.abs(ca).max()))


class _FastMap:
    """The observable map and its Jacobian at complex points, from fixed sparse structure.

    Every factor of a cell's product (a class weight, or a probability that is a parameter, 1 minus its siblings,
    or the constant 1) is affine in the parameters: f = A x + b with a sparse A. The Jacobian then is one sparse
    product of the fixed pattern with the "all factors but one" products. Same values as
    :meth:`Model.evaluate`, several times faster on the small designs the fibre count runs on.
    """

    def __init__(self, model: Model):
        from scipy import sparse

        from .model import LAST, ONE

        N, k, n = model.n_observables, model.k, model.n_params
        self.N, self.k, self.n = N, k, n
        factors = []  # (codes (N, k), rows (N, k, dim)) per factor: the weights first, then each variable

        pi = np.broadcast_to(model._pi, (N, k))
        factors.append((pi, np.broadcast_to(model._pi, (N, k, k))))
        factors += list(zip(model._cell_params, model._cell_rows))
        self.A, self.b = [], []
        for codes, rows in factors:
            r, c, v = [], [], []
            b = np.zeros(N * k)
            flat_codes, flat_rows = codes.reshape(-1), rows.reshape(N * k, -1)
            for j, code in enumerate(flat_codes):
                if code >= 0:
                    r.append(j), c.append(code), v.append(1.0)
                elif code == ONE:
                    b[j] = 1.0
                elif code == LAST:
                    b[j] = 1.0
                    for sib in flat_rows[j]:
                        if sib >= 0:
                            r.append(j), c.append(int(sib)), v.append(-1.0)
            self.A.append(sparse.csr_matrix((v, (r, c)), shape=(N * k, n)))
            self.b.append(b)
        self.mask = None
        if model.design.latent_observed:
            self.mask = (model._cells[:, -1][:, None] == np.arange(k)[None, :]).astype(float)
        # one affine map for every factor of every cell and class; the Jacobian is a scatter-add of the
        # "all factors but one" products along the fixed sparsity pattern of these maps
        self.A_all = sparse.vstack(self.A).tocsr()
        self.b_all = np.concatenate(self.b)
        coo = self.A_all.tocoo()
        cell = (coo.row % (N * k)) // k
        self.idx = cell * n + coo.col
        self.src, self.sign = coo.row, coo.data
        self.shape = (len(self.A), N, k)

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vals = (self.A_all @ x + self.b_all).reshape(self.shape)
        m = self.shape[0]
        prefix = [np.ones_like(vals[0]) if self.mask is None else self.mask.astype(vals.dtype)]
        for v in vals:
            prefix.append(prefix[-1] * v)
        suffix = [np.ones_like(vals[0])]
        for v in vals[::-1]:
            suffix.append(suffix[-1] * v)
        suffix = suffix[::-1]
        others = np.concatenate([(prefix[i] * suffix[i + 1]).ravel() for i in range(m)])
        w = self.sign * others[self.src]
        size = self.N * self.n
        J = np.bincount(self.idx, w.real, size) + 1j * np.bincount(self.idx, w.imag, size) \
            if np.iscomplexobj(w) else np.bincount(self.idx, w, size)
        return prefix[m].sum(axis=1), J.reshape(self.N, self.n)


class _Tracker:
    """Continuation of the solutions of R F(x) = z as z moves along a segment (predictor-corrector).

    R is a random complex n x N matrix. Over the hyperplane where the observables sum to one it is invertible
    for a square design (as many independent observables as parameters), so R F(x) = R y* is the fibre itself;
    for an overdetermined design the squared system has further solutions, which are tracked too (the loops
    need them to reach every fibre point) and told apart by the full residual.
    """

    def __init__(self, model: Model, rng: np.random.Generator, deadline: float):
        self.model, self.deadline = model, deadline
        n, N = model.n_params, model.n_observables
        self.R = (rng.normal(size=(n, N)) + 1j * rng.normal(size=(n, N))) / math.sqrt(2 * N)
        self.failures = 0
        self.F = _FastMap(model)

    def G(self, x):
        f, J = self.F(x)
        return self.R @ f, self.R @ J

    def _slope(self, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self.G(x)[1], dz)

    def segment(self, x: np.ndarray, za: np.ndarray, zb: np.ndarray) -> np.ndarray | None:
        """Follow one solution from z = za to z = zb: RK4 predictor on dx/ds = J^-1 dz, Newton corrector."""
        dz = zb - za
        s, h = 0.0, 0.05
        try:
            while s < 1.0:
                if time.monotonic() > self.deadline:
                    raise FibreBudget
                h = min(h, 1.0 - s)
                k1 = self._slope(x, dz)
                k2 = self._slope(x + h / 2 * k1, dz)
                k3 = self._slope(x + h / 2 * k2, dz)
                k4 = self._slope(x + h * k3, dz)
                guess, target = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), za + (s + h) * dz
                scale = 1 + float(np.abs(x).max())
                first, ok = None, False
                for _ in range(3):
                    g, Jg = self.G(guess)
                    delta = np.linalg.solve(Jg, g - target)
                    guess = guess - delta
                    size = float(np.abs(delta).max())
                    first = size if first is None else first
                    if size < 1e-10 * scale:
                        ok = True
                        break
                if ok and first < 1e-2 * scale:
                    x, s = guess, s + h
                    if first < 1e-5 * scale:
                        h = min(2 * h, 0.25)
                else:
                    h /= 2
                    if h < 1e-8:
                        return None
        except np.linalg.LinAlgError:
            return None
        return x

    def loop(self, x: np.ndarray, z: np.ndarray, via: list[np.ndarray]) -> np.ndarray | None:
        for a, b in itertools.pairwise([z, *via, z]):
            x = self.segment(x, a, b)
            if x is None:
                self.failures += 1
                return None
        return x


def _refine(model: Model, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Gauss-Newton on the full (overdetermined) system F(x) = y; None unless x is an isolated fibre point."""
    for _ in range(8):
        fx, J = model.evaluate(x)
        delta = np.linalg.lstsq(J, fx - y, rcond=None)[0]
        x = x - delta
        if np.abs(delta).max() < 1e-14 * (1 + np.abs(x).max()):
            break
    fx, J = model.evaluate(x)
    scale = 1 + float(np.abs(y).max())
    if float(np.abs(fx - y).max()) > 1e-9 * scale:
        return None
    sv = np.linalg.svd(J, compute_uv=False)
    return x if sv[-1] > 1e-9 * sv[0] else None


def _evaluator(polys: list, n: int):
    """Evaluate ring polynomials at a (complex) point: one vectorised sum of monomials per polynomial."""
    compiled = []
    for f in polys:
        terms = f.terms()
        monoms = np.array([m for m, _ in terms], dtype=np.int64).reshape(-1, n)
        coeffs = np.array([float(c) for _, c in terms])
        compiled.append((monoms, coeffs))

    def value(x: np.ndarray) -> np.ndarray:
        return np.array([(c * np.prod(x[None, :] ** m, axis=1)).sum() for m, c in compiled])

    return value


def _target_values(model: Model, targets: tuple[str, ...], orbits: _Orbits):
    """A function giving, at a point, each target's value in a form that is invariant under relabelling."""
    n = model.n_params
    ate = _evaluator(model.target_polys("ate"), n) if "ate" in targets else None
    eff = _evaluator(model.target_polys("effects"), n) if "mte" in targets else None

    def values(x: np.ndarray) -> dict[str, np.ndarray]:
        out = {"full_mixture": orbits.canonical(x)}
        if ate is not None:
            out["ate"] = ate(x)
        if eff is not None:
            order = orbits.order(x)
            out["mte"] = np.concatenate([model.weights(x)[order], eff(x)[order]])
        return {t: out[t] for t in targets}

    return values


def _monodromy(model: Model, targets: tuple[str, ...], seed: int, deadline: float, max_paths: float = math.inf,
               stable: int = STABLE_LOOPS) -> Fibre:
    """Count the fibre of a random real interior point by monodromy loops (probabilistic)."""
    rng = np.random.default_rng(seed)
    start = time.monotonic()
    base = model.random_point(rng).astype(complex)
    y = model.evaluate(base)[0]
    orbits = _Orbits(model, rng)
    tracker = _Tracker(model, rng, deadline)
    z = tracker.R @ y
    known = [base]  # every solution of the squared system found, one per orbit
    loops = since_new = paths = 0
    complete = True
    try:
        while since_new < stable:
            scale = float(np.abs(z).max())
            via = [z + scale * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape)) for _ in range(2)]
            loops += 1
            since_new += 1
            for x in list(known):
                if paths >= max_paths:
                    raise FibreBudget
                paths += 1
                end = tracker.loop(x, z, via)
                if end is not None and not any(orbits.same(end, f) for f in known):
                    known.append(end)
                    since_new = 0
    except FibreBudget:
        complete = False
    found = [x for x in (_refine(model, x, y) for x in known) if x is not None]
    found = [x for i, x in enumerate(found) if not any(orbits.same(x, f) for f in found[:i])]
    details = {"loops": loops, "stable_loops": min(since_new, loops), "paths": paths,
               "failed_paths": tracker.failures, "squared_solutions": len(known), "seed": seed}
    return _finish(model, targets, orbits, found, complete, "monodromy", details, start)


def _levenberg_marquardt(F: _FastMap, x: np.ndarray, y: np.ndarray, iterations: int = 80) -> np.ndarray | None:
    """Damped Gauss-Newton on F(x) = y in complex arithmetic; None unless the residual vanishes."""
    mu = 1e-2
    f, J = F(x)
    r = f - y
    cost = np.vdot(r, r).real
    for _ in range(iterations):
        A, g = J.conj().T @ J, J.conj().T @ r
        try:
            step = np.linalg.solve(A + mu * np.diag(np.diag(A).real + 1e-12), g)
        except np.linalg.LinAlgError:
            return None
        fn, Jn = F(x - step)
        rn = fn - y
        cn = np.vdot(rn, rn).real
        if cn < cost:
            x, J, r, cost, mu = x - step, Jn, rn, cn, max(mu / 3, 1e-12)
            if cost < 1e-26:
                return x
        else:
            mu *= 4
            if mu > 1e8:
                return None
    return x if cost < 1e-20 else None


def _starts(model: Model, targets: tuple[str, ...], seed: int, deadline: float, max_paths: float = math.inf,
            stable: int = 60) -> Fibre:
    """Fibre points of an overdetermined design from random complex starts (Levenberg-Marquardt), probabilistic.

    Squaring an overdetermined system up for monodromy adds many spurious solutions; Newton on the full system
    converges only to true fibre points. Stops after ``stable`` converged starts in a row without a new orbit.
    """
    rng = np.random.default_rng(seed)
    start = time.monotonic()
    base = model.random_point(rng).astype(complex)
    F = _FastMap(model)
    y = F(base)[0]
    orbits = _Orbits(model, rng)
    found, tried, converged, since_new, complete = [base], 0, 0, 0, True
    while since_new < stable:
        if time.monotonic() > deadline or tried >= max_paths:
            complete = False
            break
        tried += 1
        x0 = model.random_point(rng) + 0.3j * rng.normal(size=model.n_params)
        x = _levenberg_marquardt(F, x0.astype(complex), y)
        x = None if x is None else _refine(model, x, y)
        if x is None:
            continue
        converged += 1
        since_new += 1
        if not any(orbits.same(x, f) for f in found):
            found.append(x)
            since_new = 0
    details = {"starts": tried, "converged_starts": converged, "stable_starts": since_new, "seed": seed}
    return _finish(model, targets, orbits, found, complete, "newton starts", details, start)


def _finish(model: Model, targets: tuple[str, ...], orbits: _Orbits, found: list, complete: bool, method: str,
            details: dict, start: float) -> Fibre:
    """Decide the targets on the fibre points found and package the numeric answer."""
    values = _target_values(model, targets, orbits)
    table = [values(x) for x in found]
    one = {}
    for t in targets:
        ref = table[0][t]
        one[t] = all(np.abs(v[t] - ref).max() <= 1e-7 * (1 + np.abs(ref).max()) for v in table)
        if not complete and one[t]:
            one[t] = None  # one value on the points found so far proves nothing
    return Fibre(len(found), 0, method, False, complete, _relabellings(model), one, details,
                 seconds=time.monotonic() - start, points=found)


# --------------------------------------------------------------------------------------------------- witness
def _witness(model: Model, points: list[np.ndarray], targets: tuple[str, ...]) -> dict:
    """Two parameter points with the same observables, refined and compared at 50 digits.

    The base point is real; the second is the most nearly real other point found (a real one in the interior is
    an honest probability model with the same law).
    """
    import mpmath

    base = points[0]

    def preference(x):  # a real interior point first, then any real point, then the most nearly real
        real = float(np.abs(x.imag).max()) < 1e-8
        return (not (real and _interior(model, x.real)), not real, float(np.abs(x.imag).max()))

    second = min(points[1:], key=preference)
    real = float(np.abs(second.imag).max()) < 1e-8
    mpmath.mp.dps = WITNESS_DIGITS + 15
    mp = (lambda v: mpmath.mpf(float(v.real))) if real else (lambda v: mpmath.mpc(complex(v)))
    # both points are stated with 50 digits; point_b is refined against point_a as stated
    a = np.array([mpmath.mpf(mpmath.nstr(mpmath.mpf(float(v.real)), WITNESS_DIGITS)) for v in base], dtype=object)
    b = np.array([mp(v) for v in second], dtype=object)
    ya = model.evaluate(a)[0]
    for _ in range(8):  # Newton at high precision on the full system (least squares via normal equations)
        fb, J = model.evaluate(b)
        Jm = mpmath.matrix(J.tolist())
        Jh = Jm.H if not real else Jm.T
        delta = mpmath.lu_solve(Jh * Jm, Jh * mpmath.matrix((fb - ya).tolist()))
        b = b - np.array([delta[i] for i in range(len(b))], dtype=object)
    text = (lambda v: mpmath.nstr(v, WITNESS_DIGITS)) if real else \
        (lambda v: [mpmath.nstr(v.real, WITNESS_DIGITS), mpmath.nstr(v.imag, WITNESS_DIGITS)])
    b = np.array([mpmath.mpf(mpmath.nstr(v, WITNESS_DIGITS)) if real else
                  mpmath.mpc(mpmath.mpf(mpmath.nstr(v.real, WITNESS_DIGITS)),
                             mpmath.mpf(mpmath.nstr(v.imag, WITNESS_DIGITS))) for v in b], dtype=object)
    diff = max(abs(u - v) for u, v in zip(model.evaluate(b)[0], ya))
    out = {"point_a": [mpmath.nstr(v, WITNESS_DIGITS) for v in a], "point_b": [text(v) for v in b], "real": real,
           "interior": bool(real and _interior(model, np.array([float(v) for v in b]))),
           "digits": WITNESS_DIGITS, "max_observable_difference": mpmath.nstr(diff, 3)}
    if "ate" in targets:
        ate = _evaluator(model.target_polys("ate"), model.n_params)
        out["ate_a"], ate_b = float(ate(base)[0].real), complex(ate(second)[0])
        out["ate_b"] = ate_b.real if real else [ate_b.real, ate_b.imag]
    return out


def _interior(model: Model, x: np.ndarray) -> bool:
    """Every probability of the model (free and implied) strictly inside (0, 1)."""
    if not (0 < model.weights(x)).all():
        return False
    for name, table in model.tables.items():
        if not model.design.variable(name).categorical:
            continue
        vals = np.where(table >= 0, x[np.maximum(table, 0)], 0.0)
        last = 1 - vals.sum(axis=-1)
        if (vals[table >= 0] <= 0).any() or (last <= 0).any():
            return False
    return True


def recheck_witness(design: Design | str, witness: dict) -> float:
    """The largest observable difference between a witness's two points, evaluated at 50 digits.

    A witness holds ``point_a`` and ``point_b`` (decimal strings; a complex coordinate is a [real, imaginary]
    pair) in the order of ``Model(design).params``. A value near 1e-50 re-proves that both points give the same
    observables; compare the targets at the two points to see what the observables cannot tell apart.
    """
    import mpmath

    model = Model(Design.load(design))
    mpmath.mp.dps = WITNESS_DIGITS + 15

    def parse(values):
        return np.array([mpmath.mpc(*v) if isinstance(v, list) else mpmath.mpf(v) for v in values], dtype=object)

    a, b = parse(witness["point_a"]), parse(witness["point_b"])
    if len(a) != model.n_params or len(b) != model.n_params:
        raise DesignError(f"a witness of this design has {model.n_params} coordinates per point")
    return float(max(abs(u - v) for u, v in zip(model.evaluate(a)[0], model.evaluate(b)[0])))


def recheck_count(design: Design | str, certificate: dict, max_seconds: float = GLOBAL_SECONDS) -> bool:
    """Re-run an exact fibre count at the certificate's own point and prime: True when the degree agrees.

    Examples
    --------
    >>> cert = count_fibre("paper-level2", method="exact").certificate("ate")
    >>> recheck_count("paper-level2", cert)
    True
    """
    if certificate.get("kind") != "fibre" or not certificate.get("exact") or "point" not in certificate:
        raise DesignError("only an exact fibre certificate (kind 'fibre', exact, with its point) can be re-counted")
    model = Model(Design.load(design))
    if int(certificate["prime"]) != FIBRE_PRIME or len(certificate["point"]) != model.n_params:
        raise DesignError(f"the certificate's point must have {model.n_params} coordinates mod {FIBRE_PRIME}")
    engine = certificate.get("engine", "msolve")
    if engine == "msolve" and msolve_path() is None:
        raise DesignError("re-counting this certificate needs msolve (pip install 'mixid[global]')")
    fib = _exact(model, (), engine, 0, time.monotonic() + max_seconds, point=certificate["point"])
    return fib.details["degree"] == certificate["degree"]


# ---------------------------------------------------------------------------------------------------- driver
def count_fibre(design: Design | str, *, targets: tuple[str, ...] | None = None, method: str = "auto",
                max_seconds: float = GLOBAL_SECONDS, max_paths: int | None = None, seed: int = 0) -> Fibre:
    """Count the generic fibre of a design's observable map, up to relabelling, and decide which targets take one
    value on it.

    Parameters
    ----------
    design : Design or str
    targets : tuple of str
        Among ``full_mixture``, ``mte``, ``ate`` (default: those the design defines).
    method : str
        ``auto`` (Groebner when it is small enough for the engines installed, else monodromy), ``exact``
        (Groebner only), or ``numeric`` (monodromy only).
    max_seconds : float
        Time budget. When it runs out the count is a lower bound (``complete`` False).
    max_paths : int, optional
        A budget of work rather than time for the numerical engines: at most this many continued paths
        (monodromy) or random starts. Unlike ``max_seconds`` it gives the same answer on any machine.
    seed : int
        Seed of the random point (the exact engine's point is recorded in the certificate).

    Examples
    --------
    >>> f = count_fibre("paper-level2", method="exact")
    >>> f.solutions, f.relabellings, f.exact
    (1, 2, True)
    """
    design = Design.load(design)
    from .placement import check_seconds  # placement imports this module

    max_seconds = check_seconds(max_seconds, "max_seconds")
    if method not in ("auto", "exact", "numeric"):
        raise DesignError(f"method must be auto, exact or numeric, got {method!r}")
    model = Model(design)
    allowed = TARGETS if design.causal else ("full_mixture",)
    targets = allowed if targets is None else tuple(targets)
    bad = [t for t in targets if t not in allowed]
    if bad:
        raise DesignError(f"cannot count the fibre for target(s) {bad}: choose among {list(allowed)}")
    n = model.n_params
    if n > MAX_PARAMS:
        raise DesignError(f"too large for a global check: {n} parameters (the limit is {MAX_PARAMS})")
    deadline = time.monotonic() + max_seconds
    engine = "msolve" if msolve_path() and n <= MSOLVE_MAX_PARAMS else ("sympy" if n <= SYMPY_MAX_PARAMS else None)
    if method == "exact" and engine is None:
        if n <= MSOLVE_MAX_PARAMS:
            raise DesignError(f"the exact fibre count of {n} parameters needs msolve (pip install 'mixid[global]'); "
                              f"sympy handles up to {SYMPY_MAX_PARAMS}")
        raise DesignError(f"too large for an exact fibre count: {n} parameters (the limit is {MSOLVE_MAX_PARAMS})")
    dimension = _fibre_dimension(model, seed)
    if dimension > 0:  # the full mixture is not identifiable; whether the MTE or the ATE is, the count cannot say
        return Fibre(None, dimension, "jacobian", False, True, _relabellings(model),
                     {t: (False if t == "full_mixture" else None) for t in targets},
                     {"jacobian_rank": n - dimension, "parameters": n})
    exact = None
    if method in ("auto", "exact") and engine is not None:
        share = max_seconds if method == "exact" else min(max_seconds / 2, EXACT_SECONDS)
        try:
            exact = _exact(model, targets, engine, seed, min(deadline, time.monotonic() + share))
        except FibreBudget:
            if method == "exact":
                return Fibre(None, 0, f"groebner ({engine})", True, False, _relabellings(model),
                             {t: None for t in targets}, {"engine": engine}, seconds=max_seconds)
        if exact is not None and (exact.solutions == 1 or method == "exact"):
            return exact
        if exact is not None and exact.dimension > 0:
            exact = None  # a positive-dimensional ideal although J has full rank: a degenerate component; count
    square = model.n_observables - 1 == n
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tracking solves thousands of small systems: BLAS threads only contend
        numeric = (_monodromy if square else _starts)(model, targets, seed, deadline,
                                                      math.inf if max_paths is None else max_paths)
    if numeric.solutions and numeric.solutions > 1:
        numeric.witness = _witness(model, numeric.points, targets)
    if exact is not None:  # the exact count, with the numeric witness of its second point
        exact.witness = numeric.witness
        exact.details["witness_method"] = numeric.method
        return exact
    return numeric


def _fibre_dimension(model: Model, seed: int) -> int:
    """n - generic rank of J: 0 proves a finite generic fibre (a full-rank minor at a random point mod p); a
    deficit is the fibre's dimension within the error bound of :func:`~mixid.identify.rank.generic_rank`."""
    from .rank import PRIME, generic_rank

    def evaluate(rng):
        point = model.random_point(rng, PRIME)
        return point, model.evaluate(point, PRIME)[1]

    degree = max(1, len(model.design.names))  # a cell is a product of one weight and one factor per variable
    rank = generic_rank(evaluate, degree, seed=seed, upper_bound=model.n_params, upper_reason="parameters")
    return model.n_params - rank.rank
