"""`mixid check` and Placement.verify(): every rank claim of a placement re-derived from its JSON alone."""

from __future__ import annotations

import copy
import json

import pytest
from mixid.identify.builtins import BUILTINS
from mixid.identify.verify import verify

from mixid import place
from mixid.cli import main
from tests.conftest import make_design


def check(data: dict, tmp_path, capsys) -> tuple[int, list[str], str]:
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(data))
    code = main(["check", str(path)])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_check_every_builtin(name, tmp_path, capsys):
    assert main(["identify", name, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    code, lines, err = check(data, tmp_path, capsys)
    claims = place(name).verify()
    assert code == 0 and not err
    assert len(lines) == len(claims) + 1 and all(line.startswith("ok ") for line in lines[:-1])
    assert lines[-1] == f"{len(claims)} of {len(claims)} claims hold"
    assert any("rank J >= " in line for line in lines)  # the model's own rank claim is witnessed
    kinds = {"paper-level2": "Kruskal rank of P(", "paper-level3": "Kruskal rank of P(Z | U, T=1)",
             "paper-level4": "rank [J; grad mte] >= 17"}
    if name in kinds:
        assert any(kinds[name] in line for line in lines)


def test_a_zero_minor_fails(tmp_path, capsys):
    data = place("paper-level3").to_dict()
    bad = copy.deepcopy(data)
    w = bad["targets"]["mte"]["certificate"]["rank_witnesses"][0]
    w["minor_rows"] = [0, 0]  # a repeated row: the minor is zero whatever the point
    code, lines, _ = check(bad, tmp_path, capsys)
    assert code == 1 and lines[-1].endswith("1 FAIL")
    assert [line for line in lines if line.startswith("FAIL")] == [
        f"FAIL mte (spo): rank M[Z,X | T=0] >= 2 (minor rows [0, 0] cols {w['minor_cols']} mod {w['prime']}: "
        "determinant 0, zero)"]
    bad = copy.deepcopy(data)
    bad["targets"]["full_mixture"]["certificate"]["kruskal"][0]["witness_minors"] = []  # a subset not covered
    code, lines, _ = check(bad, tmp_path, capsys)
    assert code == 1 and any(line.startswith("FAIL full_mixture") and "no minor stated" in line for line in lines)
    bad = copy.deepcopy(data)
    bad["model"]["jacobian_rank"] = 14  # more than the witness shows
    code, lines, _ = check(bad, tmp_path, capsys)
    assert code == 1 and any(line.startswith("FAIL model: rank J >= 14") for line in lines)
    bad = place("paper-level4").to_dict()
    bad["targets"]["mte"]["certificate"]["rank_augmented"]["rank"] = 15  # no longer above rank J
    code, lines, _ = check(bad, tmp_path, capsys)
    assert code == 1 and [line[:70] for line in lines if line.startswith("FAIL")] == [
        "FAIL mte (jacobian): rank [J; grad] = 15 > rank J = 15 = its bound 15:"]


def test_bad_input_is_one_line(tmp_path, capsys):
    code, lines, err = check({"level": 2}, tmp_path, capsys)
    assert code == 2 and not lines and err.count("\n") == 1 and "not a placement" in err
    data = place("paper-level4").to_dict()
    del data["targets"]["ate"]["certificate"]["rank_witnesses"][1]["prime"]
    code, _, err = check(data, tmp_path, capsys)
    assert code == 2 and err.strip() == "error: malformed certificate: missing key 'prime'"
    assert main(["check", str(tmp_path / "missing.json")]) == 2


def test_verify_k3_kruskal_and_failing_ranks():
    """k = 3: a Kruskal certificate of rank-3 views; with binary Z and X the proxy rank conditions fail by a
    dimension count and the Kruskal counts are proved too small (every rank at its dimension bound), while the
    re-check confirms the lower bounds the failing conditions state."""
    p = place(make_design(3, {"A": 2, "B": 3, "C": 3, "T": 2, "Y": 2}, ["T -> Y"]))
    claims = verify(json.loads(p.to_json()))
    assert claims and all(c.holds for c in claims)
    assert sum(c.statement.startswith("Kruskal rank of P(") and c.statement.endswith(">= 3") for c in claims) == 3
    p = place(make_design(3, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["T -> Y"]))
    claims = p.verify()
    assert claims and all(c.holds for c in claims)
    assert sum(c.where == "condition (spo)" and c.statement.endswith(">= 2") for c in claims) == 2
    counts = [c for c in p.conditions if c.kind == "kruskal"]
    assert len(counts) == 3 and all(not c.holds and c.details["established"] for c in counts)
    assert all(c.details["error_bound"] == 0 and "not established" not in c.statement for c in counts)


def test_a_failing_count_below_its_dimension_bound_states_its_error():
    """A Kruskal rank below min(k, rows) at the witness point is a lower bound only: the failing count says
    "not established" with its Schwartz-Zippel bound."""
    from mixid.identify.routes import kruskal
    from mixid.identify.routes.base import Context

    ctx = Context(make_design(3, {"Z": 4, "X": 4, "W": 4, "T": 2, "Y": 2}, ["T -> Y"]))
    out = kruskal.count_bound(ctx, [("Z",), ("X",), ("W",)], [3, 2, 3])
    assert not out["established"] and 0 < out["error_bound"] < 1e-7
    assert kruskal.count_bound(ctx, [("Z",), ("X",), ("W",)], [3, 3, 3]) == {
        "established": True, "error_bound": 0.0,
        "reason": "every Kruskal rank is at its dimension bound min(k, rows): the count is proved"}


def test_a_rank_short_of_k_is_decided_within_the_error_bound():
    """Below k without a dimension count, the proxy rank is decided at random points until the probability of a
    higher generic rank is under ``error``, and the failing condition states that bound."""
    from mixid.identify.rank import generic_rank
    from mixid.identify.routes import proxies
    from mixid.identify.routes.base import Context

    ctx = Context(make_design(3, {"Z": 3, "X": 3, "T": 2, "Y": 2}, ["T -> Y"]), error=1e-12)
    seen = []

    def rank_two(rng):  # a 3 x 3 matrix of rank 2 at every point
        point = ctx.model.random_point(rng, ctx.prime)
        a, b = point[:3, None] % 1000, point[3:6, None] % 1000
        seen.append(point)
        return point, (a @ b.T + b @ a.T) % ctx.prime

    for t in (0, 1):
        ctx.cache[("zx_rank", ("Z",), ("X",), t)] = generic_rank(rank_two, 5, error=ctx.error, seed=ctx.rng,
                                                                 upper_bound=3, prime=ctx.prime)
    conds, ok = proxies.rank_conditions(ctx, ("Z",), ("X",), "spo")
    assert not ok and len(seen) >= 4  # at least two points per arm for 1e-12
    for c in conds:
        assert c.details["rank_lower_bound"] == 2 and c.details["points"] >= 2
        assert 0 < c.details["error_bound"] <= 1e-12
        assert c.statement.startswith("rank M[Z,X | T=") and "= 2 < k = 3 (probabilistic, error <= " in c.statement
    assert conds[1].details["witness"]["matrix"] == {"treatment_side": ["Z"], "outcome_side": ["X"], "arm": 1}


def test_verify_counts_and_extensions():
    """A dimension-count verdict is recounted from the design; the pooled route's extension through a set of full
    column rank is re-checked like every other minor; a tampered count fails."""
    from mixid import Design

    p = place(make_design(3, {"Z": 3, "X": 2, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"]))
    claims = p.verify()
    assert all(c.holds for c in claims)
    assert [c.statement for c in claims if c.where == "full_mixture (dimension_count)"] == [
        "dimension count: rank J <= N - 1 = 23 < d = 26"]
    data = p.to_dict()
    data["targets"]["full_mixture"]["certificate"]["parameters"] = 23
    assert [c.where for c in verify(data) if not c.holds] == ["full_mixture (dimension_count)"]
    claims = place(Design.latent_class(list("ABCDEFG"), classes=3)).verify()
    assert all(c.holds for c in claims)
    assert any(c.statement.endswith("has full column rank 3") for c in claims)
