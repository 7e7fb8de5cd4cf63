"""The general route: generic local identifiability of any target from the Jacobian of the observable map.

g is generically locally identifiable iff generic rank [J; grad g] = generic rank J (docs/theory.md, Jacobian route).
Ranks are decided at random points mod p (never symbolically):

* rank J = d (full column rank) at a witness point proves every target locally identifiable;
* a dimension count caps rank J at N - 1; when the witness meets that cap and [J; grad g] has a larger
  witnessed rank, g is proved NOT locally identifiable;
* every other verdict is probabilistic, with its Schwartz-Zippel bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
from sympy.polys.rings import PolyElement

from ..model import gradient_mod, poly_degree
from ..rank import RankResult, generic_rank
from .base import Context

ROUTE = "jacobian"


@dataclass
class JacobianVerdict:
    target: str
    verdict: str  # identifiable | not_identifiable
    certificate: dict
    rank_J: int
    rank_augmented: int


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
        m = ctx.model
        self.d, self.N = m.n_params, m.n_observables
        self.entry_degree = max(1, len(ctx.design.names))  # cell polys have degree m + 1
        dim_bound = self.N - 1
        if dim_bound < self.d:
            bound, reason = dim_bound, f"dimension count: {self.N} observables summing to 1 give rank <= {dim_bound}"
        else:
            bound, reason = self.d, f"number of parameters d = {self.d}"
        self.rank_J = generic_rank(self._eval_J, self.entry_degree, error=ctx.error, seed=ctx.rng,
                                   upper_bound=bound, upper_reason=reason, prime=ctx.prime)

    def _eval_J(self, rng: np.random.Generator):
        point = self.ctx.model.random_point(rng, self.ctx.prime)
        return point, self.ctx.model.evaluate(point, self.ctx.prime)[1]

    def decide(self, target: str, polys: list[PolyElement] | None = None) -> JacobianVerdict:
        """Local identifiability of a named target (or of the given polynomials)."""
        ctx, p = self.ctx, self.ctx.prime
        polys = ctx.model.target_polys(target) if polys is None else polys
        rJ = self.rank_J
        if rJ.rank >= self.d:
            cert = {"kind": "witness", "statement": f"rank J = d = {self.d}: the parameters are locally "
                    "identifiable, hence so is every function of them", "rank_J": _rank_dict(rJ)}
            return JacobianVerdict(target, "identifiable", cert, rJ.rank, rJ.rank)
        degree = max([self.entry_degree] + [max(poly_degree(f) - 1, 0) for f in polys])

        def evaluate(rng):
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

    ``target`` names the target whose gradient rows were appended (for ``rank_augmented`` witnesses).

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
    matrix = model.evaluate(point, p)[1]
    if target is not None:
        pts = [int(x) for x in point]
        grads = [gradient_mod(f, pts, p) for f in model.target_polys(target)]
        matrix = np.vstack([matrix, np.array(grads, dtype=np.int64).reshape(-1, model.n_params)])
    rows, cols = witness["minor_rows"], witness["minor_cols"]
    return len(rows) == len(cols) and det_mod(matrix[np.ix_(rows, cols)], p) != 0
