"""The general route: generic local identifiability of any target from the Jacobian of the observable map.

g is generically locally identifiable iff generic rank [J; grad g] = generic rank J (docs/theory.md, Jacobian route).
Ranks are decided at random points mod p (never symbolically):

* rank J = d (full column rank) at a witness point proves every target locally identifiable;
* a dimension count caps rank J at N - 1; when the witness meets that cap and [J; grad g] has a larger
  witnessed rank, g is proved NOT locally identifiable;
* every other verdict is probabilistic, with its Schwartz-Zippel bound.

Cheap tests come first. A dimension count settles some targets without any model: with d parameters and N
observables summing to one, rank J <= N - 1, so the full mixture is not locally identifiable when d > N - 1 and
the class weights (hence the MTE) are not when k - 1 > N - 1. When the pooled Kruskal route left a *marginal
plan* (its views, then each extended block with the set it was extended through), rank J = d is witnessed on
those marginals alone: the rows of a marginal's Jacobian are sums of rows of J, so a nonzero minor of the stacked
marginal Jacobians bounds rank J from below; each marginal is taken on its own block of columns (the weights and
the views' parameters, then each block's parameters), on which the later marginals vanish, so the stacked matrix
is block triangular and the minor is the product of the blocks' minors. The full table's Jacobian is formed only
when it has at most :data:`~mixid.identify.marginals.MAX_CELLS` entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy
from sympy.polys.rings import PolyElement

from ..marginals import MAX_CELLS, LimitReached
from ..model import gradient_mod, poly_degree
from ..rank import RankResult, Witness, generic_rank, nonzero_minor
from .base import Context

ROUTE = "jacobian"


@dataclass
class JacobianVerdict:
    target: str
    verdict: str  # identifiable | not_identifiable
    certificate: dict
    rank_J: int | None  # None when a dimension count decided
    rank_augmented: int | None


def _rank_dict(r: RankResult) -> dict:
    out = {"rank": r.rank, "witness": r.witness.to_dict(), "points": r.points}
    if r.upper_bound is not None:
        out["upper_bound"] = r.upper_bound
        out["upper_reason"] = r.upper_reason
    return out


class JacobianRoute:
    """Ranks of the observable map's Jacobian, and of it augmented by a target's gradient."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.d, self.N = ctx.count.parameters, ctx.count.observables
        self.entry_degree = max(1, len(ctx.design.names))  # cell polys have degree m + 1
        dim_bound = self.N - 1
        if dim_bound < self.d:
            self.bound, self.reason = dim_bound, (f"dimension count: {self.N} observables summing to 1 give rank "
                                                  f"<= {dim_bound}")
        else:
            self.bound, self.reason = self.d, f"number of parameters d = {self.d}"

    @cached_property
    def rank_J(self) -> RankResult:
        """Generic rank of J: on the pooled route's marginals when it left a plan, else on the full table."""
        plan = self.ctx.cache.get("marginal_plan")
        if plan is not None:
            result = self._marginal_rank(plan)
            if result is not None:
                return result
        self._require_full("the rank of the Jacobian")
        return generic_rank(self._eval_J, self.entry_degree, error=self.ctx.error, seed=self.ctx.rng,
                            upper_bound=self.bound, upper_reason=self.reason, prime=self.ctx.prime)

    def _require_full(self, what: str) -> None:
        if self.N * self.d > MAX_CELLS:
            raise LimitReached("max_cells", MAX_CELLS, f"forming the full table's Jacobian for {what} "
                               f"({self.N:,} x {self.d:,} entries)")

    def _marginal_rank(self, plan) -> RankResult | None:
        """rank J = d from the block-triangular stack of the plan's marginal Jacobians at the witness point, or
        None when a block falls short (then the full table decides)."""
        ctx, p = self.ctx, self.ctx.prime
        marg = ctx.marginals
        rows, cols, offset = [], [], 0
        for names, owners, weights in plan:
            ctx.check(f"the Jacobian of P({', '.join(names)})")
            block = (marg.weight_parameters() if weights else []) + marg.parameters_of(owners)
            J = marg.jacobian(ctx.point, names, p, block)
            r, c = nonzero_minor(J, p)
            if len(r) < len(block):
                return None
            rows += [offset + i for i in r]
            cols += [block[j] for j in c]
            offset += J.shape[0]
        if sorted(cols) != list(range(self.d)):
            return None
        witness = Witness(tuple(int(x) for x in ctx.point), p, tuple(rows), tuple(cols),
                          tuple(tuple(names) for names, _, _ in plan))
        return RankResult(self.d, witness, 1, (self.d + 1) * self.entry_degree, self.d,
                          f"number of parameters d = {self.d}")

    def _eval_J(self, rng: np.random.Generator):
        self.ctx.check("evaluating the Jacobian of the full table")
        point = self.ctx.model.random_point(rng, self.ctx.prime)
        return point, self.ctx.model.evaluate(point, self.ctx.prime)[1]

    def count(self, target: str) -> JacobianVerdict | None:
        """A verdict from the dimension count alone (no model), or None when the count does not settle it."""
        k, d, N = self.ctx.design.classes, self.d, self.N
        if target == "full_mixture" and d > N - 1:
            what, many = "the full mixture", f"its d = {d:,} parameters"
        elif target in ("weights", "mte") and k - 1 > N - 1:
            what, many = "the class weights" + (" (hence the MTE)" if target == "mte" else ""), \
                f"the k - 1 = {k - 1:,} free class weights"
        else:
            return None
        cert = {"kind": "count", "parameters": d, "observables": N, "classes": k,
                "statement": f"dimension count: the {N:,} observables sum to 1, so rank J <= {N - 1:,}; the "
                             f"gradients of {many} are independent, so they raise the rank above it: {what} is "
                             "not locally identifiable (the observables stay constant along a positive-dimensional "
                             "set of parameters), hence not globally"}
        return JacobianVerdict(target, "not_identifiable", cert, None, None)

    def decide(self, target: str, polys: list[PolyElement] | None = None) -> JacobianVerdict:
        """Local identifiability of a named target (or of the given polynomials)."""
        ctx, p = self.ctx, self.ctx.prime
        if polys is None and (counted := self.count(target)) is not None:
            return counted
        polys = ctx.model.target_polys(target) if polys is None else polys
        rJ = self.rank_J
        if rJ.rank >= self.d:
            where = (" (a nonzero minor of the stacked Jacobians of the marginals the witness lists: their rows "
                     "are sums of rows of J)" if rJ.witness.marginals else "")
            cert = {"kind": "witness", "statement": f"rank J = d = {self.d}{where}: the parameters are locally "
                    "identifiable, hence so is every function of them", "rank_J": _rank_dict(rJ)}
            return JacobianVerdict(target, "identifiable", cert, rJ.rank, rJ.rank)
        self._require_full(f"the gradient of {target}")
        degree = max([self.entry_degree] + [max(poly_degree(f) - 1, 0) for f in polys])

        def evaluate(rng):
            ctx.check(f"evaluating the Jacobian augmented by the gradient of {target}")
            point = ctx.model.random_point(rng, p)
            J = ctx.model.evaluate(point, p)[1]
            pts = [int(x) for x in point]
            grads = np.array([gradient_mod(f, pts, p) for f in polys], dtype=np.int64).reshape(-1, self.d)
            return point, np.vstack([J, grads])

        aug = generic_rank(evaluate, degree, error=ctx.error, seed=ctx.rng, prime=p,
                           upper_bound=min(self.d, rJ.rank + len(polys)), upper_reason="rows added")
        info = {"rank_J": _rank_dict(rJ), "rank_augmented": _rank_dict(aug)}
        if aug.rank > rJ.rank:
            if rJ.exact:
                cert = {"kind": "witness", "statement": f"rank J = {rJ.rank} exactly ({rJ.upper_reason}); the "
                        f"target's gradient raises it to {aug.rank}, so the target varies along the fibres "
                        "of the observable map: not locally identifiable", **info}
            else:
                cert = {"kind": "probabilistic", "statement": "the target's gradient raises the rank of J",
                        "error_bound": rJ.error_bound, "prime": p, "degree_bound": rJ.degree_bound, **info}
            return JacobianVerdict(target, "not_identifiable", cert, rJ.rank, aug.rank)
        cert = {"kind": "probabilistic", "statement": "the target's gradient lies in the row space of J at "
                f"{aug.points} random point(s)", "error_bound": aug.error_bound, "prime": p,
                "degree_bound": aug.degree_bound, **info}
        return JacobianVerdict(target, "identifiable", cert, rJ.rank, aug.rank)

    def decide_expression(self, expr: sympy.Expr) -> JacobianVerdict:
        """Local identifiability of a polynomial sympy expression in the model's parameter symbols."""
        m = self.ctx.model
        unknown = expr.free_symbols - set(m.symbols)
        if unknown:
            from ..errors import DesignError

            raise DesignError(f"expression uses symbols that are not model parameters: {sorted(map(str, unknown))}")
        try:
            poly = m.ring.from_expr(expr)
        except (ValueError, sympy.PolynomialError, TypeError) as exc:
            from ..errors import DesignError

            raise DesignError(f"target must be a polynomial in the model parameters: {exc}") from None
        return self.decide(str(expr), [poly])


def recheck(design, witness: dict, target: str | None = None) -> bool:
    """Re-check a Jacobian witness from its JSON: the stated minor is nonzero mod the stated prime.

    A witness with ``marginals`` is a minor of the stacked Jacobians of those marginals (in that order, each
    flattened row-major over its variables); without, of the full table's Jacobian. ``target`` names the target
    whose gradient rows were appended (for ``rank_augmented`` witnesses).

    Examples
    --------
    >>> from mixid.identify import place
    >>> cert = place("paper-level4").targets["mte"].certificate
    >>> recheck("paper-level4", cert["rank_J"]["witness"]), recheck("paper-level4",
    ...     cert["rank_augmented"]["witness"], "mte")
    (True, True)
    """
    from ..design import Design
    from ..model import Model
    from ..rank import det_mod

    model = Model(Design.load(design))
    p = int(witness["prime"])
    point = np.array([int(x) % p for x in witness["point"]], dtype=np.int64)
    if len(point) != model.n_params:
        return False
    if "marginals" in witness:  # the stacked Jacobians of the listed marginals
        from ..marginals import Marginals

        marg = Marginals(model)
        matrix = np.vstack([marg.jacobian(point, tuple(names), p) for names in witness["marginals"]])
    else:
        matrix = model.evaluate(point, p)[1]
    if target is not None:
        pts = [int(x) for x in point]
        grads = [gradient_mod(f, pts, p) for f in model.target_polys(target)]
        matrix = np.vstack([matrix, np.array(grads, dtype=np.int64).reshape(-1, model.n_params)])
    rows, cols = witness["minor_rows"], witness["minor_cols"]
    return len(rows) == len(cols) and det_mod(matrix[np.ix_(rows, cols)], p) != 0
