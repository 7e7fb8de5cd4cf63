"""The checker's fuzz suite: mutations of genuine certificates (tests/check_mutations.py) and property tests.

Every genuine certificate (the built-ins and a few test designs) passes; every mutation that breaks a claim is
refused (exit 1: a claim fails or is unchecked; exit 2: bad input); no mutation ends in an internal error (anything
but DesignError escaping the checker).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mixid.identify.builtins import BUILTINS
from mixid.identify.errors import DesignError
from mixid.identify.verify import sound, verify

from mixid import Design, place
from tests.check_mutations import mutations, sample
from tests.conftest import make_design

MIN_MUTATIONS = 200


@cache
def genuine() -> dict[str, dict]:
    """Certificates of the built-ins and of test designs that reach the other routes: a pooled Kruskal route with
    k = 3, an extension to more blocks, probabilistic Jacobian verdicts, dimension counts, inconclusive verdicts."""
    designs = {name: name for name in sorted(BUILTINS)}
    designs["k3-kruskal"] = make_design(3, {"A": 2, "B": 3, "C": 3, "T": 2, "Y": 2}, ["T -> Y"])
    designs["lc7-extension"] = Design.latent_class(list("ABCDEFG"), classes=3)
    designs["probabilistic"] = make_design(2, {"Z": 3, "W": 2, "T": 2, "Y": 2}, ["Z -> T", "T -> Y", "W -> Y"])
    # 2^24 cells: the Jacobian's table is over the size limit, so the causal targets are inconclusive
    designs["inconclusive"] = make_design(2, {f"V{i}": 2 for i in range(22)} | {"T": 2, "Y": 2},
                                          ["T -> Y"] + [f"V{i} -> {v}" for i in range(12) for v in "TY"])
    return {name: json.loads(place(d, scope="local").to_json()) for name, d in designs.items()}


def outcome(data: dict) -> str:
    """``accepted``, ``refused`` or ``internal`` (anything but DesignError escaping: an internal error)."""
    try:
        claims = verify(json.loads(json.dumps(data)), max_seconds=30)
    except DesignError:
        return "refused"
    except Exception as exc:  # noqa: BLE001 - the fuzz suite's subject
        return f"internal: {type(exc).__name__}: {exc}"
    return "accepted" if sound(claims) else "refused"


def evidence_of(data: dict) -> dict[str, str]:
    """The evidence the checker recomputes for each target of a genuine certificate (its verdict lines say it)."""
    out = {}
    for c in verify(data):
        if c.statement.startswith("verdict ") and "local check" not in c.where:
            target = c.where.split()[0]
            if "recomputed: " in c.detail:  # a certificate made before verdicts stated their evidence
                out[target] = c.detail.rsplit("recomputed: ", 1)[-1]
            else:  # the stated evidence, which the verdict's line checked against its claims
                assert c.status == "holds", c.line()
                out[target] = data["targets"][target]["evidence"]
    return out


@cache
def corpus() -> list[tuple[str, str, dict, bool]]:
    items = []
    for name, data in genuine().items():
        items += [(name, label, mutated.make(), refuse) for label, mutated, refuse in
                  sample(list(mutations(data, evidence_of(data))), per_kind=1)]
    return items


@pytest.mark.parametrize("name", sorted(genuine()))
def test_every_genuine_certificate_passes(name):
    assert outcome(genuine()[name]) == "accepted"


def test_no_mutation_that_breaks_a_claim_is_accepted():
    items = corpus()
    results = [(name, label, refuse, outcome(mutated)) for name, label, mutated, refuse in items]
    internal = [(n, label, r) for n, label, _, r in results if r.startswith("internal")]
    accepted = [(n, label) for n, label, refuse, r in results if refuse and r == "accepted"]
    breaking = sum(refuse for _, _, refuse, _ in results)
    print(f"\n{len(results)} mutations ({breaking} break a claim): {len(accepted)} of those accepted, "
          f"{len(internal)} internal errors")
    assert breaking >= MIN_MUTATIONS
    assert not internal, internal[:5]
    assert not accepted, accepted[:10]
    kinds = {label.split(" ", 1)[-1] for _, label, _, _ in results}
    assert {"repeated", "boolean", "float", "out of range", "= 0", "= 4", "+1", "flipped", "removed"} <= kinds


def _witness(data: dict) -> dict:
    return data["targets"]["mte"]["certificate"]["rank_witnesses"][0]


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prime=st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=False, allow_infinity=False),
                       st.booleans(), st.text(max_size=5), st.none()))
def test_any_prime_is_checked_never_trusted(prime):
    """A stated prime that is not a prime in range fails; any prime is tested, and arithmetic is exact at it."""
    import flint

    data = copy.deepcopy(genuine()["paper-level3"])
    genuine_prime = _witness(data)["prime"]
    _witness(data)["prime"] = prime
    result = outcome(data)
    assert not result.startswith("internal"), result
    valid = type(prime) is int and 3 <= prime < 2**63 and flint.fmpz(prime).is_prime()
    if not valid:
        assert result == "refused"
    if prime == genuine_prime and type(prime) is int:
        assert result == "accepted"


@settings(max_examples=60, derandomize=True, deadline=None)
@given(rows=st.lists(st.one_of(st.integers(-3, 5), st.booleans(), st.floats(-1, 3), st.text(max_size=2)),
                     max_size=4))
def test_any_index_list_is_validated(rows):
    """Indices must be two distinct integers in 0..1 (the 2 x 2 matrix of paper-level3's proxies)."""
    data = copy.deepcopy(genuine()["paper-level3"])
    _witness(data)["minor_rows"] = rows
    result = outcome(data)
    assert not result.startswith("internal"), result
    valid = len(rows) == 2 and all(type(r) is int and 0 <= r <= 1 for r in rows) and len(set(rows)) == 2
    assert result == ("accepted" if valid else "refused")


@settings(max_examples=40, derandomize=True, deadline=None)
@given(level=st.sampled_from([None, 1, 2, 3, 4, 5, 0, "2", 2.0, True]),
       scope=st.sampled_from([None, "global", "local", "everywhere"]))
def test_only_the_level_that_follows_is_accepted(level, scope):
    data = copy.deepcopy(genuine()["paper-level4"])
    data["level"], data["level_scope"] = level, scope
    result = outcome(data)
    ok = type(level) is int and level == 4 and scope == "global"
    assert result == ("accepted" if ok else "refused")


def test_fibre_certificate_mutations():
    """The global check's exact count (re-run at its point by its engine): every change to the count's fields is
    refused."""
    data = place(make_design(2, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["T -> Y", "X -> Y"]), scope="global",
                 max_seconds=60).to_dict()
    cert = data["targets"]["full_mixture"]["certificate"]
    if not cert.get("exact"):
        pytest.skip("no exact engine for 15 parameters (msolve is not installed)")
    assert outcome(data) == "accepted"
    fibre = [item for item in mutations(data, evidence_of(data))
             if item[0].startswith(("targets/full_mixture/certificate/", "targets/mte/certificate/"))]
    results = [(label, refuse, outcome(mutated.make())) for label, mutated, refuse in sample(fibre, per_kind=1)]
    assert len(results) >= 20
    assert not [r for r in results if r[2].startswith("internal")]
    assert not [label for label, refuse, r in results if refuse and r == "accepted"]


TWIN = Path(__file__).parent / "certificates" / "k3_valid_twin.json"


def _swap_classes(data: dict, point: list) -> list:
    """A point with classes 0 and 1 exchanged (the same model, relabelled)."""
    from mixid.identify.model import Model

    params = Model(Design.from_dict(data["design"])).params
    index = {(p.variable, p.category, p.parents, p.klass): i for i, p in enumerate(params)}
    out = list(point)
    for i, p in enumerate(params):
        if p.klass in (0, 1):
            out[i] = point[index[(p.variable, p.category, p.parents, 1 - p.klass)]]
    return out


def test_a_valid_twin_holds_and_every_forgery_of_it_fails():
    """A genuine refutation (notebook 05's k = 3 design: a second real interior model with the same law, from the
    global check) holds but for its numerical count; each change to its witness or count makes a claim fail."""
    data = json.loads(TWIN.read_text())
    claims = verify(data)
    assert [c.status for c in claims].count("unchecked") == 1 and sum(c.status == "fails" for c in claims) == 0
    assert sum(c.statement.startswith("the second point is a valid model") and c.holds for c in claims) == 3
    forgeries = []
    for t in ("full_mixture", "mte", "ate"):
        cert = data["targets"][t]["certificate"]
        w = cert["witness"]
        a, b = w["point_a"], w["point_b"]
        changes = {
            "point_b = point_a": ("witness", dict(w, point_b=list(a))),
            "point_b = point_a relabelled": ("witness", dict(w, point_b=_swap_classes(data, a))),
            "point_b moved": ("witness", dict(w, point_b=[str(float(b[0]) + 1e-9)] + b[1:])),
            "point_b outside": ("witness", dict(w, point_b=["1.5"] + b[1:])),
            "point_b shorter": ("witness", dict(w, point_b=b[:-1])),
            "point_b complex": ("witness", dict(w, point_b=[[b[0], "0.1"]] + b[1:])),
            "point_b nan": ("witness", dict(w, point_b=["nan"] + b[1:])),
            "real false": ("witness", dict(w, real=False)),
            "interior false": ("witness", dict(w, interior=False)),
            "valid false": ("witness", dict(w, valid=False)),
            "parameters reordered": ("witness", dict(w, parameters=w["parameters"][::-1])),
            "ate_b changed": ("witness", dict(w, ate_b=w["ate_b"] + 0.1)),
            "solutions 1": ("solutions", 1),
            "one_valued": ("one_valued", True),
            "identifiable": ("identifiable", True),
            "evidence exact": ("evidence", "exact"),
            "exact": ("exact", True),
        }
        for label, (key, value) in changes.items():
            forged = copy.deepcopy(data)
            forged["targets"][t]["certificate"][key] = value
            forgeries.append((f"{t}: {label}", forged))
        forged = copy.deepcopy(data)
        del forged["targets"][t]["certificate"]["witness"]
        forgeries.append((f"{t}: witness removed", forged))
    passed = []
    for label, forged in forgeries:
        try:
            failing = [c for c in verify(forged) if c.status == "fails"]
        except DesignError:
            continue
        if not failing:
            passed.append(label)
        if label.endswith("point_b = point_a relabelled"):  # the same law, refused as the same model
            assert any(c.detail == "point_b is point_a with the classes relabelled" for c in failing)
    assert len(forgeries) == 54 and not passed
