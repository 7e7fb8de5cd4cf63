"""Numeric evaluation of identify's symbolic objects: polynomials at float points, moments from tensors,
and model parameters from a class-conditional tensor (the common last step of adjustment and CP)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from mixid.identify import Design, Model
from sympy.polys.rings import PolyElement


def eval_poly(poly: PolyElement, point: np.ndarray) -> float:
    """A QQ polynomial at a float point."""
    total = 0.0
    for monom, coeff in poly.terms():
        term = float(coeff)
        for x, e in zip(point, monom):
            if e:
                term *= x**e
        total += term
    return total


def outcome_values(design: Design) -> np.ndarray:
    """Weights turning the outcome's feature axis into Y: codes for categorical Y, feature 1 for continuous Y."""
    var = design.variable(design.outcome)
    if var.categorical:
        return np.arange(var.dim, dtype=float)
    return (np.arange(var.dim) == 1).astype(float)


class Moments:
    """Moments of a normalised tensor (data or population) in the theory's notation.

    Examples
    --------
    >>> from mixid.estimate.simulate import population_moments, random_params
    >>> d = Design.builtin("paper-level3")
    >>> mo = Moments(d, population_moments(d, random_params(d, seed=0)))
    >>> mo.M(("Z",), ("X",), 1).shape, round(float(mo.M(("Z",), ("X",), 1).sum()), 12)
    ((2, 2), 1.0)
    """

    def __init__(self, design: Design, tensor: np.ndarray | None, model: Model | None = None,
                 n: float | None = None, patterns=None):
        self.design = design
        self.n = n  # rows behind the moments (None for population moments): the likelihood needs counts
        self.model = model or Model(design)
        # a table too large to hold: the observed response patterns (data.Patterns) with n rows give the marginals
        self.patterns = patterns
        self.tensor = None if tensor is None else np.asarray(tensor, dtype=float)
        if self.tensor is None and (patterns is None or not n):
            raise ValueError("Moments need a tensor, or response patterns with their number of rows n")

    @classmethod
    def of(cls, stats, model: Model | None = None) -> Moments:
        """The moments of sufficient statistics (a table, or observed response patterns for a large design)."""
        if stats.dense:  # with missing answers (FIML), the patterns of every row go to the likelihood
            return cls(stats.design, stats.tensor, model, n=stats.n, patterns=stats.patterns)
        return cls(stats.design, None, model, n=stats.n, patterns=stats.patterns)

    def joint(self, keep: Sequence[str], outcome: bool = False) -> np.ndarray:
        """E[phi(keep) (times Y)] over the whole population, axes in ``keep`` order."""
        Y = self.design.outcome
        names = tuple(keep) + ((Y,) if outcome else ())
        if self.tensor is None:  # observed patterns: only the marginal needed is ever built
            counts = self.patterns.marginal([self.design.names.index(v) for v in names])
            total = float(counts.sum())  # the complete rows (missing answers are left out), or their weights
            m = counts / total if total > 0 else counts
        else:
            m = self.model.marginal(self.tensor, names)
            if self.design.latent_observed:  # an observed U is a trailing axis: marginalise it
                m = m.sum(axis=-1)
        if outcome:
            m = np.tensordot(m, outcome_values(self.design), axes=([m.ndim - 1], [0]))
        return m

    def with_class(self, keep: Sequence[str]) -> np.ndarray:
        """P(keep, U) of a design that observes U, or has one class (U the trailing axis)."""
        if not self.design.latent_observed:  # one latent class: U is constant
            if self.design.classes != 1:
                raise ValueError("P(keep, U) needs U observed, or a single class")
            return self.joint(keep)[..., None]
        if self.tensor is None:
            idx = [self.design.names.index(v) for v in keep] + [len(self.design.names)]
            return self.patterns.marginal(idx) / self.n
        return self.model.marginal(self.tensor, tuple(keep))

    def arm_prob(self, t: int) -> float:
        return float(self.joint((self.design.treatment,))[t])

    def M(self, rows: Sequence[str], cols: Sequence[str], t: int | None, outcome: bool = False) -> np.ndarray:
        """M[rows, cols (, Y) | T=t] as a matrix (rows and cols flattened as joint proxies)."""
        T = self.design.treatment
        if t is None:
            m = self.joint(tuple(rows) + tuple(cols), outcome)
            scale = 1.0
        else:
            m = np.take(self.joint(tuple(rows) + tuple(cols) + (T,), outcome), t, axis=len(rows) + len(cols))
            scale = self.arm_prob(t)
        return m.reshape(_size(self.design, rows), _size(self.design, cols)) / scale


def _size(design: Design, names: Sequence[str]) -> int:
    return int(np.prod([design.variable(n).dim for n in names])) if names else 1


def params_from_class_marginals(design: Design, marginal: Callable[[tuple[str, ...]], np.ndarray],
                                weights: np.ndarray) -> np.ndarray:
    """Model parameters from class-conditional marginals and the class weights, by ratios.

    ``marginal(names)`` is P(names | U=u) with shape (*dims of names, k); only each variable's family (its parents
    and itself) is asked for, so the table of all cells is never needed. A row whose parent state has
    probability 0 in a class is not determined: its parameters are NaN (fit refuses such an estimate, naming them).
    P(V=v | pa, u) = P(v, pa | u) / P(pa | u); continuous feature means the same way.
    """
    model = Model(design)
    point = np.zeros(model.n_params)
    k = design.classes
    for u in range(k - 1):
        point[model._pi[u]] = weights[u]
    for name in design.names:
        pa = design.parents(name)
        joint = marginal(pa + (name,))  # (*pa dims, dim, k)
        base = marginal(pa)  # (*pa dims, k)
        table = model.tables[name]
        for ci, conf in enumerate(itertools.product(*(range(model.dims[p]) for p in pa))):
            for u in range(k):
                denom = base[conf + (u,)]
                for c in range(table.shape[-1]):
                    idx = table[ci, u, c]
                    if idx >= 0:
                        point[idx] = joint[conf + (c, u)] / denom if denom != 0 else np.nan
    return point


def targets_from_point(model: Model, point: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """Class weights, class effects and potential-outcome means of a parameter point."""
    k = model.k
    weights = np.array([eval_poly(f, point) for f in model.target_polys("weights")])
    effects = np.array([eval_poly(f, point) for f in model.target_polys("effects")])
    po = {t: float(sum(eval_poly(model.weight_poly(u) * model.outcome_class_mean(u, t), point)
                       for u in range(k))) for t in (0, 1)}
    return weights, effects, po
