"""What a fibre count answers (the Fibre record), its constants, and the budget signal."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..model import Model

# msolve's FGLM step refuses primes of 2^30 and above: the largest prime below 2^30.
FIBRE_PRIME = 1_073_741_789
SYMPY_MAX_PARAMS = 12  # sympy's groebner takes about a second at 11 parameters and grows fast beyond
MSOLVE_MAX_PARAMS = 40  # above this Groebner bases of these systems rarely finish in minutes
MAX_PARAMS = 60  # "too large for a global check": the monodromy's cost grows with n^3 per step and with m
GLOBAL_SECONDS = 120.0  # default budget of an explicit global check
EXACT_SECONDS = 30.0  # in "auto", the Groebner engine's share before monodromy takes over
STABLE_LOOPS = 8  # monodromy stops after this many loops without a new orbit
WITNESS_DIGITS = 50
TARGETS = ("full_mixture", "mte", "ate")


class FibreBudget(Exception):
    """The time budget ran out (internal: turned into an ``inconclusive`` answer)."""


@dataclass
class Fibre:
    """The generic fibre of a design's observable map, counted up to relabelling the classes.

    ``solutions`` is m, the number of parameter points up to relabelling with the observables of a generic point
    (None when the fibre is positive-dimensional or the count did not finish); ``one_valued`` maps each target to
    whether it takes one value on the whole fibre (None when undecided). ``complete`` is False when the
    count is only a lower bound (the budget ran out): a count above 1 still proves that the full mixture is not
    globally identifiable.
    """

    solutions: int | None
    dimension: int
    method: str
    exact: bool
    complete: bool
    relabellings: int
    one_valued: dict[str, bool | None]
    details: dict = field(default_factory=dict)
    witness: dict | None = None
    seconds: float = 0.0
    points: list = field(default_factory=list, repr=False)  # the numeric engines' fibre points (for the witness)

    @property
    def globally_identifiable(self) -> bool | None:
        """True (m = 1, complete), False (m > 1 or a positive-dimensional fibre), None (undecided)."""
        if self.dimension > 0 or (self.solutions or 0) > 1:
            return False
        return True if self.solutions == 1 and self.complete else None

    def statement(self, target: str) -> str:
        m = self.solutions
        d = self.details
        if self.exact:
            how = "exactly (Groebner basis over F_p at a random point)"
        elif self.method == "monodromy":
            how = f"by monodromy ({d.get('loops', 0)} loops, the last {d.get('stable_loops', 0)} without a new point)"
        else:
            how = (f"from {d.get('starts', 0)} random complex starts ({d.get('converged_starts', 0)} converged, the "
                   f"last {d.get('stable_starts', 0)} without a new point)")
        if self.dimension > 0:
            whole = (f"the fibre is positive-dimensional (dimension {self.dimension}): the full mixture is not "
                     "identifiable")
            return whole if target == "full_mixture" else f"{whole}; whether {target} is, the count does not decide"
        count = f"{m} parameter point(s) up to relabelling give the observables of a generic point, counted {how}"
        if not self.complete:
            count = (f"at least {m} parameter points up to relabelling give the observables of a generic point "
                     f"(found {how} before the budget ran out)")
        one = self.one_valued.get(target)
        if m == 1 and self.complete:
            return f"{count}: globally identifiable"
        if one is None:
            return f"{count}; whether {target} takes one value on them is undecided"
        return f"{count}; {target} takes {'one value' if one else 'different values'} on them"

    def certificate(self, target: str) -> dict:
        """The ``fibre`` certificate of one target (docs/json.md)."""
        out = {"kind": "fibre", "scope": "global", "solutions": self.solutions, "dimension": self.dimension,
               "complete": self.complete, "method": self.method, "exact": self.exact,
               "relabellings": self.relabellings, "one_valued": self.one_valued.get(target),
               "statement": self.statement(target), "seconds": round(self.seconds, 3), **self.details}
        if self.witness is not None and not self.one_valued.get(target, False):
            out["witness"] = self.witness
        return out

    def to_dict(self) -> dict:
        return {"solutions": self.solutions, "dimension": self.dimension, "method": self.method,
                "exact": self.exact, "complete": self.complete, "relabellings": self.relabellings,
                "one_valued": dict(self.one_valued), "witness": self.witness, "seconds": round(self.seconds, 3),
                **self.details}




def relabellings(model: Model) -> int:
    return 1 if model.design.latent_observed else math.factorial(model.k)

