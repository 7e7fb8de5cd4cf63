"""The synthetic-potential-outcome recursion, written once for any arithmetic (numpy only).

Per arm t the proximal step solves M[Z,X|t] S_t = [M[Z,Y|t] | M[Z,X,Y|t]] through a rank-k generalized inverse,
giving alpha_t (first column) and A_t (the rest); E[Y(t)] = E[X]^T alpha_t. SPO then forms the synthetic moments
m_j = E[X]^T (A_1 - A_0)^(j-1) (alpha_1 - alpha_0) = sum_u pi_u tau_u^j (docs/theory.md, Theorems 1 and 2).

The arithmetic is a parameter, so the certificate and the estimator run the same code:

* :class:`ModP`: exact over F_p, the generalized inverse through a nonsingular k x k minor (identify's
  end-to-end check of the proximal and SPO certificates, at the witness point);
* :class:`Float`: floating point, the generalized inverse a rank-k truncated pseudo-inverse (the estimators of
  estimate, on data or exact population moments).

Examples
--------
>>> import numpy as np
>>> B = np.array([[0.7, 0.2], [0.3, 0.8]])            # P(x | u): columns are classes
>>> pi, lam = np.array([0.4, 0.6]), {0: np.array([0.1, 0.5]), 1: np.array([0.6, 0.2])}
>>> A = {0: np.array([[0.5, 0.1], [0.2, 0.3]]), 1: np.array([[0.2, 0.4], [0.3, 0.1]])}   # P(z, t | u)
>>> M = {t: A[t] @ np.diag(pi) @ B.T for t in (0, 1)}
>>> b = {t: A[t] @ np.diag(pi) @ lam[t] for t in (0, 1)}
>>> C = {t: A[t] @ np.diag(pi * lam[t]) @ B.T for t in (0, 1)}
>>> step = first_step(Float(2), M, b, B @ pi, C)
>>> [round(step.potential_outcome_means[t], 12) for t in (0, 1)]   # sum_u pi_u lambda_t(u)
[0.34, 0.36]
>>> [round(m, 12) for m in spo_moments(Float(2), step, 3)]      # tau = (0.5, -0.3)
[0.02, 0.154, 0.0338]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class Float:
    """Floating point; each arm's M[Z,X|t] is inverted by a rank-k truncated pseudo-inverse (one SVD per arm).

    With more proxy states than classes, the plain least-squares solve amplifies noise along directions the model
    says carry none; truncation keeps the k directions the classes span. ``solve`` also reports the singular
    values and the conditioning of the k-th one (``cond_k``, ``rank_gap``).
    """

    def __init__(self, k: int):
        self.k = k

    def solve(self, M: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, dict, np.ndarray]:
        inv, info = truncated_pinv(np.asarray(M, dtype=float), self.k)
        return inv @ B, info, inv

    def sub(self, a, b):
        return a - b

    def dot(self, a, b):
        return a @ b

    def scalar(self, x) -> float:
        return float(x)


class ModP:
    """Exact arithmetic over F_p; the generalized inverse goes through a nonsingular k x k minor of M[Z,X|t]."""

    def __init__(self, k: int, prime: int):
        self.k, self.prime = k, prime

    def solve(self, M: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, dict, None]:
        from .rank import nonzero_minor, to_nmod  # python-flint, only where exact arithmetic is used

        p, k = self.prime, self.k
        rows, cols = nonzero_minor(M, p)
        if len(rows) < k:
            raise ValueError(f"M[Z,X|t] has rank {len(rows)} < k = {k} modulo {p} at this point")
        rows, cols = rows[:k], cols[:k]
        B = np.asarray(B).reshape(M.shape[0], -1)
        sol = to_nmod(M[np.ix_(rows, cols)] % p, p).solve(to_nmod(B[list(rows)] % p, p))
        out = np.zeros((M.shape[1], B.shape[1]), dtype=np.int64)
        for i, c in enumerate(cols):
            for j in range(B.shape[1]):
                out[c, j] = int(sol[i, j])
        return out, {"minor_rows": list(rows), "minor_cols": list(cols)}, None  # no inverse matrix is formed

    def sub(self, a, b):
        return (np.asarray(a) - np.asarray(b)) % self.prime

    def dot(self, a, b):
        # Python integers: sums of residue products would overflow int64.
        out = np.asarray(a).astype(object) @ np.asarray(b).astype(object) % self.prime
        return out.astype(np.int64) if isinstance(out, np.ndarray) else int(out)

    def scalar(self, x) -> int:
        return int(x) % self.prime


@dataclass
class FirstStep:
    """The proximal step in both arms: alpha_t, A_t (when M[Z,X,Y|t] was given), E[X], E[Y(t)], solve info, and
    the generalized inverses when the arithmetic forms them (floating point: the rank-k pseudo-inverses)."""

    alpha: dict
    A: dict
    ex: np.ndarray
    potential_outcome_means: dict
    info: dict = field(default_factory=dict)
    inverse: dict = field(default_factory=dict)


def first_step(arith, M: dict, b: dict, ex: np.ndarray, C: dict | None = None) -> FirstStep:
    """alpha_t = M_t^- M[Z,Y|t] (and A_t = M_t^- M[Z,X,Y|t] when ``C`` is given), one solve per arm t = 0, 1.

    ``M``, ``b`` and ``C`` map the arm to M[Z,X|t] (d_Z x d_X), M[Z,Y|t] (d_Z) and M[Z,X,Y|t] (d_Z x d_X); any
    common scale per arm cancels. ``ex`` is E[X] (d_X).
    """
    alpha, A, po, info, inverse = {}, {}, {}, {}, {}
    ex = np.asarray(ex).reshape(-1)
    for t in (0, 1):
        rhs = np.asarray(b[t]).reshape(-1, 1)
        if C is not None:
            rhs = np.hstack([rhs, np.asarray(C[t])])
        S, info[t], inverse[t] = arith.solve(np.asarray(M[t]), rhs)
        alpha[t] = S[:, 0]
        if C is not None:
            A[t] = S[:, 1:]
        po[t] = arith.scalar(arith.dot(ex, alpha[t]))
    return FirstStep(alpha, A, ex, po, info, inverse)


def power_moments(arith, ex: np.ndarray, D: np.ndarray, g: np.ndarray, n: int) -> list:
    """E[X]^T D^(j-1) g for j = 1..n."""
    out = []
    for j in range(n):
        if j:
            g = arith.dot(D, g)
        out.append(arith.scalar(arith.dot(ex, g)))
    return out


def spo_moments(arith, step: FirstStep, n: int) -> list:
    """The synthetic moments m_1..m_n = sum_u pi_u tau_u^j (m_1 is the ATE)."""
    return power_moments(arith, step.ex, arith.sub(step.A[1], step.A[0]), arith.sub(step.alpha[1], step.alpha[0]),
                         n)


def arm_moments(arith, step: FirstStep, t: int, n: int) -> list:
    """One arm's moments E[X]^T A_t^(j-1) alpha_t = sum_u pi_u E[Y(t) | U=u]^j, j = 1..n."""
    return power_moments(arith, step.ex, step.A[t], step.alpha[t], n)


def truncated_pinv(M: np.ndarray, k: int) -> tuple[np.ndarray, dict]:
    """Rank-k pseudo-inverse of M, with its singular values and conditioning.

    Examples
    --------
    >>> inv, info = truncated_pinv(np.diag([4.0, 2.0, 1e-9]), 2)
    >>> np.round(np.diag(inv), 6).tolist(), info["cond_k"]
    ([0.25, 0.5, 0.0], 2.0)
    """
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    r = min(k, len(s))
    with np.errstate(divide="ignore"):
        inv = (Vt[:r].T / s[:r]) @ U[:, :r].T
    info = {"singular_values": s.tolist(), "cond_k": float(s[0] / s[r - 1]) if s[r - 1] > 0 else float("inf"),
            "rank_gap": float(s[r - 1] / s[r]) if r < len(s) and s[r] > 0 else None}
    return inv, info
