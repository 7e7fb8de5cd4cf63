"""Global identifiability: count the generic fibre of the observable map.

A target is *locally* identifiable when nearby parameter points give different observables (the Jacobian route);
it is *globally* identifiable when no parameter point at all, near or far, gives the same observables with a
different value of the target. The difference is the **fibre** of the observable map F at a generic point
theta*: the set {theta : F(theta) = F(theta*)}. When the Jacobian has full column rank the fibre is finite; with a
latent U it is a union of orbits of the k! relabellings of the classes, and m, the number of orbits, is the
number of parameter points *up to relabelling* that explain the same observables:

* m = 1: every target is globally identifiable (up to relabelling);
* m > 1: the full mixture is not globally identifiable; a target (the MTE, the ATE) still is when it takes one
  value on all m points;
* a positive-dimensional fibre (the Jacobian rank-deficient) proves non-identifiability, as the Jacobian does.

Two engines count the fibre:

* **Groebner** (exact at the stated point and prime): the fibre ideal <F(theta) - F(theta*)> over F_p at a random
  point theta* mod p; the degree of the zero-dimensional ideal is m * k!. A target g takes one value on the fibre
  iff adding g(theta) - g(theta*) keeps the degree. msolve (the optional extra ``mixid[global]``) runs it; sympy's
  ``groebner`` with a modulus is the fallback for small designs. The count at a random point equals the generic
  count unless the point or the prime is special, which happens with probability at most the degree of the
  relevant discriminant over p.
* **monodromy** (numerical): from a random real interior point, every known fibre point is continued along random
  loops; the loops permute the fibre, so new orbits appear until all are found. A square design loops the
  right-hand side of F(x) = y (:func:`~.monodromy.count_monodromy`); an overdetermined one loops its own base
  parameter point, theta* -> theta_1 -> theta_2 -> theta* in complex space, so that the law stays in the image of
  the map and no spurious solution appears (:func:`~.monodromy.count_parameter_monodromy`, with random starts for
  the first point the loops can carry). The count is a lower bound, complete only after eight quiet loops in a row
  (no failed path, nothing new). A second orbit is a proof (to working precision, re-checked at 50 digits) that
  the full mixture is not globally identifiable, whatever the count.

The package's leaves: :mod:`.result` (the answer), :mod:`.exact` (Groebner), :mod:`.system` (the map at complex
points), :mod:`.monodromy` and :mod:`.witness`, :mod:`.sampling` (valid points across the parameter space);
this module only chooses among them. It never imports :mod:`~mixid.identify.placement`, which calls it.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..budget import check_seconds
from ..design import Design
from ..errors import DesignError
from ..model import Model
from .exact import count_exact, engines, msolve_path, recheck_count
from .monodromy import count_monodromy, count_parameter_monodromy
from .result import (
    EXACT_SECONDS,
    FIBRE_PRIME,
    GLOBAL_SECONDS,
    MAX_PARAMS,
    MSOLVE_MAX_PARAMS,
    SQUARE_EXACT_SECONDS,
    STABLE_LOOPS,
    SYMPY_MAX_PARAMS,
    TARGETS,
    WITNESS_DIGITS,
    Fibre,
    FibreBudget,
    relabellings,
)
from .sampling import SAMPLE_POINTS, sample, valid_twins
from .system import Orbits, interior, target_values
from .witness import make_witness, recheck_separation, recheck_witness

__all__ = ["count_fibre", "Fibre", "FibreBudget", "engines", "msolve_path", "recheck_count", "recheck_witness",
           "recheck_separation",
           "FIBRE_PRIME", "GLOBAL_SECONDS", "MAX_PARAMS", "MSOLVE_MAX_PARAMS", "SYMPY_MAX_PARAMS", "STABLE_LOOPS",
           "EXACT_SECONDS", "TARGETS", "WITNESS_DIGITS"]

def count_fibre(design: Design | str, *, targets: tuple[str, ...] | None = None, method: str = "auto",
                max_seconds: float = GLOBAL_SECONDS, max_paths: int | None = None, seed: int = 0,
                samples: int = SAMPLE_POINTS) -> Fibre:
    """Count the generic fibre of a design's observable map, up to relabelling, and decide which targets take one
    value on it.

    Parameters
    ----------
    design : Design or str
    targets : tuple of str
        Among ``full_mixture``, ``mte``, ``ate`` (default: those the design defines).
    method : str
        ``auto`` (Groebner when it is small enough for the engines installed, with a share of the budget, 10 s
        at most for a square design and 30 s otherwise; then monodromy), ``exact``
        (Groebner only), or ``numeric`` (monodromy only).
    max_seconds : float
        Time budget. When it runs out the count is a lower bound (``complete`` False).
    max_paths : int, optional
        A budget of work rather than time for the numerical engines: at most this many continued paths
        and random starts (monodromy). Unlike ``max_seconds`` it gives the same answer on any machine.
    seed : int
        Seed of the random point (the exact engine's point is recorded in the certificate).
    samples : int
        How many parameter points (the base point included) to sample when the complex fibre has m > 1 points
        but no other valid model at the base point (``identifiable_fraction``); within the time budget.

    Examples
    --------
    >>> f = count_fibre("paper-level2", method="exact")
    >>> f.solutions, f.relabellings, f.exact
    (1, 2, True)
    """
    design = Design.load(design)

    max_seconds = check_seconds(max_seconds, "max_seconds")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise DesignError(f"samples must be a positive integer, got {samples!r}")
    if method not in ("auto", "exact", "numeric"):
        raise DesignError(f"method must be auto, exact or numeric, got {method!r}")
    model = Model(design)
    allowed = TARGETS if design.causal else ("full_mixture",)
    targets = allowed if targets is None else tuple(targets)
    bad = [t for t in targets if t not in allowed]
    if bad:
        raise DesignError(f"cannot count the fibre for target(s) {bad}: choose among {list(allowed)}")
    n = model.n_params
    if n > MAX_PARAMS:
        raise DesignError(f"too large for a global check: {n} parameters (the limit is {MAX_PARAMS})")
    started = time.monotonic()
    deadline = started + max_seconds
    engine = "msolve" if msolve_path() and n <= MSOLVE_MAX_PARAMS else ("sympy" if n <= SYMPY_MAX_PARAMS else None)
    if method == "exact" and engine is None:
        if n <= MSOLVE_MAX_PARAMS:
            raise DesignError(f"the exact fibre count of {n} parameters needs msolve (pip install 'mixid[global]'); "
                              f"sympy handles up to {SYMPY_MAX_PARAMS}")
        raise DesignError(f"too large for an exact fibre count: {n} parameters (the limit is {MSOLVE_MAX_PARAMS})")
    dimension, rank_error = fibre_dimension(model, seed)
    if dimension > 0:  # the full mixture is not identifiable; whether the MTE or the ATE is, the count cannot say
        return Fibre(None, dimension, "jacobian", False, True, relabellings(model),
                     {t: (False if t == "full_mixture" else None) for t in targets},
                     {"jacobian_rank": n - dimension, "parameters": n, "error_bound": rank_error})
    exact = None
    square = model.n_observables - 1 == n
    if method in ("auto", "exact") and engine is not None:
        share = max_seconds if method == "exact" else min(max_seconds / 2,
                                                          SQUARE_EXACT_SECONDS if square else EXACT_SECONDS)
        try:
            exact = count_exact(model, targets, engine, seed, min(deadline, time.monotonic() + share))
        except FibreBudget:
            if method == "exact":
                return Fibre(None, 0, f"groebner ({engine})", True, False, relabellings(model),
                             {t: None for t in targets}, {"engine": engine}, seconds=max_seconds)
        if exact is not None and (exact.solutions == 1 or all(exact.one_valued.values()) or
                                  (method == "exact" and exact.solutions is None)):
            return exact  # decided over C and hence over the reals (or, asked for exactly, undecided)
        if exact is not None and method == "auto" and (exact.dimension > 0 or exact.solutions is None):
            exact = None  # a degenerate component or a special point: count numerically instead
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tracking solves thousands of small systems: BLAS threads only contend
        numeric = (count_monodromy if square else count_parameter_monodromy)(model, targets, seed, deadline,
                                                                math.inf if max_paths is None else max_paths)
        fib = numeric
        if exact is not None:  # the exact count over C; the numeric points answer the real question
            fib = exact
            fib.points = numeric.points
            fib.details["points_method"] = numeric.method
            fib.details["points_found"] = len(numeric.points)
        if len(fib.points) > 1:
            real_question(model, fib, targets, seed, deadline, samples,
                          all_points=numeric.complete and len(numeric.points) == (fib.solutions or 0))
    fib.seconds = time.monotonic() - started
    return fib


def real_question(model: Model, fib: Fibre, targets: tuple[str, ...], seed: int, deadline: float, samples: int,
                  all_points: bool) -> None:
    """Decide the targets that take several values on the complex fibre over the real parameter space.

    A valid twin (real, interior, nonsingular, another value of the target) at the base point refutes; without
    one, and when every fibre point is known (``all_points``), sample parameter points: a valid twin at one of
    them refutes, and the share of points where only one valid model explains the law is reported. Each
    refutation is stated as a 50-digit witness, within the deadline (a target whose witness is not ready stays
    undecided). Fills ``fib.valid_solutions``, ``witnesses``, ``fractions`` and ``refuted_at``.
    """
    rng = np.random.default_rng([seed, 17])
    orbits = Orbits(model, rng)
    values = target_values(model, targets, orbits)
    points = fib.points
    base = points[0]
    several = [t for t in targets if fib.one_valued.get(t) is False]
    if not several:
        return
    twins, fib.valid_solutions = valid_twins(model, points, values, several, orbits)
    refuting = {t: (base, b) for t, b in twins.items()}
    fib.refuted_at = {t: "base" for t in twins}
    left = tuple(t for t in several if t not in refuting)
    if left and all_points:
        # the 50-digit witnesses come after the sampling: leave them a fifth of the time that is left
        found = sample(model, points, left, values, orbits, rng, deadline - 0.2 * max(deadline - time.monotonic(), 0),
                       samples)
        fib.fractions = {t: found.fraction(t) for t in left}
        fib.details["sampling"] = {"points": found.points, "failed_samples": found.failed,
                                   "seconds": round(found.seconds, 3)}
        for t, pair in found.twins.items():
            refuting[t] = pair
            fib.refuted_at[t] = "sample"

    def nearest_valid(x):  # a witness for information: the other point that comes closest to a valid model
        real = float(np.abs(x.imag).max())
        return (not (real < 1e-8 and interior(model, x.real)), real)

    made: dict[int, dict] = {}
    for t in several:
        a, b = refuting.get(t) or (base, min(points[1:], key=nearest_valid))
        key = id(b)
        if key not in made:
            w = make_witness(model, a, b, targets, deadline)
            if w is None:  # no time left for the 50 digits: the target stays undecided
                fib.refuted_at.pop(t, None)
                continue
            made[key] = w
        fib.witnesses[t] = made[key]
        if not made[key]["valid"]:
            fib.refuted_at.pop(t, None)


def fibre_dimension(model: Model, seed: int) -> tuple[int, float]:
    """n - generic rank of J, and the probability that it is wrong: 0 proves a finite generic fibre (a full-rank
    minor at a random point mod p, error 0); a deficit is the fibre's dimension within the error bound of
    :func:`~mixid.identify.rank.generic_rank`."""
    from ..rank import PRIME, generic_rank

    def evaluate(rng):
        point = model.random_point(rng, PRIME)
        return point, model.evaluate(point, PRIME)[1]

    degree = max(1, len(model.design.names))  # a cell is a product of one weight and one factor per variable
    rank = generic_rank(evaluate, degree, seed=seed, upper_bound=model.n_params, upper_reason="parameters")
    return model.n_params - rank.rank, rank.error_bound
