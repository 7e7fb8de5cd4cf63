"""A design's level from its verdicts: one rule shared by :class:`~mixid.identify.placement.Placement` and the
certificate checker (``mixid check``), which recomputes the level from the claims that held.

Levels: 1 class labels, 2 the full mixture, 3 the mixture of treatment effects (MTE), 4 the ATE. ``level`` is the
finest target identifiable at the strongest scope established: the finest *globally* identifiable target when
there is one (``level_scope == "global"``), else the finest locally identifiable one (``"local"``).
``local_level`` is the finest identifiable target whatever its scope. All three are None when nothing is
identifiable.
"""

from __future__ import annotations

from collections.abc import Mapping

TARGETS = ("labels", "full_mixture", "mte", "ate")
LEVELS = {"labels": 1, "full_mixture": 2, "mte": 3, "ate": 4}


def levels(verdicts: Mapping[str, Mapping]) -> tuple[int | None, str | None, int | None]:
    """``(level, level_scope, local_level)`` from ``{target: {"verdict": ..., "scope": ...}}``.

    A target that is missing or not ``identifiable`` does not count.

    Examples
    --------
    >>> levels({"labels": {"verdict": "not_identifiable", "scope": "global"},
    ...         "full_mixture": {"verdict": "identifiable", "scope": "local"},
    ...         "mte": {"verdict": "identifiable", "scope": "local"},
    ...         "ate": {"verdict": "identifiable", "scope": "global"}})
    (4, 'global', 2)
    >>> levels({})
    (None, None, None)
    """
    found = [t for t in TARGETS if (verdicts.get(t) or {}).get("verdict") == "identifiable"]
    if not found:
        return None, None, None
    finest = LEVELS[found[0]]
    proved = [t for t in found if verdicts[t].get("scope") == "global"]
    if proved:
        return LEVELS[proved[0]], "global", finest
    return finest, "local", finest
