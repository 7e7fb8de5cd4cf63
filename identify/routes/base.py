"""What every identification route shares: the evaluation context and the shape of its answer."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property

import flint
import numpy as np

from ..design import Design
from ..graph import Condition, Graph
from ..marginals import MAX_CELLS, MAX_PARAMETERS, LimitReached, Marginals, dimension_count
from ..model import Model, eval_poly_mod, poly_degree
from ..rank import DEFAULT_ERROR, PRIME, Witness, nonzero_minor, points_needed

# Above this many term products an identity is checked at random points instead of by expansion.
EXPAND_LIMIT = 2_000


@dataclass
class Estimand:
    """A symbolic estimand: which observable moments to form and the formula that maps them to a target.

    The numeric layer compiles it: ``moments`` names what to compute from data, ``formula`` is the LaTeX of
    the identifying map, and :meth:`symbolic` returns the moments as sympy matrices of the model.
    """

    target: str
    method: str
    formula: str
    moments: tuple[str, ...]
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    classes: int = 2

    def to_dict(self) -> dict:
        return {"target": self.target, "method": self.method, "formula": self.formula,
                "moments": list(self.moments), "roles": {k: list(v) for k, v in self.roles.items()},
                "classes": self.classes}

    def symbolic(self, model: Model) -> dict:
        """The moment matrices this estimand consumes, as sympy expressions in the model's parameters."""
        Z, X = self.roles.get("treatment_side", ()), self.roles.get("outcome_side", ())
        out = {}
        if not Z:
            return out
        for t in (0, 1):
            out[f"M[Z,X|{t}]"] = model.moment_matrix(Z, X, t)
            out[f"M[Z,Y|{t}]"] = model.moment_matrix(Z, (), t, outcome=True)
            if "M[Z,X,Y|t]" in self.moments:
                out[f"M[Z,X,Y|{t}]"] = model.moment_matrix(Z, X, t, outcome=True)
        out["E[X]"] = model.moment_matrix(X, ())
        return out


@dataclass
class RouteResult:
    """The answer of one route for one target."""

    route: str
    target: str
    applies: bool
    reason: str
    conditions: list[Condition] = field(default_factory=list)
    certificate: dict | None = None
    estimand: Estimand | None = None


class Context:
    """Everything routes share for one placement: model, graph, one random witness point mod p, and the limits.

    ``max_seconds`` is the time budget: :meth:`check` raises :class:`~mixid.identify.marginals.LimitReached` once
    it is spent. Tables larger than :data:`~mixid.identify.marginals.MAX_CELLS` entries and models with more than
    :data:`~mixid.identify.marginals.MAX_PARAMETERS` parameters raise it too, before anything is allocated.
    ``prime`` and ``point`` fix the witness point (to re-check a certificate at its stated point and prime);
    by default the point is drawn from ``seed`` modulo 2^31 - 1.
    """

    def __init__(self, design: Design, error: float = DEFAULT_ERROR, seed: int | None = 0,
                 max_seconds: float | None = None, *, prime: int = PRIME, point: np.ndarray | None = None):
        self.design = design
        self.error = error
        self.prime = prime
        self.rng = np.random.default_rng(seed)
        self.graph = Graph(design)
        self.cache: dict = {}  # per-placement memo for routes (e.g. Kruskal ranks of a view)
        self.max_seconds = max_seconds
        self.deadline = math.inf if max_seconds is None else time.monotonic() + max_seconds
        self.count = dimension_count(design)
        if point is not None:
            self.__dict__["point"] = np.asarray([int(x) % prime for x in point], dtype=np.int64)

    def check(self, at: str) -> None:
        """Raise LimitReached when the time budget is spent; ``at`` says what was being computed."""
        if time.monotonic() > self.deadline:
            raise LimitReached("max_seconds", self.max_seconds, at)

    @cached_property
    def model(self) -> Model:
        if self.count.parameters > MAX_PARAMETERS:
            raise LimitReached("max_parameters", MAX_PARAMETERS,
                               f"building the model ({self.count.parameters:,} parameters)")
        model = Model(self.design)
        model.check = lambda: self.check("expanding the model's polynomials")
        return model

    @cached_property
    def marginals(self) -> Marginals:
        return Marginals(self.model)

    @cached_property
    def point(self) -> np.ndarray:
        """The shared witness point: uniform residues in [1, p)."""
        return self.model.random_point(self.rng, self.prime)

    @cached_property
    def class_tensor(self) -> np.ndarray:
        """P(cell | U=u) over the full table at the witness point (refused beyond MAX_CELLS entries)."""
        if self.count.observables * self.design.classes > MAX_CELLS:
            raise LimitReached("max_cells", MAX_CELLS, f"forming the full class table "
                               f"({self.count.observables * self.design.classes:,} entries)")
        return self.model.class_tensor(self.point, self.prime)

    def class_marginal_tensor(self, keep: tuple[str, ...]) -> np.ndarray:
        """P(keep | U=u) at the witness point, shape (*dims, k), from the ancestors of ``keep`` only."""
        return self.marginals.class_table(self.point, keep, self.prime)

    @cached_property
    def weights(self) -> np.ndarray:
        return self.model.weights(self.point, self.prime)

    @cached_property
    def effects(self) -> list[int]:
        """tau_u at the witness point, mod p."""
        pts = [int(x) for x in self.point]
        return [eval_poly_mod(f, pts, self.prime) for f in self.model.target_polys("effects")]

    def witness(self, matrix: np.ndarray) -> Witness:
        rows, cols = nonzero_minor(matrix, self.prime)
        return Witness(tuple(int(x) for x in self.point), self.prime, rows, cols)

    def class_marginal(self, keep: tuple[str, ...]) -> np.ndarray:
        """P(keep | U=u) at the witness point, shape (prod dims, k)."""
        return self.class_marginal_tensor(keep).reshape(-1, self.design.classes)

    def same(self, lhs: list[list], rhs: list[list], what: str, tally: dict) -> None:
        """Check sum-of-products identity ``lhs == rhs`` of ring polynomials; raise AssertionError if not.

        Each side is a list of terms, a term a list of factors. Small products are expanded exactly; large
        ones are compared at random points mod p (a nonzero difference of degree D vanishes at a random point
        with probability <= D / (p - 1)); ``tally`` (from :func:`new_tally`) counts both and sums the bounds.
        """
        self.check(f"checking the identity {what}")
        cost = sum(int(np.prod([max(len(f), 1) for f in term])) for term in lhs + rhs)
        if cost <= EXPAND_LIMIT:
            ok = self._expand(lhs) == self._expand(rhs)
            tally["exact_identities"] += 1
        else:
            degree = max(sum(poly_degree(f) for f in term) for term in lhs + rhs)
            t = points_needed(degree, self.error, self.prime)
            ok = True
            for _ in range(t):
                pts = [int(x) for x in self.model.random_point(self.rng, self.prime)]
                ok &= self._value(lhs, pts) == self._value(rhs, pts)
            tally["random_point_identities"] += 1
            tally["error_bound"] += (max(degree, 1) / (self.prime - 1)) ** t
        if not ok:
            raise AssertionError(f"identity {what} does not hold for the model; this is a bug in mixid")

    def _expand(self, side: list[list]):
        """A sum of products of the model's ring polynomials, expanded exactly in python-flint's multivariate
        polynomials over Q (several times faster than multiplying them in sympy's ring)."""
        ctx = self._flint_ring
        total = ctx.constant(0)
        for term in side:
            product = ctx.constant(1)
            for f in term:
                product *= self._as_flint(f)
            total += product
        return total

    @cached_property
    def _flint_ring(self):
        return flint.fmpq_mpoly_ctx.get(("x", max(self.model.n_params, 1)), "lex")

    def _as_flint(self, f):
        """``f`` in python-flint, converted once: kept by identity with ``f`` itself, so the key stays valid."""
        memo = self.cache.setdefault("flint", {})
        hit = memo.get(id(f))
        if hit is None or hit[0] is not f:
            hit = memo[id(f)] = (f, self._flint_ring.from_dict({m: _fmpq(c) for m, c in f.items()}))
        return hit[1]

    def _value(self, side: list[list], pts: list[int]) -> int:
        """A sum of products of polynomials at an integer point, mod p."""
        total = 0
        for term in side:
            value = 1
            for f in term:
                value = value * eval_poly_mod(f, pts, self.prime) % self.prime
            total += value
        return total % self.prime


def new_tally() -> dict:
    """A fresh count of identities checked exactly and at random points, with their error bound."""
    return {"exact_identities": 0, "random_point_identities": 0, "error_bound": 0.0}


def _fmpq(c) -> flint.fmpq:
    """A coefficient of sympy's QQ (python-flint's fmpq already, or a pair numerator / denominator) as an fmpq."""
    return c if isinstance(c, flint.fmpq) else flint.fmpq(int(c.numerator), int(c.denominator))
