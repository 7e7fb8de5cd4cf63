"""Design search: the smallest proxy cardinalities with which a causal structure reaches a level.

Candidates are tried in order of total categories (then of the product, then lexicographically), so the first
design that reaches the level is the smallest by that order; every smaller candidate was placed and failed.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from .design import Design
from .errors import DesignError
from .placement import TARGETS, Placement, place
from .rank import DEFAULT_ERROR


@dataclass
class SearchResult:
    """The smallest design found (None if none within the bounds) and every candidate tried.

    Each row of ``tried`` has the candidate's ``categories``, its placement's ``level``, ``level_scope`` and
    ``local_level``, and the ``scope`` and ``evidence`` of the verdict on the level's target (``exact``,
    ``probabilistic`` or ``numerical``): :attr:`numerical` lists the answers that rest on a numerical count.
    """

    level: int
    design: Design | None
    placement: Placement | None
    tried: list[dict] = field(default_factory=list)

    @property
    def numerical(self) -> list[dict]:
        """The candidates whose answer rests on numerical evidence (a monodromy or random-start count, or sampled
        parameter points): found or rejected by a search that may have missed a point, not by a proof."""
        return [row for row in self.tried if row["evidence"] == "numerical"]

    @property
    def categories(self) -> dict[str, int] | None:
        if self.design is None:
            return None
        return {c: self.design.variable(c).dim for c in self.tried[-1]["categories"]}


def smallest_design(template: Design | str, level: int, vary: Sequence[str] | None = None,
                    max_categories: int = 6, *, scope: str = "local", error: float = DEFAULT_ERROR) -> SearchResult:
    """The smallest categorical cardinalities of ``vary`` with which ``template``'s structure reaches ``level``.

    Parameters
    ----------
    template : Design or str
        The causal structure (edges, classes, treatment, outcome); the cardinalities of ``vary`` are replaced.
    level : int
        1 to 4; reached when a target at least this fine is identifiable at the requested ``scope``: the
        placement's ``local_level`` is at most ``level`` (scope ``"local"``), or its ``level`` is and its
        ``level_scope`` is ``"global"`` (scope ``"global"``). Levels 3 and 4 need a treatment and an outcome.
    vary : sequence of str, optional
        The categorical variables to size; default every variable other than the treatment and the outcome.
    max_categories : int
        Largest cardinality tried for each varied variable.
    scope : {"local", "global"}
        ``"global"`` requires the level's target to be proved globally (a constructive certificate, or the default
        global check of :func:`~mixid.identify.placement.place`); ``"local"`` accepts the Jacobian route's local
        identifiability (not proved global; the candidates are placed with ``scope="local"``). With ``"global"``
        some answers may rest on a numerical count (see :attr:`SearchResult.numerical`).

    Examples
    --------
    >>> import dataclasses
    >>> base = Design.builtin("paper-level3")
    >>> k3 = dataclasses.replace(base, classes=3, name="k3")
    >>> r = smallest_design(k3, level=3, max_categories=4)
    >>> r.categories, r.placement.level, r.placement.level_scope, r.placement.targets["full_mixture"].method
    ({'Z': 2, 'X': 3}, 2, 'local', 'jacobian')
    >>> g = smallest_design(k3, level=3, max_categories=4, scope="global")  # doctest: +SKIP
    >>> g.categories, [(row["categories"], row["evidence"]) for row in g.numerical]  # doctest: +SKIP
    ({'Z': 3, 'X': 3}, [({'Z': 2, 'X': 3}, 'numerical')])

    (The global search takes about 10 s; tests/test_placement.py runs it and checks this answer.)
    """
    template = Design.load(template)
    if level not in (1, 2, 3, 4):
        raise DesignError(f"level must be 1, 2, 3 or 4, got {level!r}")
    if scope not in ("local", "global"):
        raise DesignError(f"scope must be 'local' or 'global', got {scope!r}")
    if level > 2 and not template.causal:
        raise DesignError(f"level {level} needs a treatment and an outcome; design '{template.name}' is a plain "
                          "latent class model (levels 1 and 2 only)")
    target = TARGETS[level - 1]
    if isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 2:
        raise DesignError(f"max_categories must be an integer >= 2, got {max_categories!r}")
    vary = tuple(vary) if vary is not None else tuple(n for n in template.names
                                                       if n not in (template.treatment, template.outcome))
    for name in vary:
        var = template.variable(name)
        if name in (template.treatment, template.outcome):
            raise DesignError(f"cannot vary '{name}': the treatment and the outcome keep their types")
        if not var.categorical:
            raise DesignError(f"cannot vary continuous variable '{name}'")
    combos = sorted(itertools.product(range(2, max_categories + 1), repeat=len(vary)),
                    key=lambda c: (sum(c), _product(c), c))
    result = SearchResult(level, None, None)
    for combo in combos:
        sizes = dict(zip(vary, combo))
        variables = tuple(dataclasses.replace(v, size=sizes.get(v.name, v.size)) for v in template.variables)
        design = Design(variables, template.treatment, template.outcome, template.edges, template.classes,
                        template.latent, template.latent_observed, template.roles,
                        f"{template.name}[{','.join(f'{n}={c}' for n, c in sizes.items())}]")
        p = place(design, error=error, scope="local" if scope == "local" else "auto")
        v = p.targets[target]
        result.tried.append({"categories": sizes, "level": p.level, "level_scope": p.level_scope,
                             "local_level": p.local_level, "scope": v.scope, "evidence": v.evidence})
        if scope == "local":
            reached = p.local_level is not None and p.local_level <= level
        else:
            reached = p.level_scope == "global" and p.level <= level
        if reached:
            result.design, result.placement = design, p
            return result
    return result


def _product(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out
