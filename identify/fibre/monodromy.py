"""The numerical engines: monodromy loops (square designs) and random complex starts (overdetermined ones)."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from ..model import Model
from .result import STABLE_LOOPS, Fibre, FibreBudget, relabellings
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
        return follow(x, lambda y, _: self._slope(y, dz), self.G, lambda s: za + s * dz, np.linalg.solve,
                      self.deadline)

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


def count_starts(model: Model, targets: tuple[str, ...], seed: int, deadline: float, max_paths: float = math.inf,
            stable: int = 60) -> Fibre:
    """Fibre points of an overdetermined design from random complex starts (Levenberg-Marquardt), probabilistic.

    Squaring an overdetermined system up for monodromy adds many spurious solutions; Newton on the full system
    converges only to true fibre points. Stops after ``stable`` converged starts in a row without a new orbit.
    """
    rng = np.random.default_rng(seed)
    start = time.monotonic()
    base = model.random_point(rng).astype(complex)
    F = FastMap(model)
    y = F(base)[0]
    orbits = Orbits(model, rng)
    found, tried, converged, since_new, complete = [base], 0, 0, 0, True
    while since_new < stable:
        if time.monotonic() > deadline or tried >= max_paths:
            complete = False
            break
        tried += 1
        x0 = model.random_point(rng) + 0.3j * rng.normal(size=model.n_params)
        x = _levenberg_marquardt(F, x0.astype(complex), y)
        x = None if x is None else refine(model, x, y)
        if x is None:
            continue
        converged += 1
        since_new += 1
        if not any(orbits.same(x, f) for f in found):
            found.append(x)
            since_new = 0
    details = {"starts": tried, "converged_starts": converged, "stable_starts": since_new, "seed": seed}
    return _finish(model, targets, orbits, found, complete, "newton starts", details, start)


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


