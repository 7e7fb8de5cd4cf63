"""Adjustment route (level 1): U observed, every class quantity is a ratio of observed probabilities.

P(U=u) = P(u) and P(V=v | pa, U=u) = P(v, pa, u) / P(pa, u); the class effect is then the g-formula within
class u. Each ratio is checked as the exact polynomial identity P(v, pa, u) = theta * P(pa, u).
"""

from __future__ import annotations

import itertools

from ..latex import tex_name
from .base import Context, RouteResult, new_tally

ROUTE = "adjustment"


def run(ctx: Context, target: str) -> RouteResult:
    d = ctx.design
    if not d.latent_observed and d.classes > 1:
        return RouteResult(ROUTE, target, False, f"{d.latent} is latent: no unit's class is observed")
    if not d.latent_observed:
        reason = "a single class: U is constant, so adjustment on U is no adjustment"
    else:
        reason = f"{d.latent} is observed: adjust on it"
    checked = _verify(ctx)
    formula = (rf"P({tex_name(d.latent)}{{=}}u) = P(u),\quad P(v \mid \mathrm{{pa}}, u) = "
               rf"\frac{{P(v, \mathrm{{pa}}, u)}}{{P(\mathrm{{pa}}, u)}}")
    cert = {"kind": "constructive", "formula": formula,
            "verification": checked}
    return RouteResult(ROUTE, target, True, reason, [], cert)


def _verify(ctx: Context) -> dict:
    m, d = ctx.model, ctx.design
    tally = new_tally()
    for u in range(d.classes):
        for name in d.names:
            pa = d.parents(name)
            for conf in itertools.product(*(range(m.dims[p]) for p in pa)):
                given = dict(zip(pa, conf))
                base = m.joint_poly(given, klass=u)
                for c in range(m.dims[name]):
                    theta = m._factor_poly(name, {**given, name: c}, u)
                    ctx.same([[m.joint_poly({**given, name: c}, klass=u)]], [[theta, base]],
                             f"P({name}={c} | {given}, u={u})", tally)
    tally["method"] = "polynomial identities (expanded exactly, or at random points when large)"
    return tally
