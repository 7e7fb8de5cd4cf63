"""Causal mixture designs: a DAG over observed variables plus a latent class U that causes every one of them.

A design names a binary treatment and an outcome among its variables, or neither: without them it is a plain
latent class model (for instance seven raters of the same slides, no edges, k classes), whose targets are the
class labels and the full mixture only.

A :class:`Design` is a small frozen value. It is built from a YAML/JSON file (schema in docs/design_files.md), a plain
mapping, a networkx ``DiGraph`` or by name (the paper's four designs), and it is validated once, on
construction: every malformed field raises :class:`DesignError` naming that field.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import yaml

from .errors import DesignError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # matched whole (fullmatch): "A\n" is not a name

# What a design may ask for, checked before any work (docs/design_files.md lists them). A design within these
# bounds may still be too large for a given computation (estimation bounds the classes and parameters further).
MAX_FILE_BYTES = 1 << 20  # a design file
MAX_DEPTH = 12  # nesting of mappings and lists in a design file
MAX_INT_DIGITS = 18  # an integer in a design file
MAX_NAME_LENGTH = 64  # a variable or latent name
MAX_LABEL_LENGTH = 200  # the design's name (a label for reports)
MAX_VARIABLES = 100
MAX_CLASSES = 10**9  # loads (identify answers such a design by counting dimensions); estimate bounds it further
MAX_CATEGORIES = 1000
MAX_FEATURES = 20
MAX_PARENT_STATES = 10**4  # joint states of one variable's observed parents
MAX_EDGES = MAX_VARIABLES * (MAX_VARIABLES - 1) // 2


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message never echoes an unbounded value.

    Examples
    --------
    >>> shown("x" * 100, 10)
    "'xxxxx...(102 characters)"
    """
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...({len(text)} characters)"
_EDGE = re.compile(r"^\s*([^\s\-<>]+)\s*->\s*([^\s\-<>]+)\s*$")
_TOP_KEYS = {"name", "latent", "variables", "items", "categories", "treatment", "outcome", "edges", "roles",
             "covariates"}
_ROLE_KEYS = ("treatment_side", "outcome_side")


@dataclass(frozen=True)
class Variable:
    """An observed variable.

    ``categorical`` variables take integer codes ``0..categories-1``; ``labels``, when given, are the values the
    data hold, in code order (the first label is code 0), and data are mapped to codes on read. A ``continuous``
    variable enters through the features ``1, v, ..., v**(features-1)``, whose class-conditional means are free
    parameters. A continuous variable with ``distribution="normal"`` is also a normal law given its parents and U
    (a mean per parent state and class, a variance per class or, with ``variance="shared"``, one), which maximum
    likelihood uses; its moments (features 1, v, v**2 by default) are what placement and minimum distance see.

    Examples
    --------
    >>> Variable("Z", "categorical", 3).dim
    3
    >>> Variable("A", "categorical", 2, ("no", "yes")).to_dict()
    {'type': 'categorical', 'categories': ['no', 'yes']}
    >>> Variable("Y", "continuous", 3, distribution="normal").to_dict()
    {'type': 'continuous', 'features': 3, 'distribution': 'normal', 'variance': 'class'}
    """

    name: str
    type: str = "categorical"
    size: int = 2  # categories (categorical) or features (continuous)
    labels: tuple | None = None  # the data's values of the categories, in code order (None: the codes themselves)
    distribution: str | None = None  # "normal" (continuous only): the law maximum likelihood fits
    variance: str = "class"  # a normal variable's variance: one per class ("class") or one for all ("shared")

    @property
    def dim(self) -> int:
        """Length of the variable's feature vector: one-hot categories, or monomial features."""
        return self.size

    @property
    def categorical(self) -> bool:
        return self.type == "categorical"

    def to_dict(self) -> dict[str, Any]:
        key = "categories" if self.categorical else "features"
        out = {"type": self.type, key: list(self.labels) if self.labels is not None else self.size}
        if self.distribution is not None:
            out.update(distribution=self.distribution, variance=self.variance)
        return out

    def category_names(self) -> list[str]:
        """The categories as reports show them: the labels, or the codes ``0..c-1``.

        Examples
        --------
        >>> Variable("A", "categorical", 2, (1, 2)).category_names()
        ['1', '2']
        """
        return [str(v) for v in (self.labels if self.labels is not None else range(self.size))]

    @property
    def normal(self) -> bool:
        """Whether maximum likelihood models the variable as normal given its parents and U."""
        return self.distribution == "normal"


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
    covariates : tuple of str
        Observed numeric columns that cause the class U and nothing else (latent class regression): P(U | W) is a
        multinomial logit in them, class 0 the reference. They are not variables of the mixture: the model of
        the variables given U, and so its identification, is the one without them.

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
    covariates: tuple[str, ...] = ()
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
        unknown = [key for key in spec if key not in _TOP_KEYS]
        if unknown:
            raise DesignError(f"unknown field {shown(unknown[0])} (allowed: {', '.join(sorted(_TOP_KEYS))})")
        latent = spec.get("latent", {}) or {}
        if not isinstance(latent, Mapping):
            raise DesignError("field 'latent' must be a mapping like {name: U, classes: 2}")
        bad = [key for key in latent if key not in ("name", "classes", "observed")]
        if bad:
            raise DesignError(f"unknown field 'latent.{str(bad[0])[:40]}'")
        treatment, outcome = (None if spec.get(key) is None else _str_field(spec[key], key)
                               for key in ("treatment", "outcome"))
        _check_pair(treatment, outcome)
        if "items" in spec:
            variables = _parse_items(spec, treatment is not None)
        else:
            if "categories" in spec:
                raise DesignError("field 'categories' at the top of a design goes with 'items: [...]' (one "
                                  "categories for every item); with 'variables' give each its own categories")
            raw_vars = spec.get("variables")
            if not isinstance(raw_vars, Mapping) or not raw_vars:
                raise DesignError("field 'variables' must be a non-empty mapping of name -> {type, ...} (or list "
                                  "'items: [A, B, ...]' with one 'categories' for a plain latent class design)")
            if len(raw_vars) > MAX_VARIABLES:
                raise DesignError(f"field 'variables' declares {len(raw_vars)} variables (at most {MAX_VARIABLES})")
            variables = tuple(_parse_variable(name, v) for name, v in raw_vars.items())
        edges = tuple(_parse_edge(e, i) for i, e in enumerate(_as_list(spec.get("edges", []), "edges")))
        roles = _parse_roles(spec.get("roles"))
        covariates = _parse_covariates(spec.get("covariates", []))
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
            covariates=covariates,
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
        from .files import read_bounded

        path = Path(path)
        raw = read_bounded(path, MAX_FILE_BYTES, "design")  # a regular file only: no FIFO, no /dev/zero
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DesignError(f"design file {shown(str(path))} is not UTF-8 text (byte {exc.start})") from None
        if "\x00" in text:
            raise DesignError(f"design file {shown(str(path))} is a binary file, not YAML or JSON text")
        try:
            if path.suffix.lower() == ".json":
                spec = json.loads(text, object_pairs_hook=_no_duplicate_pairs, parse_int=_bounded_int)
            else:
                spec = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        except DesignError as exc:
            raise DesignError(f"design file {shown(str(path))}: {exc}") from None
        except RecursionError:
            raise DesignError(f"design file {shown(str(path))} is nested too deeply (at most {MAX_DEPTH} "
                              "levels)") from None
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            first = str(exc).strip().splitlines()[0][:200]
            raise DesignError(f"cannot parse design file {shown(str(path))}: {first}") from None
        _check_depth(spec, str(path))
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
        categories: int | Iterable = 2,
        edges: Iterable[str | tuple[str, str]] = (),
        latent: str = "U",
        name: str = "latent-class",
        covariates: Iterable[str] = (),
    ) -> Design:
        """A plain latent class model: categorical items that depend on the class U only (no treatment).

        Parameters
        ----------
        items : mapping of name -> categories, or list of names
            The observed items; a list declares items with ``categories`` each. A categories entry is a count
            or the list of values the data hold (the first is code 0).
        classes : int
            Number k of latent classes.
        edges : list of ``"A -> B"`` or pairs, optional
            Direct dependences between items (local dependence); none by default.
        latent, name : str
            Name of the latent class variable, and a label for reports.
        covariates : list of str, optional
            Numeric data columns that cause the class (latent class regression: P(U | covariates) is a
            multinomial logit, class 0 the reference).

        Examples
        --------
        >>> d = Design.latent_class(list("ABCDEFG"), classes=3, name="carcinoma")
        >>> d.names, d.classes, d.causal, d.variable("A").dim
        (('A', 'B', 'C', 'D', 'E', 'F', 'G'), 3, False, 2)
        >>> Design.latent_class({"Q1": 3, "Q2": 3, "Q3": 4}).variable("Q3").dim
        4
        >>> Design.latent_class(["A", "B", "C"], categories=[1, 2]).variable("B").labels
        (1, 2)
        >>> Design.latent_class(["A", "B", "C"], covariates=["age"]).covariates
        ('age',)
        """
        if isinstance(items, Mapping):
            sizes = dict(items)
        elif isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise DesignError(f"field 'variables' (items) must be a list of names or a mapping name -> "
                              f"categories, got {items!r}")
        else:
            names = list(items)
            if not isinstance(categories, (int, str, bytes)) and isinstance(categories, Iterable):
                categories = list(categories)
            sizes = {n: categories for n in names}
            if len(sizes) != len(names):
                dup = next(n for n in names if names.count(n) > 1)
                raise DesignError(f"duplicate variable '{dup}' in field 'variables'")
        if not sizes:
            raise DesignError("field 'variables' must declare at least one item")
        variables = tuple(_parse_variable(n, {"type": "categorical", "categories": c}) for n, c in sizes.items())
        parsed = tuple(_parse_edge(e, i) for i, e in enumerate(_as_list(edges, "edges")))
        return cls(variables, None, None, parsed, classes, latent, False, None, name,
                   _parse_covariates(list(covariates) if not isinstance(covariates, (str, bytes)) else covariates))

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
        if not isinstance(source, (str, os.PathLike)):
            raise DesignError(f"a design must be a Design, a built-in name or a design file path, got "
                              f"{type(source).__name__}")
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
        if self.covariates:
            out["covariates"] = list(self.covariates)
        return out

    def without_covariates(self) -> Design:
        """The same design without its covariates: the model of the variables given U, whose identification is
        what a design with covariates states (given W, the measurement part is this design's mixture).

        Examples
        --------
        >>> d = Design.from_dict({"items": ["A", "B", "C"], "covariates": ["age"]})
        >>> d.covariates, d.without_covariates().covariates
        (('age',), ())
        """
        return dataclasses.replace(self, covariates=())

    def rename(self, mapping: Mapping[str, str]) -> Design:
        """The same design with variables (and possibly the latent) renamed; order and roles follow."""
        r = lambda n: n if n is None else mapping.get(n, n)  # noqa: E731
        roles = None
        if self.roles is not None:
            roles = Roles(tuple(map(r, self.roles.treatment_side)), tuple(map(r, self.roles.outcome_side)))
        return Design(tuple(dataclasses.replace(v, name=r(v.name)) for v in self.variables), r(self.treatment),
                      r(self.outcome), tuple((r(a), r(b)) for a, b in self.edges), self.classes,
                      r(self.latent), self.latent_observed, roles, self.name, self.covariates)

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
        raise DesignError(f"field 'latent.classes' must be an integer >= 1, got {shown(d.classes)}")
    if d.classes > MAX_CLASSES:
        raise DesignError(f"field 'latent.classes' is {d.classes:.3g}, over the limit of {MAX_CLASSES:.0e}")
    _check_name(d.latent, "latent.name")
    if not isinstance(d.name, str) or len(d.name) > MAX_LABEL_LENGTH or not d.name.isprintable():
        raise DesignError(f"field 'name' must be printable text of at most {MAX_LABEL_LENGTH} characters, got "
                          f"{shown(d.name)}")
    if not isinstance(d.variables, tuple) or not d.variables:
        raise DesignError("field 'variables' must declare at least one variable")
    if len(d.variables) > MAX_VARIABLES:
        raise DesignError(f"field 'variables' declares {len(d.variables)} variables (at most {MAX_VARIABLES})")
    if len(d.edges) > MAX_EDGES:
        raise DesignError(f"field 'edges' lists {len(d.edges)} edges (at most {MAX_EDGES})")
    for v in d.variables:
        if not isinstance(v, Variable):
            raise DesignError(f"field 'variables' must hold Variable values, got {shown(v)}")
        _check_size(v)
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
    _check_covariates(d, seen)
    pairs = set()
    for a, b in d.edges:
        where = f"edge '{a} -> {b}'"
        if b == d.latent and a in d.covariates:
            raise DesignError(f"{where}: covariate '{a}' is a cause of {d.latent} already (covariates: [...]); "
                              "remove the edge")
        if b == d.latent:
            raise DesignError(f"{where} points into the latent class {d.latent}; an observed numeric cause of "
                              f"{d.latent} is declared as a covariate (covariates: [{a}]), not as an edge")
        for n in (a, b):
            if n in d.covariates:
                raise DesignError(f"{where}: covariate '{n}' is a cause of {d.latent} only; it has no parents and "
                                  "no edges to the variables")
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
    states: dict[str, int] = {}
    for a, b in d.edges:
        states[b] = states.get(b, 1) * kinds[a].size
        if states[b] > MAX_PARENT_STATES:
            raise DesignError(f"variable '{b}': its parents take over {MAX_PARENT_STATES:,} joint states (at most "
                              f"{MAX_PARENT_STATES:,}; each is a table row per class)")
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
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise DesignError(f"field '{where[:80]}': {shown(name)} is not a valid name (letters, digits, _; a letter "
                          f"first; at most {MAX_NAME_LENGTH} characters)")


def _check_size(v: Variable) -> None:
    limit, key = (MAX_CATEGORIES, "categories") if v.categorical else (MAX_FEATURES, "features")
    if v.labels is not None:
        if not v.categorical:
            raise DesignError(f"variable '{v.name}': only a categorical variable has category values (labels)")
        if not isinstance(v.labels, tuple) or _parse_labels(v.labels, f"variables.{v.name}.categories") is None \
                or len(v.labels) != v.size:
            raise DesignError(f"variable '{v.name}': its {v.size} categories need {v.size} values, got "
                              f"{shown(v.labels)}")
    if isinstance(v.size, bool) or not isinstance(v.size, int) or v.size < 2:
        raise DesignError(f"field 'variables.{v.name}.{key}' must be an integer >= 2, got {shown(v.size)}")
    if v.size > limit:
        raise DesignError(f"field 'variables.{v.name}.{key}' is {v.size:.3g}, over the limit of {limit}")


def _str_field(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DesignError(f"field '{where}' must be a string, got {shown(value)}")
    return value


def _as_list(value: Any, where: str) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DesignError(f"field '{where}' must be a list")
    if isinstance(value, Sized) and len(value) > MAX_EDGES:
        raise DesignError(f"field '{where}' has {len(value)} entries (at most {MAX_EDGES})")
    return list(value)


def _int_field(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DesignError(f"field '{where}' must be an integer >= {minimum}, got {shown(value)}")
    return value


def _parse_variable(name: Any, spec: Any) -> Variable:
    _check_name(name, "variables")
    where = f"variables.{name}"
    if not isinstance(spec, Mapping):
        raise DesignError(f"field '{where}' must be a mapping like {{type: categorical, categories: 2}}")
    kind = spec.get("type", "categorical")
    if kind == "categorical":
        allowed, key, minimum = {"type", "categories"}, "categories", 2
    elif kind == "continuous":
        allowed, key, minimum = {"type", "features", "distribution", "variance"}, "features", 2
    else:
        raise DesignError(f"field '{where}.type' must be 'categorical' or 'continuous', got {shown(kind)}")
    extra = [key for key in spec if key not in allowed]
    if extra:
        raise DesignError(f"unknown field '{where}.{str(extra[0])[:40]}' for a {kind} variable")
    distribution, variance = spec.get("distribution"), spec.get("variance")
    if distribution is not None and distribution != "normal":
        raise DesignError(f"field '{where}.distribution' must be 'normal', got {shown(distribution)}")
    if variance is not None and distribution is None:
        raise DesignError(f"field '{where}.variance' needs 'distribution: normal'")
    if variance is not None and variance not in ("class", "shared"):
        raise DesignError(f"field '{where}.variance' must be 'class' or 'shared', got {shown(variance)}")
    if distribution == "normal" and key not in spec:  # mean and variance: the features 1, v, v^2
        spec = {**spec, key: 3}
    if key not in spec:
        raise DesignError(f"missing field '{where}.{key}'")
    if kind == "categorical" and isinstance(spec[key], (list, tuple)):
        labels = _parse_labels(spec[key], f"{where}.{key}")
        variable = Variable(name, kind, len(labels), labels)
    else:
        variable = Variable(name, kind, _int_field(spec[key], f"{where}.{key}", minimum), distribution=distribution,
                            variance=variance or "class")
    _check_size(variable)
    return variable


def _parse_labels(raw: Any, where: str) -> tuple:
    """The values a categorical variable's data hold, in code order: distinct text or finite numbers."""
    if len(raw) < 2:
        raise DesignError(f"field '{where}' must list at least 2 values, got {shown(raw)}")
    if len(raw) > MAX_CATEGORIES:
        raise DesignError(f"field '{where}' lists {len(raw):,} values (at most {MAX_CATEGORIES})")
    for value in raw:
        if isinstance(value, bool):  # YAML 1.1 reads unquoted yes/no/on/off/true/false as booleans
            raise DesignError(f"field '{where}': {value!r} is a boolean (YAML reads unquoted yes, no, true, false, "
                              "on and off as booleans); quote the values, e.g. [\"no\", \"yes\"]")
        if isinstance(value, str):
            if not value or len(value) > MAX_LABEL_LENGTH or not value.isprintable():
                raise DesignError(f"field '{where}': {shown(value)} is not a category value (printable text of 1 "
                                  f"to {MAX_LABEL_LENGTH} characters, or a number)")
        elif not (isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))):
            raise DesignError(f"field '{where}': {shown(value)} is not a category value (text or a finite number)")
    kinds = {isinstance(v, str) for v in raw}
    if len(kinds) > 1:
        raise DesignError(f"field '{where}' mixes text and numbers ({shown(list(raw))}); give all as text "
                          "(quoted) or all as numbers")
    seen: list = []
    for value in raw:
        if value in seen:  # 1 and 1.0 are the same value of a numeric column
            raise DesignError(f"field '{where}' lists the value {shown(value)} twice")
        seen.append(value)
    return tuple(raw)


_ITEM_KEYS = {"name", "latent", "items", "categories", "edges", "covariates"}


def _parse_items(spec: Mapping[str, Any], causal: bool) -> tuple[Variable, ...]:
    """``items: [A, B, ...]`` with one ``categories`` (a count or the values): a plain latent class design."""
    if causal:
        raise DesignError("field 'items' declares a plain latent class design; a design with a treatment and an "
                          "outcome declares them under 'variables'")
    extra = [key for key in spec if key not in _ITEM_KEYS]
    if extra:
        raise DesignError(f"field {shown(extra[0])} does not go with 'items' (a design with items may have "
                          f"{', '.join(sorted(_ITEM_KEYS))})")
    items = spec["items"]
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)) or not items:
        raise DesignError("field 'items' must be a non-empty list of names, like [A, B, C]")
    if len(items) > MAX_VARIABLES:
        raise DesignError(f"field 'items' lists {len(items)} items (at most {MAX_VARIABLES})")
    dup = next((n for i, n in enumerate(items) if n in items[:i]), None)
    if dup is not None:
        raise DesignError(f"field 'items' lists {shown(dup)} twice")
    categories = spec.get("categories", 2)
    if isinstance(categories, (list, tuple)):
        _parse_labels(categories, "categories")  # checked once, named as the user wrote it
    else:
        _int_field(categories, "categories", 2)
    return tuple(_parse_variable(name, {"type": "categorical", "categories": categories}) for name in items)


def _parse_edge(edge: Any, i: int) -> tuple[str, str]:
    if isinstance(edge, str):
        m = _EDGE.match(edge)
        if not m:
            raise DesignError(f"field 'edges[{i}]': {shown(edge)} is not of the form 'A -> B'")
        return m.group(1), m.group(2)
    if isinstance(edge, (list, tuple)) and len(edge) == 2 and all(isinstance(x, str) for x in edge):
        return edge[0], edge[1]
    raise DesignError(f"field 'edges[{i}]': {shown(edge)} is not of the form 'A -> B' or [A, B]")


def _parse_covariates(raw: Any) -> tuple[str, ...]:
    """``covariates: [age, region]``: the names of numeric columns that cause U (checked by ``_validate``)."""
    if raw is None:
        return ()
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
        raise DesignError(f"field 'covariates' must be a list of column names, like [age, region], got {shown(raw)}")
    return tuple(raw)


def _check_covariates(d: Design, variables: set[str]) -> None:
    """Covariates are distinct valid names, none of them a variable of the design or the latent class."""
    if not isinstance(d.covariates, tuple):
        raise DesignError(f"field 'covariates' must be a tuple of names, got {shown(d.covariates)}")
    if len(d.covariates) > MAX_VARIABLES:
        raise DesignError(f"field 'covariates' lists {len(d.covariates)} columns (at most {MAX_VARIABLES})")
    for i, name in enumerate(d.covariates):
        _check_name(name, f"covariates[{i}]")
        if name in d.covariates[:i]:
            raise DesignError(f"field 'covariates' lists '{name}' twice")
        if name in variables:
            raise DesignError(f"'{name}' is both a variable (item) of the design and a covariate; a covariate is a "
                              f"cause of {d.latent} only, not a variable of the mixture")
        if name == d.latent:
            raise DesignError(f"covariate '{name}' has the latent class's name")
    if d.covariates and d.latent_observed:
        raise DesignError(f"covariates need a latent class: {d.latent} is observed (latent: {{observed: true}}), "
                          f"so P({d.latent} | covariates) is an ordinary regression outside the mixture")


def _parse_roles(raw: Any) -> Roles | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise DesignError("field 'roles' must be a mapping {treatment_side: [...], outcome_side: [...]}")
    extra = [key for key in raw if key not in _ROLE_KEYS]
    if extra:
        raise DesignError(f"unknown field 'roles.{str(extra[0])[:40]}'")
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
    """A SafeLoader for design files: duplicate keys, keys that are not text, anchors and aliases (a few hundred
    bytes of aliases expand to gigabytes), nesting deeper than ``MAX_DEPTH`` and integers longer than
    ``MAX_INT_DIGITS`` digits are refused with a DesignError, before anything is expanded."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise DesignError(f"YAML anchors and aliases (&name, *name) are not allowed (line "
                              f"{event.start_mark.line + 1})")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise DesignError(f"nested too deeply (at most {MAX_DEPTH} levels; line {event.start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            what = "a list" if isinstance(key, list) else "a mapping" if isinstance(key, dict) else shown(key)
            raise DesignError(f"a key must be text, got {what} (line {key_node.start_mark.line + 1})")
        if key in keys:
            raise DesignError(f"duplicate key {shown(key)} in design file (line {key_node.start_mark.line + 1})")
        keys.add(key)
    return loader.construct_mapping(node, deep)


def _construct_bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    _bounded_digits(node.value)
    return loader.construct_yaml_int(node)


def _bounded_digits(text: str) -> None:
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_INT_DIGITS:
        raise DesignError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")


def _bounded_int(text: str) -> int:
    _bounded_digits(text)
    return int(text)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _construct_bounded_int)


def _check_depth(spec: Any, where: str) -> None:
    """Refuse a parsed design nested deeper than ``MAX_DEPTH`` (JSON nests freely up to Python's recursion)."""
    level, depth = [spec], 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise DesignError(f"design file {shown(where)} is nested too deeply (at most {MAX_DEPTH} levels)")
        level = [x for item in level for x in (item.values() if isinstance(item, Mapping) else item
                                               if isinstance(item, list) else ())]


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise DesignError(f"duplicate key {shown(k)} in design file")
        out[k] = v
    return out
