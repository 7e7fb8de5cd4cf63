"""Estimates and results: point estimates, bootstrap intervals, diagnostics, warnings, JSON, text and plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Estimate:
    """One point estimate: the ATE, E[Y(t)], and (when the estimator gives it) the MTE sorted by effect.

    Maximum likelihood adds standard errors (``se``: ``None`` for what is not identified), fit statistics
    (``fit``) and the full mixture (``mixture``: class weights and response tables). A design without a
    treatment and an outcome has no ATE: ``ate`` and ``potential_outcome_means`` are ``None``.
    """

    ate: float | None
    potential_outcome_means: dict[int, float] | None
    weights: np.ndarray | None = None
    effects: np.ndarray | None = None
    diagnostics: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    se: dict | None = None
    fit: dict | None = None
    mixture: dict | None = None
    intervals: list | None = None  # aligned with vector(): [low, high] or None
    interval_kind: str | None = None  # "profile" or "wald"
    modes: list | None = None  # maximum likelihood: the local maxima near the best

    def vector(self) -> np.ndarray:
        """The estimate as one vector (ate, E[Y(0)], E[Y(1)], weights..., effects...) for bootstrapping."""
        po = self.potential_outcome_means or {0: np.nan, 1: np.nan}
        parts = [np.nan if self.ate is None else self.ate, po[0], po[1]]
        if self.weights is not None:
            parts += list(self.weights) + (list(self.effects) if self.effects is not None else [])
        return np.array(parts, dtype=float)


def check_truth(truth) -> None:
    """Refuse a ground truth (``Truth.to_dict()``, e.g. ``mixid simulate --truth``) of the wrong shape, naming the
    entry: the ATE a number or null, E[Y(t)] numbers keyed 0 and 1, the MTE a list of {weight, effect} numbers.

    Examples
    --------
    >>> check_truth({"ate": 0.1, "mte": [{"weight": 1.0, "effect": 0.1}]})
    >>> check_truth({"ate": "x"})
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DataError: truth: 'ate' must be a number or null, got 'x'
    """
    from mixid.identify.design import shown
    from mixid.identify.errors import DataError

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if not isinstance(truth, dict):
        raise DataError(f"truth must be a JSON object (as written by mixid simulate --truth), got "
                        f"{type(truth).__name__}")
    if not {"ate", "mte", "weights"} & set(truth):
        raise DataError("truth must hold 'ate', 'mte' or 'weights' (as written by mixid simulate --truth)")
    weights = truth.get("weights")
    if weights is not None and not (isinstance(weights, list) and all(map(number, weights))):
        raise DataError(f"truth: 'weights' must be a list of numbers, got {shown(weights)}")
    if truth.get("ate") is not None and not number(truth["ate"]):
        raise DataError(f"truth: 'ate' must be a number or null, got {shown(truth['ate'])}")
    po = truth.get("potential_outcome_means")
    if po is not None and not (isinstance(po, dict) and set(po) <= {"0", "1", 0, 1} and all(map(number, po.values()))):
        raise DataError(f"truth: 'potential_outcome_means' must map 0 and 1 to numbers, got {shown(po)}")
    mte = truth.get("mte")
    if mte is not None and not (isinstance(mte, list) and all(
            isinstance(a, dict) and number(a.get("weight")) and number(a.get("effect")) for a in mte)):
        raise DataError(f"truth: 'mte' must be a list of {{weight, effect}} numbers, got {shown(mte)}")


def _interval(samples: np.ndarray, level: float) -> list[list[float] | None]:
    """Percentile intervals per column; None for a column without a finite replicate (e.g. no ATE)."""
    out = []
    for col in np.asarray(samples, float).T:
        col = col[np.isfinite(col)]
        if not len(col):
            out.append(None)
            continue
        lo, hi = np.percentile(col, [50 * (1 - level), 50 * (1 + level)])
        out.append([float(lo), float(hi)])
    return out


@dataclass
class Result:
    """What :func:`mixid.fit` returns.

    Attributes
    ----------
    estimator : str
        ``spo``, ``proximal``, ``cp`` or ``adjustment``.
    level : int or None
        The design's level (from ``mixid.place``).
    n : int
        Rows used.
    estimate : Estimate
        The point estimate.
    bootstrap : numpy.ndarray or None
        Replicates of :meth:`Estimate.vector`, one row each.
    naive : float
        The naive difference in means E[Y|T=1] - E[Y|T=0], for comparison.
    truth : dict or None
        Ground truth (``Truth.to_dict()``) when known, e.g. from ``simulate``.
    identified_set : dict or None
        For a maximum-likelihood fit of a design that is not globally identified: every valid model with the fitted
        law (``kind "points"``) or each target's range over them (``kind "bounds"``), see
        :func:`mixid.identify.fibre.identified_set.identified_set`.
    """

    estimator: str
    level: int | None
    n: int
    estimate: Estimate
    naive: float
    bootstrap: np.ndarray | None = None
    ci_level: float = 0.95
    truth: dict | None = None
    warnings: list[str] = field(default_factory=list)
    identified_set: dict | None = None
    missing: dict | None = None  # rows, complete rows and missing answers per column (data.sufficient_stats)
    weights: dict | None = None  # sampling weights: column, sum, Kish effective n, zero rows (data.sufficient_stats)
    covariates: dict | None = None  # latent class regression: coefficients, odds ratios, test (estimate.covariates)

    def _ci(self) -> list[list[float] | None] | None:
        """Intervals aligned with :meth:`Estimate.vector`: bootstrap percentiles when there are replicates, else
        the estimator's own (profile-likelihood or range-respecting Wald), else None."""
        if self.bootstrap is not None and len(self.bootstrap):
            return _interval(self.bootstrap, self.ci_level)
        return self.estimate.intervals

    def _se_list(self) -> list[float | None]:
        """Standard errors aligned with :meth:`Estimate.vector` (None where there is none)."""
        se = self.estimate.se or {}
        k = 0 if self.estimate.weights is None else len(self.estimate.weights)
        po = se.get("potential_outcome_means") or [None, None]
        out = [se.get("ate"), po[0], po[1]] + list(se.get("weights") or [None] * k)
        if self.estimate.effects is not None:
            out += list(se.get("effects") or [None] * k)
        return out

    @property
    def interval_kind(self) -> str | None:
        """``bootstrap``, ``profile``, ``wald`` or None (no intervals)."""
        if self.bootstrap is not None and len(self.bootstrap):
            return "bootstrap"
        return self.estimate.interval_kind if self.estimate.intervals is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``mixid estimate --json`` (docs/json.md): estimates, intervals, standard errors (maximum
        likelihood), fit statistics."""
        ci = self._ci()
        e = self.estimate
        se = e.se or {}
        causal = e.ate is not None
        out: dict[str, Any] = {"level": self.level, "estimator": self.estimator, "n": int(self.n)}
        if e.fit is not None:
            out["fit"] = _jsonable(e.fit)
        if e.mixture is not None:
            out["mixture"] = _jsonable(e.mixture)
        if causal:
            out["ate"] = {"estimate": float(e.ate), "se": se.get("ate"), "ci": ci[0] if ci else None}
            out["potential_outcome_means"] = {str(t): float(e.potential_outcome_means[t]) for t in (0, 1)}
            if se.get("potential_outcome_means"):
                out["potential_outcome_means_se"] = {str(t): se["potential_outcome_means"][t] for t in (0, 1)}
            if ci:
                out["potential_outcome_means_ci"] = {"0": ci[1], "1": ci[2]}
            out["naive_difference"] = float(self.naive)
            if e.weights is not None:
                k = len(e.weights)
                out["mte"] = [{"weight": float(e.weights[u]), "effect": float(e.effects[u]),
                               **({"weight_se": (se.get("weights") or [None] * k)[u],
                                   "effect_se": (se.get("effects") or [None] * k)[u]} if e.se else {}),
                               **({"weight_ci": ci[3 + u], "effect_ci": ci[3 + k + u]} if ci else {})}
                              for u in range(k)]
        elif ci and e.mixture is not None:
            out["mixture"]["weights_ci"] = [ci[3 + u] for u in range(len(e.weights))]
        if ci:
            out["interval"] = {"kind": self.interval_kind, "level": self.ci_level}
        if e.modes is not None:
            out["modes"] = e.modes
        if self.identified_set is not None:
            out["identified_set"] = self.identified_set
        if self.missing is not None:
            out["missing"] = _jsonable(self.missing)
        if self.weights is not None:
            out["weights"] = _jsonable(self.weights)
        if self.covariates is not None:
            out["covariates"] = _jsonable(self.covariates)
        out["diagnostics"] = _jsonable(e.diagnostics)
        out["warnings"] = list(dict.fromkeys(list(e.warnings) + list(self.warnings)))
        if self.bootstrap is not None:
            out["bootstrap"] = {"replicates": int(len(self.bootstrap)), "level": self.ci_level}
        if self.truth is not None:
            out["truth"] = {k: v for k, v in self.truth.items() if k in ("ate", "potential_outcome_means", "mte")}
        return strict_json(out)

    def summary(self) -> str:
        """A readable report: fit statistics and response tables (maximum likelihood, as poLCA prints them),
        then the causal estimates with standard errors, intervals, the naive answer and the truth when known."""
        d = self.to_dict()
        fmt = lambda ci: f"[{ci[0]: .4f}, {ci[1]: .4f}]" if ci else ""  # noqa: E731
        num = lambda x: "" if x is None else f"{x:.4f}"  # noqa: E731
        truth = self.truth or {}
        level = f"{int(self.ci_level * 100)}% {self.interval_kind or ''} interval".replace("  ", " ")
        lines = [f"estimator {self.estimator} (level {self.level}), n = {self.n}"]
        m = d.get("missing")
        if m and m["complete_rows"] < m["rows"]:
            per = ", ".join(f"{v} {c:,}" for v, c in m["missing_answers"].items())
            lines.append(f"rows {m['rows']:,}, complete rows {m['complete_rows']:,} (missing='{m['handling']}'); "
                         f"missing answers: {per}")
        w = d.get("weights")
        if w:
            lines.append(f"sampling weights '{w['column']}': sum {w['sum']:,.6g}, Kish effective sample size "
                         f"{w['effective_n']:,.1f} of {w['rows']:,} rows"
                         + (f", {w['zero_rows']:,} rows of weight 0 (kept: they add nothing)" if w["zero_rows"] else "")
                         + "; pseudo-likelihood, sandwich standard errors" * ("fit" in d))
        if "fit" in d and "loglik" not in d["fit"]:  # minimum distance: its objective and Hansen's J test
            f = d["fit"]
            j = "n/a (identity weights)" if f.get("j_stat") is None else f"{f['j_stat']:.4f}"
            lines.append(f"minimum distance objective {f['objective']:.6g}   J statistic {j}   df {f['df']}   "
                         f"parameters {f['n_parameters']}   starts {f['starts']}")
        elif "fit" in d:
            f = d["fit"]
            lines.append(f"log-likelihood {f['loglik']:.4f}   parameters {f['n_parameters']}   AIC {f['aic']:.4f}   "
                         f"BIC {f['bic']:.4f}")
            if "g2" not in f:  # normal variables: no contingency table to test against
                tables = ""
            elif f["g2"] is None:
                why = "covariates" if "covariates" in d else "sampling weights" if w else "missing answers"
                tables = f"G^2, X^2 and df are not defined with {why}   "
            else:
                tables = f"G^2 {f['g2']:.4f}   X^2 {f['x2']:.4f}   residual df {f['df']}   "
            lines.append(f"{tables}best log-likelihood reached by {f['starts_at_best']} of {f['starts']} starts"
                         + ("" if f.get("replicated", True) else " (not replicated)"))
        if "mixture" in d:
            lines += self._mixture_lines(d["mixture"])
        if "covariates" in d:
            lines += covariate_lines(d["covariates"])
        if d["diagnostics"].get("bivariate_residuals"):
            from .local_fit import bvr_lines

            lines += bvr_lines(d["diagnostics"]["bivariate_residuals"],
                               d["diagnostics"].get("bivariate_residuals_unchecked", 0))
        if "ate" not in d:
            cis = d.get("mixture", {}).get("weights_ci")
            if cis and any(cis):
                lines.append(f"class weights, {level}: " + "  ".join(fmt(ci) or "none" for ci in cis))
            lines += self._mode_lines(d)
            for w in d["warnings"]:
                lines.append(f"warning: {w}")
            return "\n".join(lines)
        lines.append(f"{'quantity':<22}{'estimate':>10}{'se':>9}  {level:<22}{'truth':>9}")
        t_ate = truth.get("ate")
        lines.append(f"{'ATE':<22}{d['ate']['estimate']:>10.4f}{num(d['ate'].get('se')):>9}  "
                     f"{fmt(d['ate']['ci']):<22}{'' if t_ate is None else f'{t_ate:9.4f}'}")
        lines.append(f"{'naive E[Y|T=1]-E[Y|T=0]':<22}{d['naive_difference']:>10.4f}")
        for t in ("0", "1"):
            ci = d.get("potential_outcome_means_ci", {}).get(t)
            tv = truth.get("potential_outcome_means", {}).get(t)
            s = d.get("potential_outcome_means_se", {}).get(t)
            lines.append(f"{f'E[Y({t})]':<22}{d['potential_outcome_means'][t]:>10.4f}{num(s):>9}  {fmt(ci):<22}"
                         f"{'' if tv is None else f'{tv:9.4f}'}")
        for u, atom in enumerate(d.get("mte", [])):
            tm = truth.get("mte", [])
            tw = tm[u]["weight"] if u < len(tm) else None
            te = tm[u]["effect"] if u < len(tm) else None
            lines.append(f"{f'class {u} weight':<22}{atom['weight']:>10.4f}{num(atom.get('weight_se')):>9}  "
                         f"{fmt(atom.get('weight_ci')):<22}{'' if tw is None else f'{tw:9.4f}'}")
            lines.append(f"{f'class {u} effect':<22}{atom['effect']:>10.4f}{num(atom.get('effect_se')):>9}  "
                         f"{fmt(atom.get('effect_ci')):<22}{'' if te is None else f'{te:9.4f}'}")
        lines += self._mode_lines(d)
        if "identified_set" in d:
            lines += identified_set_lines(d["identified_set"])
        for w in d["warnings"]:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def posterior(self, data, columns=None) -> np.ndarray:
        """Each row's class probabilities P(U = u | row), shape (rows, k), rows in input order and classes in the
        order of the report.

        Available for maximum-likelihood fits; ``data`` is anything :func:`mixid.fit` reads (a DataFrame, a
        mapping of columns, a CSV or Parquet path, read in chunks, or a dask DataFrame), validated as there;
        ``columns`` maps design variables to data columns as in :func:`mixid.fit`.

        Examples
        --------
        >>> from mixid import Design, datasets, fit
        >>> r = fit(Design.latent_class(list("ABCDEFG"), classes=2), datasets.load("carcinoma"), seed=0)
        >>> post = r.posterior(datasets.load("carcinoma"))
        >>> post.shape, bool(np.allclose(post.sum(axis=1), 1))
        ((118, 2), True)
        """
        from mixid.identify.errors import DataError

        from .data import data_columns, read_chunks

        fit = self.estimate.extra.get("mle")
        if fit is None:
            raise DataError(f"posterior class probabilities need a maximum-likelihood fit, not {self.estimator}")
        if hasattr(fit, "posterior_of"):  # covariates: the class probabilities depend on each row's covariates too
            return fit.posterior_of(data, columns)
        names = data_columns(fit.design)
        _, chunks = read_chunks(fit.design, data, columns)
        parents = [v for v in names if fit.design.children(v)]
        parts = []
        for cols in chunks:
            unanswered = next((v for v in parents if (cols[v] < 0).any()), None)
            if unanswered is not None:  # a missing parent would couple its children: no posterior is defined
                raise DataError(f"column '{unanswered}' has missing answers, and '{unanswered}' is a parent of "
                                f"{', '.join(fit.design.children(unanswered))}: class probabilities need it "
                                "answered in every row (leave those rows out)")
            parts.append(fit.posterior([cols[c] for c in names]))
        return np.concatenate(parts) if parts else np.zeros((0, fit.design.classes))

    def posterior_frame(self, data, columns=None):
        """:meth:`posterior` as a DataFrame: ``p_class_0 .. p_class_{k-1}`` and ``modal_class`` (the most
        probable class; the lowest-numbered one on a tie), one row per data row, in input order.

        Examples
        --------
        >>> from mixid import Design, datasets, fit
        >>> r = fit(Design.latent_class(list("ABCDEFG"), classes=2), datasets.load("carcinoma"), seed=0)
        >>> list(r.posterior_frame(datasets.load("carcinoma")).columns)
        ['p_class_0', 'p_class_1', 'modal_class']
        """
        import pandas as pd

        post = self.posterior(data, columns)
        frame = pd.DataFrame(post, columns=[f"p_class_{u}" for u in range(post.shape[1])])
        frame["modal_class"] = np.argmax(post, axis=1)
        return frame

    @staticmethod
    def _mode_lines(d: dict) -> list[str]:
        """The local maxima near the best, one line each (nothing when the best is the only one)."""
        modes = d.get("modes") or []
        if len(modes) < 2:
            return []
        distance = "j_stat" in modes[0]  # minimum distance: minima of n Q, delta on the log-likelihood's scale
        lines = [f"{len(modes)} local {'minima' if distance else 'maxima'} within {modes[-1]['delta']:.3f} of the best "
                 f"{'-n Q / 2' if distance else 'log-likelihood'} (not told apart by the "
                 f"{'distance-metric' if distance else 'likelihood-ratio'} test):"]
        for m in modes:
            what = (f"ATE {m['ate']:.4f}   MTE " + "  ".join(f"{a['weight']:.3f} x {a['effect']:+.3f}"
                                                           for a in m["mte"])) if "ate" in m else \
                "weights " + "  ".join(f"{w:.3f}" for w in m["weights"])
            value = f"n Q {m['j_stat']:.4f}" if distance else f"log-likelihood {m['loglik']:.4f}"
            lines.append(f"  {value} (delta {m['delta']:.4f})   {what}")
        return lines

    def _mixture_lines(self, m: dict) -> list[str]:
        """Class weights and the class-conditional response tables, one block per variable."""
        k = len(m["weights"])
        se = lambda v: "" if v is None else f" ({v:.4f})"  # noqa: E731
        note = "" if m.get("identified") else (" [identification inconclusive: no standard errors]"
                                               if m.get("verdict") == "inconclusive"
                                               else " [not identifiable: no standard errors]")
        lines = [f"class weights{note}: " + "  ".join(f"{w:.4f}{se(s)}" for w, s in zip(m["weights"],
                                                                                      m["weights_se"]))]
        for name, table in m.get("tables", {}).items():  # minimum distance reports parameters, not tables
            arr = np.asarray(table, dtype=float)  # (k, *parents, C)
            ses = np.asarray([[np.nan if v is None else v for v in row]
                              for row in np.asarray(m["tables_se"][name], dtype=object).reshape(-1, arr.shape[-1])],
                             dtype=float).reshape(arr.shape)
            parents = arr.shape[1:-1]
            cats = m.get("categories", {}).get(name, list(range(arr.shape[-1])))
            lines.append(f"P({name} | {'parents, ' if parents else ''}class):  categories "
                         + ", ".join(map(str, cats)))
            for u in range(k):
                for pa in np.ndindex(*parents) if parents else [()]:
                    given = ", ".join(f"{p}={m.get('categories', {}).get(p, range(v + 1))[v]}"
                                      for p, v in zip(m.get("parents", {}).get(name, []), pa))
                    label = f"  class {u}" + (f" | {given}" if given else "")
                    cells = "  ".join(f"{v:.4f}" + ("" if np.isnan(s) else f" ({s:.4f})")
                                      for v, s in zip(arr[(u, *pa)], ses[(u, *pa)]))
                    lines.append(f"{label:<{max(16, len(label) + 2)}}{cells}")
        for name, law in (m.get("normal") or {}).items():  # normal variables: class means (per parent state)
            lines.append(f"{name} | {'parents, ' if len(law['means'][0]) > 1 else ''}class: normal, variance "
                         f"{'shared' if law['variance'] == 'shared' else 'per class'}")
            lines += [f"  class {u}  mean {'  '.join(f'{x:.4f}' for x in law['means'][u])}  variance "
                      f"{law['variances'][u]:.4f}" for u in range(k)]
        return lines

    def plot(self, ax=None, path=None):
        """A figure of what the design identifies; returns it (and saves it to ``path`` when given).

        With the MTE: class weights against class effects with intervals, the ATE and the naive difference as
        lines (the truth as crosses when known). With the ATE only: the ATE with its interval beside the naive
        difference in means (and the truth when known).
        """
        from matplotlib.figure import Figure

        d = self.to_dict()
        # an MTE the design does not identify (maximum likelihood still reports one) is not drawn as a result
        mte = d.get("mte") if self.estimate.extra.get("identified", {}).get("mte", True) else None
        if ax is None:  # a Figure of its own: no pyplot state, so any backend (Jupyter's inline included) is kept
            fig = Figure(figsize=(6, 4) if mte or "ate" not in d else (6.4, 2.6))
            ax = fig.subplots()
        else:
            fig = ax.figure
        if "ate" not in d:  # a latent class model: the class weights with their intervals
            _plot_weights(self, d, ax)
            if path is not None:
                fig.savefig(path, dpi=120, bbox_inches="tight")
            return fig
        if not mte:
            _plot_ate(self, d, ax)
            if path is not None:
                fig.savefig(path, dpi=120, bbox_inches="tight")
            return fig
        atoms = d.get("mte") or []
        for a in atoms:
            xerr = None
            if a.get("effect_ci"):
                xerr = [[a["effect"] - a["effect_ci"][0]], [a["effect_ci"][1] - a["effect"]]]
            yerr = None
            if a.get("weight_ci"):
                yerr = [[a["weight"] - a["weight_ci"][0]], [a["weight_ci"][1] - a["weight"]]]
            ax.errorbar(a["effect"], a["weight"], xerr=xerr, yerr=yerr, fmt="o", color="C0", capsize=3)
        if self.truth and self.truth.get("mte"):
            for i, a in enumerate(self.truth["mte"]):
                ax.plot(a["effect"], a["weight"], "x", color="C3", ms=10, mew=2, label="truth" if i == 0 else None)
        ax.axvline(d["ate"]["estimate"], color="C0", ls="--", lw=1, label=f"ATE ({self.estimator})")
        ax.axvline(d["naive_difference"], color="C1", ls=":", lw=1.5, label="naive difference")
        ax.set_xlabel("class effect  E[Y(1) - Y(0) | U = u]")
        ax.set_ylabel("class weight  P(U = u)")
        ax.set_title(f"mixture of treatment effects ({self.estimator}, n = {self.n:,})")
        ax.legend(loc="best", fontsize=8)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
        return fig


def covariate_lines(c: dict) -> list[str]:
    """The coefficients of a latent class regression, one row per class and term, with odds ratios.

    Examples
    --------
    >>> row = {"class": 1, "term": "age", "estimate": 0.05, "se": 0.01, "odds_ratio": 1.0513,
    ...        "odds_ratio_ci": [1.03, 1.07], "p_value": 1e-6}
    >>> covariate_lines({"level": 0.95, "reference_class": 0, "names": ["age"], "coefficients": [row],
    ...                  "identification": "...", "averaged_over": "..."})[2].split()[:3]
    ['1', 'age', '0.0500']
    """
    level = f"{round(100 * c['level'])}%"
    lines = [f"covariates of class membership: multinomial logit, class {c['reference_class']} the reference "
             f"({', '.join(c['names'])})",
             f"  {'class':<7}{'term':<16}{'coef':>10}{'se':>9}{'odds ratio':>12}  {level + ' interval':<22}{'p':>8}"]
    for r in c["coefficients"]:
        ci = r["odds_ratio_ci"]
        lines.append(f"  {r['class']:<7}{r['term'][:15]:<16}{r['estimate']:>10.4f}"
                     f"{'' if r['se'] is None else format(r['se'], '.4f'):>9}{r['odds_ratio']:>12.4f}  "
                     f"{'' if ci is None else f'[{ci[0]:.4f}, {ci[1]:.4f}]':<22}"
                     f"{'' if r['p_value'] is None else format(r['p_value'], '.3g'):>8}")
    lr = c.get("likelihood_ratio")
    if lr:
        lines.append(f"  likelihood-ratio test of no covariate effect: {lr['statistic']:.4f} on {lr['df']} df, p = "
                     f"{lr['p_value']:.3g} (log-likelihood without covariates {lr['loglik_without_covariates']:.4f})")
    lines.append(f"  identification {c['identification']}")
    lines.append(f"  {c['averaged_over']}")
    return lines


def identified_set_lines(s: dict) -> list[str]:
    """The identified set beside the estimate: one row per target (classes sorted by effect)."""
    def span(r: dict) -> str:
        if r["high"] - r["low"] <= 1e-9 * (1 + abs(r["low"])):
            return f"{r['low']:.4f}"
        ends = [side for side in ("low", "high") if r.get(f"{side}_on_boundary")]
        return f"[{r['low']:.4f}, {r['high']:.4f}]" + (f" ({' and '.join(ends)} on the boundary)" if ends else "")

    lines = [f"identified set at the estimate ({s['kind']}, {s['evidence']}): {s['statement']}"]
    ate = ", ".join(f"{v:.4f}" for v in s["ate"]["values"]) if s["kind"] == "points" else span(s["ate"])
    rows = [("ATE", ate, "ate")]
    for j, (w, e) in enumerate(zip(s["mte"]["weights"], s["mte"]["effects"])):
        rows += [(f"class {j} weight", span(w), ("weights", j)), (f"class {j} effect", span(e), ("effects", j))]
    boot = s.get("bootstrap")
    if not boot or not boot["sets"]:
        lines += [f"  {name:<20}{value}" for name, value, _ in rows]
    else:  # beside each target: the union of the replicates' sets, or the bounds' outer percentile interval
        head = ("union over replicates" if boot["kind"] == "points" else
                f"bootstrap {round(100 * boot['level'])}% outer interval")
        width = max(len("at the estimate"), *(len(value) for _, value, _ in rows)) + 2
        lines.append(f"  {'':<20}{'at the estimate':<{width}}{head}")
        for name, value, key in rows:
            r = boot["ate"] if key == "ate" else boot["mte"][key[0]][key[1]]
            lines.append(f"  {name:<20}{value:<{width}}[{r['low']:.4f}, {r['high']:.4f}]")
    if boot:
        failed = "; ".join(f"{c} {why}" for why, c in boot["failed"].items())
        counts = ", ".join(f"{c} with {m}" for m, c in boot.get("valid_models", {}).items())
        lines.append(f"  bootstrap: the set at {boot['sets']} of {boot['replicates']} replicates in "
                     f"{boot['seconds']:.1f} s" + (f" ({counts} valid model(s))" if counts else "")
                     + (f"; failed: {failed}" if failed else "")
                     + (f"; {boot['incomplete']} may miss points" if boot["incomplete"] else ""))
    return lines


def _plot_ate(result: Result, d: dict, ax) -> None:
    """The ATE with its interval beside the naive difference in means (and the truth when known)."""
    from matplotlib.ticker import MaxNLocator

    ate, ci, naive = d["ate"]["estimate"], d["ate"]["ci"], d["naive_difference"]
    truth = (result.truth or {}).get("ate")
    rows = [(1, ate, ci, "C0", f"ATE ({result.estimator})"), (0, naive, None, "C1", "naive E[Y|T=1] - E[Y|T=0]")]
    for y, value, interval, colour, _ in rows:
        xerr = None if not interval else [[value - interval[0]], [interval[1] - value]]
        ax.errorbar(value, y, xerr=xerr, fmt="o", color=colour, capsize=4, ms=7)
    # the numbers go in the tick labels, where no line or marker can cover them
    labels = [f"{label}\n{value:.3f}" + (f" [{iv[0]:.3f}, {iv[1]:.3f}]" if iv else "")
              for _, value, iv, _, label in rows]
    if truth is not None:
        ax.axvline(truth, color="C3", lw=1.5, label=f"truth {truth:.3f}")
        ax.legend(loc="lower right", fontsize=8)
    ax.axvline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_yticks([y for y, *_ in rows], labels, fontsize=9)
    ax.set_ylim(-0.6, 1.7)
    xs = [ate, naive] + (list(ci) if ci else []) + ([truth] if truth is not None else [])
    pad = 0.2 * max(max(xs) - min(xs), 0.05)  # at least +-0.01: nearly equal values stay readable
    ax.set_xlim(min(xs) - pad, max(xs) + pad)
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.set_xlabel("effect of the treatment on the outcome")
    level = f"{round(100 * result.ci_level)}% bootstrap interval" if ci else "no bootstrap interval"
    ax.set_title(f"average treatment effect ({result.estimator}, n = {result.n:,}; {level})", fontsize=10)


def _plot_weights(result: Result, d: dict, ax) -> None:
    """Class weights of a latent class model, with their intervals when there are any."""
    m = d["mixture"]
    weights = np.asarray(m["weights"], float)
    cis = m.get("weights_ci") or [None] * len(weights)
    if not any(cis) and result.interval_kind in ("profile", "wald"):
        cis = [c for c in result._ci()[3:3 + len(weights)]]
    err = np.array([[w - c[0], c[1] - w] if c else [0.0, 0.0] for w, c in zip(weights, cis)]).T
    ax.bar(range(len(weights)), weights, yerr=err, capsize=4, color="C0")
    ax.set_xticks(range(len(weights)), [f"class {u}" for u in range(len(weights))])
    ax.set_ylabel("class weight  P(U = u)")
    ax.set_ylim(0, 1)
    ax.set_title(f"latent class weights ({result.estimator}, n = {result.n:,})")


def strict_json(out: dict[str, Any]) -> dict[str, Any]:
    """``out`` with every NaN or infinity replaced by ``None`` and a warning naming where, so that
    ``json.dumps(out, allow_nan=False)`` holds (strict JSON never carries NaN or Infinity).

    Examples
    --------
    >>> out = strict_json({"ate": {"estimate": float("nan")}, "warnings": []})
    >>> out["ate"], out["warnings"][0][-37:]
    ({'estimate': None}, 'and is reported as null: ate.estimate')
    """
    where: list[str] = []

    def clean(obj, path):
        if isinstance(obj, dict):
            return {str(k): clean(v, f"{path}.{k}" if path else str(k)) for k, v in obj.items()}
        if isinstance(obj, (list, tuple, np.ndarray)):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, (bool, np.bool_)):
            return bool(obj)
        if isinstance(obj, (np.integer,)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            if not np.isfinite(obj):
                where.append(path)
                return None
            return float(obj)
        return obj

    out = clean(out, "")
    if where:
        shown = ", ".join(where[:5]) + (f" and {len(where) - 5} more" if len(where) > 5 else "")
        out.setdefault("warnings", []).append(
            f"{len(where)} number{'s were' if len(where) > 1 else ' was'} not finite (NaN or infinity) and "
            f"{'are' if len(where) > 1 else 'is'} reported as null: {shown}")
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj)  # a NaN or infinity stays, for strict_json to report
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj
