"""Choosing the number of classes k: one maximum-likelihood fit per k, information criteria, entropy, and a
parametric bootstrap likelihood-ratio test (BLRT) of k - 1 against k classes, each k placed first.

Information criteria (smaller is better), with L the maximised log-likelihood, d the free parameters and n the
rows: AIC = -2L + 2d, BIC = -2L + d ln n, SABIC = -2L + d ln((n + 2) / 24) (Sclove's sample-size adjusted BIC),
CAIC = -2L + d (ln n + 1). Entropy R^2 = 1 - sum_rows sum_u -p ln p / (n ln k) says how sharply the rows are
classified (1: every row in one class with certainty).

The BLRT (McLachlan 1987; Nylund, Asparouhov and Muthen 2007): the likelihood ratio LR = 2 (L_k - L_{k-1}) has
no chi-square law (the k - 1 model is on the boundary of the k one), so its law under the k - 1 model is
simulated: draw data sets of n rows from the fitted k - 1 model, fit both models to each, and count the
replicates whose LR reaches the observed one (p = (1 + count) / (1 + replicates)). Each replicate is
warm-started: the k - 1 model from the generating point, the k model from the observed k-class estimate, from
the replicate's k - 1 fit with its largest class split in two, and from a few random starts, all climbed
together by accelerated EM. Replicates are spread over processes (``workers``); each has its own seed from
the run's seed, so the p-values do not depend on the number of workers.

A k whose full mixture the placement does not identify is flagged (``identified: false``) and never
recommended: its parameters, and hence the classes it reports, are not determined by the data. ``recommended``
is the k with the smallest BIC among the identified ones.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mixid.identify import Design, Model
from mixid.identify.design import shown
from mixid.identify.errors import DataError, DesignError, IdentificationError

from .data import MAX_CLASSES, MAX_DENSE_CELLS, Patterns, SufficientStats, check_estimable, sufficient_stats
from .likelihood.model import _Compiled, likelihood
from .likelihood.optimise import REPLICATIONS
from .progress import Progress
from .result import strict_json

#: Bounds of a selection: how many values of k, and BLRT replicates per k.
MAX_K_VALUES = 20
MAX_BLRT = 10_000
#: Random starts of the k-class model in each BLRT replicate, besides the two warm starts.
BLRT_RANDOM_STARTS = 4
#: EM in a BLRT replicate stops when a cycle raises the log-likelihood by less than this: the LR needs no more.
BLRT_TOL = 1e-7
#: Accelerated EM cycles of all the starts of a replicate's k-class fit before the best is finished alone.
BLRT_SHORT_CYCLES = 15
#: Rows of the JSON contract, in order (``docs/json.md``).
ROW_KEYS = ("classes", "identified", "verdict", "scope", "level", "loglik", "n_parameters", "aic", "bic", "sabic",
            "caic", "entropy_r2", "smallest_share", "blrt_p", "replicated")


def parse_classes(text: str) -> list[int]:
    """The ``--classes`` syntax: ``1-6``, ``2,3,5`` or ``4`` (and mixtures like ``1-3,5``), as sorted distinct k.

    Examples
    --------
    >>> parse_classes("1-4"), parse_classes("2,5,3"), parse_classes("3")
    ([1, 2, 3, 4], [2, 3, 5], [3])
    >>> parse_classes("7-3")
    Traceback (most recent call last):
    ...
    mixid.identify.errors.DataError: --classes '7-3': the range 7-3 runs backwards (write 3-7)
    """
    out: set[int] = set()
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(\d{1,6})\s*(?:-\s*(\d{1,6})\s*)?", part)
        if not m:
            raise DataError(f"--classes {shown(text)}: write a range like 1-6 or a list like 2,3,5")
        low = int(m.group(1))
        high = int(m.group(2)) if m.group(2) is not None else low
        if high < low:
            raise DataError(f"--classes {shown(text)}: the range {low}-{high} runs backwards (write {high}-{low})")
        out.update(range(low, high + 1) if high - low < MAX_K_VALUES else range(low, low + MAX_K_VALUES + 1))
    return check_classes(sorted(out), f"--classes {shown(text)}")


def check_classes(classes: Iterable, where: str = "classes") -> list[int]:
    """Sorted distinct numbers of classes, each from 1 to :data:`MAX_CLASSES`, at most :data:`MAX_K_VALUES`."""
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Iterable):
        raise DataError(f"{where} must be a range or a list of numbers of classes, got {shown(classes)}")
    values = list(classes)
    for k in values:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_CLASSES:
            raise DataError(f"{where}: every number of classes must be an integer from 1 to {MAX_CLASSES}, got "
                            f"{shown(k)}")
    values = sorted({int(k) for k in values})
    if not values:
        raise DataError(f"{where} is empty: give at least one number of classes")
    if len(values) > MAX_K_VALUES:
        raise DataError(f"{where} asks for {len(values)} values of k (at most {MAX_K_VALUES})")
    return values


@dataclass
class Selection:
    """What :func:`select` returns: one row per k, the recommended k, and the fits.

    ``rows`` follow the JSON contract (``to_dict()``); ``fits`` maps each fitted k (including a k - 1 fitted only
    for a BLRT) to its :class:`mixid.estimate.result.Result`, with Wald intervals: the comparison needs only the
    maxima, so no profile-likelihood search is run; fit the chosen k with :func:`mixid.fit` for profile intervals.
    """

    rows: list[dict]
    recommended: int | None
    n: int
    blrt: int
    fits: dict[int, Any] = field(repr=False, default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    weights: dict | None = None  # sampling weights: column, sum, Kish effective n, zero rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``mixid select --json`` (docs/json.md)."""
        return strict_json({"rows": [dict(r) for r in self.rows], "recommended": self.recommended,
                            "criterion": "bic", "n": int(self.n), "blrt_replicates": int(self.blrt),
                            **({"weights": self.weights} if self.weights is not None else {}),
                            "warnings": list(self.warnings)})

    def summary(self) -> str:
        """A table of the criteria per k; the recommended k and the non-identified ones are marked."""
        num = lambda x, f: "-" if x is None else format(x, f)  # noqa: E731
        head = (f"{'k':>3}  {'identified':<22}{'loglik':>11}{'par':>5}{'AIC':>10}{'BIC':>10}{'SABIC':>10}"
                f"{'CAIC':>10}{'entropy':>8}{'smallest':>9}{'BLRT p':>8}  replicated")
        lines = [f"choosing k on n = {self.n:,} rows (BLRT: {self.blrt} replicates per k)", head]
        for r in self.rows:
            ident = (f"yes ({r['scope']})" if r["identified"] else f"NO ({r['verdict'].replace('_', ' ')})")
            mark = "  <- recommended (best BIC among identified k)" if r["classes"] == self.recommended else ""
            lines.append(f"{r['classes']:>3}  {ident:<22}{r['loglik']:>11.4f}{r['n_parameters']:>5}{r['aic']:>10.2f}"
                         f"{r['bic']:>10.2f}{r['sabic']:>10.2f}{r['caic']:>10.2f}{num(r['entropy_r2'], '.3f'):>8}"
                         f"{r['smallest_share']:>9.3f}{num(r['blrt_p'], '.3f'):>8}  "
                         f"{'yes' if r['replicated'] else 'NO'}{mark}")
        if self.recommended is None:
            lines.append("no k is recommended: none of them has an identified mixture")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def plot(self, ax=None, path=None):
        """The information criteria against k (hollow markers: k not identified; a star: the recommended k)."""
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(6, 4))
            ax = fig.subplots()
        else:
            fig = ax.figure
        ks = [r["classes"] for r in self.rows]
        ok = np.array([r["identified"] for r in self.rows])
        for i, key in enumerate(("aic", "bic", "sabic", "caic")):
            values = np.array([r[key] for r in self.rows], float)
            colour = f"C{i}"
            ax.plot(ks, values, "-", color=colour, lw=1, label=key.upper())
            ax.plot(np.array(ks)[ok], values[ok], "o", color=colour)
            ax.plot(np.array(ks)[~ok], values[~ok], "o", mfc="none", color=colour)
        if self.recommended is not None:
            bic = next(r["bic"] for r in self.rows if r["classes"] == self.recommended)
            ax.plot([self.recommended], [bic], "*", ms=16, color="C1", label=f"recommended k = {self.recommended}")
        if not ok.all():
            ax.plot([], [], "o", mfc="none", color="0.4", label="not identified")
        ax.set_xticks(ks)
        ax.set_xlabel("number of classes k")
        ax.set_ylabel("criterion (smaller is better)")
        ax.set_title(f"choosing k (n = {self.n:,})")
        ax.legend(fontsize=8)
        if path is not None:
            fig.savefig(path, dpi=120, bbox_inches="tight")
        return fig


def with_classes(design: Design, k: int) -> Design:
    """The same design with k latent classes."""
    return dataclasses.replace(design, classes=int(k))


def select(design: Design | str, data: Any, classes: Iterable[int] = range(1, 7), *, blrt: int = 100,
           seed: int | np.random.Generator | None = 0, starts: int = 10, max_starts: int | None = None,
           columns: Mapping[str, str] | None = None, workers: int | None = None,
           progress: Progress | None = None, missing: str = "fiml", weights: str | None = None) -> Selection:
    """Fit the design with each number of classes in ``classes`` and compare them.

    Parameters
    ----------
    design : Design or str
        An all-categorical design (its own ``latent.classes`` is replaced by each k).
    data : DataFrame, mapping, path or dask DataFrame
        As for :func:`mixid.fit`; read once.
    classes : iterable of int
        The numbers of classes to compare (1 to 100, at most 20 values).
    blrt : int
        Bootstrap replicates of the likelihood-ratio test of k - 1 against k classes, per k > 1 (0: no test).
    seed : int or numpy.random.Generator
        Seeds the starts of every fit and the replicates.
    starts, max_starts : int
        Random starts of each fit per batch, and their cap (as in :func:`mixid.fit`).
    columns : mapping, optional
        Design variable -> data column.
    workers : int, optional
        Processes for the BLRT replicates (default: the machine's cores, at most 8; 1 runs them here).
    progress : callable, optional
        ``progress(task, done, total)``.
    missing : {"fiml", "drop"}
        Missing answers, as for :func:`mixid.fit` (the BLRT replicates are drawn complete: the test is of the
        number of classes, not of the missingness).
    weights : str, optional
        The data column of sampling weights, as for :func:`mixid.fit`: each k is fitted by pseudo-maximum
        likelihood, the criteria use the weighted log-likelihood with the number of rows as n, and the BLRT is
        not run (``blrt_p`` null, with a warning): a bootstrap of the unweighted model is not the sampling design.

    Returns
    -------
    Selection

    Examples
    --------
    >>> from mixid import Design, datasets
    >>> s = select(Design.latent_class(list("ABCDEFG")), datasets.load("carcinoma"), classes=range(1, 4),
    ...            blrt=19, workers=1)
    >>> [r["classes"] for r in s.rows], s.recommended
    ([1, 2, 3], 3)
    """
    from .fit import _cached_place, fit

    design = Design.load(design)
    ks = check_classes(classes)
    if not all(v.categorical for v in design.variables):
        raise IdentificationError("select compares maximum-likelihood fits, which need every variable categorical")
    if design.covariates:
        raise DesignError(f"select: design '{design.name}' has covariates ({', '.join(design.covariates)}); choose the "
                          "number of classes on the design without them, then fit that k with its covariates")
    if design.latent_observed:
        raise IdentificationError(f"select: the class {design.latent} is observed in design '{design.name}'; there "
                                  "is no number of classes to choose")
    if isinstance(blrt, bool) or not isinstance(blrt, (int, np.integer)) or not 0 <= blrt <= MAX_BLRT:
        raise DataError(f"blrt must be an integer from 0 to {MAX_BLRT:,}, got {shown(blrt)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or not 1 <= workers <= 64):
        raise DataError(f"workers must be an integer from 1 to 64, got {shown(workers)}")
    if (weights is not None or (isinstance(data, SufficientStats) and data.weights is not None)) and blrt:
        blrt = 0
        warnings_weights = ["sampling weights: the bootstrap likelihood-ratio test is not valid for a "
                            "pseudo-likelihood and was not run (blrt_p null); compare k by the criteria"]
    else:
        warnings_weights = []
    needed = sorted(set(ks) | ({k - 1 for k in ks if k > 1} if blrt else set()))
    for k in needed:
        check_estimable(with_classes(design, k), "select")
    root = np.random.SeedSequence(_entropy(seed))
    fit_seeds = dict(zip(needed, root.spawn(len(needed))))
    stats = sufficient_stats(design, data, columns=columns, missing=missing, weights=weights)
    n = stats.n
    fits, placements, warnings = {}, {}, list(stats.notes) + warnings_weights
    for i, k in enumerate(needed):
        dk = with_classes(design, k)
        placements[k] = _cached_place(dk)
        fits[k] = fit(dk, dataclasses.replace(stats, design=dk), estimator="mle", seed=np.random.default_rng(
            fit_seeds[k]), starts=starts, max_starts=max_starts, placement=placements[k],
                      interval="wald")  # the criteria and the BLRT need the maxima only, not profile intervals
        if progress is not None:
            progress("fits", i + 1, len(needed))
    if blrt and stats.complete is not None and stats.complete < n and missing == "fiml":
        warnings.append("the BLRT replicates are drawn without missing answers, while the observed fits sum over "
                        f"them ({n - stats.complete:,} incomplete rows): read the p-values as approximate")
    rows = []
    for k in ks:
        mle = fits[k].estimate.extra["mle"]
        v = placements[k].targets["full_mixture"]
        ll, d = float(mle.loglik), int(mle.likelihood.model.n_params)
        ic = ll * n / mle.n if mle.weighted else ll  # weights rescaled to sum to the rows (see MLEFit.statistics)
        weights = mle.likelihood.from_point(mle.point)[0]
        row = {"classes": k, "identified": bool(v.identifiable), "verdict": v.verdict, "scope": v.scope,
               "level": placements[k].level, "loglik": ll, "n_parameters": d, "aic": -2 * ic + 2 * d,
               "bic": -2 * ic + d * math.log(n), "sabic": -2 * ic + d * math.log((n + 2) / 24),
               "caic": -2 * ic + d * (math.log(n) + 1), "entropy_r2": entropy_r2(mle),
               "smallest_share": float(weights.min()), "blrt_p": None, "replicated": bool(mle.replicated)}
        if blrt and k > 1:
            lr, sims = bootstrap_lr(fits[k - 1].estimate.extra["mle"], mle, blrt, fit_seeds[k].spawn(1)[0],
                                    workers=workers, progress=progress)
            row["blrt_p"] = float((1 + np.sum(sims >= lr - 1e-9 * max(abs(lr), 1.0))) / (1 + len(sims)))
            row["blrt_lr"] = lr
        if not row["identified"]:
            warnings.append(f"k = {k}: the full mixture is {v.label} ({v.reason}); this k is never recommended")
        if not row["replicated"]:
            warnings.append(f"k = {k}: the best log-likelihood was not reached by {REPLICATIONS} starts "
                            "(not replicated): another seed may find a higher maximum; raise max_starts")
        rows.append(row)
    return Selection(rows, recommend(rows), n, int(blrt), fits, list(dict.fromkeys(warnings)), stats.weights)


def recommend(rows: list[dict]) -> int | None:
    """The k with the smallest BIC among the rows whose mixture is identified (None when none is); a k that is
    not identified is never recommended, whatever its BIC.

    Examples
    --------
    >>> recommend([{"classes": 2, "identified": True, "bic": 10.0}, {"classes": 3, "identified": False, "bic": 5.0}])
    2
    """
    identified = [r for r in rows if r["identified"]]
    return min(identified, key=lambda r: (r["bic"], r["classes"]))["classes"] if identified else None


def _entropy(seed) -> int | None:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise DataError(f"seed must be a non-negative integer, got {shown(seed)}")
    return None if seed is None else int(seed)


def entropy_r2(mle) -> float | None:
    """1 - (classification entropy) / (n ln k) of a fit (None for one class: nothing to classify).

    Examples
    --------
    >>> from mixid import Design, datasets, fit
    >>> r = fit(Design.latent_class(list("ABCDEFG"), classes=2), datasets.load("carcinoma"), seed=0)
    >>> round(entropy_r2(r.estimate.extra["mle"]), 3)
    0.986
    """
    lik = mle.likelihood
    if lik.k == 1:
        return None
    data = mle.data if mle.data is not None else _Compiled.build(lik, mle.patterns)
    post, _ = lik.posterior(lik.state_of(mle.point)[None, :], data)
    p = post[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -float((plogp.sum(axis=0) * data.counts).sum())
    return 1.0 - entropy / (float(data.counts.sum()) * math.log(lik.k))


# ------------------------------------------------------------------------------------------------ BLRT
def bootstrap_lr(small, big, replicates: int, seed: np.random.SeedSequence, workers: int | None = None,
                 progress: Progress | None = None) -> tuple[float, np.ndarray]:
    """The observed LR of two fits (k - 1 and k classes) and its ``replicates`` simulated values under the
    k - 1 fit (parametric bootstrap; see the module docstring)."""
    lr = max(0.0, 2.0 * (big.loglik - small.loglik))
    n = int(round(small.n))
    seeds = seed.spawn(replicates)
    task = (small.design, big.design, small.point, big.point, n)
    workers = min(os.cpu_count() or 1, 8) if workers is None else workers
    blocks = [seeds[i::workers] for i in range(workers)] if workers > 1 else [seeds]
    blocks = [b for b in blocks if b]
    out: list[np.ndarray] = []
    label = f"BLRT {small.design.classes} vs {big.design.classes} classes"
    if len(blocks) == 1:
        for i, s in enumerate(seeds):
            out.append(_replicates(task, [s]))
            if progress is not None:
                progress(label, i + 1, replicates)
        sims = np.concatenate(out)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(len(blocks), mp_context=multiprocessing.get_context("fork")) as pool:
            done = list(pool.map(_replicates, [task] * len(blocks), blocks))
        if progress is not None:
            progress(label, replicates, replicates)
        sims = np.empty(replicates)  # back to the order of the seeds: the same p-value for any number of workers
        for w, values in enumerate(done):
            sims[w::len(blocks)] = values
    return lr, sims


def _replicates(task, seeds) -> np.ndarray:
    """Simulated LRs for these seeds (runs in a worker process; everything it needs is in ``task``)."""
    small_design, big_design, small_point, big_point, n = task
    small, big = likelihood(small_design), likelihood(big_design)
    dense = math.prod(small.dims) <= MAX_DENSE_CELLS
    probs = small.cell_probs(small_point) if dense else None
    x_small, x_big = small.state_of(small_point), big.state_of(big_point)
    out = np.empty(len(seeds))
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        patterns = (Patterns.from_table(rng.multinomial(n, probs / probs.sum()).reshape(small.dims)) if dense
                    else _sample_patterns(small_design, small_point, n, rng))
        data = _Compiled.build(small, patterns)
        X, ll_small, _ = small.squarem(x_small[None, :], data, tol=BLRT_TOL, max_iter=5000)
        data_big = _Compiled.build(big, patterns)
        batch = np.concatenate([x_big[None, :], _split(small, big, X[0], rng)[None, :],
                                big.random_states(rng, BLRT_RANDOM_STARTS)])
        # every start briefly, then the best one to the tolerance (the batch runs as long as its slowest start)
        batch, ll_big, _ = big.squarem(batch, data_big, tol=BLRT_TOL, max_iter=BLRT_SHORT_CYCLES)
        best = int(np.argmax(ll_big))
        _, ll_best, _ = big.squarem(batch[best][None, :], data_big, tol=BLRT_TOL, max_iter=5000)
        out[i] = max(0.0, 2.0 * (float(ll_best[0]) - float(ll_small[0])))
    return out


def _split(small, big, x: np.ndarray, rng: np.random.Generator, eps: float = 0.05) -> np.ndarray:
    """A k-class state from a (k-1)-class one: its largest class split in two, the copy's rows nudged apart
    (identical classes are a fixed point of EM)."""
    pi, tables = small.tables_of(x)
    j = int(np.argmax(pi))
    pi = np.append(pi, pi[j] / 2)
    pi[j] /= 2
    out = []
    for t in tables:  # (n_pa, k-1, C)
        copy = t[:, j, :] * np.exp(eps * rng.standard_normal(t[:, j, :].shape))
        copy /= copy.sum(axis=-1, keepdims=True)
        out.append(np.concatenate([t, copy[:, None, :]], axis=1))
    return big.normalise(big.pack(pi, out)[None, :])[0]


def _sample_patterns(design: Design, point: np.ndarray, n: int, rng: np.random.Generator) -> Patterns:
    """n rows drawn from the model at ``point`` as response patterns (tables too large for a multinomial)."""
    from .simulate import simulate

    plain = dataclasses.replace(design, variables=tuple(dataclasses.replace(v, labels=None)
                                                        for v in design.variables))
    params = {p.name: float(v) for p, v in zip(Model(plain).params, point)}
    frame, _ = simulate(plain, n, params=params, seed=rng)
    lik = likelihood(design)
    return Patterns.from_columns([frame[c].to_numpy() for c in design.names], lik.dims)
