"""Numeric layer of mixid: estimators compiled from mixid.identify's placements, run on data.

``simulate(design, n, params=None, seed=None)`` samples data with its ground truth; ``fit(design, data, ...)``
picks the estimator the placement certifies (SPO, proximal, CP or adjustment) and returns a :class:`Result`.
"""

from .data import SufficientStats, sufficient_stats
from .fit import compile_estimator, fit
from .result import Estimate, Result
from .select import Selection, select
from .simulate import Truth, population_moments, random_params, simulate, truth
from .validate import validate

__all__ = ["simulate", "fit", "compile_estimator", "sufficient_stats", "SufficientStats", "Result", "Estimate",
           "Truth", "population_moments", "random_params", "truth", "validate", "select", "Selection"]
