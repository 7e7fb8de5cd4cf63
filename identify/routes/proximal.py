"""Proximal route (theory.md Theorem 1): the ATE and E[Y(t)] from the first SPO step.

Conditions: Z ⊥ Y | U, T;  Z ⊥ X | U, T;  X ⊥ T | U;  U blocks the back doors of T -> Y;  rank M[Z,X|t] = k.
Formula: alpha_t solves M[Z,X|t] alpha_t = M[Z,Y|t];  E[Y(t)] = E[X]^T alpha_t.  X -> Y is allowed.
"""

from __future__ import annotations

from . import proxies
from .base import Context, Estimand, RouteResult

ROUTE = "proximal"


def formula(Z: str, X: str) -> str:
    return (rf"\alpha_t = \mathbb{{M}}[{Z},{X}\mid t]^{{+}}\,\mathbb{{M}}[{Z},Y\mid t],\quad "
            rf"E[Y(t)] = E[{X}]^\top \alpha_t,\quad \mathrm{{ATE}} = E[{X}]^\top(\alpha_1-\alpha_0)")


def run(ctx: Context) -> RouteResult:
    """Certify the ATE by the proximal formula, or say which condition fails."""
    return proxy_route(ctx, ROUTE, "ate", mte=False)


def proxy_route(ctx: Context, route: str, target: str, mte: bool) -> RouteResult:
    """The shared body of the proximal and SPO routes."""
    roles = proxies.choose_roles(ctx, mte)
    if roles is None:
        side = "X ⊥ T | U and X ⊥ Y | U, T" if mte else "X ⊥ T | U"
        return RouteResult(route, target, False,
                           f"no proxy pair: needs Z with Z ⊥ Y | U, T and a different X with {side}, "
                           "Z ⊥ X | U, T")
    Z, X = roles
    conds = proxies.independence_conditions(ctx, Z, X, route, mte)
    ranks, ranks_ok = proxies.rank_conditions(ctx, Z, X, route)
    conds += ranks
    failing = [c.statement for c in conds if not c.holds]
    k = ctx.design.classes
    if mte:
        conds.append(_distinct_condition(ctx, route))
        if not conds[-1].holds:
            failing.append(conds[-1].statement)
    if failing:
        return RouteResult(route, target, False, "fails: " + "; ".join(failing), conds)
    n_moments = 2 * k - 1 if mte else 1
    checked = proxies.verify_factorisations(ctx, Z, X, spo=mte)
    e2e = proxies.end_to_end(ctx, Z, X, n_moments)
    zs, xs = proxies._fmt(Z), proxies._fmt(X)
    if mte:
        from .spo import formula as spo_formula

        text = spo_formula(zs, xs, k)
        moments = ("M[Z,X|t]", "M[Z,Y|t]", "M[Z,X,Y|t]", "E[X]")
    else:
        text = formula(zs, xs)
        moments = ("M[Z,X|t]", "M[Z,Y|t]", "E[X]")
    estimand = Estimand(target, route, text, moments, {"treatment_side": Z, "outcome_side": X}, k)
    cert = {
        "kind": "constructive",
        "formula": text,
        "verification": {**checked, "end_to_end": e2e},
        "conditions": [c.statement for c in conds],
        "rank_witnesses": [c.details["witness"] for c in ranks],
    }
    return RouteResult(route, target, True, f"Z = {zs}, X = {xs}", conds, cert, estimand)


def _distinct_condition(ctx: Context, route: str):
    """det H_0 = prod pi_u prod_{u<v} (tau_u - tau_v)^2 != 0 at the witness point (mod p)."""
    from ..graph import Condition

    p = ctx.prime
    taus, pis = ctx.effects, [int(x) for x in ctx.weights]
    det = 1
    for i, a in enumerate(taus):
        det = det * pis[i] % p
        for b in taus[i + 1:]:
            det = det * (a - b) ** 2 % p
    holds = det != 0
    return Condition("class effects distinct: det H_0 = prod pi_u prod (tau_u - tau_v)^2 != 0", holds,
                     "distinct_effects", route,
                     {"witness": {"point": "the witness point", "prime": p, "det_H0_mod_p": det}})
