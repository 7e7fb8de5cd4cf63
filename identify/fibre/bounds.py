"""Bounds of the targets over a positive-dimensional fibre: the smallest and largest value with the law fixed.

When the fibre {theta : F(theta) = F(theta*)} is a manifold through theta* (the Jacobian is rank-deficient), a
target that is not constant on it ranges over an interval among valid models. Its ends are found by constrained
optimisation (SLSQP): minimise or maximise the target subject to F(theta) = F(theta*) (the independent
combinations of the system at theta*, scaled to a well-conditioned Jacobian) and every probability in [0, 1],
from many starts spread along the fibre by a random walk (a step in the null space of the Jacobian, projected
back onto the fibre). A slot of the MTE (the class with the j-th smallest effect) is a sorted quantity, not
smooth in theta: from each start, the class in slot j there is bounded under the order constraints that keep it
j-th.

This is a numerical search: a bound is the best value that a start reached, checked to satisfy the constraints,
and a part of the fibre that no walk reaches can hold values outside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..model import Model
from .result import FibreBudget
from .system import FastMap
from .targets import BOUNDARY, CausalTargets, Probabilities

WALK_STEP = 0.05  # the random walk's largest step along the fibre (parameters are probabilities)
FEASIBLE = 1e-8  # largest observable difference (relative to the largest observable) of a point on the fibre
FIRST_STEP = 0.01  # length of SLSQP's first step (see FibreOptimiser.run)
SAME_BOUND = 1e-6  # starts whose optimum is within this of the best reached the bound
SETTLE = 3  # a bound is settled (no more starts for it) once this many runs from different starts reached it


class FibreWalk:
    """A random walk on the valid part of the fibre through theta*: valid parameter points with the same law."""

    def __init__(self, model: Model, theta: np.ndarray, rng: np.random.Generator, fast_map: FastMap | None = None):
        self.model, self.rng = model, rng
        self.F = fast_map if fast_map is not None else FastMap(model)  # the model's map, if the caller has one
        self.probs = Probabilities(model)
        self.y = self.F(theta)[0].real
        self.scale = 1 + float(np.abs(self.y).max())
        self.x = np.asarray(theta, dtype=float)
        self.accepted = self.proposed = 0

    def on_fibre(self, x: np.ndarray) -> bool:
        return float(np.abs(self.F(x)[0].real - self.y).max()) <= FEASIBLE * self.scale

    def project(self, x: np.ndarray) -> np.ndarray | None:
        """Gauss-Newton (least norm steps) back onto F = y; None when it does not converge."""
        for _ in range(20):
            f, J = self.F(x)
            r = f.real - self.y
            if float(np.abs(r).max()) <= 1e-12 * self.scale:
                return x
            x = x - np.linalg.lstsq(J.real, r, rcond=None)[0]
        return x if self.on_fibre(x) else None

    def step(self) -> np.ndarray:
        """One proposal along the tangent space of the fibre, accepted when it projects to a valid point."""
        J = self.F(self.x)[1].real
        _, s, vh = np.linalg.svd(J)
        rank = int((s > 1e-9 * s[0]).sum())
        null = vh[rank:]
        self.proposed += 1
        if not len(null):
            return self.x
        d = self.rng.normal(size=len(null)) @ null
        d *= WALK_STEP * self.rng.uniform() / max(float(np.linalg.norm(d)), 1e-300)
        x = self.project(self.x + d)
        if x is not None and self.probs.valid(x):
            self.x = x
            self.accepted += 1
        return self.x

    def points(self, count: int, thin: int = 5, deadline: float = np.inf) -> list[np.ndarray]:
        """``count`` valid points (theta* first), ``thin`` steps apart."""
        out = [self.x.copy()]
        while len(out) < count:
            if time.monotonic() > deadline:
                raise FibreBudget
            for _ in range(thin):
                self.step()
            out.append(self.x.copy())
        return out


@dataclass
class Bound:
    """One end of a target's range: the value, how many starts reached it, and whether its point lies on the
    boundary of the parameter space (some probability 0 or 1: a supremum the open space does not attain)."""

    value: float
    reached: int
    on_boundary: bool


class FibreOptimiser:
    """Minimise or maximise a target on the valid fibre through theta* (SLSQP from given starts)."""

    def __init__(self, model: Model, theta: np.ndarray, targets: CausalTargets):
        self.model, self.targets = model, targets
        self.F = FastMap(model)
        self.probs = Probabilities(model)
        self.y = self.F(theta)[0].real
        self.scale = 1 + float(np.abs(self.y).max())
        # The equations in the coordinates of J's left singular vectors at theta, scaled by 1 / singular value:
        # the rank-many independent combinations, with a well-conditioned Jacobian (orthonormal rows at theta).
        # Unscaled, the fibre's small singular values make SLSQP crawl for hundreds of iterations.
        U, S, _ = np.linalg.svd(self.F(theta)[1].real)
        rank = int((S > 1e-9 * S[0]).sum())
        self.whiten = (U[:, :rank] / S[:rank]).T
        self.bounds = [(0.0, 1.0) if f else (None, None) for f in self.probs.free]
        implied = self.probs.implied
        self.constraints = [{"type": "eq", "fun": lambda x: self.whiten @ (self.F(x)[0].real - self.y),
                             "jac": lambda x: self.whiten @ self.F(x)[1].real}]
        if implied.any():  # 1 - (sum of the free siblings) >= 0
            A, b = self.probs.A[implied], self.probs.b[implied]
            self.constraints.append({"type": "ineq", "fun": lambda x: A @ x + b, "jac": lambda x: A})

    def feasible(self, x: np.ndarray) -> bool:
        return float(np.abs(self.F(x)[0].real - self.y).max()) <= FEASIBLE * self.scale and self.probs.valid(x)

    def run(self, fun, grad, start: np.ndarray, sign: float, extra: list[dict]) -> np.ndarray | None:
        """The optimum of sign * fun from one start, or None when SLSQP ends off the constraints."""
        from scipy.optimize import minimize

        # SLSQP's first step is the gradient itself (its Hessian estimate starts at the identity): a target as
        # large as a probability would jump to the bounds, where the linearised constraints turn singular. Scaled,
        # the first step is FIRST_STEP long and the quasi-Newton updates take over.
        sign *= FIRST_STEP / max(float(np.linalg.norm(grad(start))), 1e-12)
        res = minimize(lambda x: sign * fun(x), start, jac=lambda x: sign * grad(x), method="SLSQP",
                       bounds=self.bounds, constraints=self.constraints + extra,
                       options={"maxiter": 200, "ftol": 1e-14})
        x = np.clip(res.x, [b[0] if b[0] is not None else -np.inf for b in self.bounds],
                    [b[1] if b[1] is not None else np.inf for b in self.bounds])
        if not self.feasible(x) or any((c["fun"](x) < -1e-9).any() for c in extra):
            return None
        return x


def order_constraints(targets: CausalTargets, u: int, below: tuple[int, ...], above: tuple[int, ...]) -> list[dict]:
    """SLSQP inequality constraints that put class u above the classes ``below`` and under ``above`` in effect."""
    out = []
    for v in below:
        out.append({"type": "ineq", "fun": lambda x, v=v: np.array([targets.effect(x, u) - targets.effect(x, v)]),
                    "jac": lambda x, v=v: (targets.effect_grad(x, u) - targets.effect_grad(x, v))[None, :]})
    for v in above:
        out.append({"type": "ineq", "fun": lambda x, v=v: np.array([targets.effect(x, v) - targets.effect(x, u)]),
                    "jac": lambda x, v=v: (targets.effect_grad(x, v) - targets.effect_grad(x, u))[None, :]})
    return out


def fibre_bounds(model: Model, theta: np.ndarray, starts: list[np.ndarray], deadline: float,
                 settle: int = SETTLE) -> dict:
    """The smallest and largest ATE, and per effect-sorted class its weight and effect, over the valid fibre of
    theta, from the given starts (valid fibre points, theta first).

    Each target takes starts in order until both of its ends are *settled*: at least ``settle`` runs (from
    different starts) reached the best value found (within ``SAME_BOUND``), and at least ``settle`` starts were
    used; the remaining starts are left for targets that need them (all of them, when no end settles). The
    values at the starts used count too (each start is a valid fibre point), so every range contains theta's own
    values.

    Returns ``{"ate": (low, high), "weights": [(low, high)] * k, "effects": [(low, high)] * k, "runs": int,
    "failed_runs": int, "starts_used": int}`` (``starts_used``: the most any target took) with :class:`Bound`
    ends.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> model = Model(Design.builtin("paper-level4"))
    >>> theta = np.array([0.3 + 0.4 * (i % 2) + 0.01 * i for i in range(model.n_params)])
    >>> starts = FibreWalk(model, theta, np.random.default_rng(0)).points(6, thin=10)
    >>> b = fibre_bounds(model, theta, starts, deadline=np.inf)
    >>> low, high = b["effects"][0]
    >>> bool(low.value < high.value) and low.reached >= 3 and b["starts_used"] <= 6
    True
    """
    targets = CausalTargets(model)
    opt = FibreOptimiser(model, theta, targets)
    probs = opt.probs
    count = {"runs": 0, "failed": 0, "starts": 0}

    def reached(vals, best) -> list:
        return [(v, b) for v, b in vals if abs(v - best) <= SAME_BOUND * (1 + abs(best))]

    def bound(found, side) -> Bound:
        vals = found[side][0] + found[side][1]  # values at the starts, then the runs' optima
        best = min(v for v, _ in vals) if side == -1 else max(v for v, _ in vals)
        near = reached(vals, best)
        return Bound(float(best), len(near), any(b for _, b in near))

    def settled(found, used: int) -> bool:
        if used < settle:
            return False
        for side in (-1, 1):
            vals = found[side][0] + found[side][1]
            best = min(v for v, _ in vals) if side == -1 else max(v for v, _ in vals)
            if len(reached(found[side][1], best)) < settle:
                return False
        return True

    def search(objective_at) -> tuple[Bound, Bound]:
        """Both ends of one target: ``objective_at(x0)`` gives (fun, grad, extra) from the start x0."""
        found = {side: ([], []) for side in (-1, 1)}  # per side: (values at the starts, optima of runs)
        used = 0
        for x0 in starts:
            fun, grad, extra = objective_at(x0)
            on = probs.on_boundary(x0, BOUNDARY)
            for side in (-1, 1):  # the smallest value minimises fun, the largest minimises -fun
                found[side][0].append((fun(x0), on))
                if time.monotonic() > deadline:
                    raise FibreBudget
                count["runs"] += 1
                x = opt.run(fun, grad, x0, -float(side), extra)
                if x is None:
                    count["failed"] += 1
                    continue
                found[side][1].append((fun(x), probs.on_boundary(x, BOUNDARY)))
            used += 1
            if settled(found, used):
                break
        count["starts"] = max(count["starts"], used)
        return bound(found, -1), bound(found, 1)

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # thousands of tiny linear algebra calls: BLAS threads only contend
        return _bounds_of_targets(model, targets, search, count)


def _bounds_of_targets(model: Model, targets: CausalTargets, search, count: dict) -> dict:
    """:func:`fibre_bounds`'s result: ``search`` bounds one target given its objective from a start."""
    k = model.k
    result = {"ate": search(lambda x0: (targets.ate, targets.ate_grad, []))}
    # The slot j (the class with the j-th smallest effect) from each start: the class in slot j there, held in
    # that place by order constraints. Relabelling the classes maps the fibre onto itself, so the slot's range
    # over the fibre is the range of this one class with its order, whichever class the start puts there.
    def slot(j: int, what: str):
        def objective_at(x0):
            order = list(np.lexsort((model.weights(x0), targets.values(x0)[2])))
            u, below, above = order[j], tuple(order[:j]), tuple(order[j + 1:])
            extra = order_constraints(targets, u, below, above)
            if what == "weight":
                return (lambda x: float(model.weights(x)[u])), (lambda x, g=targets.weight_grad[u]: g), extra
            return (lambda x: targets.effect(x, u)), (lambda x: targets.effect_grad(x, u)), extra
        return objective_at

    result["weights"] = [search(slot(j, "weight")) for j in range(k)]
    result["effects"] = [search(slot(j, "effect")) for j in range(k)]
    result.update(runs=count["runs"], failed_runs=count["failed"], starts_used=count["starts"])
    return result
