"""The identified set over bootstrap replicates (estimate/identified_set.over_replicates, fit(..., bootstrap=B)) and
the settling of the bounds' starts (identify/fibre/bounds.fibre_bounds)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from mixid.estimate.identified_set import over_replicates
from mixid.estimate.simulate import random_params
from mixid.identify import Design, place
from mixid.identify.fibre.bounds import FibreWalk, fibre_bounds
from mixid.identify.fibre.identified_set import identified_set
from mixid.identify.fibre.targets import parameter_point
from mixid.identify.model import Model

from mixid import fit, simulate


def k3_design(x_categories: int) -> Design:
    """paper-level3's graph with k = 3, a binary Z -> T proxy and an X of 3 or 4 categories."""
    k3 = dataclasses.replace(Design.builtin("paper-level3"), classes=3, name=f"k3-x{x_categories}")
    return dataclasses.replace(k3, variables=tuple(dataclasses.replace(v, size=x_categories) if v.name == "X" else v
                                                   for v in k3.variables))


def vector(model: Model, params: dict) -> np.ndarray:
    return np.array([params[p.name] for p in model.params])


@pytest.fixture(scope="module")
def level4():
    return place("paper-level4")


def test_bounds_over_replicates_and_failures_counted(level4):
    """Two replicates at one point: each end's percentile interval is that point's bound, so the outer interval
    is the set itself. A replicate at a singular point fails, is counted with its reason, and warns."""
    design = level4.design
    model = Model(design)
    a, b = random_params(design, seed=1), random_params(design, seed=2)
    singular = dict(a, pi_0=1.0)  # class 1 empty: the Jacobian loses rank
    points = np.array([vector(model, a), vector(model, a), vector(model, singular), vector(model, b)])
    out, notes = over_replicates(level4, points, "bounds", level=0.9)
    assert out["replicates"] == 4 and out["sets"] == 3 and out["incomplete"] == 0
    assert sum(out["failed"].values()) == 1 and "singular point" in next(iter(out["failed"]))
    assert len(notes) == 1 and "failed at 1 of 4 bootstrap replicates" in notes[0]
    sa = identified_set(design, a, fibre=level4.fibre, seed=0)
    sb = identified_set(design, b, fibre=level4.fibre, seed=2)
    lows = np.array([sa.effects[0]["low"], sa.effects[0]["low"], sb.effects[0]["low"]])
    highs = np.array([sa.effects[0]["high"], sa.effects[0]["high"], sb.effects[0]["high"]])
    e0 = out["mte"]["effects"][0]
    assert e0["low_interval"] == pytest.approx(np.quantile(lows, [0.05, 0.95]), abs=1e-6)
    assert e0["high_interval"] == pytest.approx(np.quantile(highs, [0.05, 0.95]), abs=1e-6)
    assert e0["low"] == e0["low_interval"][0] and e0["high"] == e0["high_interval"][1]
    assert out["level"] == 0.9 and "valid_models" not in out
    json.dumps(out, allow_nan=False)
    same, _ = over_replicates(level4, points[:2], "bounds")
    for what in ("weights", "effects"):
        for r, own in zip(same["mte"][what], getattr(sa, what)):
            assert r["low"] == pytest.approx(own["low"], abs=1e-6)
            assert r["high"] == pytest.approx(own["high"], abs=1e-6)


def test_a_spent_budget_is_counted_not_dropped(level4):
    theta = vector(Model(level4.design), random_params(level4.design, seed=1))
    out, notes = over_replicates(level4, np.array([theta] * 3), "bounds", max_seconds=0.0)
    assert out["sets"] == 0 and out["failed"] == {"time budget of the bootstrap's sets spent": 3}
    assert "ate" not in out and "failed at 3 of 3" in notes[0]


def test_fit_with_bootstrap_reports_the_sets_spread():
    design = Design.builtin("paper-level4")
    data, _ = simulate(design, 20_000, params=random_params(design, seed=3, min_effect_gap=0.05), seed=3)
    r = fit(design, data, seed=0, bootstrap=6, interval="wald")
    s = r.to_dict()["identified_set"]
    b = s["bootstrap"]
    assert b["kind"] == "bounds" and b["replicates"] == len(r.bootstrap) == 6
    assert b["sets"] + sum(b["failed"].values()) == 6 and b["seconds"] > 0
    for j in range(2):  # each end's percentile interval is ordered, and the outer interval holds them
        e = b["mte"]["effects"][j]
        assert e["low"] == e["low_interval"][0] <= e["low_interval"][1]
        assert e["high_interval"][0] <= e["high_interval"][1] == e["high"]
        assert -1 <= e["low"] <= e["high"] <= 1
        assert 0 <= b["mte"]["weights"][j]["low"] <= b["mte"]["weights"][j]["high"] <= 1
    json.dumps(r.to_dict(), allow_nan=False)
    text = r.summary()
    assert "bootstrap 95% outer interval" in text and f"the set at {b['sets']} of 6 replicates" in text
    plain = fit(design, data, seed=0, interval="wald")
    assert "bootstrap" not in plain.to_dict()["identified_set"]


def test_settled_bounds_match_the_bounds_from_every_start(level4):
    """A target stops taking starts once SETTLE runs reached each end: its bounds are those that every start
    gives (settle larger than the number of starts: nothing settles, all starts run)."""
    model = Model(level4.design)
    theta = parameter_point(model, random_params(level4.design, seed=4))
    starts = FibreWalk(model, theta, np.random.default_rng(0)).points(8, thin=10)
    quick = fibre_bounds(model, theta, starts, deadline=np.inf)
    full = fibre_bounds(model, theta, starts, deadline=np.inf, settle=len(starts) + 1)
    assert quick["runs"] < full["runs"] == 2 * len(starts) * (1 + 2 * model.k)
    assert full["starts_used"] == len(starts) and quick["starts_used"] < len(starts)
    for key in ("weights", "effects"):
        for (ql, qh), (fl, fh) in zip(quick[key], full[key]):
            assert ql.value == pytest.approx(fl.value, abs=1e-6) and qh.value == pytest.approx(fh.value, abs=1e-6)
            assert ql.reached >= 3 and qh.reached >= 3


def test_a_replicate_out_of_time_is_counted(level4, monkeypatch):
    """Each replicate's set has its own budget (the first one a longer one, for a fresh process's compilation):
    bounds that run out of it are a failure, counted with why."""
    from mixid.estimate import identified_set as module

    monkeypatch.setattr(module, "REPLICATE_SECONDS", 1e-9)
    theta = vector(Model(level4.design), random_params(level4.design, seed=1))
    out, notes = over_replicates(level4, np.array([theta] * 3), "bounds")
    assert out["sets"] == 1 and sum(out["failed"].values()) == 2
    assert "no time left" in next(iter(out["failed"])) and "failed at 2 of 3" in notes[0]
