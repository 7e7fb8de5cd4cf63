"""The k-atom moment problem in exact arithmetic: power moments, Hankel matrices, and their determinants.

The MTE is the discrete distribution sum_u pi_u delta_{tau_u}; SPO identifies its power moments
m_j = sum_u pi_u tau_u^j, and k atoms are determined by m_0..m_{2k-1} when the atoms are distinct
(Theorem 3 in docs/theory.md). These helpers work on sympy numbers or symbols, so identities can be proved.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy


def power_moments(weights: Sequence, atoms: Sequence, n: int) -> list:
    """m_0..m_{n-1} of the distribution sum_u weights[u] * delta_{atoms[u]}.

    Examples
    --------
    >>> from sympy import Rational as R
    >>> power_moments([R(1, 2), R(1, 2)], [R(-1, 5), R(7, 10)], 5)
    [1, 1/4, 53/200, 67/400, 2417/20000]
    """
    if len(weights) != len(atoms):
        raise ValueError(f"{len(weights)} weights but {len(atoms)} atoms")
    w, a = [sympy.sympify(x) for x in weights], [sympy.sympify(x) for x in atoms]
    return [sympy.expand(sum(wu * au**j for wu, au in zip(w, a))) for j in range(n)]


def hankel(moments: Sequence, k: int, shift: int = 0) -> sympy.Matrix:
    """The k x k Hankel matrix H_shift = [m_{i+j+shift}]_{i,j<k}.

    Examples
    --------
    >>> hankel([1, 2, 3, 4], 2, shift=1)
    Matrix([
    [2, 3],
    [3, 4]])
    """
    need = 2 * k - 1 + shift
    if len(moments) < need:
        raise ValueError(f"H_{shift} of size {k} needs m_0..m_{need - 1}, got {len(moments)} moments")
    return sympy.Matrix(k, k, lambda i, j: moments[i + j + shift])


def hankel_det_formula(weights: Sequence, atoms: Sequence) -> sympy.Expr:
    """prod_u pi_u * prod_{u<v} (tau_u - tau_v)^2, which equals det H_0 (check C4 in docs/theory.md)."""
    out = sympy.Integer(1)
    for i, w in enumerate(weights):
        out *= w
        for b in atoms[i + 1:]:
            out *= (atoms[i] - b) ** 2
    return out
