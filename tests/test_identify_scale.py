"""identify at survey scale: marginals instead of the full table, dimension counts first, budgets instead of hangs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from mixid.identify.errors import DesignError
from mixid.identify.marginals import Marginals, dimension_count
from mixid.identify.model import Model
from mixid.identify.routes import kruskal
from mixid.identify.routes.base import Context
from mixid.identify.routes.jacobian import JacobianRoute, recheck

from mixid import Design, place
from mixid.cli import main

P = 2_147_483_647


def items(n: int, k: int, cats: int = 2, **kw) -> Design:
    return Design.latent_class({f"Q{i}": cats for i in range(n)}, classes=k, **kw)


@pytest.mark.parametrize("design", [
    Design.latent_class({"A": 2, "B": 3, "C": 2, "D": 2}, classes=2, edges=["A -> B", "B -> D"]),
    Design.builtin("paper-level4"),
    Design.from_dict({"variables": {n: {"categories": 2} for n in "ABC"}, "latent": {"observed": True}}),
])
def test_a_marginal_is_the_full_table_summed(design):
    """Class tables and Jacobians of marginals, from ancestral sub-models, equal the full table's sums."""
    m = Model(design)
    point = m.random_point(np.random.default_rng(3), P)
    full_J = m.evaluate(point, P)[1].reshape(m.cell_dims + (m.n_params,))
    marg = Marginals(m)
    for keep in [design.names[-1:], design.names[1:3], design.names[::-1]]:
        want = m.marginal(full_J, keep, P).reshape(-1, m.n_params) % P
        assert np.array_equal(marg.jacobian(point, keep, P), want), keep
        if not design.latent_observed:
            assert np.array_equal(marg.class_table(point, keep, P), m.marginal(m.class_tensor(point, P), keep, P))


def _random_design(rng: np.random.Generator) -> Design:
    while True:
        n = int(rng.integers(3, 8))
        dims = {f"V{i}": int(rng.integers(2, 4)) for i in range(n)}
        edges = [f"V{a} -> V{b}" for a in range(n) for b in range(a + 1, n) if rng.random() < 0.12]
        d = Design.latent_class(dims, classes=int(rng.integers(2, 5)), edges=edges)
        c = dimension_count(d)
        if c.observables * c.parameters <= 60_000:
            return d


def _full_table_verdict(design: Design) -> tuple[str, str, int]:
    """The full mixture's verdict as before marginals: some grouping of *all* blocks into three views meeting
    Kruskal's count (global), else the Jacobian of the full table (local); and the full table's rank."""
    ctx = Context(design, seed=0)
    jac = JacobianRoute(ctx)  # no marginal plan in this context: the full table
    rank = jac.rank_J.rank
    blocks = ctx.graph.components(design.names, {design.latent})
    if len(blocks) >= 3 and any(sum(kruskal._kruskal(ctx, v, None)[0] for v in g) >= 2 * design.classes + 2
                                for g in kruskal.three_groupings(blocks)):
        return "identifiable", "global", rank
    return jac.decide("full_mixture").verdict, "local", rank


@pytest.mark.parametrize("seed", range(14))
def test_marginal_verdicts_agree_with_the_full_table(seed):
    d = _random_design(np.random.default_rng(seed))
    p = place(d)
    fm = p.targets["full_mixture"]
    verdict, scope, rank = _full_table_verdict(d)
    assert (fm.verdict, fm.scope) == (verdict, scope), (d.to_dict(), fm.method, fm.reason)
    if fm.method != "dimension_count":
        assert p.model_info["jacobian_rank"] == rank, d.to_dict()


@pytest.mark.parametrize("design", [items(7, 9), items(4, 3), items(8, 3, edges=["Q0 -> Q1", "Q2 -> Q3"]),
                                    Design.builtin("paper-level2")])
def test_known_designs_agree_with_the_full_table(design):
    fm = place(design).targets["full_mixture"]
    verdict, scope, _ = _full_table_verdict(design)
    assert (fm.verdict, fm.scope) == (verdict, scope)


def test_sixteen_items_are_decided_on_small_marginals_with_the_extension_stated():
    d = items(16, 3)
    p = place(d)
    fm = p.targets["full_mixture"]
    assert (fm.verdict, fm.scope, fm.method) == ("identifiable", "global", "kruskal_pooled")
    cert = fm.certificate
    ext = cert["extension"]
    for phrase in ("independent of the views given U", "full column rank k", "B_W^T = diag(pi)^-1 B_S^+ P(S, W)",
                   "B_S^+ = (B_S^T B_S)^-1 B_S^T", "same labels", "ratio of margins"):
        assert phrase in ext["statement"], phrase
    covered = sum(cert["views"], []) + sum(ext["blocks"], [])
    assert sorted(covered) == sorted(d.names) and len(covered) == 16
    assert ext["through"] in cert["views"] and ext["rank_witness"]["rank"] == 3
    assert cert["verification"]["random_point_identities"] > 0 and cert["verification"]["error_bound"] < 1e-9
    assert any(c.statement.startswith("P((Q0,Q1)|U) has full column rank") for c in p.conditions)
    # the Jacobian cross-check ran on the same marginals: views, then each block with the set it extends through
    w = fm.local_check
    assert w["verdict"] == "identifiable" and w["rank_J"] == p.model_info["parameters"] == 50
    cert_J = _witness(p)
    assert cert_J["marginals"][0] == sum(cert["views"], [])
    assert all(m == ext["through"] + b for m, b in zip(cert_J["marginals"][1:], ext["blocks"]))
    assert max(map(len, cert_J["marginals"])) <= 5
    assert recheck(d, cert_J)
    tampered = dict(cert_J, minor_cols=cert_J["minor_cols"][:-1] + [cert_J["minor_cols"][0]])
    assert not recheck(d, tampered)


def _witness(p) -> dict:
    """The rank-J witness of a placement's full mixture, from the Jacobian route of its own context."""
    ctx = Context(p.design, seed=0)
    kruskal.pooled(ctx)
    return JacobianRoute(ctx).rank_J.witness.to_dict()


def test_a_tiny_budget_gives_inconclusive_with_what_was_established():
    p = place(items(100, 5), max_seconds=0.05)
    fm = p.targets["full_mixture"]
    assert (fm.verdict, fm.method, fm.certificate["kind"]) == ("inconclusive", "stopped", "none")
    assert fm.certificate["stopped"]["limit"] == "max_seconds" and fm.certificate["stopped"]["value"] == 0.05
    assert fm.certificate["established"][0].startswith("dimension count: d = 504 parameters")
    assert any(e.startswith("kruskal_pooled: does not apply: stopped") for e in fm.certificate["established"])
    assert fm.local_check["verdict"] == "inconclusive"
    assert p.targets["labels"].verdict == "not_identifiable"  # structural, decided before the budget ran out
    assert p.level is None and "inconclusive" in p.report()
    assert json.loads(p.to_json())["targets"]["full_mixture"]["verdict"] == "inconclusive"


def test_a_million_classes_are_answered_by_counting():
    p = place(items(4, 10**6))
    fm = p.targets["full_mixture"]
    assert (fm.verdict, fm.method, fm.certificate["kind"]) == ("not_identifiable", "dimension_count", "count")
    assert (fm.certificate["parameters"], fm.certificate["observables"]) == (4_999_999, 16)
    assert p.model_info["jacobian_rank"] is None and p.level is None
    assert p.targets["labels"].verdict == "not_identifiable"
    causal = Design.from_dict({**Design.builtin("paper-level3").to_dict(), "latent": {"classes": 10**6}})
    q = place(causal)
    assert (q.targets["mte"].verdict, q.targets["mte"].method) == ("not_identifiable", "dimension_count")
    assert q.targets["ate"].verdict == "inconclusive"
    assert q.targets["ate"].certificate["stopped"]["limit"] == "max_parameters"


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "5", True])
def test_max_seconds_must_be_positive_and_finite(bad):
    with pytest.raises(DesignError, match="max_seconds must be a positive finite number of seconds"):
        place("paper-level2", max_seconds=bad)


@pytest.mark.parametrize("bad", ["0", "-2", "nan", "inf"])
def test_cli_max_seconds(bad, capsys):
    assert main(["identify", "paper-level2", "--max-seconds", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --max-seconds must be a positive finite number") and "\n" not in err
    assert main(["identify", "paper-level2", "--max-seconds", "60", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["level"] == 2


@pytest.mark.parametrize("k", [2, 3, 4])
def test_the_cp_estimator_follows_the_extension(k):
    """On exact moments, CP of the small views plus B_W^T = diag(pi)^-1 B_S^+ P(S, W) for every other item gives
    back every table: the model at the estimate reproduces the population moments."""
    from mixid.estimate.evaluate import Moments
    from mixid.estimate.mixture import cp_estimate
    from mixid.estimate.simulate import population_moments, random_params

    d = items(9, k)
    cert = place(d).targets["full_mixture"].certificate
    assert len(cert["extension"]["blocks"]) >= 4
    moments = population_moments(d, random_params(d, seed=k))
    est = cp_estimate(Moments(d, moments), cert, k, seed=0)
    fitted = Model(d).evaluate(np.asarray(est.extra["params"], float))[0]
    assert np.abs(fitted - np.asarray(moments).ravel()).max() < 1e-9


def test_many_proxies_are_placed_and_stay_within_the_budget():
    """Twenty binary proxies around T -> Y, ten of them parents of T: the role pairs grow like 4^m and the proxies'
    factorisation sums out 2^10 parent states of T. The roles are found by a rule and the factorisations checked at
    random points, so the proxy routes finish (they took about a minute when pairs were listed and cells expanded);
    a budget still stops them, with the route saying where."""
    variables = {f"P{i}": {"type": "categorical", "categories": 2} for i in range(20)}
    variables.update({"T": {"type": "categorical", "categories": 2}, "Y": {"type": "categorical", "categories": 2}})
    design = Design.from_dict({"name": "many", "latent": {"classes": 2}, "variables": variables, "treatment": "T",
                               "outcome": "Y", "edges": ["T -> Y"] + [f"P{i} -> T" for i in range(10)]})
    p = place(design)
    assert (p.targets["mte"].verdict, p.targets["mte"].method) == ("identifiable", "spo")
    assert (p.targets["ate"].verdict, p.targets["ate"].method) == ("identifiable", "proximal")
    assert p.roles.treatment_side == ("P0",) and p.roles.outcome_side == ("P10",)
    stopped = place(design, max_seconds=0.05)
    assert any(r.route == "spo" and r.reason.startswith("stopped: max_seconds") for r in stopped.routes)
    assert stopped.targets["mte"].verdict == "inconclusive"


def test_many_classes_skip_routes_the_count_settles():
    """Fifty classes on four binary items: the dimension count settles the full mixture at once, and the Kruskal
    searches (column subsets of 50 classes) are not run just to say why they fail."""
    p = place(Design.latent_class(list("ABCD"), classes=50))
    assert p.targets["full_mixture"].method == "dimension_count"
    skipped = [r for r in p.routes if r.reason.startswith("not run: the dimension count")]
    assert {r.route for r in skipped} == {"kruskal_pooled", "kruskal_per_arm"}


def test_kruskal_rank_is_a_certified_lower_bound_when_subsets_are_too_many():
    from mixid.identify.rank import MAX_KRUSKAL_SUBSETS, PRIME, kruskal_rank

    matrix = np.random.default_rng(0).integers(1, PRIME, size=(5, 40))  # Kruskal rank 5, C(40, 5) = 658,008
    r, minors = kruskal_rank(matrix)
    assert math.comb(40, 4) > MAX_KRUSKAL_SUBSETS >= math.comb(40, 3)
    assert r == 3 and len(minors) == math.comb(40, 3)  # every 3 columns certified; 4 and 5 not tried
