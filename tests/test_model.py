"""The symbolic model: parameter counts, exact polynomials vs numeric evaluation, Jacobian, LaTeX."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from mixid.estimate.evaluate import eval_poly
from mixid.identify.rank import PRIME

from mixid import Design, DesignError, Model
from tests.conftest import make_design


@pytest.mark.parametrize("name,d,n", [("paper-level1", 7, 8), ("paper-level2", 11, 16),
                                      ("paper-level3", 13, 16), ("paper-level4", 17, 16)])
def test_parameter_and_observable_counts(name, d, n):
    m = Model(Design.builtin(name))
    assert (m.n_params, m.n_observables) == (d, n)


DESIGNS = [
    Design.builtin("paper-level1"),
    Design.builtin("paper-level4"),
    make_design(3, {"Z": 3, "W": 2, "T": 2, "X": 3, "Y": 2}, ["Z -> T", "W -> T", "T -> Y", "X -> Y"]),
    make_design(2, {"Z": {"type": "continuous", "features": 3}, "T": 2, "Y": {"type": "continuous",
                                                                             "features": 2}}, ["T -> Y"]),
    Design.latent_class({"A": 2, "B": 3, "C": 2, "D": 2}, classes=3, edges=["A -> B"]),
]


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name + str(d.classes))
def test_numeric_matches_polynomials_and_jacobian(design):
    m = Model(design)
    x = m.random_point(np.random.default_rng(1))
    p, J = m.evaluate(x)
    names = design.names
    for row, cell in enumerate(m._cells):
        assign = {n: int(v) for n, v in zip(names, cell)}
        poly = m.joint_poly(assign, klass=int(cell[-1]) if design.latent_observed else None)
        assert eval_poly(poly, x) == pytest.approx(p[row], abs=1e-12)
    if all(v.categorical for v in design.variables):
        assert p.sum() == pytest.approx(1.0)
    eps = 1e-6
    for j in range(m.n_params):
        e = np.zeros_like(x)
        e[j] = eps
        fd = (m.evaluate(x + e)[0] - m.evaluate(x - e)[0]) / (2 * eps)
        np.testing.assert_allclose(J[:, j], fd, atol=1e-8)


def test_modular_jacobian_matches_float_on_integers():
    """The same integer point: float evaluation reduced mod p equals the modular evaluation."""
    m = Model(Design.builtin("paper-level3"))
    x = np.random.default_rng(2).integers(-5, 6, size=m.n_params)
    pf, Jf = m.evaluate(x.astype(float))
    pm, Jm = m.evaluate(x % PRIME, PRIME)
    np.testing.assert_array_equal(np.round(Jf).astype(np.int64) % PRIME, Jm)
    np.testing.assert_array_equal(np.round(pf).astype(np.int64) % PRIME, pm)


def test_targets_are_the_g_formula():
    """With X -> Y the class effect averages the X-specific contrasts over P(X | U)."""
    m = Model(Design.builtin("paper-level4"))
    sym = {s.name: s for s in m.symbols}
    tau0 = sympy.expand(m.expr(m.target_polys("effects")[0]))
    px1 = 1 - sym["p_X0_U0"]
    expected = (sym["p_X0_U0"] * ((1 - sym["p_Y0_X0_T1_U0"]) - (1 - sym["p_Y0_X0_T0_U0"]))
                + px1 * ((1 - sym["p_Y0_X1_T1_U0"]) - (1 - sym["p_Y0_X1_T0_U0"])))
    assert sympy.expand(tau0 - expected) == 0


def test_moments_and_latex():
    m = Model(Design.builtin("paper-level3"))
    M = m.moment_matrix(("Z",), ("X",), 1)
    assert M.shape == (2, 2)
    total = sympy.simplify(sum(M))
    assert total == 1
    tex = m.latex(m.moment({"Z": 1}, {"T": 1}))
    assert "P(Z{=}0 \\mid U{=}0)" in tex and "\\frac" in tex


def test_class_tensor_sums_to_one():
    m = Model(make_design(3, {"A": 3, "T": 2, "Y": 2}, ["A -> T", "T -> Y"]))
    x = m.random_point(np.random.default_rng(0))
    np.testing.assert_allclose(m.class_tensor(x).reshape(-1, 3).sum(axis=0), 1.0)


def test_plain_latent_class_model_has_no_causal_targets():
    """Class weights and the full mixture exist without a treatment; effects, MTE and ATE refuse by name."""
    m = Model(Design.latent_class(list("ABCDEFG"), classes=3))
    assert (m.n_params, m.n_observables) == (2 + 3 * 7, 2**7)
    assert len(m.target_polys("weights")) == 3 and len(m.target_polys("full_mixture")) == m.n_params
    for target in ("effects", "mte", "ate"):
        with pytest.raises(DesignError, match=f"target '{target}' needs a treatment and an outcome"):
            m.target_polys(target)
    with pytest.raises(DesignError, match="fields 'treatment' and 'outcome'"):
        m.outcome_class_mean(0, 1)
    with pytest.raises(DesignError, match="need a treatment and an outcome"):
        m.moment_matrix(("A",), ("B",), t=1)
    assert m.moment_matrix(("A",), ("B",)).shape == (2, 2)
