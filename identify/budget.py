"""Time budgets: one check shared by place(), the global check and the command line."""

from __future__ import annotations

import math

from .errors import DesignError


def check_seconds(value, flag: str) -> float:
    """A time budget: a positive finite number of seconds, else DesignError naming ``flag``.

    Examples
    --------
    >>> check_seconds(2, "max_seconds")
    2.0
    >>> check_seconds(float("inf"), "--max-seconds")
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DesignError: --max-seconds must be a positive finite number of seconds, got inf
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise DesignError(f"{flag} must be a positive finite number of seconds, got {value!r}")
    return float(value)
