"""The k-atom moment problem in floating point: atoms and weights of a discrete distribution from its power moments.

SPO estimates the power moments m_j = sum_u pi_u tau_u^j (j = 0, 1, ...) of the mixture of treatment effects
(MTE) sum_u pi_u delta_{tau_u}; this module recovers (pi, tau) from m_0 = 1, m_1, ..., m_{2k-1} (and any further
moments supplied). With V[i, u] = tau_u^i,

    H_0 = [m_{i+j}] = V diag(pi) V^T,      H_1 = [m_{i+j+1}] = V diag(pi * tau) V^T,

so the atoms are the generalized eigenvalues of the pencil (H_1, H_0) (:func:`matrix_pencil`), or equivalently the
roots of the monic polynomial prod_u (x - tau_u) whose coefficients c solve H_0 c = -[m_k, ..., m_{2k-1}]
(:func:`prony`). The weights then solve the Vandermonde system sum_u pi_u tau_u^i = m_i.

Both solvers share the same numerics, built so that a bad answer is never returned silently:

* the moments are equilibrated, m_j -> m_j / s^j with s = max_j |m_j|^(1/j), which rescales the atoms to O(1)
  without the cancellation that centring would add; conditioning, rank and thresholds refer to this scale;
* the numerical rank r of H_0 (singular values above ``tol`` times the largest) decides how many atoms are
  solved for: r < k means equal effects or a zero weight, and r atoms are returned with a warning;
* complex atoms (the moments are not those of a real r-atom distribution) keep their real parts, with a warning;
  so do weights outside [0, 1], weights below sqrt(tol) (their atoms are noise), and a residual above sqrt(tol);
* the weights are a least-squares fit over all supplied moments with sum(pi) = 1 imposed exactly (m_0 is the only
  moment known without error), and the fit's residual is reported.

Every number that matters is in :attr:`AtomSolution.diagnostics`, every problem in :attr:`AtomSolution.warnings`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

__all__ = ["AtomSolution", "matrix_pencil", "prony", "solve_atoms"]

M0_TOL = 1e-8  # how far m_0 may be from 1 (rounding in an estimated zeroth moment), before it is an input error


@dataclass(frozen=True)
class AtomSolution:
    """Atoms and weights of a discrete distribution recovered from its power moments.

    Attributes
    ----------
    weights : np.ndarray
        Shape ``(r,)``: the weight of each atom, in the order of ``atoms``. Real; they sum to 1.
    atoms : np.ndarray
        Shape ``(r,)``: the atoms, ascending. ``r`` is the numerical rank of H_0, which is ``k`` unless effects
        coincide (or a weight vanishes), in which case merged classes are returned once. A single atom is m_1.
    diagnostics : dict
        ``method``; ``k`` (asked for); ``n_moments`` (used); ``hankel_rank`` (numerical rank r of H_0);
        ``cond_H0`` (2-norm condition number of the equilibrated H_0, ``inf`` if singular) and ``cond_H0_raw``
        (of H_0 built from the moments as given); ``singular_values`` (of the equilibrated H_0); ``scale``
        (the equilibration factor s); ``complex`` and ``max_imag`` (largest imaginary part of an atom, in the
        units of the atoms); ``residual`` (max_j |sum_u pi_u tau_u^j - m_j| over all moments used) and
        ``scaled_residual`` (the same for the equilibrated moments); ``min_gap`` (smallest distance between two
        atoms, ``inf`` for a single atom); ``weight_sum``.
    warnings : tuple of str
        Human-readable problems; empty when the answer can be trusted to the precision of the moments.

    Examples
    --------
    >>> sol = solve_atoms([1, 0, 1, 0], k=2)
    >>> sol.atoms.tolist(), sol.weights.tolist(), sol.warnings
    ([-1.0, 1.0], [0.5, 0.5], ())
    """

    weights: np.ndarray
    atoms: np.ndarray
    diagnostics: dict
    warnings: tuple[str, ...]


def matrix_pencil(moments: ArrayLike, k: int, *, tol: float = 1e-9, noise: float | None = None) -> AtomSolution:
    """Recover k atoms and their weights as the generalized eigenvalues of the Hankel pencil (H_1, H_0).

    All supplied moments are used: with n moments, H_0 = [m_{i+j}] and H_1 = [m_{i+j+1}] are (n - k) x k.
    Writing H_0 = U S V^T (truncated to its numerical rank r), the atoms are the eigenvalues of the r x r matrix
    S^{-1} U^T H_1 V, which is similar to diag(tau) for exact moments; for square, nonsingular H_0 this is the
    pencil eig(H_1, H_0), but the truncated SVD also handles a singular H_0 and an overdetermined pencil.

    Parameters
    ----------
    moments : array_like
        Power moments m_0 = 1, m_1, ..., m_{n-1}, n >= 2k, real and finite.
    k : int
        Number of atoms (latent classes), k >= 1.
    tol : float, optional
        Relative tolerance, in (0, 1): singular values of the equilibrated H_0 below ``tol`` times the largest
        count as zero; imaginary parts and weight excursions beyond ``tol`` (relative) are reported, as are weights
        below ``sqrt(tol)`` and residuals above ``sqrt(tol)``. For estimated moments, set it to about their
        relative error, so that effects the data cannot tell apart are merged.

    noise : float, optional
        Standard error of estimated moments at unit scale (about 0.5 / sqrt(n) times the noise amplification of
        the estimator that formed them); moment j is then held to noise * max(1, scale)**j. The residual warning
        fires only when a residual exceeds four of its standard errors, so it does not fire on sampling noise.
    Returns
    -------
    AtomSolution
        Atoms ascending, their weights, diagnostics and warnings.

    Raises
    ------
    ValueError
        If the moments are not a 1-D finite real array of length at least 2k with m_0 = 1, if k is not a positive
        integer, or if ``tol`` is not in (0, 1).

    Examples
    --------
    >>> sol = matrix_pencil([1, 0.25, 0.265, 0.1675], k=2)
    >>> sol.atoms.round(12).tolist(), sol.weights.round(12).tolist()
    ([-0.2, 0.7], [0.5, 0.5])
    >>> sol.diagnostics["hankel_rank"], sol.warnings
    (2, ())
    """
    return _solve(moments, k, tol, "pencil", _pencil_atoms, noise)


def prony(moments: ArrayLike, k: int, *, tol: float = 1e-9, noise: float | None = None) -> AtomSolution:
    """Recover k atoms and their weights as the roots of the polynomial that annihilates the moment sequence.

    The coefficients of p(x) = prod_u (x - tau_u) = x^r + c_{r-1} x^{r-1} + ... + c_0 satisfy
    sum_{j<r} c_j m_{i+j} = -m_{i+r} for every i with i + r < n (because sum_u pi_u tau_u^i p(tau_u) = 0); this
    system is solved by least squares (square when n = 2k and r = k) and its roots are the atoms. r is the numerical
    rank of H_0, as in :func:`matrix_pencil`.

    Parameters
    ----------
    moments : array_like
        Power moments m_0 = 1, m_1, ..., m_{n-1}, n >= 2k, real and finite.
    k : int
        Number of atoms (latent classes), k >= 1.
    tol : float, optional
        Relative tolerance in (0, 1); see :func:`matrix_pencil`.

    Returns
    -------
    AtomSolution
        Atoms ascending, their weights, diagnostics and warnings.

    Raises
    ------
    ValueError
        As :func:`matrix_pencil`.

    Examples
    --------
    >>> sol = prony([1, 0, 0.5625, 0, 0.31640625], k=2)
    >>> sol.atoms.round(12).tolist(), sol.weights.round(12).tolist()
    ([-0.75, 0.75], [0.5, 0.5])
    """
    return _solve(moments, k, tol, "prony", _prony_atoms, noise)


_METHODS: dict[str, Callable[..., AtomSolution]] = {"pencil": matrix_pencil, "prony": prony}


def solve_atoms(moments: ArrayLike, k: int, method: str = "pencil", **kw) -> AtomSolution:
    """Recover k atoms and their weights from power moments with the named method.

    Parameters
    ----------
    moments : array_like
        Power moments m_0 = 1, m_1, ..., m_{n-1}, n >= 2k.
    k : int
        Number of atoms, k >= 1.
    method : {"pencil", "prony"}
        :func:`matrix_pencil` (default) or :func:`prony`.
    **kw
        Passed to the method (``tol``).

    Returns
    -------
    AtomSolution

    Raises
    ------
    ValueError
        For an unknown method, or as the method raises.

    Examples
    --------
    >>> sol = solve_atoms([1, 0.5, 0.25], k=1)
    >>> sol.atoms.tolist(), sol.weights.tolist(), sol.warnings
    ([0.5], [1.0], ())
    >>> solve_atoms([1, 0.25, 0.265, 0.1675], k=2, method="prony").atoms.round(12).tolist()
    [-0.2, 0.7]
    """
    try:
        solver = _METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(map(repr, _METHODS))}") from None
    return solver(moments, k, **kw)


# --------------------------------------------------------------------------------------------------- internals


def _validate(moments: ArrayLike, k: int, tol: float) -> np.ndarray:
    """The moments as a float array, after checking everything the solvers rely on."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer (the number of atoms), got {k!r}")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
        raise ValueError(f"tol must be a real number in (0, 1), got {tol!r}")
    arr = np.asarray(moments)
    if arr.dtype.kind == "c":
        raise ValueError("moments must be real, got a complex array")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"moments must be real numbers, got dtype {arr.dtype}") from None
    m = arr.astype(float)
    if m.ndim != 1:
        raise ValueError(f"moments must be a 1-D array m_0, m_1, ..., got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"moments must be finite; non-finite at index {np.flatnonzero(~np.isfinite(m)).tolist()}")
    if m.size < 2 * k:
        raise ValueError(f"k = {k} atoms need at least 2k = {2 * k} moments m_0..m_{2 * k - 1}, got {m.size}")
    if abs(m[0] - 1) > M0_TOL:
        raise ValueError(f"m_0 must be 1 (moments of a probability distribution), got m_0 = {m[0]!r}")
    return m


def _equilibrate(m: np.ndarray) -> tuple[np.ndarray, float]:
    """m_j / s^j with s = max_{j>=1} |m_j|^(1/j): atoms of size O(1), without centring's cancellation."""
    j = np.arange(m.size)
    nz = (m != 0) & (j > 0)
    if not nz.any():
        return m.copy(), 1.0
    log_abs = np.log(np.abs(m[nz]))
    log_s = float(np.max(log_abs / j[nz]))
    out = m.copy()
    out[nz] = np.sign(m[nz]) * np.exp(log_abs - j[nz] * log_s)  # in logs so that s^j cannot overflow
    return out, math.exp(log_s)


def _hankel_pair(ms: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """H_0 = [m_{i+j}] and H_1 = [m_{i+j+1}], i < rows, j < cols."""
    idx = np.add.outer(np.arange(rows), np.arange(cols))
    return ms[idx], ms[idx + 1]


def _pencil_atoms(ms: np.ndarray, k: int, r: int) -> np.ndarray:
    """Eigenvalues of S_r^{-1} U_r^T H_1 V_r: the rank-r pencil, well posed even when H_0 is singular."""
    h0, h1 = _hankel_pair(ms, ms.size - k, k)
    u, sv, vt = np.linalg.svd(h0, full_matrices=False)
    reduced = (u[:, :r].T @ h1 @ vt[:r].T) / sv[:r, None]
    return scipy.linalg.eigvals(reduced)


def _prony_atoms(ms: np.ndarray, k: int, r: int) -> np.ndarray:
    """Roots of x^r + c_{r-1} x^{r-1} + ... + c_0 with sum_j c_j m_{i+j} = -m_{i+r} (least squares over i)."""
    a = ms[np.add.outer(np.arange(ms.size - r), np.arange(r))]
    b = -ms[r:]
    c = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.roots(np.concatenate([[1.0], c[::-1]])).astype(complex)


def _weights(z: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Least squares for sum_u pi_u z_u^i = m_i over all i, subject to sum(pi) = 1 exactly."""
    r = z.size
    vand = np.vander(z, ms.size, increasing=True).T
    if r == 1:
        return np.ones(1)
    # pi = 1/r + Q y with Q an orthonormal basis of the complement of the ones vector: the constraint holds
    # exactly and lstsq copes with a rank-deficient Vandermonde (atoms whose real parts coincide).
    q = np.linalg.qr(np.ones((r, 1)), mode="complete")[0][:, 1:]
    base = np.full(r, 1.0 / r)
    y = np.linalg.lstsq(vand @ q, ms - vand @ base, rcond=None)[0]
    return base + q @ y


def _solve(moments: ArrayLike, k: int, tol: float, method: str,
           atoms_of: Callable[[np.ndarray, int, int], np.ndarray], noise: float | None = None) -> AtomSolution:
    m = _validate(moments, k, tol)
    ms, s = _equilibrate(m)
    h0, _ = _hankel_pair(ms, m.size - k, k)
    sv = np.linalg.svd(h0, compute_uv=False)
    r = int(np.sum(sv > tol * sv[0]))  # sv[0] >= |m_0| = 1 > 0, so r >= 1
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    raw_sv = np.linalg.svd(_hankel_pair(m, m.size - k, k)[0], compute_uv=False)
    cond_raw = float(raw_sv[0] / raw_sv[-1]) if raw_sv[-1] > 0 else math.inf
    found: list[str] = []
    if r < k:
        found.append(f"ill-conditioned Hankel matrix (cond = {cond:.3g}): effects may be nearly equal or a weight "
                     "nearly zero")
        found.append(f"only {r} distinct effects; classes with equal effects merged (asked for k = {k})")

    # One atom is the mean, whatever else the moments say (fitting it to higher moments would bias it); it is
    # taken from the raw moments below so that it does not round through the scale.
    z = np.array([ms[1] / ms[0]], dtype=complex) if r == 1 else np.asarray(atoms_of(ms, k, r), dtype=complex)
    max_imag_z = float(np.max(np.abs(z.imag)))
    is_complex = max_imag_z > tol * max(1.0, float(np.max(np.abs(z))))
    max_imag = max_imag_z * s
    if is_complex:
        found.append(f"complex atoms: max |imag| = {max_imag:.3g}; the moments are not those of a real "
                     f"{r}-atom distribution (real parts kept)")
    t = np.sort(z.real) + 0.0  # + 0.0 turns -0.0 into 0.0
    pi = _weights(t, ms)
    tau = np.array([m[1] / m[0]]) if r == 1 else t * s

    scaled_residual = float(np.max(np.abs(np.vander(t, m.size, increasing=True).T @ pi - ms)))
    residuals = np.abs(np.vander(tau, m.size, increasing=True).T @ pi - m)
    residual = float(np.max(residuals))
    # with estimated moments, a residual within sampling noise is no sign of a wrong model
    se = None if noise is None else noise * max(1.0, s) ** np.arange(m.size)
    if scaled_residual > math.sqrt(tol) and (se is None or np.any(residuals > 4 * se)):
        found.append(f"moments not reproduced: max residual = {residual:.3g} (scaled {scaled_residual:.3g}); "
                     f"the moments are noisy or not those of a {r}-atom distribution")
    outside = pi[(pi < -tol) | (pi > 1 + tol)]
    if outside.size:
        found.append(f"weights outside [0, 1]: {', '.join(f'{w:.6g}' for w in outside)}")
    # An atom with (almost) no weight is not pinned down by the moments: its location is noise, so say so.
    faint = np.flatnonzero(np.abs(pi) < math.sqrt(tol)) if r > 1 else np.array([], dtype=int)
    if faint.size:
        found.append("weight nearly zero (" + ", ".join(f"{pi[u]:.3g} at atom {tau[u]:.6g}" for u in faint)
                     + "): such an atom is not determined by the moments; a smaller k may fit")
    total = float(pi.sum())
    if abs(total - 1) > tol:
        found.append(f"weights sum to {total:.12g}, not 1")

    tau.setflags(write=False)
    pi.setflags(write=False)
    diagnostics = {
        "method": method,
        "k": int(k),
        "n_moments": int(m.size),
        "hankel_rank": r,
        "cond_H0": cond,
        "cond_H0_raw": cond_raw,
        "singular_values": tuple(float(x) for x in sv),
        "scale": s,
        "complex": bool(is_complex),
        "max_imag": max_imag,
        "residual": residual,
        "scaled_residual": scaled_residual,
        "min_gap": float(np.min(np.diff(tau))) if r > 1 else math.inf,
        "weight_sum": total,
    }
    return AtomSolution(weights=pi, atoms=tau, diagnostics=diagnostics, warnings=tuple(found))
