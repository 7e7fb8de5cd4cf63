"""Global identifiability by counting the generic fibre (identify/fibre.py) and its use in place()."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from mixid.identify import Design, DesignError, place
from mixid.identify import fibre as fibre_module
from mixid.identify.fibre import count_fibre, recheck_count, recheck_separation, recheck_witness
from mixid.identify.fibre.system import FastMap
from mixid.identify.model import Model

from mixid.cli import main

LC = Design.latent_class


def tight_design(x_categories: int = 3) -> Design:
    """Notebook 05's design: paper-level3's graph with k = 3 and a 3-category X (23 parameters, 23 cells); with a
    4-category X it is overdetermined (26 parameters, 31 independent cells)."""
    k3 = dataclasses.replace(Design.builtin("paper-level3"), classes=3, name="k3")
    return dataclasses.replace(k3, variables=tuple(dataclasses.replace(v, size=x_categories) if v.name == "X" else v
                                                   for v in k3.variables))


@pytest.mark.parametrize("design", ["paper-level1", "paper-level4", "continuous"])
def test_fast_map_equals_the_model(design):
    if design == "continuous":
        design = Design.from_dict({
            "name": "c", "latent": {"classes": 2},
            "variables": {"Z": {"type": "categorical", "categories": 3}, "X": {"type": "continuous", "features": 3},
                          "T": {"type": "categorical", "categories": 2}, "Y": {"type": "continuous", "features": 2}},
            "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
    m = Model(Design.load(design))
    x = m.random_point(np.random.default_rng(3)).astype(complex) + 0.2j
    p0, J0 = m.evaluate(x)
    p1, J1 = FastMap(m)(x)
    assert np.abs(p0 - p1).max() < 1e-14 and np.abs(J0 - J1).max() < 1e-14


def test_kruskal_range_designs_have_one_point_exactly_and_numerically():
    exact = count_fibre("paper-level2", method="exact", max_seconds=60)
    assert (exact.solutions, exact.relabellings, exact.exact, exact.complete) == (1, 2, True, True)
    assert exact.details["degree"] == 2 and all(exact.one_valued.values())
    cert = exact.certificate("ate")
    assert cert["kind"] == "fibre" and cert["scope"] == "global" and cert["prime"] == fibre_module.FIBRE_PRIME
    assert recheck_count("paper-level2", cert)  # the same degree at the stated point and prime
    assert not recheck_count("paper-level2", dict(cert, degree=4))
    numeric = count_fibre(LC({"A": 2, "B": 2, "C": 2}, classes=2), method="numeric", max_seconds=60)
    assert numeric.method == "monodromy" and numeric.solutions == 1 and numeric.complete and not numeric.exact


def test_sympy_engine_when_msolve_is_missing(monkeypatch):
    monkeypatch.setattr(fibre_module, "msolve_path", lambda: None)
    f = count_fibre(LC({"A": 2, "B": 2, "C": 2}, classes=2), method="exact", max_seconds=60)
    assert f.method == "groebner (sympy)" and f.solutions == 1 and f.details["degree"] == 2
    with pytest.raises(DesignError, match=r"needs msolve \(pip install 'mixid\[global\]'\)"):
        count_fibre("paper-level3", method="exact")  # 13 parameters: more than sympy is given


@pytest.mark.parametrize("items, k, d", [({"A": 2, "B": 2, "C": 2, "D": 2}, 3, 14),
                                         ({"A": 3, "B": 3, "C": 2, "D": 2}, 5, 34),
                                         ({"A": 4, "B": 4, "C": 3}, 5, 44)])
def test_defective_formats_have_a_positive_dimensional_fibre(items, k, d):
    """The defective formats of the tensor literature: parameters <= independent cells, yet rank J = d - 1."""
    model = Model(LC(items, classes=k))
    assert model.n_params == d <= model.n_observables - 1
    f = count_fibre(LC(items, classes=k), targets=("full_mixture",))
    assert f.dimension == 1 and f.solutions is None and f.globally_identifiable is False
    assert f.details["jacobian_rank"] == d - 1 and f.details["parameters"] == d
    assert f.one_valued == {"full_mixture": False}
    # a rank deficit at random points is probabilistic evidence, with its bound
    assert f.evidence("full_mixture") == "probabilistic" and 0 < f.details["error_bound"] < 1e-9


def test_a_positive_dimensional_fibre_leaves_the_ate_undecided():
    """paper-level4: the mixture moves along a fibre of dimension 2 while the ATE stays put (proximal formula); the
    count must not call the ATE unidentifiable."""
    f = count_fibre("paper-level4")
    assert f.dimension == 2 and f.one_valued == {"full_mixture": False, "mte": None, "ate": None}
    assert "does not decide" in f.statement("ate")


def test_overdetermined_design_by_parameter_monodromy():
    """m = 1 on an overdetermined design (9 parameters, 11 independent cells): only the base orbit exists, so the
    loops have nothing to carry and every quiet round rests on converged random starts (three per round)."""
    f = count_fibre(LC({"A": 2, "B": 2, "C": 3}, classes=2), method="numeric", max_seconds=60)
    assert f.method == "parameter monodromy" and f.solutions == 1 and f.complete
    d = f.details
    assert d["stable_loops"] == 8 and d["loop_paths"] == 0 and d["converged_starts"] >= 24
    assert d["paths"] == d["starts"] and d["failed_paths"] == 0
    assert f.evidence("full_mixture") == "numerical" and "parameter monodromy, " in f.evidence_note("full_mixture")


def test_five_binary_items_with_five_classes_have_two_decompositions():
    """The published count (Chiantini-Ottaviani-Vannieuwenhoven): 29 parameters, 31 independent cells, m = 2. No
    complex start at the base point reaches the second decomposition; a paired start does, and the loops in
    parameter space then carry it until the count is complete."""
    design = LC({c: 2 for c in "ABCDE"}, classes=5)
    f = count_fibre(design, method="numeric", max_seconds=240, samples=1)
    assert f.method == "parameter monodromy" and f.solutions == 2 and f.complete
    d = f.details
    assert d["carried_starts"] >= 1 and d["loop_paths"] >= 8 and d["stable_loops"] == 8
    model = Model(design)
    y = model.evaluate(f.points[0])[0]
    assert np.abs(model.evaluate(f.points[1])[0] - y).max() < 1e-12


def test_paired_starts_reach_other_components_of_the_fibre():
    """paper-level3's graph with k = 3 and a 4-category X: starts at conjugation-symmetric parameter points (some
    classes in conjugate pairs, so the law is real) converge in real coordinates, and some of them to a point that
    is not the start's base point relabelled: the first point the loops need, or one in a component no loop from
    the known points reaches."""
    from mixid.identify.fibre.monodromy import PairedStarts
    from mixid.identify.fibre.system import Orbits

    model = Model(tight_design(4))
    rng = np.random.default_rng(0)
    F = FastMap(model)
    orbits = Orbits(model, rng)
    paired = PairedStarts(model, F, orbits)
    found = [r for r in (paired.start(rng) for _ in range(20)) if r is not None]
    assert len(found) >= 2
    others = [(theta0, x) for theta0, x in found if not orbits.same(x, theta0)]
    assert others
    for theta0, x in found:
        y = F(theta0)[0]
        assert np.abs(y.imag).max() < 1e-12  # a conjugation-symmetric point has a real law
        assert np.abs(F(x)[0] - y).max() < 1e-12


def test_failed_parameter_paths_never_count_as_quiet(monkeypatch):
    """Every path in parameter space forced to fail (the loops and the carried starts): a round with a failed path
    is never quiet, so the count never completes and no verdict rests on it."""
    from mixid.identify.fibre import homotopy

    def fail(self, x, a, b, bend):
        self.failures += 1
        return None

    monkeypatch.setattr(homotopy.ParameterHomotopy, "track", fail)
    f = count_fibre(tight_design(4), method="numeric", max_paths=80, max_seconds=60, samples=1)
    d = f.details
    assert f.method == "parameter monodromy" and f.complete is False
    assert d["loop_paths"] + d["carried_starts"] == d["failed_paths"] > 0 and d["stable_loops"] < 8
    assert f.one_valued["full_mixture"] is not True and f.fractions == {}  # an incomplete fibre is never sampled
    assert f.identifiable("full_mixture") is not True


def check_valid_witness(design: Design, w: dict) -> None:
    """A refuting witness: a valid second model (real, interior, nonsingular), not a relabelling of the first,
    with the same law at 50 digits, stated with the model's parameter names."""
    assert w["valid"] and w["real"] and w["interior"] and w["nonsingular"]
    assert w["parameters"] == [p.name for p in Model(design).params]
    assert all(len(v.lstrip("-").replace(".", "").split("e")[0]) >= 45 for v in w["point_a"][:3])  # 50 digits
    assert recheck_witness(design, w) < 1e-40 and recheck_separation(design, w) > 1e-3
    assert all(0 < float(v) < 1 for v in w["point_b"][:1])  # the class weight is a probability


def test_locally_but_not_globally_identifiable_design():
    """The issue's design, default check: a valid twin with another ATE at a sampled parameter point refutes, and
    the share of sampled points with one valid model is reported with its interval."""
    design = tight_design()
    p = place(design)
    fm, ate = p.targets["full_mixture"], p.targets["ate"]
    assert fm.verdict == ate.verdict == "not_identifiable" and fm.scope == ate.scope == "global"
    assert fm.evidence == ate.evidence == "numerical" and fm.to_dict()["evidence"] == "numerical"
    assert fm.local_check["verdict"] == "identifiable"  # locally identifiable all along
    cert = ate.certificate
    assert cert["kind"] == "fibre" and cert["solutions"] == 4 and cert["identifiable"] is False
    assert cert["valid_solutions"] == 1  # at the base point the other three are not valid models
    check_valid_witness(design, cert["witness"])
    w = cert["witness"]
    assert abs(w["ate_a"] - w["ate_b"]) > 1e-3
    frac = cert["identifiable_fraction"]
    assert set(frac) == {"estimate", "low", "high", "points"} and frac["points"] >= 5
    assert 0 <= frac["low"] <= frac["estimate"] < 1 and frac["estimate"] <= frac["high"] <= 1
    assert "at a sampled parameter point (none at the base point)" in cert["statement"]
    assert p.level is None and "not globally identifiable" in fm.label
    assert "numerical" in p.report() and p.global_check["status"] == "done"
    tampered = dict(w, point_b=list(w["point_b"]))
    tampered["point_b"][0] = "0.5"
    assert recheck_witness(design, tampered) > 1e-6
    swapped = dict(w, point_b=list(w["point_a"]))  # the same model: no twin
    assert recheck_separation(design, swapped) == 0.0
    with pytest.raises(DesignError, match="parameters are not this design's"):
        recheck_witness(design, dict(w, parameters=w["parameters"][::-1]))


def test_no_refutation_without_a_valid_second_model(monkeypatch):
    """Every fibre point outside the parameter space (forced): m = 4 over C, but no verdict "not identifiable";
    the verdicts stay local and say at which share of sampled points one valid model explains the law."""
    from mixid.identify.fibre import sampling

    monkeypatch.setattr(sampling, "interior", lambda model, x: False)
    design = tight_design()
    p = place(design)  # the default check: 40 paths, then 10 sampled parameter points
    f = p.global_check["fibre"]
    assert f["solutions"] == 4 and f["complete"] and f["valid_solutions"] == 1
    for t in ("full_mixture", "mte", "ate"):
        assert f["identifiable"][t] is None and f["evidence"][t] == "numerical"
        assert f["identifiable_fraction"][t]["estimate"] == 1.0 and f["identifiable_fraction"][t]["points"] >= 5
        assert not f["witnesses"][t]["valid"]
        assert (p.targets[t].verdict, p.targets[t].scope) == ("identifiable", "local")
    fm = p.targets["full_mixture"]
    assert fm.method == "jacobian" and "no other valid model at" in fm.reason and "not proved global" in fm.reason
    assert p.global_check["status"] == "undecided" and p.level_scope == "local"
    assert "not proved for every point" in p.global_check["summary"]


def test_a_degree_that_is_not_a_multiple_of_the_relabellings_decides_nothing(monkeypatch):
    from mixid.identify.fibre import exact

    monkeypatch.setattr(exact, "_run_msolve", lambda names, polys, p, seconds: 3)  # k = 2: degrees come in pairs
    monkeypatch.setattr(fibre_module, "msolve_path", lambda: "msolve")
    f = count_fibre(binary_t_x_design(), method="exact", max_seconds=60)
    assert f.solutions is None and not f.complete and all(v is None for v in f.one_valued.values())
    assert "not a multiple of the 2 relabellings" in f.statement("full_mixture")
    assert f.identifiable("full_mixture") is None and f.globally_identifiable is None


def test_default_scope_is_cheap_and_never_claims_global_without_a_count():
    p = place(binary_t_x_design())  # scope="auto": an exact count (15 parameters)
    check = p.global_check
    assert check is not None and check["status"] == "done"
    fm = p.targets["full_mixture"]
    assert fm.scope == "global" and fm.certificate["exact"] and fm.evidence == "exact"
    assert place(tight_design(), scope="local").global_check is None
    assert place("paper-level2").global_check is None  # nothing local to check


def test_bad_requests_are_one_line_errors(capsys):
    with pytest.raises(DesignError, match="max_seconds must be a positive"):
        count_fibre("paper-level2", max_seconds=0)
    with pytest.raises(DesignError, match="method must be"):
        count_fibre("paper-level2", method="fast")
    with pytest.raises(DesignError, match="too large for a global check"):
        count_fibre(LC({f"V{i}": 2 for i in range(12)}, classes=5))
    with pytest.raises(DesignError, match="cannot count the fibre for target"):
        count_fibre(LC(["A", "B", "C"]), targets=("ate",))
    with pytest.raises(DesignError, match="scope must be one of"):
        place("paper-level2", scope="everywhere")
    assert main(["identify", "paper-level2", "--global", "--local"]) == 2
    assert "exclude each other" in capsys.readouterr().err
    assert main(["identify", "paper-level2", "--global", "--max-seconds", "-1"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_perfect_format_3x3x5_has_the_published_six_points():
    """Items of 3, 3 and 5 categories with k = 5 (44 parameters, 44 independent cells): a generic 5-dimensional
    space of 3x3 matrices meets the rank-one matrices (degree 6) in 6 points, and any 5 of them give a
    decomposition, so the fibre has C(6, 5) = 6 points up to relabelling. Eight continued paths find all six (the
    full count, which waits for eight quiet loops, is in benchmarks/bench_fibre.py); never a seventh."""
    design = LC({"A": 3, "B": 3, "C": 5}, classes=5)
    f = count_fibre(design, method="numeric", max_paths=8, max_seconds=120)
    assert f.method == "monodromy" and f.solutions == 6
    assert recheck_witness(design, f.witness) < 1e-40


def binary_t_x_design() -> Design:
    """The issue's design: k = 2, binary Z, X, T, Y, edges T -> Y and X -> Y (15 parameters, square)."""
    return Design.from_dict({"name": "tx", "latent": {"classes": 2},
                             "variables": {v: {"type": "categorical", "categories": 2} for v in "ZXTY"},
                             "treatment": "T", "outcome": "Y", "edges": ["T -> Y", "X -> Y"]})


def test_failed_paths_never_count_as_quiet_loops(monkeypatch):
    """Every continued path forced to fail: the count stays incomplete and every verdict stays local."""
    from mixid.identify.fibre import monodromy

    def fail(self, x, z, via):
        self.failures += 1
        return None

    monkeypatch.setattr(monodromy.Tracker, "loop", fail)
    from mixid.identify import placement

    for module in (fibre_module, placement):  # no exact engine: the count is numerical
        monkeypatch.setattr(module, "msolve_path", lambda: None)
    f = count_fibre(binary_t_x_design(), method="numeric", max_paths=40, max_seconds=60)
    assert f.method == "monodromy" and f.complete is False and f.globally_identifiable is None
    assert f.details["failed_paths"] == f.details["paths"] == 40 and f.details["stable_loops"] == 0
    assert all(v is None for v in f.one_valued.values())
    p = place(binary_t_x_design())  # the default check: 40 paths, all failing
    assert p.global_check["status"] == "budget" and p.global_check["fibre"]["complete"] is False
    for t in ("full_mixture", "mte"):
        assert p.targets[t].scope == "local" and p.targets[t].method != "fibre"
    assert p.targets["ate"].method == "proximal" and p.local_level == 2  # the full mixture: local only


def test_quiet_loops_need_every_path_to_succeed(monkeypatch):
    """One failed path in every loop: never `stable` quiet loops in a row, so the count never completes."""
    from mixid.identify.fibre import monodromy

    real_loop = monodromy.Tracker.loop
    calls = {"n": 0}

    def sometimes(self, x, z, via):
        calls["n"] += 1
        if calls["n"] % 2:
            self.failures += 1
            return None
        return real_loop(self, x, z, via)

    monkeypatch.setattr(monodromy.Tracker, "loop", sometimes)
    f = count_fibre(LC({"A": 2, "B": 2, "C": 2}, classes=2), method="numeric", max_paths=30, max_seconds=60)
    assert f.complete is False and f.details["failed_paths"] >= 15 and f.one_valued["full_mixture"] is None


def test_msolve_is_found_in_any_site_packages_directory(monkeypatch, tmp_path):
    """A virtual environment with system site packages sees msolve only through site.getsitepackages()."""
    import site
    import sysconfig

    from mixid.identify.fibre import exact

    exe = tmp_path / "system" / "sage_wheels" / "bin" / "msolve"
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    monkeypatch.delenv("MIXID_MSOLVE", raising=False)
    monkeypatch.setattr(sysconfig, "get_paths", lambda: {"platlib": str(tmp_path / "venv"),
                                                        "purelib": str(tmp_path / "venv")})
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(tmp_path / "venv"), str(tmp_path / "system")])
    assert exact.msolve_path() == str(exe)
    monkeypatch.setenv("MIXID_MSOLVE", str(tmp_path / "missing"))
    assert exact.msolve_path() is None


def test_every_verdict_says_how_it_is_known():
    """Evidence on every target: exact certificates, probabilistic checks with their bound, numerical counts."""
    from mixid.identify.evidence import evidence_of

    for name in ("paper-level1", "paper-level2", "paper-level3", "paper-level4"):
        p = place(name)
        for t, v in p.targets.items():
            d = v.to_dict()
            assert d["evidence"] in ("exact", "probabilistic", "numerical"), (name, t)
            if d["evidence"] == "probabilistic":
                assert 0 < d["error_bound"] < 1e-9
    assert evidence_of({"kind": "probabilistic", "error_bound": 1e-12}, "identifiable") == "probabilistic"
    assert evidence_of({"kind": "constructive", "verification": {"error_bound": 1e-16}}, "identifiable") == \
        "probabilistic"
    assert evidence_of({"kind": "constructive", "verification": {"error_bound": 0.0}}, "identifiable") == "exact"
    assert evidence_of({"kind": "fibre", "exact": True, "evidence": "exact"}, "identifiable") == "exact"
    assert evidence_of({"kind": "fibre"}, "identifiable") == "numerical"  # a fibre never claims more than stated
    # a numerical count is named next to the verdict and the level (the design without msolve)
    numeric = count_fibre(binary_t_x_design(), method="numeric", max_seconds=60)
    cert = numeric.certificate("full_mixture")
    assert numeric.identifiable("full_mixture") is True and cert["evidence"] == "numerical"
    assert cert["evidence_note"].startswith("monodromy, ") and cert["evidence_note"].endswith(" loops")
    exact_count = count_fibre(binary_t_x_design(), method="exact", max_seconds=60)
    assert exact_count.certificate("full_mixture")["evidence"] == "exact"


def test_the_report_names_numerical_evidence(monkeypatch):
    from mixid.identify import placement

    for module in (fibre_module, placement):  # no exact engine: the default check counts numerically
        monkeypatch.setattr(module, "msolve_path", lambda: None)
    p = place(binary_t_x_design())
    fm = p.targets["full_mixture"]
    assert (fm.verdict, fm.scope, fm.evidence) == ("identifiable", "global", "numerical")
    assert p.targets["mte"].evidence == "numerical"  # implied by the full mixture: its evidence too
    line = next(ln for ln in p.report().splitlines() if ln.split()[:1] == ["full_mixture"])
    assert "global (numerical: monodromy, " in line and " loops)" in line
    assert p.to_dict()["targets"]["full_mixture"]["evidence"] == "numerical"
    assert "full_mixture, mte (numerical: monodromy" in p.global_check["summary"]
    loops = fm.certificate["loops"]
    assert p.level_text() == f"level 2 (global, numerical: monodromy, {loops} loops)"
    assert p.level_evidence == p.to_dict()["level_evidence"] == "numerical"


def test_a_budget_that_runs_out_leaves_the_count_incomplete_and_refutes_only_with_a_valid_witness():
    design = tight_design()
    f = count_fibre(design, method="numeric", max_seconds=0.5)
    assert f.complete is False and not f.fractions  # an incomplete fibre is never sampled
    for t in f.one_valued:
        assert f.identifiable(t) is None or (f.identifiable(t) is False and f.witnesses[t]["valid"])
        assert f.identifiable(t) is not True
    assert "the count is not complete" in f.statement("ate")
