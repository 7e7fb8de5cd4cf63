"""The checks of docs/theory.md that concern algebra: C2, C3, C4, C9, C10, C11, C15, C16, C17."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from mixid.identify.kcoin import hankel, hankel_det_formula, power_moments
from sympy import Rational as R

from mixid import Design, Model, place
from tests.conftest import make_design


def test_c3_2k_minus_2_moments_do_not_suffice():
    a = power_moments([R(1, 2), R(1, 2)], [-1, 1], 4)
    b = power_moments([R(1, 5), R(4, 5)], [-2, R(1, 2)], 4)
    assert a[:3] == b[:3] == [1, 0, 1]
    assert (a[3], b[3]) == (0, R(-3, 2))


def test_c2_moment_values():
    assert power_moments([R(1, 2), R(1, 2)], [R(-1, 5), R(7, 10)], 5) == [1, R(1, 4), R(53, 200), R(67, 400),
                                                                        R(2417, 20000)]


def test_c4_hankel_determinant_k3():
    pis = sympy.symbols("pi0:3")
    taus = sympy.symbols("tau0:3")
    H0 = hankel(power_moments(pis, taus, 5), 3)
    assert sympy.expand(H0.det() - hankel_det_formula(pis, taus)) == 0


def test_c17_equal_effects_merge():
    m = power_moments([R(1, 5), R(3, 10), R(1, 2)], [R(1, 3), R(1, 3), -1], 6)
    assert hankel(m, 3).rank() == 2
    merged = power_moments([R(1, 2), R(1, 2)], [R(1, 3), -1], 6)
    assert m == merged
    assert hankel(m, 2).det() != 0


def _at_point(model: Model, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for p in model.params:
        dim = 2 if p.variable is None else model.dims[p.variable]
        out[sympy.Symbol(p.name)] = R(int(rng.integers(1, 97)), 97 * dim)
    return out


def _class_matrices(model: Model, Z, X, t):
    """A_t = [P(z, t | u)], B = [P(x | u)], D = diag(pi), lambda_t from the class polynomials."""
    k, T = model.k, model.design.treatment
    A = sympy.Matrix([[model.expr(model.class_poly({**z, T: t}, u)) for u in range(k)]
                      for z in model.proxy_states(Z)])
    B = sympy.Matrix([[model.expr(model.class_poly(x, u)) for u in range(k)] for x in model.proxy_states(X)])
    D = sympy.diag(*[model.expr(model.weight_poly(u)) for u in range(k)])
    lam = sympy.Matrix([model.expr(model.outcome_class_mean(u, t)) for u in range(k)])
    return A, B, D, lam


@pytest.mark.parametrize("name", ["paper-level3", "paper-level2"])
def test_c10_factorisations_symbolic(name):
    m = Model(Design.builtin(name))
    T = "T"
    for t in (0, 1):
        A, B, D, lam = _class_matrices(m, ("Z",), ("X",), t)
        pt = m.expr(m.joint_poly({T: t}))
        assert sympy.simplify(m.moment_matrix(("Z",), ("X",), t) * pt - A * D * B.T) == sympy.zeros(2, 2)
        assert sympy.simplify(m.moment_matrix(("Z",), (), t, outcome=True) * pt - A * D * lam) == sympy.zeros(2, 1)
        C = m.moment_matrix(("Z",), ("X",), t, outcome=True) * pt
        assert sympy.simplify(C - A * D * sympy.diag(*lam) * B.T) == sympy.zeros(2, 2)
    EX = m.moment_matrix(("X",), ())
    assert sympy.simplify(EX - B * sympy.Matrix([m.expr(m.weight_poly(u)) for u in range(2)])) == sympy.zeros(2, 1)


def test_c9_rank_formula_k2_one_hot():
    """det M_t = P(u0|t) P(u1|t) (P(Z=1|u1,t) - P(Z=1|u0,t)) (P(X=1|u1) - P(X=1|u0))."""
    m = Model(Design.builtin("paper-level3"))
    for t in (0, 1):
        A, B, D, _ = _class_matrices(m, ("Z",), ("X",), t)
        pt = m.expr(m.joint_poly({"T": t}))
        ptu = [A[0, u] + A[1, u] for u in range(2)]  # P(t | u)
        post = [D[u, u] * ptu[u] / pt for u in range(2)]  # P(u | t)
        z1 = [A[1, u] / ptu[u] for u in range(2)]  # P(Z=1 | u, t)
        formula = post[0] * post[1] * (z1[1] - z1[0]) * (B[1, 1] - B[1, 0])
        assert sympy.simplify(m.moment_matrix(("Z",), ("X",), t).det() - formula) == 0


def test_c11_operator_form_exact():
    """B^T gamma^(j) = tau^j and m_j = E[X]^T (A_1 - A_0)^(j-1) gamma^(1), exactly at a rational point (k=3)."""
    d = make_design(3, {"Z": 3, "X": 3, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"])
    m = Model(d)
    sub = _at_point(m, 5)
    Ms = {t: m.moment_matrix(("Z",), ("X",), t).xreplace(sub) for t in (0, 1)}
    bs = {t: m.moment_matrix(("Z",), (), t, outcome=True).xreplace(sub) for t in (0, 1)}
    Cs = {t: m.moment_matrix(("Z",), ("X",), t, outcome=True).xreplace(sub) for t in (0, 1)}
    EX = m.moment_matrix(("X",), ()).xreplace(sub)
    A = {t: Ms[t].inv() * Cs[t] for t in (0, 1)}
    gamma = Ms[1].inv() * bs[1] - Ms[0].inv() * bs[0]
    _, B, D, _ = _class_matrices(m, ("Z",), ("X",), 0)
    B = B.xreplace(sub)
    pis = [m.expr(m.weight_poly(u)).xreplace(sub) for u in range(3)]
    taus = [m.expr(f).xreplace(sub) for f in m.target_polys("effects")]
    for j in range(1, 6):
        if j > 1:
            gamma = (A[1] - A[0]) * gamma
        assert list(B.T * gamma) == [tau**j for tau in taus]
        assert (EX.T * gamma)[0] == sum(p * tau**j for p, tau in zip(pis, taus))


def test_c15_kruskal_counts():
    p2 = place("paper-level2")
    cond = next(c for c in p2.conditions if c.kind == "kruskal")
    assert cond.holds and cond.details["kruskal_ranks"] == [2, 2, 2]
    k3 = place(make_design(3, {"Z": 2, "X": 2, "T": 2, "Y": 2}, ["T -> Y"]))
    cond = next(c for c in k3.conditions if c.kind == "kruskal" and c.route == "kruskal_pooled")
    assert not cond.holds and sum(cond.details["kruskal_ranks"]) == 7
    ranks = [c for c in k3.conditions if c.kind == "rank"]
    assert ranks and not any(c.holds for c in ranks)
    assert all(c.details["rank_lower_bound"] == 2 for c in ranks)


@pytest.mark.parametrize("name, edges, bridge", [
    ("paper-level3", None, True),
    ("paper-level4", None, True),  # X -> Y is allowed for the ATE
    ("Z -> Y", ["Z -> T", "T -> Y", "Z -> Y"], False),  # Z ⊥ Y | U, T fails: no bridge
])
def test_c16_bridge_equivalence(name, edges, bridge):
    """With one-hot z, alpha_t solving M[Z,X|t] alpha_t = M[Z,Y|t] is an outcome bridge: E[Y | z, t] =
    E[alpha_t^T X | z, t], both sides read off the model's own conditional moments (not off M); and, when
    Z ⊥ Y | U, T, it is a synthetic potential outcome: E[alpha_t^T X | U=u] = E[Y(t) | U=u] for every class
    (B^T alpha_t = lambda_t), hence E[X]^T alpha_t = E[Y(t)]. With Z -> Y the bridge equation still has a
    solution but it is no potential outcome, and the check says so."""
    d = (Design.builtin(name) if edges is None
         else make_design(2, {"Z": 2, "X": 2, "T": 2, "Y": 2}, edges))
    m = Model(d)
    sub = _at_point(m, 3)
    for t in (0, 1):
        M = m.moment_matrix(("Z",), ("X",), t).xreplace(sub)
        alpha = M.inv() * m.moment_matrix(("Z",), (), t, outcome=True).xreplace(sub)
        for z in (0, 1):
            e_y = m.moment({"Y": 1}, {"Z": z, "T": t}).xreplace(sub)
            e_bridge = sum(alpha[x] * m.moment({"X": x}, {"Z": z, "T": t}).xreplace(sub) for x in (0, 1))
            assert sympy.simplify(e_y - e_bridge) == 0
        _, B, D, lam = _class_matrices(m, ("Z",), ("X",), t)
        per_class = sympy.simplify((B.T * alpha).xreplace(sub) - lam.xreplace(sub))
        assert (per_class == sympy.zeros(2, 1)) is bridge
        po = sum(D[u, u] * lam[u] for u in range(2)).xreplace(sub)
        ex = m.moment_matrix(("X",), ()).xreplace(sub)
        assert (sympy.simplify((ex.T * alpha)[0] - po) == 0) is bridge
