"""Latent class mixtures of three conditionally independent categorical views, by CP (PARAFAC) decomposition.

The joint law of three views that are independent given a latent class U with k states is a rank-k CP tensor

    P[a, b, c] = sum_u w_u A[a, u] B[b, u] C[c, u],

with w = P(U) on the simplex and column-stochastic factors A = P(view_0 | U), B, C. By Kruskal (1977) the
decomposition is unique up to relabelling the classes when kr(A) + kr(B) + kr(C) >= 2k + 2, so it identifies
the full mixture (level 2 of the hierarchy).

:func:`cp_mixture` starts from an algebraic solution, exact on population tensors so the answer is accurate
to machine precision: Jennrich's simultaneous diagonalisation when two views have at least k states, a
rank-one pencil (De Lathauwer 2006) when only one has; the remaining restarts start from seeded random
factors. Each start is refined with tensorly's ALS (``parafac``) and the best fit is kept. :func:`cp_per_arm`
decomposes each treatment arm separately and aligns the arms' class labels through a view whose law does not
depend on the treatment.

Seeds: every function takes ``seed`` as an int, a :class:`numpy.random.Generator` (whose state is advanced)
or None (fresh entropy); every random choice derives from it, never from a global RNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import scipy.linalg
import tensorly as tl
from scipy.optimize import linear_sum_assignment
from tensorly.cp_tensor import CPTensor
from tensorly.decomposition import parafac

__all__ = ["CPSolution", "cp_mixture", "cp_per_arm", "align_columns"]

# Negative factor entries down to -CLIP_TOL are rounding noise around a true zero: set them to zero silently.
CLIP_TOL = 1e-9
# The weights of an exact fit to a normalised table sum to 1; a gap beyond sampling noise means the table is not
# close to rank k.
WEIGHT_TOTAL_TOL = 1e-2
# Above this, the arms disagree about the stitch view's columns: its law may depend on T, or noise dominates.
STITCH_WARN = 0.05
# A relative residual this small is an exact fit up to rounding: later restarts are skipped.
EXACT_FIT = 1e-13
# Random contraction vectors tried by Jennrich; the one with the best separated eigenvalues is used.
JENNRICH_CANDIDATES = 8


@dataclass(frozen=True, eq=False)  # eq=False: element-wise array comparison would make == raise
class CPSolution:
    """A k-class mixture of three categorical views.

    Attributes
    ----------
    weights : numpy.ndarray
        Shape (k,): the class probabilities, summing to 1.
    factors : tuple of numpy.ndarray
        Three matrices of shapes (d_0, k), (d_1, k), (d_2, k); column u of factor i is P(view_i | U = u)
        and sums to 1.
    diagnostics : dict
        ``fit_error`` (max abs residual of the reconstructed probability tensor), ``relative_residual``
        (Frobenius residual over the tensor's norm), ``restarts``, ``best_restart``, ``init`` (of the best
        restart: "jennrich" or "random"), ``iterations`` and ``converged`` (its ALS run), ``restart_residuals``,
        ``min_weight``, ``weight_total`` (sum of the weights before their normalisation), ``min_factor_entry``,
        ``jennrich_views`` (the two views used, or None), ``total`` (the input's sum: the sample size for
        counts). :func:`cp_per_arm` adds ``arm``, ``arm_prob`` and ``stitch``.
    warnings : tuple of str
        Numerical problems worth a look (negative entries, weights off the simplex, a poor stitch).
    """

    weights: np.ndarray
    factors: tuple[np.ndarray, ...]
    diagnostics: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def k(self) -> int:
        """The number of classes."""
        return int(self.weights.shape[0])

    def reconstruct(self) -> np.ndarray:
        """The probability tensor sum_u w_u A[:, u] (x) B[:, u] (x) C[:, u].

        Examples
        --------
        >>> s = CPSolution(np.array([1.0]), (np.array([[0.5], [0.5]]),) * 3)
        >>> float(s.reconstruct().sum())
        1.0
        """
        A, B, C = self.factors
        return np.einsum("u,au,bu,cu->abc", self.weights, A, B, C)


def _check_seed(seed: int | np.random.Generator | None) -> np.random.Generator:
    if seed is not None and not isinstance(seed, (int, np.integer, np.random.Generator)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")
    return np.random.default_rng(seed)


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_tensor(tensor: object) -> tuple[np.ndarray, float]:
    """The tensor as floats scaled to sum 1, and its original total."""
    try:
        T = np.asarray(tensor, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tensor must be a numeric array: {exc}") from None
    if T.ndim != 3:
        raise ValueError(f"tensor must be 3-way (one axis per view), got shape {T.shape}")
    if T.size == 0:
        raise ValueError(f"tensor is empty (shape {T.shape})")
    if not np.all(np.isfinite(T)):
        raise ValueError("tensor has non-finite entries (NaN or inf)")
    if T.min() < 0:
        raise ValueError(f"tensor has negative entries (min = {T.min():.3g}); expected probabilities or counts")
    total = float(T.sum())
    if total <= 0:
        raise ValueError("tensor sums to zero: no probability mass to decompose")
    return T / total, total


def _jennrich(T: np.ndarray, k: int, rng: np.random.Generator) -> tuple[CPTensor, tuple[int, int]] | None:
    """Simultaneous diagonalisation: exact CP factors of an exact rank-k tensor, a good start for a noisy one.

    Needs two views a, b with at least k states (their factors of full column rank k) and no two classes with
    proportional columns in the third view c. Returns None when no two views are large enough.
    """
    dims = T.shape
    big = [m for m in range(3) if dims[m] >= k]
    if len(big) < 2:
        return None
    # The two largest views carry the most information about the eigenvectors.
    a, b = sorted(sorted(big, key=lambda m: -dims[m])[:2])
    c = 3 - a - b
    Tp = np.transpose(T, (a, b, c))
    # Project views a and b onto their k-dimensional column spaces, so the slices become invertible k x k.
    Ua = scipy.linalg.svd(tl.unfold(Tp, 0), full_matrices=False)[0][:, :k]
    Ub = scipy.linalg.svd(tl.unfold(Tp, 1), full_matrices=False)[0][:, :k]
    S = np.einsum("ak,abc,bl->klc", Ua, Tp, Ub)
    # Contracting the third view with ones gives A' diag(w) B'^T (its columns sum to 1): well conditioned.
    Mw = S.sum(axis=2)
    try:
        Mw_inv = np.linalg.inv(Mw)
    except np.linalg.LinAlgError:
        return None
    best = None
    for _ in range(JENNRICH_CANDIDATES):
        x = rng.standard_normal(dims[c])
        # N = A' diag(C^T x) A'^-1: its eigenvectors are the columns of A' whatever the weights.
        vals, vecs = np.linalg.eig(S @ x @ Mw_inv)
        # Eigenvector accuracy degrades as 1 / (smallest eigenvalue gap): keep the best separated contraction.
        gap = min((abs(p - q) for p, q in combinations(vals, 2)), default=1.0) / np.linalg.norm(x)
        if best is None or gap > best[0]:
            best = (gap, vecs)
    A = Ua @ np.real(best[1])
    # Given A, row u of pinv(A) T_(0) is w_u vec(b_u c_u^T): a rank-one matrix per class.
    G = np.linalg.pinv(A) @ tl.unfold(Tp, 0)
    B = np.empty((dims[b], k))
    C = np.empty((dims[c], k))
    for u in range(k):
        U, s, Vt = np.linalg.svd(G[u].reshape(dims[b], dims[c]))
        B[:, u] = s[0] * U[:, 0]
        C[:, u] = Vt[0]
    factors = [None, None, None]
    factors[a], factors[b], factors[c] = A, B, C
    return CPTensor((np.ones(k), factors)), (a, b)


def _rank_one_pencil(T: np.ndarray, k: int, rng: np.random.Generator) -> tuple[CPTensor, tuple[int]] | None:
    """Algebraic start when only one view, C, has at least k states (e.g. 3 x 3 x 4 with k = 4).

    With C of full column rank, the slice combination M(z) = sum_c z_c T[:, :, c] is rank one exactly when z
    annihilates all but one class's column of C: z = z_u gives w_u a_u b_u^T. Rank one means every 2 x 2
    minor vanishes: C(d_a, 2) C(d_b, 2) quadratic equations in z. Linearised in the symmetric matrix z z^T,
    their solution space is spanned by the z_u z_u^T (De Lathauwer 2006, given at least k(k-1)/2 independent
    minors), and two random combinations of it are diagonalised together by the z_u, as in Jennrich's method.
    Returns None when no view has k states or there are too few minors.
    """
    dims = T.shape
    big = [m for m in range(3) if dims[m] >= k]
    if not big:
        return None
    c = max(big, key=lambda m: dims[m])
    a, b = (m for m in range(3) if m != c)
    da, db = dims[a], dims[b]
    pairs_a, pairs_b = list(combinations(range(da), 2)), list(combinations(range(db), 2))
    n_sym = k * (k + 1) // 2
    if len(pairs_a) * len(pairs_b) < n_sym - k or k < 2:
        return None
    Tp = np.transpose(T, (a, b, c))
    Uc = scipy.linalg.svd(tl.unfold(Tp, 2), full_matrices=False)[0][:, :k]
    S = np.einsum("abc,cr->rab", Tp, Uc)  # S[r] = sum_c Uc[c, r] T[:, :, c]
    ia, ia2 = np.array(pairs_a).T
    jb, jb2 = np.array(pairs_b).T
    # Coefficient of z_r z_s in the minor (i, i'; j, j'): S_r[i, j] S_s[i', j'] - S_r[i, j'] S_s[i', j].
    X11 = S[:, ia][:, :, jb]
    X22 = S[:, ia2][:, :, jb2]
    X12 = S[:, ia][:, :, jb2]
    X21 = S[:, ia2][:, :, jb]
    Q = np.einsum("rij,sij->ijrs", X11, X22) - np.einsum("rij,sij->ijrs", X12, X21)
    Q = (Q + np.swapaxes(Q, 2, 3)).reshape(-1, k, k)
    iu = np.triu_indices(k)
    # Unknowns y_rs = z_r z_s (r <= s): off-diagonal coefficients appear twice in the symmetrised form.
    L = Q[:, iu[0], iu[1]] * np.where(iu[0] == iu[1], 0.5, 1.0)
    Vt = scipy.linalg.svd(L, full_matrices=True)[2]
    kernel = Vt[-k:]  # approximate null space under noise: the k smallest singular directions
    Ks = np.zeros((k, k, k))
    Ks[:, iu[0], iu[1]] = kernel
    Ks = Ks + np.swapaxes(Ks, 1, 2) - Ks * np.eye(k)
    try:
        Kb_inv = np.linalg.inv(np.einsum("i,irs->rs", rng.standard_normal(k), Ks))
    except np.linalg.LinAlgError:
        return None
    Z = np.real(np.linalg.eig(np.einsum("i,irs->rs", rng.standard_normal(k), Ks) @ Kb_inv)[1])
    A = np.empty((da, k))
    B = np.empty((db, k))
    for u in range(k):
        U, sv, Vt_u = np.linalg.svd(np.einsum("r,rab->ab", Z[:, u], S))
        A[:, u], B[:, u] = U[:, 0], Vt_u[0]
    # Given a_u and b_u, the third view's factor (weights included) is a linear least-squares fit.
    design = np.einsum("au,bu->abu", A, B).reshape(da * db, k)
    C = np.linalg.lstsq(design, Tp.reshape(da * db, dims[c]), rcond=None)[0].T
    factors = [None, None, None]
    factors[a], factors[b], factors[c] = A, B, C
    return CPTensor((np.ones(k), factors)), (c,)


INIT_NAMES = {_jennrich: "jennrich", _rank_one_pencil: "rank_one_pencil"}


def _als(T: np.ndarray, k: int, init: CPTensor | str, random_state: int | None, tol: float,
         max_iter: int) -> tuple[CPTensor, int, str]:
    """tensorly ALS with a stopping rule on the exact residual; returns the fit, iterations and a status.

    tensorly's own error uses ||T||^2 - 2<T, X> + ||X||^2, which cancels to noise of order sqrt(eps) near an
    exact fit, so its tol test can neither see 1e-12 progress nor stop reliably; the callback measures the
    residual directly and stops when its change drops below ``tol``. Status: "converged", "max_iter", or
    "singular" (a component collapsed and the normal equations became singular: the last iterate is kept).
    """
    norm = np.linalg.norm(T)
    state = {"prev": None, "calls": 0, "converged": False, "last": None}

    def stop(cp: CPTensor, _err: float) -> bool:
        state["calls"] += 1
        # tensorly rebinds (never mutates) its factor matrices, so a shallow copy keeps this iterate.
        state["last"] = CPTensor((cp.weights, list(cp.factors)))
        res = np.linalg.norm(np.einsum("u,au,bu,cu->abc", cp.weights, *cp.factors) - T) / norm
        prev, state["prev"] = state["prev"], res
        if prev is not None and abs(prev - res) <= tol:
            state["converged"] = True
            return True  # tensorly stops only on the literal True
        return False

    try:
        # tol=0 turns tensorly's own test off; return_errors makes it still compute the error passed to the callback.
        # Bro's line search cuts the iterations of ALS three- to fourfold on noisy tables.
        parafac(T, k, n_iter_max=max_iter, init=init, normalize_factors=False, tol=0, random_state=random_state,
                callback=stop, return_errors=True, linesearch=True)
        status = "converged" if state["converged"] else "max_iter"
    except np.linalg.LinAlgError:
        status = "singular"
    # The first callback call sees the initial factors, before any iteration.
    return state["last"], max(state["calls"] - 1, 0), status


def _normalise(weights: np.ndarray, factors: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], list[str],
                                                                          float]:
    """Columns summing to 1 (scale and sign into the weights), weights on the simplex, sorted by weight."""
    warnings = []
    w = np.array(weights, dtype=float)
    F = [np.array(f, dtype=float) for f in factors]
    for m, f in enumerate(F):
        for u in range(f.shape[1]):
            s = f[:, u].sum()
            # Dividing by the sum also fixes the sign: an all-negative column becomes non-negative.
            if abs(s) <= 1e-12 * max(np.abs(f[:, u]).sum(), 1e-300):
                warnings.append(f"view {m}, class {u}: the factor column sums to about zero and cannot be scaled "
                                "to a probability vector")
                continue
            f[:, u] /= s
            w[u] *= s
        tiny = (f < 0) & (f >= -CLIP_TOL)
        if tiny.any():
            # Rounding around a true zero: clip, and rescale the column sums back to 1.
            f[tiny] = 0.0
            sums = f.sum(axis=0)
            w *= sums
            f /= sums
    lowest = min(float(f.min()) for f in F)
    if lowest < 0:
        warnings.append(f"factor entries below zero (min = {lowest:.3g}): the rank-{len(w)} fit leaves the "
                        "probability simplex; the data may be noisy or the model misspecified")
    total = float(w.sum())
    if abs(total - 1) > WEIGHT_TOTAL_TOL:
        warnings.append(f"class weights sum to 1 {total - 1:+.3g} before normalisation (exactly 1 for an exact "
                        f"rank-{len(w)} fit): the table is not exactly a {len(w)}-class mixture (sampling noise or "
                        "misspecification)")
    if (w < 0).any():
        warnings.append(f"negative class weight (min = {w.min():.3g}): not a mixture of {len(w)} classes")
    if total != 0:
        w = w / total
    # A canonical label order (heaviest class first) makes repeated fits comparable.
    order = np.argsort(-w, kind="stable")
    return w[order], [f[:, order] for f in F], warnings, total


def cp_mixture(tensor: np.ndarray, k: int, *, restarts: int = 5, seed: int | np.random.Generator | None = None,
               tol: float = 1e-12, max_iter: int = 2000) -> CPSolution:
    """Recover a k-class mixture of three conditionally independent categorical views from their joint table.

    The first restart starts from an algebraic solution, exact on a population tensor: Jennrich's simultaneous
    diagonalisation when two views have at least k states, else (one view with at least k states) the
    rank-one pencil of De Lathauwer; the next restart uses the other one if it also applies, and the others
    start from seeded random factors. Each start is refined by alternating least squares with line search
    (``tensorly.decomposition.parafac``); the fit with the smallest residual is kept, its columns scaled to
    probability vectors and its weights to the simplex, classes sorted by decreasing weight. Restarts stop
    early once a fit reproduces the tensor to rounding (relative residual <= 1e-13).

    Parameters
    ----------
    tensor : array_like, shape (d_0, d_1, d_2)
        Non-negative joint probabilities P(view_0, view_1, view_2), or counts (normalised by their total).
    k : int
        Number of latent classes (may exceed a view's number of states).
    restarts : int
        Number of starts (>= 1).
    seed : int, numpy.random.Generator or None
        Source of every random choice (the algebraic starts' random contractions, the random starts); one
        integer per restart is drawn from it. A Generator is advanced; the same int gives the same result.
    tol : float
        ALS stops when the relative Frobenius residual changes by at most ``tol`` in an iteration.
    max_iter : int
        Maximum ALS iterations per restart.

    Returns
    -------
    CPSolution
        Weights, factors, diagnostics (``fit_error``: max abs residual on the probability scale) and warnings.

    Raises
    ------
    ValueError
        If the tensor is not 3-way, has negative or non-finite entries or sums to zero, or an argument is
        out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> w = np.array([0.3, 0.7])
    >>> A, B, C = (rng.dirichlet(np.ones(d), size=2).T for d in (2, 3, 3))
    >>> P = np.einsum("u,au,bu,cu->abc", w, A, B, C)
    >>> sol = cp_mixture(P, 2, seed=1)
    >>> np.round(sol.weights, 10).tolist()
    [0.7, 0.3]
    >>> bool(np.allclose(sol.factors[0], A[:, ::-1], atol=1e-10))
    True
    >>> sol.diagnostics["fit_error"] < 1e-12
    True
    """
    T, total = _check_tensor(tensor)
    k = _check_positive_int("k", k)
    restarts = _check_positive_int("restarts", restarts)
    max_iter = _check_positive_int("max_iter", max_iter)
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite non-negative number, got {tol!r}")
    rng = _check_seed(seed)

    # Algebraic starts first (exact on a population tensor), then seeded random ones.
    algebraic = [_jennrich, _rank_one_pencil]
    runs = []
    for _ in range(restarts):
        # One integer per restart, drawn in order, so the result depends only on the seed.
        sub_seed = int(rng.integers(2**32 - 1))
        start = None
        while start is None and algebraic:
            method = algebraic.pop(0)
            start = method(T, k, np.random.default_rng(sub_seed))
        if start is not None:
            init, kind, views = start[0], INIT_NAMES[method], start[1]
        else:
            init, kind, views = "random", "random", None
        cp, iterations, status = _als(T, k, init, sub_seed, tol, max_iter)
        residual = np.inf if cp is None else float(np.linalg.norm(tl.cp_to_tensor(cp) - T) / np.linalg.norm(T))
        if not np.isfinite(residual):
            residual = np.inf
        runs.append({"cp": cp, "init": kind, "views": views, "iterations": iterations, "status": status,
                     "residual": residual})
        if residual <= EXACT_FIT:
            break  # the tensor is reproduced to rounding: no restart can do better
    # Restarts that reach the same optimum differ by rounding: prefer the earliest (the algebraic start).
    lowest = min(x["residual"] for x in runs)
    best = next(r for r, x in enumerate(runs) if x["residual"] <= lowest * (1 + 1e-9) + 1e-15)
    run = runs[best]
    if run["cp"] is None:
        raise RuntimeError("every CP restart failed before its first iteration")  # not reachable with valid input
    weights, factors, warnings, weight_total = _normalise(run["cp"].weights, list(run["cp"].factors))
    fit = np.einsum("u,au,bu,cu->abc", weights, *factors)
    if not np.isfinite(run["residual"]):
        warnings.append("no restart produced a finite fit: the estimates are not usable")
    elif run["status"] == "max_iter":
        warnings.append(f"ALS did not converge in {max_iter} iterations (best restart {best}): the classes may "
                        "be poorly separated or k too large for these views")
    elif run["status"] == "singular":
        warnings.append(f"ALS stopped on a singular system (best restart {best}): a class collapsed; k may be "
                        "too large for these data")
    diagnostics = {
        "fit_error": float(np.max(np.abs(fit - T))),
        "relative_residual": run["residual"],
        "restarts": len(runs),
        "best_restart": best,
        "init": run["init"],
        "iterations": run["iterations"],
        "converged": run["status"] == "converged",
        "status": run["status"],
        "restart_residuals": [x["residual"] for x in runs],
        "min_weight": float(weights.min()),
        "weight_total": weight_total,
        "min_factor_entry": float(min(f.min() for f in factors)),
        "init_views": run["views"],
        "total": total,
    }
    return CPSolution(weights, tuple(factors), diagnostics, tuple(warnings))


def align_columns(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The column permutation of ``other`` that best matches ``reference`` (Hungarian, L1 distances).

    Parameters
    ----------
    reference, other : array_like, shape (d, k)
        Matrices whose columns are labelled by classes (e.g. P(view | U) from two fits).

    Returns
    -------
    numpy.ndarray
        Integer array ``perm`` of length k minimising sum_u ||reference[:, u] - other[:, perm[u]]||_1, so
        ``other[:, perm]`` is aligned with ``reference``.

    Examples
    --------
    >>> ref = np.array([[0.9, 0.2, 0.5], [0.1, 0.8, 0.5]])
    >>> align_columns(ref, ref[:, [2, 0, 1]]).tolist()
    [1, 2, 0]
    """
    R = np.asarray(reference, dtype=float)
    M = np.asarray(other, dtype=float)
    if R.ndim != 2 or R.shape != M.shape:
        raise ValueError(f"align_columns needs two matrices of the same shape, got {R.shape} and {M.shape}")
    cost = np.abs(R[:, :, None] - M[:, None, :]).sum(axis=0)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(R.shape[1], dtype=int)
    perm[rows] = cols
    return perm


def cp_per_arm(tensors_by_arm: Sequence | Mapping, arm_probs: Sequence | Mapping | np.ndarray, k: int,
               stitch_view: int, *, restarts: int = 5, seed: int | np.random.Generator | None = None,
               tol: float = 1e-12, max_iter: int = 2000) -> tuple[np.ndarray, list[CPSolution]]:
    """Per-arm CP decompositions stitched across treatment arms; the pooled class weights.

    Within arm t the three views are conditionally independent given U, so P(view_0, view_1, view_2 | T=t) is
    a k-class mixture with weights P(U | t) (:func:`cp_mixture`). Each arm labels its classes arbitrarily;
    the labels are matched to the first arm's through the factor of ``stitch_view``, a view whose law
    P(view | U) does not depend on T, so its columns must agree across arms.

    Parameters
    ----------
    tensors_by_arm : sequence or mapping of array_like
        ``tensors_by_arm[t]`` is the 3-way table P(view_0, view_1, view_2 | T=t) (or counts) of arm t.
    arm_probs : sequence, mapping or array_like
        ``arm_probs[t]`` = P(T=t), same keys or order; normalised by their total.
    k : int
        Number of latent classes.
    stitch_view : {0, 1, 2}
        Position of the view whose class-conditional law is the same in every arm.
    restarts, tol, max_iter
        As in :func:`cp_mixture`, for each arm.
    seed : int, numpy.random.Generator or None
        Source of every random choice; each arm gets its own seed drawn from it in order.

    Returns
    -------
    weights : numpy.ndarray
        Shape (k,): pooled class weights P(u) = sum_t P(t) P(u | t), in the first arm's label order.
    solutions : list of CPSolution
        One per arm, in the arms' order, with classes aligned to the first arm. Each diagnostics dict gains
        ``arm``, ``arm_prob`` and ``stitch``: ``view``, ``reference_arm``, ``permutation`` (applied to the
        arm's own fit), ``mismatch`` (max abs difference between this arm's stitch columns and the reference
        arm's), ``max_mismatch`` (over all arms) and ``separation`` (smallest L1 distance between two classes'
        stitch columns in the reference arm: labels are matched reliably only when it is well above the
        mismatch). A mismatch above 0.05 adds a warning.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.array([[0.8, 0.3], [0.2, 0.7]])                # P(X | U), the same in both arms
    >>> Z = [np.array([[0.9, 0.4], [0.1, 0.6]]), np.array([[0.6, 0.1], [0.4, 0.9]])]
    >>> Y = [np.array([[0.7, 0.2], [0.3, 0.8]]), np.array([[0.5, 0.1], [0.5, 0.9]])]
    >>> w = [np.array([0.4, 0.6]), np.array([0.7, 0.3])]     # P(U | t)
    >>> tables = [np.einsum("u,au,bu,cu->abc", w[t], Z[t], X, Y[t]) for t in (0, 1)]
    >>> pooled, sols = cp_per_arm(tables, [0.5, 0.5], 2, stitch_view=1, seed=0)
    >>> sorted(np.round(pooled, 10).tolist())
    [0.45, 0.55]
    >>> sols[1].diagnostics["stitch"]["mismatch"] < 1e-10
    True
    """
    keys = list(tensors_by_arm.keys()) if isinstance(tensors_by_arm, Mapping) else list(range(len(tensors_by_arm)))
    if not keys:
        raise ValueError("tensors_by_arm is empty: need at least one treatment arm")
    try:
        probs = np.array([arm_probs[t] for t in keys], dtype=float)
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"arm_probs must give a probability for every arm {keys}: {exc}") from None
    if len(arm_probs) != len(keys):
        raise ValueError(f"arm_probs has {len(arm_probs)} entries for {len(keys)} arms")
    if not np.all(np.isfinite(probs)) or (probs < 0).any() or probs.sum() <= 0:
        raise ValueError(f"arm_probs must be finite, non-negative and not all zero, got {probs.tolist()}")
    probs = probs / probs.sum()
    if isinstance(stitch_view, bool) or stitch_view not in (0, 1, 2):
        raise ValueError(f"stitch_view must be 0, 1 or 2, got {stitch_view!r}")
    k = _check_positive_int("k", k)
    rng = _check_seed(seed)

    raw = []
    for t in keys:
        try:
            raw.append(cp_mixture(tensors_by_arm[t], k, restarts=restarts, seed=int(rng.integers(2**63 - 1)),
                                  tol=tol, max_iter=max_iter))
        except ValueError as exc:
            raise ValueError(f"arm {t!r}: {exc}") from None

    ref = raw[0].factors[stitch_view]
    perms = [align_columns(ref, s.factors[stitch_view]) for s in raw]
    mismatches = [float(np.max(np.abs(ref - s.factors[stitch_view][:, p]))) for s, p in zip(raw, perms)]
    separation = min((float(np.abs(ref[:, u] - ref[:, v]).sum()) for u, v in combinations(range(k), 2)),
                     default=float("inf"))
    solutions = []
    for t, s, p, mis, prob in zip(keys, raw, perms, mismatches, probs):
        warnings = list(s.warnings)
        if mis > STITCH_WARN:
            warnings.append(f"stitch view {stitch_view}: arm {t!r} differs from arm {keys[0]!r} by up to {mis:.3g} "
                            "after alignment; its law may depend on the treatment, or the fits are noisy")
        if len(keys) > 1 and separation <= 2 * max(mismatches):
            warnings.append(f"stitch view {stitch_view} barely separates the classes (smallest L1 distance "
                            f"{separation:.3g} vs mismatch {max(mismatches):.3g}): the labels may be mismatched")
        diagnostics = dict(s.diagnostics)
        diagnostics.update({"arm": t, "arm_prob": float(prob),
                            "stitch": {"view": stitch_view, "reference_arm": keys[0], "permutation": p.tolist(),
                                       "mismatch": mis, "max_mismatch": max(mismatches), "separation": separation}})
        diagnostics["min_weight"] = float(s.weights.min())
        solutions.append(CPSolution(s.weights[p], tuple(f[:, p] for f in s.factors), diagnostics, tuple(warnings)))
    pooled = np.sum([prob * s.weights for prob, s in zip(probs, solutions)], axis=0)
    return pooled, solutions
