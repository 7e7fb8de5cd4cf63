"""Synthetic potential outcomes (Theorem 2 in docs/theory.md): the MTE from moments of order at most three.

The recursion is :mod:`mixid.identify.spo_core` in floating point, the code the SPO certificate runs exactly mod p:
per arm, M[Z,X|t] is solved with a rank-k truncated pseudo-inverse (one SVD per arm): with more proxy states than
classes the plain least-squares solve amplifies noise along directions the model says carry none. The operator
form gamma^(j) = (A_1 - A_0)^(j-1) gamma^(1), A_t = M_t^+ M[Z,X,Y|t], gives m_j = E[X]^T gamma^(j); a k-atom
moment solver turns m_0..m_{2k-1} into class weights and effects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg
import scipy.optimize
from mixid.identify import spo_core as core
from mixid.identify.errors import DataError

from .evaluate import Moments
from .moment_problem import solve_atoms
from .result import Estimate

# Noise in the moments is amplified about cond_k times; past this the MTE is unreliable at any common n.
ILL_CONDITIONED = 100.0

truncated_pinv = core.truncated_pinv  # the rank-k pseudo-inverse of every arm's solve (defined with the recursion)


def first_step(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int) -> tuple[dict, dict, np.ndarray, dict,
                                                                                    list[str]]:
    """alpha_t = M[Z,X|t]^+ M[Z,Y|t] per arm, with the rank-k pseudo-inverses, E[X], diagnostics and warnings."""
    step, diag, warnings = proximal_step(mo, Z, X, k)
    return step.alpha, step.inverse, step.ex, diag, warnings


def proximal_step(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int, outcome_matrix: bool = False
                  ) -> tuple[core.FirstStep, dict, list[str]]:
    """The proximal step of :mod:`mixid.identify.spo_core` in floating point (rank-k truncated solve per arm) on
    the moments of ``mo``, with its diagnostics; ``outcome_matrix`` also solves for A_t (SPO)."""
    M = {t: mo.M(Z, X, t) for t in (0, 1)}
    for t in (0, 1):
        rank = int(np.sum(scipy.linalg.svdvals(M[t]) > 1e-12 * max(np.abs(M[t]).max(), 1e-300)))
        if rank < k:  # a division by a zero singular value: the data cannot separate k classes here
            T = mo.design.treatment
            raise DataError(f"M[{','.join(Z)},{','.join(X)}|{T}={t}] has rank {rank} in these data, below k = {k}: "
                            f"in arm {T}={t} the proxies {', '.join(Z + X)} do not separate {k} classes (too few or "
                            "too uniform rows, or categories never observed)")
    b = {t: mo.M(Z, (), t, outcome=True).ravel() for t in (0, 1)}
    C = {t: mo.M(Z, X, t, outcome=True) for t in (0, 1)} if outcome_matrix else None
    step = core.first_step(core.Float(k), M, b, mo.M(X, (), None).ravel(), C)
    diag, warnings = {}, []
    for t in (0, 1):
        info = step.info[t]
        diag[f"M[Z,X|{t}]"] = info
        if info["cond_k"] > ILL_CONDITIONED:
            warnings.append(f"M[Z,X|{t}] is ill-conditioned (cond = {info['cond_k']:.3g}): the proxies barely "
                            f"separate the {k} classes in arm {t}, and noise is amplified about that much")
    return step, diag, warnings


def spo(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int, method: str = "pencil") -> Estimate:
    """The SPO estimator on moments (data or exact).

    Examples
    --------
    >>> from mixid.identify import Design
    >>> from mixid.estimate.simulate import population_moments, random_params, truth
    >>> d = Design.builtin("paper-level3")
    >>> p = random_params(d, seed=3)
    >>> est = spo(Moments(d, population_moments(d, p)), ("Z",), ("X",), 2)
    >>> bool(abs(est.ate - truth(d, p).ate) < 1e-12)
    True
    """
    step, diag, warnings = proximal_step(mo, Z, X, k, outcome_matrix=True)
    moments = [1.0] + core.spo_moments(core.Float(k), step, 2 * k)  # m_0 .. m_2k (Prony may use the last)
    # sampling noise of the synthetic moments: 0.5 / sqrt(n) per unit, amplified by the conditioning of the solves
    amplification = max(d["cond_k"] for key, d in diag.items() if key.startswith("M["))
    n = getattr(mo, "n", None)
    noise = 0.5 * amplification / np.sqrt(n) if n and np.isfinite(amplification) else None
    sol = solve_atoms(np.array(moments), k, method=method, noise=noise)
    weights, effects = np.asarray(sol.weights, dtype=float), np.asarray(sol.atoms, dtype=float)
    diag.update({"synthetic_moments": moments, "moment_solver": sol.diagnostics})
    warnings += list(sol.warnings)
    if n:
        signal, why = sampling_signal(mo, Z, X, diag, moments, k, n, noise)
        diag["signal_to_noise"] = signal
        warnings += why
    bound = effect_bound(mo)
    if _impossible(weights, effects, k, bound, sol.diagnostics):
        weights, effects, residual = project_atoms(np.array(moments[: 2 * k]), k, bound, weights, effects)
        limit = search_limit(np.array(moments[: 2 * k]), bound)
        clamped = not np.isfinite(bound) and bool(np.any(np.abs(effects) >= limit * (1 - 1e-6)))
        diag["projected"] = {"bound": bound if np.isfinite(bound) else None, "residual": residual,
                             "search_limit": limit, "clamped": clamped}
        outside = f"effects outside [-{bound:g}, {bound:g}] or " if np.isfinite(bound) else ""
        warnings.append(f"the moment solver gave an impossible mixture (complex atoms, {outside}weights outside "
                        f"[0, 1]); projected onto the nearest valid {k}-atom distribution (moment residual "
                        f"{residual:.3g})")
        if clamped:  # the limit is the search's, not the outcome's: such an effect is not an estimate
            diag["clamped"] = True
            warnings.append(f"a class effect sits at the projection's search limit (+-{limit:.3g}, 10 times the "
                            "moments' scale), not at a value the data determine: the class weights and effects of "
                            "this estimate are not estimates (a bootstrap replicate like it counts as failed)")
    po = dict(step.potential_outcome_means)
    warnings += range_warnings(mo, po)
    return Estimate(ate=moments[1], potential_outcome_means=po, weights=weights, effects=effects,
                    diagnostics=diag, warnings=warnings)


#: A solved system or a moment matrix whose smallest relevant singular value is below this many times its
#: sampling noise leaves the estimate dominated by noise (its relative error is about the inverse ratio).
SIGNAL_TO_NOISE = 10.0


def sampling_signal(mo: Moments, Z: Sequence[str], X: Sequence[str], diag: dict, moments: Sequence[float], k: int,
                    n: float, noise: float | None) -> tuple[dict[str, float], list[str]]:
    """How far the data's k-th singular values stand above their sampling noise, with a warning for each below
    ``SIGNAL_TO_NOISE``.

    * The solved systems: M[Z,X|t] holds probabilities P(Z, X, T=t) whose sampling noise is about sqrt(p / n)
      each, which moves a singular value by about the entries' root-mean-square noise sqrt(P(T=t) / (n cells));
      the k-th singular value divided by that is the ratio.
    * The separation of the effects: the k x k Hankel matrix of the synthetic moments m_0..m_{2k-2} is singular
      when two effects coincide or a weight vanishes. In the moment solver's scale s (moment j divided by s**j)
      its smallest singular value is compared with the root-mean-square noise of its entries (moment j carries
      about ``noise * max(1, s)**j``, the noise the moment solver is given).
    """
    out, warnings = {}, []
    T = mo.design.treatment
    for t in (0, 1):
        info = diag[f"M[Z,X|{t}]"]
        sv = info["singular_values"]
        cells = max(int(mo.M(Z, X, t).size), 1)
        level = float(np.sqrt(max(mo.arm_prob(t), 0.0) / (n * cells)))
        ratio = float(sv[k - 1] / level) if level > 0 and len(sv) >= k else np.inf
        out[f"M[Z,X|{t}]"] = ratio
        if ratio < SIGNAL_TO_NOISE:
            warnings.append(f"the proxies barely separate {k} classes in arm {T}={t}: singular value {k} of "
                            f"M[Z,X|{t}] ({sv[k - 1]:.3g}) is {ratio:.1f} times the sampling noise of its entries "
                            f"at n = {n:,.0f} (about {level:.2g}), so the solved system is off by roughly "
                            f"1/{ratio:.1f} of itself")
    if noise is not None and np.isfinite(noise) and noise > 0:
        scale = float(diag["moment_solver"].get("scale", 1.0)) or 1.0
        j = np.arange(2 * k - 1)
        m = np.asarray(moments[: 2 * k - 1], float) / scale**j
        se = noise * max(1.0, scale) ** j / scale**j
        hankel = np.array([[m[a + b] for b in range(k)] for a in range(k)])
        smallest = float(np.linalg.svd(hankel, compute_uv=False)[-1])
        level = float(np.sqrt(np.mean([se[a + b] ** 2 for a in range(k) for b in range(k)])))
        ratio = smallest / level
        out["effects"] = ratio
        if ratio < SIGNAL_TO_NOISE:
            warnings.append(f"the {k} class effects are not separated at this sample size: the smallest singular "
                            f"value of the synthetic moments' Hankel matrix ({smallest:.3g}, in the solver's scale) "
                            f"is {ratio:.2g} times the noise of its entries (about {level:.2g}); effects this close,"
                            " or a weight this small, are not told apart, so the class weights and effects are "
                            "unreliable")
    return out, warnings


def range_warnings(mo: Moments, po: dict[int, float]) -> list[str]:
    """E[Y(t)] outside the outcome's range means the solve is dominated by noise (weak proxies or small n)."""
    if not mo.design.variable(mo.design.outcome).categorical:
        return []  # a continuous outcome has no range to leave
    bound = effect_bound(mo)
    return [f"E[Y({t})] = {v:.3g} lies outside the outcome's range [0, {bound:g}]: the estimate is dominated by "
            "noise (weak proxies or too few rows)" for t, v in po.items() if v < -1e-9 or v > bound + 1e-9]


def effect_bound(mo: Moments) -> float:
    """|tau_u| can not exceed the outcome's range: c - 1 for a categorical Y with c codes, none if continuous."""
    var = mo.design.variable(mo.design.outcome)
    return float(var.dim - 1) if var.categorical else np.inf


def _impossible(weights, effects, k, bound, diag) -> bool:
    return bool(diag.get("complex") or len(effects) != k or np.any(np.abs(effects) > bound + 1e-12)
                or np.any(weights < -1e-12) or np.any(weights > 1 + 1e-12))


def search_limit(moments: np.ndarray, bound: float) -> float:
    """The box of the projection's effects: the outcome's range, or (continuous outcome) 10 times the scale of
    the moments m_1.. (at least 10)."""
    return float(bound) if np.isfinite(bound) else 10 * max(1.0, float(np.max(np.abs(moments[1:]))))


def atom_residuals(moments: np.ndarray, k: int):
    """(unpack, residual, Jacobian) of the k-atom moment fit: x = (atoms tau, softmax logits z_1..z_{k-1}, z_0 = 0),
    residual_j = sum_u w_u tau_u^j - m_j for j = 1..len(moments)-1, and its exact Jacobian."""
    orders = np.arange(1, len(moments))[:, None]

    def unpack(x):
        z = np.concatenate([[0.0], x[k:]])
        w = np.exp(z - z.max())
        return x[:k], w / w.sum()

    def resid(x):
        tau, w = unpack(x)
        return (tau[None, :] ** orders) @ w - moments[1:]

    def jac(x):  # d/d tau_u = j w_u tau_u^(j-1); d/d z_v (softmax) = w_v (tau_v^j - m_j)
        tau, w = unpack(x)
        powers = tau[None, :] ** orders
        return np.hstack([orders * w[None, :] * tau[None, :] ** (orders - 1),
                          w[None, 1:] * (powers[:, 1:] - (powers @ w)[:, None])])

    return unpack, resid, jac


def project_atoms(moments: np.ndarray, k: int, bound: float, weights0: np.ndarray, effects0: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """The k-atom distribution (weights on the simplex, atoms in [-bound, bound]) closest to the moments
    m_1..m_{2k-1} in least squares, from several starts; atoms sorted ascending."""
    lim = search_limit(moments, bound)
    unpack, resid, jac = atom_residuals(moments, k)
    starts = [np.clip(np.real(effects0[:k]) if len(effects0) >= k else np.zeros(k), -lim, lim),
              np.linspace(-lim, lim, k + 2)[1:-1], np.linspace(-lim / 2, lim / 2, k)]
    best = None
    for tau0 in starts:
        if len(tau0) != k:
            continue
        x0 = np.concatenate([tau0, np.zeros(k - 1)])
        lo = np.concatenate([np.full(k, -lim), np.full(k - 1, -30.0)])
        hi = np.concatenate([np.full(k, lim), np.full(k - 1, 30.0)])
        fit = scipy.optimize.least_squares(resid, x0, jac=jac, bounds=(lo, hi), xtol=1e-14, ftol=1e-14, gtol=1e-14)
        if best is None or fit.cost < best.cost:
            best = fit
    tau, w = unpack(best.x)
    order = np.argsort(tau)
    return w[order], tau[order], float(np.max(np.abs(best.fun)))


def naive_difference(mo: Moments) -> float:
    """E[Y | T=1] - E[Y | T=0]: biased whenever U confounds T and Y."""
    T = mo.design.treatment
    ey = mo.joint((T,), outcome=True)
    return float(ey[1] / mo.arm_prob(1) - ey[0] / mo.arm_prob(0))


def potential_outcome_moments(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int, t: int, n: int) -> list[float]:
    """The poster's single-arm variant: alpha' = M_t^+ M[Z,X,Y|t] alpha gives
    E[X]^T alpha^(j) = sum_u pi_u E[Y(t) | U=u]^j, the mixture of one potential outcome's class means.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> from mixid.estimate.simulate import paper_main_params, population_moments
    >>> d = Design.builtin("paper-level4")
    >>> mo = Moments(d, population_moments(d, paper_main_params(0.5, 0.0)))
    >>> [round(m, 10) for m in potential_outcome_moments(mo, ("Z",), ("X",), 2, 1, 3)]
    [0.5, 0.390625, 0.3359375]
    """
    step, _, _ = proximal_step(mo, Z, X, k, outcome_matrix=True)
    return core.arm_moments(core.Float(k), step, t, n)
