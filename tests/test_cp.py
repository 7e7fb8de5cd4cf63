"""CP recovery of latent class mixtures (estimate.cp): plant a mixture, recover it, compare up to relabelling."""

from __future__ import annotations

import numpy as np
import pytest
from mixid.estimate.cp import CPSolution, align_columns, cp_mixture, cp_per_arm


def planted(dims: tuple[int, ...], k: int, seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Dirichlet weights and columns, and their exact joint table."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(k))
    F = [rng.dirichlet(np.ones(d), size=k).T for d in dims]
    return w, F, np.einsum("u,au,bu,cu->abc", w, *F)


def separated(dims: tuple[int, ...], k: int, seed: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """A well-conditioned mixture (each class leans on its own state), for the sampling tests."""
    rng = np.random.default_rng(seed)
    w = 0.5 * rng.dirichlet(np.ones(k)) + 0.5 / k
    F = [0.5 * np.eye(d, k) + 0.5 * rng.dirichlet(np.ones(d), size=k).T for d in dims]
    return w, F, np.einsum("u,au,bu,cu->abc", w, *F)


def recovery_error(sol: CPSolution, w: np.ndarray, F: list[np.ndarray]) -> float:
    """Max abs error of weights and factors after matching the labels on all three views at once."""
    perm = align_columns(np.vstack(F), np.vstack(sol.factors))
    return max(np.abs(sol.weights[perm] - w).max(), *(np.abs(f[:, perm] - g).max() for f, g in zip(sol.factors, F)))


@pytest.mark.parametrize("dims, k", [((2, 2, 4), 2), ((2, 2, 2), 2), ((3, 3, 3), 3), ((4, 4, 4), 3),
                                     ((4, 4, 4), 4), ((3, 3, 4), 4)])
@pytest.mark.parametrize("seed", range(5))
def test_exact_tensor_recovered(dims, k, seed):
    w, F, P = planted(dims, k, seed)
    sol = cp_mixture(P, k, seed=seed)
    assert recovery_error(sol, w, F) < 1e-8
    assert sol.diagnostics["fit_error"] < 1e-12
    assert sol.warnings == ()
    assert sol.weights.shape == (k,) and [f.shape for f in sol.factors] == [(d, k) for d in dims]
    assert np.isclose(sol.weights.sum(), 1, atol=1e-14)
    for f in sol.factors:
        np.testing.assert_allclose(f.sum(axis=0), 1, atol=1e-14)
        assert f.min() >= 0
    # 3 x 3 x 4 with k = 4 has one view with k states: the rank-one pencil, not Jennrich, starts it.
    assert sol.diagnostics["init"] == ("rank_one_pencil" if dims == (3, 3, 4) else "jennrich")
    assert np.all(np.diff(sol.weights) <= 0)  # heaviest class first


def test_counts_are_normalised():
    w, F, P = planted((3, 3, 3), 3, 11)
    sol = cp_mixture(P * 12345.0, 3, seed=0)
    assert recovery_error(sol, w, F) < 1e-8
    assert sol.diagnostics["total"] == pytest.approx(12345.0)
    assert sol.diagnostics["fit_error"] < 1e-12  # on the probability scale


def test_one_class_gives_the_marginals():
    rng = np.random.default_rng(4)
    a, b, c = (rng.dirichlet(np.ones(d)) for d in (2, 3, 4))
    sol = cp_mixture(np.einsum("a,b,c->abc", a, b, c), 1, seed=0)
    for f, g in zip(sol.factors, (a, b, c)):
        np.testing.assert_allclose(f[:, 0], g, atol=1e-12)
    assert sol.weights.tolist() == [1.0]


def test_misspecified_rank_warns():
    _, _, P = planted((3, 3, 3), 3, 0)
    sol = cp_mixture(P, 1, seed=0)
    assert any("before normalisation" in msg for msg in sol.warnings)
    assert sol.diagnostics["fit_error"] > 1e-3


@pytest.mark.parametrize("dims, k, seed", [((2, 2, 4), 2, 0), ((4, 4, 4), 3, 2)])
def test_sampling_error_shrinks_with_n(dims, k, seed):
    w, F, P = separated(dims, k, seed)
    errors = {}
    for n in (10**4, 10**6):
        counts = np.random.default_rng(seed + n).multinomial(n, P.ravel()).reshape(P.shape)
        errors[n] = recovery_error(cp_mixture(counts, k, seed=seed), w, F)
    assert errors[10**6] < errors[10**4]
    assert errors[10**6] < 0.01


def arm_model(seed: int) -> tuple[list[np.ndarray], list[np.ndarray], list[list[np.ndarray]], np.ndarray]:
    """Two arms, k = 3: P(view0 | u, t) and P(view2 | u, t) depend on t, P(view1 | u) does not."""
    rng = np.random.default_rng(seed)
    X = rng.dirichlet(np.ones(3), size=3).T
    weights = [np.array([0.5, 0.3, 0.2]), np.array([0.15, 0.25, 0.6])]  # opposite orders: labels must be aligned
    factors = [[rng.dirichlet(np.ones(3), size=3).T, X, rng.dirichlet(np.ones(4), size=3).T] for _ in range(2)]
    tables = [np.einsum("u,au,bu,cu->abc", w, *f) for w, f in zip(weights, factors)]
    return tables, weights, factors, np.array([0.4, 0.6])


def test_per_arm_recovery_and_pooled_weights():
    tables, weights, factors, p = arm_model(7)
    pooled, sols = cp_per_arm(tables, p, 3, stitch_view=1, seed=0)
    # One relabelling, read off the stitch view of arm 0, must fit every arm.
    perm = align_columns(factors[0][1], sols[0].factors[1])
    for t, sol in enumerate(sols):
        assert np.abs(sol.weights[perm] - weights[t]).max() < 1e-8
        for f, g in zip(sol.factors, factors[t]):
            assert np.abs(f[:, perm] - g).max() < 1e-8
        assert sol.diagnostics["stitch"]["mismatch"] < 1e-10
        assert sol.diagnostics["arm"] == t and sol.diagnostics["arm_prob"] == pytest.approx(p[t])
        assert sol.warnings == ()
    assert np.abs(pooled[perm] - (p[0] * weights[0] + p[1] * weights[1])).max() < 1e-8
    assert sols[1].diagnostics["stitch"]["permutation"] != [0, 1, 2]  # arm 1's own order was different


def test_per_arm_accepts_mappings_and_warns_on_a_bad_stitch():
    tables, _, _, p = arm_model(3)
    pooled, sols = cp_per_arm({"a": tables[0], "b": tables[1]}, {"a": p[0], "b": p[1]}, 3, stitch_view=0, seed=1)
    assert [s.diagnostics["arm"] for s in sols] == ["a", "b"]
    assert np.isclose(pooled.sum(), 1)
    # view 0's law changes with the arm: the columns cannot be matched.
    assert sols[1].diagnostics["stitch"]["mismatch"] > 0.05
    assert any("stitch view 0" in msg for msg in sols[1].warnings)


def test_align_columns_undoes_a_permutation():
    rng = np.random.default_rng(0)
    M = rng.dirichlet(np.ones(5), size=6).T
    perm = rng.permutation(6)
    shuffled = M[:, perm]
    found = align_columns(M, shuffled)
    np.testing.assert_array_equal(shuffled[:, found], M)
    noisy = shuffled + 1e-3 * rng.standard_normal(M.shape)
    np.testing.assert_array_equal(align_columns(M, noisy), found)


@pytest.mark.parametrize("tensor, k, message", [
    (np.ones((2, 2)), 1, "3-way"),
    (np.ones((2, 2, 2, 2)), 1, "3-way"),
    (-np.ones((2, 2, 2)), 1, "negative"),
    (np.full((2, 2, 2), np.nan), 1, "non-finite"),
    (np.zeros((2, 2, 2)), 1, "sums to zero"),
    (np.ones((2, 2, 2)), 0, "k must be"),
    (np.ones((2, 2, 2)), 1.5, "k must be"),
    (np.ones((2, 2, 2)), True, "k must be"),
])
def test_cp_mixture_rejects_bad_input(tensor, k, message):
    with pytest.raises(ValueError, match=message):
        cp_mixture(tensor, k)


def test_other_bad_input():
    P = np.ones((2, 2, 2))
    with pytest.raises(ValueError, match="restarts"):
        cp_mixture(P, 2, restarts=0)
    with pytest.raises(ValueError, match="seed"):
        cp_mixture(P, 2, seed="abc")
    with pytest.raises(ValueError, match="same shape"):
        align_columns(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="stitch_view"):
        cp_per_arm([P, P], [0.5, 0.5], 2, stitch_view=3)
    with pytest.raises(ValueError, match="entries for 2 arms"):
        cp_per_arm([P, P], [0.2, 0.3, 0.5], 2, stitch_view=0)
    with pytest.raises(ValueError, match="non-negative"):
        cp_per_arm([P, P], [-0.5, 1.5], 2, stitch_view=0)
    with pytest.raises(ValueError, match="arm 1"):
        cp_per_arm([P, -P], [0.5, 0.5], 2, stitch_view=0)


def test_same_seed_same_result():
    _, _, P = separated((3, 3, 3), 3, 1)
    counts = np.random.default_rng(0).multinomial(5000, P.ravel()).reshape(P.shape)
    first = cp_mixture(counts, 3, seed=42)
    for again in (cp_mixture(counts, 3, seed=42), cp_mixture(counts, 3, seed=np.random.default_rng(42))):
        np.testing.assert_array_equal(first.weights, again.weights)
        for f, g in zip(first.factors, again.factors):
            np.testing.assert_array_equal(f, g)
        assert first.diagnostics["restart_residuals"] == again.diagnostics["restart_residuals"]
    assert first.diagnostics["restarts"] == 5  # noisy: every restart runs
