"""Two parameter points with the same observables, stated and re-checked at 50 digits.

A witness of non-identifiability is a pair (point_a, point_b) of parameter points, in the order of the model's
``parameters``, with the same observables and different values of a target. It refutes identifiability over the
real parameter space only when point_b is a valid model: real, inside the open parameter space, and nonsingular
(full-rank Jacobian, so that by the implicit function theorem every parameter point near point_a has a valid twin
near point_b). A witness whose second point is complex or outside (0, 1) is reported for information only.
"""

from __future__ import annotations

import time

import numpy as np

from ..design import Design
from ..errors import DesignError
from ..model import Model
from ..polymap import PolyMap
from .result import WITNESS_DIGITS
from .system import Orbits, interior


def _digits(v):
    """A number rounded to WITNESS_DIGITS significant digits, as the witness states it."""
    import mpmath

    return mpmath.mpf(mpmath.nstr(v, WITNESS_DIGITS))


def make_witness(model: Model, a: np.ndarray, b: np.ndarray, targets: tuple[str, ...], deadline: float) -> dict | None:
    """The witness of two fibre points, point_b refined against point_a (as stated) at 50 digits; None when the
    deadline passes first.

    ``a`` is a real parameter point; ``b`` another point with the same observables (real or complex).
    """
    import mpmath

    real = float(np.abs(b.imag).max()) < 1e-8 * (1 + float(np.abs(b).max()))
    with mpmath.workdps(WITNESS_DIGITS + 15):
        pa = np.array([_digits(mpmath.mpf(float(v.real))) for v in a], dtype=object)
        pb = np.array([mpmath.mpf(float(v.real)) if real else mpmath.mpc(complex(v)) for v in b], dtype=object)
        ya = model.evaluate(pa)[0]
        tiny = mpmath.mpf(10) ** -(WITNESS_DIGITS + 8)
        for _ in range(8):  # Newton at high precision on the full system (normal equations); quadratic from 1e-14
            if time.monotonic() > deadline:
                return None
            fb, J = model.evaluate(pb)
            Jm = mpmath.matrix(J.tolist())
            Jh = Jm.T if real else Jm.H
            delta = mpmath.lu_solve(Jh * Jm, Jh * mpmath.matrix((fb - ya).tolist()))
            pb = pb - np.array([delta[i] for i in range(len(pb))], dtype=object)
            if max(abs(delta[i]) for i in range(len(pb))) < tiny:
                break
        if real:
            pb = np.array([_digits(v) for v in pb], dtype=object)
            text = [mpmath.nstr(v, WITNESS_DIGITS) for v in pb]
        else:
            pb = np.array([mpmath.mpc(_digits(v.real), _digits(v.imag)) for v in pb], dtype=object)
            text = [[mpmath.nstr(v.real, WITNESS_DIGITS), mpmath.nstr(v.imag, WITNESS_DIGITS)] for v in pb]
        diff = max(abs(u - v) for u, v in zip(model.evaluate(pb)[0], ya))
        point_a = [mpmath.nstr(v, WITNESS_DIGITS) for v in pa]
        diff_text = mpmath.nstr(diff, 3)
    fb = np.array([complex(v) for v in pb])
    sv = np.linalg.svd(model.evaluate(fb)[1], compute_uv=False)
    nonsingular = bool(sv[-1] > 1e-9 * sv[0])
    inside = bool(real and interior(model, fb.real))
    out = {"parameters": [p.name for p in model.params], "point_a": point_a, "point_b": text, "real": real,
           "interior": inside, "nonsingular": nonsingular, "valid": real and inside and nonsingular,
           "separation": separation(model, a, fb), "digits": WITNESS_DIGITS, "max_observable_difference": diff_text}
    if "ate" in targets:
        ate = PolyMap(model.target_polys("ate"), model.n_params).values
        out["ate_a"], ate_b = float(ate(np.asarray(a, dtype=complex))[0].real), complex(ate(fb)[0])
        out["ate_b"] = ate_b.real if real else [ate_b.real, ate_b.imag]
    return out


def separation(model: Model, a: np.ndarray, b: np.ndarray) -> float:
    """The distance between two parameter points up to relabelling the classes (0: b relabels a)."""
    orbits = Orbits(model, np.random.default_rng(0))
    return float(np.abs(orbits.canonical(np.asarray(a, dtype=complex)) -
                        orbits.canonical(np.asarray(b, dtype=complex))).max())


def _parse(model: Model, witness: dict, key: str) -> np.ndarray:
    import mpmath

    values = witness.get(key)
    if not isinstance(values, list) or len(values) != model.n_params:
        raise DesignError(f"a witness of this design has {model.n_params} coordinates in {key}")
    try:
        return np.array([mpmath.mpc(*map(mpmath.mpf, v)) if isinstance(v, list) else mpmath.mpf(v) for v in values],
                        dtype=object)
    except (TypeError, ValueError):
        raise DesignError(f"the witness's {key} holds a value that is not a decimal number") from None


def _check_parameters(model: Model, witness: dict) -> None:
    names = [p.name for p in model.params]
    if "parameters" in witness and witness["parameters"] != names:
        raise DesignError("the witness's parameters are not this design's, in order: " + ", ".join(names[:6])
                          + (", ..." if len(names) > 6 else ""))


def recheck_witness(design: Design | str, witness: dict) -> float:
    """The largest observable difference between a witness's two points, evaluated at 50 digits.

    A witness holds ``point_a`` and ``point_b`` (decimal strings; a complex coordinate is a [real, imaginary]
    pair) in the order of ``parameters`` (the model's). A value near 1e-50 re-proves that both points give the
    same observables; :func:`recheck_separation` says whether they are different models (not a relabelling).

    Examples
    --------
    >>> w = {"point_a": ["0.3"] + ["0.5"] * 10, "point_b": ["0.3"] + ["0.5"] * 10}
    >>> recheck_witness("paper-level2", w)
    0.0
    """
    import mpmath

    model = Model(Design.load(design))
    _check_parameters(model, witness)
    with mpmath.workdps(WITNESS_DIGITS + 15):
        a, b = _parse(model, witness, "point_a"), _parse(model, witness, "point_b")
        return float(max(abs(u - v) for u, v in zip(model.evaluate(a)[0], model.evaluate(b)[0])))


def recheck_separation(design: Design | str, witness: dict) -> float:
    """How far a witness's point_b is from point_a up to relabelling the classes (0: the same model relabelled).

    Examples
    --------
    >>> w = {"point_a": ["0.3", "0.2", "0.7"] + ["0.5"] * 8, "point_b": ["0.7", "0.7", "0.2"] + ["0.5"] * 8}
    >>> recheck_separation("paper-level2", w) < 1e-12  # the classes swapped: the same model
    True
    """
    import mpmath

    model = Model(Design.load(design))
    _check_parameters(model, witness)
    with mpmath.workdps(WITNESS_DIGITS + 15):
        a, b = _parse(model, witness, "point_a"), _parse(model, witness, "point_b")
    return separation(model, np.array([complex(v) for v in a]), np.array([complex(v) for v in b]))
