"""Causal survey designs (a treatment, an outcome and many binary proxies): the proxy roles are found by a
search that stops early instead of listing every pair; verdicts, levels and roles must stay those recorded
from the exhaustive search (tests/data/causal_survey_verdicts.json, written by the code before the change)."""

import json
from pathlib import Path

import pytest

from mixid import Design, place

RECORDED = json.loads((Path(__file__).parent / "data" / "causal_survey_verdicts.json").read_text())
# the larger designs take seconds each; the smaller ones cover every edge pattern and both k
CASES = [c for c in RECORDED if c["m"] <= 9 or (c["m"] == 14 and c["k"] == 2)]


@pytest.mark.parametrize("case", CASES, ids=[f"m{c['m']}-k{c['k']}-{c['pattern']}" for c in CASES])
def test_same_verdicts_levels_and_roles_as_the_exhaustive_search(case):
    p = place(Design.from_dict(case["spec"]), scope="local").to_dict()
    assert p["level"] == case["level"]
    assert {n: [t["verdict"], t["scope"]] for n, t in p["targets"].items()} == case["targets"]
    assert p["roles"] == case["roles"]


def test_the_recorded_grid_covers_several_sizes_and_edge_patterns():
    assert {c["m"] for c in CASES} >= {2, 3, 4, 6, 9, 14} and len({c["pattern"] for c in CASES}) == 8
    assert {c["level"] for c in CASES} == {None, 2, 4}


def _survey(m, k, edges):
    variables = {f"P{i}": {"type": "categorical", "categories": 2} for i in range(m)}
    variables.update({"T": {"type": "categorical", "categories": 2}, "Y": {"type": "categorical", "categories": 2}})
    return Design.from_dict({"latent": {"classes": k}, "variables": variables, "treatment": "T", "outcome": "Y",
                             "edges": ["T -> Y", *edges]})


# three proxies into T and three into Y: every cell of the factorisations sums over parents outside the roles
EDGY = ["P0 -> T", "P1 -> T", "P2 -> T", "P3 -> Y", "P4 -> Y", "P5 -> Y"]


def test_large_factorisations_are_checked_at_random_points_from_the_class_tables():
    p = place(_survey(10, 3, EDGY), scope="local")
    assert p.level == 2 and p.targets["mte"].method == "spo"
    for target in ("mte", "ate"):
        v = p.targets[target].certificate["verification"]
        assert v["exact_identities"] == 0 and v["random_point_identities"] > 0 and 0 < v["error_bound"] < 1e-9
        assert "class tables" in v["method"]
    small = place("paper-level3").targets["mte"].certificate["verification"]  # small designs: still expanded
    assert small["exact_identities"] > 0 and small["random_point_identities"] == 0


def _corrupt(ctx, names_to_break):
    """Make the class table of one marginal wrong (as a bug in the model code would)."""
    real = ctx.marginals.class_table

    def wrong(point, names, mod=None):
        out = real(point, names, mod)
        return (out + 1) % mod if tuple(names) == names_to_break else out
    ctx.marginals.class_table = wrong


def test_the_random_point_checks_catch_a_wrong_table():
    from mixid.identify.routes import kruskal, proxies
    from mixid.identify.routes.base import Context

    d = _survey(10, 3, EDGY)
    Z, X = ("P0", "P1"), ("P6", "P7")
    assert proxies.verify_factorisations(Context(d), Z, X, spo=True)["random_point_identities"] > 0
    for broken in (X, Z + ("T",), Z + X + ("T", "Y")):
        ctx = Context(d)
        _corrupt(ctx, broken)
        with pytest.raises(AssertionError, match="does not hold"):
            proxies.verify_factorisations(ctx, Z, X, spo=True)
    views = (("P0", "P1"), ("P6", "P7"), ("P8", "P9", "Y"))
    assert kruskal._verify_arms_at_points(Context(d), views, "T")["random_point_identities"] > 0
    ctx = Context(d)
    _corrupt(ctx, views[1] + ("T",))
    with pytest.raises(AssertionError, match="does not factorise"):
        kruskal._verify_arms_at_points(ctx, views, "T")
