"""`mixid check` and Placement.verify(): every claim of a placement re-derived from its design, then its verdicts,
evidence and level recomputed from the claims that held."""

from __future__ import annotations

import ast
import copy
import json
import os
import time
from pathlib import Path

import pytest
from mixid.identify import fibre as fibre_module
from mixid.identify.builtins import BUILTINS
from mixid.identify.levels import levels
from mixid.identify.model import Model
from mixid.identify.verify import FAILS, HOLDS, UNCHECKED, sound, verify

from mixid import Design, place
from mixid.cli import main
from tests.conftest import make_design

ROOT = Path(__file__).resolve().parents[1]


def check(data, tmp_path, capsys, *flags) -> tuple[int, list[str], str]:
    path = tmp_path / "cert.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    code = main(["check", str(path), *flags])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def statuses(data, **kwargs) -> dict[str, list]:
    out = {HOLDS: [], FAILS: [], UNCHECKED: []}
    for c in verify(data, **kwargs):
        out[c.status].append(c)
    return out


@pytest.fixture(scope="module")
def certs() -> dict[str, dict]:
    return {name: place(name).to_dict() for name in sorted(BUILTINS)}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_check_every_builtin(name, tmp_path, capsys):
    assert main(["identify", name, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    code, lines, err = check(data, tmp_path, capsys)
    claims = place(name).verify()
    assert code == 0 and not err
    assert len(lines) == len(claims) + 1 and all(line.startswith("holds ") for line in lines[:-1])
    assert lines[-1] == f"{len(claims)} of {len(claims)} claims hold"
    assert any("rank J >= " in line for line in lines)  # the model's own rank claim is witnessed
    assert lines[-2].startswith("holds     level: level ")  # the level is recomputed last
    assert sum(" verdict " in line and "local check" not in line for line in lines) == 4  # one per target
    kinds = {"paper-level2": "Kruskal rank of P(", "paper-level3": "Kruskal rank of P(Z | U, T=1)",
             "paper-level4": "rank [J; grad mte] >= 17"}
    if name in kinds:
        assert any(kinds[name] in line for line in lines)


def test_a_zero_or_malformed_minor_fails(tmp_path, capsys, certs):
    data = certs["paper-level3"]
    bad = copy.deepcopy(data)
    w = bad["targets"]["mte"]["certificate"]["rank_witnesses"][0]
    w["minor_rows"] = [0, 0]  # a repeated row: the minor would be zero whatever the point
    code, lines, _ = check(bad, tmp_path, capsys)
    failing = [line for line in lines if line.startswith("fails")]
    assert code == 1 and lines[-1].endswith("fail")
    assert failing[0] == "fails     mte (spo): rank M[Z,X | T=0] >= 2 (minor rows repeats an index: [0, 0])"
    assert any(line.startswith("fails     mte (spo): verdict identifiable, global, exact (rests on a claim that fails")
               for line in failing)
    bad = copy.deepcopy(data)
    bad["targets"]["full_mixture"]["certificate"]["kruskal"][0]["witness_minors"] = []  # a subset not covered
    assert any(c.where.startswith("full_mixture") and "needs one for each" in c.detail
               for c in statuses(bad)[FAILS])
    bad = copy.deepcopy(data)
    bad["model"]["jacobian_rank"] = 14  # more than the witness shows
    assert [c.statement for c in statuses(bad)[FAILS]] == ["rank J >= 14"]
    bad = certs["paper-level4"]
    bad = copy.deepcopy(bad)
    bad["targets"]["mte"]["certificate"]["rank_augmented"]["rank"] = 15  # no longer above rank J
    failing = statuses(bad)[FAILS]
    assert any(c.statement.startswith("rank [J; grad] = 15 > rank J = 15 = its bound 15") for c in failing)


def test_forgeries_of_the_issue_fail(certs):
    """The hand-forged certificates that the first checker accepted: each now fails, naming the claim."""
    def fails(data, text):
        bad = [c for c in verify(data) if c.status == FAILS]
        assert bad and any(text in c.line() for c in bad), [c.line() for c in bad]

    # a false rank at a big prime (int64 arithmetic overflowed there): exact arithmetic refutes it
    data = copy.deepcopy(certs["paper-level4"])
    w = data["model"]["jacobian_rank_witness"]
    data["model"]["jacobian_rank"] = 16
    w.update(prime=999999999999999989, minor_rows=list(range(16)), minor_cols=list(range(16)), minor_size=16)
    fails(data, "rank J >= 16 (minor rows [0, 1, 2")
    # ... while the genuine minor at that prime holds: primes are tested, not fixed
    data = copy.deepcopy(certs["paper-level4"])
    data["model"]["jacobian_rank_witness"]["prime"] = 999999999999999989
    assert sound(verify(data))
    # boolean indices
    data = copy.deepcopy(certs["paper-level3"])
    data["targets"]["mte"]["certificate"]["rank_witnesses"][1].update(minor_rows=[False, False],
                                                                       minor_cols=[False, False])
    fails(data, "an index of minor rows must be an integer, got False")
    # Kruskal: a rank without minors, one view listed three times
    data = copy.deepcopy(certs["paper-level2"])
    data["targets"]["full_mixture"]["certificate"]["kruskal"][0].update(rank=2, witness_minors=[])
    fails(data, "0 minors stated; rank 2 needs one for each of the 1 column subsets")
    data = copy.deepcopy(certs["paper-level2"])
    cert = data["targets"]["full_mixture"]["certificate"]
    cert["kruskal"] = [copy.deepcopy(cert["kruskal"][0]) for _ in range(3)]
    fails(data, "is not one of the views, or is listed twice")
    # verdicts, level, labels, d-separation and roles are checked
    data = copy.deepcopy(certs["paper-level3"])
    data["level"] = 1
    fails(data, "the stated verdicts give (2, 'global', 2)")
    data = copy.deepcopy(certs["paper-level4"])
    data["targets"]["labels"]["verdict"] = "identifiable"
    fails(data, "its claims support not_identifiable, global")
    data = copy.deepcopy(certs["paper-level4"])
    data["targets"]["mte"]["scope"] = "global"
    fails(data, "its claims support not_identifiable, local")
    data = copy.deepcopy(certs["paper-level4"])
    cond = next(c for c in data["conditions"] if c["statement"] == "X ⊥ Y | U, T")
    cond["holds"] = True
    fails(data, "recomputed on the design's graph: False")
    data = copy.deepcopy(certs["paper-level4"])
    data["roles"] = {"treatment_side": ["X"], "outcome_side": ["Z"]}
    fails(data, "the proxy route's rank witnesses use Z = ['Z'], X = ['X']")
    # a verdict whose certificate was removed; every certificate removed ("0 of 0" was exit 0)
    data = copy.deepcopy(certs["paper-level2"])
    data["targets"]["ate"]["certificate"] = {"kind": "constructive"}
    fails(data, "has no 'rank_witnesses'")
    data = copy.deepcopy(certs["paper-level2"])
    for v in data["targets"].values():
        v["certificate"] = {}
        v.pop("local_check", None)
    data["conditions"], data["model"] = [], {}
    assert not sound(verify(data))
    assert not sound([])


def test_proxy_and_distinct_effect_claims_need_their_route(certs):
    data = copy.deepcopy(certs["paper-level3"])
    cond = next(c for c in data["conditions"] if c["kind"] == "distinct_effects")
    cond["witness"]["det_H0_mod_p"] += 1
    assert any("stated" in c.detail for c in statuses(data)[FAILS])
    data = copy.deepcopy(certs["paper-level3"])
    ws = data["targets"]["mte"]["certificate"]["rank_witnesses"]
    ws[1] = copy.deepcopy(ws[0])  # the same arm twice: arm 1 is not covered
    assert any("for t = 0 and 1" in c.detail for c in statuses(data)[FAILS])


def test_evidence_is_recomputed(certs):
    """A stated evidence must be the one the claims support; a certificate without the field is accepted and told
    what it should be."""
    data = copy.deepcopy(certs["paper-level3"])
    for v in data["targets"].values():
        v.pop("evidence", None)
    lines = [c for c in verify(data) if c.statement.startswith("verdict ") and "local check" not in c.where]
    assert all(c.holds and c.detail.endswith("evidence not stated, recomputed: exact") for c in lines)
    data["targets"]["ate"]["evidence"] = "exact"
    assert sound(verify(data))
    data["targets"]["ate"]["evidence"] = "numerical"
    assert any("states evidence numerical; its claims support exact" in c.detail for c in statuses(data)[FAILS])


def test_probabilistic_jacobian_verdicts_are_rerun():
    p = place(make_design(2, {"Z": 3, "W": 2, "T": 2, "Y": 2}, ["Z -> T", "T -> Y", "W -> Y"]), scope="local")
    data = p.to_dict()
    assert data["targets"]["mte"]["certificate"]["kind"] == "probabilistic"
    claims = verify(data)
    assert sound(claims)
    rerun = [c for c in claims if "checker's own random points" in c.detail]
    assert rerun and all("probabilistic, error <=" in c.detail for c in rerun)
    data["targets"]["mte"]["evidence"] = "exact"  # a probabilistic verdict stated as exact
    assert any("its claims support probabilistic" in c.detail for c in statuses(data)[FAILS])


def test_fibre_counts_and_witnesses(certs, monkeypatch):
    """An exact count is re-run at its point (or unchecked without its engine); a numerical count is unchecked,
    never holding; a witness must be two distinct valid points with the same observables."""
    design = make_design(2, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["T -> Y", "X -> Y"])
    data = place(design, scope="global", max_seconds=60).to_dict()
    cert = data["targets"]["full_mixture"]["certificate"]
    assert cert["kind"] == "fibre" and cert["solutions"] == 1
    if not cert["exact"]:
        pytest.skip("no exact engine for 15 parameters (msolve is not installed)")
    counted = [c for c in verify(data) if c.statement.startswith("1 point(s) up to relabelling")]
    assert len(counted) == 1 and counted[0].holds and "recomputed by" in counted[0].detail
    assert sound(verify(data))
    forged = copy.deepcopy(data)
    forged["targets"]["full_mixture"]["certificate"]["degree"] = 4  # 2 points, not 1
    assert not sound(verify(forged))
    forged = copy.deepcopy(data)
    forged["targets"]["full_mixture"]["certificate"]["solutions"] = 2
    assert any("'identifiable' True contradicts the count (not_identifiable)" in c.detail
               for c in statuses(forged)[FAILS])
    del forged["targets"]["full_mixture"]["certificate"]["identifiable"]
    assert any("one_valued True contradicts 2 point(s)" in c.detail for c in statuses(forged)[FAILS])
    forged["targets"]["full_mixture"]["certificate"]["one_valued"] = False  # then it needs a witness
    assert any("needs a witness" in c.detail for c in statuses(forged)[FAILS])
    numerical = copy.deepcopy(data)
    numerical["targets"]["full_mixture"]["certificate"].update(exact=False, method="monodromy", evidence="numerical")
    numerical["targets"]["full_mixture"]["evidence"] = numerical["level_evidence"] = "numerical"
    out = statuses(numerical)
    assert not out[FAILS] and any("numerical count (monodromy) cannot be re-checked" in c.detail
                                  for c in out[UNCHECKED])
    assert any(c.statement.startswith("verdict") for c in out[UNCHECKED])  # the verdict rests on it
    if cert["engine"] == "msolve":
        monkeypatch.setattr(fibre_module, "msolve_path", lambda: None)
        out = statuses(data)
        assert [c.detail for c in out[UNCHECKED]][0].startswith("engine missing: needs msolve")
        monkeypatch.undo()
    # the budget covers the count: a count that does not finish in time is stopped (with its engine) and unchecked
    monkeypatch.setattr(fibre_module, "recheck_count", lambda *args: time.sleep(30))
    started = time.monotonic()
    out = statuses(data, max_seconds=1.5)
    assert time.monotonic() - started < 10
    assert any(c.detail.startswith("budget: the count did not finish") for c in out[UNCHECKED])
    monkeypatch.undo()
    # a refuting witness of paper-level2's globally identified ATE: point_b = point_a, or its classes swapped
    model = Model(Design.builtin("paper-level2"))
    point = ["0.3"] + ["0.2", "0.7"] * ((model.n_params - 1) // 2)
    swapped = ["0.7"] + ["0.7", "0.2"] * ((model.n_params - 1) // 2)
    data = copy.deepcopy(certs["paper-level2"])
    witness = {"point_a": point, "point_b": list(point), "real": True, "interior": True, "digits": 50}
    data["targets"]["ate"].update(verdict="not_identifiable", method="fibre", certificate={
        "kind": "fibre", "solutions": 2, "dimension": 0, "complete": True, "method": "monodromy", "exact": False,
        "relabellings": 2, "one_valued": False, "witness": witness})
    data["level"] = data["local_level"] = 2
    for point_b in (list(point), swapped):
        witness["point_b"] = point_b
        out = statuses(data)
        assert any(c.statement.startswith("two parameter points give the same observables") for c in out[HOLDS])
        assert any("with the classes relabelled" in c.detail for c in out[FAILS])
    witness["point_b"] = ["0.31"] + point[1:]
    assert any("the observables differ by" in c.detail for c in statuses(data)[FAILS])


def test_hostile_certificates_end_in_one_line(tmp_path, capsys, certs):
    """Bad input exits 2 with one line; forged designs are refused before any work; the budget is honoured."""
    for text, message in [('{"design": {}, "design": {}}', "duplicate key 'design'"),
                          ('{"level": Infinity}', "Infinity is not a JSON number"),
                          ("[" * 100_000, "nested too deeply"), ('{"level": 2}', "not a placement"),
                          ('{"x": ' + "9" * 50 + "}", "an integer of 50 digits")]:
        code, lines, err = check(text, tmp_path, capsys)
        assert code == 2 and not lines and err.count("\n") == 1 and message in err, err
    assert main(["check", "/dev/zero"]) == 2
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["check", str(fifo)]) == 2  # refused without waiting for a writer
    assert "not a regular file (a FIFO)" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.json")]) == 2
    code, _, err = check(certs["paper-level2"], tmp_path, capsys, "--max-seconds", "nan")
    assert code == 2 and "--max-seconds must be a positive finite number" in err
    for change in ({"latent": {"name": "U", "classes": 10**9, "observed": False}},
                   {"variables": {f"V{i}": {"type": "categorical", "categories": 2} for i in range(26)},
                    "edges": [], "treatment": None, "outcome": None}):
        data = copy.deepcopy(certs["paper-level2"])
        data["design"].update(change)
        data["design"] = {k: v for k, v in data["design"].items() if v is not None}
        code, lines, err = check(data, tmp_path, capsys)
        assert code == 1 and not err and lines[0].startswith("fails     model: ")  # recounted: not the stated model
    data = copy.deepcopy(certs["paper-level2"])
    data["design"]["latent"]["classes"] = 200
    entry = data["targets"]["full_mixture"]["certificate"]["kruskal"][0]
    entry["rank"] = 5  # C(200, 5) column subsets: never enumerated
    assert not sound(verify(data))
    for prime in (0, -7, 1e300, 1, 4, 2**64 + 13, True, "7"):
        data = copy.deepcopy(certs["paper-level4"])
        data["model"]["jacobian_rank_witness"]["prime"] = prime
        code, lines, err = check(data, tmp_path, capsys)
        assert code == 1 and not err and lines[1].startswith("fails     model: rank J >= 15 (prime")
    for rows in ([0.0, 1.0], [0, 7], [-1, 0], [0], "01"):
        data = copy.deepcopy(certs["paper-level3"])
        data["targets"]["mte"]["certificate"]["rank_witnesses"][0]["minor_rows"] = rows
        assert any(c.where == "mte (spo)" for c in statuses(data)[FAILS])
    data = copy.deepcopy(certs["paper-level3"])
    data["targets"]["mte"]["certificate"]["rank_witnesses"][0]["matrix"]["arm"] = 5
    assert any("arm must be in 0..1, got 5" in c.detail for c in statuses(data)[FAILS])
    out = statuses(certs["paper-level3"], max_seconds=1e-9)  # the budget is spent before the first claim
    assert not out[HOLDS] and all(c.detail.startswith("budget: ") for c in out[UNCHECKED])


def test_levels_rule_and_import_direction():
    """One level rule (identify/levels.py) for placement and checker; verify never imports placement."""
    for name in sorted(BUILTINS):
        p = place(name)
        d = p.to_dict()
        assert levels(d["targets"]) == (p.level, p.level_scope, p.local_level)
    tree = ast.parse((ROOT / "identify" / "verify.py").read_text())
    imported = {(n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any("placement" in m for m in imported)
    leaf = ast.parse((ROOT / "identify" / "levels.py").read_text())
    assert not [n for n in ast.walk(leaf) if isinstance(n, ast.ImportFrom) and n.level > 0]


def test_verify_k3_kruskal_and_failing_ranks():
    """k = 3: a Kruskal certificate of rank-3 views; with binary Z and X the proxy rank conditions fail by a
    dimension count and the Kruskal counts are proved too small (every rank at its dimension bound), while the
    re-check confirms the lower bounds the failing conditions state."""
    p = place(make_design(3, {"A": 2, "B": 3, "C": 3, "T": 2, "Y": 2}, ["T -> Y"]))
    claims = verify(json.loads(p.to_json()))
    assert sound(claims)
    assert sum(c.statement.startswith("Kruskal rank of P(") and c.statement.endswith(">= 3") for c in claims) == 3
    p = place(make_design(3, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["T -> Y"]))
    claims = p.verify()
    assert sound(claims)
    assert sum(c.where == "condition (spo)" and c.statement.startswith("rank M[") and c.statement.endswith(">= 2")
               for c in claims) == 2  # the lower bounds the failing conditions state, re-checked
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


def test_verify_counts_and_extensions():
    """A dimension-count verdict is recounted from the design; the pooled route's extension through a set of full
    column rank is re-checked like every other minor; a tampered count fails."""
    p = place(make_design(3, {"Z": 3, "X": 2, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"]))
    claims = p.verify()
    assert sound(claims)
    assert [c.statement for c in claims if c.where == "full_mixture (dimension_count)"][0] == \
        "dimension count: rank J <= N - 1 = 23 < d = 26"
    data = p.to_dict()
    data["targets"]["full_mixture"]["certificate"]["parameters"] = 23
    assert {c.where for c in verify(data) if not c.holds} == {"full_mixture (dimension_count)"}
    p = place(Design.latent_class(list("ABCDEFG"), classes=3))
    claims = p.verify()
    assert sound(claims)
    assert any(c.statement.endswith("has full column rank 3") for c in claims)
    data = p.to_dict()
    data["targets"]["full_mixture"]["certificate"]["extension"]["blocks"].pop()  # a variable left out
    assert any("must cover each of" in c.detail for c in statuses(data)[FAILS])


def test_input_files_are_read_bounded(tmp_path):
    """Certificates and design files: regular files only (a FIFO would block, /dev/zero never ends), with a cap."""
    from mixid.identify.errors import DesignError
    from mixid.identify.files import read_bounded

    fifo = tmp_path / "design.yaml"
    os.mkfifo(fifo)
    for path, message in [("/dev/zero", "a character device"), (fifo, "a FIFO"), (tmp_path, "a folder")]:
        with pytest.raises(DesignError, match=f"is not a regular file \\({message}\\)"):
            Design.from_file(path)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    with pytest.raises(DesignError, match="is larger than 1 KiB"):
        read_bounded(big, 1024, "certificate")
    assert read_bounded(big, 2048, "certificate") == b" " * 2048
