"""Parameter homotopy: follow the fibre points of a base parameter point as the base point moves.

Every point x of the fibre of theta solves F(x) = F(theta). Moving theta along a path theta(t) keeps the right-hand
side inside the image of the map, so each tracked x(t) stays a true fibre point of theta(t), for square and
overdetermined designs alike (no squaring up, hence no spurious solutions); the corrector is Gauss-Newton on the
full system. The path leaves the real parameter space (a complex detour): along a real path fibre points may meet
where the number of real solutions changes, and a complex path avoids those places with probability one.
"""

from __future__ import annotations

import numpy as np

from ..model import Model
from .system import FastMap, follow, gauss_newton


class ParameterHomotopy:
    """Track fibre points from base theta_a to base theta_b (predictor-corrector in the parameters).

    ``failures`` counts the paths that failed (step size below its floor, or a singular Jacobian): a failed path
    tells nothing about where its point went.
    """

    def __init__(self, model: Model, rng: np.random.Generator, deadline: float):
        self.model, self.rng, self.deadline = model, rng, deadline
        self.F = FastMap(model)
        self.failures = 0
        self._path: tuple = (None, None, None)  # (theta_a, theta_b, bend) of the path whose base points are memoised
        self._at: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def detour(self, theta_a: np.ndarray, theta_b: np.ndarray) -> np.ndarray:
        """A random complex bend for the path from theta_a to theta_b (the same for every point tracked)."""
        size = max(float(np.abs(theta_b - theta_a).max()), 0.1)
        n = len(theta_a)
        return size * (self.rng.normal(size=n) + 1j * self.rng.normal(size=n)) / 2

    def track(self, x: np.ndarray, theta_a: np.ndarray, theta_b: np.ndarray, bend: np.ndarray) -> np.ndarray | None:
        """The fibre point of theta_b that x (a fibre point of theta_a) continues to; None if the path failed.

        theta(t) = theta_a + t (theta_b - theta_a) + t (1 - t) bend. RK4 predictor on J(x) dx/dt = d F(theta(t))/dt,
        Gauss-Newton corrector on F(x) = F(theta(t)).
        """
        x = np.asarray(x, dtype=complex)
        d = theta_b - theta_a
        if any(a is not b for a, b in zip(self._path, (theta_a, theta_b, bend))):
            self._path, self._at = (theta_a, theta_b, bend), {}

        def base(t):
            # F and J at theta(t), each t once: the RK4 stages at t + h/2 share it, the target and the stage at
            # t + h share it with the next step's first stage, and the points tracked along one path share all
            if t not in self._at:
                self._at[t] = self.F(theta_a + t * d + t * (1 - t) * bend)
            return self._at[t]

        def slope(x, t):
            Jt = base(t)[1]
            Jx = self.F(x)[1]
            return gauss_newton(Jx, Jt @ (d + (1 - 2 * t) * bend))

        x = follow(x, slope, self.F, lambda t: base(t)[0], self.deadline)
        if x is None:
            self.failures += 1
        return x

    def loop(self, x: np.ndarray, stops: list[np.ndarray], bends: list[np.ndarray]) -> np.ndarray | None:
        """Continue x along the closed path stops[0] -> stops[1] -> ... -> stops[0], one bend per leg; None if a
        leg failed (counted once in ``failures``)."""
        for a, b, bend in zip(stops, stops[1:] + stops[:1], bends):
            x = self.track(x, a, b, bend)
            if x is None:
                return None
        return x
