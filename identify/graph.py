"""d-separation statements and proxy roles, decided on the design's DAG with networkx."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Mapping
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
    return RoleCandidates(zs, xs, _compatible_pairs(graph, zs, xs))


def _compatible_pairs(graph: Graph, zs: tuple[str, ...], xs: tuple[str, ...]) -> frozenset:
    """Pairs (z, x), z != x, with z ⊥ x | U, T.

    Given U (a parent of every variable, so a conditioned fork) a connecting path must run along observed edges:
    variables in different components of the observed graph are separated without a query. Within a component
    one query per z covers all its x (d-separation of sets is pairwise); only when it fails are pairs queried.
    """
    d = graph.design
    given = {d.latent, d.treatment}
    observed = nx.Graph(list(d.edges))
    observed.add_nodes_from(d.names)
    part = {n: i for i, c in enumerate(nx.connected_components(observed)) for n in c}
    out = set()
    for z in zs:
        near = [x for x in xs if x != z and part[x] == part[z]]
        out.update((z, x) for x in xs if x != z and part[x] != part[z])
        if near and graph.separated({z}, near, given):
            out.update((z, x) for x in near)
        else:
            out.update((z, x) for x in near if graph.separated({z}, {x}, given))
    return frozenset(out)


def iter_role_assignments(c: RoleCandidates, dims: Mapping[str, int] | None = None, min_dim: int = 1,
                          twins: Mapping[str, Hashable] | None = None
                          ) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(Z, X) pairs of disjoint non-empty proxy sets whose members are pairwise compatible, fewest proxies first
    (then in declaration order), generated lazily: the pairs grow exponentially with the proxies (about 4^m
    for m on each side).

    With ``dims`` (categories of each variable), only sets with at least ``min_dim`` joint states on both sides
    are generated (a rank k needs k rows and k columns); splits that cannot reach it are skipped whole.
    ``twins`` maps each variable to a class of interchangeable variables (same categories, parents and
    children: swapping two of them maps the design onto itself, so every statement about a pair holds for its
    image). Only pairs that use the first members of each class (in declaration order) are generated: any other
    pair is the image of one of these that comes earlier in declaration order.
    """
    zs_all, xs_all = c.treatment_side, c.outcome_side
    members: dict = {}
    for v in dict.fromkeys(zs_all + xs_all):
        members.setdefault(v if twins is None else twins[v], []).append(v)
    rank = {v: i for group in members.values() for i, v in enumerate(group)}
    cls = {v: key for key, group in members.items() for v in group}

    def states(names) -> int:
        return 1 if dims is None else math.prod(dims[n] for n in names)

    def reach(names, size) -> int:  # the most joint states ``size`` of ``names`` can have
        return math.prod(sorted((dims[n] for n in names), reverse=True)[:size]) if dims else min_dim

    def first_members(names) -> bool:  # per class, the members used are its first ones
        used: dict = {}
        for v in names:
            used[cls[v]] = used.get(cls[v], 0) + 1
        return all(rank[v] < used[cls[v]] for v in names)

    for size in range(2, len(zs_all) + len(xs_all) + 1):
        # a pair of ``size`` proxies uses at most the first ``size`` members of a class
        zs = tuple(v for v in zs_all if rank[v] < size)
        xs_size = tuple(v for v in xs_all if rank[v] < size)
        for nz in range(max(1, size - len(xs_size)), min(len(zs), size - 1) + 1):
            if reach(zs, nz) < min_dim or reach(xs_size, size - nz) < min_dim:
                continue
            for Z in combinations(zs, nz):
                if states(Z) < min_dim:
                    continue
                xs = [x for x in xs_size if x not in Z and all((z, x) in c.compatible for z in Z)]
                for X in combinations(xs, size - nz):
                    if states(X) >= min_dim and (twins is None or first_members(Z + X)):
                        yield Z, X
