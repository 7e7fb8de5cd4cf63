"""The identified set at a maximum-likelihood estimate: every valid model with the fitted law.

When a design is not globally identified, the estimate is one of several parameter points (a finite fibre) or one
point of a manifold of them (a positive-dimensional fibre) that fit the data equally well. The identified set at
the fitted parameters (:func:`mixid.identify.fibre.identified_set.identified_set`) lists them, or bounds each
target over them; it reuses the placement's fibre count when the global check ran.
"""

from __future__ import annotations

from mixid.identify import Model, Placement
from mixid.identify.errors import MixidError
from mixid.identify.fibre.identified_set import identified_set

#: Time budget of the identified set at an estimate (the count, when it is made, and the continuation or bounds).
SECONDS = 60.0


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
