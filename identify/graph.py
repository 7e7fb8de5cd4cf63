"""d-separation statements and proxy roles, decided on the design's DAG with networkx."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations

import networkx as nx

from .design import Design


@dataclass
class Condition:
    """One checked condition: a readable statement, whether it holds, and how it was decided."""

    statement: str
    holds: bool
    kind: str  # d_separation | rank | distinct_effects | dimension | factorisation | kruskal | structure
    route: str
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"statement": self.statement, "holds": bool(self.holds), "kind": self.kind, "route": self.route,
                **self.details}


def _fmt(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"


class Graph:
    """d-separation queries on a design's DAG (latent U included), cached.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> g = Graph(Design.builtin("paper-level4"))
    >>> g.separated({"Z"}, {"Y"}, {"U", "T"}), g.separated({"X"}, {"Y"}, {"U", "T"})
    (True, False)
    """

    def __init__(self, design: Design):
        self.design = design
        self.dag = design.graph

    def separated(self, a: Iterable[str], b: Iterable[str], given: Iterable[str]) -> bool:
        return self._sep(frozenset(a), frozenset(b), frozenset(given))

    @cache  # noqa: B019 - one Graph per placement; the cache dies with it
    def _sep(self, a: frozenset, b: frozenset, given: frozenset) -> bool:
        return nx.is_d_separator(self.dag, set(a), set(b), set(given))

    def statement(self, a: Iterable[str], b: Iterable[str], given: Iterable[str], route: str) -> Condition:
        a, b, given = list(a), list(b), list(given)
        text = f"{_fmt(a)} ⊥ {_fmt(b)} | {', '.join(given)}"
        return Condition(text, self.separated(a, b, given), "d_separation", route)

    def adjustment_condition(self, route: str) -> Condition:
        """U blocks every back-door path from T to Y, so E[Y | T=t, U=u] = E[Y(t) | U=u]."""
        d = self.design
        cut = self.dag.copy()
        cut.remove_edges_from(list(self.dag.out_edges(d.treatment)))
        holds = nx.is_d_separator(cut, {d.treatment}, {d.outcome}, {d.latent})
        return Condition(f"{d.latent} blocks every back-door path {d.treatment} <- ... -> {d.outcome}",
                         holds, "d_separation", route)

    def components(self, nodes: Iterable[str], given: Iterable[str]) -> list[tuple[str, ...]]:
        """Blocks of ``nodes`` that must share a view: connected components of "d-connected given ``given``"."""
        nodes = [n for n in self.design.names if n in set(nodes)]
        g = nx.Graph()
        g.add_nodes_from(nodes)
        # Given U, a connecting path cannot pass through U (a fork, conditioned on): only pairs joined by observed
        # edges (weakly) can be d-connected, so only those are queried (none in a plain latent class design).
        observed = nx.Graph(list(self.design.edges))
        observed.add_nodes_from(self.design.names)
        part = {n: i for i, c in enumerate(nx.connected_components(observed)) for n in c}
        for a, b in combinations(nodes, 2):
            if (self.design.latent not in set(given) or part[a] == part[b]) and not self.separated({a}, {b}, given):
                g.add_edge(a, b)
        order = {n: i for i, n in enumerate(nodes)}
        comps = [tuple(sorted(c, key=order.__getitem__)) for c in nx.connected_components(g)]
        return sorted(comps, key=lambda c: order[c[0]])


@dataclass(frozen=True)
class RoleCandidates:
    """Variables that may serve as treatment-side (Z) or outcome-side (X) proxies."""

    treatment_side: tuple[str, ...]
    outcome_side: tuple[str, ...]
    compatible: frozenset  # pairs (z, x) with z ⊥ x | U, T


def role_candidates(graph: Graph, for_mte: bool) -> RoleCandidates:
    """Single variables admissible as Z (Z ⊥ Y | U, T) or X (X ⊥ T | U; for the MTE also X ⊥ Y | U, T).

    d-separation of sets is pairwise, so joint proxies are exactly the sets of admissible single variables
    whose (z, x) pairs are separated given U, T.
    """
    d = graph.design
    U, T, Y = d.latent, d.treatment, d.outcome
    others = [n for n in d.names if n not in (T, Y)]
    zs = tuple(v for v in others if graph.separated({v}, {Y}, {U, T}))
    xs = tuple(v for v in others if graph.separated({v}, {T}, {U})
               and (not for_mte or graph.separated({v}, {Y}, {U, T})))
    compat = frozenset((z, x) for z in zs for x in xs if z != x and graph.separated({z}, {x}, {U, T}))
    return RoleCandidates(zs, xs, compat)


def role_assignments(c: RoleCandidates, limit: int | None = None) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(Z, X) pairs of disjoint non-empty proxy sets whose members are pairwise compatible, fewest proxies first.

    The pairs grow exponentially with the proxies (about 4^m for m on each side): ``limit`` keeps the first
    ``limit`` in order of |Z| + |X|, which hold the cheapest candidates.
    """
    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    zs, xs_all = c.treatment_side, c.outcome_side
    for size in range(2, len(zs) + len(xs_all) + 1):
        for nz in range(max(1, size - len(xs_all)), min(len(zs), size - 1) + 1):
            for Z in combinations(zs, nz):
                xs = [x for x in xs_all if x not in Z and all((z, x) in c.compatible for z in Z)]
                for X in combinations(xs, size - nz):
                    out.append((Z, X))
                    if limit is not None and len(out) >= limit:
                        return out
    return out
