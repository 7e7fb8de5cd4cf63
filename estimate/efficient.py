"""The default estimator with continuous variables: minimum distance with efficient weights, started from the
constructive estimate and checked against it.

The constructive estimators (SPO, proximal) solve a few moment equations exactly and report no standard error;
minimum distance fits the whole moment tensor with the efficient weight matrix and gives standard errors and
intervals for every quantity. The constructive estimate is computed first: SPO's class weights and effects place
one start of minimum distance (the class weights, and outcome means that differ by the class effects), and a
constructive estimate that differs from the efficient one by more than ``DISAGREE`` of the efficient estimate's
standard errors is reported as a warning naming the quantity (the efficient estimate is the one reported).
"""

from __future__ import annotations

import numpy as np
from mixid.identify import Model
from mixid.identify.errors import MixidError

from .md import compile_md
from .proximal import proximal
from .result import Estimate
from .simulate import as_generator
from .spo import spo

#: A constructive estimate further than this many standard errors of the efficient one is reported.
DISAGREE = 3.0
#: Random perturbations of the constructive start (its response tables are unknown, so they are drawn).
CONSTRUCTIVE_STARTS = 3


def constructive_name(placement) -> str | None:
    """The constructive estimator the certificates name for a causal design (``spo``, ``proximal``), or None."""
    d = placement.design
    if not d.causal:
        return None
    if placement.targets["mte"].method == "spo":
        return "spo"
    if placement.targets["ate"].method == "proximal":
        return "proximal"
    return None


def constructive_estimate(placement, mo) -> tuple[str | None, Estimate | None, list[str]]:
    """The certified constructive estimate on ``mo``, or None with a note saying why it is missing."""
    name = constructive_name(placement)
    if name is None:
        return None, None, []
    source = "mte" if name == "spo" else "ate"
    roles = placement.estimands[source].roles
    Z, X, k = tuple(roles["treatment_side"]), tuple(roles["outcome_side"]), placement.design.classes
    try:
        est = spo(mo, Z, X, k) if name == "spo" else proximal(mo, Z, X, k)
    except (MixidError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return name, None, [f"the {name} start failed ({exc}); minimum distance ran from random starts only"]
    return name, est, []


def constructive_points(model: Model, est: Estimate, mo, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Parameter points that carry SPO's class weights and effects: pi from the weights, the outcome's class
    means E[Y | T=0, U=u] = E[Y(0)] and E[Y | T=1, U=u] = E[Y(0)] + effect_u; the response tables are drawn (the
    constructive estimate does not give them)."""
    d = model.design
    if est.weights is None or est.effects is None or len(est.weights) != d.classes:
        return []
    weights = np.clip(np.asarray(est.weights, float), 1e-3, None)
    weights = weights / weights.sum()
    effects = np.asarray(est.effects, float)
    if not (np.all(np.isfinite(weights)) and np.all(np.isfinite(effects))):
        return []
    names = [p.name for p in model.params]
    index = {n: i for i, n in enumerate(names)}
    base = float(est.potential_outcome_means[0])
    Y, T = d.outcome, d.treatment
    outcome = d.variable(Y)
    points = []
    for _ in range(count):
        x = model.random_point(rng)
        for u in range(d.classes - 1):
            x[index[f"pi_{u}"]] = weights[u]
        for name, i in index.items():
            # mean of the outcome's first feature (continuous) in class u, arm t: other parents keep their draw
            if not outcome.categorical and name.startswith(f"mu_{Y}1_") and f"_{T}" in name:
                t = int(name.split(f"_{T}")[1].split("_")[0])
                u = int(name.rsplit("_U", 1)[1])
                x[i] = base + t * effects[u]
        points.append(x)
    return points


def disagreements(name: str, constructive: Estimate, efficient: Estimate, bound: float = DISAGREE) -> list[str]:
    """Warnings for every quantity where the constructive estimate is more than ``bound`` efficient standard
    errors from the efficient one (classes matched in effect order, as both report them)."""
    se = efficient.se or {}
    pairs = [("the ATE", constructive.ate, efficient.ate, se.get("ate"))]
    if constructive.weights is not None and efficient.weights is not None:
        k = len(efficient.weights)
        for what, c, e, s in (("weight", constructive.weights, efficient.weights, se.get("weights")),
                              ("effect", constructive.effects, efficient.effects, se.get("effects"))):
            s = s or [None] * k
            pairs += [(f"the {what} of class {u}", c[u], e[u], s[u]) for u in range(min(len(c), k))]
    out = []
    for what, c, e, s in pairs:
        if c is None or e is None or s is None or not np.isfinite(c):
            continue
        z = abs(float(c) - float(e)) / s
        if z > bound:
            out.append(f"{name} and efficient minimum distance disagree on {what}: {float(c):.4g} against "
                       f"{float(e):.4g} (se {s:.3g}, {z:.1f} standard errors apart); the efficient estimate is "
                       f"reported, and {name} (no standard error) is the less reliable one")
    return out


def compile_efficient(placement, starts: int = 10, seed=None, ci_level: float = 0.95, interval: str = "profile"):
    """Minimum distance with efficient weights, started from the certified constructive estimate.

    ``run(mo, covariance=None, standard_errors=True, initial=None, ranges=None)`` as
    :func:`mixid.estimate.md.compile_md`;
    the estimate's ``diagnostics["constructive"]`` holds the constructive estimate (its name, ATE, weights,
    effects). A bootstrap replicate (``standard_errors=False``) warm-starts from ``initial`` when given.

    Examples
    --------
    >>> from mixid.identify import Design, place
    >>> from mixid.estimate.evaluate import Moments
    >>> from mixid.estimate.simulate import population_moments, random_params, truth
    >>> d = Design.from_dict({"latent": {"name": "U", "classes": 2}, "treatment": "T", "outcome": "Y",
    ...     "variables": {"Z": {"type": "categorical", "categories": 2}, "X": {"type": "categorical", "categories": 2},
    ...                   "T": {"type": "categorical", "categories": 2}, "Y": {"type": "continuous", "features": 3}},
    ...     "edges": ["Z -> T", "T -> Y"]})
    >>> p = random_params(d, seed=1)
    >>> mo = Moments(d, population_moments(d, p), n=10_000)
    >>> est = compile_efficient(place(d), starts=2, seed=0)(mo, standard_errors=False)
    >>> bool(abs(est.ate - truth(d, p).ate) < 1e-6), est.diagnostics["constructive"]["estimator"]
    (True, 'spo')
    """
    model = Model(placement.design)
    md = compile_md(placement, starts=starts, seed=seed, ci_level=ci_level, interval=interval)
    rng = as_generator(seed)

    def run(mo, covariance: np.ndarray | None = None, standard_errors: bool = True,
            initial: list[np.ndarray] | None = None, ranges: dict | None = None) -> Estimate:
        if initial is not None:  # a bootstrap replicate: climb from the estimate only (as maximum likelihood)
            return md(mo, covariance=covariance, standard_errors=standard_errors, initial=initial, random_starts=0,
                      ranges=ranges)
        name, cons, notes = constructive_estimate(placement, mo)
        points = constructive_points(model, cons, mo, rng, CONSTRUCTIVE_STARTS) if cons is not None else []
        est = md(mo, covariance=covariance, standard_errors=standard_errors, initial=points, ranges=ranges)
        est.warnings += notes + list(cons.warnings if cons is not None else [])
        if cons is not None:
            est.diagnostics["constructive"] = {
                "estimator": name, "ate": cons.ate,
                "weights": None if cons.weights is None else [float(w) for w in cons.weights],
                "effects": None if cons.effects is None else [float(e) for e in cons.effects],
                "starts": len(points)}
            est.warnings += disagreements(name, cons, est)
        return est

    return run
