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
# ... for a square design, whose monodromy is the reliable one: the square designs msolve counts at all take a
# second or two (3x3x3 with 3 classes: 1.6 s), while 2x2x2x3 with 4 classes runs past five minutes
SQUARE_EXACT_SECONDS = 10.0
STABLE_LOOPS = 8  # monodromy stops after this many loops without a new orbit
STARTS_PER_ROUND = 3  # parameter monodromy: converged random starts per round (the loops need a first point)
WITNESS_DIGITS = 50
TARGETS = ("full_mixture", "mte", "ate")


class FibreBudget(Exception):
    """The time budget ran out (internal: turned into an ``inconclusive`` answer)."""


@dataclass
class Fibre:
    """The generic fibre of a design's observable map, counted up to relabelling the classes, and what it says
    about the real parameter space.

    ``solutions`` is m, the number of parameter points up to relabelling with the observables of a generic point,
    counted over the complex numbers (None when the fibre is positive-dimensional or the count decided nothing);
    ``one_valued`` maps each target to whether it takes one value on the whole complex fibre (None when undecided).
    ``complete`` is False when the count is only a lower bound (the budget ran out, or a path failed).

    Over the reals (``identifiable``): m = 1, or one value on the complex fibre, proves a target identifiable; a
    target that takes several values is refuted only by a second point that is a valid model (real, interior,
    nonsingular) with another value: ``witnesses[target]``. Without one the target stays undecided and
    ``fractions[target]`` says at which share of sampled parameter points only one valid model explains the law.
    """

    solutions: int | None
    dimension: int
    method: str
    exact: bool
    complete: bool
    relabellings: int
    one_valued: dict[str, bool | None]
    details: dict = field(default_factory=dict)
    seconds: float = 0.0
    points: list = field(default_factory=list, repr=False)  # the numeric engines' fibre points, the base first
    valid_solutions: int | None = None  # valid models (real, interior, nonsingular) among them at the base
    witnesses: dict[str, dict] = field(default_factory=dict)
    fractions: dict[str, dict] = field(default_factory=dict)
    refuted_at: dict[str, str] = field(default_factory=dict)  # "base" or "sample", per refuted target

    @property
    def witness(self) -> dict | None:
        """The witness of the first target that has one (the full mixture's when it has one)."""
        return next(iter(self.witnesses.values()), None)

    def identifiable(self, target: str) -> bool | None:
        """Whether the target is identifiable over the real parameter space (None: the count does not decide)."""
        if self.dimension > 0:
            return False if target == "full_mixture" else None
        if self.solutions == 1 and self.complete:
            return True
        one = self.one_valued.get(target)
        if one:
            return True
        if one is False and self.witnesses.get(target, {}).get("valid"):
            return False
        return None

    @property
    def globally_identifiable(self) -> bool | None:
        """Whether the full mixture is globally identifiable over the real parameter space (None: undecided)."""
        return self.identifiable("full_mixture")

    def evidence(self, target: str) -> str:
        """``exact`` for a Groebner count that decides the target by itself, ``probabilistic`` for a positive-
        dimensional fibre (a generic rank), ``numerical`` otherwise (a search, a witness found by one, sampling)."""
        if self.dimension > 0:
            return "probabilistic"
        if self.exact and self.identifiable(target) is True:
            return "exact"
        return "numerical"

    def _how(self) -> str:
        d = self.details
        if self.exact:
            return "exactly (Groebner basis over F_p at a random point)"
        if self.method == "monodromy":
            return (f"by monodromy ({d.get('loops', 0)} loops, the last {d.get('stable_loops', 0)} quiet: every "
                    f"path succeeded and none found a new point; {d.get('failed_paths', 0)} failed paths)")
        return (f"by parameter monodromy ({d.get('loops', 0)} rounds of random starts and loops in parameter space, "
                f"the last {d.get('stable_loops', 0)} quiet: their starts converged, every path succeeded and none "
                f"found a new point; {d.get('starts', 0)} starts, {d.get('loop_paths', 0)} loop paths, "
                f"{d.get('failed_paths', 0)} failed)")

    def evidence_note(self, target: str) -> str:
        """What the evidence rests on, in a few words (e.g. ``monodromy, 40 loops``)."""
        d = self.details
        if self.dimension > 0:
            return f"generic rank {d.get('jacobian_rank')} < {d.get('parameters')} parameters"
        if self.exact:
            out = f"Groebner count over F_p, p = {d.get('prime')}"
        elif self.method == "monodromy":
            out = f"monodromy, {d.get('loops', 0)} loops"
        else:
            out = f"parameter monodromy, {d.get('loops', 0)} rounds"
        if self.identifiable(target) is False:
            out += "; a valid twin at 50 digits"
        if target in self.fractions:
            out += f"; {self.fractions[target]['points']} sampled points"
        return out

    def statement(self, target: str) -> str:
        m = self.solutions
        if self.dimension > 0:
            whole = (f"the fibre is positive-dimensional (dimension {self.dimension}): the full mixture is not "
                     "identifiable")
            return whole if target == "full_mixture" else f"{whole}; whether {target} is, the count does not decide"
        if m is None:
            return f"the count decided nothing ({self.details.get('degree_note', 'no count')})"
        count = f"{m} parameter point(s) up to relabelling (over the complex numbers) give the observables of a " \
                f"generic point, counted {self._how()}"
        if not self.complete:
            count = (f"at least {m} parameter points up to relabelling (over the complex numbers) give the "
                     f"observables of a generic point (found {self._how()}; the count is not complete)")
        one = self.one_valued.get(target)
        if m == 1 and self.complete:
            return f"{count}: globally identifiable"
        if one:
            return f"{count}; {target} takes one value on them: globally identifiable"
        if one is None:
            return f"{count}; whether {target} takes one value on them is undecided"
        frac = self.fractions.get(target)
        share = "" if frac is None else (
            f"; {target} is identifiable at {100 * frac['estimate']:.0f} % ({100 * frac['low']:.0f}-"
            f"{100 * frac['high']:.0f} %) of {frac['points']} sampled parameter points")
        if self.identifiable(target) is False:
            where = "at the base point" if self.refuted_at.get(target) == "base" else \
                "at a sampled parameter point (none at the base point)"
            return (f"{count}; {where} a second point is a valid model (real, interior, nonsingular) with another "
                    f"{target}: not identifiable{share}")
        if frac is not None:
            return (f"{count}: {target} is not identified over the complex numbers, but no other point is a valid "
                    f"model (real, interior, nonsingular) at the base point or at any sampled point{share}; "
                    "not proved for every parameter point")
        return (f"{count}; {target} takes different values on them, but no other point is a valid model at the base "
                "point and the parameter space was not sampled: undecided over the real parameter space")

    def certificate(self, target: str) -> dict:
        """The ``fibre`` certificate of one target (docs/json.md)."""
        out = {"kind": "fibre", "scope": "global", "solutions": self.solutions,
               "valid_solutions": self.valid_solutions, "dimension": self.dimension, "complete": self.complete,
               "method": self.method, "exact": self.exact, "evidence": self.evidence(target),
               "evidence_note": self.evidence_note(target), "relabellings": self.relabellings,
               "one_valued": self.one_valued.get(target), "identifiable": self.identifiable(target),
               "statement": self.statement(target), "seconds": round(self.seconds, 3), **self.details}
        if target in self.witnesses:
            out["witness"] = self.witnesses[target]
        if target in self.fractions:
            out["identifiable_fraction"] = self.fractions[target]
        return out

    def to_dict(self) -> dict:
        return {"solutions": self.solutions, "valid_solutions": self.valid_solutions, "dimension": self.dimension,
                "method": self.method, "exact": self.exact, "complete": self.complete,
                "relabellings": self.relabellings, "one_valued": dict(self.one_valued),
                "identifiable": {t: self.identifiable(t) for t in self.one_valued},
                "evidence": {t: self.evidence(t) for t in self.one_valued},
                "witnesses": self.witnesses, "identifiable_fraction": self.fractions,
                "seconds": round(self.seconds, 3), **self.details}


def relabellings(model: Model) -> int:
    return 1 if model.design.latent_observed else math.factorial(model.k)

