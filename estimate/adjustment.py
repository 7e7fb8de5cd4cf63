"""Adjustment on an observed class U (level 1): every class quantity is a ratio of observed moments."""

from __future__ import annotations

import numpy as np

from .evaluate import Moments, params_from_class_marginals, targets_from_point
from .result import Estimate


def adjustment(mo: Moments) -> Estimate:
    """Estimate every parameter by ratios within observed classes, then the MTE and ATE by the g-formula.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> from mixid.estimate.simulate import population_moments, random_params, truth
    >>> d = Design.builtin("paper-level1")
    >>> p = random_params(d, seed=0)
    >>> est = adjustment(Moments(d, population_moments(d, p)))
    >>> bool(np.allclose(est.effects, np.sort(truth(d, p).effects)))
    True
    """
    design, model = mo.design, mo.model
    weights = mo.with_class(())  # P(U = u)
    scale = np.where(weights > 0, weights, np.nan)
    point = params_from_class_marginals(design, lambda keep: mo.with_class(keep) / scale, weights)
    warnings = [f"class {u} never occurs in the data" for u in np.flatnonzero(weights == 0)]
    if not design.causal:  # a plain latent class model: the class weights and tables are the estimate
        return Estimate(ate=None, potential_outcome_means=None, weights=np.asarray(weights, float),
                        diagnostics={"class_counts_share": weights.tolist()}, warnings=warnings,
                        extra={"params": point.tolist()})
    w, tau, po = targets_from_point(model, point)
    order = np.argsort(tau, kind="stable")
    return Estimate(ate=po[1] - po[0], potential_outcome_means=po, weights=w[order], effects=tau[order],
                    diagnostics={"class_counts_share": weights.tolist()}, warnings=warnings,
                    extra={"params": point.tolist()})
