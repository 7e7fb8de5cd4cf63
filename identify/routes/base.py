"""What every identification route shares: the evaluation context and the shape of its answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..design import Design
from ..graph import Condition, Graph
from ..model import Model, eval_poly_mod
from ..rank import DEFAULT_ERROR, PRIME, Witness, nonzero_minor


@dataclass
class Estimand:
    """A symbolic estimand: which observable moments to form and the formula that maps them to a target.

    The numeric layer compiles it: ``moments`` names what to compute from data, ``formula`` is the LaTeX of
    the identifying map, and :meth:`symbolic` returns the moments as sympy matrices of the model.
    """

    target: str
    method: str
    formula: str
    moments: tuple[str, ...]
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    classes: int = 2

    def to_dict(self) -> dict:
        return {"target": self.target, "method": self.method, "formula": self.formula,
                "moments": list(self.moments), "roles": {k: list(v) for k, v in self.roles.items()},
                "classes": self.classes}

    def symbolic(self, model: Model) -> dict:
        """The moment matrices this estimand consumes, as sympy expressions in the model's parameters."""
        Z, X = self.roles.get("treatment_side", ()), self.roles.get("outcome_side", ())
        out = {}
        if not Z:
            return out
        for t in (0, 1):
            out[f"M[Z,X|{t}]"] = model.moment_matrix(Z, X, t)
            out[f"M[Z,Y|{t}]"] = model.moment_matrix(Z, (), t, outcome=True)
            if "M[Z,X,Y|t]" in self.moments:
                out[f"M[Z,X,Y|{t}]"] = model.moment_matrix(Z, X, t, outcome=True)
        out["E[X]"] = model.moment_matrix(X, ())
        return out


@dataclass
class RouteResult:
    """The answer of one route for one target."""

    route: str
    target: str
    applies: bool
    reason: str
    conditions: list[Condition] = field(default_factory=list)
    certificate: dict | None = None
    estimand: Estimand | None = None


class Context:
    """Everything routes share for one placement: model, graph, one random witness point mod p."""

    def __init__(self, design: Design, error: float = DEFAULT_ERROR, seed: int | None = 0):
        self.design = design
        self.error = error
        self.prime = PRIME
        self.rng = np.random.default_rng(seed)
        self.graph = Graph(design)

    @cached_property
    def model(self) -> Model:
        return Model(self.design)

    @cached_property
    def point(self) -> np.ndarray:
        """The shared witness point: uniform residues in [1, p)."""
        return self.model.random_point(self.rng, self.prime)

    @cached_property
    def class_tensor(self) -> np.ndarray:
        return self.model.class_tensor(self.point, self.prime)

    @cached_property
    def weights(self) -> np.ndarray:
        return self.model.weights(self.point, self.prime)

    @cached_property
    def effects(self) -> list[int]:
        """tau_u at the witness point, mod p."""
        pts = [int(x) for x in self.point]
        return [eval_poly_mod(f, pts, self.prime) for f in self.model.target_polys("effects")]

    def witness(self, matrix: np.ndarray) -> Witness:
        rows, cols = nonzero_minor(matrix, self.prime)
        return Witness(tuple(int(x) for x in self.point), self.prime, rows, cols)

    def class_marginal(self, keep: tuple[str, ...]) -> np.ndarray:
        """P(keep | U=u) at the witness point, shape (prod dims, k)."""
        m = self.model.marginal(self.class_tensor, keep, self.prime)
        return m.reshape(-1, self.design.classes)
