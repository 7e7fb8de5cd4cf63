"""Validate estimators against symbolic ground truth: exact-moment recovery, then a finite-sample study.

(a) Every estimator the design's placement certifies (and any extra one given) runs on the exact population
moments of a parameter point; a correct estimator is at machine precision, and a larger error fails loudly.
(b) Error against n over seeded runs for each estimator and the naive difference in means, with the median,
the spread and the fitted log-log slope (about -1/2 for a root-n consistent estimator).
(c) A markdown table, a CSV and a PNG figure in an output folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from mixid.identify import Design, place
from mixid.identify.errors import DesignError, MixidError

from .data import check_estimable, sufficient_stats
from .evaluate import Moments
from .fit import compile_estimator
from .progress import Progress
from .result import Estimate
from .simulate import as_generator, population_moments, random_params, simulate, truth
from .spo import naive_difference

EXACT_TOL = {"ate": 1e-9, "mte": 1e-7}


class ValidationError(MixidError):
    """An estimator failed its exact-moment check."""


@dataclass
class Validation:
    """What :func:`validate` measured."""

    design: str
    exact: list[dict]
    study: list[dict]
    slopes: dict[str, float]
    files: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r["passed"] for r in self.exact)

    def to_dict(self) -> dict:
        return {"design": self.design, "passed": self.passed, "exact": self.exact, "study": self.study,
                "slopes": self.slopes, "files": self.files}

    def markdown(self) -> str:
        lines = [f"# validate {self.design}", "", "## exact population moments", "",
                 "| estimator | ATE error | MTE error | passed |", "|---|---|---|---|"]
        for r in self.exact:
            mte = "" if r["mte_error"] is None else f"{r['mte_error']:.1e}"
            lines.append(f"| {r['estimator']} | {r['ate_error']:.1e} | {mte} | {'yes' if r['passed'] else 'NO'} |")
        lines += ["", "## finite samples (ATE absolute error)", "",
                  "| estimator | n | runs | median | q25 | q75 | MTE median |", "|---|---|---|---|---|---|---|"]
        for r in self.study:
            mte = "" if r["mte_median"] is None else f"{r['mte_median']:.4f}"
            lines.append(f"| {r['estimator']} | {r['n']} | {r['runs']} | {r['median']:.4f} | {r['q25']:.4f} | "
                         f"{r['q75']:.4f} | {mte} |")
        lines += ["", "log-log slope of the median ATE error against n (root-n consistent: about -0.5): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in self.slopes.items())]
        return "\n".join(lines) + "\n"


def _mte_error(est: Estimate, t) -> float | None:
    if est.weights is None:
        return None
    order = np.argsort(t.effects)
    if len(est.effects) != len(order):
        return float("inf")
    return float(max(np.abs(est.effects - t.effects[order]).max(), np.abs(est.weights - t.weights[order]).max()))


def validate(design: Design | str, params: Mapping[str, float] | None = None,
             ns: Sequence[int] = (1_000, 10_000, 100_000, 1_000_000), runs: int = 20, seed: int | None = 0,
             out: str | Path | None = None, extra: Mapping[str, Callable[[Moments], Estimate]] | None = None,
             progress: Progress | None = None, raise_on_failure: bool = True) -> Validation:
    """Exact-moment recovery and a finite-sample study of every applicable estimator.

    Parameters
    ----------
    design : Design or str
    params : mapping, optional
        The parameter point; random (seeded, effects at least 0.1 apart) when omitted.
    ns : sequence of int
        Sample sizes of the study.
    runs : int
        Seeded runs per sample size.
    out : path, optional
        Folder for ``validate.md``, ``validate.csv`` and ``validate.png``.
    extra : mapping, optional
        More estimators to check, name -> function of :class:`~mixid.estimate.evaluate.Moments`.
    progress : callable, optional
        ``progress("validate", done, total)`` after each simulated data set (see :mod:`mixid.estimate.progress`).
    raise_on_failure : bool
        Raise :class:`ValidationError` when an estimator misses its exact-moment tolerance.

    Examples
    --------
    >>> v = validate("paper-level4", ns=(1000, 10000), runs=3)
    >>> v.passed, [r["estimator"] for r in v.exact]
    (True, ['proximal'])
    """
    design = Design.load(design)
    check_estimable(design, "validate")
    if not design.causal:
        raise DesignError(f"validate compares estimates of the ATE with the truth, and design '{design.name}' has no "
                          "treatment and outcome (a plain latent class model): use simulate and fit instead")
    if runs < 1 or not ns or any(int(n) < 10 for n in ns):
        raise MixidError("validate needs runs >= 1 and sample sizes of at least 10 rows")
    rng = as_generator(seed)
    if params is None:
        params = random_params(design, seed=rng, min_effect_gap=0.1 if design.classes > 1 else 0.0)
    t = truth(design, params)
    p = place(design)
    estimators: dict[str, Callable[[Moments], Estimate]] = {}
    for name in ("adjustment", "spo", "proximal", "cp"):
        try:
            estimators[name] = compile_estimator(p, name, seed=rng)[1]
        except MixidError:
            continue
    estimators.update(extra or {})
    if not estimators:
        raise MixidError(f"no estimator applies to design '{design.name}'")
    exact_mo = Moments(design, population_moments(design, params))
    exact = []
    for name, run in estimators.items():
        est = run(exact_mo)
        ate_err, mte_err = abs(est.ate - t.ate), _mte_error(est, t)
        ok = ate_err < EXACT_TOL["ate"] and (mte_err is None or mte_err < EXACT_TOL["mte"])
        exact.append({"estimator": name, "ate_error": float(ate_err), "mte_error": mte_err, "passed": bool(ok)})
    study, medians = [], {}
    names = list(estimators) + ["naive"]
    total, done = len(ns) * runs, 0
    if progress is not None:
        progress("validate", 0, total)
    for n in ns:
        errs = {name: [] for name in names}
        mtes = {name: [] for name in names}
        for _ in range(runs):
            data, _ = simulate(design, int(n), params=params, seed=rng)
            mo = Moments(design, sufficient_stats(design, data).tensor)
            for name, run in estimators.items():
                try:
                    est = run(mo)
                except (np.linalg.LinAlgError, ValueError):
                    errs[name].append(np.nan)
                    continue
                errs[name].append(abs(est.ate - t.ate))
                m = _mte_error(est, t)
                if m is not None:
                    mtes[name].append(m)
            errs["naive"].append(abs(naive_difference(mo) - t.ate))
            done += 1
            if progress is not None:
                progress("validate", done, total)
        for name in names:
            e = np.asarray(errs[name], dtype=float)
            q25, med, q75 = np.nanpercentile(e, [25, 50, 75])
            study.append({"estimator": name, "n": int(n), "runs": runs, "median": float(med), "q25": float(q25),
                          "q75": float(q75), "mte_median": float(np.median(mtes[name])) if mtes[name] else None})
            medians.setdefault(name, []).append(med)
    slopes = {}
    if len(ns) > 1:
        for name, meds in medians.items():
            slopes[name] = float(np.polyfit(np.log(np.asarray(ns, dtype=float)), np.log(np.maximum(meds, 1e-300)),
                                            1)[0])
    result = Validation(design.name, exact, study, slopes)
    if out is not None:
        result.files = _write(result, Path(out))
    failed = [r for r in exact if not r["passed"]]
    if failed and raise_on_failure:
        r = failed[0]
        raise ValidationError(f"estimator '{r['estimator']}' fails on exact population moments of design "
                              f"'{design.name}': ATE error {r['ate_error']:.3g}"
                              + (f", MTE error {r['mte_error']:.3g}" if r["mte_error"] is not None else "")
                              + f" (tolerance {EXACT_TOL['ate']:g} / {EXACT_TOL['mte']:g})")
    return result


def _write(v: Validation, folder: Path) -> list[str]:
    import csv

    from matplotlib.figure import Figure

    folder.mkdir(parents=True, exist_ok=True)
    md, csv_path, png = folder / "validate.md", folder / "validate.csv", folder / "validate.png"
    md.write_text(v.markdown())
    with csv_path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(v.study[0]))
        w.writeheader()
        w.writerows(v.study)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name in dict.fromkeys(r["estimator"] for r in v.study):
        rows = [r for r in v.study if r["estimator"] == name]
        ns = [r["n"] for r in rows]
        ax.plot(ns, [r["median"] for r in rows], "o-", label=name)
        ax.fill_between(ns, [r["q25"] for r in rows], [r["q75"] for r in rows], alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("|ATE error| (median, IQR)")
    ax.set_title(f"validate {v.design}")
    ax.legend(fontsize=8)
    fig.savefig(png, dpi=120, bbox_inches="tight")
    return [str(md), str(csv_path), str(png)]
