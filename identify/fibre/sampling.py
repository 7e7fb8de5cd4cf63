"""Valid fibre points across the parameter space: the real question after a complex count.

A statistical model lives in the open real parameter space (every probability in (0, 1)). A complex fibre with m > 1
points refutes identifiability only through a second point that is real, interior and nonsingular (by the implicit
function theorem every nearby parameter point then has a valid twin too). Where the other points are complex or
outside (0, 1) the law does determine the parameters among valid models; how many valid points a fibre has changes
across the parameter space, so it is measured: random parameter points, their fibres reached from the base fibre by
a parameter homotopy, and the share of points at which only one valid model explains the law, with its interval.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..model import Model
from .homotopy import ParameterHomotopy
from .result import FibreBudget
from .system import Orbits, interior, refine

SAMPLE_POINTS = 30  # parameter points sampled (the base point included) when no valid twin is found at the base
Z95 = 1.959963984540054  # the two-sided 95 % normal quantile


def wilson(successes: int, n: int, z: float = Z95) -> dict:
    """The share ``successes / n`` with its Wilson score interval (95 %), which stays inside [0, 1].

    Examples
    --------
    >>> w = wilson(30, 30)
    >>> w["estimate"], round(w["low"], 3), w["high"], w["points"]
    (1.0, 0.886, 1.0, 30)
    """
    if n <= 0:
        return {"estimate": None, "low": 0.0, "high": 1.0, "points": 0}
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return {"estimate": p, "low": low, "high": high, "points": n}


def is_valid(model: Model, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The refined point when x is a valid model with observables y (real, interior, nonsingular), else None."""
    if float(np.abs(np.asarray(x).imag).max()) > 1e-7 * (1 + float(np.abs(x).max())):
        return None
    x = refine(model, np.asarray(x, dtype=complex), y)  # None unless an isolated point (full-rank Jacobian)
    if x is None or float(np.abs(x.imag).max()) > 1e-9 * (1 + float(np.abs(x).max())):
        return None
    return x.real.astype(complex) if interior(model, x.real) else None


@dataclass
class Sampled:
    """What the sampled parameter points showed, per target: where only one valid value explains the law, and
    the first valid twin with another value (``twins[target] = (point_a, point_b)``)."""

    points: int = 0
    failed: int = 0
    identifiable_at: dict[str, int] = field(default_factory=dict)
    twins: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0

    def fraction(self, target: str) -> dict:
        return wilson(self.identifiable_at.get(target, 0), self.points)


def differs(values, target: str, a: np.ndarray, b: np.ndarray, orbits: Orbits) -> bool:
    """Whether two fibre points give the target different values (the full mixture: different up to relabelling)."""
    if target == "full_mixture":
        return not orbits.same(a, b)
    va, vb = values(a)[target], values(b)[target]
    return bool(np.abs(va - vb).max() > 1e-7 * (1 + np.abs(va).max()))


def valid_twins(model: Model, points: list[np.ndarray], values, targets, orbits: Orbits) -> dict:
    """At the base ``points[0]``: for each target, the first valid other fibre point with another value."""
    y = model.evaluate(points[0])[0]
    valid = [v for v in (is_valid(model, x, y) for x in points[1:]) if v is not None]
    out = {}
    for t in targets:
        twin = next((v for v in valid if differs(values, t, points[0], v, orbits)), None)
        if twin is not None:
            out[t] = twin
    return out, 1 + len(valid)


def sample(model: Model, points: list[np.ndarray], targets: tuple[str, ...], values, orbits: Orbits,
           rng: np.random.Generator, deadline: float, max_points: int = SAMPLE_POINTS) -> Sampled:
    """Move the fibre ``points`` (the base first) to random parameter points and count valid models at each.

    The base point counts as the first sample. A sample whose paths do not all succeed, or whose endpoints are not
    m distinct fibre points, is dropped (counted in ``failed``): a lost path may have been a valid twin.
    """
    start = time.monotonic()
    base = points[0]
    out = Sampled()
    twins_at_base, n_valid = valid_twins(model, points, values, targets, orbits)
    out.points = 1
    out.identifiable_at = {t: int(t not in twins_at_base) for t in targets}
    out.twins = {t: (base, b) for t, b in twins_at_base.items()}
    homotopy = ParameterHomotopy(model, rng, deadline)
    try:
        while out.points + out.failed < max_points:
            theta = model.random_point(rng).astype(complex)
            bend = homotopy.detour(base, theta)
            ends = [homotopy.track(x, base, theta, bend) for x in points]
            if any(e is None for e in ends) or not orbits.same(ends[0], theta) or any(
                    orbits.same(ends[i], ends[j]) for i in range(len(ends)) for j in range(i)):
                out.failed += 1
                continue
            here, _ = valid_twins(model, [theta] + ends[1:], values, targets, orbits)
            out.points += 1
            for t in targets:
                if t in here:
                    out.twins.setdefault(t, (theta, here[t]))
                else:
                    out.identifiable_at[t] += 1
    except FibreBudget:
        pass
    out.seconds = time.monotonic() - start
    return out
