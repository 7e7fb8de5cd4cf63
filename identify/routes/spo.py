"""SPO route (Theorem 2 in docs/theory.md): the mixture of treatment effects from synthetic potential outcomes.

Conditions: the proximal ones, plus X ⊥ Y | U, T and distinct class effects (det H_0 != 0).
Formula: alpha_t^(1) = M[Z,X|t]^+ M[Z,Y|t]; gamma^(j) = (A_1 - A_0)^(j-1) gamma^(1) with
A_t = M[Z,X|t]^+ M[Z,X,Y|t]; m_j = E[X]^T gamma^(j) = sum_u pi_u tau_u^j (j < 2k); then the k-atom moment
problem (matrix pencil of the Hankel matrices H_0, H_1) returns (pi_u, tau_u).
"""

from __future__ import annotations

from . import proxies
from .base import Context, RouteResult

ROUTE = "spo"


def formula(Z: str, X: str, k: int, T: str = "T", Y: str = "Y") -> str:
    """The estimand in LaTeX; Z, X, T, Y are LaTeX names (see :mod:`mixid.identify.latex`)."""
    return (rf"\gamma^{{(1)}} = \textstyle\sum_t (-1)^{{t+1}} \mathbb{{M}}[{Z},{X}\mid {T}{{=}}t]^{{+}}"
            rf"\mathbb{{M}}[{Z},{Y}\mid {T}{{=}}t],\quad "
            rf"A_t = \mathbb{{M}}[{Z},{X}\mid {T}{{=}}t]^{{+}}\mathbb{{M}}[{Z},{X},{Y}\mid {T}{{=}}t],\quad "
            rf"m_j = E[{X}]^\top (A_1 - A_0)^{{j-1}}\gamma^{{(1)}} = \textstyle\sum_u \pi_u \tau_u^j"
            rf"\ (j \le {2 * k - 1}),\quad "
            rf"\{{\tau_u\}} = \operatorname{{eig}}(H_1, H_0),\ H_s = [m_{{i+j+s}}]_{{i,j<{k}}}")


def run(ctx: Context) -> RouteResult:
    """Certify the MTE (weights and class effects) by SPO, or say which condition fails."""
    return proxies.proxy_route(ctx, ROUTE, "mte", mte=True, formula=formula)
