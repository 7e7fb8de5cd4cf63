"""The exact engine: the degree of the fibre ideal by a Groebner basis over F_p (msolve, or sympy for small
designs)."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

from ..design import Design
from ..errors import DesignError
from ..model import Model, eval_poly_mod
from .result import FIBRE_PRIME, GLOBAL_SECONDS, Fibre, FibreBudget, relabellings


# ------------------------------------------------------------------------------------------------- engines
def msolve_path() -> str | None:
    """The msolve executable: $MIXID_MSOLVE, the one the ``mixid[global]`` extra installs, or one on PATH.

    The extra installs it under ``sage_wheels/bin`` of a site-packages directory; every one is searched (the
    interpreter's, and the system's that a virtual environment with system site packages also sees).

    Examples
    --------
    >>> path = msolve_path()
    >>> path is None or Path(path).name == "msolve"
    True
    """
    env = os.environ.get("MIXID_MSOLVE")
    if env:
        return env if Path(env).is_file() else None
    dirs = [sysconfig.get_paths()[key] for key in ("platlib", "purelib")]
    try:
        dirs += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:  # an old virtualenv's site module lacks them
        pass
    for folder in dict.fromkeys(dirs):
        candidate = Path(folder) / "sage_wheels" / "bin" / "msolve"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("msolve")


def engines() -> dict[str, bool]:
    """Which fibre engines this installation has.

    Examples
    --------
    >>> sorted(engines())
    ['monodromy', 'msolve', 'sympy']
    """
    return {"msolve": msolve_path() is not None, "sympy": True, "monodromy": True}


# --------------------------------------------------------------------------------------------- the system
def _cell_polys(model: Model) -> list:
    """The observable cells (the flattened observable tensor, U last when it is observed) as ring polynomials."""
    names, observed = model.design.names, model.design.latent_observed
    return [model.joint_poly(dict(zip(names, map(int, cell))), int(cell[-1]) if observed else None)
            for cell in model._cells]


def _target_polys(model: Model, target: str, rng: np.random.Generator, p: int) -> list:
    """Polynomials whose values on a fibre point determine the target up to relabelling.

    The MTE is a multiset of (weight, effect) pairs: it is determined by the elementary symmetric functions of
    pi_u + lambda * tau_u at a random lambda (two different multisets of pairs give the same ones for at most
    k!^2 values of lambda).
    """
    if target == "ate":
        return model.target_polys("ate")
    if target == "mte":
        lam = int(rng.integers(1, p))
        lin = [w + lam * e for w, e in zip(model.target_polys("weights"), model.target_polys("effects"))]
        e = [model._one]
        for v in lin:
            e = [e[0]] + [e[j] + v * e[j - 1] for j in range(1, len(e))] + [v * e[-1]]
        return e[1:]
    raise ValueError(target)


def _mod(c, p: int) -> int:
    return int(c.numerator) * pow(int(c.denominator), -1, p) % p


def _poly_text(poly, names: list[str], p: int) -> str:
    """A ring polynomial in msolve's syntax, coefficients reduced mod p."""
    terms = []
    for monom, coeff in poly.terms():
        c = _mod(coeff, p)
        if c == 0:
            continue
        factors = [str(c)] + [f"{names[i]}^{e}" if e > 1 else names[i] for i, e in enumerate(monom) if e]
        terms.append("*".join(factors))
    return "+".join(terms) if terms else "0"


def _run_msolve(names: list[str], polys: list[str], p: int, seconds: float) -> int | None:
    """Degree of the ideal (number of points over the algebraic closure); -1 positive-dimensional; None: none."""
    exe = msolve_path()
    with tempfile.TemporaryDirectory(prefix="mixid-msolve-") as tmp:
        src, dst = Path(tmp) / "in.ms", Path(tmp) / "out.ms"
        src.write_text(",".join(names) + f"\n{p}\n" + ",\n".join(polys) + "\n")
        try:
            subprocess.run([exe, "-f", str(src), "-o", str(dst)], capture_output=True, timeout=max(seconds, 0.01),
                           check=False)
        except subprocess.TimeoutExpired:
            raise FibreBudget from None
        text = dst.read_text() if dst.exists() else ""
    if text.startswith("[-1]"):
        return None
    if text.startswith("[1,"):
        return -1
    found = re.match(r"\[0,\s*\[\s*\d+,\s*\d+,\s*(\d+)", text)
    if not found:
        raise RuntimeError(f"msolve gave no answer (output: {text[:80]!r})")
    return int(found.group(1))


def _groebner_degree_sympy(polys: list, model: Model, p: int, deadline: float) -> int:
    """Degree of a zero-dimensional ideal from sympy's grevlex Groebner basis (-1 when positive-dimensional)."""
    import sympy

    if time.monotonic() > deadline:
        raise FibreBudget
    gens = model.symbols
    G = sympy.groebner([model.expr(f) for f in polys], *gens, modulus=p, order="grevlex")
    if time.monotonic() > deadline:
        raise FibreBudget
    leads = [sympy.Poly(g, *gens).monoms(order="grevlex")[0] for g in G.exprs]
    n = len(gens)
    if any(all(e == 0 for e in lm) for lm in leads):
        return 0
    pure = [any(lm[i] > 0 and sum(lm) == lm[i] for lm in leads) for i in range(n)]
    if not all(pure):
        return -1
    # standard monomials form an order ideal: grow it from 1
    seen, frontier = {(0,) * n}, [(0,) * n]
    while frontier:
        nxt = []
        for mono in frontier:
            for i in range(n):
                cand = mono[:i] + (mono[i] + 1,) + mono[i + 1:]
                if cand in seen or any(all(c >= e for c, e in zip(cand, lm)) for lm in leads):
                    continue
                seen.add(cand)
                nxt.append(cand)
        frontier = nxt
    return len(seen)


def count_exact(model: Model, targets: tuple[str, ...], engine: str, seed: int, deadline: float,
           point: list[int] | None = None) -> Fibre:
    """Count the fibre at a random point mod p (or the given one) with a Groebner basis (msolve or sympy)."""
    p = FIBRE_PRIME
    rng = np.random.default_rng(seed)
    point = [int(x) for x in model.random_point(rng, p)] if point is None else [int(x) % p for x in point]
    cells = _cell_polys(model)
    values = [eval_poly_mod(f, point, p) for f in cells]
    # every cell's equation (a constant cell, e.g. a continuous variable's feature 0, gives none); the ones that
    # sum to one are redundant but harmless
    base = [f - v for f, v in zip(cells, values) if f - v != 0]
    names = [f"x{i}" for i in range(model.n_params)]
    extra: dict[str, list] = {t: _target_polys(model, t, rng, p) for t in targets if t != "full_mixture"}

    def degree(polys: list) -> int | None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise FibreBudget
        if engine == "msolve":
            return _run_msolve(names, [_poly_text(f, names, p) for f in polys], p, left)
        return _groebner_degree_sympy(polys, model, p, deadline)

    start = time.monotonic()
    deg = degree(base)
    perms = relabellings(model)
    details = {"prime": p, "point": point, "degree": deg, "engine": engine}
    if deg is None:
        raise RuntimeError("the fibre ideal has no point although it contains theta*: a bug in mixid")
    if deg < 0:
        one = {t: (False if t == "full_mixture" else None) for t in targets}
        return Fibre(None, 1, f"groebner ({engine})", True, True, perms, one, details, seconds=time.monotonic() - start)
    if deg % perms:  # every fibre point comes with its k! relabellings: the point or the prime is special
        details["degree_note"] = (f"degree {deg} is not a multiple of the {perms} relabellings: the random point or "
                                  "the prime is special, and the count decides nothing")
        return Fibre(None, 0, f"groebner ({engine})", True, False, perms, {t: None for t in targets}, details,
                     seconds=time.monotonic() - start)
    one = {"full_mixture": deg == perms}
    for t, polys in extra.items():
        d_t = degree(base + [f - eval_poly_mod(f, point, p) for f in polys])
        details[f"degree_{t}"] = d_t
        one[t] = d_t == deg
    m = deg // perms
    details["degree_note"] = f"degree {deg} = m * {perms} relabellings"
    return Fibre(m, 0, f"groebner ({engine})", True, True, perms, {t: one.get(t) for t in targets}, details,
                 seconds=time.monotonic() - start)




def recheck_count(design: Design | str, certificate: dict, max_seconds: float = GLOBAL_SECONDS) -> bool:
    """Re-run an exact fibre count at the certificate's own point and prime: True when the degree agrees.

    Examples
    --------
    >>> from mixid.identify.fibre import count_fibre
    >>> cert = count_fibre("paper-level2", method="exact").certificate("ate")
    >>> recheck_count("paper-level2", cert)
    True
    """
    if certificate.get("kind") != "fibre" or not certificate.get("exact") or "point" not in certificate:
        raise DesignError("only an exact fibre certificate (kind 'fibre', exact, with its point) can be re-counted")
    model = Model(Design.load(design))
    if int(certificate["prime"]) != FIBRE_PRIME or len(certificate["point"]) != model.n_params:
        raise DesignError(f"the certificate's point must have {model.n_params} coordinates mod {FIBRE_PRIME}")
    engine = certificate.get("engine", "msolve")
    if engine == "msolve" and msolve_path() is None:
        raise DesignError("re-counting this certificate needs msolve (pip install 'mixid[global]')")
    fib = count_exact(model, (), engine, 0, time.monotonic() + max_seconds, point=certificate["point"])
    return fib.details["degree"] == certificate["degree"]


