"""Local modes near the best maximum, and profile-likelihood intervals over all of them.

A likelihood-ratio interval of level 1 - a for a quantity g(theta) holds every value psi that the test of
g = psi does not reject: max_{g(theta) = psi} l(theta) >= l_hat - q / 2, q the chi-square(1) quantile. That set is
the image under g of the likelihood region {theta : l(theta) >= l_hat - q / 2}, so its ends are the smallest and
the largest g over the region: each end is one constrained maximisation (SLSQP on the free parameters, the
likelihood on the observed patterns, warm-started at a mode). Every mode within q / 2 of the best lies in the
region, so the search starts from each of them (classes matched to the best by the Hungarian method on their
tables) and the interval is the hull of what they reach: it holds every value not rejected, and it never leaves
the parameter space (the search stays on the simplex).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from mixid.identify.model import LAST
from mixid.identify.polymap import remember_last
from scipy.stats import chi2
from threadpoolctl import threadpool_limits

from .inference import causal_quantities, total_score, weight_gradients
from .model import Likelihood, _Compiled
from .optimise import MLEFit, _canonical

#: Parameters of two maxima that differ by less than this (classes matched) are the same mode.
SAME_MODE = 1e-4
#: The searches for an interval's ends stop when a step changes the end by less than this.
PRECISION = 1e-6
#: Iterations of one search for an interval's end (a weakly separated class's long, curved region needs a few
#: hundred; a well-separated one converges in tens).
MAX_ITER = 400
#: Seconds the searches of one fit may take; entries left when they run out get no interval.
PROFILE_SECONDS = 20.0
#: Points spread along a positive-dimensional fibre of the estimate from which the profile ends are searched too.
FIBRE_STARTS = 3


@dataclass
class Mode:
    """A local maximum within the likelihood-ratio distance of the best: its state, classes matched to the best."""

    state: np.ndarray
    loglik: float
    delta: float


def per_class(lik: Likelihood, x: np.ndarray) -> np.ndarray:
    """Each class's weight and tables as one row, shape (k, ...), for matching classes between maxima."""
    pi, tables = lik.tables_of(x)
    return np.concatenate([pi[:, None]] + [np.moveaxis(t, 1, 0).reshape(lik.k, -1) for t in tables], axis=1)


def matched(lik: Likelihood, reference: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x`` with its classes relabelled to match ``reference`` (Hungarian method on the tables' distance)."""
    if lik.observed_u:
        return x
    A, B = per_class(lik, reference), per_class(lik, x)
    cost = np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2)
    _, order = scipy.optimize.linear_sum_assignment(cost)
    pi, tables = lik.tables_of(x)
    return lik.pack(pi[order], [t[:, order] for t in tables])


def find_modes(fit: MLEFit, level: float = 0.95) -> list[Mode]:
    """The distinct local maxima the starts reached within chi2_1(level) / 2 of the best (1.92 at 0.95), best
    first, classes matched to the best.

    Examples
    --------
    >>> from mixid import Design, datasets, fit
    >>> r = fit(Design.latent_class(list("ABCDEFG"), classes=2), datasets.load("carcinoma"), seed=0)
    >>> [round(m.delta, 6) for m in find_modes(r.estimate.extra["mle"])]
    [0.0]
    """
    lik = fit.likelihood
    best = lik.state_of(fit.point)
    if fit.states is None or fit.weighted:  # a pseudo-likelihood (sampling weights) has no likelihood-ratio gap
        return [Mode(best, fit.loglik, 0.0)]
    return distinct_modes(best, fit.loglik, fit.states, fit.start_lliks,
                          lambda x: matched(lik, best, _canonical(lik, x)), level)


def distinct_modes(best: np.ndarray, loglik: float, states, lliks, relabel, level: float = 0.95,
                   same=None) -> list[Mode]:
    """The distinct maxima among the starts' ``states`` (with log-likelihoods ``lliks``) within chi2_1(level) / 2
    of the best (``best``, ``loglik``), best first; ``relabel(state)`` matches a state's classes to the best's.
    ``same(a, b)``: whether two states are one maximum (default: no parameter differs by more than
    ``SAME_MODE``).

    Examples
    --------
    >>> ms = distinct_modes(np.zeros(2), 0.0, [np.zeros(2), np.ones(2), 3 * np.ones(2)], [0.0, -1.0, -5.0],
    ...                     lambda x: x)
    >>> [m.delta for m in ms]
    [0.0, 1.0]
    """
    if same is None:
        def same(a, b):
            return np.abs(a - b).max() <= SAME_MODE
    modes = [Mode(best, loglik, 0.0)]
    gap = chi2.ppf(level, 1) / 2
    lliks = np.asarray(lliks, float)
    for s in np.argsort(-lliks):
        ll = float(lliks[s])
        if not loglik - ll <= gap:
            break
        x = relabel(states[s])
        if not any(same(x, m.state) for m in modes):
            modes.append(Mode(x, ll, loglik - ll))
    return modes


def quantity_map(lik: Likelihood, order: np.ndarray):
    """The function point -> (values, gradients) of ``Estimate.vector()``'s entries, classes in ``order`` (the
    report's order at the best maximum): ATE, E[Y(0)], E[Y(1)], weights, effects (or only the weights)."""
    design = lik.design
    if design.causal:
        return lambda point: causal_vector(design, point, order)
    pi_grads = weight_gradients(lik.model)

    def weights(point):
        pi, _ = lik.from_point(point)
        d = lik.model.n_params
        return (np.concatenate([np.full(3, np.nan), pi[order]]),
                np.concatenate([np.zeros((3, d)), pi_grads[order]]))
    return weights


def causal_vector(design, point: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Estimate.vector()``'s entries of a causal design at a point of its moment model, classes in ``order``:
    (values, gradients in the point's free parameters)."""
    v, g = causal_quantities(design, point)
    vals = np.concatenate([v["ate"], v["po"], v["weights"][order], v["effects"][order]])
    grads = np.concatenate([g["ate"], g["po"], g["weights"][order], g["effects"][order]])
    return vals, grads


class _Region:
    """The likelihood on the free parameters, with its score, for the constrained searches (:func:`region_extremes`
    remembers its value at the last point)."""

    def __init__(self, lik: Likelihood, data: _Compiled):
        self.lik, self.data = lik, data
        rows = [row for table in lik._rows() for row in table if (row == LAST).any()]
        self.last = np.zeros((len(rows), lik.model.n_params))  # last category = 1 - last @ theta >= 0
        for i, r in enumerate(rows):
            self.last[i, r[r >= 0]] = 1.0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        x = np.clip(self.lik.state_of(theta), 1e-15, 1.0)  # a search step may graze the simplex's faces
        post, ll = self.lik.posterior(x[None, :], self.data)
        return float(ll[0]), total_score(self.lik, x, self.data, post[0])


def profile_intervals(fit: MLEFit, values, which: list[int], modes: list[Mode], level: float = 0.95,
                      max_seconds: float = PROFILE_SECONDS, along_fibre: bool = False
                      ) -> tuple[list[list[float] | None], list[str]]:
    """Profile-likelihood intervals of the entries ``which`` of ``values`` (a :func:`quantity_map`): the smallest
    and the largest value over the likelihood region, searched from the best maximum. Every other mode lies in the
    region, so the interval is widened to hold its value. Returns the intervals (None where a search did not
    converge, or for the entries left when ``max_seconds`` ran out) and a note per failure.

    The free parameters of the categorical likelihood are probabilities: each in [0, 1], and every row's implied
    last category (1 minus its siblings) at least 0. See :func:`region_extremes`. ``along_fibre`` (a design whose
    full mixture is not identified: its maxima form a ridge) searches each end from points spread along the
    estimate's fibre too (:func:`fibre_points`).
    """
    lik = fit.likelihood
    region = _Region(lik, fit.data)
    d = lik.model.n_params
    info = fit.information if fit.information is not None else np.eye(d)
    return region_extremes(region, values, which, [lik.point_of(m.state) for m in modes], fit.loglik, info,
                           np.zeros(d), np.ones(d), region.last, np.ones(len(region.last)), level, max_seconds,
                           spread=fibre_points(lik, fit.point, fit.information) if along_fibre else ())


def fibre_points(lik: Likelihood, point: np.ndarray, information: np.ndarray | None,
                 count: int = FIBRE_STARTS) -> list[np.ndarray]:
    """Valid parameter points with the law of ``point`` (so with its likelihood), spread along its fibre by a random
    walk, when the fibre is positive-dimensional there (the information is singular); none otherwise, or for a
    table too large for the fibre engine. Every one is a maximum of the likelihood, and the region's extremes seen
    from one can lie far from those seen from ``point`` (paper-level4, n = 5,000: the ATE's lower end searched from
    the estimate 0.125, from points along its fibre 0.011)."""
    from mixid.identify.fibre.bounds import FibreWalk

    if information is None or lik._fast_map is None:  # (no map: the table is too large for the fibre engine)
        return []
    w = np.linalg.eigvalsh((information + information.T) / 2)
    if w[0] > 1e-9 * max(float(w[-1]), 1e-300):
        return []
    walk = FibreWalk(lik.model, np.asarray(point, float), np.random.default_rng(0), lik._fast_map)
    return [np.asarray(x, float) for x in walk.points(count, thin=10) if np.abs(x - point).max() > 1e-9]


def region_extremes(loglik, values, which: list[int], starts: list[np.ndarray], best: float, information: np.ndarray,
                    lower: np.ndarray, upper: np.ndarray, rows: np.ndarray, limits: np.ndarray, level: float = 0.95,
                    max_seconds: float = PROFILE_SECONDS, fallback=None, spread: Sequence[np.ndarray] = ()
                    ) -> tuple[list[list[float] | None], list[str]]:
    """Likelihood-ratio intervals on any likelihood: for each entry j of ``values(theta) -> (values, gradients)``
    in ``which``, the smallest and the largest value over the region {theta : loglik(theta) >= best - q / 2}
    within the parameter space ``lower <= theta <= upper``, ``rows @ theta <= limits`` (bounds may be infinite).

    ``loglik(theta) -> (log-likelihood, score)``; ``starts``: the modes in the region, the best first (each is a
    point of the region, so the interval holds its value). The searches run in coordinates whitened by
    ``information`` at the best (theta = theta_0 + L z with L L' its inverse, each direction's scale capped at 1),
    where the region is close to a ball of radius sqrt(q): a well-conditioned problem for SLSQP. Returns the
    intervals (None where a search did not converge or ``max_seconds`` ran out) and a note per failure (and per end
    the fallback gave or moved).
    ``fallback(j, sign, end, deadline) -> end or None``, when given, is an estimator's own, more robust profile
    (see :func:`mixid.estimate.md.compile_md`): it confirms or extends each converged end (``end``: its value and
    the point that reached it), finds the ends whose search failed (``end`` None), and stops at ``deadline``; the
    notes then say which ends it gave.
    ``spread``: more points of the region (maxima along a positive-dimensional fibre, :func:`fibre_points`) from
    which each end is searched too; an end found from one of them that stays in the region widens the interval
    (its value is not rejected), one that does not converge is left out.

    Examples
    --------
    >>> ll = lambda t: (float(-0.5 * t @ t), -t)  # a standard normal log-likelihood in two parameters
    >>> ci, _ = region_extremes(ll, lambda t: (t, np.eye(2)), [0], [np.zeros(2)], 0.0, np.eye(2),
    ...                         np.full(2, -np.inf), np.full(2, np.inf), np.zeros((0, 2)), np.zeros(0))
    >>> [round(v, 3) for v in ci[0]]
    [-1.96, 1.96]
    """
    floor = best - chi2.ppf(level, 1) / 2
    d = len(starts[0])
    w, V = np.linalg.eigh((information + information.T) / 2)
    L = V * np.minimum(1.0 / np.sqrt(np.maximum(w, 1e-300)), 1.0)
    values, loglik = remember_last(values), remember_last(loglik)
    low, high = np.isfinite(lower), np.isfinite(upper)

    def search(theta0: np.ndarray, j: int, sign: float, maxiter: int):
        """The most extreme value of entry j (smallest for sign 1, largest for -1) reached in the region from
        theta0, and whether the search converged (None when it ended outside the region)."""
        def at(z):
            return np.clip(theta0 + L @ z, lower, upper)  # a search step may graze the space's faces

        box = np.concatenate([L[low], -L[high], -rows @ L])  # theta >= lower, theta <= upper, rows @ theta <= limits
        edge = np.concatenate([theta0[low] - lower[low], upper[high] - theta0[high], limits - rows @ theta0])
        constraints = [{"type": "ineq", "fun": lambda z: loglik(at(z))[0] - floor,
                        "jac": lambda z: loglik(at(z))[1] @ L},
                       {"type": "ineq", "fun": lambda z: edge + box @ z, "jac": lambda z: box}]
        # Scaled so that the Lagrangian's Hessian is near the identity (SLSQP's first guess) and started at the
        # quadratic model's end (the Wald end in these coordinates): a few steps refine it.
        slope = values(theta0)[1][j] @ L
        norm = float(np.linalg.norm(slope))
        scale = np.sqrt(2 * (loglik(theta0)[0] - floor)) / norm if norm > 0 else 1.0
        z0 = -sign * scale * slope if norm > 0 else np.zeros(d)
        if len(box):  # inside the box
            z0 *= min(1.0, 1.0 / max(1e-300, float(np.max(-(box @ z0) / np.maximum(edge, 1e-12)))))
        res = scipy.optimize.minimize(lambda z: sign * scale * values(at(z))[0][j], z0,
                                      jac=lambda z: sign * scale * values(at(z))[1][j] @ L, method="SLSQP",
                                      constraints=constraints, options={"maxiter": maxiter, "ftol": PRECISION * scale})
        theta = at(res.x)
        inside = loglik(theta)[0] >= floor - 1e-3 and (rows @ theta <= limits + 1e-8).all()
        return (values(theta)[0][j] if inside else None), bool(inside and res.status == 0), res.message, theta

    out: list[list[float] | None] = []
    notes: list[str] = []
    clock = time.perf_counter()
    with threadpool_limits(1):  # SLSQP's small BLAS calls: threads only contend (about 40x slower per step on a
        # loaded machine)
        for j in which:
            if time.perf_counter() - clock > max_seconds:
                out.append(None)
                notes.append(f"entry {j}: the time budget ({max_seconds:g} s) ran out")
                continue
            found = [values(t)[0][j] for t in starts]  # every mode is a point of the region
            ok = True
            for sign in (1.0, -1.0):
                value, converged, message, reached = search(starts[0], j, sign, MAX_ITER)
                if fallback is not None:  # the estimator's own profile confirms the end, or finds it
                    end = fallback(j, sign, (value, reached) if converged else None, clock + max_seconds)
                    if end is None:
                        notes.append(f"entry {j}: {message}; the estimator's own profile found no end (or its "
                                     "time ran out)")
                    elif not converged:
                        notes.append(f"entry {j}: {message}; the estimator's own profile gave the end")
                    elif abs(end - value) > 1e-9 * max(1.0, abs(value)):
                        notes.append(f"entry {j}: the search stopped at {value:.6g}; the estimator's own profile "
                                     f"carried the end on to {end:.6g}")
                    value, converged = end, end is not None
                elif not converged:
                    notes.append(f"entry {j}: {message}")
                ok &= converged
                if value is not None:
                    found.append(value)
                for theta in spread:  # the same search from elsewhere on the fibre: only values in the region
                    if time.perf_counter() - clock > max_seconds:
                        break
                    value, converged, _, _ = search(theta, j, sign, MAX_ITER)
                    if converged:
                        found.append(value)
            out.append([float(min(found)), float(max(found))] if ok else None)
    return out, notes
