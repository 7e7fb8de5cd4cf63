"""FINDINGS from benchmarks/bench_mle.py: problems the maximum-likelihood path had, kept as tests once fixed.

Each test states the behaviour the estimator should have. A new finding enters as a strict xfail (it fails today;
when it is fixed, strict xfail turns the pass into a failure and the marker is removed). Nothing here is skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
from mixid.estimate.data import SufficientStats

from mixid import Design, fit

# A k = 3 design identified only by the Jacobian, and 1e6 rows (as counts of its 32 cells) on which one of the
# maximum-likelihood starts reaches a log-likelihood of -inf (drawn by benchmarks/bench_mle.py --only jacobian_only).
K3_BINARY_Z = Design.from_dict({
    "name": "k3-binary-Z", "latent": {"classes": 3},
    "variables": {"Z": {"type": "categorical", "categories": 2}, "X": {"type": "categorical", "categories": 4},
                  "T": {"type": "categorical", "categories": 2}, "Y": {"type": "categorical", "categories": 2}},
    "treatment": "T", "outcome": "Y", "edges": ["Z -> T", "T -> Y"]})
COUNTS = np.array([168149, 81032, 107241, 7676, 56384, 17466, 11363, 6654, 14322, 5592, 9951, 6375, 54768, 27845,
                   42973, 8157, 20825, 11885, 106459, 6797, 11390, 9333, 10799, 2936, 29836, 25880, 10178, 5983,
                   38533, 31620, 43054, 8544], dtype=float).reshape(2, 4, 2, 2)


def test_no_runtime_warning_from_a_start_at_minus_infinity():
    """Fixed: a start whose log-likelihood is -inf leaves SQUAREM's batch at once, with no warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = fit(K3_BINARY_Z, SufficientStats(K3_BINARY_Z, int(COUNTS.sum()), COUNTS), seed=7, interval="wald")
    assert np.isfinite(r.to_dict()["fit"]["loglik"])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]


DENSE_PROBE = """
import json, resource, numpy as np
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
from mixid import Design, sufficient_stats
d = Design.latent_class([f"Q{i}" for i in range(30)], classes=3)
rng = np.random.default_rng(0)
cols = {c: rng.integers(0, 2, 1000) for c in d.names}
s = sufficient_stats(d, cols)
expected = np.zeros((2, 2))
np.add.at(expected, (cols["Q0"], cols["Q29"]), 1)
print(json.dumps({"dense": s.dense, "n": s.n, "patterns": len(s.patterns.codes),
                  "marginal": s.marginal(("Q0", "Q29")).tolist(), "expected": expected.tolist()}))
"""


def test_thirty_binary_items_do_not_need_the_dense_table():
    """Fixed (issue 10): 30 binary items (2^30 cells) keep their observed patterns, in a 3 GiB address space."""
    r = subprocess.run([sys.executable, "-c", DENSE_PROBE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-1000:]
    out = json.loads(r.stdout)
    assert not out["dense"] and out["n"] == 1000 and 900 < out["patterns"] <= 1000
    assert out["marginal"] == out["expected"]


def test_place_twelve_binary_items_works_on_small_marginals(monkeypatch):
    """Fixed (issue 10): place() on a plain latent class design was exponential in the items (a factorisation
    checked per cell of the full table; 12 items took 23 s). It now decides on marginals of a few items and
    extends the decomposition to the others; no table of the full 4096 cells is ever formed."""
    from mixid.identify.model import Model

    from mixid import place

    sizes = []
    for name in ("class_tensor", "evaluate"):
        original = getattr(Model, name)

        def record(self, *args, _original=original, **kwargs):
            sizes.append(self.n_observables)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Model, name, record)
    p = place(Design.latent_class([f"Q{i}" for i in range(12)], classes=3))
    fm = p.targets["full_mixture"]
    assert (fm.verdict, fm.scope, fm.method) == ("identifiable", "global", "kruskal_pooled")
    assert fm.local_check["rank_J"] == p.model_info["parameters"] == 38
    assert len(fm.certificate["extension"]["blocks"]) == 7
    assert sizes and max(sizes) <= 32  # the views' marginal (5 items), never 2^12
