"""The full mixture (level 2) compiled from a Kruskal certificate: CP of the certified views, then every class
quantity by the same ratios as adjustment.

Pooled: P(view_0, view_1, view_2) = sum_u P(u) prod_v P(view_v | u). Per arm: the same within T = t with weights
P(u | t), labels aligned across arms through the stitch view; P(t | u) = P(t) P(u | t) / P(u).
"""

from __future__ import annotations

import string

import numpy as np
from mixid.identify import Design
from mixid.identify.errors import DataError, IdentificationError

from .cp import cp_mixture, cp_per_arm
from .data import MAX_DENSE_CELLS
from .evaluate import Moments, params_from_class_marginals, targets_from_point
from .result import Estimate


def _views_tensor(mo: Moments, views: list[list[str]], t: int | None) -> np.ndarray:
    names = tuple(v for view in views for v in view)
    T = mo.design.treatment
    if t is None:
        m = mo.joint(names)
    else:
        m = np.take(mo.joint(names + (T,)), t, axis=len(names)) / mo.arm_prob(t)
    return m.reshape([_size(mo.design, view) for view in views])


def _size(design: Design, view: list[str]) -> int:
    return int(np.prod([design.variable(v).dim for v in view]))


def class_marginals(design: Design, views: list[list[str]], factors, extra: dict | None = None):
    """``keep -> P(keep | U=u)`` (shape (*dims of keep, k)) from per-view class-conditional tables (d_view x k
    each), without the table of all cells: the views are independent given U, so a view's variables outside
    ``keep`` are summed out of its own factor first.

    ``extra`` maps a variable outside the views (T, per arm) to its (dim, k) table of P(value | u) weights.
    """
    extra = extra or {}

    def marginal(keep: tuple[str, ...]) -> np.ndarray:
        axis = {name: letter for name, letter in zip(keep, string.ascii_letters)}
        k_axis = string.ascii_letters[len(keep)]
        operands, subs = [], []
        for view, f in zip(views, factors):
            table = np.asarray(f).reshape([design.variable(v).dim for v in view] + [f.shape[-1]])
            table = table.sum(axis=tuple(i for i, v in enumerate(view) if v not in axis))
            operands.append(table)
            subs.append("".join(axis[v] for v in view if v in axis) + k_axis)
        for name, table in extra.items():
            operands.append(table if name in axis else table.sum(axis=0))
            subs.append((axis[name] if name in axis else "") + k_axis)
        return np.einsum(",".join(subs) + "->" + "".join(axis[n] for n in keep) + k_axis, *operands)

    return marginal


def cp_estimate(mo: Moments, certificate: dict, k: int, seed=None, restarts: int = 3, max_iter: int = 200) -> Estimate:
    """Recover the full mixture by CP on the certified views, then the MTE and ATE from it.

    The first start is Jennrich's simultaneous diagonalisation (exact on population tensors); ``restarts - 1``
    random starts of at most ``max_iter`` ALS sweeps guard against a poor one on noisy tables.

    Examples
    --------
    >>> from mixid.estimate.simulate import population_moments, random_params, truth
    >>> from mixid.identify import place
    >>> p = place("paper-level2")
    >>> d = p.design
    >>> par = random_params(d, seed=0, min_effect_gap=0.2)
    >>> est = cp_estimate(Moments(d, population_moments(d, par)), p.targets["full_mixture"].certificate, 2, seed=0)
    >>> bool(np.allclose(est.effects, np.sort(truth(d, par).effects), atol=1e-8))
    True
    """
    design = mo.design
    if not all(v.categorical for v in design.variables):
        raise IdentificationError("cp: every variable must be categorical (CP factors are distributions)")
    views = [list(v) for v in certificate["views"]]
    cells = int(np.prod([_size(design, view) for view in views], dtype=float))
    if cells > MAX_DENSE_CELLS:
        raise DataError(f"cp: the tensor of the certified views would have {cells:,} cells (over "
                        f"{MAX_DENSE_CELLS:,}); use estimator='mle'")
    T = design.treatment
    warnings: list[str] = []
    if "stitch_view" not in certificate:
        sol = cp_mixture(_views_tensor(mo, views, None), k, restarts=restarts, seed=seed, max_iter=max_iter)
        weights = np.asarray(sol.weights)
        factors = [np.asarray(f) for f in sol.factors]
        if "extension" in certificate:  # the blocks outside the views, through an identified set S
            blocks, more = _extend(mo, views, factors, weights, certificate["extension"])
            views, factors = views + blocks, factors + more
        marginal = class_marginals(design, views, factors)
        diag = {"cp": sol.diagnostics}
        warnings += list(sol.warnings)
    else:
        stitch = views.index(list(certificate["stitch_view"]))
        arm_probs = np.array([mo.arm_prob(t) for t in (0, 1)])
        weights, sols = cp_per_arm([_views_tensor(mo, views, t) for t in (0, 1)], arm_probs, k, stitch,
                                   restarts=restarts, seed=seed, max_iter=max_iter)
        weights = np.asarray(weights)
        arms = []
        for t, sol in enumerate(sols):
            p_t_given_u = arm_probs[t] * np.asarray(sol.weights) / np.where(weights > 0, weights, np.nan)
            onehot = np.zeros((2, k))
            onehot[t] = p_t_given_u
            arms.append(class_marginals(design, views, sol.factors, {T: onehot}))
            warnings += [f"arm {t}: {w}" for w in sol.warnings]
        marginal = lambda keep: arms[0](keep) + arms[1](keep)  # noqa: E731 - the two arms' shares of each class
        diag = {"cp_arms": [s.diagnostics for s in sols]}
    point = params_from_class_marginals(design, marginal, weights)
    if not design.causal:  # a plain latent class model: the mixture is the estimate
        return Estimate(ate=None, potential_outcome_means=None, weights=weights, diagnostics=diag,
                        warnings=warnings, extra={"params": point.tolist()})
    w, tau, po = targets_from_point(mo.model, point)
    order = np.argsort(tau, kind="stable")
    return Estimate(ate=po[1] - po[0], potential_outcome_means=po, weights=w[order], effects=tau[order],
                    diagnostics=diag, warnings=warnings, extra={"params": point.tolist()})


def _extend(mo: Moments, views: list[list[str]], factors: list[np.ndarray], weights: np.ndarray,
            extension: dict) -> tuple[list[list[str]], list[np.ndarray]]:
    """P(W | u) for every block W of a certificate's extension: B_W^T = diag(pi)^-1 B_S^+ P(S, W), with B_S the
    class-conditional table of S (one view, or the Khatri-Rao product of the views it joins), each column then
    clipped at zero and normalised."""
    S = list(extension["through"])
    if S in views:
        B = factors[views.index(S)]
    else:  # S joins views in order: P(s | u) is the row-major product of theirs
        B, start = np.ones((1, len(weights))), 0
        for view, f in zip(views, factors):
            if S[start:start + len(view)] == view:
                B = (B[:, None, :] * f[None, :, :]).reshape(-1, len(weights))
                start += len(view)
    pinv = np.linalg.pinv(B) / np.where(weights > 0, weights, np.nan)[:, None]
    blocks, out = [], []
    for W in extension["blocks"]:
        joint = mo.joint(tuple(S) + tuple(W)).reshape(B.shape[0], -1)
        table = np.clip((pinv @ joint).T, 0, None)
        out.append(table / np.where(table.sum(axis=0) > 0, table.sum(axis=0), 1))
        blocks.append(list(W))
    return blocks, out
