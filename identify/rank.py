"""Exact generic ranks with re-checkable certificates.

A rank is never computed on symbolic entries. The matrix is evaluated at a point with integer coordinates and
reduced modulo a prime p (python-flint ``nmod_mat``):

* a nonzero r x r minor at one point proves generic rank >= r over Q (rank mod p <= rank over Q at that integer
  point <= generic rank). The **witness** is the point, the prime and the minor's row and column indices;
* an upper bound comes only from a dimension count or a structural factorisation (stated by the caller);
* otherwise "the rank is r" is **probabilistic**: a nonzero polynomial of degree D vanishes at a uniform point of
  F_p^d with probability at most D / (p - 1) (Schwartz-Zippel); with t independent points the bound is
  (D / (p - 1))^t. One knob, ``error``, sets t.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

import flint
import numpy as np

PRIME = 2_147_483_647  # 2^31 - 1: products of two residues fit in int64, so numpy evaluates exactly
DEFAULT_ERROR = 1e-9
MAX_KRUSKAL_SUBSETS = 20_000  # column subsets a Kruskal rank may enumerate at one size


@dataclass(frozen=True)
class Witness:
    """A nonzero minor of a matrix evaluated at ``point`` modulo ``prime``."""

    point: tuple[int, ...]
    prime: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    marginals: tuple[tuple[str, ...], ...] | None = None  # the matrix is the stack of these marginals' Jacobians

    @property
    def size(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict:
        out = {"point": list(self.point), "prime": self.prime, "minor_rows": list(self.rows),
               "minor_cols": list(self.cols), "minor_size": self.size}
        if self.marginals is not None:
            out["marginals"] = [list(m) for m in self.marginals]
        return out


@dataclass(frozen=True)
class RankResult:
    """Rank of a matrix family: the best rank seen, its witness, and the probabilistic bound."""

    rank: int
    witness: Witness
    points: int
    degree_bound: int
    upper_bound: int | None = None
    upper_reason: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """True when the witness meets a deterministic upper bound: the generic rank is proved."""
        return self.upper_bound is not None and self.rank >= self.upper_bound

    @property
    def error_bound(self) -> float:
        """Probability that the true generic rank exceeds :attr:`rank` (0 when exact)."""
        if self.exact:
            return 0.0
        return min(1.0, (self.degree_bound / (self.witness.prime - 1)) ** self.points)


def to_nmod(matrix: np.ndarray, prime: int = PRIME) -> flint.nmod_mat:
    """An integer numpy matrix as a flint matrix over F_p."""
    rows, cols = matrix.shape
    return flint.nmod_mat(rows, cols, [int(x) for x in matrix.ravel()], prime)


def rank_mod(matrix: np.ndarray, prime: int = PRIME) -> int:
    """Rank over F_p of an integer matrix."""
    if matrix.size == 0:
        return 0
    return to_nmod(np.asarray(matrix) % prime, prime).rank()


def _pivots(m: flint.nmod_mat, rank: int) -> list[int]:
    """Pivot columns of a reduced row echelon form."""
    out = []
    for i in range(rank):
        for j in range(m.ncols()):
            if int(m[i, j]) != 0:
                out.append(j)
                break
    return out


def nonzero_minor(matrix: np.ndarray, prime: int = PRIME) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Row and column indices of a nonzero maximal minor (mod p) of an integer matrix."""
    matrix = np.asarray(matrix) % prime
    if matrix.size == 0:
        return (), ()
    rref, rank = to_nmod(matrix, prime).rref()
    cols = _pivots(rref, rank)
    sub = matrix[:, cols].T
    rref_t, rank_t = to_nmod(sub, prime).rref()
    rows = _pivots(rref_t, rank_t)
    return tuple(rows), tuple(cols)


def det_mod(matrix: np.ndarray, prime: int = PRIME) -> int:
    """Determinant over F_p of a square integer matrix."""
    if matrix.size == 0:
        return 1
    return int(to_nmod(np.asarray(matrix) % prime, prime).det())


def points_needed(degree: int, error: float = DEFAULT_ERROR, prime: int = PRIME) -> int:
    """How many independent random points push (degree / (p-1))^t below ``error``."""
    if not 0 < error < 1:
        raise ValueError(f"error must be in (0, 1), got {error}")
    per = max(degree, 1) / (prime - 1)
    if per >= 1:
        raise ValueError(f"degree {degree} is too large for prime {prime}")
    return max(1, math.ceil(math.log(error) / math.log(per)))


def generic_rank(
    evaluate: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]],
    degree: int,
    *,
    error: float = DEFAULT_ERROR,
    seed: int | np.random.Generator | None = 0,
    upper_bound: int | None = None,
    upper_reason: str | None = None,
    prime: int = PRIME,
) -> RankResult:
    """Generic rank of a polynomial matrix family, from evaluations at random points mod ``prime``.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(rng) -> (point, matrix)`` draws a point and returns the matrix there (int64 residues).
    degree : int
        An upper bound on the degree of the entries; a minor of size r has degree at most ``r * degree``.
    error : float
        The one correctness knob: the probability bound of a probabilistic verdict.
    upper_bound, upper_reason : int, str
        A deterministic upper bound on the generic rank (dimension count, factorisation) and why.

    Examples
    --------
    >>> import numpy as np
    >>> def ev(rng):
    ...     x = rng.integers(1, PRIME, size=2)
    ...     return x, np.array([[x[0], x[1]], [2 * x[0] % PRIME, 2 * x[1] % PRIME]])
    >>> r = generic_rank(ev, degree=1, upper_bound=2)
    >>> r.rank, r.exact
    (1, False)
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    best, best_witness, t = -1, None, 0
    needed = 1
    while t < needed:
        point, matrix = evaluate(rng)
        rows, cols = nonzero_minor(matrix, prime)
        t += 1
        if len(rows) > best:
            best = len(rows)
            best_witness = Witness(tuple(int(x) for x in point), prime, rows, cols)
        full = min(matrix.shape) if upper_bound is None else min(upper_bound, *matrix.shape)
        if best >= full:
            break  # a deterministic bound is met: no more points needed
        needed = points_needed(max(1, best + 1) * degree, error, prime)
    return RankResult(best, best_witness, t, max(1, best + 1) * degree,
                      None if upper_bound is None else min(upper_bound, *matrix.shape),
                      upper_reason)


def kruskal_rank(matrix: np.ndarray, prime: int = PRIME) -> tuple[int, list[dict]]:
    """Kruskal rank over F_p of an integer matrix: the largest r with every r columns independent.

    Returns the rank and, for every column subset of that size, the rows of a nonzero minor (the witness). Sizes
    with more than MAX_KRUSKAL_SUBSETS column subsets are not tried (with many classes they number up to 2^k), so
    the answer is then a certified lower bound, which is all Kruskal's sufficient condition needs.
    """
    matrix = np.asarray(matrix) % prime
    n = matrix.shape[1]
    for r in range(min(matrix.shape), 0, -1):
        if math.comb(n, r) > MAX_KRUSKAL_SUBSETS:
            continue
        minors = []
        for cols in combinations(range(n), r):
            rows, _ = nonzero_minor(matrix[:, cols], prime)
            if len(rows) < r:
                break
            minors.append({"cols": list(cols), "rows": list(rows)})
        else:
            return r, minors
    return 0, []
