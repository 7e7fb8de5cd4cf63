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
