"""Two parameter points with the same observables, stated and re-checked at 50 digits."""

from __future__ import annotations

import numpy as np

from ..design import Design
from ..errors import DesignError
from ..model import Model
from .result import WITNESS_DIGITS
from .system import evaluator, interior


# --------------------------------------------------------------------------------------------------- witness
def make_witness(model: Model, points: list[np.ndarray], targets: tuple[str, ...]) -> dict:
    """Two parameter points with the same observables, refined and compared at 50 digits.

    The base point is real; the second is the most nearly real other point found (a real one in the interior is
    an honest probability model with the same law).
    """
    import mpmath

    base = points[0]

    def preference(x):  # a real interior point first, then any real point, then the most nearly real
        real = float(np.abs(x.imag).max()) < 1e-8
        return (not (real and interior(model, x.real)), not real, float(np.abs(x.imag).max()))

    second = min(points[1:], key=preference)
    real = float(np.abs(second.imag).max()) < 1e-8
    mpmath.mp.dps = WITNESS_DIGITS + 15
    mp = (lambda v: mpmath.mpf(float(v.real))) if real else (lambda v: mpmath.mpc(complex(v)))
    # both points are stated with 50 digits; point_b is refined against point_a as stated
    a = np.array([mpmath.mpf(mpmath.nstr(mpmath.mpf(float(v.real)), WITNESS_DIGITS)) for v in base], dtype=object)
    b = np.array([mp(v) for v in second], dtype=object)
    ya = model.evaluate(a)[0]
    for _ in range(8):  # Newton at high precision on the full system (least squares via normal equations)
        fb, J = model.evaluate(b)
        Jm = mpmath.matrix(J.tolist())
        Jh = Jm.H if not real else Jm.T
        delta = mpmath.lu_solve(Jh * Jm, Jh * mpmath.matrix((fb - ya).tolist()))
        b = b - np.array([delta[i] for i in range(len(b))], dtype=object)
    text = (lambda v: mpmath.nstr(v, WITNESS_DIGITS)) if real else \
        (lambda v: [mpmath.nstr(v.real, WITNESS_DIGITS), mpmath.nstr(v.imag, WITNESS_DIGITS)])
    b = np.array([mpmath.mpf(mpmath.nstr(v, WITNESS_DIGITS)) if real else
                  mpmath.mpc(mpmath.mpf(mpmath.nstr(v.real, WITNESS_DIGITS)),
                             mpmath.mpf(mpmath.nstr(v.imag, WITNESS_DIGITS))) for v in b], dtype=object)
    diff = max(abs(u - v) for u, v in zip(model.evaluate(b)[0], ya))
    out = {"point_a": [mpmath.nstr(v, WITNESS_DIGITS) for v in a], "point_b": [text(v) for v in b], "real": real,
           "interior": bool(real and interior(model, np.array([float(v) for v in b]))),
           "digits": WITNESS_DIGITS, "max_observable_difference": mpmath.nstr(diff, 3)}
    if "ate" in targets:
        ate = evaluator(model.target_polys("ate"), model.n_params)
        out["ate_a"], ate_b = float(ate(base)[0].real), complex(ate(second)[0])
        out["ate_b"] = ate_b.real if real else [ate_b.real, ate_b.imag]
    return out




def recheck_witness(design: Design | str, witness: dict) -> float:
    """The largest observable difference between a witness's two points, evaluated at 50 digits.

    A witness holds ``point_a`` and ``point_b`` (decimal strings; a complex coordinate is a [real, imaginary]
    pair) in the order of ``Model(design).params``. A value near 1e-50 re-proves that both points give the same
    observables; compare the targets at the two points to see what the observables cannot tell apart.
    """
    import mpmath

    model = Model(Design.load(design))
    mpmath.mp.dps = WITNESS_DIGITS + 15

    def parse(values):
        return np.array([mpmath.mpc(*v) if isinstance(v, list) else mpmath.mpf(v) for v in values], dtype=object)

    a, b = parse(witness["point_a"]), parse(witness["point_b"])
    if len(a) != model.n_params or len(b) != model.n_params:
        raise DesignError(f"a witness of this design has {model.n_params} coordinates per point")
    return float(max(abs(u - v) for u, v in zip(model.evaluate(a)[0], model.evaluate(b)[0])))


