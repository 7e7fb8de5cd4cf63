"""Local fit of a latent class model: bivariate residuals (BVR) of every pair of variables.

A latent class model says that the classes explain every association between the variables (or the association
the design's edges allow). The BVR of a pair is Pearson's X^2 of its observed two-way table against the table
the fitted model implies, divided by the table's degrees of freedom ``(C_a - 1)(C_b - 1)``, as Latent GOLD
reports it; values above 3.84 (the 95 % point of a chi-square with one degree of freedom) point to a dependence
the classes do not explain. It is a screening statistic, not a test: the model was fitted to the same data.
"""

from __future__ import annotations

import itertools

import numpy as np

#: A BVR above this (the 95 % point of chi-square with 1 df) is flagged as a dependence the classes leave.
BVR_FLAG = 3.84


def pair_probabilities(lik, point: np.ndarray, a: int, b: int, dense: bool) -> np.ndarray | None:
    """P(V_a, V_b) implied by the model at ``point``: from the class tables when neither variable has observed
    parents (then V_a and V_b are independent given U whatever the other edges), else from the full table when it
    is small enough to evaluate (``dense``); None otherwise."""
    if not lik.parents[a] and not lik.parents[b]:
        pi, tables = lik.from_point(point)
        return np.einsum("u,ua,ub->ab", pi, tables[a][0], tables[b][0])
    if not dense:
        return None
    cells = lik.cell_probs(point).reshape(lik.dims)
    other = tuple(i for i in range(len(lik.dims)) if i not in (a, b))
    table = cells.sum(axis=other)
    return table if a < b else table.T


def bivariate_residuals(lik, point: np.ndarray, patterns, dense: bool) -> tuple[list[dict], int]:
    """The BVR of every pair of variables, largest first, and the number of pairs it could not be computed for.

    ``patterns`` are the observed response patterns with their counts (a code below 0 is a missing answer: a pair
    is compared on the rows that answered both). Each entry is ``{"pair": [A, B], "bvr": x, "df": d}``.

    Examples
    --------
    >>> from mixid import Design, datasets, fit
    >>> r = fit(Design.latent_class(list("ABCDEFG"), classes=2), datasets.load("carcinoma"), seed=0)
    >>> rows = r.to_dict()["diagnostics"]["bivariate_residuals"]
    >>> len(rows), rows[0]["bvr"] >= rows[-1]["bvr"]
    (21, True)
    """
    codes, counts = patterns.codes, patterns.counts
    out, skipped = [], 0
    for a, b in itertools.combinations(range(len(lik.names)), 2):
        model = pair_probabilities(lik, point, a, b, dense)
        if model is None:
            skipped += 1
            continue
        both = (codes[:, a] >= 0) & (codes[:, b] >= 0)
        observed = np.zeros(model.shape)
        np.add.at(observed, (codes[both, a], codes[both, b]), counts[both])
        expected = observed.sum() * model
        live = expected > 0
        x2 = float(np.sum((observed[live] - expected[live]) ** 2 / expected[live]))
        df = (model.shape[0] - 1) * (model.shape[1] - 1)
        out.append({"pair": [lik.names[a], lik.names[b]], "bvr": x2 / df, "df": df})
    out.sort(key=lambda r: -r["bvr"])
    return out, skipped


def bvr_lines(rows: list[dict], skipped: int, shown: int = 5) -> list[str]:
    """The summary's lines: the largest BVRs and how many pairs exceed :data:`BVR_FLAG`."""
    if not rows:
        return []
    high = sum(r["bvr"] > BVR_FLAG for r in rows)
    text = "  ".join(f"{a}-{b} {r['bvr']:.2f}" for r in rows[:shown] for a, b in [r["pair"]])
    lines = [f"bivariate residuals (local fit; above {BVR_FLAG} suggests a dependence the classes do not explain): "
             f"{high} of {len(rows)} pairs above; largest {text}"]
    if skipped:
        lines.append(f"  ({skipped} pairs with observed parents were not checked: the table is too large to "
                     "evaluate)")
    return lines
