"""Estimates and results: point estimates, bootstrap intervals, diagnostics, warnings, JSON, text and plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Estimate:
    """One point estimate: the ATE, E[Y(t)], and (when the estimator gives it) the MTE sorted by effect."""

    ate: float
    potential_outcome_means: dict[int, float]
    weights: np.ndarray | None = None
    effects: np.ndarray | None = None
    diagnostics: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def vector(self) -> np.ndarray:
        """The estimate as one vector (ate, E[Y(0)], E[Y(1)], weights..., effects...) for bootstrapping."""
        parts = [self.ate, self.potential_outcome_means[0], self.potential_outcome_means[1]]
        if self.weights is not None:
            parts += list(self.weights) + list(self.effects)
        return np.array(parts, dtype=float)


def _interval(samples: np.ndarray, level: float) -> list[list[float]]:
    lo, hi = np.nanpercentile(samples, [50 * (1 - level), 50 * (1 + level)], axis=0)
    return [[float(a), float(b)] for a, b in zip(lo, hi)]


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

    def _ci(self) -> list[list[float]] | None:
        if self.bootstrap is None or not len(self.bootstrap):
            return None
        return _interval(self.bootstrap, self.ci_level)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``mixid estimate --json`` (docs/json.md)."""
        ci = self._ci()
        e = self.estimate
        out: dict[str, Any] = {
            "level": self.level,
            "estimator": self.estimator,
            "n": int(self.n),
            "ate": {"estimate": float(e.ate), "ci": ci[0] if ci else None},
            "potential_outcome_means": {str(t): float(e.potential_outcome_means[t]) for t in (0, 1)},
            "naive_difference": float(self.naive),
        }
        if ci:
            out["potential_outcome_means_ci"] = {"0": ci[1], "1": ci[2]}
        if e.weights is not None:
            k = len(e.weights)
            out["mte"] = [{"weight": float(e.weights[u]), "effect": float(e.effects[u]),
                           **({"weight_ci": ci[3 + u], "effect_ci": ci[3 + k + u]} if ci else {})}
                          for u in range(k)]
        out["diagnostics"] = _jsonable(e.diagnostics)
        out["warnings"] = list(e.warnings) + list(self.warnings)
        if self.bootstrap is not None:
            out["bootstrap"] = {"replicates": int(len(self.bootstrap)), "level": self.ci_level}
        if self.truth is not None:
            out["truth"] = {k: v for k, v in self.truth.items() if k in ("ate", "potential_outcome_means", "mte")}
        return out

    def summary(self) -> str:
        """A readable table of estimates, intervals, the naive answer and the truth when known."""
        d = self.to_dict()
        fmt = lambda ci: f"[{ci[0]: .4f}, {ci[1]: .4f}]" if ci else ""  # noqa: E731
        truth = self.truth or {}
        lines = [f"estimator {self.estimator} (level {self.level}), n = {self.n}",
                 f"{'quantity':<22}{'estimate':>10}  {'95% interval':<22}{'truth':>9}"]
        t_ate = truth.get("ate")
        lines.append(f"{'ATE':<22}{d['ate']['estimate']:>10.4f}  {fmt(d['ate']['ci']):<22}"
                     f"{'' if t_ate is None else f'{t_ate:9.4f}'}")
        lines.append(f"{'naive E[Y|T=1]-E[Y|T=0]':<22}{d['naive_difference']:>10.4f}")
        for t in ("0", "1"):
            ci = d.get("potential_outcome_means_ci", {}).get(t)
            tv = truth.get("potential_outcome_means", {}).get(t)
            lines.append(f"{f'E[Y({t})]':<22}{d['potential_outcome_means'][t]:>10.4f}  {fmt(ci):<22}"
                         f"{'' if tv is None else f'{tv:9.4f}'}")
        for u, atom in enumerate(d.get("mte", [])):
            tm = truth.get("mte", [])
            tw = tm[u]["weight"] if u < len(tm) else None
            te = tm[u]["effect"] if u < len(tm) else None
            lines.append(f"{f'class {u} weight':<22}{atom['weight']:>10.4f}  {fmt(atom.get('weight_ci')):<22}"
                         f"{'' if tw is None else f'{tw:9.4f}'}")
            lines.append(f"{f'class {u} effect':<22}{atom['effect']:>10.4f}  {fmt(atom.get('effect_ci')):<22}"
                         f"{'' if te is None else f'{te:9.4f}'}")
        for w in d["warnings"]:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def plot(self, ax=None, path=None):
        """A figure of what the design identifies; returns it (and saves it to ``path`` when given).

        With the MTE: class weights against class effects with intervals, the ATE and the naive difference as
        lines (the truth as crosses when known). With the ATE only: the ATE with its interval beside the naive
        difference in means (and the truth when known).
        """
        from matplotlib.figure import Figure

        d = self.to_dict()
        if ax is None:  # a Figure of its own: no pyplot state, so any backend (Jupyter's inline included) is kept
            fig = Figure(figsize=(6, 4) if d.get("mte") else (6.4, 2.6))
            ax = fig.subplots()
        else:
            fig = ax.figure
        if not d.get("mte"):
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


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj
