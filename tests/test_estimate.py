"""Estimators: plant-and-recover on exact population moments, then on samples; checks C5-C8, C12-C14 of
docs/theory.md."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate.adjustment import adjustment
from mixid.estimate.evaluate import Moments
from mixid.estimate.proximal import proximal
from mixid.estimate.simulate import paper_main_params
from mixid.estimate.spo import spo

from mixid import Design, IdentificationError, fit, population_moments, random_params, simulate, truth
from tests.conftest import make_design


def exact(design, params):
    return Moments(design, population_moments(design, params))


def separated_params(design, count, gap=0.05):
    """Random points whose class effects are at least ``gap`` apart (near-equal effects are tested apart)."""
    rng = np.random.default_rng(0)
    return [random_params(design, seed=rng, concentration=1.0, min_effect_gap=gap) for _ in range(count)]


def sorted_truth(t):
    order = np.argsort(t.effects)
    return t.weights[order], t.effects[order]


@pytest.mark.parametrize("k,extra", [(2, 0), (2, 1), (2, 2), (3, 0), (3, 1), (3, 2), (4, 0), (4, 1), (4, 2)])
def test_spo_exact_moments_random_designs(k, extra):
    """C6/C7: random level-3 models (Z -> T), d_Z = d_X from k to k + 2: exact ATE and MTE."""
    c = k + extra
    d = make_design(k, {"Z": c, "X": c, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"])
    worst = (0.0, 0.0)
    for p in separated_params(d, count=3):
        t = truth(d, p)
        est = spo(exact(d, p), ("Z",), ("X",), k)
        w, e = sorted_truth(t)
        assert abs(est.ate - t.ate) < 1e-10
        assert abs(est.potential_outcome_means[1] - t.potential_outcome_means[1]) < 1e-10
        worst = max(worst[0], np.abs(est.weights - w).max()), max(worst[1], np.abs(est.effects - e).max())
    assert worst[0] < 1e-8 and worst[1] < 1e-8, worst


@pytest.mark.parametrize("k,edges", [(2, ["X -> Y"]), (3, ["Z -> T", "X -> Y"]), (2, ["Z -> T", "X -> Y"])])
def test_c5_proximal_exact_at_level4(k, edges):
    d = make_design(k, {"Z": k, "X": k, "T": 2, "Y": 2}, ["T -> Y"] + edges)
    for seed in range(3):
        p = random_params(d, seed=seed)
        t = truth(d, p)
        est = proximal(exact(d, p), ("Z",), ("X",), k)
        assert abs(est.ate - t.ate) < 1e-12
        assert abs(est.potential_outcome_means[0] - t.potential_outcome_means[0]) < 1e-12


def test_c8_spo_wrong_but_ate_exact_under_x_to_y():
    d = make_design(3, {"Z": 3, "X": 3, "T": 2, "Y": 2}, ["Z -> T", "T -> Y", "X -> Y"])
    p = random_params(d, seed=4, concentration=1.0)
    t = truth(d, p)
    est = spo(exact(d, p), ("Z",), ("X",), 3)
    assert abs(est.ate - t.ate) < 1e-12
    m2 = est.diagnostics["synthetic_moments"][2]
    assert abs(m2 - float(t.weights @ t.effects**2)) > 1e-3


@pytest.mark.parametrize("a", [0.0, 0.5, 1.0])
def test_c13_main_generator_exact(a):
    d = Design.builtin("paper-level4")
    p = paper_main_params(a, 0.0)
    est = spo(exact(d, p), ("Z",), ("X",), 2)
    np.testing.assert_allclose(est.diagnostics["synthetic_moments"], [1, 0, 0.5625, 0, 0.31640625], atol=1e-12)
    np.testing.assert_allclose(est.effects, [-0.75, 0.75], atol=1e-12)
    np.testing.assert_allclose(est.weights, [0.5, 0.5], atol=1e-12)


@pytest.mark.parametrize("a,b,wrong,right", [(1, 1, 0.75, 0.375), (0, 1, 0.75, 0.375), (1, 0.5, 0.7955, 0.5625)])
def test_c13_main_generator_misspecified(a, b, wrong, right):
    d = Design.builtin("paper-level4")
    p = paper_main_params(a, b)
    t = truth(d, p)
    np.testing.assert_allclose(np.sort(t.effects), [-right, right], atol=1e-12)
    est = spo(exact(d, p), ("Z",), ("X",), 2)
    np.testing.assert_allclose(est.effects, [-wrong, wrong], atol=1e-4)
    assert abs(est.ate) < 1e-12


def test_c14_appendix_generator_joint_proxies():
    """Four binary proxies, Z = (P0, P1) and X = (P2, P3) as joint proxies: exact SPO (docs/paper_experiments.md)."""
    d = make_design(2, {"P0": 2, "P1": 2, "P2": 2, "P3": 2, "T": 2, "Y": 2}, ["T -> Y"],
                    roles={"treatment_side": ["P0", "P1"], "outcome_side": ["P2", "P3"]})
    beta = np.linspace(0.2, 0.6, 4)
    p = {"pi_0": 0.5, "p_T0_U0": 0.25, "p_T0_U1": 0.75}
    for i in range(4):
        for u in range(2):
            shift = 0.3 * (u if i % 2 == 0 else 1 - u)
            p[f"p_P{i}0_U{u}"] = 1 - (beta[i] + shift)
    for t in range(2):
        for u in range(2):
            p[f"p_Y0_T{t}_U{u}"] = 1 - (0.25 + 0.25 * (u == t) + 0.25 * t)
    est = spo(exact(d, p), ("P0", "P1"), ("P2", "P3"), 2)
    assert est.potential_outcome_means[0] == pytest.approx(0.375, abs=1e-12)
    assert est.potential_outcome_means[1] == pytest.approx(0.625, abs=1e-12)
    np.testing.assert_allclose(est.diagnostics["synthetic_moments"], [1, 0.25, 0.125, 0.0625, 0.03125], atol=1e-12)
    np.testing.assert_allclose(est.effects, [0, 0.5], atol=1e-12)
    np.testing.assert_allclose(est.weights, [0.5, 0.5], atol=1e-12)


def test_adjustment_exact():
    d = make_design(3, {"Z": 3, "T": 2, "Y": 2}, ["Z -> T", "Z -> Y", "T -> Y"], observed=True)
    p = random_params(d, seed=2)
    t = truth(d, p)
    est = adjustment(exact(d, p))
    w, e = sorted_truth(t)
    np.testing.assert_allclose(est.effects, e, atol=1e-12)
    np.testing.assert_allclose(est.weights, w, atol=1e-12)
    assert abs(est.ate - t.ate) < 1e-12


def test_continuous_outcome_and_proxy_exact():
    cont = {"type": "continuous", "features": 3}
    d = make_design(2, {"Z": 3, "X": cont, "T": 2, "Y": {"type": "continuous", "features": 2}},
                    ["Z -> T", "T -> Y"])
    p = random_params(d, seed=5)
    t = truth(d, p)
    est = spo(exact(d, p), ("Z",), ("X",), 2)
    w, e = sorted_truth(t)
    assert abs(est.ate - t.ate) < 1e-10
    np.testing.assert_allclose(est.effects, e, atol=1e-8)
    assert not any("range" in w for w in est.warnings)  # a continuous outcome may be negative


def test_spo_error_shrinks_with_n():
    d = Design.builtin("paper-level3")
    p = random_params(d, seed=11)
    t = truth(d, p)
    errs = []
    for n in (10_000, 1_000_000):
        runs = [abs(fit(d, simulate(d, n, params=p, seed=s)[0], estimator="spo").estimate.ate - t.ate)
                for s in range(5)]
        errs.append(np.median(runs))
    assert errs[1] < errs[0] / 3


def test_fit_picks_and_refuses():
    data, _ = simulate("paper-level4", 2000, seed=0)
    assert fit("paper-level4", data, interval="wald").estimator == "mle"  # the ATE is identified: mle by default
    assert fit("paper-level4", data, estimator="proximal").estimator == "proximal"
    with pytest.raises(IdentificationError, match="not identifiable"):
        fit("paper-level4", data, estimator="spo")
    with pytest.raises(IdentificationError, match="latent"):
        fit("paper-level4", data, estimator="adjustment")
    with pytest.raises(IdentificationError, match="unknown estimator"):
        fit("paper-level4", data, estimator="magic")
    data1, _ = simulate("paper-level1", 2000, seed=0)
    assert fit("paper-level1", data1).estimator == "adjustment"


def test_bootstrap_is_seeded_and_covers_truth():
    d = Design.builtin("paper-level3")
    data, t = simulate(d, 50_000, seed=3)
    r1 = fit(d, data, bootstrap=100, seed=7)
    r2 = fit(d, data, bootstrap=100, seed=7)
    np.testing.assert_array_equal(r1.bootstrap, r2.bootstrap)
    lo, hi = r1.to_dict()["ate"]["ci"]
    assert lo <= t.ate <= hi
    assert "truth" not in r1.to_dict()
    assert "ATE" in r1.summary()


def test_impossible_mixtures_are_projected_and_flagged():
    """Noisy moments whose pencil roots are complex: a valid mixture comes back, with a warning."""
    d = Design.builtin("paper-level4")
    P = population_moments(d, paper_main_params(0.0, 0.0)).ravel()
    rng = np.random.default_rng(123)
    flagged = 0
    for _ in range(60):
        est = spo(Moments(d, rng.multinomial(1000, P).reshape(2, 2, 2, 2) / 1000), ("Z",), ("X",), 2)
        assert np.all(np.abs(est.effects) <= 1) and np.all((est.weights >= 0) & (est.weights <= 1))
        assert abs(est.weights.sum() - 1) < 1e-9 and np.all(np.isfinite(est.effects))
        if "projected" in est.diagnostics:
            flagged += 1
            assert any("projected onto the nearest valid" in w for w in est.warnings)
    assert flagged > 0


def test_near_equal_effects_warn():
    from mixid.estimate.spo import project_atoms

    w, e, res = project_atoms(np.array([1, 0.1, 0.5, 0.0]), 2, 1.0, np.array([0.5, 0.5]), np.array([-1, 1]))
    assert np.all(np.abs(e) <= 1) and abs(w.sum() - 1) < 1e-12 and res >= 0
    d = make_design(2, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"])
    p = random_params(d, seed=0)
    # make the two classes' effects nearly equal: same outcome law in both classes, up to 1e-6
    for t in (0, 1):
        p[f"p_Y0_T{t}_U1"] = p[f"p_Y0_T{t}_U0"] + 1e-6
    est = spo(exact(d, p), ("Z",), ("X",), 2)
    assert any("ill-conditioned" in w or "merged" in w for w in est.warnings)


@pytest.mark.parametrize("k,variables,edges,route", [
    (2, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["T -> Y"], "kruskal_pooled"),
    (2, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"], "kruskal_per_arm"),
    (3, {"Z": 3, "X": 3, "T": 2, "Y": 3}, ["Z -> T", "T -> Y"], "kruskal_per_arm"),
    (3, {"A": 3, "B": 3, "C": 3, "T": 2, "Y": 2}, ["T -> Y"], "kruskal_pooled"),
])
def test_cp_exact_full_mixture(k, variables, edges, route):
    """Plant and recover the whole mixture from exact moments via the certified views."""
    from mixid.estimate.mixture import cp_estimate

    from mixid import place

    d = make_design(k, variables, edges)
    pl = place(d)
    assert pl.targets["full_mixture"].method == route
    p = random_params(d, seed=np.random.default_rng(3), min_effect_gap=0.1)
    t = truth(d, p)
    est = cp_estimate(exact(d, p), pl.targets["full_mixture"].certificate, k, seed=0)
    w, e = sorted_truth(t)
    np.testing.assert_allclose(est.effects, e, atol=1e-8)
    np.testing.assert_allclose(est.weights, w, atol=1e-8)
    assert abs(est.ate - t.ate) < 1e-8


def test_cp_fit_on_samples_is_consistent():
    d = Design.builtin("paper-level2")
    p = random_params(d, seed=np.random.default_rng(5), min_effect_gap=0.3)
    t = truth(d, p)
    errs = []
    for n in (10_000, 1_000_000):
        runs = [np.abs(fit(d, simulate(d, n, params=p, seed=s)[0], estimator="cp", seed=s).estimate.effects
                       - np.sort(t.effects)).max() for s in range(3)]
        errs.append(np.median(runs))
    assert errs[1] < errs[0]


@pytest.mark.parametrize("t", [0, 1])
def test_c12_single_potential_outcome_moments(t):
    from mixid.estimate.spo import potential_outcome_moments

    mo = exact(Design.builtin("paper-level4"), paper_main_params(0.5, 0.0))
    np.testing.assert_allclose(potential_outcome_moments(mo, ("Z",), ("X",), 2, t, 3), [0.5, 0.390625, 0.3359375],
                               atol=1e-12)


def test_out_of_range_potential_outcomes_warn():
    d = Design.builtin("paper-level3")
    p = random_params(d, seed=0)
    p["p_X0_U0"], p["p_X0_U1"] = 0.5, 0.501  # X barely separates the classes
    rng = np.random.default_rng(0)
    P = population_moments(d, p)
    out_of_range = ill = 0
    for _ in range(20):
        est = proximal(Moments(d, rng.multinomial(2000, P.ravel()).reshape(P.shape) / 2000), ("Z",), ("X",), 2)
        out_of_range += any("outside the outcome's range" in w for w in est.warnings)
        ill += any("ill-conditioned" in w for w in est.warnings)
    assert out_of_range > 0 and ill > 0


def test_estimate_modules_import_no_circle():
    """No module of estimate/ reaches itself through its imports (function-level imports included): the data
    layer and the result never import the likelihood, which imports them."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "estimate"
    graph = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        name = name.removesuffix(".__init__") if name != "__init__" else ""
        package = name.rsplit(".", 1)[0] if "." in name and path.name != "__init__.py" else \
            (name if path.name == "__init__.py" else "")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                deps.add(target)
        graph[name] = {d for d in deps if d in graph or (root / (d.replace(".", "/") + ".py")).exists()
                       or (root / d.replace(".", "/") / "__init__.py").exists()}
    assert "mle" not in graph["data"] and not any(d.startswith("likelihood") for d in graph["data"] | graph["result"])

    def reaches(start, goal, seen):
        for d in graph.get(start, ()):
            if d == goal or (d not in seen and not seen.add(d) and reaches(d, goal, seen)):
                return True
        return False

    circles = [m for m in graph if m and reaches(m, m, set())]
    assert not circles, f"modules in an import circle: {circles}"


def test_estimate_flags_out_of_range_exit_2_with_one_line(capsys, tmp_path):
    from mixid.cli import main

    data, _ = simulate("paper-level3", 500, seed=0)
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    code = main(["estimate", "paper-level3", str(path), "--max-starts", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "--max-starts must be an integer from 1" in err and len(err.strip().splitlines()) == 1


def test_estimate_refuses_an_unknown_interval(capsys, tmp_path):
    from mixid.cli import main

    data, _ = simulate("paper-level3", 500, seed=0)
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    code = main(["estimate", "paper-level3", str(path), "--interval", "bayes"])
    err = capsys.readouterr().err
    assert code == 2 and "--interval must be profile or wald" in err and len(err.strip().splitlines()) == 1
