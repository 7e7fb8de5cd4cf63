"""The bootstrap of a maximum-likelihood fit: every replicate at once, warm-started, classes matched.

A replicate draws the counts of the observed response patterns from a multinomial (n rows, the observed
shares), so it lives on the same patterns as the fit: one compiled pattern set serves every replicate, and the
replicates climb together as one batch of accelerated EM, each from the estimate (a warm start: no search over
starts, no profile intervals; the estimate's basin is the one whose spread the bootstrap measures). Class labels
are arbitrary, so each replicate's classes are matched to the estimate's by the Hungarian algorithm on the class
tables before its quantities are read off.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .inference import causal_quantities
from .model import Likelihood, _Compiled
from .optimise import MLEFit

#: Accelerated EM cycles a replicate may take from the warm start, in rounds of ``ROUND`` on the replicates
#: that have not converged (each climbs with its own counts: a batch whose counts have shape (B, patterns)).
MAX_CYCLES = 2000
ROUND = 25
#: Convergence of a replicate: a cycle raises its log-likelihood by less than this.
TOL = 1e-7
#: A warm start's probabilities are moved at least this far inside the simplex, so that a replicate can leave
#: a face the estimate sits on (EM never moves an entry that is exactly 0).
INSIDE = 1e-6


def class_profiles(lik: Likelihood, x: np.ndarray) -> np.ndarray:
    """One row per class: its weight and every entry of its response tables (for matching classes)."""
    pi, tables = lik.unpack(x[None, :])
    return np.concatenate([pi[0][:, None]] + [t[0].reshape(lik.k, -1) for t in tables], axis=1)


def permute_classes(lik: Likelihood, x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """The state with class ``perm[u]`` relabelled ``u``."""
    pi, tables = lik.unpack(x[None, :])
    return np.concatenate([pi[0][perm]] + [t[0][perm].ravel() for t in tables])


def match_classes(lik: Likelihood, reference: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x`` with its classes relabelled to the ``reference`` state's: the assignment that minimises the summed
    squared differences of the class tables (Hungarian algorithm).

    Examples
    --------
    >>> from mixid.identify import Design
    >>> from mixid.estimate.likelihood import likelihood
    >>> lik = likelihood(Design.latent_class(list("ABC"), classes=2))
    >>> x = lik.random_states(np.random.default_rng(0), 1)[0]
    >>> swapped = permute_classes(lik, x, np.array([1, 0]))
    >>> bool(np.allclose(match_classes(lik, x, swapped), x))
    True
    """
    return permute_classes(lik, x, match_order(class_profiles(lik, reference), class_profiles(lik, x)))


def match_order(reference: np.ndarray, profiles: np.ndarray) -> np.ndarray:
    """The permutation ``perm`` of the classes of ``profiles`` (one row per class) that brings them closest to
    ``reference``'s (summed squared differences; Hungarian algorithm): class ``perm[u]`` is relabelled ``u``.

    Examples
    --------
    >>> match_order(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0.7, 0.3], [0.2, 0.8]]))
    array([1, 0])
    """
    cost = ((reference[:, None, :] - profiles[None, :, :]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    return cols


def replicate_vectors(fit: MLEFit, order: np.ndarray, B: int, rng: np.random.Generator, progress=None
                      ) -> tuple[np.ndarray, int, np.ndarray]:
    """``B`` bootstrap replicates of ``Estimate.vector()`` (the ATE, E[Y(0)], E[Y(1)], weights, effects; NaN
    where the design has no such quantity), classes in the estimate's report ``order``; how many replicates
    did not converge (kept: EM only ever raises the likelihood, so they are short of their maximum, not wrong);
    and each replicate's free parameters (rows; classes matched to the estimate's; NaN rows where the vector is).
    ``progress("bootstrap", done, B)`` counts the replicates that have finished climbing, after each round.
    """
    lik, design = fit.likelihood, fit.design
    counts = np.asarray(fit.patterns.counts, float)
    n = int(round(counts.sum()))
    draws = rng.multinomial(n, counts / counts.sum(), size=B).astype(float)
    base = fit.data if fit.data is not None else _Compiled.build(lik, fit.patterns)
    reference = lik.state_of(fit.point)
    start = lik.normalise(np.maximum(reference, INSIDE)[None, :])
    X, ll = np.repeat(start, B, axis=0), np.full(B, -np.inf)
    converged = np.zeros(B, dtype=bool)
    todo = np.arange(B)
    done = 0
    if progress is not None:
        progress("bootstrap", 0, B)
    for _ in range(MAX_CYCLES // ROUND):  # rounds on the replicates still climbing: a slow one holds up no other
        part = _Compiled(base.flat, base.onehot, base.klass, draws[todo], base.absent)
        X[todo], ll[todo], converged[todo] = lik.squarem(X[todo], part, tol=TOL, max_iter=ROUND)
        todo = todo[~converged[todo] & np.isfinite(ll[todo])]
        if progress is not None and B - len(todo) > done:
            done = B - len(todo)
            progress("bootstrap", done, B)
        if not len(todo):
            break
    if progress is not None and done < B:  # the replicates stopped by the cycle cap are finished too
        progress("bootstrap", B, B)
    width = 3 + lik.k * (2 if design.causal else 1)
    out = np.full((B, width), np.nan)
    points = np.full((B, len(fit.point)), np.nan)
    for b in range(B):
        if not np.isfinite(ll[b]):
            continue
        x = match_classes(lik, reference, X[b])
        points[b] = lik.point_of(x)
        if design.causal:
            vals, _ = causal_quantities(design, lik.point_of(x))
            out[b] = np.concatenate([vals["ate"], vals["po"], vals["weights"][order], vals["effects"][order]])
        else:
            out[b, 3:] = lik.unpack(x[None, :])[0][0][order]
    return out, int((~converged & np.isfinite(ll)).sum()), points
