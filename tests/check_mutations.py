"""A deterministic corpus of mutations of genuine certificates, for the checker's fuzz suite (tests/test_check_fuzz.py).

Every mutation is a copy of a genuine ``mixid identify --json`` certificate with one change. A mutation that
*breaks a claim* (``must_refuse``) makes a stated claim false, malformed or unsupported: an invalid or composite
prime, an index list with a repeat, a float, a boolean or an index out of range, a point of the wrong length, a
rank, count or level off by one, a flipped condition or fibre flag, another verdict, scope, method, kind or
evidence, a view or role naming an unknown or repeated variable, a removed witness, or another design. The checker
must refuse each one (exit 1 or 2). The other mutations (another point, other edges, removed local checks) may or
may not keep every claim true: for them only "no internal error" is asserted.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

# parts of a certificate that state no claim the checker re-derives (texts, timings, estimands, route notes)
NOT_CLAIMS = {"estimands", "routes", "global_check", "verification", "statement", "reason", "formula", "error"}
INDEX_KEYS = {"minor_rows", "minor_cols", "rows", "cols"}
POINT_KEYS = {"point", "witness_point"}
INT_KEYS = {"rank", "jacobian_rank", "rank_lower_bound", "minor_size", "parameters", "observables", "classes",
            "solutions", "degree", "relabellings", "dimension", "det_H0_mod_p", "level", "local_level"}
BOOL_KEYS = {"holds", "exact", "complete", "real", "interior", "one_valued"}
NAME_KEYS = {"view", "through", "stitch_view", "treatment_side", "outcome_side"}
ENUMS = {
    "verdict": ("identifiable", "not_identifiable", "inconclusive", "not_applicable"),
    "scope": ("global", "local"),
    "level_scope": ("global", "local"),
    "kind": ("constructive", "witness", "probabilistic", "count", "fibre", "none"),
    "method": ("adjustment", "latent_class", "kruskal_pooled", "kruskal_per_arm", "spo", "proximal", "jacobian",
               "dimension_count", "fibre", "implied by full_mixture", "none", "stopped"),
    "implied_by": ("labels", "full_mixture", "mte", "ate"),
}
REQUIRED = {"witness", "rank_witnesses", "kruskal", "witness_minors", "prime", "point", "minor_rows", "minor_cols",
            "matrix", "extension", "stitch_view", "jacobian_rank_witness", "views", "certificate", "rank_J",
            "witness_point"}


def _walk(node, path=()) -> Iterator[tuple[tuple, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in NOT_CLAIMS:
                continue
            yield path + (key,), value
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield path + (i,), value
            yield from _walk(value, path + (i,))


class Mutated:
    """A certificate with one change, copied only when asked for (``make()``): the corpus names thousands of
    mutations and the suite checks a sample of them, so the other copies are never made."""

    def __init__(self, data: dict, path: tuple, value=None, delete: bool = False):
        self.data, self.path, self.value, self.delete = data, path, value, delete

    def make(self) -> dict:
        out = copy.deepcopy(self.data)
        node = out
        for step in self.path[:-1]:
            node = node[step]
        if self.delete:
            del node[self.path[-1]]
        else:
            node[self.path[-1]] = self.value
        return out


def _set(data: dict, path: tuple, value) -> Mutated:
    return Mutated(data, path, value)


def _delete(data: dict, path: tuple) -> Mutated:
    return Mutated(data, path, delete=True)


def _key(path: tuple) -> str | None:
    """The nearest named key of a path (for an element of a list: the list's key)."""
    return next((step for step in reversed(path) if isinstance(step, str)), None)


def _int_list(value) -> bool:
    return isinstance(value, list) and bool(value) and all(type(x) is int for x in value)


def _in_local_check(path: tuple) -> bool:
    return "local_check" in path


def mutations(data: dict, evidence: dict[str, str]) -> Iterator[tuple[str, Mutated, bool]]:
    """``(label, mutated certificate, must_refuse)`` for one genuine certificate (``.make()`` builds the copy);
    ``evidence`` maps each target to the evidence its verdict has (what the checker recomputes)."""
    for path, value in _walk(data):
        key, last = _key(path), path[-1]
        where = "/".join(map(str, path))
        design = path[0] == "design"
        if design:
            if last == "classes" and type(value) is int:
                yield f"{where} +1", _set(data, path, value + 1), True
            elif last == "categories" and type(value) is int:
                yield f"{where} +1", _set(data, path, value + 1), True
            elif last == "observed":
                yield f"{where} flipped", _set(data, path, not value), True
            elif last == "edges" and isinstance(value, list):
                yield f"{where} dropped", _set(data, path, value[:-1]), False
            continue
        if isinstance(last, str) and last in INDEX_KEYS and _int_list(value):
            if len(value) >= 2:
                yield f"{where} repeated", _set(data, path, [value[1]] + value[1:]), True
            yield f"{where} out of range", _set(data, path, value[:-1] + [10**6]), True
            yield f"{where} boolean", _set(data, path, [bool(value[0])] + value[1:]), True
            yield f"{where} float", _set(data, path, [float(value[0])] + value[1:]), True
            yield f"{where} negative", _set(data, path, [-1] + value[1:]), True
            yield f"{where} shorter", _set(data, path, value[:-1]), True
        elif last == "prime" and type(value) is int:
            for bad in (0, -7, 1, 4, 1e300, 2**64 + 13, value * 3, True, str(value)):
                yield f"{where} = {bad!r}", _set(data, path, bad), True
        elif isinstance(last, str) and last in POINT_KEYS and _int_list(value):
            yield f"{where} shorter", _set(data, path, value[:-1]), True
            yield f"{where} longer", _set(data, path, value + [1]), True
            yield f"{where} float", _set(data, path, [1.5] + value[1:]), True
            yield f"{where} boolean", _set(data, path, [True] + value[1:]), True
            yield f"{where} moved", _set(data, path, [value[0] + 1] + value[1:]), False
        elif isinstance(last, str) and last in INT_KEYS and type(value) is int and not _in_local_check(path):
            yield f"{where} +1", _set(data, path, value + 1), True
            if value > 0:
                yield f"{where} -1", _set(data, path, value - 1), True
            yield f"{where} as text", _set(data, path, str(value)), True
        elif last == "arm" and type(value) is int:
            yield f"{where} other arm", _set(data, path, 1 - value), True
            yield f"{where} = 5", _set(data, path, 5), True
        elif isinstance(last, str) and last in BOOL_KEYS and type(value) is bool:
            yield f"{where} flipped", _set(data, path, not value), True
        elif isinstance(last, str) and last in ENUMS and isinstance(value, str):
            for other in ENUMS[last]:
                if other != value:
                    yield f"{where} = {other}", _set(data, path, other), True
        elif isinstance(last, str) and last in NAME_KEYS and isinstance(value, list) and value:
            yield f"{where} repeated", _set(data, path, value + value[:1]), True
            yield f"{where} unknown", _set(data, path, ["NOPE"] + value[1:]), True
        elif last == "views" and isinstance(value, list) and value:
            yield f"{where} one fewer", _set(data, path, value[:-1]), True
        if isinstance(last, str) and last in REQUIRED and value is not None and not _in_local_check(path):
            yield f"{where} removed", _delete(data, path), True
        if key in ("witness_minors", "rank_witnesses", "kruskal") and isinstance(last, int):
            yield f"{where} removed", _delete(data, path), True
        if key == "local_check" and last == "local_check":
            yield f"{where} removed", _delete(data, path), False
    for t in data["targets"]:
        for stated in ("exact", "probabilistic", "numerical"):
            mutated = _set(data, ("targets", t, "evidence"), stated)
            yield f"targets/{t}/evidence = {stated}", mutated, stated != evidence[t]
        yield f"targets/{t} removed", _delete(data, ("targets", t)), True
    yield "roles swapped", _set(data, ("roles",), _swap(data.get("roles"))), data.get("roles") is not None


def _swap(roles):
    if not roles:
        return {"treatment_side": ["NOPE"], "outcome_side": ["NOPE"]}
    return {"treatment_side": roles["outcome_side"], "outcome_side": roles["treatment_side"]}


def sample(items: list[tuple[str, Mutated, bool]], per_kind: int = 2) -> list[tuple[str, Mutated, bool]]:
    """At most ``per_kind`` mutations of each kind (the field's name and the operator), first and last: every kind
    of change stays in the corpus while the suite stays cheap."""
    groups: dict[tuple, list] = {}
    for item in items:
        label = item[0]
        field, _, operator = label.partition(" ")
        name = [p for p in field.split("/") if not p.isdigit()][-1]
        groups.setdefault((name, operator), []).append(item)
    out = []
    for group in groups.values():
        out += group[:1] + (group[-1:] if len(group) > 1 and per_kind > 1 else [])
    return out
