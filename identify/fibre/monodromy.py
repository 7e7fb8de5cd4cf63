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
    loop), so they need a first one: each round also runs random complex starts of damped Gauss-Newton on
    F(x) = F(theta*) until ``starts_per_round`` converge (one once a loop has points to carry). A round is quiet
    only when its starts converged to known points and every loop path succeeded without finding a new one; a
    failed path never counts as quiet. The count is ``complete`` after ``stable`` quiet rounds in a row; a budget
    (``deadline``, or ``max_paths`` starts and continued paths together) that runs out first leaves it a lower
    bound.
    """
    rng = np.random.default_rng(seed)
    start = time.monotonic()
    base = model.random_point(rng).astype(complex)
    F = FastMap(model)
    y = F(base)[0]
    orbits = Orbits(model, rng)
    homotopy = ParameterHomotopy(model, rng, deadline)
    known = [base]  # one point per orbit, the base first
    rounds = quiet = paths = starts = converged = loop_paths = 0
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
            hits = 0
            # random starts: the only way to a first point besides theta* (the loops cannot leave its orbit)
            while hits < (starts_per_round if len(known) == 1 else 1):
                spend()
                starts += 1
                x0 = model.random_point(rng) + 0.3j * rng.normal(size=model.n_params)
                x = _levenberg_marquardt(F, x0.astype(complex), y)
                x = None if x is None else refine(model, x, y)
                if x is not None:
                    hits += 1
                    converged += 1
                    new |= add(x)
            if len(known) > 1:  # one loop in parameter space for every other known point
                stops = [base] + [model.random_point(rng).astype(complex) for _ in range(2)]
                bends = [homotopy.detour(a, b) for a, b in zip(stops, stops[1:] + stops[:1])]
                for x in list(known[1:]):
                    spend()
                    loop_paths += 1
                    end = homotopy.loop(x, stops, bends)
                    end = None if end is None else refine(model, end, y)
                    if end is None:
                        failed = True
                    else:
                        new |= add(end)
            quiet = 0 if failed or new else quiet + 1
    except FibreBudget:
        complete = False
    details = {"loops": rounds, "stable_loops": quiet, "paths": paths, "loop_paths": loop_paths,
               "failed_paths": homotopy.failures, "starts": starts, "converged_starts": converged, "seed": seed}
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


