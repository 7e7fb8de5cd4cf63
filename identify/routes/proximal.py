"""Proximal route (Theorem 1 in docs/theory.md): the ATE and E[Y(t)] from the first SPO step.

Conditions: Z ⊥ Y | U, T;  Z ⊥ X | U, T;  X ⊥ T | U;  U blocks the back doors of T -> Y;  rank M[Z,X|t] = k.
Formula: alpha_t solves M[Z,X|t] alpha_t = M[Z,Y|t];  E[Y(t)] = E[X]^T alpha_t.  X -> Y is allowed.
"""

from __future__ import annotations

from . import proxies
from .base import Context, RouteResult

ROUTE = "proximal"


def formula(Z: str, X: str, T: str = "T", Y: str = "Y") -> str:
    """The estimand in LaTeX; Z, X, T, Y are LaTeX names (see :mod:`mixid.identify.latex`)."""
    return (rf"\alpha_t = \mathbb{{M}}[{Z},{X}\mid {T}{{=}}t]^{{+}}\,\mathbb{{M}}[{Z},{Y}\mid {T}{{=}}t],\quad "
            rf"E[{Y}(t)] = E[{X}]^\top \alpha_t,\quad \mathrm{{ATE}} = E[{X}]^\top(\alpha_1-\alpha_0)")


def run(ctx: Context) -> RouteResult:
    """Certify the ATE by the proximal formula, or say which condition fails."""
    return proxies.proxy_route(ctx, ROUTE, "ate", mte=False, formula=lambda Z, X, k, **names: formula(Z, X, **names))
