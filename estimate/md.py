"""Minimum distance on the moment tensor: the model itself fitted to data with continuous variables.

Where maximum likelihood needs every variable categorical, a design with continuous variables is still a
polynomial map from the same parameters (P(U), P(V | parents, U), class-conditional feature means) to the moment
tensor E[phi_1(V_1) (x) ... (x) phi_m(V_m)] that ``Model.evaluate`` computes with its Jacobian. The estimator
minimises (m_hat - m(theta))' W (m_hat - m(theta)) with the efficient weight W = S^+, S the covariance of one row's
feature products (from the rows, when they are in memory; the identity otherwise, and the result says so).
Standard errors: (J' W J)^+ / n on the identified directions, the delta method as for maximum likelihood, and the
same gating by the placement's verdicts. Hansen's J statistic n Q(theta_hat) tests the model's fit.

Intervals (``interval="profile"``, the default) are distance-metric intervals, the minimum-distance analogue of
the likelihood ratio: with efficient weights, n (min_{g(theta) = psi} Q(theta) - Q(theta_hat)) is asymptotically
chi-square(1) under g = psi, so the interval holds every psi it does not reject: the range of g over the region
{theta : n Q(theta) <= n Q(theta_hat) + q}, searched from every distinct minimum the starts reached inside it
(:func:`mixid.estimate.likelihood.profile.region_extremes`, with -n Q / 2 in the place of the log-likelihood).
Unlike a Wald interval it follows the criterion's shape where a class is weakly separated. ``interval="wald"``
gives Wald intervals on a range-respecting scale.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import scipy.optimize
from mixid.identify import Design, Model
from mixid.identify.errors import DataError
from mixid.identify.model import LAST, ONE
from mixid.identify.polymap import remember_last
from scipy.stats import chi2

from .intervals import quantity_ranges
from .likelihood.inference import causal_estimate, face_delta, weight_gradients
from .likelihood.profile import causal_vector, distinct_modes, region_extremes
from .mle import INTERVALS, identification, report_modes_and_intervals

#: A probability closer than this to 0 or 1 is on the boundary: no standard error, and held there (as in mle).
BOUNDARY = 1e-6
#: Function evaluations of a start before only the promising starts go on (see ``run``).
SCREEN = 300
#: The profile by least squares along g = psi (where SLSQP's search fails, and to confirm its ends): weight of the
#: row that holds g at psi (per standard error), doubling steps outward from a tenth of a standard error before
#: giving up, and bisections of the crossing (the end to 2^-12 of the last step).
PROFILE_PENALTY = 1e3
PROFILE_STEPS = 16
PROFILE_BISECTIONS = 12
#: Weight of the penalty that keeps every implied last category non-negative (least squares has only box bounds).
PENALTY = 1e4


def feature_covariance(design: Design, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Covariance of one row's feature-product vector, flattened in the moment tensor's (declaration) order.

    Rows in different cells of the categorical variables have disjoint supports, so E[phi phi'] is block
    diagonal over cells, each block E[1{cell} f f'] with f the continuous variables' feature products.
    """
    names = design.names
    cat = [v for v in design.variables if v.categorical]
    cont = [v for v in design.variables if not v.categorical]
    n = len(columns[names[0]])
    code = np.zeros(n, dtype=np.int64)
    for v in cat:
        code = code * v.dim + columns[v.name]
    cells = int(np.prod([v.dim for v in cat])) if cat else 1
    feats = np.ones((n, 1))
    for v in cont:
        powers = np.stack([columns[v.name] ** j for j in range(v.dim)], axis=1)
        feats = (feats[:, :, None] * powers[:, None, :]).reshape(n, -1)
    M = feats.shape[1]
    second = np.zeros((cells, M, M))
    for i, j in itertools.product(range(M), repeat=2):
        second[:, i, j] = np.bincount(code, weights=feats[:, i] * feats[:, j], minlength=cells) / n
    first = np.stack([np.bincount(code, weights=feats[:, i], minlength=cells) / n for i in range(M)], axis=1)
    big = np.zeros((cells * M, cells * M))
    for c in range(cells):
        big[c * M:(c + 1) * M, c * M:(c + 1) * M] = second[c]
    mean = first.ravel()
    cov = big - np.outer(mean, mean)
    # categorical-first layout -> declaration order (the layout of the moment tensor)
    shape = [v.dim for v in cat] + [v.dim for v in cont]
    order = [v.name for v in cat] + [v.name for v in cont]
    perm = np.arange(cells * M).reshape(shape).transpose([order.index(n) for n in names]).ravel()
    return cov[np.ix_(perm, perm)]


def _bounds(model: Model) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(model.n_params, -np.inf)
    hi = np.full(model.n_params, np.inf)
    for table in [model._pi[None, :]] + list(model.tables.values()):
        for row in table.reshape(-1, table.shape[-1]):
            if (row == ONE).any():
                continue
            free = row[row >= 0]
            lo[free], hi[free] = 0.0, 1.0
    return lo, hi


def _mean_bounds(model: Model, lo: np.ndarray, hi: np.ndarray,
                 ranges: dict[str, tuple[float, float]] | None) -> tuple[np.ndarray, np.ndarray]:
    """Bounds with every class mean E[V^j | ...] of a continuous variable held inside the range of v^j over the
    data's values of V: a class's mean lies in the convex hull of its values, and without the bound a small
    class's mean can run off to any size while the moments barely change."""
    if not ranges:
        return lo, hi
    lo, hi = lo.copy(), hi.copy()
    for i, p in enumerate(model.params):
        if p.variable in ranges and p.name.startswith("mu_"):
            a, b = ranges[p.variable]
            ends = [a ** p.category, b ** p.category] + ([0.0] if a < 0 < b else [])
            lo[i], hi[i] = min(ends), max(ends)
            if hi[i] - lo[i] < 1e-12 * max(1.0, abs(hi[i])):  # a constant column: nothing to bound
                lo[i], hi[i] = -np.inf, np.inf
    return lo, hi


def _probability_rows(model: Model) -> list[tuple[np.ndarray, str]]:
    """Every distribution row with a dependent last category: its free codes and the last entry's name."""
    out = []
    tables = [("pi", model._pi[None, :])] + list(model.tables.items())
    names = [p.name for p in model.params]
    for var, table in tables:
        for row in table.reshape(-1, table.shape[-1]):
            if (row == LAST).any():
                free = row[row >= 0]
                first = names[free[0]]
                prefix = "pi_" if var == "pi" else f"p_{var}0"
                last = (f"pi_{len(row) - 1}" if var == "pi" else f"p_{var}{len(row) - 1}{first[len(prefix):]}") \
                    if first.startswith(prefix) else f"1 - ({' + '.join(names[c] for c in free)})"
                out.append((free, last))
    return out


def _last_entries(model: Model, point: np.ndarray) -> np.ndarray:
    """Every dependent (last-category) probability at a point; each must be >= 0."""
    return np.array([1 - point[free].sum() for free, _ in _probability_rows(model)])


def _face(model: Model, point: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Directions that keep parameters on the boundary where they are (columns), and the names of those
    parameters: a free entry at its bound (a probability at 0 or 1, a class mean at the data's range) is held,
    and a row whose last category is at 0 moves only along differences of its interior entries (as maximum
    likelihood's active set)."""
    names = [p.name for p in model.params]
    bounded = np.isfinite(lo)
    tol = BOUNDARY * np.where(np.isfinite(hi - lo), hi - lo, 1.0)  # probabilities: 1e-6; class means: of their range
    at_bound = bounded & ((point < lo + tol) | (point > hi - tol))
    held = [names[i] for i in np.flatnonzero(at_bound)]
    cols = [np.eye(model.n_params)[i] for i in np.flatnonzero(~bounded)]
    in_rows = set()
    for free, last in _probability_rows(model):
        in_rows.update(free.tolist())
        inside = [c for c in free if not at_bound[c]]
        if 1 - point[free].sum() < BOUNDARY:
            held.append(last)
            for c in inside[:-1]:
                col = np.zeros(model.n_params)
                col[c], col[inside[-1]] = 1.0, -1.0
                cols.append(col)
        else:
            cols += [np.eye(model.n_params)[c] for c in inside]
    cols += [np.eye(model.n_params)[i] for i in np.flatnonzero(bounded & ~at_bound) if i not in in_rows]
    basis = np.array(cols).T if cols else np.zeros((model.n_params, 0))
    return basis, held


def compile_md(placement, starts: int = 10, seed=None, ci_level: float = 0.95, interval: str = "profile"):
    """A function from moments (with ``n`` and, optionally, the rows' feature covariance) to an Estimate, with
    distance-metric (``profile``) or Wald intervals."""
    from .result import Estimate
    from .simulate import as_generator

    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise DataError(f"starts must be a positive integer, got {starts!r}")
    if interval not in INTERVALS:
        raise DataError(f"unknown interval {interval!r} (choose from {', '.join(INTERVALS)})")
    design = placement.design
    model = Model(design)
    rng = as_generator(seed)
    lo, hi = _bounds(model)

    def run(mo, covariance: np.ndarray | None = None, standard_errors: bool = True,
            initial: list[np.ndarray] | None = None, random_starts: int | None = None,
            ranges: dict[str, tuple[float, float]] | None = None):
        """``initial``: points climbed before the random starts (``random_starts``, default ``starts``);
        ``ranges``: each continuous column's (min, max) in the data, which bound its class means."""
        target = np.asarray(mo.tensor, float).ravel()
        n = float(mo.n) if getattr(mo, "n", None) else 1.0
        warnings: list[str] = []
        if covariance is None:
            W = np.eye(len(target))
            warnings.append("minimum distance with identity weights (the rows were not in memory): consistent, "
                            "not efficient, and its standard errors are not reported")
        else:
            W, rank_S = _efficient_weight(covariance)
        w, V = np.linalg.eigh(W)
        L = (V * np.sqrt(np.maximum(w, 0))).T  # W = L' L

        rows = _probability_rows(model)
        tail_jac = np.zeros((len(rows), model.n_params))
        for r, (free, _) in enumerate(rows):
            tail_jac[r, free] = -1.0
        scale = PENALTY * max(1.0, float(np.linalg.norm(L, 2)))

        residual, jac = _problem(model, target, L, tail_jac, scale)

        best = None
        low, high = _mean_bounds(model, lo, hi, ranges)
        given = [_inside(np.asarray(x, float), low, high) for x in (initial or [])]
        randoms = starts if random_starts is None else random_starts
        def climb(x0, budget=None):
            return scipy.optimize.least_squares(residual, x0, jac=jac, bounds=(low, high), method="trf",
                                                x_scale="jac", ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=budget)

        # Every start gets SCREEN evaluations (a start that converges takes tens; one that crawls along a poor
        # local minimum can take thousands); the starts cut short within twice the best cost then go on to the end.
        solutions = [climb(x0, SCREEN) for x0 in given + [_random_start(model, rng, low, high)
                                                          for _ in range(randoms)]]
        lowest = min(sol.cost for sol in solutions)  # cost = Q / 2
        reach = max(lowest, chi2.ppf(ci_level, 1) / (2 * n))  # within twice the best, or the region's reach
        solutions = [climb(sol.x) if sol.status == 0 and sol.cost <= lowest + reach else sol
                     for sol in solutions]
        for sol in solutions:
            if best is None or sol.cost < best.cost - 1e-15:
                best = sol
        point = _onto_simplex(model, best.x)
        r = L @ (target - model.evaluate(point)[0])
        objective = float(r @ r)  # Q(theta_hat)
        face, held = _face(model, point, low, high)
        means = [h for h in held if h.startswith("mu_")]
        held = [h for h in held if not h.startswith("mu_")]
        if held:
            warnings.append(f"{len(held)} estimated probabilities lie on the boundary (0 or 1): "
                            f"{', '.join(held[:8])}{' ...' if len(held) > 8 else ''}; they get no standard error "
                            "and the others' standard errors are conditional on them")
        if means:
            warnings.append(f"{len(means)} class means sit at the edge of their column's range in the data: "
                            f"{', '.join(means[:8])}{' ...' if len(means) > 8 else ''}; the data do not place "
                            "them (a class too small or too alike the others to be told apart at this sample "
                            "size); they get no standard error and the others' are conditional on them")
        _, J = model.evaluate(point)
        info = n * J.T @ W @ J
        rank_S = rank_S if covariance is not None else len(target) - 1
        fit_stats = {"objective": objective, "j_stat": n * objective if covariance is not None else None,
                     "df": rank_S - model.n_params, "n_parameters": model.n_params,
                     "starts": len(given) + int(randoms)}
        identified, _, notes = identification(placement)
        warnings += notes
        se_ok = standard_errors and covariance is not None

        def errors(name, grads):
            if not (se_ok and identified.get(name, False)):
                return [None] * len(grads)
            se, seen = face_delta(info, face, grads)
            return [float(v) if ok and np.isfinite(v) and v > 0 else None for v, ok in zip(se, seen)]

        est = Estimate(ate=None, potential_outcome_means=None, warnings=warnings,
                       diagnostics={"starts": len(given) + int(randoms), "optimizer": best.message})
        est.fit = fit_stats
        est.extra["params"] = point.tolist()
        est.extra["identified"] = identified
        weights = model.weights(point)
        pi_grads = weight_gradients(model)
        est.mixture = {"identified": bool(identified.get("full_mixture", False)),
                       "scope": placement.targets["full_mixture"].scope,
                       "verdict": placement.targets["full_mixture"].verdict, "weights": weights.tolist(),
                       "weights_se": errors("full_mixture", pi_grads),
                       "parameters": {p.name: float(x) for p, x in zip(model.params, point)},
                       "parameters_se": dict(zip([p.name for p in model.params],
                                                 errors("full_mixture", np.eye(model.n_params))))}
        if design.causal:
            order = causal_estimate(est, design, point, errors)
        else:
            order = np.arange(model.k)
            est.weights = weights
            est.se = {"weights": est.mixture["weights_se"]}
        if se_ok:
            objective_of = _objective(model, target, L, n)
            starts_at = [_onto_simplex(model, sol.x) for sol in solutions if sol.status > 0]  # converged minima
            modes = distinct_modes(point, -n * objective / 2, [_matched(model, point, x) for x in starts_at],
                                   [objective_of(x)[0] for x in starts_at], lambda x: x, ci_level)
            vector = _vector(model, order)
            rows_matrix = np.zeros((len(rows), model.n_params))
            for r, (free, _) in enumerate(rows):
                rows_matrix[r, free] = 1.0

            ses = _vector_errors(est, design)
            spans = quantity_ranges(design, model.k)

            def fallback(j, sign, end, deadline):
                """The end by least squares along the profile: from the estimate where SLSQP's search failed
                (``end`` None), else from SLSQP's end, which stands only if the profile has risen past the
                chi-square quantile a tenth of a standard error beyond it (SLSQP can stop early and say it
                converged)."""
                if ses[j] is None:
                    return None

                def solve(psi, x0):
                    return _constrained_fit(model, target, L, n, vector, j, psi, ses[j], tail_jac, scale, low,
                                            high, x0)

                origin, start = (est.vector()[j], point) if end is None else end
                return _profile_end(solve, start, origin, -sign, ses[j], spans[j], n * objective,
                                    chi2.ppf(ci_level, 1), deadline, confirm=end is not None)

            def profile(which):
                return region_extremes(objective_of, vector, which, [m.state for m in modes], -n * objective / 2,
                                       info, low, high, rows_matrix, np.ones(len(rows)), ci_level,
                                       fallback=fallback)

            report_modes_and_intervals(est, design, modes, [vector(m.state)[0] for m in modes], identified,
                                       interval, ci_level, profile, objective="distance statistic (-n Q / 2)",
                                       test="distance-metric test")
            for entry, mode in zip(est.modes, modes):  # the modes' criterion: n Q, not a log-likelihood
                del entry["loglik"]
                entry["j_stat"] = -2 * mode.loglik
        return est

    return run


def _vector_errors(est, design) -> list[float | None]:
    """The standard errors of ``Estimate.vector()``'s entries (None where there is none)."""
    se, k = est.se or {}, len(est.weights)
    po = se.get("potential_outcome_means") or [None, None]
    head = [se.get("ate"), *po] if design.causal else [None] * 3
    return head + list(se.get("weights") or [None] * k) + (list(se.get("effects") or [None] * k) if design.causal
                                                           else [])


def _problem(model: Model, target: np.ndarray, L: np.ndarray, tail_jac: np.ndarray, scale: float,
             root_n: float = 1.0, held=None):
    """Residual and Jacobian functions of minimum distance as least squares: ``root_n`` L (m_hat - m(theta)), then
    a penalty on every negative implied last category, and with ``held = (g, psi, weight)`` a row weight (g(theta) -
    psi) that holds a quantity ``g(theta) -> (value, gradient)`` at psi. The model is evaluated once per point
    (least squares asks for the residual and the Jacobian at the same points)."""
    evaluate = remember_last(model.evaluate)

    def residual(x):
        parts = [root_n * (L @ (target - evaluate(x)[0])), scale * np.minimum(_last_entries(model, x), 0.0)]
        if held is not None:
            g, psi, weight = held
            parts.append([weight * (g(x)[0] - psi)])
        return np.concatenate(parts)

    def jac(x):
        negative = (_last_entries(model, x) < 0)[:, None]
        parts = [-root_n * (L @ evaluate(x)[1]), scale * np.where(negative, tail_jac, 0.0)]
        if held is not None:
            g, _, weight = held
            parts.append(weight * g(x)[1][None, :])
        return np.concatenate(parts)

    return residual, jac


def _constrained_fit(model: Model, target, L, n, vector, j: int, psi: float, se: float, tail_jac, scale, low, high,
                     x0: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum of n Q(theta) with entry j of ``vector`` held at ``psi`` (a penalty row of weight 1e3 per
    standard error ``se``), by least squares from ``x0``: (theta, n Q(theta))."""
    def entry(x):
        values, gradients = vector(x)
        return values[j], gradients[j]

    residual, jac = _problem(model, target, L, tail_jac, scale, np.sqrt(n), (entry, psi, PROFILE_PENALTY / se))
    sol = scipy.optimize.least_squares(residual, _inside(x0, low, high), jac=jac, bounds=(low, high), method="trf",
                                       x_scale="jac", ftol=1e-10, xtol=1e-10, gtol=1e-10)
    r = L @ (target - model.evaluate(sol.x)[0])
    return sol.x, float(n * (r @ r))


def _profile_end(solve, theta_hat: np.ndarray, origin: float, direction: float, se: float,
                 span: tuple[float, float], floor: float, rise: float, deadline: float,
                 confirm: bool = False) -> float | None:
    """Where the profile min_{g = psi} n Q rises ``rise`` above ``floor`` (n Q at the estimate), walking from
    ``origin`` (the estimate, or an end to confirm) in ``direction`` (+1 up, -1 down) in doubling steps from a tenth
    of a standard error, then bisecting; the end of the quantity's ``span`` when the profile stays below there.
    ``solve(psi, x0) -> (theta, n Q)``, warm-started at ``theta_hat``. With ``confirm``, an end whose first step
    already rises past the quantile stands as it is (it is right to a tenth of a standard error). None when the
    walk finds no crossing or passes ``deadline`` (``time.perf_counter()``)."""
    lo, hi = span
    limit = hi if direction > 0 else lo
    inside_psi, theta = origin, theta_hat
    for step in range(PROFILE_STEPS):
        if time.perf_counter() > deadline:
            return None
        psi = origin + direction * 0.1 * se * 2.0 ** step
        psi = min(psi, limit) if direction > 0 else max(psi, limit)
        x, value = solve(psi, theta)
        if value - floor >= rise:
            if confirm and step == 0:
                return float(origin)
            break
        inside_psi, theta = psi, x
        if psi == limit:
            return float(limit)  # no value up to the range's end is rejected
    else:
        return None  # still inside the region thousands of standard errors out
    outside_psi = psi
    for _ in range(PROFILE_BISECTIONS):  # inside_psi inside the region, outside_psi outside
        if time.perf_counter() > deadline:
            return None
        mid = (inside_psi + outside_psi) / 2
        x, value = solve(mid, theta)
        if value - floor >= rise:
            outside_psi = mid
        else:
            inside_psi, theta = mid, x
    return float(inside_psi)


def _objective(model: Model, target: np.ndarray, L: np.ndarray, n: float):
    """theta -> (-n Q(theta) / 2, its gradient): the distance statistic on the log-likelihood's scale, so that the
    likelihood-ratio region of :func:`region_extremes` is the distance-metric region."""
    def value(theta: np.ndarray) -> tuple[float, np.ndarray]:
        m, J = model.evaluate(theta)
        r = L @ (target - m)
        return float(-n * (r @ r) / 2), n * (L @ J).T @ r
    return value


def _vector(model: Model, order: np.ndarray):
    """theta -> (``Estimate.vector()`` entries, gradients), classes in the report's ``order``."""
    design = model.design
    if design.causal:
        return lambda theta: causal_vector(design, theta, order)
    grads = weight_gradients(model)[order]

    def weights(theta):
        return (np.concatenate([np.full(3, np.nan), model.weights(theta)[order]]),
                np.concatenate([np.zeros((3, model.n_params)), grads]))
    return weights


def _class_of(model: Model) -> tuple[np.ndarray, dict]:
    """Each free parameter's class, and the index of each parameter by (variable, category, parents, class)."""
    klass = np.array([p.klass for p in model.params])
    index = {(p.variable, p.category, p.parents, p.klass): i for i, p in enumerate(model.params)}
    return klass, index


def _matched(model: Model, reference: np.ndarray, point: np.ndarray) -> np.ndarray:
    """``point`` with its classes relabelled to match ``reference`` (Hungarian method on each class's weight and
    parameters), so that minima that differ by a relabelling are one mode."""
    k = model.k
    klass, index = _class_of(model)
    tables = np.array([p.variable is not None for p in model.params])

    def profiles(x):
        rest = np.array([x[tables & (klass == u)] for u in range(k)])
        return np.concatenate([model.weights(x)[:, None], rest], axis=1)

    A, B = profiles(reference), profiles(point)
    _, order = scipy.optimize.linear_sum_assignment(np.abs(A[:, None, :] - B[None, :, :]).sum(axis=2))
    out = point.copy()
    for (var, cat, parents, u), i in index.items():
        if var is not None:
            out[i] = point[index[(var, cat, parents, int(order[u]))]]
    w = model.weights(point)[order]
    for u in range(k - 1):
        out[index[(None, None, (), u)]] = w[u]
    return out


def _efficient_weight(covariance: np.ndarray) -> tuple[np.ndarray, int]:
    """W = S^+ and the rank of S, computed on the correlation scale (S with unit diagonal) so that neither depends
    on the units of the continuous columns: raw feature products (y, y^2 ...) in large units spread S's
    eigenvalues over many orders of magnitude, and a relative cut would drop directions the data do measure."""
    d = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    d = np.where(d > 0, d, 1.0)
    scaled = covariance / np.outer(d, d)
    w, V = np.linalg.eigh((scaled + scaled.T) / 2)
    keep = w > 1e-10 * max(float(w.max()), 1e-300)
    inverse = (V[:, keep] / w[keep]) @ V[:, keep].T
    return inverse / np.outer(d, d), int(keep.sum())


def _random_start(model: Model, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A random point whose bounded class means are drawn uniformly within their bounds (the model's draw, standard
    normal means, would sit at a bound for data far from 0)."""
    point = model.random_point(rng)
    means = np.array([p.name.startswith("mu_") for p in model.params]) & np.isfinite(lo) & np.isfinite(hi)
    point[means] = rng.uniform(lo[means], hi[means])
    return _inside(point, lo, hi)


def _inside(point: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A start strictly inside finite bounds (least squares' trust region needs an interior start)."""
    width = np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    return np.clip(point, lo + 1e-9 * width, hi - 1e-9 * width)


def _onto_simplex(model: Model, point: np.ndarray) -> np.ndarray:
    """The point with every row's probabilities clipped at 0 and renormalised (the penalty leaves at most a
    rounding-size negative mass on a last category): every reported probability is a probability."""
    point = point.copy()
    for free, _ in _probability_rows(model):
        entries = np.clip(np.append(point[free], 1 - point[free].sum()), 0.0, None)
        point[free] = (entries / entries.sum())[:-1]
    return point
