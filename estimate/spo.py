"""Synthetic potential outcomes (theory.md Theorem 2): the MTE from moments of order at most three.

Per arm, M[Z,X|t] is solved with a rank-k truncated pseudo-inverse (one SVD per arm): with more proxy states than
classes the plain least-squares solve amplifies noise along directions the model says carry none. The operator
form gamma^(j) = (A_1 - A_0)^(j-1) gamma^(1), A_t = M_t^+ M[Z,X,Y|t], gives m_j = E[X]^T gamma^(j); a k-atom
moment solver turns m_0..m_{2k-1} into class weights and effects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

from .evaluate import Moments
from .moment_problem import solve_atoms
from .result import Estimate

ILL_CONDITIONED = 1e6


def truncated_pinv(M: np.ndarray, k: int) -> tuple[np.ndarray, dict]:
    """Rank-k pseudo-inverse of M, with its singular values and conditioning."""
    U, s, Vt = scipy.linalg.svd(M, full_matrices=False)
    r = min(k, len(s))
    with np.errstate(divide="ignore"):
        inv = (Vt[:r].T / s[:r]) @ U[:, :r].T
    info = {"singular_values": s.tolist(), "cond_k": float(s[0] / s[r - 1]) if s[r - 1] > 0 else float("inf"),
            "rank_gap": float(s[r - 1] / s[r]) if r < len(s) and s[r] > 0 else None}
    return inv, info


def first_step(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int) -> tuple[dict, dict, np.ndarray, dict,
                                                                                    list[str]]:
    """alpha_t = M[Z,X|t]^+ M[Z,Y|t] per arm, with the pseudo-inverses (reused by SPO) and diagnostics."""
    alpha, pinv, diag, warnings = {}, {}, {}, []
    ex = mo.M(X, (), None).ravel()
    for t in (0, 1):
        pinv[t], info = truncated_pinv(mo.M(Z, X, t), k)
        alpha[t] = pinv[t] @ mo.M(Z, (), t, outcome=True).ravel()
        diag[f"M[Z,X|{t}]"] = info
        if info["cond_k"] > ILL_CONDITIONED:
            warnings.append(f"M[Z,X|{t}] is ill-conditioned (cond = {info['cond_k']:.3g}): the proxies barely "
                            f"separate the {k} classes in arm {t}")
    return alpha, pinv, ex, diag, warnings


def spo(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int, method: str = "pencil") -> Estimate:
    """The SPO estimator on moments (data or exact).

    Examples
    --------
    >>> from identify import Design
    >>> from estimate.simulate import population_moments, random_params, truth
    >>> d = Design.builtin("paper-level3")
    >>> p = random_params(d, seed=3)
    >>> est = spo(Moments(d, population_moments(d, p)), ("Z",), ("X",), 2)
    >>> bool(abs(est.ate - truth(d, p).ate) < 1e-12)
    True
    """
    alpha, pinv, ex, diag, warnings = first_step(mo, Z, X, k)
    A = {t: pinv[t] @ mo.M(Z, X, t, outcome=True) for t in (0, 1)}
    D = A[1] - A[0]
    gamma = alpha[1] - alpha[0]
    moments = [1.0, float(ex @ gamma)]
    for _ in range(2, 2 * k + 1):  # m_2 .. m_2k (Prony may use the last)
        gamma = D @ gamma
        moments.append(float(ex @ gamma))
    sol = solve_atoms(np.array(moments), k, method=method)
    diag.update({"synthetic_moments": moments, "moment_solver": sol.diagnostics})
    po = {t: float(ex @ alpha[t]) for t in (0, 1)}
    return Estimate(ate=moments[1], potential_outcome_means=po, weights=np.asarray(sol.weights),
                    effects=np.asarray(sol.atoms), diagnostics=diag, warnings=warnings + list(sol.warnings))


def naive_difference(mo: Moments) -> float:
    """E[Y | T=1] - E[Y | T=0]: biased whenever U confounds T and Y."""
    T = mo.design.treatment
    ey = mo.joint((T,), outcome=True)
    return float(ey[1] / mo.arm_prob(1) - ey[0] / mo.arm_prob(0))
