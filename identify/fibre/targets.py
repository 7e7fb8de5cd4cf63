"""The targets and the probabilities of a model at real parameter points: what an identified set is made of.

At a parameter point: the ATE, the class weights and the class effects (classes sorted by effect), with gradients
(for the optimisation along a positive-dimensional fibre), and every probability of the model, free or implied
(1 minus its siblings), so that a point can be told valid (all in [0, 1]), interior (all in (0, 1)) or on the
boundary of the parameter space.
"""

from __future__ import annotations

import numpy as np

from ..design import shown
from ..errors import DesignError
from ..model import ONE, Model
from ..polymap import PolyMap, remember_last

BOUNDARY = 1e-7  # a probability this close to 0 or 1 sits on the boundary of the parameter space
RANGE_TOL = 1e-9  # rounding allowed outside [0, 1] before a point is invalid


class CausalTargets:
    """The ATE, class weights and class effects of a causal design at real points, with their gradients.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> t = CausalTargets(Model(Design.builtin("paper-level4")))
    >>> x = np.full(17, 0.5); x[0] = 0.3
    >>> ate, w, e = t.values(x)
    >>> round(ate, 12), w.round(12).tolist(), e.round(12).tolist()
    (0.0, [0.3, 0.7], [0.0, 0.0])
    """

    def __init__(self, model: Model):
        design = model.design
        if not design.causal:
            raise DesignError(f"an identified set is of the ATE and the MTE: design '{design.name}' has no treatment "
                              "and outcome")
        self.model = model
        # the ATE and each class's effect, with their gradients, in one pass over all monomials; SLSQP asks for a
        # value and then its gradient (and the order constraints for several classes) at the same point
        polys = PolyMap(model.target_polys("ate") + model.target_polys("effects"), model.n_params)
        self._at = remember_last(lambda x: polys(np.asarray(x, dtype=float)))
        # the weights are affine: pi_u = x[u] for u < k - 1, the last one 1 minus the others
        k, n = model.k, model.n_params
        self.weight_grad = np.zeros((k, n))
        for u in range(k - 1):
            self.weight_grad[u, u] = 1.0
        if k > 1:
            self.weight_grad[k - 1, : k - 1] = -1.0

    def values(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(ATE, weights, effects) at x, classes in the model's order."""
        v = self._at(x)[0]
        return float(v[0]), self.model.weights(x).astype(float), v[1:].copy()

    def sorted(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(ATE, weights, effects) at x, classes sorted by effect (ties by weight)."""
        ate, w, e = self.values(x)
        order = np.lexsort((w, e))
        return ate, w[order], e[order]

    def ate_grad(self, x: np.ndarray) -> np.ndarray:
        return self._at(x)[1][0].copy()

    def effect_grad(self, x: np.ndarray, u: int) -> np.ndarray:
        return self._at(x)[1][1 + u].copy()

    def effect(self, x: np.ndarray, u: int) -> float:
        return float(self._at(x)[0][1 + u])

    def ate(self, x: np.ndarray) -> float:
        return float(self._at(x)[0][0])


class Probabilities:
    """Every probability of the model at a point: the free parameters of categorical laws (weights included)
    and the implied last category of each row, as one affine map ``A x + b`` (continuous feature means excluded).

    Examples
    --------
    >>> from mixid.identify import Design
    >>> p = Probabilities(Model(Design.builtin("paper-level2")))
    >>> x = np.full(11, 0.5)
    >>> p.valid(x), p.interior(x), p.on_boundary(x)
    (True, True, False)
    """

    def __init__(self, model: Model):
        n = model.n_params
        rows_a, rows_b = [], []
        self.free = np.zeros(n, dtype=bool)  # parameters that are probabilities (bounded by [0, 1])
        tables = [model._pi[None, :]] + [model.tables[v].reshape(-1, model.tables[v].shape[-1]) for v in model.order
                                          if model.design.variable(v).categorical]
        for table in tables:
            for row in table:
                if (row == ONE).any():
                    continue
                free = row[row >= 0]
                for i in free:
                    a = np.zeros(n)
                    a[i] = 1.0
                    rows_a.append(a), rows_b.append(0.0)
                    self.free[i] = True
                if len(free) < len(row):  # the last category: 1 minus its siblings
                    a = np.zeros(n)
                    a[free] = -1.0
                    rows_a.append(a), rows_b.append(1.0)
        self.A = np.array(rows_a).reshape(-1, n)
        self.b = np.array(rows_b)
        # the implied entries of rows with two or more free siblings need constraints beyond the bounds [0, 1]
        self.implied = (self.A < 0).sum(axis=1) >= 2

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.A @ np.asarray(x, dtype=float) + self.b

    def valid(self, x: np.ndarray, tol: float = RANGE_TOL) -> bool:
        """Every probability in [0, 1] (up to rounding)."""
        p = self(x)
        return bool((p >= -tol).all() and (p <= 1 + tol).all())

    def interior(self, x: np.ndarray) -> bool:
        """Every probability strictly inside (0, 1)."""
        p = self(x)
        return bool((p > 0).all() and (p < 1).all())

    def on_boundary(self, x: np.ndarray, tol: float = BOUNDARY) -> bool:
        """Some probability within ``tol`` of 0 or 1."""
        p = self(x)
        return bool((p < tol).any() or (p > 1 - tol).any())


def parameter_point(model: Model, params) -> np.ndarray:
    """The parameter vector (in the order of ``model.params``) of a mapping from parameter names to values.

    Every parameter must be given, no other name, every value a finite number, and every probability of the model
    (the implied last categories included) in [0, 1].

    Examples
    --------
    >>> from mixid.identify import Design
    >>> m = Model(Design.builtin("paper-level2"))
    >>> parameter_point(m, {p.name: 0.4 for p in m.params}).shape
    (11,)
    >>> parameter_point(m, {p.name: 1.2 for p in m.params})
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DesignError: parameter point is not a model: pi_0 = 1.2 is not in [0, 1]
    """
    if not isinstance(params, dict):
        raise DesignError(f"a parameter point is an object of parameter names and values, got {shown(params)}")
    names = [p.name for p in model.params]
    missing = [n for n in names if n not in params]
    if missing:
        raise DesignError(f"parameter '{missing[0]}' is missing ({len(missing)} of {len(names)} missing)")
    extra = sorted(set(params) - set(names), key=str)
    if extra:
        raise DesignError(f"unknown parameter {shown(extra[0])} for design '{model.design.name}'")
    bad = next((n for n in names if isinstance(params[n], bool) or not isinstance(params[n], (int, float, np.number))),
               None)
    if bad is not None:
        raise DesignError(f"parameter '{bad}' must be a number, got {shown(params[bad])}")
    x = np.array([float(params[n]) for n in names])
    if not np.isfinite(x).all():
        bad = names[int(np.nonzero(~np.isfinite(x))[0][0])]
        raise DesignError(f"parameter '{bad}' must be a finite number, got {params[bad]!r}")
    probs = Probabilities(model)
    p = probs(x)
    outside = np.nonzero((p < 0) | (p > 1))[0]
    if len(outside):
        i = int(outside[0])
        row = probs.A[i]
        if probs.b[i] == 0:
            what = f"{names[int(np.argmax(row))]} = {p[i]:g}"
        else:
            what = f"1 - ({' + '.join(names[j] for j in np.nonzero(row)[0])}) = {p[i]:g}"
        raise DesignError(f"parameter point is not a model: {what} is not in [0, 1]")
    return x
