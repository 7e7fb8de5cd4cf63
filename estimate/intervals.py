"""The ranges of the reported quantities, and Wald intervals that stay inside them.

Every interval the estimate reports is aligned with :meth:`mixid.estimate.result.Estimate.vector`: the ATE,
E[Y(0)], E[Y(1)], the class weights, then the class effects. A class weight is a probability; with a categorical
outcome coded 0..C-1, E[Y(t)] lies in [0, C-1] and an effect (or the ATE) in [-(C-1), C-1]. A Wald interval is
built on the logit of the quantity's position in its range and mapped back, so it never leaves the range; a
quantity on the edge of its range has no Wald interval (the normal approximation fails there).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from mixid.identify import Design

#: A quantity closer than this (relative to its range) to an end of its range is on the boundary.
EDGE = 1e-6


def quantity_ranges(design: Design, k: int) -> list[tuple[float, float]]:
    """(low, high) of every entry of ``Estimate.vector()`` for a design with ``k`` classes.

    Examples
    --------
    >>> quantity_ranges(Design.builtin("paper-level3"), 2)
    [(-1.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (-1.0, 1.0), (-1.0, 1.0)]
    """
    if not design.causal:
        return [(-np.inf, np.inf)] * 3 + [(0.0, 1.0)] * k
    y = design.variable(design.outcome)
    if not y.categorical:  # a continuous outcome's means and effects may take any sign
        return [(-np.inf, np.inf)] * 3 + [(0.0, 1.0)] * k + [(-np.inf, np.inf)] * k
    top = float(y.dim - 1)
    return [(-top, top), (0.0, top), (0.0, top)] + [(0.0, 1.0)] * k + [(-top, top)] * k


def wald_in_range(value: float, se: float | None, low: float, high: float, level: float
                  ) -> tuple[list[float] | None, str | None]:
    """A Wald interval inside [low, high]: on the logit of (value - low) / (high - low) when the range is finite,
    plain value +- z se otherwise. Returns (interval or None, the reason when None).

    Examples
    --------
    >>> wald_in_range(0.95, 0.05, 0.0, 1.0, 0.95)[0]  # the plain interval would end at 1.048
    [0.7070..., 0.9933...]
    >>> wald_in_range(1.0, 0.01, 0.0, 1.0, 0.95)
    (None, 'on the boundary of its range')
    """
    if se is None or not np.isfinite(value) or not np.isfinite(se):
        return None, "no standard error"
    z = NormalDist().inv_cdf(0.5 + level / 2)
    if not (np.isfinite(low) and np.isfinite(high)):
        return [float(value - z * se), float(value + z * se)], None
    width = high - low
    if value <= low + EDGE * width or value >= high - EDGE * width:
        return None, "on the boundary of its range"
    p = (value - low) / width
    centre = np.log(p / (1 - p))
    spread = z * se / (width * p * (1 - p))  # the delta method on the logit scale
    ends = 1 / (1 + np.exp(-np.array([centre - spread, centre + spread])))
    return [float(low + width * ends[0]), float(low + width * ends[1])], None
