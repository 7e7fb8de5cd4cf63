"""Low-order marginals of the observable map, dimension counts, and the limits that keep identify bounded.

The observable table of a design has N = prod_i c_i cells (2^40 for forty binary items), but every question
identify asks is settled by small marginals: the Kruskal views, a pair (W, S) that extends a decomposition to a
variable W, the proxies of SPO. A marginal P(S) of the observed variables is computed from the model restricted
to the ancestors of S (the other variables sum out exactly: each conditional law sums to one, also modulo p), so
its cost is the size of that ancestral table, never the size of the full one.

Limits (module constants, documented in docs/theory.md):

* :data:`MAX_CELLS`: the largest array identify materialises, in entries: a class table (cells x k) or a
  Jacobian (rows x parameters). Anything larger stops with :class:`LimitReached`, which ``place()`` reports as
  an ``inconclusive`` verdict saying what was established.
* :data:`MAX_PARAMETERS`: the largest model (free parameters) identify builds. Beyond it only dimension counts
  are used (a design with 10^6 classes is answered by counting, without a model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .design import Design

MAX_CELLS = 1 << 22  # entries of the largest table or Jacobian identify materialises (32 MiB of int64)
MAX_PARAMETERS = 20_000  # free parameters of the largest model identify builds


class LimitReached(Exception):
    """A time or size limit stopped a computation (internal: ``place()`` turns it into ``inconclusive``).

    ``limit`` is ``max_seconds``, ``max_cells`` or ``max_parameters``; ``value`` the limit's value; ``at`` what
    was being computed.
    """

    def __init__(self, limit: str, value, at: str):
        self.limit, self.value, self.at = limit, value, at
        super().__init__(f"{limit} = {value} reached while {at}")

    def to_dict(self) -> dict:
        return {"limit": self.limit, "value": self.value, "at": self.at}


@dataclass(frozen=True)
class Count:
    """The dimension count of a design: free parameters d and cells N of the observable table."""

    parameters: int
    observables: int


def dimension_count(design: Design) -> Count:
    """Free parameters d and observable cells N, from the design alone (no model is built).

    d = (k - 1) + sum_V k * (parent configurations of V) * (c_V - 1), with c_V the categories (or features) of V;
    N = prod_V c_V, times k when U is observed.

    Examples
    --------
    >>> c = dimension_count(Design.latent_class(list("ABCD"), classes=10**6))
    >>> c.parameters, c.observables
    (4999999, 16)
    """
    k = design.classes
    d = k - 1
    for v in design.variables:
        configs = math.prod(design.variable(p).dim for p in design.parents(v.name))
        d += k * configs * (v.dim - 1)
    n = math.prod(v.dim for v in design.variables) * (k if design.latent_observed else 1)
    return Count(d, n)


def ancestral(design: Design, names: Sequence[str]) -> tuple[str, ...]:
    """``names`` and their observed ancestors, in declaration order."""
    keep = set(names)
    frontier = list(names)
    while frontier:
        for p in design.parents(frontier.pop()):
            if p not in keep:
                keep.add(p)
                frontier.append(p)
    return tuple(n for n in design.names if n in keep)


def restrict(design: Design, names: Sequence[str]) -> Design:
    """The design on ``names`` (ancestrally closed) alone: a plain latent class design with the same classes."""
    keep = set(names)
    return Design(tuple(design.variable(n) for n in design.names if n in keep), None, None,
                  tuple(e for e in design.edges if e[0] in keep and e[1] in keep), design.classes, design.latent,
                  design.latent_observed, None, f"{design.name}[{','.join(names)}]")


class Marginals:
    """Class tables and Jacobians of marginals P(S) of a model at a point, from ancestral sub-models.

    Examples
    --------
    >>> from mixid.identify.model import Model
    >>> m = Model(Design.latent_class(list("ABCDE"), classes=2))
    >>> point = m.random_point(np.random.default_rng(0), 101)
    >>> full = m.marginal(m.class_tensor(point, 101), ("B", "D"), 101)
    >>> bool((Marginals(m).class_table(point, ("B", "D"), 101) == full).all())
    True
    """

    def __init__(self, model):
        self.model = model
        self.design = model.design
        self._index = {p.name: i for i, p in enumerate(model.params)}
        self._subs: dict = {}

    def sub(self, names: Sequence[str]):
        """(sub-model on the ancestors of ``names``, global index of each of its parameters)."""
        anc = ancestral(self.design, names)
        if anc not in self._subs:
            dims = math.prod(self.design.variable(n).dim for n in anc) * self.design.classes
            if dims > MAX_CELLS:
                raise LimitReached("max_cells", MAX_CELLS, f"forming the class table of {', '.join(anc)} "
                                   f"({dims:,} entries)")
            from .model import Model

            sub = Model(restrict(self.design, anc))
            self._subs[anc] = (sub, np.array([self._index[p.name] for p in sub.params], dtype=np.int64))
        return self._subs[anc]

    def class_table(self, point: np.ndarray, names: Sequence[str], mod: int | None = None) -> np.ndarray:
        """P(names | U=u) (feature moments for continuous variables) at ``point``: shape (*dims, k)."""
        sub, idx = self.sub(names)
        return sub.marginal(sub.class_tensor(np.asarray(point)[idx], mod), tuple(names), mod)

    def jacobian(self, point: np.ndarray, names: Sequence[str], mod: int | None = None,
                 columns: np.ndarray | None = None) -> np.ndarray:
        """Jacobian of the flattened marginal P(names) (with U when observed) at ``point``, shape (cells, cols).

        ``columns`` are global parameter indices (default: all of them, in order); columns of parameters that
        P(names) does not involve are zero.
        """
        sub, idx = self.sub(names)
        cols = np.arange(self.model.n_params) if columns is None else np.asarray(columns, dtype=np.int64)
        rows = math.prod(self.design.variable(n).dim for n in names) * (
            self.design.classes if self.design.latent_observed else 1)
        if rows * max(len(cols), sub.n_params) > MAX_CELLS or sub.n_observables * sub.n_params > MAX_CELLS:
            raise LimitReached("max_cells", MAX_CELLS, f"forming the Jacobian of P({', '.join(names)})")
        _, J = sub.evaluate(np.asarray(point)[idx], mod)
        J = sub.marginal(J.reshape(sub.cell_dims + (sub.n_params,)), tuple(names), mod).reshape(rows, -1)
        out = np.zeros((rows, len(cols)), dtype=J.dtype)
        where = {int(g): j for j, g in enumerate(idx)}
        for c, g in enumerate(cols):
            j = where.get(int(g))
            if j is not None:
                out[:, c] = J[:, j]
        return out

    def parameters_of(self, names: Sequence[str]) -> list[int]:
        """Global indices of the parameters of the laws of ``names`` (not the class weights)."""
        keep = set(names)
        return [i for i, p in enumerate(self.model.params) if p.variable in keep]

    def weight_parameters(self) -> list[int]:
        return [i for i, p in enumerate(self.model.params) if p.variable is None]
