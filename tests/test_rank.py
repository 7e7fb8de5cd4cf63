"""The rank engine: modular ranks, witnesses, Kruskal ranks, and agreement with an independent float SVD."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from mixid.identify.rank import PRIME, det_mod, generic_rank, kruskal_rank, nonzero_minor, points_needed, rank_mod

from mixid import Model
from tests.conftest import make_design


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 6), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_rank_and_witness_of_low_rank_products(rows, cols, r, seed):
    rng = np.random.default_rng(seed)
    M = rng.integers(-20, 21, size=(rows, r)) @ rng.integers(-20, 21, size=(r, cols))
    expected = np.linalg.matrix_rank(M.astype(float))
    assert rank_mod(M) == expected
    rws, cls = nonzero_minor(M)
    assert len(rws) == len(cls) == expected
    if expected:
        assert det_mod(M[np.ix_(rws, cls)]) != 0


def test_kruskal_rank():
    M = np.array([[1, 0, 1], [0, 1, 1]])
    assert kruskal_rank(M)[0] == 2
    M2 = np.array([[1, 0, 2], [0, 1, 0], [0, 0, 0]])  # columns 0 and 2 are parallel
    assert kruskal_rank(M2)[0] == 1
    assert kruskal_rank(np.zeros((2, 2), dtype=int))[0] == 0


def test_points_needed_and_bounds():
    assert points_needed(10, 1e-9) == 2
    assert points_needed(1, 0.5) == 1
    ev = lambda rng: (np.array([1]), np.array([[1, 2], [2, 4]]))  # noqa: E731
    r = generic_rank(ev, 1)
    assert r.rank == 1 and not r.exact and 0 < r.error_bound < 1e-9
    r2 = generic_rank(ev, 1, upper_bound=1, upper_reason="test")
    assert r2.exact and r2.error_bound == 0.0


DESIGN_SPACE = st.fixed_dictionaries({
    "k": st.integers(1, 3),
    "zc": st.integers(2, 4),
    "xc": st.integers(2, 4),
    "yc": st.integers(2, 3),
    "zt": st.booleans(),
    "xy": st.booleans(),
    "zx": st.booleans(),
})


@given(DESIGN_SPACE, st.integers(0, 1000))
@settings(max_examples=25, deadline=None)
def test_modular_rank_agrees_with_float_svd(spec, seed):
    """Random small designs: rank J mod p at a random point equals the float SVD rank at a random interior point."""
    edges = ["T -> Y"] + ["Z -> T"] * spec["zt"] + ["X -> Y"] * spec["xy"] + ["Z -> X"] * spec["zx"]
    d = make_design(spec["k"], {"Z": spec["zc"], "X": spec["xc"], "T": 2, "Y": spec["yc"]}, edges)
    m = Model(d)
    rng = np.random.default_rng(seed)
    J = m.evaluate(m.random_point(rng))[1]
    s = np.linalg.svd(J, compute_uv=False)
    float_rank = int((s > s[0] * 1e-9).sum())
    gaps = s[:-1] / np.maximum(s[1:], 1e-300)
    if float_rank < len(s) and gaps[float_rank - 1] < 1e4:
        return  # ill-conditioned point: the float route cannot decide, nothing to compare
    Jp = m.evaluate(m.random_point(rng, PRIME), PRIME)[1]
    assert rank_mod(Jp) == float_rank
