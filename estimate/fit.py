"""Compile a Placement into an estimator and run it on data, with bootstrap intervals.

The estimator is chosen from the certificates: ``adjustment`` when U is observed, ``spo`` when the MTE is
certified by SPO, ``cp`` when the full mixture is certified by a Kruskal route, ``proximal`` when only the ATE is.
A request for an estimator whose target the design does not identify raises IdentificationError with the reason.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
from mixid.identify import Design, Placement, place
from mixid.identify.design import shown
from mixid.identify.errors import DataError, DesignError, IdentificationError, MixidError
from mixid.identify.files import check_data_file
from mixid.identify.rank import DEFAULT_ERROR

from .adjustment import adjustment
from .data import SufficientStats, check_estimable, chunk_sums, huge_moments, sufficient_stats, unobserved_categories
from .evaluate import Moments
from .progress import Progress, track
from .proximal import proximal
from .result import Estimate, Result, check_truth
from .simulate import as_generator
from .spo import naive_difference, spo

ESTIMATORS = ("auto", "mle", "md", "spo", "proximal", "cp", "adjustment")
MAX_BOOTSTRAP = 10_000
MAX_STARTS = 1000
INTERVALS = ("profile", "wald")


def _refuse(p: Placement, target: str, estimator: str, route_name: str) -> IdentificationError:
    v = p.targets[target]
    if v.verdict == "inconclusive":
        return IdentificationError(f"{estimator}: whether the {target.replace('_', ' ')} is identifiable in design "
                                   f"'{p.design.name}' is inconclusive ({v.reason})")
    if not v.identifiable:
        return IdentificationError(f"{estimator}: the {target.replace('_', ' ')} is not identifiable in design "
                                   f"'{p.design.name}' ({v.reason})")
    route = next((r for r in p.routes if r.route == route_name), None)
    why = route.reason if route is not None else "the route does not apply"
    return IdentificationError(f"{estimator}: the {route_name} conditions fail in design '{p.design.name}' ({why}); "
                               f"the {target.replace('_', ' ')} is identified by {v.method} instead")


# Placements by design content: fit places a design once per process, not on every call. Read only: fit and the
# estimators it compiles never mutate a Placement (tests/test_fit_cache.py checks it), and the cached objects stay
# private to this module (Result holds none of them).
_PLACEMENTS: OrderedDict[str, Placement] = OrderedDict()
PLACEMENT_CACHE_SIZE = 64


def _cached_place(design: Design, *, error: float = DEFAULT_ERROR, seed: int | None = 0) -> Placement:
    """``place(design, error=error, seed=seed)``, computed once per design content (its canonical JSON) and kept
    for the next calls (the least recently used of more than ``PLACEMENT_CACHE_SIZE`` designs is dropped)."""
    key = json.dumps([design.to_dict(), repr(error), seed], sort_keys=True)
    p = _PLACEMENTS.get(key)
    if p is None:
        p = _PLACEMENTS[key] = place(design, error=error, seed=seed)
        while len(_PLACEMENTS) > PLACEMENT_CACHE_SIZE:
            _PLACEMENTS.popitem(last=False)
    else:
        _PLACEMENTS.move_to_end(key)
    return p


def compile_estimator(p: Placement, estimator: str = "auto", method: str = "pencil",
                      seed: int | np.random.Generator | None = None, starts: int = 10,
                      progress: Progress | None = None, max_starts: int | None = None,
                      interval: str = "profile", ci_level: float = 0.95
                      ) -> tuple[str, Callable[[Moments], Estimate]]:
    """The estimator's name and a function from moments to an :class:`Estimate`.

    ``auto`` is maximum likelihood (``mle``) for every all-categorical design with a latent class and an
    identifiable target (the constructive estimators start it); adjustment when U is observed; for designs
    with continuous variables minimum distance (``md``) with efficient weights, started from the constructive
    formula the certificates name (SPO, proximal) and warning where that formula disagrees with it (see
    :mod:`mixid.estimate.efficient`).
    """
    if estimator not in ESTIMATORS:
        raise IdentificationError(f"unknown estimator {shown(estimator)} (choose from {', '.join(ESTIMATORS)})")
    d, k = p.design, p.design.classes
    methods = {t: p.targets[t].method for t in p.targets}
    causal = d.causal
    categorical = all(v.categorical for v in d.variables)
    if estimator == "auto":
        # identifiable at some scope: a target the global check refuted (several fibre points) is still identified
        # locally, so maximum likelihood estimates it, with the warning that other points fit equally well
        identifiable = [t for t in ("full_mixture", "mte", "ate") if p.targets[t].identifiable
                        or (p.targets[t].local_check or {}).get("verdict") == "identifiable"]
        if d.latent_observed:
            estimator = "adjustment"
        elif identifiable and all(v.categorical or v.normal for v in d.variables):
            estimator = "mle"  # categorical and normal variables: every law is declared, so the likelihood
        elif identifiable:  # continuous variables: efficient minimum distance, started from the constructive formula
            from .efficient import compile_efficient

            return "md", compile_efficient(p, starts=starts, seed=seed, ci_level=ci_level, interval=interval)
        elif causal and methods["mte"] == "spo":  # a constructive target without a proof of any scope
            estimator = "spo"
        elif causal and methods["full_mixture"].startswith("kruskal") and categorical:
            estimator = "cp"
        elif causal and methods["ate"] == "proximal":
            estimator = "proximal"
        else:
            undecided = [t for t in ("full_mixture", "mte", "ate") if p.targets[t].verdict == "inconclusive"]
            what = (f"no target is proved identifiable ({', '.join(undecided)}: inconclusive, the placement "
                    "stopped before deciding)" if undecided else "nothing is identifiable")
            raise IdentificationError(f"no estimator for design '{d.name}': {what} (--estimator mle or md still "
                                      "fits the model and its fit statistics)")
    if estimator == "mle":
        if not all(v.categorical or v.normal for v in d.variables):
            bad = next(v.name for v in d.variables if not (v.categorical or v.normal))
            raise IdentificationError(f"mle: maximum likelihood needs every variable categorical or normal; '{bad}' "
                                      "is continuous with moments only (declare 'distribution: normal', or use md, "
                                      "spo or proximal)")
        if not categorical:
            from .normal_mle import compile_normal_mle

            return "mle", compile_normal_mle(p, starts=starts, seed=seed, max_starts=max_starts, interval=interval,
                                             ci_level=ci_level)
        from .mle import compile_mle

        return "mle", compile_mle(p, starts=starts, seed=seed, progress=progress, max_starts=max_starts,
                                  interval=interval, ci_level=ci_level)
    if estimator == "md":
        if d.latent_observed:
            raise IdentificationError("md: the class is observed; use adjustment")
        from .md import compile_md

        return "md", compile_md(p, starts=starts, seed=seed, ci_level=ci_level, interval=interval)
    if not causal and estimator in ("spo", "proximal", "cp"):
        raise IdentificationError(f"{estimator}: design '{d.name}' has no treatment and outcome; its mixture is "
                                  "estimated by mle")
    if estimator == "adjustment":
        if not d.latent_observed and k > 1:  # one class: U is constant, adjustment is the plain tables
            raise IdentificationError(f"adjustment: the class {d.latent} is latent in design '{d.name}'; "
                                      "adjustment needs it as a data column (latent: {observed: true})")
        return "adjustment", adjustment
    if estimator == "spo":
        if methods["mte"] != "spo":
            raise _refuse(p, "mte", "spo", "spo")
        Z, X = _roles(p, "mte")
        return "spo", lambda mo: spo(mo, Z, X, k, method=method)
    if estimator == "proximal":
        source = "ate" if methods["ate"] == "proximal" else "mte" if methods["mte"] == "spo" else None
        if source is None:
            raise _refuse(p, "ate", "proximal", "proximal")
        Z, X = _roles(p, source)
        return "proximal", lambda mo: proximal(mo, Z, X, k)
    # cp
    if not methods["full_mixture"].startswith("kruskal"):
        raise _refuse(p, "full_mixture", "cp", "kruskal_per_arm")
    if not all(v.categorical for v in d.variables):
        raise IdentificationError("cp: every variable must be categorical (CP factors are distributions); "
                                  "use spo or proximal with continuous variables")
    from .mixture import cp_estimate

    cert = p.targets["full_mixture"].certificate
    rng = as_generator(seed)
    return "cp", lambda mo: cp_estimate(mo, cert, k, seed=rng)


def _roles(p: Placement, target: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    roles = p.estimands[target].roles
    return tuple(roles["treatment_side"]), tuple(roles["outcome_side"])


def _check_placement(placement: Any, design: Design) -> None:
    """A placement given to fit() must be one of this design (names aside): another design's placement would
    report its level and drive the estimator with its roles."""
    if not isinstance(placement, Placement):
        raise DesignError(f"placement must be a Placement from place(), got {type(placement).__name__}")
    mine, theirs = design.to_dict(), placement.design.to_dict()
    mine.pop("name", None)
    theirs.pop("name", None)
    if mine != theirs:
        raise DesignError(f"placement is of design '{placement.design.name}', not of design '{design.name}' "
                          "(place this design, or leave placement out)")


def fit(design: Design | str, data: Any, estimator: str = "auto", bootstrap: int = 0,
        seed: int | np.random.Generator | None = None, *, starts: int = 10, method: str = "pencil",
        ci_level: float = 0.95, placement: Placement | None = None, truth: dict | None = None,
        progress: Progress | None = None, columns: Mapping[str, str] | None = None,
        max_starts: int | None = None, interval: str = "profile", missing: str = "fiml",
        weights: str | None = None) -> Result:
    """Estimate the identified targets of ``design`` from ``data``.

    Parameters
    ----------
    design : Design or str
        A design, a built-in name or a design file.
    data : DataFrame, mapping, path, dask DataFrame or SufficientStats
        See :func:`mixid.estimate.data.sufficient_stats`. Columns the design does not use are ignored, with a
        warning in the result.
    estimator : {"auto", "mle", "md", "spo", "proximal", "cp", "adjustment"}
        ``auto`` is maximum likelihood for all-categorical designs with an identifiable target (see
        :func:`compile_estimator`).
    bootstrap : int
        Number of bootstrap replicates for percentile intervals (0: none; maximum likelihood then gives Wald
        intervals from its standard errors). Categorical data are resampled as multinomial draws of the
        contingency table (maximum likelihood warm-starts each replicate from the estimate); continuous data by
        resampling rows (maximum likelihood with normal variables warm-starts each from the estimate too).
    seed : int or numpy.random.Generator
    starts : int
        Random starts of maximum likelihood per batch, besides the constructive estimate. Batches follow until the
        best log-likelihood is reached by 3 starts (``fit.replicated`` in the result) or ``max_starts`` have run.
    method : {"pencil", "prony"}
        The k-atom moment solver of SPO.
    placement : Placement, optional
        Use this placement of ``design``; by default the design is placed once per process and cached by its
        content (the cached placement is only read).
    truth : dict, optional
        Ground truth to carry into the result (``Truth.to_dict()``).
    progress : callable, optional
        ``progress(task, done, total)`` after each step of a long loop (``"bootstrap"``); see
        :mod:`mixid.estimate.progress`.
    columns : mapping, optional
        Design variable -> data column, e.g. ``{"Z": "age_group", "X": "income"}``; unnamed variables read the
        column of their own name.
    max_starts : int, optional
        Cap on the starts of maximum likelihood (default 200, or the first batch when it is larger).
    interval : {"profile", "wald"}
        Intervals of maximum likelihood without a bootstrap: ``profile`` (likelihood-ratio intervals, over every
        local maximum within chi2_1 / 2 of the best) or ``wald`` (estimate +- z se on the logit of the quantity's
        position in its range). Minimum distance (designs with continuous variables) reads ``profile`` as its
        distance-metric intervals: every value psi with n (min_{g = psi} Q - Q_hat) <= chi2_1, over every
        minimum within that distance of the best.
    missing : {"fiml", "drop"}
        Missing answers (empty cells, NA, NaN in categorical columns): ``fiml`` keeps every row and maximum
        likelihood sums over the missing answers (valid when they are missing at random); the constructive
        estimators use the complete rows and say so. ``drop`` leaves out the rows with a missing answer. The
        result's ``missing`` reports rows, complete rows and missing answers per column.
    weights : str, optional
        The data column of sampling weights (non-negative; a row of weight 0 is kept and adds nothing). Maximum
        likelihood becomes pseudo-maximum likelihood: each row's log-likelihood is multiplied by its weight, and
        the standard errors are the sandwich (robust) ones for sampling with replacement without strata or
        clusters; intervals are then Wald on them (``interval`` is not used), and no bootstrap is offered. The
        constructive estimators (spo, proximal, cp, adjustment) use weighted moments, without standard errors;
        minimum distance and maximum likelihood with normal variables refuse weights. The result's ``weights``
        reports the column, the sum of the weights, Kish's effective sample size and the rows of weight 0.

    Examples
    --------
    >>> from mixid.estimate.simulate import simulate
    >>> data, t = simulate("paper-level3", 20000, seed=0)
    >>> r = fit("paper-level3", data, seed=1)
    >>> r.estimator, len(r.to_dict()["mte"]), r.to_dict()["ate"]["se"] > 0
    ('mle', 2, True)
    >>> fit("paper-level3", data, estimator="spo", bootstrap=50, seed=1).estimator
    'spo'
    """
    design = Design.load(design)
    check_estimable(design)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise DataError(f"bootstrap must be a non-negative integer, got {shown(bootstrap)}")
    if bootstrap > MAX_BOOTSTRAP:
        raise DataError(f"bootstrap asks for {bootstrap:,} replicates (at most {MAX_BOOTSTRAP:,})")
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or not 1 <= starts <= MAX_STARTS:
        raise DataError(f"starts must be an integer from 1 to {MAX_STARTS:,}, got {shown(starts)}")
    if max_starts is not None and (isinstance(max_starts, bool) or not isinstance(max_starts, (int, np.integer))
                                   or not 1 <= max_starts <= MAX_STARTS):
        raise DataError(f"max_starts must be an integer from 1 to {MAX_STARTS:,}, got {shown(max_starts)}")
    if truth is not None:
        check_truth(truth)
    if interval not in INTERVALS:
        raise DataError(f"unknown interval {shown(interval)} (choose from {', '.join(INTERVALS)})")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must be in (0, 1), got {ci_level}")
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, (int, np.integer, np.random.Generator))):
        raise DataError(f"seed must be an integer, got {shown(seed)}")
    if isinstance(data, (str, os.PathLike)):
        data = check_data_file(data)  # a wrong path fails at once, before the design is placed
    if design.covariates:  # latent class regression: its own likelihood; identification is of the design without
        from .covariates import fit_covariates

        if weights is not None:
            raise DataError("sampling weights are not available with covariates of class membership (the latent "
                            "class regression has no weighted likelihood here): leave out weights or covariates")

        base = design.without_covariates()
        if placement is not None:  # a placement of the design, or of the design without its covariates
            _check_placement(placement, design if placement.design.covariates else base)
        return fit_covariates(placement or _cached_place(base), design, data, estimator=estimator,
                              bootstrap=bootstrap, seed=seed, starts=starts, ci_level=ci_level, truth=truth,
                              progress=progress, columns=columns, max_starts=max_starts, missing=missing)
    if placement is not None:
        _check_placement(placement, design)
    p = placement or _cached_place(design)
    rng = as_generator(seed)
    weighted = weights is not None or (isinstance(data, SufficientStats) and data.weights is not None)
    if weighted and bootstrap:
        raise DataError("bootstrap is not available with sampling weights (resampling the weighted table is not the "
                        "sampling design); maximum likelihood gives sandwich standard errors (bootstrap=0)")
    name, run = compile_estimator(p, estimator, method=method, seed=rng, starts=starts, progress=progress,
                                  # a bootstrap's percentile intervals replace the estimator's: no profile search
                                  max_starts=max_starts, interval="wald" if weighted or bootstrap else interval,
                                  ci_level=ci_level)
    normal = name == "mle" and not all(v.categorical for v in design.variables)
    if weighted and (name == "md" or normal):
        what = "minimum distance" if name == "md" else "maximum likelihood with normal variables"
        raise DataError(f"sampling weights are not supported by {what} (its efficient weighting and standard "
                        "errors assume unweighted rows); weights work with all-categorical designs")
    stats = sufficient_stats(design, data, columns=columns, keep_rows=bool(bootstrap) or name == "md" or normal,
                             missing=missing, weights=weights)
    if not stats.dense and name == "md":
        raise DataError(f"md: minimum distance weighs every cell of the table, and the table of design "
                        f"'{design.name}' is too large to hold; use estimator='mle' (observed response patterns)")
    mo = Moments.of(stats)
    with _overflow_is_bad_data(name, stats):  # moments near the float range: a DataError naming the column
        if name == "md":  # the efficient weight matrix needs the rows' feature covariance
            from .md import feature_covariance

            cov = feature_covariance(design, stats.columns) if stats.columns is not None else None
            est = run(mo, covariance=cov, ranges=stats.ranges)
            start = [np.asarray(est.extra["params"], float)]  # replicates warm-start at the estimate
            replicate = lambda m: run(m, covariance=cov, standard_errors=False, initial=start,  # noqa: E731
                                      ranges=stats.ranges)
        elif normal:  # the likelihood of normal variables needs the rows themselves
            if stats.columns is None:
                raise DataError("mle: maximum likelihood with normal variables needs the rows in memory (a "
                                "DataFrame or a file read whole), not a streamed frame")
            est = run(stats.columns)
            replicate = None
        elif name == "mle":
            est = run(mo)
            start = np.asarray(est.extra["params"], float)  # replicates warm-start here and need no standard errors
            replicate = lambda m: run(m, initial=start, standard_errors=False)  # noqa: E731
        else:
            est = run(mo)
            replicate = run
        _check_finite(name, est, design)
    naive = naive_difference(mo) if design.causal else None
    result = Result(name, p.level, stats.n, est, naive, truth=truth, ci_level=ci_level)
    result.missing = stats.missing
    result.weights = stats.weights
    result.warnings += stats.notes
    if stats.weights is not None and name != "mle":
        result.warnings.append(f"sampling weights: {name} uses weighted moments (each row counts by its weight); "
                               "no standard errors (the bootstrap is not available with weights)")
    if name == "mle" and not normal:  # the other models that fit equally well, when the design does not identify it
        from .identified_set import at_estimate

        result.identified_set, notes = at_estimate(p, est.extra["params"])
        result.warnings += notes
    if name != "mle" and stats.complete is not None and stats.complete < stats.n:
        result.warnings.append(f"{name} uses the {stats.complete:,} complete rows of {stats.n:,} (rows with a "
                               "missing answer are left out); maximum likelihood (estimator='mle') uses every row")
    if name != "mle" or normal:  # the categorical likelihood says so itself, with what it does about it
        result.warnings += [w for v in design.variables if v.categorical
                            for w in [unobserved_categories(v.name, stats.marginal((v.name,)), v.labels)] if w]
    if bootstrap:
        result.bootstrap, failures, notes, points = _bootstrap(stats, mo, replicate, bootstrap, rng,
                                                               len(est.vector()), progress,
                                                               est if name == "mle" else None)
        result.warnings += notes
        if failures:
            result.warnings.append(f"{failures} of {bootstrap} bootstrap replicates failed (no estimate, or an effect "
                                   "held at a search limit) and were left out")
        if result.identified_set is not None and points is not None:  # the set's own sampling spread
            from .identified_set import over_replicates

            result.identified_set["bootstrap"], notes = over_replicates(
                p, points, result.identified_set["kind"], ci_level, progress, estimate=est.extra["params"])
            result.warnings += notes
    return result


@contextmanager
def _overflow_is_bad_data(name: str, stats: SufficientStats):
    """Estimators multiply moments: with continuous columns whose moments are huge (values near 1e100 and up),
    the products overflow and numpy fails inside (a linear algebra error, a non-finite moment, a NaN estimate).
    That is bad data, not a bug: a DataError naming the column. Other failures pass unchanged."""
    try:
        yield
    except MixidError as exc:
        big = huge_moments(stats)
        if big and "divides by is 0" in str(exc):
            raise DataError(f"{name}: {big}") from None
        raise
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError, OverflowError):
        big = huge_moments(stats)
        if big:
            raise DataError(f"{name}: {big}") from None
        raise


def _check_finite(name: str, est: Estimate, design: Design) -> None:
    """An estimate with a non-finite entry is refused (a NaN is never reported): a DataError naming the entry."""
    params = np.asarray(est.extra.get("params", []), float)
    if not np.all(np.isfinite(params)):
        from mixid.identify import Model

        first = Model(design).params[int(np.flatnonzero(~np.isfinite(params))[0])].name
        raise DataError(f"{name}: parameter {first} is not determined by these data (it divides by the estimated "
                        "probability of a parent state or class that is 0: a category or class the data leave "
                        "empty); use estimator='mle'")
    po = est.potential_outcome_means or {}
    parts = {"the ATE": [] if est.ate is None else [est.ate], "E[Y(t)]": list(po.values()),
             "the class weights": [] if est.weights is None else list(est.weights),
             "the class effects": [] if est.effects is None else list(est.effects)}
    for what, values in parts.items():
        if not np.all(np.isfinite(np.asarray(values, float))):
            raise DataError(f"{name}: {what} cannot be computed from these data (a moment it divides by is 0); "
                            "see the warnings of the estimate, or use estimator='mle'")


def _bootstrap(stats: SufficientStats, mo: Moments, run, B: int, rng: np.random.Generator, width: int,
               progress, mle: Estimate | None = None) -> tuple[np.ndarray, int, list[str], np.ndarray | None]:
    """Replicates of the estimate (rows), how many failed, notes, and (maximum likelihood) the kept replicates'
    parameters. Maximum likelihood (``mle``: its estimate) climbs every replicate at once from the estimate on
    the observed patterns (mle.bootstrap_points); the other estimators rerun ``run`` on multinomial draws of the
    table (categorical) or resampled rows."""
    design, n = stats.design, stats.n
    if mle is not None and "normal_mle" in mle.extra:  # the normal likelihood on resampled rows (no set to carry)
        from .normal_mle import bootstrap

        reps, notes = bootstrap(mle, B, rng, progress)
        keep = ~np.all(np.isnan(reps), axis=1)
        return reps[keep], int((~keep).sum()), notes, None
    if mle is not None:  # the categorical likelihood on its patterns
        from .mle import bootstrap_points

        reps, points, notes = bootstrap_points(mle, B, rng, progress)
        keep = ~np.all(np.isnan(reps), axis=1)
        return reps[keep], int((~keep).sum()), notes, points[keep]
    out = np.full((B, width), np.nan)
    if stats.categorical and stats.patterns is not None:  # observed patterns: multinomial draws of their counts
        from .data import Patterns

        pat = stats.patterns

        def draws():
            for _ in range(B):
                counts = rng.multinomial(n, pat.counts / pat.counts.sum()).astype(float)
                yield Moments(design, None, mo.model, n=n, patterns=Patterns(pat.codes, counts, pat.dims))

        replicates = draws()
    elif stats.categorical:
        probs = stats.tensor.ravel()
        draws = rng.multinomial(n, probs / probs.sum(), size=B)
        tensors = (draws[b].reshape(stats.sums.shape) / n for b in range(B))  # counts / n: same n rows
    else:
        if stats.columns is None:
            why = f": {stats.rows_unavailable}" if stats.rows_unavailable else ""
            raise DataError(f"bootstrap with continuous variables resamples rows, which are not in memory{why}; "
                            "bootstrap a sample of the rows, or pass them as a DataFrame")
        cols = stats.columns

        def rows():
            for _ in range(B):
                idx = rng.integers(0, n, n)
                yield chunk_sums(design, {c: v[idx] for c, v in cols.items()}) / n

        tensors = rows()
    if stats.patterns is None or not stats.categorical:
        replicates = (Moments(design, tensor, mo.model, n=n) for tensor in tensors)
    failures = 0
    for b, moments in enumerate(track(replicates, progress, "bootstrap", B)):
        try:
            est = run(moments)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, FloatingPointError):
            failures += 1
            continue
        if est.diagnostics.get("clamped"):  # held at a search limit: a clamp is not a draw of the estimate
            failures += 1
            continue
        vec = est.vector()
        out[b, : len(vec)] = vec[:width]
    keep = ~np.all(np.isnan(out), axis=1)
    return out[keep], failures, [], None
