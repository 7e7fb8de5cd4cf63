"""Values and gradients of many ring polynomials at numeric points, all their monomials at once; and a memo of a
map's value at the last point it was asked for.

The fibre engine, the identified sets and the estimators' delta method all evaluate the same kind of
polynomials (the model's target polynomials: class weights, class effects, the ATE) thousands of times at float
or complex points; one vectorised pass over every monomial of every polynomial replaces a loop per polynomial and
per derivative.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sympy.polys.rings import PolyElement


class PolyMap:
    """The polynomials ``polys`` (ring elements in ``n_params`` generators, or constants) at numeric points.

    A call gives the values and the gradients: the product of each monomial's powers and, for its gradient, the
    products of all powers but one (prefix and suffix products, so no division by a zero coordinate).

    Examples
    --------
    >>> from sympy.polys.rings import ring
    >>> from sympy import QQ
    >>> R, x, y = ring("x, y", QQ)
    >>> f = PolyMap([x**2 * y - 3, 2 * y], 2)
    >>> values, gradients = f(np.array([2.0, 0.5]))
    >>> values.tolist(), gradients.tolist()
    ([-1.0, 1.0], [[2.0, 4.0], [0.0, 2.0]])
    >>> f.values(np.array([1j, 1.0])).tolist()
    [(-4+0j), (2+0j)]
    """

    def __init__(self, polys: Sequence[PolyElement], n_params: int):
        monoms, coeffs, owner = [], [], []
        for i, poly in enumerate(polys):
            terms = list(poly.terms()) if isinstance(poly, PolyElement) else [((0,) * n_params, poly)]
            monoms += [m for m, _ in terms]
            coeffs += [float(c) for _, c in terms]
            owner += [i] * len(terms)
        self.monoms = np.array(monoms, dtype=np.int64).reshape(len(monoms), n_params)
        self.lower = np.maximum(self.monoms - 1, 0)
        self.combine = np.zeros((len(polys), len(monoms)))  # row i: polynomial i's coefficients on the monomials
        self.combine[owner, np.arange(len(monoms))] = coeffs

    @staticmethod
    def _point(point) -> np.ndarray:
        point = np.asarray(point)
        return point if np.iscomplexobj(point) else point.astype(float)

    def values(self, point: np.ndarray) -> np.ndarray:
        """The values alone, shape (m,)."""
        return self.combine @ (self._point(point) ** self.monoms).prod(axis=1)

    def __call__(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values (m,), gradients (m, n))."""
        point = self._point(point)
        powers = point ** self.monoms
        ones = np.ones((len(powers), 1))
        before = np.cumprod(np.hstack([ones, powers[:, :-1]]), axis=1)
        after = np.cumprod(np.hstack([ones, powers[:, :0:-1]]), axis=1)[:, ::-1]
        derivative = self.monoms * point ** self.lower  # d/dx_j of x_j^a: a x_j^(a - 1), 0 when a = 0
        return self.combine @ powers.prod(axis=1), self.combine @ (derivative * before * after)


def remember_last(f):
    """``f`` remembering its value at the last point: an optimiser (SLSQP, least squares) asks for a value, its
    gradient and the constraints at the same point, and each would otherwise evaluate the map again.

    Examples
    --------
    >>> calls = []
    >>> g = remember_last(lambda x: calls.append(1) or float(x.sum()))
    >>> g(np.ones(3)), g(np.ones(3)), g(np.zeros(3)), len(calls)
    (3.0, 3.0, 0.0, 2)
    """
    last: dict = {}

    def call(x):
        x = np.asarray(x)
        key = (x.dtype.str, x.tobytes())
        if key not in last:
            last.clear()
            last[key] = f(x)
        return last[key]

    return call
