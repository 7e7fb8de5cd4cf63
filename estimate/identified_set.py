"""The identified set at a maximum-likelihood estimate: every valid model with the fitted law.

When a design is not globally identified, the estimate is one of several parameter points (a finite fibre) or one
point of a manifold of them (a positive-dimensional fibre) that fit the data equally well. The identified set at
the fitted parameters (:func:`mixid.identify.fibre.identified_set.identified_set`) lists them, or bounds each
target over them; it reuses the placement's fibre count when the global check ran. With a bootstrap,
:func:`over_replicates` computes the set at every replicate's parameters and summarises how it moves with the
sample.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from mixid.identify import Model, Placement
from mixid.identify.errors import MixidError
from mixid.identify.fibre import count_fibre
from mixid.identify.fibre.identified_set import identified_set

from .progress import track

#: Time budget of the identified set at an estimate (the count, when it is made, and the continuation or bounds).
SECONDS = 60.0
#: Time budget of the sets at all bootstrap replicates together: replicates not reached in it are counted.
BOOTSTRAP_SECONDS = 600.0
#: Time budget of the set at one replicate: a path that needs longer (a replicate near a singular point) leaves
#: that replicate's set incomplete (points) or failed (bounds), counted as such, instead of holding up the rest.
#: The first replicate gets ``SECONDS``: it may pay the one-time compilation of the system in a fresh process.
REPLICATE_SECONDS = 10.0


def at_estimate(placement: Placement, params: list[float], seed: int = 0) -> tuple[dict | None, list[str]]:
    """The identified set at fitted parameters (model order) and the warnings it leaves: ``(None, [])`` for a
    globally identified design or one without treatment and outcome, ``(None, [why])`` when it cannot be computed.

    Examples
    --------
    >>> from mixid.identify import place
    >>> at_estimate(place("paper-level3"), [0.5] * 13)  # globally identified: no set
    (None, [])
    """
    design = placement.design
    full = placement.targets["full_mixture"]
    if not design.causal or (full.identifiable and full.scope == "global"):
        return None, []
    info = placement.model_info
    finite = info["jacobian_rank"] is not None and info["jacobian_rank"] == info["parameters"]
    if finite and placement.fibre is None:
        return None, ["no identified set at the estimate: the global check did not run for this design "
                      f"({(placement.global_check or {}).get('summary', 'not asked for')})"]
    names = [p.name for p in Model(design).params]
    try:
        found = identified_set(design, dict(zip(names, params)), fibre=placement.fibre, seed=seed,
                               max_seconds=SECONDS)
    except MixidError as exc:
        return None, [f"no identified set at the estimate: {exc}"]
    return found.to_dict(), []


def over_replicates(placement: Placement, points: np.ndarray, kind: str, level: float = 0.95, progress=None,
                    max_seconds: float = BOOTSTRAP_SECONDS, estimate: list[float] | None = None
                    ) -> tuple[dict, list[str]]:
    """The identified set at every bootstrap replicate (rows of ``points``: free parameters, model order) and
    what they say together, with the warnings it leaves.

    ``kind`` is the kind of the set at the estimate. For ``points`` (a finite fibre), each target's ``low`` and
    ``high`` span the union of the replicates' sets, and ``valid_models`` counts the replicates by the number of
    valid models their set holds. For ``bounds``, ``low_interval`` / ``high_interval`` are the percentile
    intervals (at ``level``) of the lower and of the upper bound over replicates, and ``low`` / ``high`` the
    outer interval they give (the lower bound's lower quantile, the upper bound's upper quantile). Replicates
    whose set could not be computed (a singular point of the map, the time budget) are counted in ``failed`` by
    reason, and replicates whose set may miss points in ``incomplete``: none is dropped silently. For a finite
    fibre, the fitted parameters ``estimate`` (when given, and when every path reached them) are where each
    replicate's set is continued from: a short path from a nearby law instead of one from the check's base point.

    Examples
    --------
    >>> from mixid.identify import place
    >>> p = place("paper-level4")
    >>> theta = [0.3 + 0.4 * (i % 2) + 0.01 * i for i in range(Model(p.design).n_params)]
    >>> b, notes = over_replicates(p, np.array([theta, theta]), "bounds")
    >>> b["replicates"], b["sets"] + sum(b["failed"].values())  # every replicate: a set, or a counted failure
    (2, 2)
    """
    started = time.monotonic()
    design = placement.design
    model = Model(design)
    names = [p.name for p in model.params]
    fibre = placement.fibre
    if fibre is None:  # counted once here, not once per replicate (a positive-dimensional fibre has no count)
        try:
            fibre = count_fibre(design, seed=0, max_seconds=SECONDS, samples=1)
        except MixidError:
            pass  # each replicate then says why
    if kind == "points" and estimate is not None and fibre is not None:
        try:
            here = identified_set(design, dict(zip(names, map(float, estimate))), fibre=fibre, max_seconds=SECONDS)
            fibre = here.fibre_here or fibre
        except MixidError:
            pass  # the replicates start from the check's base point
    sets, failed, incomplete = [], Counter(), 0
    for b, x in enumerate(track(list(points), progress, "identified sets")):
        left = max_seconds - (time.monotonic() - started)
        if left <= 0:
            failed["time budget of the bootstrap's sets spent"] += 1
            continue
        try:
            found = identified_set(design, dict(zip(names, map(float, x))), fibre=fibre, seed=b,
                                   max_seconds=min(SECONDS if b == 0 else REPLICATE_SECONDS, left))
        except MixidError as exc:
            failed[str(exc)] += 1
            continue
        if found.kind != kind:  # a replicate whose fibre differs in kind from the estimate's is not comparable
            failed[f"the set is of kind {found.kind}, not {kind}"] += 1
            continue
        incomplete += not found.complete
        sets.append(found)
    out = {"kind": kind, "replicates": int(len(points)), "sets": len(sets), "failed": dict(failed),
           "incomplete": incomplete}
    k = model.k
    if sets and kind == "points":
        out["ate"] = _union([v for s in sets for v in s.ate["values"]])
        out["mte"] = {what: [_union([getattr(s, what)[j][end] for s in sets for end in ("low", "high")])
                             for j in range(k)] for what in ("weights", "effects")}
        out["valid_models"] = {str(m): c for m, c in sorted(Counter(len(s.points) for s in sets).items())}
    elif sets:
        out["level"] = level
        alpha = (1 - level) / 2
        out["ate"] = _outer([s.ate for s in sets], alpha)
        out["mte"] = {what: [_outer([getattr(s, what)[j] for s in sets], alpha) for j in range(k)]
                      for what in ("weights", "effects")}
    out["seconds"] = round(time.monotonic() - started, 3)
    notes = []
    if failed:
        notes.append(f"the identified set failed at {sum(failed.values())} of {len(points)} bootstrap replicates "
                     f"({'; '.join(f'{c}: {why}' for why, c in failed.items())}); the bootstrap's set summarises "
                     f"the other {len(sets)}")
    if incomplete:
        notes.append(f"the identified set at {incomplete} of {len(points)} bootstrap replicates may miss points "
                     "(a continued path failed or ran out of the time one replicate gets, or the fibre count is "
                     "a lower bound)")
    return out, notes


def _union(values: list[float]) -> dict:
    return {"low": float(min(values)), "high": float(max(values))}


def _outer(ranges: list[dict], alpha: float) -> dict:
    """Percentile intervals of a range's two ends over replicates, and the outer interval they give."""
    lows = np.array([r["low"] for r in ranges])
    highs = np.array([r["high"] for r in ranges])
    low_interval = np.quantile(lows, [alpha, 1 - alpha]).tolist()
    high_interval = np.quantile(highs, [alpha, 1 - alpha]).tolist()
    return {"low": low_interval[0], "high": high_interval[1], "low_interval": low_interval,
            "high_interval": high_interval}
