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
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from mixid.identify.model import LAST
from scipy.stats import chi2
from threadpoolctl import threadpool_limits

from .inference import causal_quantities, pattern_scores, weight_gradients
from .model import Likelihood, _Compiled
from .optimise import MLEFit, _canonical

#: Parameters of two maxima that differ by less than this (classes matched) are the same mode.
SAME_MODE = 1e-4
#: The searches for an interval's ends stop when a step changes the end by less than this.
PRECISION = 1e-6
#: Iterations of one search for an interval's end.
MAX_ITER = 100
#: Seconds the searches of one fit may take; entries left when they run out get no interval.
PROFILE_SECONDS = 20.0


def _cached(values):
    """``values`` remembering its last point (SLSQP asks for the value and the gradient at the same point)."""
    last = {}

    def call(theta):
        key = theta.tobytes()
        if key not in last:
            last.clear()
            last[key] = values(theta)
        return last[key]
    return call


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
    modes = [Mode(best, fit.loglik, 0.0)]
    if fit.states is None or fit.weighted:  # a pseudo-likelihood (sampling weights) has no likelihood-ratio gap
        return modes
    gap = chi2.ppf(level, 1) / 2
    for s in np.argsort(-fit.start_lliks):
        ll = float(fit.start_lliks[s])
        if not fit.loglik - ll <= gap:
            break
        x = matched(lik, best, _canonical(lik, fit.states[s]))
        if all(np.abs(x - m.state).max() > SAME_MODE for m in modes):
            modes.append(Mode(x, ll, fit.loglik - ll))
    return modes


def quantity_map(lik: Likelihood, order: np.ndarray):
    """The function point -> (values, gradients) of ``Estimate.vector()``'s entries, classes in ``order`` (the
    report's order at the best maximum): ATE, E[Y(0)], E[Y(1)], weights, effects (or only the weights)."""
    design = lik.design
    if design.causal:
        def values(point):
            v, g = causal_quantities(design, point)
            vals = np.concatenate([v["ate"], v["po"], v["weights"][order], v["effects"][order]])
            grads = np.concatenate([g["ate"], g["po"], g["weights"][order], g["effects"][order]])
            return vals, grads
        return values
    pi_grads = weight_gradients(lik.model)

    def weights(point):
        pi, _ = lik.from_point(point)
        d = lik.model.n_params
        return (np.concatenate([np.full(3, np.nan), pi[order]]),
                np.concatenate([np.zeros((3, d)), pi_grads[order]]))
    return weights


class _Region:
    """The likelihood on the free parameters, with its score, for the constrained searches (one cache entry)."""

    def __init__(self, lik: Likelihood, data: _Compiled):
        self.lik, self.data = lik, data
        self._key, self._value = None, None
        rows = [row for table in lik._rows() for row in table if (row == LAST).any()]
        self.last = np.zeros((len(rows), lik.model.n_params))  # last category = 1 - last @ theta >= 0
        for i, r in enumerate(rows):
            self.last[i, r[r >= 0]] = 1.0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        key = theta.tobytes()
        if key != self._key:
            x = np.clip(self.lik.state_of(theta), 1e-15, 1.0)  # a search step may graze the simplex's faces
            post, ll = self.lik.posterior(x[None, :], self.data)
            score = pattern_scores(self.lik, x, self.data, post[0]).T @ self.data.counts
            self._key, self._value = key, (float(ll[0]), score)
        return self._value


def profile_intervals(fit: MLEFit, values, which: list[int], modes: list[Mode], level: float = 0.95,
                      max_seconds: float = PROFILE_SECONDS) -> tuple[list[list[float] | None], list[str]]:
    """Profile-likelihood intervals of the entries ``which`` of ``values`` (a :func:`quantity_map`): the smallest
    and the largest value over the likelihood region, searched from the best maximum. Every other mode lies in the
    region, so the interval is widened to hold its value. Returns the intervals (None where a search did not
    converge, or for the entries left when ``max_seconds`` ran out) and a note per failure.

    The searches run in coordinates whitened by the information at the best maximum (theta = theta_0 + L z with
    L L' the inverse information, each direction's scale capped at 1, the width of a probability), where the
    likelihood region is close to a ball of radius sqrt(q): a well-conditioned problem for SLSQP.
    """
    lik = fit.likelihood
    region = _Region(lik, fit.data)
    floor = fit.loglik - chi2.ppf(level, 1) / 2
    d = lik.model.n_params
    info = fit.information if fit.information is not None else np.eye(d)
    w, V = np.linalg.eigh((info + info.T) / 2)
    L = V * np.minimum(1.0 / np.sqrt(np.maximum(w, 1e-300)), 1.0)
    values = _cached(values)
    starts = [lik.point_of(m.state) for m in modes]

    def search(theta0: np.ndarray, j: int, sign: float, maxiter: int):
        """The most extreme value of entry j (smallest for sign 1, largest for -1) reached in the region from
        theta0, and whether the search converged (None when it ended outside the region)."""
        def at(z):
            return np.clip(theta0 + L @ z, 0.0, 1.0)

        box = np.concatenate([L, -L, -region.last @ L])  # theta >= 0, theta <= 1, last categories >= 0
        edge = np.concatenate([theta0, 1.0 - theta0, 1.0 - region.last @ theta0])
        constraints = [{"type": "ineq", "fun": lambda z: region(at(z))[0] - floor,
                        "jac": lambda z: region(at(z))[1] @ L},
                       {"type": "ineq", "fun": lambda z: edge + box @ z, "jac": lambda z: box}]
        # Scaled so that the Lagrangian's Hessian is near the identity (SLSQP's first guess) and started at the
        # quadratic model's end (the Wald end in these coordinates): a few steps refine it.
        slope = values(theta0)[1][j] @ L
        norm = float(np.linalg.norm(slope))
        scale = np.sqrt(2 * (region(theta0)[0] - floor)) / norm if norm > 0 else 1.0
        z0 = -sign * scale * slope if norm > 0 else np.zeros(d)
        z0 *= min(1.0, 1.0 / max(1e-300, float(np.max(-(box @ z0) / np.maximum(edge, 1e-12)))))  # inside the box
        res = scipy.optimize.minimize(lambda z: sign * scale * values(at(z))[0][j], z0,
                                      jac=lambda z: sign * scale * values(at(z))[1][j] @ L, method="SLSQP",
                                      constraints=constraints, options={"maxiter": maxiter, "ftol": PRECISION * scale})
        theta = at(res.x)
        inside = region(theta)[0] >= floor - 1e-3 and (region.last @ theta <= 1 + 1e-8).all()
        return (values(theta)[0][j] if inside else None), bool(inside and res.status == 0), res.message

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
                value, converged, message = search(starts[0], j, sign, MAX_ITER)
                ok &= converged
                if not converged:
                    notes.append(f"entry {j}: {message}")
                if value is not None:
                    found.append(value)
            out.append([float(min(found)), float(max(found))] if ok else None)
    return out, notes
