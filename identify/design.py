"""Causal mixture designs: a DAG over observed variables plus a latent class U that causes every one of them.

A design names a binary treatment and an outcome among its variables, or neither: without them it is a plain
latent class model (for instance seven raters of the same slides, no edges, k classes), whose targets are the
class labels and the full mixture only.

A :class:`Design` is a small frozen value. It is built from a YAML/JSON file (schema in docs/design_files.md), a plain
mapping, a networkx ``DiGraph`` or by name (the paper's four designs), and it is validated once, on
construction: every malformed field raises :class:`DesignError` naming that field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from .errors import DesignError

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_EDGE = re.compile(r"^\s*([^\s\-<>]+)\s*->\s*([^\s\-<>]+)\s*$")
_TOP_KEYS = {"name", "latent", "variables", "treatment", "outcome", "edges", "roles"}
_ROLE_KEYS = ("treatment_side", "outcome_side")


@dataclass(frozen=True)
class Variable:
    """An observed variable.

    ``categorical`` variables take integer codes ``0..categories-1``; a ``continuous`` variable enters through
    the features ``1, v, ..., v**(features-1)``, whose class-conditional means are free parameters.

    Examples
    --------
    >>> Variable("Z", "categorical", 3).dim
    3
    """

    name: str
    type: str = "categorical"
    size: int = 2  # categories (categorical) or features (continuous)

    @property
    def dim(self) -> int:
        """Length of the variable's feature vector: one-hot categories, or monomial features."""
        return self.size

    @property
    def categorical(self) -> bool:
        return self.type == "categorical"

    def to_dict(self) -> dict[str, Any]:
        key = "categories" if self.categorical else "features"
        return {"type": self.type, key: self.size}


@dataclass(frozen=True)
class Roles:
    """Proxy roles: treatment-side proxies Z (may depend on T) and outcome-side proxies X."""

    treatment_side: tuple[str, ...]
    outcome_side: tuple[str, ...]

    def to_dict(self) -> dict[str, list[str]]:
        return {"treatment_side": list(self.treatment_side), "outcome_side": list(self.outcome_side)}


@dataclass(frozen=True)
class Design:
    """A validated causal mixture design.

    Parameters
    ----------
    variables : tuple of Variable
        The observed variables, in declaration order.
    treatment, outcome : str or None
        Names of the binary treatment T and the outcome Y; both None for a plain latent class model (one without
        the other is a DesignError).
    edges : tuple of (str, str)
        Directed edges among observed variables; ``U -> V`` for every observed V is implied.
    classes : int
        Number k of latent classes.
    latent : str
        Name of the latent class variable.
    latent_observed : bool
        True when U is a column of the data (the level-1 setting).
    roles : Roles or None
        Pinned proxy roles; found automatically when None.
    name : str
        A label for reports.

    Examples
    --------
    >>> d = Design.builtin("paper-level3")
    >>> d.parents("T")
    ('Z',)
    >>> d.classes
    2
    """

    variables: tuple[Variable, ...]
    treatment: str | None = None
    outcome: str | None = None
    edges: tuple[tuple[str, str], ...] = ()
    classes: int = 2
    latent: str = "U"
    latent_observed: bool = False
    roles: Roles | None = None
    name: str = "design"
    _index: dict[str, int] = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "_index", {v.name: i for i, v in enumerate(self.variables)})

    # ----------------------------------------------------------------------------------------- queries
    @property
    def causal(self) -> bool:
        """True when the design names a treatment and an outcome; False for a plain latent class model.

        Examples
        --------
        >>> Design.builtin("paper-level2").causal, Design.latent_class(["A", "B", "C"]).causal
        (True, False)
        """
        return self.treatment is not None

    @property
    def names(self) -> tuple[str, ...]:
        """Observed variable names in declaration order."""
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> Variable:
        """The observed variable called ``name``."""
        try:
            return self.variables[self._index[name]]
        except KeyError:
            raise DesignError(f"unknown variable '{name}'") from None

    def parents(self, name: str) -> tuple[str, ...]:
        """Observed parents of ``name`` in declaration order (U is always a parent too)."""
        pa = {a for a, b in self.edges if b == name}
        return tuple(n for n in self.names if n in pa)

    def children(self, name: str) -> tuple[str, ...]:
        ch = {b for a, b in self.edges if a == name}
        return tuple(n for n in self.names if n in ch)

    @property
    def graph(self) -> nx.DiGraph:
        """The full DAG, latent U included (a fresh copy; mutate freely)."""
        g = nx.DiGraph()
        g.add_node(self.latent)
        g.add_nodes_from(self.names)
        g.add_edges_from((self.latent, v) for v in self.names)
        g.add_edges_from(self.edges)
        return g

    @property
    def order(self) -> tuple[str, ...]:
        """A topological order of the observed variables, ties broken by declaration order."""
        g = nx.DiGraph()
        g.add_nodes_from(self.names)
        g.add_edges_from(self.edges)
        return tuple(nx.lexicographical_topological_sort(g, key=self._index.__getitem__))

    # ----------------------------------------------------------------------------------- constructors
    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Design:
        """Build a design from the mapping of a design file (schema in docs/design_files.md).

        ``treatment`` and ``outcome`` are optional together: omit both (or give both as null) for a plain latent
        class model.

        Examples
        --------
        >>> Design.from_dict({"variables": {"T": {"type": "categorical", "categories": 2},
        ...                                 "Y": {"type": "continuous", "features": 2}},
        ...                   "treatment": "T", "outcome": "Y", "edges": ["T -> Y"]}).outcome
        'Y'
        >>> Design.from_dict({"variables": {v: {"type": "categorical", "categories": 2} for v in "ABC"}}).causal
        False
        """
        if not isinstance(spec, Mapping):
            raise DesignError(f"a design must be a mapping, got {type(spec).__name__}")
        unknown = sorted(set(spec) - _TOP_KEYS)
        if unknown:
            raise DesignError(f"unknown field '{unknown[0]}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
        latent = spec.get("latent", {}) or {}
        if not isinstance(latent, Mapping):
            raise DesignError("field 'latent' must be a mapping like {name: U, classes: 2}")
        bad = sorted(set(latent) - {"name", "classes", "observed"})
        if bad:
            raise DesignError(f"unknown field 'latent.{bad[0]}'")
        raw_vars = spec.get("variables")
        if not isinstance(raw_vars, Mapping) or not raw_vars:
            raise DesignError("field 'variables' must be a non-empty mapping of name -> {type, ...}")
        variables = tuple(_parse_variable(name, v) for name, v in raw_vars.items())
        treatment, outcome = (None if spec.get(key) is None else _str_field(spec[key], key)
                               for key in ("treatment", "outcome"))
        _check_pair(treatment, outcome)
        edges = tuple(_parse_edge(e, i) for i, e in enumerate(_as_list(spec.get("edges", []), "edges")))
        roles = _parse_roles(spec.get("roles"))
        classes = latent.get("classes", 2)
        observed = latent.get("observed", False)
        if not isinstance(observed, bool):
            raise DesignError(f"field 'latent.observed' must be true or false, got {observed!r}")
        return cls(
            variables=variables,
            treatment=treatment,
            outcome=outcome,
            edges=edges,
            classes=classes,
            latent=_str_field(latent.get("name", "U"), "latent.name"),
            latent_observed=observed,
            roles=roles,
            name=_str_field(spec.get("name", "design"), "name"),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Design:
        """Read a design from a ``.yaml``/``.yml`` or ``.json`` file (YAML is loaded safely).

        Examples
        --------
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "d.yaml")
        >>> _ = open(p, "w").write("variables: {T: {type: categorical, categories: 2}, "
        ...                        "Y: {type: categorical, categories: 2}}\\ntreatment: T\\noutcome: Y\\n")
        >>> Design.from_file(p).names
        ('T', 'Y')
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise DesignError(f"cannot read design file '{path}': {exc.strerror or exc}") from None
        try:
            if path.suffix.lower() == ".json":
                spec = json.loads(text, object_pairs_hook=_no_duplicate_pairs)
            else:
                spec = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        except DesignError:
            raise
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise DesignError(f"cannot parse design file '{path}': {first}") from None
        design = cls.from_dict(spec if spec is not None else {})
        if "name" not in (spec or {}):
            object.__setattr__(design, "name", path.stem)
        return design

    @classmethod
    def from_graph(
        cls,
        graph: nx.DiGraph,
        treatment: str | None = None,
        outcome: str | None = None,
        classes: int = 2,
        latent: str = "U",
        categories: int | Mapping[str, int] = 2,
        latent_observed: bool = False,
        name: str = "graph",
    ) -> Design:
        """Build a design from a networkx DiGraph over the observed variables.

        Node attributes ``type`` (``categorical``/``continuous``), ``categories`` and ``features`` override
        the ``categories`` argument. A node named like the latent is allowed only as a source (its edges
        are implied anyway). Without ``treatment`` and ``outcome`` the design is a plain latent class model.

        Examples
        --------
        >>> import networkx as nx
        >>> g = nx.DiGraph([("A", "Trt"), ("Trt", "Out")]); g.add_node("B")
        >>> Design.from_graph(g, "Trt", "Out").names
        ('A', 'Trt', 'Out', 'B')
        """
        if not isinstance(graph, nx.DiGraph):
            raise DesignError(f"from_graph needs a networkx DiGraph, got {type(graph).__name__}")
        variables = []
        for node, attrs in graph.nodes(data=True):
            if node == latent:
                continue
            if not isinstance(node, str):
                raise DesignError(f"variable names must be strings, got {node!r}")
            spec = {"type": attrs.get("type", "categorical")}
            if spec["type"] == "continuous":
                spec["features"] = attrs.get("features", 2)
            else:
                default = categories.get(node, 2) if isinstance(categories, Mapping) else categories
                spec["categories"] = attrs.get("categories", default)
            variables.append(_parse_variable(node, spec))
        edges = []
        for a, b in graph.edges():
            if b == latent:
                raise DesignError(f"edge '{a} -> {b}' points into the latent class {latent}")
            if a != latent:
                edges.append((a, b))
        return cls(tuple(variables), treatment, outcome, tuple(edges), classes, latent, latent_observed,
                   None, name)

    @classmethod
    def latent_class(
        cls,
        items: Mapping[str, int] | Iterable[str],
        classes: int = 2,
        *,
        edges: Iterable[str | tuple[str, str]] = (),
        latent: str = "U",
        name: str = "latent-class",
    ) -> Design:
        """A plain latent class model: categorical items that depend on the class U only (no treatment).

        Parameters
        ----------
        items : mapping of name -> categories, or list of names
            The observed items; a list declares binary items.
        classes : int
            Number k of latent classes.
        edges : list of ``"A -> B"`` or pairs, optional
            Direct dependences between items (local dependence); none by default.
        latent, name : str
            Name of the latent class variable, and a label for reports.

        Examples
        --------
        >>> d = Design.latent_class(list("ABCDEFG"), classes=3, name="carcinoma")
        >>> d.names, d.classes, d.causal, d.variable("A").dim
        (('A', 'B', 'C', 'D', 'E', 'F', 'G'), 3, False, 2)
        >>> Design.latent_class({"Q1": 3, "Q2": 3, "Q3": 4}).variable("Q3").dim
        4
        """
        if isinstance(items, Mapping):
            sizes = dict(items)
        elif isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise DesignError(f"field 'variables' (items) must be a list of names or a mapping name -> "
                              f"categories, got {items!r}")
        else:
            names = list(items)
            sizes = {n: 2 for n in names}
            if len(sizes) != len(names):
                dup = next(n for n in names if names.count(n) > 1)
                raise DesignError(f"duplicate variable '{dup}' in field 'variables'")
        if not sizes:
            raise DesignError("field 'variables' must declare at least one item")
        variables = tuple(_parse_variable(n, {"type": "categorical", "categories": c}) for n, c in sizes.items())
        parsed = tuple(_parse_edge(e, i) for i, e in enumerate(_as_list(edges, "edges")))
        return cls(variables, None, None, parsed, classes, latent, False, None, name)

    @classmethod
    def builtin(cls, name: str) -> Design:
        """One of the paper's designs: ``paper-level1`` ... ``paper-level4`` (binary, k = 2).

        Examples
        --------
        >>> Design.builtin("paper-level4").edges
        (('Z', 'T'), ('T', 'Y'), ('X', 'Y'))
        """
        from .builtins import BUILTINS

        try:
            return cls.from_dict(BUILTINS[name])
        except KeyError:
            raise DesignError(f"unknown built-in design '{name}' (known: {', '.join(BUILTINS)})") from None

    @classmethod
    def load(cls, source: str | Path | Design) -> Design:
        """A built-in name, a design file path, or a Design (returned unchanged)."""
        if isinstance(source, Design):
            return source
        from .builtins import BUILTINS

        if str(source) in BUILTINS:
            return cls.builtin(str(source))
        path = Path(source)
        if not path.exists():
            raise DesignError(f"design '{source}' is neither a file nor a built-in ({', '.join(BUILTINS)})")
        return cls.from_file(path)

    # ------------------------------------------------------------------------------------ conversions
    def to_dict(self) -> dict[str, Any]:
        """The design-file mapping of this design (round-trips through :meth:`from_dict`).

        A plain latent class model has no ``treatment`` and ``outcome`` keys.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "latent": {"name": self.latent, "classes": self.classes, "observed": self.latent_observed},
            "variables": {v.name: v.to_dict() for v in self.variables},
        }
        if self.causal:
            out["treatment"], out["outcome"] = self.treatment, self.outcome
        out["edges"] = [f"{a} -> {b}" for a, b in self.edges]
        if self.roles is not None:
            out["roles"] = self.roles.to_dict()
        return out

    def rename(self, mapping: Mapping[str, str]) -> Design:
        """The same design with variables (and possibly the latent) renamed; order and roles follow."""
        r = lambda n: n if n is None else mapping.get(n, n)  # noqa: E731
        roles = None
        if self.roles is not None:
            roles = Roles(tuple(map(r, self.roles.treatment_side)), tuple(map(r, self.roles.outcome_side)))
        return Design(tuple(Variable(r(v.name), v.type, v.size) for v in self.variables), r(self.treatment),
                      r(self.outcome), tuple((r(a), r(b)) for a, b in self.edges), self.classes,
                      r(self.latent), self.latent_observed, roles, self.name)

    def latex(self) -> str:
        """The DAG's edges in LaTeX (U's edges summarised), then the treatment and outcome if any.

        Examples
        --------
        >>> print(Design.latent_class(["A", "B", "C"]).latex())
        U\\ (latent,\\ k=2) \\to \\text{all};\\ \\text{no observed edges};\\ \\text{latent class model: no treatment}
        """
        from .latex import tex_name

        arrows = ", ".join(f"{tex_name(a)} \\to {tex_name(b)}" for a, b in self.edges) or "\\text{no observed edges}"
        obs = "observed" if self.latent_observed else "latent"
        roles = (f"\\text{{treatment }} {tex_name(self.treatment)},\\ \\text{{outcome }} {tex_name(self.outcome)}"
                 if self.causal else "\\text{latent class model: no treatment}")
        return f"{tex_name(self.latent)}\\ ({obs},\\ k={self.classes}) \\to \\text{{all}};\\ {arrows};\\ {roles}"

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"


# ----------------------------------------------------------------------------------------- validation
def _validate(d: Design) -> None:
    if isinstance(d.classes, bool) or not isinstance(d.classes, int) or d.classes < 1:
        raise DesignError(f"field 'latent.classes' must be an integer >= 1, got {d.classes!r}")
    _check_name(d.latent, "latent.name")
    if not d.variables:
        raise DesignError("field 'variables' must declare at least one variable")
    seen: set[str] = set()
    for v in d.variables:
        _check_name(v.name, f"variables.{v.name}")
        if v.name in seen:
            raise DesignError(f"duplicate variable '{v.name}' in field 'variables'")
        if v.name == d.latent:
            raise DesignError(f"variable '{v.name}' has the latent class's name; rename one of them")
        seen.add(v.name)
    _check_pair(d.treatment, d.outcome)
    if d.causal:
        for key in ("treatment", "outcome"):
            value = getattr(d, key)
            if value not in seen:
                raise DesignError(f"field '{key}' names '{value}', which is not a declared variable")
        if d.treatment == d.outcome:
            raise DesignError("fields 'treatment' and 'outcome' name the same variable")
        t = next(v for v in d.variables if v.name == d.treatment)
        if not t.categorical or t.size != 2:
            raise DesignError(f"treatment '{t.name}' must be categorical with 2 categories (binary)")
    pairs = set()
    for a, b in d.edges:
        where = f"edge '{a} -> {b}'"
        if b == d.latent:
            raise DesignError(f"{where} points into the latent class {d.latent}; U has no parents")
        if a == d.latent:
            raise DesignError(f"{where}: edges from {d.latent} are implied; list only observed edges")
        for n in (a, b):
            if n not in seen:
                raise DesignError(f"{where} names unknown variable '{n}'")
        if a == b:
            raise DesignError(f"{where} is a self-loop")
        if (a, b) in pairs:
            raise DesignError(f"{where} is listed twice")
        pairs.add((a, b))
    g = nx.DiGraph(list(d.edges))
    try:
        cycle = nx.find_cycle(g)
        raise DesignError("field 'edges' has a cycle: " + " -> ".join([a for a, _ in cycle] + [cycle[0][0]]))
    except nx.NetworkXNoCycle:
        pass
    if d.causal and d.treatment in g and d.outcome in g and nx.has_path(g, d.outcome, d.treatment):
        raise DesignError(f"outcome '{d.outcome}' is an ancestor of treatment '{d.treatment}' (edges)")
    kinds = {v.name: v for v in d.variables}
    for a, b in d.edges:
        if not kinds[a].categorical:
            raise DesignError(f"edge '{a} -> {b}': continuous variable '{a}' cannot have children; "
                              "only categorical variables may be parents")
    if d.roles is not None:
        if not d.causal:
            raise DesignError("field 'roles' needs a treatment and an outcome (proxy roles are relative to them)")
        for key in _ROLE_KEYS:
            for n in getattr(d.roles, key):
                if n not in seen:
                    raise DesignError(f"field 'roles.{key}' names unknown variable '{n}'")
                if n in (d.treatment, d.outcome):
                    raise DesignError(f"field 'roles.{key}' may not contain the treatment or outcome ('{n}')")
        both = set(d.roles.treatment_side) & set(d.roles.outcome_side)
        if both:
            raise DesignError(f"field 'roles': '{sorted(both)[0]}' is both treatment_side and outcome_side")


def _check_pair(treatment: Any, outcome: Any) -> None:
    """Treatment and outcome come together: both (a causal design) or neither (a plain latent class model)."""
    if treatment is not None and outcome is None:
        raise DesignError("missing field 'outcome': a design with a treatment needs an outcome "
                          "(omit both for a plain latent class model)")
    if outcome is not None and treatment is None:
        raise DesignError("missing field 'treatment': a design with an outcome needs a treatment "
                          "(omit both for a plain latent class model)")
    for key, value in (("treatment", treatment), ("outcome", outcome)):
        if value is not None and not isinstance(value, str):
            raise DesignError(f"field '{key}' must be a string, got {value!r}")


def _check_name(name: Any, where: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DesignError(f"field '{where}': {name!r} is not a valid name (letters, digits, _; a letter first)")


def _str_field(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DesignError(f"field '{where}' must be a string, got {value!r}")
    return value


def _as_list(value: Any, where: str) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DesignError(f"field '{where}' must be a list")
    return list(value)


def _int_field(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DesignError(f"field '{where}' must be an integer >= {minimum}, got {value!r}")
    return value


def _parse_variable(name: Any, spec: Any) -> Variable:
    where = f"variables.{name}"
    _check_name(name, where)
    if not isinstance(spec, Mapping):
        raise DesignError(f"field '{where}' must be a mapping like {{type: categorical, categories: 2}}")
    kind = spec.get("type", "categorical")
    if kind == "categorical":
        allowed, key, minimum = {"type", "categories"}, "categories", 2
    elif kind == "continuous":
        allowed, key, minimum = {"type", "features"}, "features", 2
    else:
        raise DesignError(f"field '{where}.type' must be 'categorical' or 'continuous', got {kind!r}")
    extra = sorted(set(spec) - allowed)
    if extra:
        raise DesignError(f"unknown field '{where}.{extra[0]}' for a {kind} variable")
    if key not in spec:
        raise DesignError(f"missing field '{where}.{key}'")
    return Variable(name, kind, _int_field(spec[key], f"{where}.{key}", minimum))


def _parse_edge(edge: Any, i: int) -> tuple[str, str]:
    if isinstance(edge, str):
        m = _EDGE.match(edge)
        if not m:
            raise DesignError(f"field 'edges[{i}]': {edge!r} is not of the form 'A -> B'")
        return m.group(1), m.group(2)
    if isinstance(edge, (list, tuple)) and len(edge) == 2 and all(isinstance(x, str) for x in edge):
        return edge[0], edge[1]
    raise DesignError(f"field 'edges[{i}]': {edge!r} is not of the form 'A -> B' or [A, B]")


def _parse_roles(raw: Any) -> Roles | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise DesignError("field 'roles' must be a mapping {treatment_side: [...], outcome_side: [...]}")
    extra = sorted(set(raw) - set(_ROLE_KEYS))
    if extra:
        raise DesignError(f"unknown field 'roles.{extra[0]}'")
    out = []
    for key in _ROLE_KEYS:
        names = _as_list(raw.get(key, []), f"roles.{key}")
        if not names:
            raise DesignError(f"field 'roles.{key}' must list at least one variable")
        if len(set(names)) != len(names):
            raise DesignError(f"field 'roles.{key}' lists a variable twice")
        out.append(tuple(_str_field(n, f"roles.{key}") for n in names))
    return Roles(*out)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise DesignError(f"duplicate key '{key}' in design file (line {key_node.start_mark.line + 1})")
        keys.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise DesignError(f"duplicate key '{k}' in design file")
        out[k] = v
    return out
