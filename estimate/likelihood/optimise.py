"""The optimiser: starts (constructive and random, in batches), accelerated EM, then Newton on the best.

Starts run in batches until the best log-likelihood is replicated (reached by ``REPLICATIONS`` starts within
``SAME_MAX`` relative) or ``max_starts`` / the time budget is spent: a maximum reached once is one the next seed
may miss. Newton (saddle-free, with the exact Hessian of the multilinear model where it is cheap, else Fisher
scoring with the expected information) finishes the starts that may share the best maximum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from mixid.identify import Design
from mixid.identify.errors import DataError

from ..data import Patterns
from .inference import (
    causal_quantities,
    empirical_information,
    expected_information,
    face_delta,
    pattern_scores,
    sandwich_delta,
)
from .model import LIVE, TOL, Likelihood, _Compiled

#: Starts whose maximised log-likelihoods differ by less than this reached the same maximum.
SAME_MAX = 1e-6
#: Accelerated EM cycles of the batch of starts before Newton takes over (small dense tables).
EM_CYCLES = 40
#: Starts within this of the best log-likelihood after the EM phase are finished by Newton.
CANDIDATE_GAP = 5.0
#: Runs of starts stop when this many reach the best log-likelihood (the best maximum is then replicated).
REPLICATIONS = 3
#: Default cap on the number of starts, and on the seconds spent on them, before the best is replicated.
MAX_STARTS = 200
START_SECONDS = 60.0
#: Dense cell tables up to this many entries (cells x parameters) give the expected information exactly.
MAX_JACOBIAN_ENTRIES = 20_000_000
#: A table larger than this, with more than SPARSE_RATIO cells per observed pattern, is fitted on the observed
#: patterns alone (EM to the tolerance, the empirical information): Newton and the expected information would
#: evaluate the model on every cell, most of which no row reaches (12 binary items: 4,096 cells, <= n patterns).
SMALL_TABLE = 1024
SPARSE_RATIO = 2


def newton(lik: Likelihood, x: np.ndarray, cells: np.ndarray, tol: float = TOL, max_steps: int = 40
           ) -> tuple[np.ndarray, float, bool]:
    """Fisher scoring from one state, with the expected information of identify's Jacobian.

    ``cells`` are the counts of every cell of the model's table (flattened). Probabilities on the boundary
    (below ``BOUNDARY``) are held at zero (an active set: a maximum on a face of the simplex is a maximum of
    the remaining parameters); a step is halved until the log-likelihood rises; directions the information
    does not see (a rank-deficient Jacobian) are left alone by the least-squares solve.
    Returns (state, loglik, converged).
    """
    point = lik.point_of(x)
    n = cells.sum()
    seen = cells > 0

    def loglik(pt):
        p = lik.cell_probs(pt)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(cells[seen] * np.log(p[seen]))) if (p[seen] > 0).all() else -np.inf

    factors = len(lik.names) + 1  # the exact Hessian costs one product per pair of factors
    newton = (not lik.observed_u
              and factors * (factors - 1) / 2 * len(lik.model._cells) * lik.k * lik.model.n_params ** 2 < 5e7)

    def derivatives(pt):
        """Score and the curvature of the step: the observed information (Newton) where it is positive
        definite on the face, else the expected information (Fisher scoring)."""
        p, J = lik.evaluate(pt)
        live = p > LIVE
        score = J[live].T @ (cells[live] / p[live])
        expected = n * (J[live].T / p[live]) @ J[live]
        if not newton:
            return score, expected, None
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(live, cells / p, 0.0)
        observed = (J[live].T * (cells[live] / p[live] ** 2)) @ J[live] - lik.weighted_hessian(pt, w)
        return score, expected, observed

    ll = loglik(point)
    for _ in range(max_steps):
        score, info, observed = derivatives(point)
        basis, at_zero = lik._face_basis(point, score)
        zeroed = lik._zero_entries(point, at_zero)
        if at_zero.any() and not np.array_equal(zeroed, point):  # held entries are set to zero exactly
            ll_z = loglik(zeroed)
            if not ll_z > ll - 1e-3:  # an entry a seen cell needs: keep the entries free instead
                basis, at_zero = lik._face_basis(point, score, hold=False)
            else:
                point, ll = zeroed, ll_z
                score, info, observed = derivatives(point)
        if not (np.isfinite(info).all() and np.isfinite(score).all()):
            return lik.state_of(point), ll, False
        g = basis.T @ score
        if observed is not None:
            # saddle-free Newton: the observed information with its eigenvalues taken in absolute value,
            # so that a direction of negative curvature is climbed instead of descended
            w, V = np.linalg.eigh(basis.T @ observed @ basis)
            w = np.abs(w)
            if not np.isfinite(w).all():
                return lik.state_of(point), ll, False
            w = np.maximum(w, 1e-12 * max(w.max(initial=0.0), 1e-300))
            reduced = V @ ((V.T @ g) / w)
        else:
            reduced_info = basis.T @ info @ basis
            scale = np.sqrt(np.maximum(np.diag(reduced_info), 1e-300))  # Jacobi scaling: a near-zero entry's
            try:  # huge curvature must not swamp the weakly informed directions in the rank cut-off
                reduced = np.linalg.lstsq(reduced_info / np.outer(scale, scale), g / scale, rcond=1e-12)[0] / scale
            except np.linalg.LinAlgError:
                return lik.state_of(point), ll, False
        step = basis @ reduced
        # ratio test: the longest step (at most 1) before a free entry reaches zero; that entry is then
        # held from the next step on, so a blocked step never counts as convergence
        now = lik._entries(point)
        move = lik._entries(point + step) - now
        block = (move < 0) & ~at_zero & (now > 0)
        h_max = min(1.0, float(np.min(-now[block] / move[block]))) if block.any() else 1.0
        h = h_max
        for _ in range(40):
            cand = lik._project(point + h * step)
            ll_c = loglik(cand)
            if ll_c >= ll - 1e-12 * abs(ll):
                break
            h /= 2
        else:
            return lik.state_of(point), ll, bool(np.abs(step).max() < 1e-8)
        gain = ll_c - ll
        point, ll = cand, ll_c
        if gain < tol and h >= 0.25 and h_max == 1.0:
            return lik.state_of(point), ll, True
    return lik.state_of(point), ll, False


# ------------------------------------------------------------------------------------ the fit
@dataclass
class MLEFit:
    """A maximised likelihood: the point (classes in canonical order), fit statistics and the information."""

    likelihood: Likelihood
    point: np.ndarray
    loglik: float
    n: float
    starts: int
    starts_at_best: int
    converged: bool
    cell_probs: np.ndarray | None  # of the observed patterns
    patterns: Patterns
    information: np.ndarray | None = None
    information_kind: str = "expected"
    face: np.ndarray | None = None  # directions that keep boundary probabilities at 0 (columns), None: all
    start_lliks: np.ndarray = field(default_factory=lambda: np.zeros(0))
    warnings: list[str] = field(default_factory=list)
    replicated: bool = False  # the best log-likelihood reached by REPLICATIONS starts
    states: np.ndarray | None = None  # every start's maximum (flat states), aligned with start_lliks
    data: _Compiled | None = None  # the patterns compiled for this likelihood
    # sampling weights: sum over patterns of (sum of squared weights) score score^T, the sandwich's middle
    meat: np.ndarray | None = None

    @property
    def weighted(self) -> bool:
        """Whether the likelihood is a pseudo-likelihood of weighted rows (sampling weights)."""
        return self.patterns.weighted

    @property
    def design(self) -> Design:
        return self.likelihood.design

    def statistics(self) -> dict:
        """poLCA's fit statistics: log-likelihood, parameters, AIC, BIC, G^2, X^2 and residual df."""
        d = self.likelihood.model.n_params
        n = self.n
        counts = self.patterns.counts
        if (self.patterns.codes < 0).any() or self.weighted:
            # missing answers: the table's goodness of fit is not defined; sampling weights: G^2 and X^2 of
            # weighted counts have no chi-square reference (a pseudo-likelihood), and the criteria use the
            # weights rescaled to sum to the rows (as Mplus does), so that they do not depend on the weights' scale
            ll = float(self.loglik)
            rows = float(self.patterns.row_counts.sum())
            ll_ic = ll * rows / n if self.weighted else ll
            return {"loglik": ll, "n_parameters": int(d), "aic": float(-2 * ll_ic + 2 * d),
                    "bic": float(-2 * ll_ic + d * np.log(rows)), "g2": None, "x2": None, "df": None,
                    "starts": int(self.starts), "starts_at_best": int(self.starts_at_best),
                    "replicated": bool(self.replicated)}
        expected = n * self.cell_probs
        seen = counts > 0
        g2 = 2 * float(np.sum(counts[seen] * np.log(counts[seen] / expected[seen])))
        # Pearson's X^2 over every cell: an empty cell contributes its expected count, so the cells never seen
        # together contribute n minus the expected counts of the seen ones (no enumeration of the table)
        live = expected > 0
        x2 = float(np.sum((counts[live] - expected[live]) ** 2 / expected[live]) + max(n - expected.sum(), 0.0))
        cells = math.prod(self.likelihood.dims)
        return {"loglik": float(self.loglik), "n_parameters": int(d), "aic": float(-2 * self.loglik + 2 * d),
                "bic": float(-2 * self.loglik + d * np.log(n)), "g2": g2, "x2": x2,
                "df": int(min(n, cells - 1) - d), "starts": int(self.starts),
                "starts_at_best": int(self.starts_at_best), "replicated": bool(self.replicated)}

    def delta(self, gradients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors of quantities with these gradients (rows), and whether the information sees each:
        from the inverse information, or with sampling weights the sandwich (see :func:`sandwich_delta`)."""
        if self.meat is not None:
            return sandwich_delta(self.information, self.meat, self.face, gradients)
        return face_delta(self.information, self.face, gradients)

    def posterior(self, columns: Sequence[np.ndarray]) -> np.ndarray:
        """P(U = u | row) for validated integer columns (in the model's cell order): shape (rows, k)."""
        lik = self.likelihood
        patterns = Patterns(np.stack([np.asarray(c, np.int64) for c in columns], axis=1),
                            np.ones(len(columns[0])), lik.dims)
        data = _Compiled.build(lik, patterns)
        return lik.posterior(lik.state_of(self.point)[None, :], data)[0][0].T



def _canonical(lik: Likelihood, x: np.ndarray) -> np.ndarray:
    """Relabel the classes of a state: by class effect when the design has an outcome, else by weight (desc)."""
    if lik.observed_u:  # the classes are data: their labels are not ours to permute
        return x
    pi, tables = lik.tables_of(x)
    design = lik.design
    if design.causal:
        vals, _ = causal_quantities(design, lik.to_point(pi, tables))
        order = np.lexsort((-pi, vals["effects"]))
    else:
        order = np.argsort(-pi, kind="stable")
    return lik.pack(pi[order], [t[:, order] for t in tables])


def maximise(lik: Likelihood, patterns: Patterns, starts: int = 10, seed=None, initial: Sequence[np.ndarray] = (),
             progress=None, information: bool = True, max_starts: int | None = None,
             max_seconds: float = START_SECONDS) -> MLEFit:
    """Maximise the likelihood from ``initial`` points (free parameters) plus random starts, in batches.

    The first batch holds the initial points and ``starts`` random ones; further batches of ``starts`` random
    starts follow until the best log-likelihood is reached by ``REPLICATIONS`` starts (within ``SAME_MAX``
    relative), ``max_starts`` starts have run (default: ``MAX_STARTS``, or the first batch when it is larger), or
    ``max_seconds`` have passed. ``fit.replicated`` says whether
    the best was replicated. A batch runs short SQUAREM-accelerated EM, then Newton on the starts within
    ``CANDIDATE_GAP`` of the best (exact information from identify's Jacobian when the table is small enough,
    else EM to the tolerance). With ``starts=0`` only the initial points are climbed (a warm start, as in the
    bootstrap): no batches follow.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> from mixid.estimate.data import Patterns
    >>> from mixid.estimate.likelihood import likelihood
    >>> from mixid.estimate.simulate import simulate
    >>> d = Design.latent_class(list("ABCD"), classes=2)
    >>> frame, _ = simulate(d, 2000, seed=0)
    >>> fit = maximise(likelihood(d), Patterns.from_columns([frame[c].to_numpy() for c in "ABCD"], (2,) * 4),
    ...                starts=5, seed=0)
    >>> fit.replicated, fit.starts_at_best >= REPLICATIONS
    (True, True)
    """
    from ..simulate import as_generator

    if max_starts is None:
        max_starts = max(MAX_STARTS, len(initial) + starts)
    elif isinstance(max_starts, bool) or not isinstance(max_starts, (int, np.integer)) or max_starts < 1:
        raise DataError(f"max_starts must be a positive integer, got {max_starts!r}")
    clock = time.perf_counter()
    rng = as_generator(seed)
    given, scale = patterns, 1.0
    if patterns.weighted and patterns.counts.sum() > 0:
        # sampling weights: climb with the weights rescaled to sum to the rows, so that the tolerances (absolute in
        # log-likelihood) mean what they mean without weights whatever the weights' scale; the maximum is the same
        scale = float(patterns.row_counts.sum()) / float(patterns.counts.sum())
        patterns = Patterns(patterns.codes, patterns.counts * scale, patterns.dims, squares=patterns.squares * scale**2,
                            rows=patterns.rows)
    data = _Compiled.build(lik, patterns)
    # missing answers (FIML) leave the table: EM on the patterns, and the empirical information
    dense = (math.prod(lik.dims) * lik.model.n_params <= MAX_JACOBIAN_ENTRIES
             and math.prod(lik.dims) <= max(SMALL_TABLE, SPARSE_RATIO * len(patterns.codes))
             and not (patterns.codes < 0).any())
    cells = None
    if dense:
        cells = np.zeros(int(np.prod(lik.dims)))
        np.add.at(cells, np.ravel_multi_index(patterns.codes.T, lik.dims), data.counts)
    X0 = [_interior(lik, lik.state_of(np.asarray(p, float))) for p in initial]
    warm = starts == 0
    first = max(0, min(starts, max_starts - len(X0))) if X0 else max(1, min(starts, max_starts))
    batch = np.concatenate([np.array(X0).reshape(len(X0), -1), lik.random_states(rng, first)]) if X0 else \
        lik.random_states(rng, first)
    X, ll, conv = _climb(lik, batch, data, cells, warm, -np.inf, progress)
    stop = "warm start"
    if not warm:
        X, ll, conv, stop = more_starts(
            lambda size, best: _climb(lik, lik.random_states(rng, size), data, cells, False, best, progress),
            X, ll, conv, starts, max_starts, max_seconds, clock)
    total = len(X)
    best = int(np.argmax(ll))
    at_best = _at_best(ll, ll[best])
    x = _canonical(lik, X[best])
    _, ll_best = lik.posterior(x[None, :], data)
    fit = MLEFit(lik, lik.point_of(x), float(ll_best[0]) / scale, float(data.counts.sum()) / scale, total,
                 int(at_best.sum()), bool(conv[best]), None, given, start_lliks=ll / scale,
                 replicated=stop == "replicated", states=X, data=data)
    fit.cell_probs = np.exp(lik.log_joint(x[None, :], data)[0]).sum(axis=0)
    if not warm and stop != "replicated":
        fit.warnings.append(unreplicated(int(at_best.sum()), total, stop))
    others = [X[s] for s in np.flatnonzero(at_best) if s != best]
    gaps = [_class_gap(lik, o, x) for o in others]
    if gaps and max(gaps) > 1e-3:
        fit.warnings.append(f"starts reach the same log-likelihood with different class parameters (largest "
                            f"difference {max(gaps):.3g}): a numerical hint that the model is not identifiable")
    if not fit.converged:
        fit.warnings.append("the best start did not converge to the tolerance "
                            f"({TOL:g} in log-likelihood); the estimate may be off")
    if not information:
        fit.information = None
    elif dense:
        fit.information = expected_information(lik, fit.point, float(data.counts.sum()))
        p, J = lik.evaluate(fit.point)
        live = p > LIVE
        fit.face, _ = lik._face_basis(fit.point, J[live].T @ (cells[live] / p[live]))
    else:
        fit.information, fit.information_kind = empirical_information(lik, x, data), "empirical"
    if information and patterns.weighted and fit.information is not None:
        scores = pattern_scores(lik, x, data)
        fit.meat = (scores.T * patterns.squares) @ scores
        fit.information_kind += " (sandwich)"
    return fit


def more_starts(climb, X: np.ndarray, ll: np.ndarray, conv: np.ndarray, starts: int, max_starts: int,
                max_seconds: float, clock: float, progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """The replication rule shared by the likelihoods: batches of ``starts`` random starts (``climb(size, best)``
    draws and climbs one) after the states ``X`` (log-likelihoods ``ll``, converged flags ``conv``) until
    ``REPLICATIONS`` starts reach the best, ``max_starts`` have run or ``max_seconds`` have passed since ``clock``.
    Returns every start's state, log-likelihood and flag, and why the runs stopped ("replicated" or the limit)."""
    while True:
        best = ll.max()
        if _at_best(ll, best).sum() >= REPLICATIONS:
            return X, ll, conv, "replicated"
        if len(X) >= max_starts:
            return X, ll, conv, f"max_starts ({max_starts})"
        if time.perf_counter() - clock > max_seconds:
            return X, ll, conv, f"the time budget ({max_seconds:g} s)"
        Xb, llb, convb = climb(min(max(starts, 1), max_starts - len(X)), best)
        X, ll, conv = np.concatenate([X, Xb]), np.concatenate([ll, llb]), np.concatenate([conv, convb])
        if progress is not None:
            progress("starts", len(X), max_starts)


def unreplicated(at_best: int, total: int, stop: str) -> str:
    """The warning of a best maximum that too few starts reached before a limit stopped the runs."""
    return (f"the best log-likelihood was reached by only {at_best} of {total} starts (runs stop when "
            f"{REPLICATIONS} reach it; {stop} ran out first): another seed may find a higher maximum; raise "
            "max_starts to make it more certain")


def _at_best(ll: np.ndarray, best: float) -> np.ndarray:
    """The starts whose log-likelihood is the best one's within ``SAME_MAX`` relative."""
    return np.abs(ll - best) <= SAME_MAX * max(abs(best), 1.0)


def _climb(lik: Likelihood, X: np.ndarray, data: _Compiled, cells: np.ndarray | None, warm: bool, best: float,
           progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch of starts to their maxima: (states, log-likelihoods, converged flags).

    Short accelerated EM, then the starts within ``CANDIDATE_GAP`` of the best (of this batch or ``best``, the
    best so far) are finished: by Newton when ``cells`` (the dense table) is given, else by EM to the tolerance.
    The others sit on lower local maxima. A warm batch goes to Newton at once.
    """
    total = len(X)
    dense = cells is not None
    if warm and dense:
        ll, conv = np.full(total, -np.inf), np.zeros(total, dtype=bool)
    else:
        X, ll, conv = lik.squarem(X, data, tol=1e-6 if dense else TOL, max_iter=EM_CYCLES)
    top = max(best, ll.max())
    if not dense:
        live = np.flatnonzero((ll >= top - CANDIDATE_GAP) & ~conv)
        if len(live):
            X[live], ll[live], conv[live] = lik.squarem(X[live], data, tol=TOL, max_iter=5000)
        return X, ll, conv
    if progress is not None:
        progress("starts", 0, total)
    candidates = np.arange(total) if warm else np.flatnonzero(ll >= top - CANDIDATE_GAP)
    for i, s in enumerate(candidates):
        x_s, ll_s, ok = newton(lik, X[s], cells)
        for _ in range(3):  # a boundary maximum or a flat ridge: accelerated EM, then Newton again
            if ok:
                break
            x_s, _, _ = lik.squarem(x_s[None, :], data, tol=TOL, max_iter=300)
            x_s, ll_s, ok = newton(lik, x_s[0], cells)
        X[s], ll[s], conv[s] = x_s, ll_s, ok
        if progress is not None:
            progress("starts", total - len(candidates) + i + 1, total)
    return X, ll, conv


def _class_gap(lik: Likelihood, a: np.ndarray, b: np.ndarray) -> float:
    """Largest parameter difference between two states after matching their classes (labels are arbitrary:
    equal class effects leave the canonical order to rounding)."""
    from scipy.optimize import linear_sum_assignment

    def per_class(x):
        pi, tables = lik.tables_of(x)
        return np.concatenate([pi[:, None]] + [np.moveaxis(t, 1, 0).reshape(lik.k, -1) for t in tables], axis=1)

    A, B = per_class(a), per_class(b)
    cost = np.abs(A[:, None, :] - B[None, :, :]).max(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


def _interior(lik: Likelihood, x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """A start moved inside the simplex (moment estimators can land on or outside its faces)."""
    x = np.where(np.isfinite(x), x, 0.5)
    return lik.normalise(np.clip(x, eps, 1.0)[None, :])[0]


