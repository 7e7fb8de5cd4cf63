"""Data loading, validation against a design, and sufficient statistics in one pass.

Every estimator consumes one object: the tensor of sums over rows of ``phi_1(V_1) (x) ... (x) phi_m(V_m)``, with
one-hot features for categorical variables and ``1, v, ..., v**(m-1)`` for continuous ones, over the design's
variables in declaration order (then U when it is observed). For categorical data it is the contingency table,
computed by ``numpy.bincount`` on a combined code; continuous columns add weighted bincounts. The layout is the
one of :class:`mixid.identify.Model`'s observable tensor, so exact population moments drop in unchanged.

Sources: a pandas DataFrame, a mapping of arrays, a CSV or Parquet path (streamed in chunks, reading only the
columns the design needs), or a dask DataFrame (partial sums computed on the dask engine). ``columns`` maps design
variables to data columns (``{"Z": "age_group"}``); columns the design does not use are ignored, with a notice.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mixid.identify import Design
from mixid.identify.design import shown
from mixid.identify.errors import DataError, DesignError
from mixid.identify.files import check_data_file

MIN_ROWS = 10
#: The code of a missing answer (an empty cell, NA or NaN in a categorical column) in validated columns and patterns.
MISSING = -2
#: The largest table of sufficient statistics built densely (8 bytes a cell: 32 MiB). Categorical data of a larger
#: design are kept as their observed response patterns with counts (at most one per row), never as a table.
MAX_DENSE_CELLS = 1 << 22
#: Largest in-memory size (bytes) of the needed columns of a streamed file kept for a row bootstrap (continuous
#: designs resample rows; categorical ones only need the table). Above it the file is streamed and not kept.
MEMORY_BUDGET = 512 * 2**20


@dataclass
class SufficientStats:
    """Sums of feature products over the rows of a data set (see the module docstring).

    ``columns`` keeps the validated columns (keyed by design variable) when the data were in memory, or were
    loaded for a row bootstrap, so that designs with continuous variables can be bootstrapped by resampling rows;
    categorical designs never need them. ``notes`` are one-line notices for the user (columns ignored, columns
    loaded in memory); ``rows_unavailable`` says why ``columns`` is None when rows were asked for.

    A categorical design whose table would exceed :data:`MAX_DENSE_CELLS` cells keeps its data as ``patterns``
    (:class:`Patterns`: the observed response patterns and their counts) and ``sums`` is None;
    :meth:`marginal` serves both forms, so estimators that need only low-order marginals never see the table.
    """

    design: Design
    n: int
    sums: np.ndarray | None
    columns: dict[str, np.ndarray] | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    rows_unavailable: str | None = None
    patterns: Any = field(default=None, repr=False)
    incomplete: Any = field(default=None, repr=False)  # Patterns of the rows with a missing answer (table path)
    missing: dict | None = None  # the report: rows, complete rows, missing answers per column, handling
    complete: int | None = None  # rows without a missing answer (None: all n)
    weights: dict | None = None  # sampling weights: column, sum, Kish effective size, zero rows (None: unweighted)
    total: float | None = None  # weighted: the sum of the weights of the complete rows (the table's total)
    # weighted categorical designs: the tables of rows and of squared weights (``sums`` holds the weighted counts)
    row_table: np.ndarray | None = field(default=None, repr=False)
    square_table: np.ndarray | None = field(default=None, repr=False)
    # continuous columns: (smallest, largest) value over the complete rows, which bound every class mean
    ranges: dict[str, tuple[float, float]] | None = None

    @property
    def dense(self) -> bool:
        """Whether the statistics are a table (False: observed response patterns)."""
        return self.sums is not None

    @property
    def tensor(self) -> np.ndarray:
        """Normalised moments: the joint probability table for categorical data."""
        if self.sums is None:
            raise DataError(f"the table of design '{self.design.name}' would have {math.prod(cell_dims(self.design)):,}"
                            f" cells; its data are kept as {len(self.patterns.codes):,} observed response patterns "
                            "(use marginal() for the marginals an estimator needs)")
        if self.total is not None:  # sampling weights: the table holds weighted counts
            if not self.total > 0:
                raise DataError(f"the complete rows all have weight 0 in column '{self.weights['column']}': the "
                                "table of weighted counts is empty (maximum likelihood uses the incomplete rows)")
            return self.sums / self.total
        return self.sums / (self.n if self.complete is None else self.complete)

    @property
    def categorical(self) -> bool:
        return all(v.categorical for v in self.design.variables)

    def marginal(self, keep: Iterable[str]) -> np.ndarray:
        """Counts of the marginal table of the variables ``keep`` (in that order; U too when it is observed)."""
        keep = tuple(keep)
        if self.sums is None:
            return self.patterns.marginal([data_columns(self.design).index(v) for v in keep])
        from mixid.identify import Model

        names = [v for v in keep if v != self.design.latent]
        counts = Model(self.design).marginal(self.sums, names)
        if self.design.latent_observed and self.design.latent not in keep:
            counts = counts.sum(axis=-1)  # an observed U is a trailing axis: sum it out
        elif self.design.latent_observed and keep.index(self.design.latent) != len(keep) - 1:
            counts = np.moveaxis(counts, -1, keep.index(self.design.latent))
        return counts

    def arm_counts(self) -> np.ndarray:
        """Rows in each treatment arm."""
        return self.marginal((self.design.treatment,))


#: Estimation and simulation bound what a design may ask for beyond what loading it does (a design with a million
#: classes loads, and identify answers it by counting dimensions, but no model with that many classes is fitted).
MAX_CLASSES = 100
MAX_PARAMETERS = 5000  # free parameters of the model: the information matrix is their square


def n_parameters(design: Design) -> int:
    """Free parameters of the design's model, counted without building it.

    Examples
    --------
    >>> n_parameters(Design.builtin("paper-level3"))
    13
    """
    k = design.classes
    count = k - 1
    for v in design.variables:
        states = math.prod(design.variable(p).dim for p in design.parents(v.name))
        count += k * states * (v.dim - 1)
    return count


def check_estimable(design: Design, what: str = "estimate") -> None:
    """Refuse, with one line, a design too large to fit or sample: over :data:`MAX_CLASSES` classes or
    :data:`MAX_PARAMETERS` free parameters (checked before any work)."""
    if design.classes > MAX_CLASSES:
        raise DesignError(f"{what}: design '{design.name}' has {design.classes:,} classes; estimation and "
                          f"simulation support at most {MAX_CLASSES} (identify still answers it)")
    count = n_parameters(design)
    if count > MAX_PARAMETERS:
        raise DesignError(f"{what}: the model of design '{design.name}' has {count:,} free parameters; estimation "
                          f"and simulation support at most {MAX_PARAMETERS:,}")


def unobserved_categories(name: str, counts: np.ndarray, labels: Sequence | None = None) -> str | None:
    """The warning for a categorical variable whose declared categories do not all occur (None if they do);
    categories are named by their declared values (``labels``) when the design gives them.

    Examples
    --------
    >>> unobserved_categories("A", [0, 5], ("no", "yes"))
    "category 'no' of 'A' never occur in the data: their probabilities are estimated at 0"
    """
    missing = np.flatnonzero(np.asarray(counts) == 0)
    if not len(missing):
        return None
    names = [str(i) if labels is None else repr(labels[i]) for i in missing]
    return (f"categor{'y' if len(missing) == 1 else 'ies'} {', '.join(names)} of '{name}' never "
            "occur in the data: their probabilities are estimated at 0")


def data_columns(design: Design) -> tuple[str, ...]:
    """The columns a data set for ``design`` must have, in tensor-axis order."""
    return design.names + ((design.latent,) if design.latent_observed else ())


def parse_columns(text: str) -> dict[str, str]:
    """The ``--columns`` syntax, ``VAR=column,VAR=column``, as a mapping of design variable -> data column.

    Examples
    --------
    >>> parse_columns("Z=age_group, X=income")
    {'Z': 'age_group', 'X': 'income'}
    """
    mapping: dict[str, str] = {}
    for part in str(text).split(","):
        var, sep, col = (s.strip() for s in part.partition("="))
        if not sep or not var or not col or "=" in col:
            raise DataError(f"--columns must look like Z=age_group,X=income; {part.strip()!r} is not VAR=column")
        if var in mapping:
            raise DataError(f"--columns maps variable '{var}' twice")
        mapping[var] = col
    return mapping


def column_map(design: Design, columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Design variable -> data column, in tensor-axis order: a variable reads the column of its own name unless
    ``columns`` names another one. Raises :class:`DataError` on an unknown variable, a column that is not a
    string, or two variables reading one column.

    Examples
    --------
    >>> d = Design.builtin("paper-level3")
    >>> column_map(d, {"Z": "age_group"})
    {'Z': 'age_group', 'X': 'X', 'T': 'T', 'Y': 'Y'}
    """
    names = data_columns(design)
    columns = {} if columns is None else columns
    if not isinstance(columns, Mapping):
        raise DataError(f"columns must map design variables to data columns, got {type(columns).__name__}")
    for var, col in columns.items():
        if var not in names:
            raise DataError(f"columns maps '{var}', which is not a variable of design '{design.name}' "
                            f"(its variables: {', '.join(names)})")
        if not isinstance(col, str) or not col:
            raise DataError(f"columns: the column of variable '{var}' must be a non-empty name, got {col!r}")
    out = {n: columns.get(n, n) for n in names}
    reader: dict[str, str] = {}
    for var, col in out.items():
        if col in reader:
            raise DataError(f"variables '{reader[col]}' and '{var}' are both read from column '{col}'"
                            + ("" if col not in names else f" (map '{col}' to another column too)"))
        reader[col] = var
    return out


def _select(design: Design, present: Iterable, cmap: Mapping[str, str], weights: str | None = None) -> list[str]:
    """Check that every mapped column (and the ``weights`` column) is present; the notice naming the columns that
    are ignored (or none)."""
    present = list(present)
    have = set(present)
    if weights is not None:
        check_weights_name(weights, cmap)
        if weights not in have:
            raise DataError(f"weights column '{weights}' is not in the data")
    for var, col in cmap.items():
        if col not in have:
            if col == var:
                raise DataError(f"missing column '{col}' (the design needs {', '.join(cmap.values())}; "
                                f"name another column with --columns {var}=... or columns={{'{var}': ...}})")
            raise DataError(f"column '{col}' (mapped to variable {var}) is not in the data")
    # covariates are read apart (estimate.covariates)
    used = set(cmap.values()) | set(design.covariates) | ({weights} if weights is not None else set())
    extra = [str(c) for c in present if c not in used]
    if not extra:
        return []
    shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    return [f"ignored {len(extra)} column{'s' if len(extra) > 1 else ''} the design does not use: {shown}"]


def check_weights_name(weights: Any, cmap: Mapping[str, str]) -> None:
    """A weights column is a non-empty name that no design variable reads."""
    if not isinstance(weights, str) or not weights:
        raise DataError(f"weights must name a data column, got {shown(weights)}")
    reader = next((v for v, c in cmap.items() if c == weights), None)
    if reader is not None:
        raise DataError(f"column '{weights}' is read as variable {reader}; it cannot also hold the sampling weights")


def validate_weights(raw: Any, column: str, offset: int = 0, index: Iterable | None = None) -> np.ndarray:
    """The sampling weights of one chunk as floats. Raises :class:`DataError` naming the first bad row for a value
    that is not a number, missing, infinite or negative (0 is allowed: the row then contributes nothing).

    Examples
    --------
    >>> validate_weights([1, 2.5, 0], "w").tolist()
    [1.0, 2.5, 0.0]
    >>> try:
    ...     validate_weights([1, -1], "w")
    ... except DataError as exc:
    ...     print(exc)
    weights column 'w' has a negative weight -1 at data row 2 (counting from 1, header excluded)
    """
    raw = np.asarray(raw)
    labels = None if index is None else list(index)
    if raw.ndim != 1:
        raise DataError(f"weights column '{column}' must be one-dimensional")
    if raw.dtype.kind in _NOT_NUMBERS:
        raise DataError(f"weights column '{column}' holds {_NOT_NUMBERS[raw.dtype.kind]} ({raw.dtype}); give "
                        "non-negative numbers")
    if raw.dtype.kind in "OUSV":
        bad = next((i for i, v in enumerate(raw) if not (_is_number(v) or v is None)), None)
        if bad is not None:
            raise DataError(f"weights column '{column}' has a non-numeric value {shown(raw[bad])} at "
                            f"{row_text(bad, offset, labels)}")
        raw = np.array([np.nan if v is None else v for v in raw], dtype=float)
    w = raw.astype(float)
    checks = [(~np.isfinite(w), "a missing or infinite weight"), (w < 0, "a negative weight")]
    problems = [(int(np.flatnonzero(mask)[0]), what) for mask, what in checks if mask.any()]
    if problems:
        pos, what = min(problems)
        value = "" if what.startswith("a missing") else f" {w[pos]:g}"
        raise DataError(f"weights column '{column}' has {what}{value} at {row_text(pos, offset, labels)}")
    return w


@dataclass
class WeightTally:
    """Running totals of the sampling weights over the chunks of a data set, and their report."""

    column: str
    rows: int = 0
    total: float = 0.0
    squares: float = 0.0
    zero: int = 0

    def add(self, w: np.ndarray) -> None:
        self.rows += len(w)
        self.total += float(w.sum())
        self.squares += float(np.square(w).sum())
        self.zero += int(np.count_nonzero(w == 0))

    def report(self) -> dict:
        """``column``, ``sum``, ``effective_n`` (Kish: sum(w)^2 / sum(w^2)), ``zero_rows`` (rows of weight 0,
        kept: they add nothing); refuses weights that are all 0."""
        if not self.total > 0:
            raise DataError(f"weights column '{self.column}' is 0 in every row (nothing to estimate from)")
        if not np.isfinite(self.total) or not np.isfinite(self.squares):
            raise DataError(f"weights column '{self.column}' sums beyond the float range; rescale the weights")
        return {"column": self.column, "sum": self.total, "effective_n": self.total ** 2 / self.squares,
                "zero_rows": self.zero, "rows": self.rows}


def cell_dims(design: Design) -> list[int]:
    """Sizes of the table's axes (one per variable, then U when observed), without building anything."""
    return [d for _, d, _ in _axis_dims(design)]


def _axis_dims(design: Design) -> list[tuple[str, int, bool]]:
    out = [(v.name, v.dim, v.categorical) for v in design.variables]
    if design.latent_observed:
        out.append((design.latent, design.classes, True))
    return out


def row_text(pos: int, offset: int = 0, labels: Sequence | None = None) -> str:
    """How an error names a row: its number counting from 1 (a file's header excluded), or its index label.

    Examples
    --------
    >>> row_text(170)
    'data row 171 (counting from 1, header excluded)'
    """
    if labels is not None:
        return f"the row with index {labels[pos]!r}"
    return f"data row {offset + pos + 1} (counting from 1, header excluded)"


def validate_columns(design: Design, frame: Mapping[str, Any], offset: int = 0,
                     index: Iterable | None = None, cmap: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Check one chunk of columns against the design; return them as numpy arrays (codes as int64), keyed by
    design variable.

    ``frame`` is keyed by data column; ``cmap`` (from :func:`column_map`) says which column holds which variable
    (by default, the variable's own name); other keys are ignored. A variable declared with category values
    (``categories: ["no", "yes"]``) has its values mapped to codes (the first value is code 0). Raises
    :class:`DataError` naming the value, the column and the first bad row of the chunk (``offset`` + position
    counted from 1, or the index label when ``index`` is given).
    """
    cmap = column_map(design) if cmap is None else cmap
    _select(design, frame.keys(), cmap)
    labels = None if index is None else list(index)
    out = {}
    lengths = set()
    problems: list[tuple[int, str]] = []  # (row, message): the first bad row is reported, whatever its column
    for name, dim, categorical in _axis_dims(design):
        raw = np.asarray(frame[cmap[name]])
        column = f"'{name}'" if cmap[name] == name else f"'{cmap[name]}' ({name})"
        if raw.ndim != 1:
            raise DataError(f"column {column} must be one-dimensional")
        lengths.add(len(raw))
        values = design.variable(name).labels if name != design.latent or not design.latent_observed else None
        if values is not None:
            codes, problem = _codes_of_values(raw, values, column)
            if problem is not None:
                problems.append(problem)
            out[name] = codes
            continue
        if raw.dtype.kind in _NOT_NUMBERS:  # refused by type: nothing is coerced silently
            raise DataError(f"column {column} holds {_NOT_NUMBERS[raw.dtype.kind]} ({raw.dtype}); give numbers "
                            "(integer codes for categories), or declare the values as categories: [...]")
        if raw.dtype.kind in "OUSV":  # strings or mixed objects: every value must be a real number
            bad = next((i for i, v in enumerate(raw.ravel()) if not _is_number(v)), None)
            if bad is not None:
                hint = "; declare the values as categories: [...] in the design" if categorical else ""
                problems.append((bad, f"column {column} has a non-numeric value {shown(raw.ravel()[bad])} at "
                                      f"{{row}}{hint}"))
                continue
        role = "treatment" if name == design.treatment else "categorical"
        if categorical and raw.dtype.kind in "iu":  # integer codes: a range check is all they need (fast path)
            if len(raw) and (raw.min() < 0 or raw.max() >= dim):
                first = int(np.flatnonzero((raw < 0) | (raw >= dim))[0])
                problems.append((first, f"{role} column {column} must hold integer codes 0..{dim - 1}; found "
                                        f"{int(raw[first])} at {{row}}"))
            out[name] = raw.astype(np.int64, copy=False)
            continue
        col = raw.astype(float)
        answer = categorical and name != design.latent  # a categorical answer may be missing (NaN, empty cell)
        bad = np.flatnonzero(np.isinf(col) if answer else ~np.isfinite(col))
        if len(bad):
            problems.append((int(bad[0]), f"column {column} has a{'n' if answer else ' missing or'} infinite value "
                                          "at {row}"))
            continue
        if categorical:
            absent = np.isnan(col)
            bad = np.flatnonzero(~absent & ((col != np.round(col)) | (col < 0) | (col >= dim)))
            if len(bad):
                problems.append((int(bad[0]), f"{role} column {column} must hold integer codes 0..{dim - 1}; "
                                              f"found {float(col[bad[0]]):g} at {{row}}"))
                continue
            out[name] = np.where(absent, MISSING, col).astype(np.int64)
        else:
            out[name] = col
    if len(lengths) > 1:
        raise DataError(f"columns have different lengths: {sorted(lengths)}")
    if problems:
        pos, message = min(problems, key=lambda p: p[0])
        raise DataError(message.replace("{row}", row_text(pos, offset, labels)))
    return out


def _codes_of_values(raw: np.ndarray, values: tuple, column: str) -> tuple[np.ndarray, tuple[int, str] | None]:
    """The codes of a column whose categories are declared by their values (a missing value is the code
    :data:`MISSING`), and the first value that is none of them (its position and message), if any."""
    codes = pd.Index(list(values)).get_indexer(raw)
    codes = np.where(pd.isna(raw), MISSING, codes)
    unknown = np.flatnonzero(codes == -1)
    if not len(unknown):
        return codes.astype(np.int64), None
    first = int(unknown[0])
    value = raw[first]
    value = value.item() if isinstance(value, np.generic) else value
    what = f"the value {shown(value)}"
    declared = ", ".join(shown(v, 20) for v in values[:8]) + (", ..." if len(values) > 8 else "")
    return codes, (first, f"column {column} has {what} at {{row}}, which is not one of its categories ({declared})")


_NOT_NUMBERS = {"b": "booleans", "M": "dates and times", "m": "time spans", "c": "complex numbers"}


def _is_number(v: Any) -> bool:
    """A real number that is not a bool or a string (``"1"`` is text, not a code), nor an integer beyond int64."""
    if isinstance(v, (bool, np.bool_)):
        return False
    return isinstance(v, (float, np.integer, np.floating)) or (isinstance(v, int) and abs(v) < 2**63)


def complete_rows(design: Design, cols: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The mask of the rows without a missing answer, or None when every row is complete."""
    codes = [cols[n] for n, _, c in _axis_dims(design) if c]
    if not codes or all(len(c) == 0 or c.min() >= 0 for c in codes):
        return None
    return np.all(np.stack(codes) >= 0, axis=0)


def incomplete_patterns(design: Design, cols: Mapping[str, np.ndarray], weights: np.ndarray | None = None
                        ) -> tuple[np.ndarray, ...]:
    """The distinct rows with a missing answer (codes, :data:`MISSING` where missing) and their counts; with
    ``weights``, also the sums of their weights and of their squared weights."""
    mask = complete_rows(design, cols)
    m = len(_axis_dims(design))
    if mask is None:
        empty = (np.zeros((0, m), np.int64), np.zeros(0))
        return empty if weights is None else empty + (np.zeros(0), np.zeros(0))
    rows = np.stack([cols[n][~mask] for n, _, _ in _axis_dims(design)], axis=1).astype(np.int64)
    codes, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    if weights is None:
        return codes, counts.astype(float)
    w = weights[~mask]
    inverse = inverse.ravel()
    return (codes, counts.astype(float), np.bincount(inverse, weights=w, minlength=len(codes)),
            np.bincount(inverse, weights=w * w, minlength=len(codes)))


def chunk_sums(design: Design, cols: Mapping[str, np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
    """Sums of feature products over the complete rows of validated columns (one pass, bincount), each row
    multiplied by its weight when ``weights`` are given; rows with a missing answer are left out (see
    :func:`incomplete_patterns`)."""
    mask = complete_rows(design, cols)
    if mask is not None:
        cols = {name: col[mask] for name, col in cols.items()}
        weights = None if weights is None else weights[mask]
    axes = _axis_dims(design)
    cat = [(n, d) for n, d, c in axes if c]
    cont = [(n, d) for n, d, c in axes if not c]
    n_rows = len(next(iter(cols.values()))) if cols else 0
    code = np.zeros(n_rows, dtype=np.int64)
    for name, dim in cat:
        code = code * dim + cols[name]
    size = int(np.prod([d for _, d in cat])) if cat else 1
    cont_dims = [d for _, d in cont]
    out = np.empty((size, *cont_dims))
    for feats in itertools.product(*(range(d) for d in cont_dims)):
        factor = np.ones(n_rows) if weights is None else np.asarray(weights, float)
        for (name, _), f in zip(cont, feats):
            if f:
                factor = factor * cols[name] ** f
        out[(slice(None), *feats)] = np.bincount(code, weights=None if not cont and weights is None else factor,
                                                 minlength=size)
    if cont and not np.isfinite(out).all():
        raise DataError(_overflow_message(design, cols))
    out = out.reshape([d for _, d in cat] + cont_dims)
    # axes are categorical-then-continuous; restore declaration order
    order = [n for n, _ in cat] + [n for n, _ in cont]
    return out.transpose([order.index(n) for n, _, _ in axes])


def _overflow_message(design: Design, cols: Mapping[str, np.ndarray]) -> str:
    """Why the moments of continuous columns are not finite: their powers overflow the float range."""
    parts = []
    for v in design.variables:
        if not v.categorical and v.name in cols and len(cols[v.name]):
            top = float(np.max(np.abs(cols[v.name])))
            parts.append(f"'{v.name}' (values up to {top:.3g}, powers up to {v.dim - 1})")
    return (f"the moments of continuous column {', '.join(parts)} overflow the float range (about 1.8e308); "
            "rescale the column (for example to standard units)")


def huge_moments(stats: SufficientStats, limit: float = 1e50) -> str | None:
    """A message naming the continuous columns whose moments exceed ``limit`` in size (the estimators multiply
    moments, so products overflow the float range), or None."""
    d = stats.design
    if stats.sums is None:
        return None
    parts = []
    for v in d.variables:
        if not v.categorical:
            sums = np.abs(stats.marginal((v.name,))) / max(stats.n, 1)
            if sums.max() > limit:
                parts.append(f"'{v.name}' (mean of its power {v.dim - 1}: {sums.max():.3g})")
    if not parts:
        return None
    return (f"the moments of continuous column {', '.join(parts)} are too large: the estimator's products of "
            "moments overflow the float range (about 1.8e308); rescale the column (for example to standard units)")


def _check_totals(design: Design, stats: SufficientStats) -> SufficientStats:
    if stats.n < MIN_ROWS:
        raise DataError(f"too few rows: {stats.n} (need at least {MIN_ROWS})")
    if design.treatment is None:  # a plain latent class design: no arms to check
        return stats
    arms = stats.arm_counts()
    for t in (0, 1):
        if arms[t] == 0:
            raise DataError(f"treatment arm {design.treatment}={t} is empty: column '{design.treatment}' "
                            f"never takes the value {t}")
    return stats


def sufficient_stats(design: Design, data: Any, *, columns: Mapping[str, str] | None = None,
                     chunksize: int = 1_000_000, keep_rows: bool = False,
                     memory_budget: int | None = None, missing: str = "fiml",
                     weights: str | None = None) -> SufficientStats:
    """Validate ``data`` against ``design`` and compute its sufficient statistics.

    Parameters
    ----------
    design : Design
    data : pandas.DataFrame, mapping of arrays, str or Path (``.csv``, ``.parquet``), or dask DataFrame
        One column per observed variable (and U when the design observes it); categorical values are
        integer codes ``0..c-1``. Other columns are ignored (a notice in ``notes`` names them).
    columns : mapping, optional
        Design variable -> data column, for variables whose column has another name (``{"Z": "age_group"}``);
        the others read the column of their own name. Files are read for these columns only.
    chunksize : int
        Rows per chunk when streaming a file.
    keep_rows : bool
        Keep the validated rows of a streamed file in ``columns`` (a continuous design's row bootstrap needs
        them) when their size is at most ``memory_budget`` bytes; otherwise ``rows_unavailable`` says why not.
        In-memory data always keep their rows.
    memory_budget : int, optional
        Bytes the kept rows may take (8 per value); :data:`MEMORY_BUDGET` by default.
    missing : {"fiml", "drop"}
        An empty cell, NA or NaN in a categorical column is a missing answer. ``fiml``: rows with missing
        answers are kept as observed response patterns (``patterns``) for maximum likelihood, which sums over
        the missing answers; the table (``sums``, ``tensor``) holds the complete rows (``complete``), which the
        constructive estimators use. ``drop``: those rows are left out. ``missing`` reports rows, complete rows
        and missing answers per column either way.
    weights : str, optional
        The data column of sampling weights (non-negative numbers; a row of weight 0 is kept and adds nothing).
        The sums become weighted counts (``tensor`` divides by the weights' total); categorical designs also
        keep the observed response patterns with their weight sums and sums of squared weights (``patterns``),
        which pseudo-maximum likelihood and its sandwich variance need. ``weights`` reports the column, the sum
        of the weights, Kish's effective sample size and the rows of weight 0.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> d = Design.builtin("paper-level2")
    >>> cols = {"Z": [0, 1] * 10, "X": [1, 0] * 10, "T": [0, 0, 1, 1] * 5, "Y": [1] * 20}
    >>> s = sufficient_stats(d, cols)
    >>> s.n, s.sums.shape, float(s.tensor.sum())
    (20, (2, 2, 2, 2), 1.0)
    >>> s = sufficient_stats(d, {**cols, "age": [30] * 20, "Y": [0] * 20, "outcome": [1] * 20},
    ...                      columns={"Y": "outcome"})
    >>> s.notes
    ['ignored 2 columns the design does not use: Y, age']
    """
    if missing not in ("fiml", "drop"):
        raise DataError(f"missing must be 'fiml' or 'drop', got {shown(missing)}")
    if isinstance(data, SufficientStats):
        if columns is not None or weights is not None:
            what = "columns= maps data columns" if columns is not None else "weights= names a data column"
            raise DataError(f"{what}, but the data are already sufficient statistics")
        return data
    return _check_totals(design, _resolve_missing(_read_stats(design, data, columns, chunksize, keep_rows,
                                                               memory_budget, weights), missing))


def _read_stats(design: Design, data: Any, columns, chunksize: int, keep_rows: bool, memory_budget,
                weights: str | None = None) -> SufficientStats:
    """The statistics of every row (incomplete ones kept apart), before the missing answers are handled."""
    cells = math.prod(cell_dims(design))
    if cells > MAX_DENSE_CELLS:  # never allocated: 30 binary items would need 8 GiB
        if not all(v.categorical for v in design.variables):
            raise DataError(f"the design's table of moments would have {cells:,} cells (over {MAX_DENSE_CELLS:,});"
                            " with continuous variables it must be held densely: use fewer or smaller variables")
        tally = None if weights is None else WeightTally(weights)
        patterns = patterns_from_data(design, data, chunksize=chunksize, columns=columns, tally=tally)
        stats = SufficientStats(design, int(patterns.row_counts.sum()), None, notes=list(patterns.notes),
                                patterns=patterns)
        if tally is not None:
            stats.weights = tally.report()
        return stats
    cmap = column_map(design, columns)
    keep_rows = keep_rows and not all(v.categorical for v in design.variables)  # tables resample without rows
    memory_budget = MEMORY_BUDGET if memory_budget is None else memory_budget
    if isinstance(data, (str, os.PathLike)):
        return _from_file(design, Path(data), chunksize, cmap, keep_rows, memory_budget, weights)
    if _is_dask(data):
        stats = _from_dask(design, data, cmap, weights)
        if keep_rows:
            stats.rows_unavailable = "a dask DataFrame is summed where it lives, not loaded in memory"
        return stats
    if isinstance(data, pd.DataFrame):
        notes = _select(design, data.columns, cmap, weights)
        cols = validate_columns(design, {c: data[c].to_numpy() for c in cmap.values()}, cmap=cmap)
        w = None if weights is None else validate_weights(data[weights].to_numpy(), weights)
    elif isinstance(data, Mapping):
        notes = _select(design, data.keys(), cmap, weights)
        cols = validate_columns(design, data, cmap=cmap)
        w = None if weights is None else validate_weights(data[weights], weights)
    else:
        raise DataError(f"cannot read data of type {type(data).__name__}: pass a DataFrame, a mapping of "
                        "arrays, a CSV/Parquet path or a dask DataFrame")
    n = len(next(iter(cols.values())))
    if w is not None and len(w) != n:
        raise DataError(f"weights column '{weights}' has {len(w)} rows, the other columns {n}")
    tally = None if weights is None else WeightTally(weights)
    if tally is not None:
        tally.add(w)
    stats = _stats_of(design, n, _tables(design, cols, w), notes, [incomplete_patterns(design, cols, w)], tally)
    mask = complete_rows(design, cols)
    stats.columns = cols if mask is None else {name: col[mask] for name, col in cols.items()}
    return stats


def _resolve_missing(stats: SufficientStats, missing: str) -> SufficientStats:
    """Report the missing answers, and keep the rows that have some for maximum likelihood (``fiml``: every row,
    as observed response patterns with missing codes) or leave them out (``drop``, and designs with continuous
    variables, which are estimated on moments of complete rows)."""
    design, n = stats.design, stats.n
    names = data_columns(design)
    if stats.patterns is not None:  # the patterns path: incomplete rows are patterns with a missing code
        incomplete = stats.patterns.subset((stats.patterns.codes < 0).any(axis=1))
    else:
        incomplete = stats.incomplete
    rows = None if incomplete is None else incomplete.row_counts
    lost = 0.0 if incomplete is None else float(rows.sum())
    per_column = {} if incomplete is None else {
        v: int(rows[incomplete.codes[:, j] < 0].sum()) for j, v in enumerate(names)}
    categorical = [j for j, v in enumerate(names) if v == design.latent or design.variable(v).categorical]
    empty = 0 if incomplete is None else int(rows[(incomplete.codes[:, categorical] < 0).all(axis=1)].sum())
    stats.missing = {"rows": int(n), "complete_rows": int(n - lost),
                     "missing_answers": {v: c for v, c in per_column.items() if c},
                     "rows_without_answers": empty, "handling": missing}
    stats.incomplete = None
    if not lost:
        return _weigh(stats, None)
    fiml = missing == "fiml" and stats.categorical
    if fiml:
        parents = {v: design.children(v) for v, c in per_column.items() if c and design.children(v)}
        if parents:
            v, children = next(iter(parents.items()))
            raise DataError(f"column '{v}' has {per_column[v]:,} missing answer{'s' * (per_column[v] != 1)}, and "
                            f"'{v}' is a parent of "
                            f"{', '.join(children)}: maximum likelihood with missing answers (FIML) sums over missing "
                            "answers of variables without children only; use missing='drop' (--missing drop) to "
                            "leave out the rows with a missing answer")
        stats.complete = int(n - lost)
        stats.notes.append(f"{int(lost):,} of {n:,} rows have a missing answer: maximum likelihood uses every row "
                           "(FIML: it sums over the missing answers, valid when they are missing at random); "
                           f"estimators built on the table use the {int(n - lost):,} complete rows"
                           + (f"; {empty:,} rows have no answer at all (kept: they add nothing)" if empty else ""))
        return _weigh(stats, incomplete)
    why = "missing='drop'" if missing == "drop" else "a design with continuous variables uses complete rows"
    stats.n = stats.complete = int(n - lost)
    if stats.patterns is not None:
        stats.patterns = stats.patterns.subset(~(stats.patterns.codes < 0).any(axis=1))
    stats.notes.append(f"left out {int(lost):,} of {n:,} rows with a missing answer ({why})")
    return _weigh(stats, None)


def _weigh(stats: SufficientStats, incomplete: Patterns | None) -> SufficientStats:
    """Keep the observed response patterns that maximum likelihood reads when it needs them (the table's cells
    and the ``incomplete`` rows kept for FIML), and, with sampling weights, the weights' total of the table."""
    design = stats.design
    dims = tuple(cell_dims(design))
    if stats.patterns is None and (incomplete is not None or (stats.weights is not None and stats.categorical)):
        table = Patterns.from_table(stats.sums, stats.square_table, stats.row_table) if stats.sums.any() else \
            Patterns(np.zeros((0, len(dims)), np.int64), np.zeros(0), dims,
                     squares=None if stats.weights is None else np.zeros(0),
                     rows=None if stats.weights is None else np.zeros(0))
        parts = [table] + ([incomplete] if incomplete is not None else [])
        stats.patterns = Patterns(np.concatenate([p.codes for p in parts]), np.concatenate([p.counts for p in parts]),
                                  dims, squares=None if stats.weights is None else
                                  np.concatenate([p.squares for p in parts]),
                                  rows=None if stats.weights is None else np.concatenate([p.rows for p in parts]))
    if stats.weights is not None:
        if stats.sums is not None:  # the weighted rows of the table: the constant feature of every axis
            first = tuple(slice(None) if c else 0 for _, _, c in _axis_dims(design))
            stats.total = float(stats.sums[first].sum())
        else:
            complete = ~(stats.patterns.codes < 0).any(axis=1)
            stats.total = float(stats.patterns.counts[complete].sum())
    return stats


def _stats_of(design: Design, n: int, tables: list, notes: list[str], incomplete: list,
              tally: WeightTally | None) -> SufficientStats:
    """The statistics of [sums, rows, squares] tables and the incomplete rows' patterns (with the weights'
    report when there are weights)."""
    stats = SufficientStats(design, n, tables[0], notes=notes, incomplete=_merge(incomplete, cell_dims(design)),
                            ranges=tables[3])
    if tally is not None:
        stats.weights = tally.report()
        stats.row_table, stats.square_table = tables[1], tables[2]
    return stats


def _from_file(design: Design, path: Path, chunksize: int, cmap: dict[str, str], keep_rows: bool,
               memory_budget: int, weights: str | None = None) -> SufficientStats:
    notes, iterator = _file_chunks(design, path, chunksize, cmap, weights)
    incomplete: list = []
    tally = None if weights is None else WeightTally(weights)
    total, n, kept = _accumulate(design, iterator, cmap, keep_rows, memory_budget, incomplete, tally)
    if total is None:
        raise DataError(f"data file '{path}' has no rows")
    stats = _stats_of(design, n, total, notes, incomplete, tally)
    wanted = list(cmap.values())
    if keep_rows:
        size = n * len(wanted) * 8
        if kept is not None:
            stats.columns = kept
            stats.notes.append(f"loaded the {len(wanted)} columns the design uses from '{path.name}' in memory "
                               f"({n:,} rows, {size / 2**20:.0f} MB) to resample rows")
        else:
            stats.rows_unavailable = (f"'{path.name}' has {n:,} rows, whose {len(wanted)} columns take "
                                      f"{size / 2**20:,.0f} MB, over the in-memory budget of "
                                      f"{memory_budget / 2**20:,.0f} MB")
    return stats


def _file_chunks(design: Design, path: Path, chunksize: int, cmap: dict[str, str], weights: str | None = None
                 ) -> tuple[list[str], Iterator[dict[str, np.ndarray]]]:
    """The notices of a CSV or Parquet file's columns and its chunks (only the columns the design uses and the
    ``weights`` column, keyed by data column); a file that cannot be parsed raises DataError, also midway through
    the chunks."""
    suffix = check_data_file(path).suffix.lower()
    wanted = list(cmap.values()) + ([weights] if weights is not None else [])
    if suffix == ".csv":
        text = _text_columns(design, cmap)

        def csv_chunks() -> Iterator[dict[str, np.ndarray]]:
            try:  # only the columns used; those whose categories are text are read as text ("01" stays "01")
                for ch in pd.read_csv(path, chunksize=chunksize, usecols=wanted, dtype=text or None):
                    yield {c: ch[c].to_numpy() for c in wanted}
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise DataError(f"cannot parse CSV file '{path}': {str(exc).strip().splitlines()[0]}") from None

        try:
            header = pd.read_csv(path, nrows=0).columns
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot parse CSV file '{path}': {str(exc).strip().splitlines()[0]}") from None
        notes = _select(design, header, cmap, weights)
        _check_ragged(path, len(header))
        return notes, csv_chunks()
    # .parquet or .pq: check_data_file let no other suffix through
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(f"cannot read Parquet file '{path}': {exc}") from None
    names = pf.schema_arrow.names
    twice = next((c for c in names if names.count(c) > 1), None)
    if twice is not None:
        raise DataError(f"Parquet file '{path}' has column {shown(twice)} twice")
    notes = _select(design, names, cmap, weights)
    return notes, ({c: b.column(c).to_numpy(zero_copy_only=False) for c in wanted}
                   for b in pf.iter_batches(batch_size=chunksize, columns=wanted))


def _check_ragged(path: Path, width: int) -> None:
    """Every row of a CSV file has as many fields as its header (a short row would otherwise read as missing
    answers). Rows are counted as lines of the file, the header being line 1."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    bad = []

    def invalid(row) -> str:
        bad.append(row)
        return "error"

    names = [f"c{i}" for i in range(width)]
    try:  # pyarrow's parser counts the fields of every row; only the first column is converted (as text)
        for _ in pcsv.open_csv(path, read_options=pcsv.ReadOptions(column_names=names, skip_rows=1),
                               parse_options=pcsv.ParseOptions(invalid_row_handler=invalid),
                               convert_options=pcsv.ConvertOptions(include_columns=["c0"],
                                                                   column_types={"c0": pa.string()})):
            pass
    except pa.ArrowInvalid as exc:
        if not bad:
            raise DataError(f"cannot parse CSV file '{path}': {str(exc).strip().splitlines()[0]}") from None
    if bad:
        row = bad[0]
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            line = next((i for i, text in enumerate(f, start=1) if text.rstrip("\r\n") == row.text), None)
        where = f"line {line}" if line is not None else f"the row {shown(row.text)}"
        raise DataError(f"CSV file '{path}': {where} has {row.actual_columns} fields, the header "
                        f"{row.expected_columns} (lines counted from 1, the header is line 1)")


def _text_columns(design: Design, cmap: Mapping[str, str]) -> dict[str, type]:
    """The data columns of variables whose declared category values are text (read from CSV as text)."""
    return {cmap[v.name]: str for v in design.variables
            if v.labels is not None and isinstance(v.labels[0], str)}


def read_chunks(design: Design, data: Any, columns: Mapping[str, str] | None = None, chunksize: int = 1_000_000
                ) -> tuple[list[str], Iterator[dict[str, np.ndarray]]]:
    """The notices about a data set's columns and its validated chunks, keyed by design variable, for readers
    that need the rows rather than the sums (the observed response patterns of maximum likelihood).

    Takes what :func:`sufficient_stats` takes: a DataFrame or mapping (one chunk), a CSV or Parquet path
    (streamed, reading only the columns the design uses) or a dask DataFrame (partition by partition).
    """
    cmap = column_map(design, columns)
    notes, raw = _raw_chunks(design, data, cmap, chunksize)

    def validated() -> Iterator[dict[str, np.ndarray]]:
        n = 0
        for chunk in raw:
            cols = validate_columns(design, chunk, offset=n, cmap=cmap)
            n += len(next(iter(cols.values())))
            yield cols

    return notes, validated()


def _raw_chunks(design: Design, data: Any, cmap: dict[str, str], chunksize: int, weights: str | None = None
                ) -> tuple[list[str], Iterator[Mapping[str, Any]]]:
    """The notices about a data set's columns and its raw chunks keyed by data column (the design's columns and
    the ``weights`` column)."""
    wanted = list(cmap.values()) + ([weights] if weights is not None else [])
    if isinstance(data, (str, os.PathLike)):
        return _file_chunks(design, Path(data), chunksize, cmap, weights)
    if _is_dask(data):
        notes = _select(design, data.columns, cmap, weights)
        return notes, ({c: part[c].to_numpy() for c in wanted}
                       for part in (p.compute() for p in data[wanted].to_delayed()))
    if isinstance(data, pd.DataFrame):
        return _select(design, data.columns, cmap, weights), iter([{c: data[c].to_numpy() for c in wanted}])
    if isinstance(data, Mapping):
        return _select(design, data.keys(), cmap, weights), iter([data])
    raise DataError(f"cannot read data of type {type(data).__name__}: pass a DataFrame, a mapping of "
                    "arrays, a CSV/Parquet path or a dask DataFrame")


def _tables(design: Design, cols: Mapping[str, np.ndarray], weights: np.ndarray | None) -> list:
    """[sums, rows, squares, ranges] of one chunk: the (weighted) sums of :func:`chunk_sums`; with weights on a
    categorical design also the tables of rows and of squared weights (else None); the (min, max) of each
    continuous column over the complete rows (None without continuous columns or complete rows)."""
    sums = chunk_sums(design, cols, weights)
    ranges = _ranges(design, cols)
    if weights is None or not all(v.categorical for v in design.variables):
        return [sums, None, None, ranges]
    return [sums, chunk_sums(design, cols), chunk_sums(design, cols, weights * weights), ranges]


def _ranges(design: Design, cols: Mapping[str, np.ndarray]) -> dict[str, tuple[float, float]] | None:
    """(min, max) of each continuous column over the complete rows, or None."""
    cont = [v.name for v in design.variables if not v.categorical]
    if not cont or not len(cols[cont[0]]):  # categorical designs skip the pass over their codes
        return None
    mask = complete_rows(design, cols)
    if mask is not None and not mask.any():
        return None
    return {v: (float(np.min(c)), float(np.max(c))) for v in cont
            for c in [cols[v] if mask is None else cols[v][mask]]}


def _add_tables(total: list | None, part: list) -> list:
    if total is None:
        return part
    a, b = total[3], part[3]
    ranges = a if b is None else b if a is None else {v: (min(a[v][0], b[v][0]), max(a[v][1], b[v][1])) for v in a}
    return [None if x is None else x + y for x, y in zip(total[:3], part[:3])] + [ranges]


def _accumulate(design: Design, chunks: Iterable[Mapping[str, np.ndarray]], cmap: dict[str, str],
                keep_rows: bool = False, memory_budget: int = 0, incomplete: list | None = None,
                tally: WeightTally | None = None) -> tuple[list | None, int, dict[str, np.ndarray] | None]:
    """Sums over chunks (complete rows: [sums, rows, squares], see :func:`_tables`); with ``keep_rows``, also the
    validated complete rows while they fit in ``memory_budget``; the patterns of the rows with a missing answer
    are appended to ``incomplete``; with a weights ``tally``, rows count by the weights of its column."""
    total, n = None, 0
    kept: dict[str, list[np.ndarray]] | None = {} if keep_rows else None
    for chunk in chunks:
        cols = validate_columns(design, chunk, offset=n, cmap=cmap)
        w = None if tally is None else validate_weights(chunk[tally.column], tally.column, offset=n)
        if tally is not None:
            tally.add(w)
        total = _add_tables(total, _tables(design, cols, w))
        if not np.isfinite(total[0]).all():  # each chunk was finite: the running sums overflow
            raise DataError(_overflow_message(design, cols))
        n += len(next(iter(cols.values())))
        if incomplete is not None:
            incomplete.append(incomplete_patterns(design, cols, w))
        if kept is not None:
            if n * len(cols) * 8 > memory_budget:
                kept = None  # over budget: stop keeping, the sums stream on
            else:
                mask = complete_rows(design, cols)  # rows are resampled by continuous designs: complete ones
                for name, col in cols.items():
                    kept.setdefault(name, []).append(col if mask is None else col[mask])
    rows = None if not kept else {name: np.concatenate(parts) for name, parts in kept.items()}
    return total, n, rows


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask")


def _from_dask(design: Design, ddf: Any, cmap: dict[str, str], weights: str | None = None) -> SufficientStats:
    """Partial sums per partition on the dask engine (only the columns the design uses, and the weights column),
    added up there too."""
    import dask

    notes = _select(design, ddf.columns, cmap, weights)
    ddf = ddf[list(cmap.values()) + ([weights] if weights is not None else [])]

    def part_sums(df: pd.DataFrame) -> tuple[list, int, tuple, np.ndarray | None]:
        cols = validate_columns(design, {c: df[c].to_numpy() for c in df.columns}, index=df.index, cmap=cmap)
        w = None if weights is None else validate_weights(df[weights].to_numpy(), weights, index=df.index)
        return _tables(design, cols, w), len(df), incomplete_patterns(design, cols, w), w

    parts = [dask.delayed(part_sums)(p) for p in ddf.to_delayed()]
    results = dask.compute(*parts)
    if not results:
        raise DataError("the dask DataFrame has no partitions")
    tables, tally = None, None if weights is None else WeightTally(weights)
    for t, _, _, w in results:
        tables = _add_tables(tables, t)
        if tally is not None:
            tally.add(w)
    return _stats_of(design, int(sum(r[1] for r in results)), tables, notes, [r[2] for r in results], tally)


def _merge(parts: list[tuple[np.ndarray, ...]], dims: Sequence[int]) -> Patterns | None:
    """One :class:`Patterns` of the incomplete rows of several chunks (None when every row was complete); parts
    are (codes, counts) or, with sampling weights, (codes, rows, weight sums, squared weight sums)."""
    parts = [p for p in parts if len(p[1])]
    if not parts:
        return None
    codes, inverse = np.unique(np.concatenate([p[0] for p in parts]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    sums = [np.bincount(inverse, weights=np.concatenate([p[j] for p in parts]), minlength=len(codes))
            for j in range(1, len(parts[0]))]
    if len(sums) == 1:
        return Patterns(codes, sums[0], tuple(int(d) for d in dims))
    return Patterns(codes, sums[1], tuple(int(d) for d in dims), squares=sums[2], rows=sums[0])


# ------------------------------------------------------------------------------------- response patterns
@dataclass
class Patterns:
    """Observed response patterns (rows of category codes, axes as the model's cells) and their counts.

    With sampling weights, ``counts`` are the sums of the rows' weights (what the likelihood multiplies each
    pattern's log-probability by), ``squares`` the sums of their squared weights (the sandwich variance needs
    them) and ``rows`` the numbers of rows; without, both are None (``squares`` and ``rows`` equal ``counts``).
    """

    codes: np.ndarray  # (P, m) int64
    counts: np.ndarray  # (P,) float
    dims: tuple[int, ...]
    notes: list[str] = field(default_factory=list)  # notices from reading the data (columns ignored)
    squares: np.ndarray | None = None  # (P,) sums of squared weights (None: unweighted)
    rows: np.ndarray | None = None  # (P,) rows per pattern (None: unweighted, the counts)

    @property
    def weighted(self) -> bool:
        return self.squares is not None

    @property
    def row_counts(self) -> np.ndarray:
        """Rows per pattern (the counts when unweighted)."""
        return self.counts if self.rows is None else self.rows

    def subset(self, keep: np.ndarray) -> Patterns:
        """The patterns selected by a mask or indices (weights carried along)."""
        return Patterns(self.codes[keep], self.counts[keep], self.dims, self.notes,
                        None if self.squares is None else self.squares[keep],
                        None if self.rows is None else self.rows[keep])

    @classmethod
    def from_table(cls, table: np.ndarray, squares: np.ndarray | None = None,
                   rows: np.ndarray | None = None) -> Patterns:
        """The non-empty cells of a contingency table; with sampling weights, ``table`` holds the weighted counts
        and ``squares`` and ``rows`` the tables of squared weights and of rows (a cell whose rows all weigh 0 is
        kept, with count 0)."""
        table = np.asarray(table, dtype=float)
        if (table < 0).any() or not np.isfinite(table).all():
            raise DataError("a contingency table must hold finite non-negative counts")
        cells = np.flatnonzero(table.ravel() if rows is None else np.asarray(rows).ravel())
        pick = (lambda t: None if t is None else np.asarray(t, float).ravel()[cells])  # noqa: E731
        return cls(np.stack(np.unravel_index(cells, table.shape), axis=1).astype(np.int64), table.ravel()[cells],
                   table.shape, squares=pick(squares), rows=pick(rows))

    def marginal(self, axes: Sequence[int]) -> np.ndarray:
        """Counts of the marginal table of these axes (in that order) over the complete rows, from the patterns
        alone."""
        shape = tuple(self.dims[a] for a in axes)
        complete = (self.codes >= 0).all(axis=1)  # the complete rows (the constructive estimators use these)
        if not axes:
            return np.asarray(self.counts[complete].sum())
        cells = np.ravel_multi_index(tuple(self.codes[complete, a] for a in axes), shape)
        return np.bincount(cells, weights=self.counts[complete], minlength=math.prod(shape)).reshape(shape)

    @classmethod
    def from_columns(cls, columns: Sequence[np.ndarray], dims: Sequence[int]) -> Patterns:
        """Unique rows of validated integer columns with their counts (no dense table)."""
        rows = np.stack([np.asarray(c, dtype=np.int64) for c in columns], axis=1)
        codes, counts = np.unique(rows, axis=0, return_counts=True)
        return cls(codes, counts.astype(float), tuple(int(d) for d in dims))


def patterns_from_data(design: Design, data, chunksize: int = 1_000_000, columns=None,
                       tally: WeightTally | None = None) -> Patterns:
    """Observed response patterns and counts of a data set, without the dense table.

    Accepts what :func:`mixid.estimate.data.sufficient_stats` accepts (DataFrame, mapping, CSV/Parquet path,
    dask DataFrame), read chunk by chunk (``columns`` maps design variables to data columns; other columns are
    ignored, with the notice in ``notes``). With a weights ``tally`` (:class:`WeightTally`), the counts are the
    sums of the weights of its column (and ``squares``, ``rows`` are kept). Patterns are encoded as one integer
    per row when the table's size fits in 62 bits, else found row-wise.
    """
    names = data_columns(design)
    dims = cell_dims(design)
    cmap = column_map(design, columns)
    weights = None if tally is None else tally.column
    notes, raw = _raw_chunks(design, data, cmap, chunksize, weights)
    # a missing answer (MISSING) is one more value per axis: codes are shifted by one, missing becomes 0
    shifted = [d + 1 for d in dims]
    packed = sum(np.log2(d) for d in shifted) < 62
    found: list[tuple[np.ndarray, np.ndarray]] = []
    n = 0
    for chunk in raw:
        cols = validate_columns(design, chunk, offset=n, cmap=cmap)
        rows = np.stack([cols[c] for c in names], axis=1)
        if packed:
            code = np.zeros(len(rows), dtype=np.int64)
            for j, d in enumerate(shifted):
                code = code * d + np.maximum(rows[:, j], -1) + 1
            keys, inverse, counts = np.unique(code, return_inverse=True, return_counts=True)
        else:
            keys, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
        sums = [counts.astype(float)]
        if tally is not None:
            w = validate_weights(chunk[weights], weights, offset=n)
            if len(w) != len(rows):
                raise DataError(f"weights column '{weights}' has {len(w)} rows, the other columns {len(rows)}")
            tally.add(w)
            inverse = inverse.ravel()
            sums += [np.bincount(inverse, weights=w, minlength=len(keys)),
                     np.bincount(inverse, weights=w * w, minlength=len(keys))]
        n += len(rows)
        found.append((keys, sums))
    if n < MIN_ROWS:
        raise DataError(f"too few rows: {n} (need at least {MIN_ROWS})")
    keys = np.concatenate([f[0] for f in found])
    if packed:
        uniq, inverse = np.unique(keys, return_inverse=True)
        codes = np.stack(np.unravel_index(uniq, shifted), axis=1).astype(np.int64) - 1 if len(uniq) else \
            np.zeros((0, len(dims)), np.int64)
    else:
        codes, inverse = np.unique(keys, axis=0, return_inverse=True)
    codes = np.where(codes < 0, MISSING, codes)
    totals = [np.bincount(inverse.ravel(), weights=np.concatenate([f[1][j] for f in found]), minlength=len(codes))
              for j in range(len(found[0][1]))]
    if tally is None:
        return Patterns(codes, totals[0], tuple(dims), notes)
    return Patterns(codes, totals[1], tuple(dims), notes, squares=totals[2], rows=totals[0])
