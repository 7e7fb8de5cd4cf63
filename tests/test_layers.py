"""The two layers run one recursion: the certificate's estimand (exact, mod p) and the estimator (floating point)
agree on the same exact population moments.

The parameters are rationals with denominator 10, so every quantity the estimand returns (E[Y(t)], the synthetic
moments m_j) is a rational with a small denominator: it is run modulo two primes, lifted by the Chinese remainder
theorem and rational reconstruction to the exact rational, and compared with the floating-point estimator on the
population moments of the same parameters.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from mixid.estimate.evaluate import Moments
from mixid.estimate.proximal import proximal
from mixid.estimate.simulate import population_moments, truth
from mixid.estimate.spo import spo
from mixid.identify.routes import proxies
from mixid.identify.routes.base import Context

from mixid import Model, place
from tests.conftest import make_design

PRIMES = (2_147_483_647, 2_147_483_629)


def grid_params(model: Model, seed: int) -> dict[str, Fraction]:
    """Every law (class weights, each row of each conditional table) a random composition of 10 into positive
    parts, as fractions of 10."""
    rng = np.random.default_rng(seed)
    out = {}
    for table in [model._pi[None, None, :]] + list(model.tables.values()):
        for row in table.reshape(-1, table.shape[-1]):
            parts = rng.multinomial(10 - len(row), np.full(len(row), 1 / len(row))) + 1
            for code, part in zip(row, parts):
                if code >= 0:
                    out[model.params[code].name] = Fraction(int(part), 10)
    return out


def lift(residues: list[int]) -> Fraction:
    """The rational a / b with |a|, b <= sqrt(M / 2) congruent to the residues modulo the primes (M their product)."""
    M, r = 1, 0
    for x, p in zip(residues, PRIMES):
        r += (x - r) * pow(M, -1, p) % p * M
        M *= p
    bound = math.isqrt(M // 2)
    r0, r1, s0, s1 = M, r % M, 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1, s0, s1 = r1, r0 - q * r1, s1, s0 - q * s1
    assert 0 < abs(s1) <= bound, "no rational with a small denominator: the residues disagree"
    return Fraction(r1, s1)


def exact_estimand(d, Z, X, params: dict[str, Fraction], n_moments: int) -> tuple[dict, list[Fraction]]:
    """E[Y(t)] and m_1..m_n of identify's estimand, as exact rationals."""
    model = Model(d)
    runs = []
    for p in PRIMES:
        point = [f.numerator * pow(f.denominator, -1, p) % p for f in (params[q.name] for q in model.params)]
        runs.append(proxies.estimand_mod_p(Context(d, prime=p, point=point), Z, X, n_moments))
    po = {t: lift([run[0][t] for run in runs]) for t in (0, 1)}
    moments = [lift([run[1][j] for run in runs]) for j in range(n_moments)]
    return po, moments


CASES = [
    ("paper-level3", "mte", 2, 0),
    ("k3", "mte", 3, 1),
    ("paper-level4", "ate", 2, 0),
]


@pytest.mark.parametrize("name, target, k, seed", CASES)
def test_certificate_estimand_and_estimator_agree(name, target, k, seed):
    d = make_design(3, {"Z": 3, "X": 3, "T": 2, "Y": 2}, ["Z -> T", "T -> Y"]) if name == "k3" else name
    pl = place(d)
    d = pl.design
    assert pl.targets[target].method == ("spo" if target == "mte" else "proximal")
    Z, X = (tuple(v) for v in pl.estimands[target].roles.values())
    params = grid_params(Model(d), seed)
    n = 2 * k - 1 if target == "mte" else 1
    po, moments = exact_estimand(d, Z, X, params, n)
    mo = Moments(d, population_moments(d, {q: float(v) for q, v in params.items()}))
    est = spo(mo, Z, X, k) if target == "mte" else proximal(mo, Z, X, k)
    for t in (0, 1):
        assert est.potential_outcome_means[t] == pytest.approx(float(po[t]), abs=1e-12)
    if target == "mte":
        floats = est.diagnostics["synthetic_moments"][1: n + 1]
        assert floats == pytest.approx([float(m) for m in moments], abs=1e-9)
    assert est.ate == pytest.approx(float(po[1] - po[0]), abs=1e-12)
    # and both are the target: the lifted rationals are the truth at these parameters, exactly
    tr = truth(d, {q: float(v) for q, v in params.items()})
    assert float(po[1] - po[0]) == pytest.approx(tr.ate, abs=1e-14)
    if target == "mte":
        assert float(moments[1]) == pytest.approx(float(np.dot(tr.weights, np.square(tr.effects))), abs=1e-14)
