"""The numerical engines: monodromy in the space of right-hand sides (square designs) and in the model's own
parameters (overdetermined designs)."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from ..model import Model
from .homotopy import ParameterHomotopy
from .result import STABLE_LOOPS, STARTS_PER_ROUND, Fibre, FibreBudget, relabellings
from .system import FastMap, Orbits, follow, refine, target_values


class Tracker:
    """Continuation of the solutions of R F(x) = z as z moves along a segment (predictor-corrector).

    R is a random complex n x N matrix. Over the hyperplane where the observables sum to one it is invertible
    for a square design (as many independent observables as parameters), so R F(x) = R y* is the fibre itself;
    for an overdetermined design the squared system has further solutions, which are tracked too (the loops
    need them to reach every fibre point) and told apart by the full residual.
    """

    def __init__(self, model: Model, rng: np.random.Generator, deadline: float):
        self.model, self.deadline = model, deadline
        n, N = model.n_params, model.n_observables
        self.R = (rng.normal(size=(n, N)) + 1j * rng.normal(size=(n, N))) / math.sqrt(2 * N)
        self.failures = 0
        self.F = FastMap(model)

    def G(self, x):
        f, J = self.F(x)
        return self.R @ f, self.R @ J

    def _slope(self, x: np.ndarray, dz: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self.G(x)[1], dz)

    def segment(self, x: np.ndarray, za: np.ndarray, zb: np.ndarray) -> np.ndarray | None:
        """Follow one solution from z = za to z = zb: RK4 predictor on dx/ds = J^-1 dz, Newton corrector."""
        dz = zb - za
        return follow(x, lambda y, _: self._slope(y, dz), self.G, lambda s: za + s * dz, self.deadline)

    def loop(self, x: np.ndarray, z: np.ndarray, via: list[np.ndarray]) -> np.ndarray | None:
        for a, b in itertools.pairwise([z, *via, z]):
            x = self.segment(x, a, b)
            if x is None:
                self.failures += 1
                return None
        return x




def count_monodromy(model: Model, targets: tuple[str, ...], seed: int, deadline: float,
                    max_paths: float = math.inf, stable: int = STABLE_LOOPS) -> Fibre:
    """Count the fibre of a random real interior point by monodromy loops (numerical).

    A loop counts as quiet only when every path of it succeeded and none found a new orbit: a failed path may
    have been the one that leads to a missing point, so it never counts towards ``stable``. The count is
    ``complete`` only after ``stable`` quiet loops in a row; a budget that runs out first leaves it a lower bound.
    """
    rng = np.random.default_rng(seed)
    start = time.monotonic()
    base = model.random_point(rng).astype(complex)
    y = model.evaluate(base)[0]
    orbits = Orbits(model, rng)
    tracker = Tracker(model, rng, deadline)
    z = tracker.R @ y
    known = [base]  # every solution of the squared system found, one per orbit
    loops = quiet = paths = 0
    complete = True
    try:
        while quiet < stable:
            scale = float(np.abs(z).max())
            via = [z + scale * (rng.normal(size=z.shape) + 1j * rng.normal(size=z.shape)) for _ in range(2)]
            loops += 1
            failed = new = False
            for x in list(known):
                if paths >= max_paths:
                    raise FibreBudget
                paths += 1
                end = tracker.loop(x, z, via)
                if end is None:
                    failed = True
                elif not any(orbits.same(end, f) for f in known):
                    known.append(end)
                    new = True
            quiet = 0 if failed or new else quiet + 1
    except FibreBudget:
        complete = False
    found = [x for x in (refine(model, x, y) for x in known) if x is not None]
    found = [x for i, x in enumerate(found) if not any(orbits.same(x, f) for f in found[:i])]
    details = {"loops": loops, "stable_loops": quiet, "paths": paths,
               "failed_paths": tracker.failures, "squared_solutions": len(known), "seed": seed}
    return _finish(model, targets, orbits, found, complete, "monodromy", details, start)


def _levenberg_marquardt(F: FastMap, x: np.ndarray, y: np.ndarray, iterations: int = 80) -> np.ndarray | None:
    """Damped Gauss-Newton on F(x) = y in complex arithmetic; None unless the residual vanishes."""
    mu = 1e-2
    f, J = F(x)
    r = f - y
    cost = np.vdot(r, r).real
    for _ in range(iterations):
        A, g = J.conj().T @ J, J.conj().T @ r
        try:
            step = np.linalg.solve(A + mu * np.diag(np.diag(A).real + 1e-12), g)
        except np.linalg.LinAlgError:
            return None
        fn, Jn = F(x - step)
        rn = fn - y
        cn = np.vdot(rn, rn).real
        if cn < cost:
            x, J, r, cost, mu = x - step, Jn, rn, cn, max(mu / 3, 1e-12)
            if cost < 1e-26:
                return x
        else:
            mu *= 4
            if mu > 1e8:
                return None
    return x if cost < 1e-20 else None


class PairedStarts:
    """Random starts at conjugation-symmetric parameter points: a first point for the parameter loops.

    A real law's fibre is closed under complex conjugation, so an orbit is real up to relabelling: each class is
    real or the conjugate of another class. Writing a point with some classes in conjugate pairs (class i = a + ib,
    class j = a - ib) keeps its law real, and Gauss-Newton can then run in the real coordinates (a, b), where it
    converges far more often than in complex ones. So: a base theta_0 with random pairs, a start with (possibly
    other) random pairs, real Levenberg-Marquardt on F(x) = F(theta_0); a point that is not theta_0 relabelled is
    carried to the count's base point by the parameter homotopy. (Five binary items with 5 classes: no complex
    start at a real base point converges to the second point, one in about ten of these does.)
    """

    def __init__(self, model: Model, F: FastMap, orbits: Orbits):
        self.model, self.F, self.orbits = model, F, orbits
        weights = np.asarray(model._pi)
        explicit = [u for u in range(model.k) if weights[u] >= 0]  # classes with their own weight parameter
        self.classes = [] if model.design.latent_observed else explicit
        self.params = {u: [int(weights[u])] + [int(i) for i in orbits.blocks[u]] for u in self.classes}

    def _coordinates(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x = M r for real r: random disjoint class pairs (i, j) with x_i = r_i + i r_j, x_j = r_i - i r_j."""
        n = self.model.n_params
        M = np.eye(n, dtype=complex)
        order = list(rng.permutation(self.classes))
        for _ in range(int(rng.integers(0, len(order) // 2 + 1))):
            i, j = order.pop(), order.pop()
            for a, b in zip(self.params[i], self.params[j]):
                M[[a, b], :] = 0
                M[a, a], M[a, b], M[b, a], M[b, b] = 1, 1j, 1, -1j
        return M, np.abs(M.imag).sum(axis=0) > 0

    def start(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
        """(theta_0, x) with F(x) = F(theta_0), or None when the start did not converge."""
        from scipy.optimize import least_squares

        model, F = self.model, self.F
        M0, im0 = self._coordinates(rng)
        theta0 = M0 @ (model.random_point(rng) + 0.2 * rng.normal(size=model.n_params) * im0)
        y = F(theta0)[0]
        M, im = self._coordinates(rng)

        def residual(r):
            f = F(M @ r)[0] - y
            return np.concatenate([f.real, f.imag])

        def jacobian(r):
            J = F(M @ r)[1] @ M
            return np.vstack([J.real, J.imag])

        r0 = model.random_point(rng) + 0.3 * rng.normal(size=model.n_params) * im
        try:
            fit = least_squares(residual, r0, jac=jacobian, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                max_nfev=250)
        except (np.linalg.LinAlgError, ValueError):
            return None
        if fit.cost > 1e-20:
            return None
        x = refine(model, (M @ fit.x).astype(complex), y)
        return None if x is None else (theta0, x)


def _polished(model: Model, homotopy: ParameterHomotopy, x: np.ndarray | None, y: np.ndarray) -> np.ndarray | None:
    """A tracked endpoint refined on the full system, None (a failed path, counted) unless an isolated fibre point."""
    if x is None:
        return None
    x = refine(model, x, y)
    if x is None:
        homotopy.failures += 1
    return x


def count_parameter_monodromy(model: Model, targets: tuple[str, ...], seed: int, deadline: float,
                              max_paths: float = math.inf, stable: int = STABLE_LOOPS,
                              starts_per_round: int = STARTS_PER_ROUND) -> Fibre:
    """Count the fibre of an overdetermined design by monodromy in its own parameters (numerical).

    Squaring an overdetermined system up (as :func:`count_monodromy` does) adds spurious solutions, often far more
    than the fibre has points. Here the base parameter point theta* itself moves, along closed loops theta* ->
    theta_1 -> theta_2 -> theta* with complex bends (:class:`~.homotopy.ParameterHomotopy`): the law F(theta(t))
    stays in the image of the map, every tracked point stays a true fibre point (Gauss-Newton corrector on the
    full system), and the loops permute the fibre of theta*.

    The loops permute the *other* points among themselves (theta* itself, and its relabellings, ride along the
    loop), so they need a first one, and they never leave the component of the fibre product (the pairs
    (x, theta) with F(x) = F(theta)) that a point is in: a fibre can have points in several components
    (paper-level3's graph with k = 3 and a 4-category X has a valid twin and a third, ill-conditioned point that
    no loop from the twin reaches). So each round also runs random starts until ``starts_per_round`` converge
    while theta*'s orbit is the only one known, one afterwards: complex starts of damped Gauss-Newton on
    F(x) = F(theta*), or :class:`PairedStarts` at conjugation-symmetric points whose new points are carried to
    theta*, whichever has converged more often so far. A round is quiet only when its starts converged, nothing
    new was found and every path (loop or carried start) succeeded; a failed path never counts as quiet. The
    count is ``complete`` after ``stable`` quiet rounds in a row; a budget (``deadline``, or ``max_paths`` starts
    and continued paths together) that runs out first leaves it a lower bound.
    """
    rng = np.random.default_rng(seed)
    start = time.monotonic()
    base = model.random_point(rng).astype(complex)
    F = FastMap(model)
    y = F(base)[0]
    orbits = Orbits(model, rng)
    homotopy = ParameterHomotopy(model, rng, deadline)
    paired = PairedStarts(model, F, orbits)
    known = [base]  # one point per orbit, the base first
    rounds = quiet = paths = starts = loop_paths = carried = 0
    kind_tries, kind_hits = [0, 0], [0, 0]  # complex starts at the base, paired starts
    complete = True

    def spend():
        nonlocal paths
        if paths >= max_paths or time.monotonic() > deadline:
            raise FibreBudget
        paths += 1

    def add(x) -> bool:
        if any(orbits.same(x, f) for f in known):
            return False
        known.append(x)
        return True

    try:
        while quiet < stable:
            rounds += 1
            new = failed = False
            # random starts: the only way to a first point besides theta* (the loops cannot leave its orbit), and to
            # points in another component of the fibre product than the ones known, which no loop reaches either
            hits = 0
            while hits < (starts_per_round if len(known) == 1 else 1):
                spend()
                starts += 1
                kind = max((0, 1), key=lambda i: (kind_hits[i] + 1) / (kind_tries[i] + 2))  # the likelier kind
                kind_tries[kind] += 1
                if kind == 0:  # a complex start at the base point
                    x0 = model.random_point(rng) + 0.3j * rng.normal(size=model.n_params)
                    x = _levenberg_marquardt(F, x0.astype(complex), y)
                    x = None if x is None else refine(model, x, y)
                    if x is not None:
                        hits += 1
                        kind_hits[0] += 1
                        new |= add(x)
                    continue
                found = paired.start(rng)  # a start at a conjugation-symmetric point, carried to the base
                if found is None:
                    continue
                hits += 1
                kind_hits[1] += 1
                theta0, x = found
                if orbits.same(x, theta0):
                    continue
                spend()
                carried += 1
                x = _polished(model, homotopy, homotopy.track(x, theta0, base, homotopy.detour(theta0, base)), y)
                if x is None:
                    failed = True
                else:
                    new |= add(x)
            if len(known) > 1:  # one loop in parameter space for every other known point
                stops = [base] + [model.random_point(rng).astype(complex) for _ in range(2)]
                bends = [homotopy.detour(a, b) for a, b in zip(stops, stops[1:] + stops[:1])]
                for x in list(known[1:]):
                    spend()
                    loop_paths += 1
                    end = _polished(model, homotopy, homotopy.loop(x, stops, bends), y)
                    if end is None:
                        failed = True
                    else:
                        new |= add(end)
            quiet = 0 if failed or new else quiet + 1
    except FibreBudget:
        complete = False
    details = {"loops": rounds, "stable_loops": quiet, "paths": paths, "loop_paths": loop_paths,
               "failed_paths": homotopy.failures, "starts": starts, "converged_starts": sum(kind_hits),
               "carried_starts": carried, "seed": seed}
    return _finish(model, targets, orbits, known, complete, "parameter monodromy", details, start)


def _finish(model: Model, targets: tuple[str, ...], orbits: Orbits, found: list, complete: bool, method: str,
            details: dict, start: float) -> Fibre:
    """Decide the targets on the fibre points found and package the numeric answer."""
    values = target_values(model, targets, orbits)
    table = [values(x) for x in found]
    one = {}
    for t in targets:
        ref = table[0][t]
        one[t] = all(np.abs(v[t] - ref).max() <= 1e-7 * (1 + np.abs(ref).max()) for v in table)
        if not complete and one[t]:
            one[t] = None  # one value on the points found so far proves nothing
    return Fibre(len(found), 0, method, False, complete, relabellings(model), one, details,
                 seconds=time.monotonic() - start, points=found)


