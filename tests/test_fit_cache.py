"""fit places a design once per process (placements cached by design content, never mutated) and reports the
progress of its long loops through the shared callback pattern."""

from __future__ import annotations

import copy
import importlib
import json

import pytest
from mixid.estimate.progress import track

from mixid import Design, fit, place, simulate, validate
from tests.conftest import make_design

fit_module = importlib.import_module("mixid.estimate.fit")  # the module (the package exports the function fit)
cached_place = fit_module._cached_place


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of place() made through fit, from an empty cache."""
    calls = []

    def counting(design, **kwargs):
        calls.append(design.name)
        return place(design, **kwargs)

    monkeypatch.setattr(fit_module, "place", counting)
    monkeypatch.setattr(fit_module, "_PLACEMENTS", type(fit_module._PLACEMENTS)())
    return calls


def test_fit_places_each_design_content_once(counted):
    data, _ = simulate("paper-level3", 3000, seed=0)
    for _ in range(3):
        fit("paper-level3", data, interval="wald")  # (the intervals do not matter here)
    fit(Design.builtin("paper-level3"), data, interval="wald")  # another object, same content
    assert counted == ["paper-level3"]
    renamed = Design.builtin("paper-level3").rename({"Z": "A"})
    fit(renamed, data.rename(columns={"Z": "A"}), interval="wald")
    assert counted == ["paper-level3", "paper-level3"]  # new content, placed once more
    assert cached_place(renamed) is cached_place(renamed)
    assert cached_place(renamed, error=1e-6) is not cached_place(renamed)  # error and seed are part of the key
    assert cached_place(renamed, seed=1) is not cached_place(renamed)


def test_the_cache_is_bounded(counted, monkeypatch):
    monkeypatch.setattr(fit_module, "PLACEMENT_CACHE_SIZE", 2)
    designs = [make_design(2, {"Z": 2, "X": c, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"], name=f"c{c}") for c in (2, 3, 4)]
    for d in designs:
        cached_place(d)
    assert len(fit_module._PLACEMENTS) == 2
    cached_place(designs[0])  # evicted, so placed again
    assert counted == ["c2", "c3", "c4", "c2"]


@pytest.mark.parametrize("design,estimators", [
    ("paper-level2", ["auto", "cp", "spo", "proximal"]),
    ("paper-level3", ["auto", "cp", "spo", "proximal"]),
    ("paper-level4", ["auto", "proximal"]),
    ("paper-level1", ["auto", "adjustment"]),
])
def test_fit_never_mutates_a_cached_placement(design, estimators):
    d = Design.builtin(design)
    p = cached_place(d)
    before_json = json.dumps(p.to_dict(), sort_keys=True, default=str)
    before = copy.deepcopy(p)
    data, _ = simulate(d, 4000, seed=1)
    for estimator in estimators:
        fit(d, data, estimator=estimator, bootstrap=5, seed=0)
    assert cached_place(d) is p
    assert json.dumps(p.to_dict(), sort_keys=True, default=str) == before_json
    assert p.roles == before.roles and p.level == before.level and p.error == before.error
    assert [c.to_dict() for c in p.conditions] == [c.to_dict() for c in before.conditions]


def test_bootstrap_and_validate_report_progress():
    data, _ = simulate("paper-level3", 3000, seed=0)
    calls = []
    fit("paper-level3", data, bootstrap=7, seed=0, progress=lambda *a: calls.append(a))
    starts = [c for c in calls if c[0] == "starts"]  # maximum likelihood reports its starts first
    assert starts[0] == ("starts", 0, 11) and starts[-1] == ("starts", 11, 11)
    boot = [c for c in calls if c[0] != "starts"]  # replicates climb as one batch: counted as they finish
    assert boot[0] == ("bootstrap", 0, 7) and boot[-1] == ("bootstrap", 7, 7)
    assert all(c[0] == "bootstrap" and c[2] == 7 for c in boot) and [c[1] for c in boot] == sorted({c[1] for c in boot})
    calls.clear()
    validate("paper-level4", ns=(1000, 2000), runs=2, progress=lambda *a: calls.append(a))
    assert calls == [("validate", i, 4) for i in range(5)]


def test_track_passes_items_through_without_a_callback():
    assert list(track(iter("abc"), None, "x")) == ["a", "b", "c"]
    seen = []
    assert list(track(iter("ab"), lambda *a: seen.append(a), "letters", total=2)) == ["a", "b"]
    assert seen == [("letters", 0, 2), ("letters", 1, 2), ("letters", 2, 2)]
