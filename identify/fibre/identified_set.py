"""What a law still tells about a design that is not identified: the identified set at a parameter point.

At a parameter point theta* (a stated truth, or a fit), the valid models with the same law are the valid points of
the fibre {theta : F(theta) = F(theta*)}:

* a **finite fibre** (m points over the complex numbers): the fibre's points, known at the certificate's base
  point, are continued to theta* by a parameter homotopy; the real ones with every probability in [0, 1] are the
  identified set, a finite set of values of each target (``kind: "points"``); theta* is one of them;
* a **positive-dimensional fibre**: each target ranges over an interval, bounded by constrained optimisation
  along the fibre (``kind: "bounds"``, :mod:`.bounds`).

Both are numerical (a path can fail, a search can miss a part of the fibre), and say so.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..design import Design
from ..errors import IdentificationError
from ..model import Model
from .bounds import SETTLE, FibreWalk, fibre_bounds
from .homotopy import ParameterHomotopy
from .result import GLOBAL_SECONDS, Fibre, FibreBudget
from .system import Orbits, refine
from .targets import CausalTargets, Probabilities, parameter_point

BOUND_STARTS = 12  # starts of the optimisation along a positive-dimensional fibre (theta* included)
BENDS = 4  # complex detours tried for the homotopy to theta* before the set is reported incomplete
REAL_TOL = 1e-7  # largest imaginary part (relative) of a fibre point counted as real
SAME_VALUE = 1e-9  # two values of a target closer than this (relative) are one value


@dataclass
class IdentifiedSet:
    """The identified set of the ATE and the MTE at a parameter point (see :func:`identified_set`).

    ``kind`` is ``"points"`` (a finite fibre) or ``"bounds"`` (a positive-dimensional one). ``points`` lists the
    valid models with the law of the parameter point (theta* first), each with its ATE, weights and effects
    (classes sorted by effect) and whether it is interior; ``ate`` / ``weights`` / ``effects`` summarise them
    (the distinct ATE values; per class slot the smallest and largest value); each point also carries its
    parameters (``params``, by name). For bounds, each range end carries
    the number of starts that reached it and whether it sits on the boundary of the parameter space.
    """

    kind: str
    identified: bool  # one valid model (up to relabelling): the design identifies everything at this point
    complete: bool  # False when a path failed or the fibre count was a lower bound: the set may miss points
    statement: str
    evidence_note: str
    ate: dict
    weights: list[dict]
    effects: list[dict]
    points: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    seconds: float = 0.0
    evidence: str = "numerical"
    #: ``points`` only, when every path arrived: the whole complex fibre at this point (this point first), to
    #: continue from to a nearby point (a bootstrap replicate) along a short path; not part of the JSON.
    fibre_here: Fibre | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "evidence": self.evidence, "evidence_note": self.evidence_note,
               "identified": self.identified, "complete": self.complete, "statement": self.statement,
               "ate": self.ate, "mte": {"weights": self.weights, "effects": self.effects}}
        if self.kind == "points":
            out["points"] = self.points
        out.update(self.details)
        out["seconds"] = round(self.seconds, 3)
        return out

    def table(self) -> list[list[str]]:
        """Rows for a text table: the target, then its set (values, or [low, high])."""
        rows = []
        if self.kind == "points":
            rows.append(["ATE", ", ".join(f"{v:.4f}" for v in self.ate["values"])])
        else:
            rows.append(["ATE", _range(self.ate)])
        for j, (w, e) in enumerate(zip(self.weights, self.effects)):
            rows.append([f"class {j} weight", _range(w)])
            rows.append([f"class {j} effect", _range(e)])
        return rows


def _range(r: dict) -> str:
    low, high = r["low"], r["high"]
    text = f"{low:.4f}" if abs(high - low) <= SAME_VALUE * (1 + abs(low)) else f"[{low:.4f}, {high:.4f}]"
    marks = [side for side in ("low", "high") if r.get(f"{side}_on_boundary")]
    return text + (f" ({' and '.join(marks)} on the boundary)" if marks else "")


def identified_set(design: Design | str, params: dict, *, fibre: Fibre | None = None, seed: int = 0,
                   max_seconds: float = GLOBAL_SECONDS, starts: int = BOUND_STARTS) -> IdentifiedSet:
    """The identified set of the ATE and the MTE at a parameter point: every valid model with its law.

    Parameters
    ----------
    design : Design or str
        A causal design (with a treatment and an outcome).
    params : dict
        The parameter point theta*, by parameter name (``Model(design).params``; the format of ``mixid simulate
        --params``); every probability in [0, 1].
    fibre : Fibre, optional
        The design's fibre count (:func:`~mixid.identify.fibre.count_fibre`), whose points are continued to
        theta*; counted here when not given.
    seed : int
        Seed of the fibre count, the homotopy's detours and the walk along a positive-dimensional fibre.
    max_seconds : float
        Time budget of the count (when it is made here) and of the continuation or the optimisation.
    starts : int
        Starts of the optimisation along a positive-dimensional fibre (theta* included).

    Returns
    -------
    IdentifiedSet
        ``kind "points"`` for a finite fibre (``identified`` when theta* is the only valid model), ``"bounds"``
        for a positive-dimensional one; evidence ``numerical``.

    Raises
    ------
    DesignError
        A design without treatment and outcome, or ``params`` that are not a parameter point (a probability
        outside [0, 1]).
    IdentificationError
        The fibre count decided nothing, or theta* is a singular point of the observable map.

    Examples
    --------
    >>> from mixid.identify import Model
    >>> d = Design.builtin("paper-level4")
    >>> theta = {p.name: 0.3 + 0.4 * (i % 2) + 0.01 * i for i, p in enumerate(Model(d).params)}
    >>> s = identified_set(d, theta, starts=4)
    >>> s.kind, s.identified, s.ate["low"] <= s.ate["high"]
    ('bounds', False, True)
    """
    from . import count_fibre

    started = time.monotonic()
    design = Design.load(design)
    model = Model(design)
    targets = CausalTargets(model)
    theta = parameter_point(model, params)
    deadline = started + max_seconds
    if fibre is None:
        fibre = count_fibre(design, seed=seed, max_seconds=max_seconds, samples=1)
    rng = np.random.default_rng([seed, 20])
    if fibre.dimension == 0 and (fibre.solutions is None or not fibre.points and fibre.solutions != 1):
        raise IdentificationError(f"no identified set: the fibre count decided nothing ({fibre.statement('ate')})")
    singular = np.linalg.svd(model.evaluate(theta)[1], compute_uv=False)
    rank = int((singular > 1e-9 * singular[0]).sum())
    if rank < model.n_params - fibre.dimension:  # e.g. an empty class: its fibre is not the generic one
        raise IdentificationError(f"the parameter point is a singular point of the observable map (Jacobian rank "
                                  f"{rank} < {model.n_params - fibre.dimension} there): its fibre is not the generic "
                                  "one")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # thousands of tiny linear algebra calls: BLAS threads only contend
        if fibre.dimension > 0:
            out = _bounds(model, targets, theta, fibre, rng, deadline, starts)
        else:
            out = _points(model, targets, theta, fibre, rng, deadline)
    out.seconds = time.monotonic() - started
    return out


def _points(model: Model, targets: CausalTargets, theta: np.ndarray, fibre: Fibre, rng: np.random.Generator,
            deadline: float) -> IdentifiedSet:
    """The valid fibre points at theta: the base fibre continued to theta by a parameter homotopy."""
    orbits = Orbits(model, rng)
    probs = Probabilities(model)
    y = model.evaluate(theta)[0]
    m = fibre.solutions
    ends: list[np.ndarray] = []
    failed = 0
    if m == 1 and fibre.complete:
        complete = True
    else:
        base = np.asarray(fibre.points[0], dtype=complex)
        homotopy = ParameterHomotopy(model, rng, deadline)
        best: tuple[int, list] | None = None
        try:
            for _ in range(BENDS):
                bend = homotopy.detour(base, theta.astype(complex))
                tracked = [homotopy.track(x, base, theta.astype(complex), bend) for x in fibre.points]
                got = [x for x in tracked if x is not None]
                distinct = [x for i, x in enumerate(got) if not any(orbits.same(x, z) for z in got[:i])]
                if best is None or len(distinct) > len(best[1]):
                    best = (len(tracked) - len(got), distinct)
                if len(distinct) == len(fibre.points):
                    break
        except FibreBudget:
            pass
        failed, ends = (best if best is not None else (len(fibre.points), []))
        complete = fibre.complete and len(ends) == len(fibre.points) == m
    valid, n_complex, n_outside, found_theta = [], 0, 0, m == 1 and fibre.complete
    own = None  # the end that is theta (up to relabelling)
    for end in ends:
        x = end
        if float(np.abs(x.imag).max()) > REAL_TOL * (1 + float(np.abs(x).max())):
            n_complex += 1
            continue
        r = refine(model, x, y)
        x = (x if r is None else r).real
        if orbits.same(x.astype(complex), theta.astype(complex)):
            found_theta, own = True, end
        elif not probs.valid(x):
            n_outside += 1
        else:
            valid.append(x)
    complete = complete and found_theta
    pts = [theta] + valid
    names = [p.name for p in model.params]
    rows = []
    for i, x in enumerate(pts):
        ate, w, e = targets.sorted(x)
        rows.append({"ate": ate, "weights": w.tolist(), "effects": e.tolist(), "interior": probs.interior(x),
                     "at_params": i == 0, "params": dict(zip(names, map(float, x)))})
    ates = _distinct(sorted(r["ate"] for r in rows))
    k = model.k
    weights = [_hull([r["weights"][j] for r in rows]) for j in range(k)]
    effects = [_hull([r["effects"][j] for r in rows]) for j in range(k)]
    identified = len(pts) == 1 and complete  # a failed path may have been a second valid model
    how = ("the fibre has one point (up to relabelling)" if m == 1 and fibre.complete else
           f"{len(ends)} of the fibre's {m} complex points continued from the count's base point by a parameter "
           f"homotopy ({failed} failed paths)")
    note = f"{how}; fibre counted by {fibre.method}" + ("" if fibre.complete else " (a lower bound)")
    if identified:
        statement = "one valid model has this law (up to relabelling): the design identifies it at this point"
    elif len(pts) == 1:
        statement = "one valid model found with this law (up to relabelling)"
    else:
        statement = (f"{len(pts)} valid models (real, every probability in [0, 1]) have this law: {len(ates)} "
                     f"ATE value(s)")
    if not complete:
        statement += ("; the set may miss points (a path failed, or the fibre count is a lower bound)"
                      if found_theta else "; the parameter point itself was not reached: the set is incomplete")
    details = {"complex_points": m, "valid_points": len(pts), "interior_points": sum(r["interior"] for r in rows),
               "complex": n_complex, "outside": n_outside, "failed_paths": failed}
    here = None
    if complete and own is not None:  # theta first: the parameter homotopy starts from the law of points[0]
        rest = [x for x in ends if x is not own]
        here = dataclasses.replace(fibre, points=[theta.astype(complex)] + rest)
    return IdentifiedSet("points", identified, complete, statement, note, {"values": ates}, weights, effects,
                         rows, details, fibre_here=here)


def _distinct(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in values:
        if not out or abs(v - out[-1]) > SAME_VALUE * (1 + abs(v)):
            out.append(v)
    return out


def _hull(values: list[float]) -> dict:
    return {"low": float(min(values)), "high": float(max(values))}


def _bounds(model: Model, targets: CausalTargets, theta: np.ndarray, fibre: Fibre, rng: np.random.Generator,
            deadline: float, starts: int) -> IdentifiedSet:
    """Ranges of the targets over the positive-dimensional fibre of theta, from starts along it."""
    walk = FibreWalk(model, theta, rng)
    try:
        points = walk.points(max(1, starts), thin=10, deadline=deadline)
        b = fibre_bounds(model, theta, points, deadline)
    except FibreBudget:
        raise IdentificationError("no time left to bound the targets over the fibre (raise max_seconds)") from None

    def entry(pair) -> dict:
        low, high = pair
        return {"low": low.value, "high": high.value, "low_starts": low.reached, "high_starts": high.reached,
                "low_on_boundary": low.on_boundary, "high_on_boundary": high.on_boundary,
                "determined": abs(high.value - low.value) <= SAME_VALUE * (1 + abs(low.value))}

    ate = entry(b["ate"])
    weights = [entry(p) for p in b["weights"]]
    effects = [entry(p) for p in b["effects"]]
    slots = [("ATE", ate)] + [(f"class {j} effect", r) for j, r in enumerate(effects)]
    open_ = [name for name, r in slots if not r["determined"]]
    statement = (f"the fibre has dimension {fibre.dimension}: " +
                 (f"{', '.join(open_)} range over intervals among valid models with this law" if open_ else
                  "every target took one value along it"))
    note = (f"SLSQP on F(theta) = F(theta*) from up to {len(points)} starts along the fibre (a random walk from "
            f"theta*; a target stops taking starts once {SETTLE} runs reached each of its ends, the most taken: "
            f"{b['starts_used']}), {b['runs']} runs, {b['failed_runs']} ended off the constraints (the law, or the "
            "class order of a slot); a numerical search that may miss a part of the fibre no walk reaches")
    details = {"dimension": fibre.dimension, "starts": len(points), "starts_used": b["starts_used"],
               "runs": b["runs"], "failed_runs": b["failed_runs"],
               "walk_acceptance": round(walk.accepted / max(walk.proposed, 1), 3)}
    return IdentifiedSet("bounds", False, True, statement, note, ate, weights, effects, [], details)
