"""Inference at a maximum: the causal quantities and their gradients, the information, the delta method.

Standard errors come from the Fisher information n J^T diag(1/p) J, with J the Jacobian of the cell probabilities
in the free parameters from ``Model.evaluate`` (the map whose rank certified identifiability), or, for a table
too large to hold, the empirical information of the observed patterns. A quantity whose gradient is not in the
row space of the information is not locally identified at the estimate: it gets no standard error. With sampling
weights (a pseudo-likelihood) the variance is the sandwich H^-1 M H^-1 (:func:`sandwich_delta`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from mixid.identify import Design, Model
from mixid.identify.model import LAST
from mixid.identify.polymap import PolyMap

from .model import LIVE, Likelihood, _Compiled


# ------------------------------------------------------------------------------ polynomial quantities
@lru_cache(maxsize=32)
def _causal_map(design: Design) -> PolyMap:
    """Class weights (k), E[Y(t) | U=u] for t = 0, 1 (2k): the polynomials every causal quantity is built from."""
    model = Model(design)
    polys = [model.weight_poly(u) for u in range(model.k)]
    polys += [model.outcome_class_mean(u, t) for t in (0, 1) for u in range(model.k)]
    return PolyMap(polys, model.n_params)


def causal_estimate(est, design: Design, point: np.ndarray, errors) -> np.ndarray:
    """Set an estimate's ATE, E[Y(t)], class weights and effects (classes sorted by effect) and their standard
    errors, ``errors(target, gradients)``, at a point of a causal design; returns the classes' order by effect."""
    vals, grads = causal_quantities(design, point)
    order = np.argsort(vals["effects"], kind="stable")
    est.ate = float(vals["ate"][0])
    est.potential_outcome_means = {0: float(vals["po"][0]), 1: float(vals["po"][1])}
    est.weights, est.effects = vals["weights"][order], vals["effects"][order]
    est.se = {"ate": errors("ate", grads["ate"])[0], "potential_outcome_means": errors("ate", grads["po"]),
              "weights": errors("mte", grads["weights"][order]), "effects": errors("mte", grads["effects"][order])}
    return order


def causal_quantities(design: Design, point: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Weights, class effects, E[Y(t)] and the ATE at a point, with their gradients in the free parameters."""
    k = design.classes
    vals, grads = _causal_map(design)(point)
    w, gw = vals[:k], grads[:k]
    m0, m1 = vals[k:2 * k], vals[2 * k:]
    g0, g1 = grads[k:2 * k], grads[2 * k:]
    po = np.array([w @ m0, w @ m1])
    gpo = np.stack([m0 @ gw + w @ g0, m1 @ gw + w @ g1])
    values = {"weights": w, "effects": m1 - m0, "po": po, "ate": np.array([po[1] - po[0]])}
    gradients = {"weights": gw, "effects": g1 - g0, "po": gpo, "ate": (gpo[1] - gpo[0])[None, :]}
    return values, gradients



def face_delta(information: np.ndarray | None, face: np.ndarray | None, gradients: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method standard errors from an information matrix restricted to a face (columns of ``face``).

    A gradient outside the row space of the information (a direction the Jacobian loses) has no finite
    standard error: it is reported as ``nan`` with ``False``.
    """
    return sandwich_delta(information, information, face, gradients)  # H^-1 H H^-1 = H^-1 on the row space


def sandwich_delta(information: np.ndarray | None, meat: np.ndarray, face: np.ndarray | None,
                   gradients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method standard errors from the sandwich H^-1 M H^-1 on a face (columns of ``face``): ``information``
    H is the (weighted) information, ``meat`` M the sum over observed patterns of the sum of their rows' squared
    weights times score score^T. This is the design-based variance of a pseudo-maximum-likelihood estimate under
    sampling with replacement (no strata or clusters). Seen-ness as :func:`face_delta`.

    Examples
    --------
    >>> H = np.diag([4.0, 1.0])
    >>> se, seen = sandwich_delta(H, 2 * H, None, np.eye(2))
    >>> se.round(4).tolist(), seen.tolist()
    ([0.7071, 1.4142], [True, True])
    """
    gradients = np.atleast_2d(gradients)
    if information is None:
        return np.full(len(gradients), np.nan), np.zeros(len(gradients), dtype=bool)
    B = face if face is not None else np.eye(information.shape[0])
    info = B.T @ information @ B
    g = gradients @ B
    pinv = np.linalg.pinv(info, rcond=1e-10, hermitian=True)
    back = g @ pinv @ info  # the projection of each gradient on the row space
    seen = np.linalg.norm(back - g, axis=1) <= 1e-6 * np.maximum(np.linalg.norm(g, axis=1), 1e-300)
    a = g @ pinv
    var = np.einsum("ij,jk,ik->i", a, B.T @ meat @ B, a)
    return np.where(seen, np.sqrt(np.maximum(var, 0.0)), np.nan), seen


def expected_information(lik: Likelihood, point: np.ndarray, n: float) -> np.ndarray:
    """n J^T diag(1/p) J over the cells of positive probability, J from :meth:`Likelihood.evaluate`."""
    p, J = lik.evaluate(point)
    live = p > LIVE
    info = n * (J[live].T / p[live]) @ J[live]
    return info if np.isfinite(info).all() else None


def empirical_information(lik: Likelihood, x: np.ndarray, data: _Compiled) -> np.ndarray:
    """Sum over observed patterns of count x score score^T (scores by Fisher's identity from the posteriors).

    Used when the table is too large for the expected information.
    """
    scores = pattern_scores(lik, x, data)
    return (scores.T * data.counts) @ scores


def pattern_scores(lik: Likelihood, x: np.ndarray, data: _Compiled, post: np.ndarray | None = None) -> np.ndarray:
    """The score of log P(pattern) in the free parameters, one row per observed pattern: the posterior-weighted
    score of log P(pattern, U=u) (Fisher's identity). ``post`` (k, P): the posteriors at ``x`` when known."""
    if post is None:
        post = lik.posterior(x[None, :], data)[0][0]  # (k, P)
    P = post.shape[1]
    scores = np.zeros((P, lik.model.n_params))
    pi, tables = lik.tables_of(x)
    # class weights
    for u in range(lik.k):
        _add_score(scores, lik.model._pi, u, _ratio(post[u], np.full(P, pi[u])))
    for i, v in enumerate(lik.names):
        codes = lik.model.tables[v]  # (n_pa, k, C)
        t = tables[i]
        q = data.flat[i]
        seen = np.flatnonzero(q >= 0)  # a missing answer adds no score for its variable
        row, cat = q[seen] // lik.cats[i], q[seen] % lik.cats[i]
        part = np.zeros((len(seen), lik.model.n_params))
        for u in range(lik.k):
            _add_score(part, codes[row, u, :], cat, _ratio(post[u][seen], t[row, u, cat]))
        scores[seen] += part
    return scores


def total_score(lik: Likelihood, x: np.ndarray, data: _Compiled, post: np.ndarray | None = None) -> np.ndarray:
    """The score of the log-likelihood in the free parameters: ``pattern_scores(...).T @ data.counts``, from
    the expected counts of every table entry instead of one row per pattern (the constrained searches ask for it
    hundreds of times). d log L / d theta_j = n_j / theta_j - n_last / theta_last for a free entry j of a row
    whose last entry is implied, with n the posterior-weighted counts."""
    if post is None:
        post = lik.posterior(x[None, :], data)[0][0]  # (k, P)
    pi, tables = lik.tables_of(x)
    weighted = post * data.counts  # (k, P)
    expected = [weighted.sum(axis=1)]
    for i, t in enumerate(tables):
        q = data.flat[i]
        seen = q >= 0  # a missing answer adds no count to its variable's table
        size = t.shape[0] * t.shape[2]
        n = np.stack([np.bincount(q[seen], weights=weighted[u, seen], minlength=size) for u in range(lik.k)])
        expected.append(n.reshape(lik.k, t.shape[0], t.shape[2]).transpose(1, 0, 2))  # (n_pa, k, C) like t
    ratio = np.concatenate([_ratio(n.ravel(), th.ravel()) for n, th in zip(expected, [pi] + tables)])
    # entries = A @ theta + b (in this order), so the chain rule's map from entries to parameters is A^T
    A, _ = lik._entry_map
    return np.asarray(A.T @ ratio)


def _ratio(posterior: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """posterior / probability, 0 where the probability is 0 (a pattern then has posterior 0 in that class: an
    observed pattern's probability is positive, so its share of a class with a zero factor vanishes)."""
    return np.divide(posterior, probability, out=np.zeros(len(posterior)), where=probability > 0)


def _add_score(scores: np.ndarray, codes_row: np.ndarray, cat, weight: np.ndarray) -> None:
    """Add weight * d log theta_cat / d free parameters (a free code: +1/theta; the last: -1/theta per sibling)."""
    P = len(weight)
    cat = np.broadcast_to(cat, (P,))
    codes_row = np.broadcast_to(codes_row, (P,) + np.shape(codes_row)[-1:]) if codes_row.ndim == 1 else codes_row
    own = codes_row[np.arange(P), cat]
    free = own >= 0
    np.add.at(scores, (np.flatnonzero(free), own[free]), weight[free])
    last = np.flatnonzero(own == LAST)
    for col in range(codes_row.shape[1]):
        sib = codes_row[last, col]
        ok = sib >= 0
        np.add.at(scores, (last[ok], sib[ok]), -weight[last[ok]])



def weight_gradients(model: Model) -> np.ndarray:
    """Gradients of the class weights in the free parameters, shape (k, d) (the last weight is 1 - sum)."""
    out = np.zeros((model.k, model.n_params))
    for u, code in enumerate(model._pi):
        if code >= 0:
            out[u, code] = 1.0
        elif code == LAST:
            out[u, model._pi[model._pi >= 0]] = -1.0
    return out

