"""The proximal ATE (Theorem 1 in docs/theory.md; Miao, Geng and Tchetgen Tchetgen 2018): the first SPO step.

Valid with X -> Y (level 4): only M[Z,X|t], M[Z,Y|t] and E[X] are used, with the same rank-k truncated solve: the
first step of :mod:`mixid.identify.spo_core`, which the proximal certificate runs exactly mod p.
"""

from __future__ import annotations

from collections.abc import Sequence

from .evaluate import Moments
from .result import Estimate
from .spo import proximal_step, range_warnings


def proximal(mo: Moments, Z: Sequence[str], X: Sequence[str], k: int) -> Estimate:
    """The proximal ATE (Theorem 1 in docs/theory.md): E[Y(t)] = E[X]^T alpha_t.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> from mixid.estimate.simulate import population_moments, random_params, truth
    >>> d = Design.builtin("paper-level4")
    >>> p = random_params(d, seed=3)
    >>> bool(abs(proximal(Moments(d, population_moments(d, p)), ("Z",), ("X",), 2).ate - truth(d, p).ate) < 1e-12)
    True
    """
    step, diag, warnings = proximal_step(mo, Z, X, k)
    po = dict(step.potential_outcome_means)
    return Estimate(ate=po[1] - po[0], potential_outcome_means=po, diagnostics=diag,
                    warnings=warnings + range_warnings(mo, po))
