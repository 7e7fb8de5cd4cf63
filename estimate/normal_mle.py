"""Maximum likelihood for designs with normal variables: the fit of :mod:`.likelihood.gaussian` as an Estimate.

Class weights, response tables, the normal variables' class means and variances, and (causal designs) E[Y(t)],
the ATE and the class effects, each with a standard error from the observed information and the delta method,
gated by the placement's verdicts as for the categorical likelihood. The modes near the best maximum, the
profile-likelihood (or range-respecting Wald) intervals and the bootstrap are those of the categorical
likelihood, run on this likelihood's free parameters (:func:`.likelihood.profile.region_extremes`,
:func:`.mle.report_modes_and_intervals`).
"""

from __future__ import annotations

import numpy as np
from mixid.identify.errors import DataError

from .likelihood.bootstrap import match_order
from .likelihood.gaussian import VARIANCE_FLOOR, MixedLikelihood, Params
from .likelihood.inference import causal_estimate
from .likelihood.profile import Mode, causal_vector, distinct_modes, region_extremes
from .mle import INTERVALS, identification, report_modes_and_intervals
from .progress import track
from .result import Estimate
from .simulate import as_generator

#: A probability closer than this to 0 or 1 is on the boundary: held, with no standard error.
BOUNDARY = 1e-6
#: Two maxima closer than this many standard errors (the information's metric) are one mode.
SAME_MODE_DISTANCE = 0.1
#: EM iterations a bootstrap replicate may take from the estimate (a warm start).
BOOTSTRAP_ITER = 500


def compile_normal_mle(placement, starts: int = 10, seed=None, max_starts: int | None = None,
                       interval: str = "profile", ci_level: float = 0.95):
    """``run(columns, standard_errors=True)``: the maximum-likelihood Estimate from the data's columns (codes for
    categorical variables, values for normal ones), with the modes near the best maximum and intervals
    (``profile``: likelihood-ratio, or ``wald`` on a range-respecting scale) for the identified targets.

    Examples
    --------
    >>> from mixid import Design, place, simulate
    >>> d = Design.from_dict({"latent": {"name": "U", "classes": 2}, "variables": {
    ...     **{f"A{i}": {"type": "categorical", "categories": 2} for i in range(3)},
    ...     "Y": {"type": "continuous", "distribution": "normal"}}})
    >>> data, t = simulate(d, 2000, seed=0)
    >>> est = compile_normal_mle(place(d), seed=0)({c: data[c].to_numpy() for c in data.columns})
    >>> len(est.weights), est.fit["replicated"], est.interval_kind
    (2, True, 'profile')
    """
    if interval not in INTERVALS:
        raise DataError(f"unknown interval {interval!r} (choose from {', '.join(INTERVALS)})")
    design = placement.design
    lik = MixedLikelihood(design)
    rng = as_generator(seed)
    names = lik.names()

    def run(columns: dict[str, np.ndarray], standard_errors: bool = True) -> Estimate:
        rows = lik.rows(columns)
        fit = lik.maximise(rows, starts=int(starts), rng=rng, max_starts=max_starts)
        th = fit.params
        warnings: list[str] = []
        if fit.floored:
            warnings.append(f"a normal variable has (almost) no variance within a class: {', '.join(fit.floored)}; "
                            f"its variance is held at {VARIANCE_FLOOR:g} of the variable's variance (the likelihood "
                            "grows without bound as a class collapses onto one value), with no standard error")
        if fit.starts_at_best < 3:
            warnings.append(f"the best log-likelihood was reached by {fit.starts_at_best} of {fit.starts} starts "
                            "(not replicated): another maximum may be higher; raise starts or max_starts")
        identified, _, notes = identification(placement)
        warnings += notes
        x = lik.free(th)
        data_units = lik.in_data_units(th, rows)
        point = lik.model_point(data_units)
        cov = info = None
        if standard_errors and not fit.floored:
            cov, info, held = _covariance(lik, x, rows, names)
            if held:
                warnings.append(f"{len(held)} estimated probabilities lie on the boundary (0 or 1): "
                                f"{', '.join(held[:8])}{' ...' if len(held) > 8 else ''}; they get no standard error "
                                "and the others' standard errors are conditional on them")
        # d(model point)/d(free parameters in data units) by differences of the (polynomial) map
        to_point = _point_jacobian(lik, x, rows) if cov is not None else None

        def errors(target: str, grads: np.ndarray) -> list[float | None]:
            grads = np.atleast_2d(grads)
            if cov is None or not identified.get(target, False):
                return [None] * len(grads)
            g = grads @ to_point
            var = np.einsum("ij,jk,ik->i", g, cov, g)
            return [float(np.sqrt(v)) if np.isfinite(v) and v > 0 else None for v in var]

        k = design.classes
        n_free = len(x)
        fit_stats = {"loglik": _loglik_in_units(fit.loglik, rows),
                     "n_parameters": n_free, "starts": fit.starts, "starts_at_best": fit.starts_at_best,
                     "replicated": fit.starts_at_best >= 3}
        fit_stats["aic"] = -2 * fit_stats["loglik"] + 2 * n_free
        fit_stats["bic"] = float(-2 * fit_stats["loglik"] + np.log(rows.n) * n_free)
        est = Estimate(ate=None, potential_outcome_means=None, warnings=warnings,
                       diagnostics={"starts": fit.starts, "starts_at_best": fit.starts_at_best,
                                    "start_logliks": sorted(fit.start_lliks, reverse=True)[:20]})
        est.fit = fit_stats
        est.extra["params"] = point.tolist()
        est.extra["identified"] = identified
        weights = np.asarray(th.pi, float)
        free_se = _free_errors(cov, identified.get("full_mixture", False), n_free)
        est.mixture = {"identified": bool(identified.get("full_mixture", False)),
                       "scope": placement.targets["full_mixture"].scope,
                       "verdict": placement.targets["full_mixture"].verdict, "weights": weights.tolist(),
                       "weights_se": _weight_errors(cov, identified.get("full_mixture", False), k),
                       "tables": {v.name: _by_class(design, lik, v.name, t).tolist()
                                  for v, t in zip(lik.cat, th.tables)},
                       "tables_se": _table_errors(design, lik, cov if identified.get("full_mixture") else None),
                       "parents": {v.name: list(lik.parents[v.name]) for v in lik.cat},
                       "normal": {v.name: {"means": m.T.tolist(), "variances": s.tolist(),
                                           "variance": v.variance}
                                  for v, m, s in zip(lik.nor, data_units.means, data_units.variances)},
                       "parameters": dict(zip(names, _in_units(lik, x, rows).tolist())),
                       "parameters_se": dict(zip(names, free_se))}
        if design.causal:
            order = causal_estimate(est, design, point, errors)
        else:
            order = np.arange(k)
            est.weights = weights
            est.se = {"weights": est.mixture["weights_se"]}
        vector = _vector_map(lik, rows, order, x)
        est.extra["normal_mle"] = {"likelihood": lik, "rows": rows, "params": th, "vector": vector}
        if cov is not None:
            _modes_and_intervals(est, lik, rows, fit, info, vector, identified, interval, ci_level)
        est.warnings = list(dict.fromkeys(est.warnings))
        return est

    return run


def _vector_map(lik: MixedLikelihood, rows, order: np.ndarray, at: np.ndarray):
    """``values(x) -> (Estimate.vector() entries, their gradients in x)`` at free parameters ``x`` in
    standardised units, classes in the report's ``order``; ``values(x, gradients=False)`` skips the gradients.

    The model point is affine in every free parameter but a normal mean, which enters squared and alone, so each
    column of its Jacobian is affine in its own coordinate: two Jacobians (at ``at`` and ``at + 1``) give it
    everywhere, with no differencing per call.
    """
    design, k = lik.design, lik.k
    if design.causal:
        base = _point_jacobian(lik, at, rows) @ _units_jacobian(lik, at, rows)
        slope = _point_jacobian(lik, at + 1.0, rows) @ _units_jacobian(lik, at + 1.0, rows) - base
        intercept = base - slope * at[None, :]

    def values(x: np.ndarray, gradients: bool = True):
        if design.causal:
            vals, grads = causal_vector(design, lik.model_point(lik.in_data_units(lik.unfree(x), rows)), order)
        else:
            pi = np.append(x[:k - 1], 1 - x[:k - 1].sum())
            vals = np.concatenate([np.full(3, np.nan), pi[order]])
        if not gradients:
            return vals
        if design.causal:  # d(point)/d(standardised parameters)
            return vals, grads @ (intercept + slope * x[None, :])
        g = np.zeros((k, len(x)))
        g[np.arange(k - 1), np.arange(k - 1)] = 1.0
        g[k - 1, :k - 1] = -1.0
        return vals, np.concatenate([np.zeros((3, len(x))), g[order]])

    return values


def _modes_and_intervals(est: Estimate, lik: MixedLikelihood, rows, fit, info: np.ndarray, vector,
                         identified: dict, interval: str, level: float) -> None:
    """The modes the starts reached near the best (classes matched to it) and the intervals of the identified
    quantities, as for the categorical likelihood."""
    best = fit.params
    reference = lik.class_profiles(best)

    def relabel(th: Params) -> np.ndarray:
        return lik.free(lik.permute(th, match_order(reference, lik.class_profiles(th))))

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        """EM stops on the log-likelihood, not on the parameters: two maxima within a tenth of a standard error
        of each other (in the information's metric) are one."""
        return float((a - b) @ info @ (a - b)) <= SAME_MODE_DISTANCE**2

    modes: list[Mode] = distinct_modes(lik.free(best), fit.loglik, fit.states, fit.start_lliks, relabel, level,
                                       same)

    def loglik(x: np.ndarray) -> tuple[float, np.ndarray]:
        th = lik.unfree(x)
        return lik.posterior(th, rows)[1], lik.score(x, rows)

    def profile(which: list[int]):
        return region_extremes(loglik, vector, which, [m.state for m in modes], fit.loglik, info, *lik.bounds(),
                               level)

    report_modes_and_intervals(est, lik.design, modes, [vector(m.state, gradients=False) for m in modes],
                               identified, interval, level, profile)


def bootstrap(est: Estimate, B: int, rng: np.random.Generator, progress=None) -> tuple[np.ndarray, list[str]]:
    """``B`` bootstrap replicates of ``est.vector()``: rows resampled with replacement, EM from the estimate (a
    warm start), classes matched to the estimate's (Hungarian algorithm on their weights, tables, means and
    variances), in the report's order; and the warnings they raise.

    Examples
    --------
    >>> from mixid import Design, fit, simulate
    >>> d = Design.from_dict({"latent": {"name": "U", "classes": 2}, "variables": {
    ...     **{f"A{i}": {"type": "categorical", "categories": 2} for i in range(3)},
    ...     "Y": {"type": "continuous", "distribution": "normal"}}})
    >>> data, _ = simulate(d, 1000, seed=0)
    >>> reps, _ = bootstrap(fit(d, data, seed=0).estimate, 5, np.random.default_rng(0))
    >>> reps.shape
    (5, 5)
    """
    state = est.extra["normal_mle"]
    lik, rows, start, vector = state["likelihood"], state["rows"], state["params"], state["vector"]
    reference = lik.class_profiles(start)
    out = np.full((B, len(est.vector())), np.nan)
    floored = 0
    for b in track(range(B), progress, "bootstrap", B):
        th, ll, fl = lik.em(start, rows.take(rng.integers(0, rows.n, rows.n)), max_iter=BOOTSTRAP_ITER)
        if not np.isfinite(ll):
            continue
        floored += bool(fl)
        th = lik.permute(th, match_order(reference, lik.class_profiles(th)))
        out[b] = vector(lik.free(th), gradients=False)
    notes = [f"{floored} of {B} bootstrap replicates held a class's variance at its floor (a class collapsing onto "
             "one value; kept)"] if floored else []
    return out, notes


def _loglik_in_units(loglik_std: float, rows) -> float:
    """The log-likelihood of the data in their units: standardising y by s adds n log s per normal variable."""
    return float(loglik_std - rows.n * np.sum(np.log(rows.scale)))


def _in_units(lik: MixedLikelihood, x: np.ndarray, rows) -> np.ndarray:
    return lik.free(lik.in_data_units(lik.unfree(x), rows))


def _units_jacobian(lik: MixedLikelihood, x: np.ndarray, rows) -> np.ndarray:
    """d(free parameters in data units)/d(standardised free parameters): diagonal (means scale by s, variances
    by s^2, probabilities are unchanged)."""
    base = _in_units(lik, x, rows)
    probe = _in_units(lik, x + 1.0, rows) - base  # affine per coordinate: a unit step shows the slope
    return np.diag(probe)


def _covariance(lik: MixedLikelihood, x: np.ndarray, rows, names: list[str]
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Covariance of the free parameters in data units (the inverse observed information, with probabilities on
    the boundary held: their rows and columns dropped), the observed information (standardised units), and the
    names of the held parameters."""
    n_prob = len(x) - sum(q for q in _normal_sizes(lik))
    th = lik.unfree(x)
    held_idx = [i for i in range(n_prob) if x[i] < BOUNDARY or x[i] > 1 - BOUNDARY]
    lasts = [th.pi[-1]] + [v for t in th.tables for v in t[..., -1].ravel()]
    held = [names[i] for i in held_idx] + (["an implied last category"] if min(lasts) < BOUNDARY else [])
    info = lik.information(x, rows)
    keep = np.setdiff1d(np.arange(len(x)), held_idx)
    cov = np.zeros_like(info)
    cov[np.ix_(keep, keep)] = np.linalg.pinv(info[np.ix_(keep, keep)], rcond=1e-12, hermitian=True)
    J = _units_jacobian(lik, x, rows)
    with np.errstate(over="ignore", invalid="ignore"):  # variances of values near 1e150: no finite error
        return J @ cov @ J.T, info, held


def _normal_sizes(lik: MixedLikelihood) -> list[int]:
    return [lik.q[v.name] * lik.k + (1 if shared else lik.k) for v, shared in zip(lik.nor, lik.shared)]


def _point_jacobian(lik: MixedLikelihood, x: np.ndarray, rows) -> np.ndarray:
    """d(moment-model point)/d(free parameters in data units), by central differences (the map is quadratic)."""
    xu = _in_units(lik, x, rows)
    cols = []
    for i in range(len(xu)):
        h = 1e-6 * max(1.0, abs(xu[i]))
        up, down = xu.copy(), xu.copy()
        up[i] += h
        down[i] -= h
        cols.append((lik.model_point(lik.unfree(up)) - lik.model_point(lik.unfree(down))) / (2 * h))
    return np.array(cols).T


def _free_errors(cov, identified: bool, d: int) -> list[float | None]:
    if cov is None or not identified:
        return [None] * d
    v = np.diag(cov)
    return [float(np.sqrt(s)) if s > 0 and np.isfinite(s) else None for s in v]


def _weight_errors(cov, identified: bool, k: int) -> list[float | None]:
    if cov is None or not identified:
        return [None] * k
    g = np.zeros((k, cov.shape[0]))
    for u in range(k - 1):
        g[u, u] = 1.0
    g[k - 1, : k - 1] = -1.0
    var = np.einsum("ij,jk,ik->i", g, cov, g)
    return [float(np.sqrt(v)) if v > 0 and np.isfinite(v) else None for v in var]



def _by_class(design, lik: MixedLikelihood, name: str, table: np.ndarray) -> np.ndarray:
    """A (parent states, k, c) table as (k, *parent dims, c), the layout of the categorical likelihood's JSON."""
    dims = [design.variable(p).dim for p in lik.parents[name]]
    return np.moveaxis(table.reshape(*dims, lik.k, table.shape[-1]), len(dims), 0)


def _table_errors(design, lik: MixedLikelihood, cov) -> dict[str, list]:
    """Standard errors of every table entry (the last of a row by the delta method), laid out as the tables."""
    out, at = {}, lik.k - 1
    for v in lik.cat:
        q, k, c = lik.q[v.name], lik.k, v.dim
        se = np.full((q, k, c), np.nan)
        for s in range(q):
            for u in range(k):
                idx = at + (s * k + u) * (c - 1) + np.arange(c - 1)
                if cov is None:
                    continue
                block = cov[np.ix_(idx, idx)]
                se[s, u, :-1] = np.sqrt(np.clip(np.diag(block), 0, None))
                se[s, u, -1] = np.sqrt(max(block.sum(), 0.0))
        at += q * k * (c - 1)
        arr = _by_class(design, lik, v.name, se)
        out[v.name] = np.where(np.isfinite(arr) & (arr > 0), arr, np.nan).tolist()
        out[v.name] = [[None if not np.isfinite(x) else x for x in row]
                       for row in np.asarray(out[v.name], float).reshape(-1, c)]
        out[v.name] = np.asarray(out[v.name], dtype=object).reshape(arr.shape).tolist()
    return out
