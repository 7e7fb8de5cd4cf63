"""The k-atom moment problem in floating point: exact recovery, merged and complex atoms, noise, input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mixid.estimate.moment_problem import AtomSolution, matrix_pencil, prony, solve_atoms

METHODS = ["pencil", "prony"]


def moments(weights, atoms, n: int) -> np.ndarray:
    """m_0..m_{n-1} of sum_u weights[u] delta_{atoms[u]}."""
    w, a = np.asarray(weights, float), np.asarray(atoms, float)
    return np.array([np.sum(w * a**j) for j in range(n)])


@pytest.mark.parametrize("method", METHODS)
def test_c2_two_coins(method):
    sol = solve_atoms([1, 0.25, 0.265, 0.1675, 0.12085], 2, method=method)
    assert isinstance(sol, AtomSolution)
    np.testing.assert_allclose(sol.weights, [0.5, 0.5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.atoms, [-0.2, 0.7], rtol=0, atol=1e-12)
    assert sol.warnings == ()
    d = sol.diagnostics
    assert d["method"] == method and d["hankel_rank"] == 2 and not d["complex"] and d["max_imag"] == 0
    assert d["residual"] < 1e-14 and d["min_gap"] == pytest.approx(0.9)
    assert d["n_moments"] == 5 and d["k"] == 2 and math.isfinite(d["cond_H0"])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [4, 5])
def test_reference_generator_symmetric_atoms(method, n):
    # pi = (1/2, 1/2), tau = (-3/4, 3/4): odd moments vanish, where an eigenvector-of-Hankel Prony goes wrong
    sol = solve_atoms([1, 0, 0.5625, 0, 0.31640625][:n], 2, method=method)
    np.testing.assert_allclose(sol.atoms, [-0.75, 0.75], rtol=0, atol=1e-14)
    np.testing.assert_allclose(sol.weights, [0.5, 0.5], rtol=0, atol=1e-14)
    assert sol.warnings == ()


@st.composite
def well_separated(draw, k: int):
    """k atoms in [-1, 1] at least 0.5/k apart (jittered grid), weights at least 0.05."""
    grid = np.linspace(-1, 1, k)
    jitter = np.array(draw(st.lists(st.floats(-0.25, 0.25), min_size=k, max_size=k))) / max(k - 1, 1)
    raw = np.array(draw(st.lists(st.floats(1, 10), min_size=k, max_size=k)))
    weights = 0.05 + (1 - 0.05 * k) * raw / raw.sum()
    return weights, grid + jitter


@pytest.mark.parametrize("k, atol", [(2, 1e-10), (3, 1e-8), (4, 1e-7), (5, 1e-6)])
@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), extra=st.booleans())
def test_random_exact_recovery(k, atol, method, data, extra):
    weights, atoms = data.draw(well_separated(k))
    sol = solve_atoms(moments(weights, atoms, 2 * k + extra), k, method=method)
    assert sol.warnings == ()
    assert sol.atoms.shape == sol.weights.shape == (k,)
    assert np.all(np.diff(sol.atoms) > 0)
    assert sol.weights.sum() == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(sol.atoms, atoms, rtol=0, atol=atol)
    np.testing.assert_allclose(sol.weights, weights, rtol=0, atol=atol)


@pytest.mark.parametrize("method", METHODS)
def test_weights_follow_their_atoms_when_sorted(method):
    weights, atoms = [0.1, 0.6, 0.3], [0.9, -0.4, 0.2]  # unsorted on input
    sol = solve_atoms(moments(weights, atoms, 6), 3, method=method)
    np.testing.assert_allclose(sol.atoms, [-0.4, 0.2, 0.9], atol=1e-12)
    np.testing.assert_allclose(sol.weights, [0.6, 0.3, 0.1], atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_k_equals_one_is_the_mean(method):
    sol = solve_atoms([1, -0.3, 0.09, -0.027], 1, method=method)
    assert sol.atoms.tolist() == [-0.3] and sol.weights.tolist() == [1.0]
    assert sol.warnings == () and sol.diagnostics["min_gap"] == math.inf


def test_k_equals_one_with_inconsistent_moments_keeps_the_mean_and_warns():
    sol = solve_atoms([1, 0.5, 0.5], 1)  # variance 1/4: not a point mass
    assert sol.atoms.tolist() == [0.5]
    assert any(w.startswith("moments not reproduced") for w in sol.warnings)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("extra", [0, 1])
def test_equal_effects_are_merged(method, extra):
    # C17: H_0 has rank = number of distinct atoms
    sol = solve_atoms(moments([0.3, 0.3, 0.4], [0.1, 0.1, 0.5], 6 + extra), 3, method=method)
    assert sol.diagnostics["hankel_rank"] == 2
    np.testing.assert_allclose(sol.atoms, [0.1, 0.5], atol=1e-12)
    np.testing.assert_allclose(sol.weights, [0.6, 0.4], atol=1e-12)
    assert any(w.startswith("ill-conditioned Hankel matrix (cond = ") for w in sol.warnings)
    assert any(w.startswith("only 2 distinct effects; classes with equal effects merged") for w in sol.warnings)
    assert sol.diagnostics["cond_H0"] > 1e9 and sol.diagnostics["residual"] < 1e-12


@pytest.mark.parametrize("method", METHODS)
def test_a_zero_weight_drops_its_atom(method):
    sol = solve_atoms(moments([0.5, 0.5, 0.0], [-1, 1, 0.3], 6), 3, method=method)
    np.testing.assert_allclose(sol.atoms, [-1, 1], atol=1e-12)
    assert sol.diagnostics["hankel_rank"] == 2 and sol.warnings


@pytest.mark.parametrize("method", METHODS)
def test_all_effects_equal_gives_one_atom(method):
    sol = solve_atoms(moments([0.25, 0.75], [0.4, 0.4], 4), 2, method=method)
    np.testing.assert_allclose(sol.atoms, [0.4], atol=1e-14)
    assert sol.weights.tolist() == [1.0] and "only 1 distinct effects" in " ".join(sol.warnings)


@pytest.mark.parametrize("method", METHODS)
def test_complex_atoms_warn_and_do_not_raise(method):
    sol = solve_atoms([1, 0, -1, 0], 2, method=method)  # "atoms" +-i: not a real distribution
    assert sol.diagnostics["complex"] is True
    assert sol.diagnostics["max_imag"] == pytest.approx(1)
    assert any(w.startswith("complex atoms: max |imag| = 1") for w in sol.warnings)
    np.testing.assert_allclose(sol.atoms, [0, 0], atol=1e-14)  # the real parts
    assert np.all(np.isfinite(sol.weights))


@pytest.mark.parametrize("method", METHODS)
def test_negative_weight_is_reported(method):
    # a signed measure with real atoms: the moments are valid numbers but not a distribution
    sol = solve_atoms(moments([1.5, -0.5], [0.2, 0.6], 4), 2, method=method)
    np.testing.assert_allclose(sol.weights, [1.5, -0.5], atol=1e-12)
    assert any(w.startswith("weights outside [0, 1]") for w in sol.warnings)


@pytest.mark.parametrize("method", METHODS)
def test_nearly_zero_weight_is_reported(method):
    sol = solve_atoms(moments([0.5, 0.5 - 1e-7, 1e-7], [-0.5, 0.5, 0.9], 6), 3, method=method)
    assert any(w.startswith("weight nearly zero") for w in sol.warnings)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("weights, atoms", [([0.5, 0.5], [-0.2, 0.7]), ([0.3, 0.3, 0.4], [-0.5, 0.2, 0.8])])
@pytest.mark.parametrize("extra", [0, 1])
def test_noisy_moments(method, weights, atoms, extra):
    rng = np.random.default_rng(20240601)
    k = len(atoms)
    for _ in range(50):
        m = moments(weights, atoms, 2 * k + extra)
        m[1:] += rng.uniform(-1e-6, 1e-6, m.size - 1)
        sol = solve_atoms(m, k, method=method)
        assert not sol.diagnostics["complex"] and sol.diagnostics["hankel_rank"] == k
        assert not any(w.startswith("complex atoms") for w in sol.warnings)
        np.testing.assert_allclose(sol.atoms, atoms, rtol=0, atol=1e-4)
        np.testing.assert_allclose(sol.weights, weights, rtol=0, atol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_large_atoms_are_equilibrated(method):
    sol = solve_atoms(moments([0.25, 0.75], [100, 103], 4), 2, method=method)
    np.testing.assert_allclose(sol.atoms, [100, 103], rtol=1e-9)
    assert sol.warnings == ()
    assert sol.diagnostics["cond_H0"] < sol.diagnostics["cond_H0_raw"]


def test_extra_moments_are_used():
    sol = matrix_pencil(moments([0.2, 0.3, 0.5], [-1, 0, 2], 12), 3)
    np.testing.assert_allclose(sol.atoms, [-1, 0, 2], atol=1e-12)
    assert sol.diagnostics["n_moments"] == 12 and sol.warnings == ()


def test_methods_agree_and_dispatch():
    m = moments([0.2, 0.5, 0.3], [-0.6, 0.1, 0.5], 6)
    a, b = matrix_pencil(m, 3), prony(m, 3)
    np.testing.assert_allclose(a.atoms, b.atoms, atol=1e-12)
    assert solve_atoms(m, 3).diagnostics["method"] == "pencil"
    assert solve_atoms(m, 3, method="prony", tol=1e-6).diagnostics["method"] == "prony"
    with pytest.raises(ValueError, match="unknown method 'svd'"):
        solve_atoms(m, 3, method="svd")


def test_solution_is_immutable():
    sol = solve_atoms([1, 0.25, 0.265, 0.1675], 2)
    with pytest.raises(ValueError):
        sol.atoms[0] = 0.0
    with pytest.raises(AttributeError):
        sol.atoms = np.zeros(2)


@pytest.mark.parametrize(
    "m, k, kw, message",
    [
        ([1, 0.5, 0.5], 0, {}, "k must be a positive integer"),
        ([1, 0.5, 0.5], 1.0, {}, "k must be a positive integer"),
        ([1, 0.5, 0.5], True, {}, "k must be a positive integer"),
        ([1, 0.5, 0.5], 2, {}, r"k = 2 atoms need at least 2k = 4 moments m_0..m_3, got 3"),
        ([[1, 0.5], [0.5, 1]], 1, {}, "moments must be a 1-D array"),
        ([1, np.nan, 0.5, 0.1], 2, {}, "moments must be finite"),
        ([1, np.inf], 1, {}, "moments must be finite"),
        ([1, 1j], 1, {}, "moments must be real"),
        (["a", "b"], 1, {}, "moments must be real numbers"),
        ([2, 0.5, 0.5, 0.2], 2, {}, "m_0 must be 1"),
        ([0, 0.5], 1, {}, "m_0 must be 1"),
        ([1, 0.5], 1, {"tol": 0}, r"tol must be a real number in \(0, 1\)"),
        ([1, 0.5], 1, {"tol": 2.0}, r"tol must be a real number in \(0, 1\)"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_input_errors(m, k, kw, message, method):
    with pytest.raises(ValueError, match=message):
        solve_atoms(m, k, method=method, **kw)


def test_m0_within_rounding_is_accepted():
    sol = solve_atoms([1 + 5e-9, 0.25, 0.265, 0.1675], 2)
    np.testing.assert_allclose(sol.atoms, [-0.2, 0.7], atol=1e-7)
    assert sol.weights.sum() == pytest.approx(1, abs=1e-15)
