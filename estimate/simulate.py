"""Simulation from a design's model, with exact ground truth and exact population moments.

A parameter point is a mapping from the model's parameter names (``mixid.identify.Model(design).params``) to values.
Continuous variables are sampled from a normal law per (parents, class) whose raw moments are the feature
means, so random points for them are drawn as (mean, sd) and converted.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from mixid.identify import Design, Model
from mixid.identify.design import shown
from mixid.identify.errors import DataError, DesignError
from mixid.identify.model import LAST, ONE

from .data import check_estimable
from .evaluate import targets_from_point

#: Rows simulate writes at most, and values (rows x columns) it holds in memory at most.
MAX_ROWS = 10**8
MAX_VALUES = 1 << 28


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from an int, a Generator (returned as is) or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise DataError(f"seed must be a non-negative integer, got {shown(seed)}")
    return np.random.default_rng(seed)


def normal_raw_moments(mean: float, sd: float, m: int) -> list[float]:
    """E[V^j] for j = 0..m-1 of Normal(mean, sd^2)."""
    out = [1.0, mean]
    for j in range(2, m):
        out.append(mean * out[j - 1] + (j - 1) * sd**2 * out[j - 2])
    return out[:m]


@dataclass
class Truth:
    """The ground truth of a parameter point: weights, class effects, ATE, potential-outcome means, tables."""

    params: dict[str, float]
    weights: np.ndarray
    effects: np.ndarray | None  # None (with the ATE) for a design without a treatment and an outcome
    ate: float | None
    potential_outcome_means: dict[int, float] | None
    tables: dict

    def to_dict(self) -> dict:
        if self.effects is None:
            return {"weights": [float(w) for w in self.weights], "tables": self.tables, "params": self.params}
        order = np.argsort(self.effects, kind="stable")
        return {"ate": self.ate,
                "potential_outcome_means": {str(t): v for t, v in self.potential_outcome_means.items()},
                "mte": [{"weight": float(self.weights[u]), "effect": float(self.effects[u])} for u in order],
                "tables": self.tables, "params": self.params}


def random_params(design: Design, seed: int | np.random.Generator | None = None,
                  concentration: float = 3.0, min_effect_gap: float = 0.0) -> dict[str, float]:
    """A random interior parameter point: Dirichlet rows for categorical laws, normals for continuous ones.

    ``min_effect_gap`` redraws until the class effects are at least that far apart (near-equal effects make
    the k-atom problem ill-conditioned whatever the estimator).

    Examples
    --------
    >>> p = random_params(Design.builtin("paper-level2"), seed=0)
    >>> len(p), all(0 < v < 1 for v in p.values())
    (11, True)
    >>> d = Design.builtin("paper-level3")
    >>> t = truth(d, random_params(d, seed=0, min_effect_gap=0.3))
    >>> bool(abs(t.effects[0] - t.effects[1]) >= 0.3)
    True
    """
    rng = as_generator(seed)
    for _ in range(1000):
        p = _draw_params(design, rng, concentration)
        if min_effect_gap <= 0 or design.classes == 1 or not design.causal:
            return p
        if np.diff(np.sort(truth(design, p).effects)).min() >= min_effect_gap:
            return p
    raise DesignError(f"no parameter point with class effects {min_effect_gap} apart in 1000 draws")


def _draw_params(design: Design, rng: np.random.Generator, concentration: float) -> dict[str, float]:
    model = Model(design)
    out: dict[str, float] = {}
    rows = [(None, model._pi[None, :])] + [(design.variable(v), model.tables[v].reshape(-1, model.tables[v].shape[-1]))
                                           for v in model.order]
    k = design.classes
    for var, table in rows:
        # a normal variable has one standard deviation per class (or one shared) across its parents' states
        sds = None
        if var is not None and var.normal:
            sds = np.repeat(rng.uniform(0.5, 1.5), k) if var.variance == "shared" else rng.uniform(0.5, 1.5, k)
        for r, row in enumerate(table):
            free = row[row >= 0]
            if not len(free):
                continue
            if (row == ONE).any():
                mean = rng.normal(0, 1)  # drawn before the sd: the draws of designs without normal variables stay
                sd = sds[r % k] if sds is not None else rng.uniform(0.5, 1.5)
                vals = normal_raw_moments(mean, sd, len(row))[1:]
            else:
                vals = rng.dirichlet(np.full(len(row), concentration))[: len(free)]
            for idx, v in zip(free, vals):
                out[model.params[idx].name] = float(v)
    return out


def point_from_params(model: Model, params: Mapping[str, float]) -> np.ndarray:
    """The parameter vector (model order) of a mapping; every parameter must be given, no extras."""
    names = [p.name for p in model.params]
    missing = [n for n in names if n not in params]
    if missing:
        raise DesignError(f"parameter '{missing[0]}' is missing ({len(missing)} of {len(names)} missing)")
    extra = sorted(set(params) - set(names))
    if extra:
        raise DesignError(f"unknown parameter {shown(extra[0])} for this design")
    bad = next((n for n in names if isinstance(params[n], bool) or not isinstance(params[n], (int, float, np.number))),
               None)
    if bad is not None:
        raise DesignError(f"parameter '{bad}' must be a number, got {shown(params[bad])}")
    point = np.array([float(params[n]) for n in names])
    if not np.all(np.isfinite(point)):
        raise DesignError("parameters must be finite numbers")
    _check_probabilities(model, point)
    return point


def _check_probabilities(model: Model, point: np.ndarray) -> None:
    rows = [("the class weights", model._pi[None, :])] + [(v, model.tables[v].reshape(-1, model.tables[v].shape[-1]))
                                                            for v in model.order]
    for name, table in rows:
        for row in table:
            if (row == ONE).any():
                continue
            free = point[row[row >= 0]]
            if (free < 0).any() or free.sum() > 1 + 1e-12:
                raise DesignError(f"parameters of {name} are not a probability distribution: {free.tolist()}")


def truth(design: Design, params: Mapping[str, float]) -> Truth:
    """Ground truth of a parameter point (exact up to floating point).

    Examples
    --------
    >>> d = Design.builtin("paper-level3")
    >>> t = truth(d, random_params(d, seed=1))
    >>> abs(t.ate - float(t.weights @ t.effects)) < 1e-12
    True
    """
    model = Model(design)
    point = point_from_params(model, params)
    if not design.causal:  # a plain latent class model: the mixture is all there is
        return Truth(dict(params), model.weights(point), None, None, None, _tables(model, point))
    weights, effects, po = targets_from_point(model, point)
    return Truth(dict(params), weights, effects, po[1] - po[0], po, _tables(model, point))


def _tables(model: Model, point: np.ndarray) -> dict:
    def value(row, c):
        idx = row[c]
        if idx >= 0:
            return float(point[idx])
        if idx == ONE:
            return 1.0
        return float(1 - point[row[row >= 0]].sum())

    d = model.design
    out = {f"P({d.latent})": [value(model._pi, u) for u in range(d.classes)]}
    for v in model.order:
        pa = d.parents(v)
        table = model.tables[v]
        entry = {}
        for ci, conf in enumerate(itertools.product(*(range(model.dims[p]) for p in pa))):
            for u in range(d.classes):
                key = ",".join([f"{p}={c}" for p, c in zip(pa, conf)] + [f"{d.latent}={u}"])
                entry[key] = [value(table[ci, u], c) for c in range(table.shape[-1])]
        label = f"P({v} | ...)" if d.variable(v).categorical else f"E[{v}^j | ...]"
        out[label.replace("...", ", ".join(pa + (d.latent,)))] = entry
    return out


def population_moments(design: Design, params: Mapping[str, float]) -> np.ndarray:
    """Exact normalised moment tensor (the layout of :class:`mixid.estimate.data.SufficientStats`)."""
    model = Model(design)
    p, _ = model.evaluate(point_from_params(model, params))
    return p.reshape(model.cell_dims)


def simulate(design: Design | str, n: int, params: Mapping[str, float] | None = None,
             seed: int | np.random.Generator | None = None) -> tuple[pd.DataFrame, Truth]:
    """Sample ``n`` rows from the design's model; return the data and the ground truth.

    Parameters
    ----------
    design : Design or str
    n : int
        Number of rows.
    params : mapping, optional
        A parameter point (names of ``mixid.identify.Model(design).params``); random (seeded) when omitted.
    seed : int or numpy.random.Generator, optional

    Examples
    --------
    >>> data, t = simulate("paper-level3", 1000, seed=0)
    >>> list(data.columns), len(data)
    (['Z', 'X', 'T', 'Y'], 1000)
    >>> sorted(simulate(Design.latent_class(["A", "B"], categories=["no", "yes"]), 50, seed=0)[0]["A"].unique())
    ['no', 'yes']
    """
    design = Design.load(design)
    check_estimable(design, "simulate")
    if design.covariates:
        raise DesignError(f"simulate: design '{design.name}' has covariates ({', '.join(design.covariates)}), whose "
                          "values are data, not part of the model: simulate design.without_covariates(), or draw a "
                          "latent class regression with mixid.estimate.covariates.simulate_regression")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DesignError(f"n must be a positive integer, got {shown(n)}")
    columns = len(design.variables) + design.latent_observed
    if n > MAX_ROWS or n * columns > MAX_VALUES:
        raise DesignError(f"n = {n:.3g} rows of {columns} columns is too many to simulate (at most {MAX_ROWS:.0e} "
                          f"rows and {MAX_VALUES:,} values)")
    rng = as_generator(seed)
    if params is None:
        params = random_params(design, rng)
    model = Model(design)
    point = point_from_params(model, params)
    k = design.classes
    pis = model.weights(point)
    u = rng.choice(k, size=n, p=pis / pis.sum())
    cols: dict[str, np.ndarray] = {}
    for name in model.order:
        var = design.variable(name)
        table = model.tables[name]
        pa_idx = np.zeros(n, dtype=np.int64)
        for p in design.parents(name):
            pa_idx = pa_idx * model.dims[p] + cols[p]
        rows = table[pa_idx, u]  # (n, dim) parameter codes
        vals = np.where(rows >= 0, point[np.maximum(rows, 0)], 1.0)
        if var.categorical:
            last = rows == LAST
            vals[last] = 1 - np.where(rows >= 0, point[np.maximum(rows, 0)], 0.0).sum(axis=1)
            cum = np.cumsum(vals, axis=1)
            draw = rng.random(n)[:, None]
            cols[name] = np.minimum((draw > cum).sum(axis=1), var.dim - 1)
        else:
            mean = vals[:, 1]
            var2 = vals[:, 2] - mean**2 if var.dim > 2 else np.ones(n)
            if (var2 <= 0).any():
                raise DesignError(f"feature means of '{name}' have E[{name}^2] <= E[{name}]^2: not a distribution")
            for j in range(3, var.dim):  # higher feature means must be the normal's, or sampling would lie
                expect = np.array([normal_raw_moments(a, np.sqrt(b), j + 1)[j] for a, b in zip(mean, var2)])
                if not np.allclose(vals[:, j], expect, rtol=1e-9, atol=1e-12):
                    raise DesignError(f"feature means of '{name}' beyond the second are not those of a normal "
                                      "law; mixid samples continuous variables as normals")
            cols[name] = rng.normal(mean, np.sqrt(var2))
    if design.latent_observed:
        cols[design.latent] = u
    for v in design.variables:  # a variable declared by its values is written with them, as data hold it
        if v.labels is not None:
            cols[v.name] = np.asarray(v.labels, dtype=object if isinstance(v.labels[0], str) else None)[cols[v.name]]
    frame = pd.DataFrame({c: cols[c] for c in design.names + ((design.latent,) if design.latent_observed else ())})
    return frame, truth(design, params)


def paper_main_params(zt_strength: float, xy_strength: float) -> dict[str, float]:
    """The authors' main generator (docs/paper_experiments.md) as a ``paper-level4`` parameter point.

    ``zt_strength`` (a) moves T's dependence from U to Z; ``xy_strength`` (b) moves Y's from U to X. With b = 0
    the X -> Y edge is inert, so the same point also serves the level-3 sweep.

    Examples
    --------
    >>> t = truth(Design.builtin("paper-level4"), paper_main_params(0.5, 0.0))
    >>> sorted(round(float(e), 4) for e in t.effects), round(t.ate, 12)
    ([-0.75, 0.75], 0.0)
    """
    a, b = float(zt_strength), float(xy_strength)
    if not (0 <= a <= 1 and 0 <= b <= 1):
        raise DesignError(f"strengths must lie in [0, 1], got zt={a}, xy={b}")
    p = {"pi_0": 0.5, "p_Z0_U0": 0.75, "p_Z0_U1": 0.25, "p_X0_U0": 0.75, "p_X0_U1": 0.25,
         "p_T0_Z0_U0": 0.25, "p_T0_Z0_U1": 0.75 - a / 2, "p_T0_Z1_U0": 0.25 + a / 2, "p_T0_Z1_U1": 0.75}
    y1 = {(0, 0, 0): 7 / 8, (0, 0, 1): (1 + 6 * b) / 8, (1, 0, 0): (7 - 6 * b) / 8, (1, 0, 1): 1 / 8,
          (0, 1, 0): 1 / 8, (0, 1, 1): (7 - 6 * b) / 8, (1, 1, 0): (1 + 6 * b) / 8, (1, 1, 1): 7 / 8}
    for (x, t, u), v in y1.items():  # P(Y=1 | X=x, T=t, U=u)
        p[f"p_Y0_X{x}_T{t}_U{u}"] = 1 - v
    return p
