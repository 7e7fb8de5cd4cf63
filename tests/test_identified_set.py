"""The identified set at a parameter point (identify/fibre/identified_set.py): every valid model with its law."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from mixid.estimate.simulate import random_params, truth
from mixid.identify import Design, DesignError, IdentificationError, place
from mixid.identify.fibre import count_fibre
from mixid.identify.fibre import homotopy as homotopy_module
from mixid.identify.fibre.bounds import FibreWalk
from mixid.identify.fibre.identified_set import identified_set
from mixid.identify.fibre.targets import CausalTargets, Probabilities, parameter_point
from mixid.identify.model import Model

from mixid.cli import main


def k3_design(x_categories: int) -> Design:
    """paper-level3's graph with k = 3, a binary Z -> T proxy and an X of 3 or 4 categories."""
    k3 = dataclasses.replace(Design.builtin("paper-level3"), classes=3, name=f"k3-x{x_categories}")
    return dataclasses.replace(k3, variables=tuple(dataclasses.replace(v, size=x_categories) if v.name == "X" else v
                                                   for v in k3.variables))


@pytest.fixture(scope="module")
def tight():
    """The 3-category design's placement (its default global check: 4 complex points, a valid twin sampled)."""
    design = k3_design(3)
    return design, place(design)


def law(model: Model, params: dict) -> np.ndarray:
    return model.evaluate(np.array([params[p.name] for p in model.params]))[0]


def check_points(design: Design, params: dict, found) -> None:
    """Every point of a finite set: a valid model with the law of params, none a relabelling of another, the
    stated point first with its own targets."""
    model = Model(design)
    probs = Probabilities(model)
    y = law(model, params)
    t = truth(design, params)
    first = found.points[0]
    assert first["at_params"] and first["params"] == pytest.approx(params, abs=0)
    assert first["ate"] == pytest.approx(t.ate, abs=1e-10)
    order = np.argsort(t.effects)
    assert first["effects"] == pytest.approx(t.effects[order].tolist(), abs=1e-10)
    assert first["weights"] == pytest.approx(t.weights[order].tolist(), abs=1e-10)
    canon = []
    for pt in found.points:
        x = np.array([pt["params"][p.name] for p in model.params])
        assert np.abs(model.evaluate(x)[0] - y).max() < 1e-10  # the same law
        assert probs.valid(x) and pt["interior"] == probs.interior(x)
        assert pt["effects"] == sorted(pt["effects"])
        canon.append(sorted(zip(pt["effects"], pt["weights"])))
    for i in range(len(canon)):
        for j in range(i):
            assert np.abs(np.array(canon[i]) - np.array(canon[j])).max() > 1e-6  # different models
    assert found.ate["values"] == sorted(found.ate["values"])
    for j in range(model.k):  # each class slot's range is the hull of the points' values
        assert found.effects[j]["low"] == min(p["effects"][j] for p in found.points)
        assert found.weights[j]["high"] == max(p["weights"][j] for p in found.points)


def test_the_set_holds_both_points_of_the_refuting_witness(tight):
    """The global check's witness (a valid twin found at a sampled point) names two valid models with one law: the
    identified set at its first point, reached from the count's base point by a parameter homotopy, holds both."""
    design, p = tight
    fib = p.fibre
    assert fib is not None and fib.solutions == 4 and "fibre_count" not in p.global_check
    json.dumps(p.to_dict())  # the count object stays out of the JSON
    w = fib.witnesses["ate"]
    assert w["valid"]
    params = {name: float(v) for name, v in zip(w["parameters"], w["point_a"])}
    found = identified_set(design, params, fibre=fib, seed=1)
    assert found.kind == "points" and found.evidence == "numerical" and found.complete
    assert not found.identified and found.details["complex_points"] == 4
    assert found.details["valid_points"] == len(found.points) >= 2
    assert found.details["complex"] + found.details["outside"] + found.details["valid_points"] == 4
    check_points(design, params, found)
    ates = found.ate["values"]
    assert min(abs(v - w["ate_a"]) for v in ates) < 1e-9 and min(abs(v - w["ate_b"]) for v in ates) < 1e-9
    twin = np.array([float(v) for v in w["point_b"]])
    assert any(np.abs(np.array(list(pt["params"].values())) - twin).max() < 1e-8 for pt in found.points[1:])


@pytest.mark.parametrize("seed", [0, 3])
def test_random_points_contain_their_truth_whatever_the_detour(tight, seed):
    design, p = tight
    params = random_params(design, seed=seed)
    one = identified_set(design, params, fibre=p.fibre, seed=seed)
    other = identified_set(design, params, fibre=p.fibre, seed=seed + 100)  # other complex detours
    assert one.complete and other.complete
    check_points(design, params, one)
    assert one.ate["values"] == pytest.approx(other.ate["values"], abs=1e-9)
    assert len(one.points) == len(other.points)
    t = truth(design, params)
    assert min(abs(v - t.ate) for v in one.ate["values"]) < 1e-10
    for j, e in enumerate(np.sort(t.effects)):
        assert one.effects[j]["low"] - 1e-10 <= e <= one.effects[j]["high"] + 1e-10


def test_failed_paths_make_the_set_incomplete(tight, monkeypatch):
    """A path that fails may have been a valid twin: the set says it may miss points, and still holds theta*."""
    design, p = tight
    real_track = homotopy_module.ParameterHomotopy.track
    calls = {"n": 0}

    def every_other(self, x, a, b, bend):
        calls["n"] += 1
        return None if calls["n"] % 2 == 0 else real_track(self, x, a, b, bend)

    monkeypatch.setattr(homotopy_module.ParameterHomotopy, "track", every_other)
    params = random_params(design, seed=0)
    found = identified_set(design, params, fibre=p.fibre, seed=0)
    assert not found.complete and found.details["failed_paths"] > 0 and not found.identified
    assert "may miss points" in found.statement or "not reached" in found.statement
    assert found.points[0]["at_params"]


def test_four_category_x_design():
    """Overdetermined (counted by parameter monodromy within a budget): the points found, the valid twin among
    them, are carried to a random point."""
    design = k3_design(4)
    fib = count_fibre(design, seed=2, method="numeric", max_paths=40, samples=1, max_seconds=60)
    assert fib.solutions >= 2
    params = random_params(design, seed=2)
    found = identified_set(design, params, fibre=fib, seed=0)
    check_points(design, params, found)
    assert found.complete is False  # the count is a lower bound (40 starts): the set says so
    assert "lower bound" in found.evidence_note
    assert min(abs(v - truth(design, params).ate) for v in found.ate["values"]) < 1e-10
    assert found.details["valid_points"] + found.details["complex"] + found.details["outside"] == fib.solutions


def test_a_globally_identified_design_is_a_single_point():
    design = Design.builtin("paper-level3")
    params = random_params(design, seed=0)
    found = identified_set(design, params, seed=0)
    assert found.kind == "points" and found.identified and len(found.points) == 1
    assert "identifies it at this point" in found.statement
    assert found.ate["values"] == [pytest.approx(truth(design, params).ate, abs=1e-12)]


@pytest.fixture(scope="module")
def level4():
    design = Design.builtin("paper-level4")
    params = random_params(design, seed=1)
    return design, params, identified_set(design, params, seed=0)


def test_bounds_on_a_positive_dimensional_fibre(level4):
    """paper-level4: the ATE is determined, each class's weight and effect range over an interval that holds the
    truth and every point a random walk along the fibre visits, and is far from the trivial [-1, 1]."""
    design, params, found = level4
    assert found.kind == "bounds" and found.evidence == "numerical" and found.details["dimension"] == 2
    t = truth(design, params)
    assert found.ate["determined"] and found.ate["low"] == pytest.approx(t.ate, abs=1e-9)
    order = np.argsort(t.effects)
    model = Model(design)
    targets = CausalTargets(model)
    walk = FibreWalk(model, parameter_point(model, params), np.random.default_rng(7))
    seen = np.array([np.concatenate(targets.sorted(x)[1:]) for x in walk.points(300, thin=3)])
    k = model.k
    for j in range(k):
        for r, true, col in ((found.weights[j], t.weights[order][j], seen[:, j]),
                             (found.effects[j], t.effects[order][j], seen[:, k + j])):
            assert not r["determined"] and r["low"] < true < r["high"]
            assert r["low"] - 1e-7 <= col.min() and col.max() <= r["high"] + 1e-7
            assert r["low_starts"] >= 1 and r["high_starts"] >= 1
            assert isinstance(r["low_on_boundary"], bool)
        assert found.effects[j]["high"] - found.effects[j]["low"] < 1.0  # not the trivial [-1, 1]
    d = found.to_dict()
    assert d["kind"] == "bounds" and set(d["mte"]) == {"weights", "effects"} and len(d["mte"]["effects"]) == k
    json.dumps(d, allow_nan=False)


def test_bad_points_and_designs():
    model = Model(Design.builtin("paper-level2"))
    good = {p.name: 0.4 for p in model.params}
    with pytest.raises(DesignError, match="has no treatment and outcome"):
        identified_set(Design.latent_class(["A", "B", "C"]), {"pi_0": 0.5})
    with pytest.raises(DesignError, match="is missing"):
        identified_set("paper-level2", {"pi_0": 0.5})
    with pytest.raises(DesignError, match="unknown parameter"):
        identified_set("paper-level2", dict(good, nope=0.1))
    with pytest.raises(DesignError, match="must be a number"):
        identified_set("paper-level2", dict(good, pi_0="0.5"))
    with pytest.raises(DesignError, match="finite"):
        identified_set("paper-level2", dict(good, pi_0=float("nan")))
    with pytest.raises(DesignError, match=r"not a model: pi_0 = 1.5 is not in \[0, 1\]"):
        identified_set("paper-level2", dict(good, pi_0=1.5))
    m3 = Model(k3_design(3))
    three = {p.name: 0.3 for p in m3.params}  # P(X = 2 | U) = 1 - 0.3 - 0.3 is fine; make one row sum past 1
    three[m3.params[m3.tables["X"][0, 0, 0]].name] = 0.8
    with pytest.raises(DesignError, match=r"not a model: 1 - \(.*\) = -0.1 is not in"):
        parameter_point(m3, three)
    empty = random_params(Design.builtin("paper-level4"), seed=0)
    empty["pi_0"] = 1.0  # class 1 is empty: a point on the boundary, and a singular one
    with pytest.raises(IdentificationError, match="singular point of the observable map"):
        identified_set("paper-level4", empty)
    undecided = count_fibre("paper-level2", method="exact", max_seconds=60)
    undecided.solutions, undecided.points = None, []
    with pytest.raises(IdentificationError, match="decided nothing"):
        identified_set("paper-level2", good, fibre=undecided)


def test_cli_reports_the_identified_set(tmp_path, capsys):
    design = Design.builtin("paper-level4")
    params = random_params(design, seed=1)
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"params": params}))  # the --truth format of mixid simulate
    assert main(["identify", "paper-level4", "--global", "--params", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["identified_set"]
    assert s["kind"] == "bounds" and s["evidence"] == "numerical" and out["level"] == 4
    assert s["ate"]["low"] == pytest.approx(truth(design, params).ate, abs=1e-9)
    path.write_text(json.dumps(params))  # a flat object works too
    assert main(["identify", "paper-level4", "--params", str(path)]) == 0
    text = capsys.readouterr().out
    assert "identified set at the parameter point" in text and "class 1 effect" in text
    for bad, message in [(dict(params, pi_0=-0.1), "not a model"), ({"pi_0": 0.5}, "is missing")]:
        path.write_text(json.dumps(bad))
        assert main(["identify", "paper-level4", "--params", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    path.write_text(json.dumps(params))
    assert main(["identify", "paper-level4", "--local", "--params", str(path)]) == 2
    assert "drop --local" in capsys.readouterr().err


def population_stats(design: Design, params: dict, n: int = 10**6):
    from mixid.estimate.data import SufficientStats
    from mixid.estimate.simulate import population_moments

    return SufficientStats(design, n, population_moments(design, params) * n)


def test_a_fit_on_exact_moments_reports_the_set_that_holds_the_truth(tight):
    """The identified set depends on the law only: at whichever fibre point maximum likelihood stops, the set at
    the fit holds the truth's ATE and every class's weight and effect."""
    from mixid import fit

    design, p = tight
    params = random_params(design, seed=0)
    r = fit(design, population_stats(design, params), seed=0, placement=p, interval="wald")  # the set only
    s = r.to_dict()["identified_set"]
    assert s == r.identified_set and s["kind"] == "points" and s["evidence"] == "numerical"
    t = truth(design, params)
    assert min(abs(v - t.ate) for v in s["ate"]["values"]) < 1e-6
    assert any(np.abs(np.array(pt["effects"]) - np.sort(t.effects)).max() < 1e-5 for pt in s["points"])
    assert s["points"][0]["ate"] == pytest.approx(r.estimate.ate, abs=1e-12)  # the fit's own point comes first
    assert "identified set at the estimate (points, numerical)" in r.summary()


def test_a_fit_of_paper_level4_bounds_the_mte():
    from mixid import fit

    design, params = Design.builtin("paper-level4"), random_params(Design.builtin("paper-level4"), seed=1)
    r = fit(design, population_stats(design, params), seed=0, interval="wald")
    s = r.identified_set
    t = truth(design, params)
    assert s["kind"] == "bounds" and s["ate"]["determined"] and s["ate"]["low"] == pytest.approx(t.ate, abs=1e-6)
    order = np.argsort(t.effects)
    for j, u in enumerate(order):
        assert s["mte"]["effects"][j]["low"] - 1e-6 <= t.effects[u] <= s["mte"]["effects"][j]["high"] + 1e-6
        assert s["mte"]["weights"][j]["low"] - 1e-6 <= t.weights[u] <= s["mte"]["weights"][j]["high"] + 1e-6
    assert "class 1 effect" in r.summary()


def test_a_globally_identified_fit_has_no_set():
    from mixid import fit

    design = Design.builtin("paper-level3")
    r = fit(design, population_stats(design, random_params(design, seed=0)), seed=0, interval="wald")
    assert r.identified_set is None and "identified_set" not in r.to_dict()


def test_a_set_that_cannot_be_computed_leaves_a_warning_and_the_estimate():
    from mixid.estimate.identified_set import at_estimate

    level4 = place("paper-level4")
    n = Model(level4.design).n_params
    assert at_estimate(level4, [0.0] + [0.5] * (n - 1)) == (None, [
        "no identified set at the estimate: the parameter point is a singular point of the observable map (Jacobian "
        "rank 8 < 15 there): its fibre is not the generic one"])
    local = place(k3_design(3), scope="local")  # finite fibre, but no count to continue from
    found, notes = at_estimate(local, [0.3] * Model(local.design).n_params)
    assert found is None and "the global check did not run" in notes[0]


def test_a_point_on_the_boundary_is_a_model_too(tight):
    """A probability at 0 (a fit on the boundary) is a valid parameter point when the Jacobian keeps its rank: its
    set is computed, and says the point is not interior."""
    design, p = tight
    params = dict(random_params(design, seed=0), p_X0_U1=0.0)
    found = identified_set(design, params, fibre=p.fibre, seed=0)
    check_points(design, params, found)
    assert not found.points[0]["interior"] and found.details["interior_points"] < len(found.points)


def test_points_over_replicates_is_the_union(tight):
    """A finite fibre: each target's range spans every replicate's set, and the replicates are counted by the
    number of valid models they hold."""
    from mixid.estimate.identified_set import over_replicates

    design, p = tight
    model = Model(design)
    w = p.fibre.witnesses["ate"]
    twin = {name: float(v) for name, v in zip(w["parameters"], w["point_a"])}  # two valid models
    other = random_params(design, seed=0)
    rows = np.array([[params[q.name] for q in model.params] for params in (twin, other)])
    out, notes = over_replicates(p, rows, "points")
    sets = [identified_set(design, twin, fibre=p.fibre, seed=0), identified_set(design, other, fibre=p.fibre, seed=1)]
    ates = [v for s in sets for v in s.ate["values"]]
    assert out["sets"] == 2 and out["failed"] == {} and notes == []
    assert out["ate"]["low"] == pytest.approx(min(ates), abs=1e-9)
    assert out["ate"]["high"] == pytest.approx(max(ates), abs=1e-9)
    for j in range(model.k):
        assert out["mte"]["effects"][j]["low"] == pytest.approx(min(s.effects[j]["low"] for s in sets), abs=1e-9)
        assert out["mte"]["weights"][j]["high"] == pytest.approx(max(s.weights[j]["high"] for s in sets), abs=1e-9)
    sizes = [len(s.points) for s in sets]
    assert out["valid_models"] == {str(m): sizes.count(m) for m in sorted(set(sizes))}
    assert "level" not in out


def test_a_set_continues_from_a_nearby_point(tight):
    """A complete finite set keeps its whole complex fibre (the point first): continued from there to a nearby
    point (as a bootstrap replicate is), it gives the set that the count's base point gives."""
    design, p = tight
    params = random_params(design, seed=0)
    here = identified_set(design, params, fibre=p.fibre, seed=0).fibre_here
    assert here is not None and len(here.points) == p.fibre.solutions
    assert np.allclose(here.points[0], [params[q.name] for q in Model(design).params])
    near = {name: 0.98 * v + 0.01 for name, v in params.items()}  # every row still sums to at most 1
    far, short = (identified_set(design, near, fibre=f, seed=1) for f in (p.fibre, here))
    assert short.complete and far.complete
    assert short.ate["values"] == pytest.approx(far.ate["values"], abs=1e-9)
    assert len(short.points) == len(far.points)
