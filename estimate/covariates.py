"""Covariates of class membership (latent class regression): reading the rows, fitting, and what is reported.

A design with ``covariates: [age, region]`` makes P(U | W) a multinomial logit in those numeric columns (class 0
the reference) and keeps the design's model of the variables given U. It is fitted in one step by maximum
likelihood (:mod:`mixid.estimate.likelihood.covariates`), started from the plain latent class fit (the same
design without covariates) and from random starts. Standard errors come from the observed information of the
whole likelihood. Identification is stated for the measurement part given W: the placement of the design without
covariates. Class weights and causal targets are averages over the sample's W.
"""

from __future__ import annotations

import os
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from mixid.identify import Design, Model
from mixid.identify.design import shown
from mixid.identify.errors import DataError, DesignError, IdentificationError
from mixid.identify.model import LAST

from .data import MIN_ROWS, Patterns, column_map, read_chunks, row_text, unobserved_categories
from .intervals import quantity_ranges, wald_in_range
from .likelihood.covariates import RegressionFit, RegressionLikelihood, maximise, relabel
from .likelihood.inference import causal_quantities, face_delta
from .likelihood.model import BOUNDARY, likelihood
from .likelihood.optimise import maximise as maximise_plain
from .mle import _categories, _nested, _none, _none_nested, identification
from .result import Estimate, Result
from .simulate import as_generator, point_from_params, random_params

# ------------------------------------------------------------------------------------------------ data


def read_rows(design: Design, data: Any, columns=None, missing: str = "fiml", fitting: bool = True
              ) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """The answer codes (n, m; :data:`mixid.estimate.data.MISSING` where missing), the covariates (n, p), the
    notices and the report of missing answers of a data set for a design with covariates.

    The answers are read and validated as for any design (``columns`` maps design variables to data columns);
    each covariate is read from the column of its name and must hold finite numbers in every row: a missing,
    infinite or non-numeric value is a DataError naming the column and the row (such rows are never dropped
    silently). ``missing="drop"`` leaves out the rows with a missing answer. ``fitting``: also check what a fit
    needs (enough rows, no constant covariate, both treatment arms); rows whose class probabilities are asked
    for need none of it.

    Examples
    --------
    >>> d = Design.latent_class(["A", "B", "C"], covariates=["age"])
    >>> codes, W, notes, report = read_rows(d, {"A": [0, 1] * 10, "B": [1, 0] * 10, "C": [1] * 20,
    ...                                          "age": list(range(20))})
    >>> codes.shape, W.shape, report["complete_rows"]
    ((20, 3), (20, 1), 20)
    """
    if missing not in ("fiml", "drop"):
        raise DataError(f"missing must be 'fiml' or 'drop', got {shown(missing)}")
    base = design.without_covariates()
    names = base.names
    used = set(column_map(base, columns).values())
    clash = next((c for c in design.covariates if c in used), None)
    if clash is not None:
        raise DataError(f"column '{clash}' is read both as a variable and as a covariate")
    notes, chunks = read_chunks(design, data, columns)
    parts = [np.stack([c[v] for v in names], axis=1) for c in chunks]
    codes = np.concatenate(parts) if parts else np.zeros((0, len(names)), np.int64)
    W = np.stack([_covariate(name, raw) for name, raw in _covariate_columns(design, data)], axis=1)
    if len(W) != len(codes):
        raise DataError(f"the covariate columns have {len(W):,} rows, the answers {len(codes):,}")
    n = len(codes)
    incomplete = (codes < 0).any(axis=1)
    report = {"rows": int(n), "complete_rows": int(n - incomplete.sum()),
              "missing_answers": {v: int((codes[:, j] < 0).sum()) for j, v in enumerate(names)
                                  if (codes[:, j] < 0).any()},
              "rows_without_answers": int((codes < 0).all(axis=1).sum()), "handling": missing}
    if incomplete.any():
        if missing == "drop":
            codes, W = codes[~incomplete], W[~incomplete]
            notes.append(f"left out {int(incomplete.sum()):,} of {n:,} rows with a missing answer (missing='drop')")
        else:
            for v, count in report["missing_answers"].items():
                if design.children(v):
                    raise DataError(f"column '{v}' has {count:,} missing answer{'s' * (count != 1)}, and '{v}' is a "
                                    f"parent of {', '.join(design.children(v))}: maximum likelihood with missing "
                                    "answers (FIML) sums over missing answers of variables without children only; "
                                    "use missing='drop' (--missing drop) to leave out the rows with a missing answer")
            notes.append(f"{int(incomplete.sum()):,} of {n:,} rows have a missing answer: maximum likelihood uses "
                         "every row (FIML: it sums over the missing answers, valid when they are missing at random)")
    if not fitting:
        return codes, W, notes, report
    if len(codes) < MIN_ROWS:
        raise DataError(f"too few rows: {len(codes)} (need at least {MIN_ROWS})")
    for j, name in enumerate(design.covariates):
        if np.ptp(W[:, j]) == 0:
            raise DataError(f"covariate column '{name}' is constant ({W[0, j]:g} in every row): its effect cannot be "
                            "told from the intercept")
    if design.causal:
        t = codes[:, names.index(design.treatment)]
        for arm in (0, 1):
            if not (t == arm).any():
                raise DataError(f"treatment arm {design.treatment}={arm} is empty: column '{design.treatment}' "
                                f"never takes the value {arm}")
    return codes, W, notes, report


def _covariate_columns(design: Design, data: Any) -> list[tuple[str, np.ndarray]]:
    """The raw covariate columns of a DataFrame, mapping, CSV or Parquet file or dask DataFrame."""
    wanted = list(design.covariates)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if path.suffix.lower() == ".csv":
            present = list(pd.read_csv(path, nrows=0).columns)
            _require(wanted, present)
            frame = pd.read_csv(path, usecols=wanted)
            # a CSV file holds text: a column with one value that is not a number is read as text throughout
            return [(c, _parsed(c, frame[c].to_numpy())) for c in wanted]
        else:
            import pyarrow.parquet as pq

            _require(wanted, pq.ParquetFile(path).schema_arrow.names)
            frame = pd.read_parquet(path, columns=wanted)
        return [(c, frame[c].to_numpy()) for c in wanted]
    if type(data).__module__.startswith("dask"):
        _require(wanted, list(data.columns))
        frame = data[wanted].compute()
        return [(c, frame[c].to_numpy()) for c in wanted]
    keys = list(data.columns) if isinstance(data, pd.DataFrame) else list(data.keys())
    _require(wanted, keys)
    return [(c, np.asarray(data[c])) for c in wanted]


def _require(wanted: list[str], present) -> None:
    have = set(present)
    gone = [c for c in wanted if c not in have]
    if gone:
        raise DataError(f"missing covariate column '{gone[0]}' (the design's covariates: {', '.join(wanted)})")


def _parsed(name: str, raw: np.ndarray) -> np.ndarray:
    """A CSV column read as text: the numbers it holds, or a DataError naming the first value that is none."""
    if raw.dtype.kind not in "OUS":
        return raw
    out = np.full(len(raw), np.nan)
    for i, v in enumerate(raw):
        if pd.isna(v):
            continue
        try:
            out[i] = float(v)
        except ValueError:
            raise DataError(f"covariate column '{name}' is not numeric: {shown(v)} at {row_text(i)}; a covariate is a "
                            "number (code a categorical one as 0/1 columns, one per category but one)") from None
    return out


def _covariate(name: str, raw: np.ndarray) -> np.ndarray:
    """One covariate column as floats; a value that is not a finite number is a DataError naming the row."""
    column = f"covariate column '{name}'"
    if raw.ndim != 1:
        raise DataError(f"{column} must be one-dimensional")
    kinds = {"b": "booleans", "M": "dates and times", "m": "time spans", "c": "complex numbers"}
    if raw.dtype.kind in kinds:
        raise DataError(f"{column} holds {kinds[raw.dtype.kind]} ({raw.dtype}); a covariate is numeric (code "
                        "it as numbers, e.g. 0/1)")
    if raw.dtype.kind in "OUSV":
        for i, v in enumerate(raw):
            if pd.isna(v):
                break  # reported below as a missing value (the first problem row wins)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise DataError(f"{column} is not numeric: {shown(v)} at {row_text(i)}; a covariate is a number "
                                "(code a categorical one as 0/1 columns, one per category but one)")
        raw = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy()
    col = raw.astype(float)
    bad = np.flatnonzero(~np.isfinite(col))
    if len(bad):
        i = int(bad[0])
        what = "a missing value" if np.isnan(col[i]) else f"a non-finite value ({col[i]:g})"
        raise DataError(f"{column} has {what} at {row_text(i)}; rows with a missing covariate are not dropped "
                        "silently: remove them or fill the value")
    return col


# ---------------------------------------------------------------------------------------------- fitting
class CovariateFit:
    """A fitted latent class regression with the design it belongs to: the maximum and each row's class
    probabilities (``posterior_of``), for :meth:`mixid.estimate.result.Result.posterior`."""

    def __init__(self, design: Design, regression: RegressionFit, columns=None):
        self.design, self.regression, self.columns = design, regression, columns

    def posterior_of(self, data: Any, columns=None) -> np.ndarray:
        """P(U = u | answers, W) of each row of ``data`` (validated as for the fit), shape (rows, k).

        Examples
        --------
        >>> from mixid import fit
        >>> d = Design.latent_class(list("ABCD"), covariates=["w"])
        >>> frame, _ = simulate_regression(d, pd.DataFrame({"w": np.linspace(-2, 2, 500)}), [[0.0, 1.0]], seed=0)
        >>> fit(d, frame, seed=0).estimate.extra["mle"].posterior_of(frame.head(2)).shape
        (2, 2)
        """
        codes, W, _, _ = read_rows(self.design, data, columns, missing="fiml", fitting=False)
        return self.regression.posterior(codes, W)


def fit_covariates(placement, design: Design, data: Any, *, estimator: str = "auto", bootstrap: int = 0,
                   seed=None, starts: int = 10, ci_level: float = 0.95, truth: dict | None = None,
                   progress=None, columns=None, max_starts: int | None = None, missing: str = "fiml") -> Result:
    """The maximum-likelihood fit of a design with covariates (called by :func:`mixid.fit`, which checks the
    common arguments); ``placement`` is the placement of ``design.without_covariates()``.

    Examples
    --------
    >>> from mixid import fit
    >>> d = Design.latent_class(list("ABCD"), covariates=["w"])
    >>> frame, _ = simulate_regression(d, pd.DataFrame({"w": np.linspace(-2, 2, 2000)}), [[0.0, 1.0]], seed=0)
    >>> r = fit(d, frame, seed=0)
    >>> [row["term"] for row in r.to_dict()["covariates"]["coefficients"]]
    ['intercept', 'w']
    """
    if estimator not in ("auto", "mle"):
        raise DataError(f"{shown(estimator)}: a design with covariates is fitted by maximum likelihood only "
                        "(estimator 'auto' or 'mle')")
    if bootstrap:
        raise DataError("bootstrap is not available with covariates: the standard errors come from the observed "
                        "information (bootstrap=0)")
    base = design.without_covariates()
    if not all(v.categorical for v in base.variables):
        bad = next(v.name for v in base.variables if not v.categorical)
        raise DesignError(f"covariates: maximum likelihood with covariates needs every variable categorical; "
                          f"'{bad}' is continuous")
    identified, scope, id_notes = identification(placement)
    if estimator == "auto" and not any(identified.values()):
        raise IdentificationError(f"no estimator for design '{design.name}': nothing is identifiable in its "
                                  "measurement part (the design without covariates); --estimator mle still fits "
                                  "the model and its fit statistics")
    codes, W, notes, report = read_rows(design, data, columns, missing)
    rng = as_generator(seed)
    lik = likelihood(base)
    reg = RegressionLikelihood(lik, design.covariates, W.mean(axis=0), W.std(axis=0))
    rows = reg.rows(codes, W)
    # the plain latent class fit (no covariates): the first start, and the likelihood-ratio test's null
    plain = maximise_plain(lik, Patterns.from_columns(list(codes.T), lik.dims), starts=starts, seed=rng,
                           information=False, max_starts=max_starts)
    pi, tables = lik.from_point(plain.point)
    G0 = np.zeros((base.classes - 1, reg.p + 1))
    G0[:, 0] = np.log(np.maximum(pi[1:], 1e-12) / max(pi[0], 1e-12))
    fitted = maximise(reg, rows, starts=starts, seed=rng, initial=[reg.state(G0, tables)], max_starts=max_starts,
                      order=_order_by_effect if base.causal else None, progress=progress)
    est, summary = _summarise(reg, fitted, base, identified, scope, ci_level)
    est.warnings = list(dict.fromkeys(list(fitted.warnings) + est.warnings + id_notes))
    summary["likelihood_ratio"] = _likelihood_ratio(fitted.loglik, plain.loglik, (base.classes - 1) * reg.p)
    if fitted.loglik < plain.loglik - 1e-6 * max(1.0, abs(plain.loglik)):
        est.warnings.append(f"the fit with covariates ({fitted.loglik:.4f}) is below the fit without them "
                            f"({plain.loglik:.4f}), which it contains: the optimiser stopped short; raise max_starts")
    est.extra["mle"] = CovariateFit(design, fitted, columns)
    naive = _naive(base, codes) if base.causal else None
    result = Result("mle", placement.level, int(len(codes)), est, naive, truth=truth, ci_level=ci_level)
    result.missing = report
    result.warnings += notes
    result.covariates = summary
    return result


def _order_by_effect(reg: RegressionLikelihood, x: np.ndarray, data) -> np.ndarray:
    """Classes of a causal design by effect (smallest first), ties by mean share (largest first)."""
    shares, _ = reg.mean_prior(x, data)
    tables = reg.tables_of(x)
    vals, _ = causal_quantities(reg.lik.design, reg.lik.to_point(shares, tables))
    return relabel(reg, x, np.lexsort((-shares, vals["effects"])))


def _naive(design: Design, codes: np.ndarray) -> float:
    """E[Y | T=1] - E[Y | T=0] over the rows that answer both."""
    t, y = codes[:, design.names.index(design.treatment)], codes[:, design.names.index(design.outcome)]
    seen = (t >= 0) & (y >= 0)
    return float(y[seen & (t == 1)].mean() - y[seen & (t == 0)].mean())


def _likelihood_ratio(ll: float, ll_plain: float, df: int) -> dict:
    from scipy.stats import chi2

    stat = max(0.0, 2 * (ll - ll_plain))
    return {"statistic": stat, "df": int(df), "p_value": float(chi2.sf(stat, df)),
            "loglik_without_covariates": float(ll_plain)}


def _summarise(reg: RegressionLikelihood, fitted: RegressionFit, base: Design, identified: dict, scope: dict,
               level: float) -> tuple[Estimate, dict]:
    """The Estimate (weights, tables, causal targets, fit statistics, intervals) and the covariates' report."""
    x, rows, k = fitted.state, fitted.rows, base.classes
    lik, model = reg.lik, reg.lik.model
    warnings: list[str] = []
    tables = reg.tables_of(x)
    shares, d_shares = reg.mean_prior(x, rows)
    D, _ = reg.face(x, rows)
    info = reg.observed_information(x, rows, D)
    if not np.isfinite(info).all():
        info = None
        warnings.append("the observed information could not be formed (probabilities too close to 0): no "
                        "standard errors")
    c = reg.n_coefficients
    width = c + len(reg.table_params)

    def delta(grads: np.ndarray, ok: bool, what: str) -> np.ndarray:
        """Standard errors of quantities with these gradients in (coefficients, table parameters)."""
        grads = np.atleast_2d(grads)
        if info is None or not ok:
            return np.full(len(grads), np.nan)
        se, seen = face_delta(info, None, grads @ D)
        if not seen.all():
            warnings.append(f"the information is singular along {what} at the estimate (weak identification, "
                            "collinear covariates or a boundary solution): no standard error for it")
        return np.where(seen & (se > 0), se, np.nan)

    def from_model(grads: np.ndarray) -> np.ndarray:
        """Gradients in the model's parameters (class weights = the mean shares) -> (coefficients, tables)."""
        grads = np.atleast_2d(grads)
        out = np.zeros((len(grads), width))
        for u, code in enumerate(model._pi):
            if code >= 0:
                out[:, :c] += np.outer(grads[:, code], d_shares[u])
        out[:, c:] = grads[:, reg.table_params]
        return out

    mixture_ok = bool(identified.get("full_mixture", False))
    weights_ok = mixture_ok or bool(identified.get("mte", False))
    # coefficients on the data's scale
    A = reg.original_scale()
    G, _ = reg.split(x[None, :])
    beta = A @ G[0].ravel()
    beta_se = delta(np.concatenate([A, np.zeros((c, width - c))], axis=1), weights_ok, "the coefficients")
    weights_se = delta(np.concatenate([d_shares, np.zeros((k, width - c))], axis=1), weights_ok and k > 1,
                       "the class weights")
    mixture = {"identified": mixture_ok, "scope": scope.get("full_mixture"), "weights": shares.tolist(),
               "weights_se": _none(weights_se), "tables": {}, "tables_se": {},
               "parents": {v: list(base.parents(v)) for v in base.names},
               "categories": {v: _categories(base, v) for v in base.names}}
    n_boundary = 0
    for i, name in enumerate(base.names):
        codes_v = model.tables[name]
        grads = np.zeros(codes_v.shape + (model.n_params,))
        free = codes_v >= 0
        grads[free, codes_v[free]] = 1.0
        for idx in zip(*np.nonzero(codes_v == LAST)):
            sib = codes_v[idx[0], idx[1]]
            grads[idx][sib[sib >= 0]] = -1.0
        edge = (tables[i] < BOUNDARY) | (tables[i] > 1 - BOUNDARY)
        n_boundary += int(edge.sum())
        se = delta(from_model(grads.reshape(-1, model.n_params)), mixture_ok, f"the table of {name}")
        se = np.where(edge.ravel(), np.nan, se).reshape(tables[i].shape)
        mixture["tables"][name] = _nested(base, name, tables[i])
        mixture["tables_se"][name] = _none_nested(_nested(base, name, se))
        counts = np.bincount(rows.codes[:, i][rows.codes[:, i] >= 0],
                             weights=rows.counts[rows.codes[:, i] >= 0], minlength=lik.cats[i])
        note = unobserved_categories(name, counts, base.variable(name).labels)
        if note:
            warnings.append(note)
    if n_boundary:
        warnings.append(f"{n_boundary} estimated probabilities of the tables lie on the boundary (0 or 1): their "
                        "standard errors are not reported (the Wald approximation fails there)")
    n = float(rows.counts.sum())
    d = c + model.n_params - (k - 1)
    ll = fitted.loglik
    est = Estimate(ate=None, potential_outcome_means=None, warnings=warnings,
                   diagnostics={"starts": fitted.starts, "starts_at_best": fitted.starts_at_best,
                                "converged": fitted.converged,
                                "information": "observed (central differences of the analytic score)",
                                "start_logliks": np.sort(fitted.start_lliks)[::-1].tolist(),
                                "distinct_rows": int(len(rows.counts))})
    est.fit = {"loglik": ll, "n_parameters": int(d), "aic": -2 * ll + 2 * d, "bic": -2 * ll + d * np.log(n),
               "g2": None, "x2": None, "df": None, "starts": fitted.starts, "starts_at_best": fitted.starts_at_best,
               "replicated": fitted.replicated}
    est.mixture = mixture
    point = lik.to_point(shares, tables)
    est.extra["identified"] = identified
    est.extra["params"] = point.tolist()
    if base.causal:
        vals, grads = causal_quantities(base, point)
        est.ate = float(vals["ate"][0])
        est.potential_outcome_means = {0: float(vals["po"][0]), 1: float(vals["po"][1])}
        est.weights, est.effects = vals["weights"], vals["effects"]  # the classes are in order of effect already
        ate_ok, mte_ok = bool(identified.get("ate", False)), bool(identified.get("mte", False))
        est.se = {"ate": _none(delta(from_model(grads["ate"]), ate_ok, "the ATE"))[0],
                  "potential_outcome_means": _none(delta(from_model(grads["po"]), ate_ok, "E[Y(t)]")),
                  "weights": _none(weights_se if mte_ok else np.full(k, np.nan)),
                  "effects": _none(delta(from_model(grads["effects"]), mte_ok, "the class effects"))}
        groups = ["ate"] * 3 + ["mte"] * (2 * k)
    else:
        est.weights = shares
        est.se = {"weights": _none(weights_se)}
        groups = [None] * 3 + ["full_mixture"] * k
    vec = est.vector()
    se = [est.se.get("ate"), *(est.se.get("potential_outcome_means") or [None, None])] if base.causal else [None] * 3
    se += list(est.se["weights"]) + (list(est.se["effects"]) if base.causal else [])
    ranges = quantity_ranges(base, k)
    est.intervals = [wald_in_range(vec[i], se[i], *ranges[i], level)[0]
                     if g is not None and identified.get(g, False) else None for i, g in enumerate(groups)]
    est.interval_kind = "wald"
    z = NormalDist().inv_cdf(0.5 + level / 2)
    terms = ["intercept", *reg.names]
    coefficients = []
    for u in range(1, k):
        for j, term in enumerate(terms):
            b, s = float(beta[(u - 1) * (reg.p + 1) + j]), beta_se[(u - 1) * (reg.p + 1) + j]
            row = {"class": u, "term": term, "estimate": b, "se": None, "ci": None, "odds_ratio": float(np.exp(b)),
                   "odds_ratio_ci": None, "z": None, "p_value": None}
            if np.isfinite(s):
                lo, hi = b - z * s, b + z * s
                row.update(se=float(s), ci=[lo, hi], odds_ratio_ci=[float(np.exp(lo)), float(np.exp(hi))],
                           z=b / s, p_value=float(2 * NormalDist().cdf(-abs(b / s))))
            coefficients.append(row)
    verdict = _statement(identified, scope, weights_ok)
    summary = {"names": list(reg.names), "reference_class": 0, "identified": weights_ok,
               "model": "log P(U = u | W) / P(U = 0 | W) = intercept_u + W beta_u (multinomial logit)",
               "coefficients": coefficients, "level": level, "identification": verdict,
               "averaged_over": "class weights and causal targets are averages over the sample's covariates "
                                "(P(U = u) = mean over rows of P(U = u | W))"}
    return est, summary


def _statement(identified: dict, scope: dict, weights_ok: bool) -> str:
    """How identification is stated for a design with covariates, in one sentence."""
    if weights_ok:
        which = "the full mixture" if identified.get("full_mixture") else "the class weights (through the MTE)"
        where = scope.get("full_mixture") if identified.get("full_mixture") else scope.get("mte")
        return (f"stated for the measurement part given W: in the design without covariates {which} is identified "
                f"({where}); so P(U | W) is at each W, and the coefficients are wherever the covariates (with the "
                "intercept) have full column rank")
    return ("stated for the measurement part given W: in the design without covariates the class weights are not "
            "proved identifiable, so neither are P(U | W) and the coefficients (no standard errors)")


# ------------------------------------------------------------------------------------------ simulation
def simulate_regression(design: Design, covariates: Any, coefficients, params=None, seed=None
                        ) -> tuple[pd.DataFrame, dict]:
    """Rows of a latent class regression: classes drawn from the multinomial logit P(U | W) with these
    ``coefficients`` (k - 1 rows, class 1 first, each [intercept, one per covariate]; class 0 the reference),
    then the variables given the class from the design's model at ``params`` (parameter names of
    ``Model(design.without_covariates())``; random when omitted). Returns the data (the covariates and the
    variables) and the truth (``coefficients``, ``params`` and the drawn ``classes``).

    Examples
    --------
    >>> d = Design.latent_class(["A", "B", "C"], covariates=["age"])
    >>> frame, truth = simulate_regression(d, pd.DataFrame({"age": [20.0, 40.0, 60.0] * 10}), [[-2.0, 0.05]],
    ...                                    seed=0)
    >>> list(frame.columns), len(frame)
    (['age', 'A', 'B', 'C'], 30)
    """
    base = design.without_covariates()
    rng = as_generator(seed)
    W = np.column_stack([np.asarray(covariates[c], float) for c in design.covariates])
    B = np.asarray(coefficients, float)
    if B.shape != (base.classes - 1, len(design.covariates) + 1):
        raise DesignError(f"coefficients must have shape ({base.classes - 1}, {len(design.covariates) + 1}), got "
                          f"{B.shape}")
    n = len(W)
    eta = np.concatenate([np.zeros((n, 1)), np.column_stack([np.ones(n), W]) @ B.T], axis=1)
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    u = np.minimum((rng.random(n)[:, None] > np.cumsum(prob, axis=1)).sum(axis=1), base.classes - 1)
    model = Model(base)
    params = random_params(base, rng) if params is None else dict(params)
    point = point_from_params(model, params)
    cols: dict[str, np.ndarray] = {}
    for name in model.order:
        pa = np.zeros(n, dtype=np.int64)
        for parent in base.parents(name):
            pa = pa * model.dims[parent] + cols[parent]
        codes = model.tables[name][pa, u]  # (n, C) parameter codes
        vals = np.where(codes >= 0, point[np.maximum(codes, 0)], 0.0)
        vals = np.where(codes == LAST, 1 - vals.sum(axis=1, keepdims=True), vals)
        cols[name] = np.minimum((rng.random(n)[:, None] > np.cumsum(vals, axis=1)).sum(axis=1),
                                codes.shape[1] - 1)
    frame = pd.DataFrame({**{c: W[:, j] for j, c in enumerate(design.covariates)},
                          **{v.name: (cols[v.name] if v.labels is None else np.asarray(v.labels)[cols[v.name]])
                             for v in base.variables}})
    return frame, {"coefficients": B.tolist(), "params": params, "classes": u}
