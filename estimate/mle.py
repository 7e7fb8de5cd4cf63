"""The maximum-likelihood estimator of a design's latent class model: starts, fit, and the Estimate it reports.

The likelihood, its optimiser and the inference at a maximum live in :mod:`mixid.estimate.likelihood`; this
module joins them with the placement: the constructive starts the certificates give, which targets get standard
errors (only identified ones), and the warnings an estimate carries.
"""

from __future__ import annotations

import math

import numpy as np
from mixid.identify import Design
from mixid.identify.errors import DataError
from mixid.identify.model import LAST

from .data import MAX_DENSE_CELLS, Patterns, unobserved_categories
from .intervals import quantity_ranges, wald_in_range
from .likelihood.inference import causal_quantities, weight_gradients
from .likelihood.model import BOUNDARY, Likelihood, likelihood
from .likelihood.optimise import MLEFit, maximise
from .likelihood.profile import find_modes, profile_intervals, quantity_map
from .local_fit import bivariate_residuals
from .mixture import cp_estimate
from .result import Estimate
from .simulate import as_generator
from .spo import spo

# --------------------------------------------------------------------------- estimates and their errors
TARGET_NAMES = {"full_mixture": "the full mixture (class weights and response tables)",
                "mte": "the mixture of treatment effects (class weights and effects)", "ate": "the ATE"}


def _nested(design: Design, name: str, table: np.ndarray) -> list:
    """A (n_pa, k, C) table as nested lists [class][parent values...][category]."""
    pa = design.parents(name)
    shape = [design.variable(p).dim for p in pa]
    return np.moveaxis(table, 1, 0).reshape([design.classes] + shape + [table.shape[-1]]).tolist()


def _table_errors(lik: Likelihood, fit: MLEFit, name: str, boundary: np.ndarray) -> np.ndarray:
    """Standard errors of every entry of one table (nan where the information does not see it)."""
    codes = lik.model.tables[name]
    grads = np.zeros(codes.shape + (lik.model.n_params,))
    free = codes >= 0
    grads[free, codes[free]] = 1.0
    for idx in zip(*np.nonzero(codes == LAST)):
        sib = codes[idx[0], idx[1]]
        grads[idx][sib[sib >= 0]] = -1.0
    se, seen = fit.delta(grads.reshape(-1, lik.model.n_params))
    se = se.reshape(codes.shape)
    return np.where(boundary, np.nan, se)



#: Intervals maximum likelihood gives without a bootstrap.
INTERVALS = ("profile", "wald")


def identification(placement) -> tuple[dict[str, bool], dict[str, str], list[str]]:
    """Which estimable targets the placement identifies, at which scope, and the warnings an estimate of the whole
    model carries for the others (not identified: no standard error; identified only locally: said so).

    A target that the global check found locally but not globally identifiable (a finite fibre of m > 1 points)
    keeps its local standard error, with a warning that m points fit the data equally well. A target the placement
    left undecided (``inconclusive``: a time or size limit stopped it) is called undecided, not unidentifiable.
    """
    identified, scope, warnings = {}, {}, []
    for t in ("full_mixture", "mte", "ate"):
        v = placement.targets[t]
        if v.verdict == "not_applicable":
            continue
        cert = v.certificate
        several = v.verdict == "not_identifiable" and cert.get("kind") == "fibre" and cert.get("dimension") == 0
        identified[t], scope[t] = v.identifiable or several, "local" if several else v.scope
        if several:
            m = f"{'at least ' if not cert.get('complete') else ''}{cert.get('solutions')}"
            warnings.append(f"{TARGET_NAMES[t]} is not globally identifiable: {m} parameter points (up to "
                            "relabelling) fit the data equally well; the estimate is the one the optimiser reached, "
                            "and its standard error is local to it")
        elif v.verdict == "inconclusive":
            warnings.append(f"whether {TARGET_NAMES[t]} is identifiable is inconclusive: the placement stopped "
                            f"before deciding ({v.reason}); its estimate gets no standard error (raise the "
                            "placement's time budget to decide it)")
        elif not v.identifiable:
            warnings.append(f"{TARGET_NAMES[t]} is not identifiable in this design: its estimate is one of "
                            "many values that fit the data equally well (no standard error)")
        elif v.scope == "local":
            warnings.append(f"{TARGET_NAMES[t]} is identified only locally (not proved global): another, "
                            "distant parameter value may fit the data equally well")
    return identified, scope, warnings


def summarise(fit: MLEFit, placement, ci_level: float = 0.95, standard_errors: bool = True,
              interval: str = "profile"):
    """The Estimate of a maximised likelihood: mixture, causal targets, standard errors, fit statistics.

    Standard errors are given only for targets the placement identifies; the others carry ``None`` and a
    warning, since their estimates are one of many parameter values that fit the data equally well.
    """
    lik, design = fit.likelihood, fit.design
    point = fit.point
    pi, tables = lik.from_point(point)
    identified, scope, notes = identification(placement)
    warnings = list(fit.warnings)
    entries = np.concatenate([pi] + [t.ravel() for t in tables])
    boundary_pi = ((pi < BOUNDARY) | (pi > 1 - BOUNDARY)) & (len(pi) > 1)  # one class: its weight is 1 by definition
    boundary = [(t < BOUNDARY) | (t > 1 - BOUNDARY) for t in tables]
    n_boundary = int(boundary_pi.sum() + sum(b.sum() for b in boundary))
    if n_boundary:
        warnings.append(f"{n_boundary} of {len(entries)} estimated probabilities lie on the boundary (0 or 1): "
                        "their standard errors are not reported (the Wald approximation fails there)")
    for i, name in enumerate(lik.names):
        seen = fit.patterns.codes[:, i]
        answered = seen >= 0
        counts = np.bincount(seen[answered], weights=fit.patterns.counts[answered], minlength=lik.cats[i])
        unobserved = unobserved_categories(name, counts, design.variable(name).labels)
        if unobserved:
            warnings.append(unobserved)
    stats = fit.statistics()
    if stats["df"] is not None and stats["df"] < 0:
        warnings.append(f"the model has {stats['n_parameters']} free parameters but the table only "
                        f"{stats['df'] + stats['n_parameters']} degrees of freedom (residual df {stats['df']}): "
                        "some parameters cannot be identified from these data")
    se_ok = standard_errors and fit.information is not None
    if standard_errors and fit.information is None:
        warnings.append("the information matrix could not be formed (probabilities too close to 0): "
                        "no standard errors")
    warnings += notes

    def errors(target: str, grads: np.ndarray, what: str) -> np.ndarray:
        if not (se_ok and identified.get(target, False)):
            return np.full(len(grads), np.nan)
        se, seen = fit.delta(grads)
        if not seen.all():
            warnings.append(f"the information is singular along {what} at the estimate (weak identification "
                            "or a boundary solution): no standard error for it")
        constant = ~np.any(grads, axis=1)  # e.g. the weight of a single class: 1 by definition, no error to give
        flat = seen & ~(se > 1e-12 * np.maximum(np.linalg.norm(grads, axis=1), 1.0)) & ~constant
        se = np.where(constant, np.nan, se)
        if flat.any():  # the quantity moves only with probabilities held on the boundary: a 0 is no error
            warnings.append(f"{what}: {int(flat.sum())} of {len(se)} are fixed by probabilities on the boundary "
                            "(0 or 1): no standard error (null) for them")
        return np.where(flat, np.nan, se)

    weights_se = np.where(boundary_pi, np.nan, errors("full_mixture", weight_gradients(lik.model),
                                                      "the class weights"))
    mixture = {"identified": bool(identified.get("full_mixture", False)), "scope": scope.get("full_mixture"),
               "verdict": placement.targets["full_mixture"].verdict,
               "weights": pi.tolist(), "weights_se": _none(weights_se), "tables": {}, "tables_se": {},
               "parents": {name: list(design.parents(name)) for name in lik.names},
               "categories": {name: _categories(design, name) for name in lik.names}}
    for i, name in enumerate(lik.names):
        mixture["tables"][name] = _nested(design, name, tables[i])
        se = (_table_errors(lik, fit, name, boundary[i]) if se_ok and identified.get("full_mixture", False)
              else np.full(tables[i].shape, np.nan))
        mixture["tables_se"][name] = _none_nested(_nested(design, name, se))
    est = Estimate(ate=None, potential_outcome_means=None, warnings=warnings,
                   diagnostics={"starts": fit.starts, "starts_at_best": fit.starts_at_best,
                                "converged": fit.converged, "information": fit.information_kind,
                                "start_logliks": np.sort(fit.start_lliks)[::-1].tolist()})
    if fit.weighted:
        warnings.append("sampling weights: the estimate maximises the weighted (pseudo-)log-likelihood; standard "
                        "errors are the sandwich (robust) ones, for sampling with replacement without strata or "
                        "clusters; intervals are Wald on them (profile-likelihood intervals, likelihood-ratio "
                        "statistics G^2 and X^2 and bivariate residuals assume an unweighted likelihood and are not "
                        "given)")
    if standard_errors and not fit.weighted:  # the main fit: a local check of the classes' fit
        dense = math.prod(lik.dims) <= MAX_DENSE_CELLS
        est.diagnostics["bivariate_residuals"], skipped = bivariate_residuals(lik, point, fit.patterns, dense)
        if skipped:
            est.diagnostics["bivariate_residuals_unchecked"] = skipped
    est.fit = stats
    est.mixture = mixture
    est.extra["identified"] = identified
    est.extra["params"] = point.tolist()
    if design.causal:
        vals, grads = causal_quantities(design, point)
        est.ate = float(vals["ate"][0])
        est.potential_outcome_means = {0: float(vals["po"][0]), 1: float(vals["po"][1])}
        order = np.argsort(vals["effects"], kind="stable")  # the MTE is reported sorted by effect
        est.weights, est.effects = vals["weights"][order], vals["effects"][order]
        est.se = {"ate": _none(errors("ate", grads["ate"], "the ATE"))[0],
                  "potential_outcome_means": _none(errors("ate", grads["po"], "E[Y(t)]")),
                  "weights": _none(np.where(boundary_pi, np.nan, errors("mte", grads["weights"],
                                                                         "the class weights"))[order]),
                  "effects": _none(errors("mte", grads["effects"], "the class effects")[order])}
    else:
        order = np.arange(lik.k)  # the canonical order: by weight
        est.weights = pi
        est.se = {"weights": _none(weights_se)}
    if se_ok:
        _modes_and_intervals(est, fit, identified, order, interval, ci_level)
    # one warning per distinct message, in order
    est.warnings = list(dict.fromkeys(est.warnings))
    return est


#: Names of the entries of Estimate.vector(), for warnings.
_ENTRY_NAMES = ["the ATE", "E[Y(0)]", "E[Y(1)]"]


def _entry_name(i: int, k: int) -> str:
    return _ENTRY_NAMES[i] if i < 3 else f"class {(i - 3) % k} {'weight' if i < 3 + k else 'effect'}"


def _modes_and_intervals(est: Estimate, fit: MLEFit, identified: dict, order: np.ndarray, interval: str,
                         level: float) -> None:
    """The local modes near the best and the intervals of ``est.vector()`` of a categorical likelihood."""
    lik = fit.likelihood
    values = quantity_map(lik, order)
    modes = find_modes(fit, level)
    ridge = not identified.get("full_mixture", True)  # the maxima form a ridge: search the ends from along it too
    report_modes_and_intervals(est, fit.design, modes, [values(lik.point_of(m.state))[0] for m in modes], identified,
                               interval, level,
                               lambda which: profile_intervals(fit, values, which, modes, level, along_fibre=ridge))


def report_modes_and_intervals(est: Estimate, design: Design, modes: list, mode_vectors: list[np.ndarray],
                               identified: dict, interval: str, level: float, profile,
                               objective: str = "log-likelihood", test: str = "likelihood-ratio test") -> None:
    """The local modes near the best (``est.modes``) and the intervals of ``est.vector()`` (``est.intervals``):
    profile-likelihood (over the modes) or Wald on a range-respecting scale, for identified targets only.

    ``modes`` (best first) and ``mode_vectors``, each mode's ``Estimate.vector()`` (classes matched to the best's
    report order); ``profile(which) -> (intervals, failures)`` searches the profile-likelihood intervals of the
    entries ``which`` (:func:`mixid.estimate.likelihood.profile.region_extremes`); ``objective`` names the
    criterion the modes maximise in the warnings, ``test`` the test that compares them.
    """
    k = design.classes
    causal = design.causal
    est.modes = []
    for mode, vals in zip(modes, mode_vectors):
        entry = {"loglik": mode.loglik, "delta": mode.delta}
        if causal:
            by_effect = np.argsort(vals[3 + k:], kind="stable")
            entry["ate"] = float(vals[0])
            entry["mte"] = [{"weight": float(vals[3 + u]), "effect": float(vals[3 + k + u])} for u in by_effect]
        else:
            entry["weights"] = vals[3:].tolist()
        est.modes.append(entry)
    vec = est.vector()
    se = [est.se.get("ate"), *(est.se.get("potential_outcome_means") or [None, None])] if causal else [None] * 3
    se += list(est.se.get("weights") or [None] * k) + (list(est.se.get("effects") or [None] * k) if causal else [])
    groups = ["ate"] * 3 + ["mte"] * (2 * k) if causal else [None] * 3 + ["full_mixture"] * k
    which = [i for i, g in enumerate(groups) if g is not None and identified.get(g, False)]
    if len(modes) > 1:
        spread = [i for i in which if se[i] is not None and
                  max(abs(v[i] - vec[i]) for v in mode_vectors[1:]) > se[i]]
        if spread:
            est.warnings.append(f"{len(modes)} local maxima lie within {modes[-1].delta:.3g} of the best "
                                f"{objective} (the {test} does not tell them apart) and "
                                f"{', '.join(_entry_name(i, k) for i in spread)} differ across them by more than a "
                                "standard error: see 'modes'; the interval covers them all")
    est.intervals = [None] * len(vec)
    est.interval_kind = interval
    if interval == "profile":
        found, _ = profile(which)
        for i, ci in zip(which, found):
            est.intervals[i] = ci
        failed = [_entry_name(i, k) for i, ci in zip(which, found) if ci is None]
        if failed:
            est.warnings.append(f"the profile search of the {objective} did not converge (or its time budget ran "
                                f"out) for "
                                f"{', '.join(failed)}: no interval (null); interval='wald' gives a Wald one")
        return
    ranges = quantity_ranges(design, k)
    edge = []
    for i in which:
        est.intervals[i], why = wald_in_range(vec[i], se[i], *ranges[i], level)
        if why == "on the boundary of its range":
            edge.append(_entry_name(i, k))
    if edge:
        est.warnings.append(f"{', '.join(edge)} lie on the boundary of their range: no Wald interval (null); "
                            "the profile-likelihood interval (interval='profile') covers a boundary")


def _categories(design: Design, name: str) -> list:
    """A variable's categories as the data hold them: its declared values, or the codes 0..c-1."""
    v = design.variable(name)
    return list(v.labels) if v.labels is not None else list(range(v.dim))


def _none(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, float).ravel()]


def _none_nested(values):
    if isinstance(values, list):
        return [_none_nested(v) for v in values]
    return None if not np.isfinite(values) else float(values)


def constructive_starts(placement, mo) -> tuple[list[np.ndarray], list[str]]:
    """Starting points from the certified constructive estimators (moved inside the simplex by the caller).

    CP gives every table when a Kruskal route certifies the full mixture; SPO gives the class weights (the
    tables of that start are the uniform ones). Returns the points and a note per estimator that failed.
    """
    design, k = placement.design, placement.design.classes
    lik = likelihood(design)
    points, notes = [], []
    method = placement.targets["full_mixture"].method
    if method.startswith("kruskal"):
        try:
            est = cp_estimate(mo, placement.targets["full_mixture"].certificate, k, seed=0, restarts=1)
            points.append(np.asarray(est.extra["params"], float))
        except Exception as exc:  # a start is optional: note why it is missing
            notes.append(f"cp start failed: {exc}")
    elif placement.targets.get("mte") is not None and placement.targets["mte"].method == "spo":
        try:
            roles = placement.estimands["mte"].roles
            est = spo(mo, tuple(roles["treatment_side"]), tuple(roles["outcome_side"]), k)
            pi = np.clip(np.asarray(est.weights, float), 1e-3, None)
            tables = [np.full((q, k, c), 1.0 / c) for q, c in zip(lik.n_pa, lik.cats)]
            points.append(lik.to_point(pi / pi.sum(), tables))
        except Exception as exc:
            notes.append(f"spo start failed: {exc}")
    return points, notes


def compile_mle(placement, starts: int = 10, seed=None, progress=None, max_starts: int | None = None,
                interval: str = "profile", ci_level: float = 0.95):
    """A function from moments (with their row count ``n``) to the maximum-likelihood :class:`Estimate`.

    ``run(mo, initial=None, standard_errors=True)``: with ``initial`` (a warm start, as in the bootstrap) only
    that point is climbed; otherwise the constructive starts plus batches of ``starts`` random ones until the
    best maximum is replicated or ``max_starts`` have run (see :func:`maximise`). ``interval``: ``profile``
    (likelihood-ratio intervals over the modes near the best) or ``wald`` (on a range-respecting scale).
    """
    if interval not in INTERVALS:
        raise DataError(f"unknown interval {interval!r} (choose from {', '.join(INTERVALS)})")
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise DataError(f"starts must be a positive integer, got {starts!r}")
    if max_starts is not None and (isinstance(max_starts, bool) or not isinstance(max_starts, (int, np.integer))
                                   or max_starts < 1):
        raise DataError(f"max_starts must be a positive integer, got {max_starts!r}")
    design = placement.design
    lik = likelihood(design)
    rng = as_generator(seed)

    def run(mo, initial=None, standard_errors: bool = True):
        n = float(mo.n) if getattr(mo, "n", None) else 1.0
        patterns = mo.patterns if getattr(mo, "patterns", None) is not None else Patterns.from_table(mo.tensor * n)
        notes: list[str] = []
        points: list[np.ndarray] = []
        if initial is None:
            points, notes = constructive_starts(placement, mo)
            fit = maximise(lik, patterns, starts=int(starts), seed=rng, initial=points, progress=progress,
                           information=standard_errors, max_starts=max_starts)
        else:
            fit = maximise(lik, patterns, starts=0, seed=rng, initial=[initial], information=standard_errors)
        est = summarise(fit, placement, ci_level=ci_level, standard_errors=standard_errors, interval=interval)
        est.diagnostics["constructive_starts"] = len(points)
        if mo.tensor is None:  # survey scale: the likelihood ran on the observed patterns, no table
            est.diagnostics["patterns"] = int(len(patterns.codes))
        est.warnings += notes
        est.extra["mle"] = fit
        return est

    return run


def bootstrap(est: Estimate, B: int, rng: np.random.Generator, progress=None) -> tuple[np.ndarray, list[str]]:
    """``B`` bootstrap replicates of ``est.vector()`` (multinomial draws of the observed patterns, each climbed
    from the estimate, classes matched to it; see :mod:`.likelihood.bootstrap`) and the warnings they raise
    (:func:`bootstrap_points` also gives each replicate's parameters).

    Examples
    --------
    >>> from mixid import Design, fit, simulate
    >>> d = Design.latent_class(list("ABCD"), classes=2)
    >>> frame, _ = simulate(d, 1000, seed=0)
    >>> reps, _ = bootstrap(fit(d, frame, seed=0).estimate, 20, np.random.default_rng(0))
    >>> reps.shape
    (20, 5)
    """
    reps, _, notes = bootstrap_points(est, B, rng, progress)
    return reps, notes


def bootstrap_points(est: Estimate, B: int, rng: np.random.Generator, progress=None
                     ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`bootstrap`'s replicates, each replicate's free parameters (rows, model order: the ``params`` of an
    estimate; NaN where the replicate failed) and the warnings.

    Examples
    --------
    >>> from mixid import Design, fit, simulate
    >>> d = Design.latent_class(list("ABCD"), classes=2)
    >>> frame, _ = simulate(d, 1000, seed=0)
    >>> reps, points, _ = bootstrap_points(fit(d, frame, seed=0).estimate, 5, np.random.default_rng(0))
    >>> points.shape
    (5, 9)
    """
    from .likelihood.bootstrap import replicate_vectors

    fit: MLEFit = est.extra["mle"]
    if fit.design.causal:  # the report sorts the classes by effect (see summarise)
        vals, _ = causal_quantities(fit.design, fit.point)
        order = np.argsort(vals["effects"], kind="stable")
    else:
        order = np.arange(fit.likelihood.k)
    reps, unconverged, points = replicate_vectors(fit, order, B, rng, progress)
    notes = [f"{unconverged} of {B} bootstrap replicates stopped short of the convergence tolerance (kept)"
             ] if unconverged else []
    return reps, points, notes
