"""Designs: construction from files, mappings and graphs; every DesignError path."""

from __future__ import annotations

import json
import re

import networkx as nx
import pytest
from mixid.identify.builtins import BUILTINS

from mixid import Design, DesignError

BIN = {"type": "categorical", "categories": 2}


def spec(**over):
    base = {"variables": {"Z": dict(BIN), "X": dict(BIN), "T": dict(BIN), "Y": dict(BIN)},
            "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]}
    base.update(over)
    return base


@pytest.mark.parametrize("name", list(BUILTINS))
def test_builtins_round_trip(name):
    d = Design.builtin(name)
    assert Design.from_dict(d.to_dict()) == d
    assert d.classes == 2 and all(v.dim == 2 for v in d.variables)


def test_builtin_structure():
    assert Design.builtin("paper-level1").latent_observed
    assert Design.builtin("paper-level2").edges == (("T", "Y"),)
    assert set(Design.builtin("paper-level4").edges) == {("Z", "T"), ("T", "Y"), ("X", "Y")}


def test_yaml_and_json_files(tmp_path):
    y = tmp_path / "d.yaml"
    y.write_text("name: mine\nlatent: {name: C, classes: 3}\nvariables:\n  A: {type: categorical, categories: 4}\n"
                 "  Tr: {type: categorical, categories: 2}\n  Out: {type: continuous, features: 3}\n"
                 "treatment: Tr\noutcome: Out\nedges: [A -> Tr, Tr -> Out]\n")
    d = Design.from_file(y)
    assert (d.name, d.latent, d.classes, d.parents("Out")) == ("mine", "C", 3, ("Tr",))
    assert d.variable("Out").dim == 3 and not d.variable("Out").categorical
    j = tmp_path / "d.json"
    j.write_text(json.dumps(d.to_dict()))
    assert Design.from_file(j) == d


def test_from_graph_and_names():
    g = nx.DiGraph([("alpha", "treat"), ("treat", "resp")])
    g.add_node("beta", categories=3)
    d = Design.from_graph(g, "treat", "resp", classes=2)
    assert d.variable("beta").dim == 3 and d.parents("treat") == ("alpha",)
    assert d.graph.has_edge("U", "beta")


def test_rename_keeps_structure():
    d = Design.builtin("paper-level4")
    r = d.rename({"Z": "Q", "Y": "Out"})
    assert r.outcome == "Out" and ("Q", "T") in r.edges and r.parents("Out") == ("X", "T")


def test_latex():
    assert "Z \\to T" in Design.builtin("paper-level3")._repr_latex_()


def test_graph_with_latent_source_is_accepted():
    g = nx.DiGraph([("U", "T"), ("T", "Y")])
    assert Design.from_graph(g, "T", "Y").names == ("T", "Y")


LC = {"variables": {n: dict(BIN) for n in "ABCDEFG"}}


def test_plain_latent_class_design_from_mapping_file_and_graph(tmp_path):
    d = Design.from_dict(dict(LC, latent={"classes": 3}, name="carcinoma"))
    assert (d.treatment, d.outcome, d.causal, d.classes, d.edges) == (None, None, False, 3, ())
    assert "treatment" not in d.to_dict() and "outcome" not in d.to_dict()
    assert Design.from_dict(d.to_dict()) == d
    assert Design.from_dict(dict(LC, treatment=None, outcome=None, latent={"classes": 3}, name="carcinoma")) == d
    f = tmp_path / "carcinoma.yaml"
    f.write_text("latent: {classes: 3}\nvariables:\n" + "".join(f"  {n}: {{categories: 2}}\n" for n in "ABCDEFG"))
    assert Design.from_file(f) == d
    j = tmp_path / "c.json"
    j.write_text(json.dumps(d.to_dict()))
    assert Design.from_file(j) == d
    g = nx.DiGraph()
    g.add_nodes_from("ABCDEFG")
    assert Design.from_graph(g, classes=3, name="carcinoma") == d


def test_latent_class_helper():
    d = Design.latent_class(list("ABCDEFG"), classes=3, name="carcinoma")
    assert d == Design.from_dict(dict(LC, latent={"classes": 3}, name="carcinoma"))
    sized = Design.latent_class({"Q1": 3, "Q2": 4, "Q3": 2}, classes=2, edges=["Q1 -> Q2"], latent="Class")
    assert [v.dim for v in sized.variables] == [3, 4, 2] and sized.parents("Q2") == ("Q1",)
    assert sized.latent == "Class" and not sized.causal and sized.roles is None
    assert Design.from_dict(sized.to_dict()) == sized


def test_plain_latent_class_rename_and_latex():
    d = Design.latent_class(["A", "B", "C"], edges=[("A", "B")])
    r = d.rename({"A": "first", "U": "Class"})
    assert r.names == ("first", "B", "C") and r.edges == (("first", "B"),) and r.latent == "Class"
    assert (r.treatment, r.outcome) == (None, None)
    assert "no treatment" in d.latex() and "A \\to B" in d.latex()
    assert "treatment } T" in Design.builtin("paper-level2").latex()


@pytest.mark.parametrize("present,missing", [("treatment", "outcome"), ("outcome", "treatment")])
def test_treatment_and_outcome_come_together(present, missing):
    """One of the two without the other is an error naming the missing field, from every constructor."""
    vars_ = {"T": dict(BIN), "Y": dict(BIN), "A": dict(BIN)}
    value = "T" if present == "treatment" else "Y"
    message = f"missing field '{missing}'"
    with pytest.raises(DesignError, match=re.escape(message)):
        Design.from_dict({"variables": vars_, present: value})
    with pytest.raises(DesignError, match=re.escape(message)):
        Design.from_dict({"variables": vars_, present: value, missing: None})
    g = nx.DiGraph([("T", "Y")])
    with pytest.raises(DesignError, match=re.escape(message)):
        Design.from_graph(g, **{present: value})
    base = Design.latent_class(["T", "Y", "A"])
    with pytest.raises(DesignError, match=re.escape(message)):
        Design(base.variables, **{present: value})


def test_plain_latent_class_errors():
    with pytest.raises(DesignError, match=re.escape("field 'roles' needs a treatment and an outcome")):
        Design.from_dict(dict(LC, roles={"treatment_side": ["A"], "outcome_side": ["B"]}))
    with pytest.raises(DesignError, match="field 'edges' has a cycle"):
        Design.latent_class(["A", "B"], edges=["A -> B", "B -> A"])
    with pytest.raises(DesignError, match="duplicate variable 'A'"):
        Design.latent_class(["A", "B", "A"])
    with pytest.raises(DesignError, match="at least one item"):
        Design.latent_class([])
    with pytest.raises(DesignError, match="variables.B.categories"):
        Design.latent_class({"A": 2, "B": 1})
    with pytest.raises(DesignError, match="list of names or a mapping"):
        Design.latent_class("ABC")
    with pytest.raises(DesignError, match="latent.classes"):
        Design.latent_class(["A", "B", "C"], classes=0)
    with pytest.raises(DesignError, match="field 'treatment' must be a string"):
        Design.from_dict({"variables": {"T": dict(BIN), "Y": dict(BIN)}, "treatment": 1, "outcome": "Y"})


ERRORS = [
    (spec(edges=["Z -> T", "T -> Z"]), "cycle"),
    (spec(edges=["Z -> W"]), "unknown variable 'W'"),
    (spec(edges=["Z -> U"]), "latent"),
    (spec(edges=["U -> Z"]), "implied"),
    (spec(edges=["Z -> Z"]), "self-loop"),
    (spec(edges=["Z -> T", "Z -> T"]), "twice"),
    (spec(edges=["Z => T"]), "edges[0]"),
    (spec(edges=["Y -> T"]), "ancestor of treatment"),
    (spec(edges=["Y -> Z", "Z -> T"]), "ancestor of treatment"),
    (spec(edges="Z -> T"), "field 'edges' must be a list"),
    (spec(variables={"Z": dict(BIN), "T": {"type": "categorical", "categories": 3}, "Y": dict(BIN)}),
     "binary"),
    (spec(variables={"T": {"type": "continuous", "features": 2}, "Y": dict(BIN)}, edges=[]), "binary"),
    (spec(variables={"Z": {"type": "categorical", "categories": 1}, "T": dict(BIN), "Y": dict(BIN)}),
     "variables.Z.categories"),
    (spec(variables={"Z": {"type": "categorical"}, "T": dict(BIN), "Y": dict(BIN)}), "missing field"),
    (spec(variables={"Z": {"type": "binary"}, "T": dict(BIN), "Y": dict(BIN)}), "variables.Z.type"),
    (spec(variables={"Z": {"type": "categorical", "categories": 2, "levels": 2}, "T": dict(BIN),
                     "Y": dict(BIN)}), "variables.Z.levels"),
    (spec(variables={"Z": {"type": "continuous", "features": 2}, "T": dict(BIN), "Y": dict(BIN)}),
     "cannot have children"),
    (spec(variables={"Z": {"type": "categorical", "categories": True}, "T": dict(BIN), "Y": dict(BIN)}),
     "integer"),
    (spec(variables={}), "non-empty"),
    (spec(variables={"2Z": dict(BIN), "T": dict(BIN), "Y": dict(BIN)}, edges=[]), "valid name"),
    (spec(variables={"U": dict(BIN), "T": dict(BIN), "Y": dict(BIN)}, edges=[]), "latent class's name"),
    ({k: v for k, v in spec().items() if k != "treatment"}, "missing field 'treatment'"),
    ({k: v for k, v in spec().items() if k != "outcome"}, "missing field 'outcome'"),
    (spec(treatment="W"), "field 'treatment'"),
    (spec(outcome="T"), "same variable"),
    (spec(latent={"classes": 0}), "latent.classes"),
    (spec(latent={"classes": 2.5}), "latent.classes"),
    (spec(latent={"classes": 2, "observed": "yes"}), "latent.observed"),
    (spec(latent={"classes": 2, "size": 3}), "latent.size"),
    (spec(latent=[2]), "field 'latent'"),
    (spec(extra=1), "unknown field 'extra'"),
    (spec(roles={"treatment_side": ["Z"], "outcome_side": ["W"]}), "roles.outcome_side"),
    (spec(roles={"treatment_side": ["Z"], "outcome_side": ["Z"]}), "both"),
    (spec(roles={"treatment_side": ["T"], "outcome_side": ["X"]}), "treatment or outcome"),
    (spec(roles={"treatment_side": [], "outcome_side": ["X"]}), "at least one"),
    (spec(roles={"treatment_side": ["Z", "Z"], "outcome_side": ["X"]}), "twice"),
    (spec(roles={"z": ["Z"]}), "roles.z"),
    (spec(name=3), "field 'name'"),
]


@pytest.mark.parametrize("bad,message", ERRORS, ids=[m for _, m in ERRORS])
def test_design_errors(bad, message):
    with pytest.raises(DesignError, match=re.escape(message)):
        Design.from_dict(bad)


def test_non_mapping():
    with pytest.raises(DesignError, match="mapping"):
        Design.from_dict(["T", "Y"])


def test_file_errors(tmp_path):
    with pytest.raises(DesignError, match="cannot read"):
        Design.from_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("variables: [unclosed\n")
    with pytest.raises(DesignError, match="cannot parse"):
        Design.from_file(bad)
    dup = tmp_path / "dup.yaml"
    dup.write_text("variables:\n  T: {type: categorical, categories: 2}\n  T: {type: categorical, categories: 2}\n"
                   "treatment: T\noutcome: T\n")
    with pytest.raises(DesignError, match="duplicate key 'T'"):
        Design.from_file(dup)
    dupj = tmp_path / "dup.json"
    dupj.write_text('{"treatment": "T", "treatment": "Y"}')
    with pytest.raises(DesignError, match="duplicate key"):
        Design.from_file(dupj)


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(DesignError, match="cannot parse"):
        Design.from_file(evil)


def test_load_errors():
    with pytest.raises(DesignError, match="neither a file nor a built-in"):
        Design.load("paper-level9")
    with pytest.raises(DesignError, match="unknown built-in"):
        Design.builtin("paper-level9")


def test_from_graph_errors():
    with pytest.raises(DesignError, match="DiGraph"):
        Design.from_graph(nx.Graph(), "T", "Y")
    with pytest.raises(DesignError, match="latent"):
        Design.from_graph(nx.DiGraph([("T", "U"), ("T", "Y")]), "T", "Y")
    with pytest.raises(DesignError, match="strings"):
        Design.from_graph(nx.DiGraph([(1, 2)]), "T", "Y")
