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
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mixid.identify import Design
from mixid.identify.design import shown
from mixid.identify.errors import DataError, DesignError

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


def _select(design: Design, present: Iterable, cmap: Mapping[str, str]) -> list[str]:
    """Check that every mapped column is present; the notice naming the columns that are ignored (or none)."""
    present = list(present)
    have = set(present)
    for var, col in cmap.items():
        if col not in have:
            if col == var:
                raise DataError(f"missing column '{col}' (the design needs {', '.join(cmap.values())}; "
                                f"name another column with --columns {var}=... or columns={{'{var}': ...}})")
            raise DataError(f"column '{col}' (mapped to variable {var}) is not in the data")
    used = set(cmap.values()) | set(design.covariates)  # covariates are read apart (estimate.covariates)
    extra = [str(c) for c in present if c not in used]
    if not extra:
        return []
    shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
    return [f"ignored {len(extra)} column{'s' if len(extra) > 1 else ''} the design does not use: {shown}"]


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


def incomplete_patterns(design: Design, cols: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows with a missing answer (codes, :data:`MISSING` where missing) and their counts."""
    mask = complete_rows(design, cols)
    m = len(_axis_dims(design))
    if mask is None:
        return np.zeros((0, m), np.int64), np.zeros(0)
    rows = np.stack([cols[n][~mask] for n, _, _ in _axis_dims(design)], axis=1).astype(np.int64)
    codes, counts = np.unique(rows, axis=0, return_counts=True)
    return codes, counts.astype(float)


def chunk_sums(design: Design, cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sums of feature products over the complete rows of validated columns (one pass, bincount); rows with a
    missing answer are left out (see :func:`incomplete_patterns`)."""
    mask = complete_rows(design, cols)
    if mask is not None:
        cols = {name: col[mask] for name, col in cols.items()}
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
        weights = np.ones(n_rows)
        for (name, _), f in zip(cont, feats):
            if f:
                weights = weights * cols[name] ** f
        out[(slice(None), *feats)] = np.bincount(code, weights=None if not cont else weights, minlength=size)
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
                     memory_budget: int | None = None, missing: str = "fiml") -> SufficientStats:
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
        if columns is not None:
            raise DataError("columns= maps data columns, but the data are already sufficient statistics")
        return data
    return _check_totals(design, _resolve_missing(_read_stats(design, data, columns, chunksize, keep_rows,
                                                               memory_budget), missing))


def _read_stats(design: Design, data: Any, columns, chunksize: int, keep_rows: bool, memory_budget) -> SufficientStats:
    """The statistics of every row (incomplete ones kept apart), before the missing answers are handled."""
    cells = math.prod(cell_dims(design))
    if cells > MAX_DENSE_CELLS:  # never allocated: 30 binary items would need 8 GiB
        if not all(v.categorical for v in design.variables):
            raise DataError(f"the design's table of moments would have {cells:,} cells (over {MAX_DENSE_CELLS:,});"
                            " with continuous variables it must be held densely: use fewer or smaller variables")
        patterns = patterns_from_data(design, data, chunksize=chunksize, columns=columns)
        return SufficientStats(design, int(patterns.counts.sum()), None, notes=list(patterns.notes),
                               patterns=patterns)
    cmap = column_map(design, columns)
    keep_rows = keep_rows and not all(v.categorical for v in design.variables)  # tables resample without rows
    memory_budget = MEMORY_BUDGET if memory_budget is None else memory_budget
    if isinstance(data, (str, Path)):
        return _from_file(design, Path(data), chunksize, cmap, keep_rows, memory_budget)
    if _is_dask(data):
        stats = _from_dask(design, data, cmap)
        if keep_rows:
            stats.rows_unavailable = "a dask DataFrame is summed where it lives, not loaded in memory"
        return stats
    if isinstance(data, pd.DataFrame):
        notes = _select(design, data.columns, cmap)
        cols = validate_columns(design, {c: data[c].to_numpy() for c in cmap.values()}, cmap=cmap)
    elif isinstance(data, Mapping):
        notes = _select(design, data.keys(), cmap)
        cols = validate_columns(design, data, cmap=cmap)
    else:
        raise DataError(f"cannot read data of type {type(data).__name__}: pass a DataFrame, a mapping of "
                        "arrays, a CSV/Parquet path or a dask DataFrame")
    n = len(next(iter(cols.values())))
    mask = complete_rows(design, cols)
    stats = SufficientStats(design, n, chunk_sums(design, cols), cols if mask is None else
                            {name: col[mask] for name, col in cols.items()}, notes,
                            incomplete=_merge([incomplete_patterns(design, cols)], cell_dims(design)))
    return stats


def _resolve_missing(stats: SufficientStats, missing: str) -> SufficientStats:
    """Report the missing answers, and keep the rows that have some for maximum likelihood (``fiml``: every row,
    as observed response patterns with missing codes) or leave them out (``drop``, and designs with continuous
    variables, which are estimated on moments of complete rows)."""
    design, n = stats.design, stats.n
    names = data_columns(design)
    if stats.patterns is not None:  # the patterns path: incomplete rows are patterns with a missing code
        inc_rows = (stats.patterns.codes < 0).any(axis=1)
        incomplete = Patterns(stats.patterns.codes[inc_rows], stats.patterns.counts[inc_rows], stats.patterns.dims)
    else:
        incomplete = stats.incomplete
    lost = 0.0 if incomplete is None else float(incomplete.counts.sum())
    per_column = {} if incomplete is None else {
        v: int(incomplete.counts[incomplete.codes[:, j] < 0].sum()) for j, v in enumerate(names)}
    categorical = [j for j, v in enumerate(names) if v == design.latent or design.variable(v).categorical]
    empty = 0 if incomplete is None else int(incomplete.counts[(incomplete.codes[:, categorical] < 0).all(axis=1)]
                                             .sum())
    stats.missing = {"rows": int(n), "complete_rows": int(n - lost),
                     "missing_answers": {v: c for v, c in per_column.items() if c},
                     "rows_without_answers": empty, "handling": missing}
    stats.incomplete = None
    if not lost:
        return stats
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
        if stats.patterns is None:
            stats.patterns = Patterns.from_table(stats.sums) if stats.sums.any() else \
                Patterns(np.zeros((0, len(names)), np.int64), np.zeros(0), tuple(cell_dims(design)))
            stats.patterns = Patterns(np.concatenate([stats.patterns.codes, incomplete.codes]),
                                      np.concatenate([stats.patterns.counts, incomplete.counts]),
                                      stats.patterns.dims)
        stats.notes.append(f"{int(lost):,} of {n:,} rows have a missing answer: maximum likelihood uses every row "
                           "(FIML: it sums over the missing answers, valid when they are missing at random); "
                           f"estimators built on the table use the {int(n - lost):,} complete rows"
                           + (f"; {empty:,} rows have no answer at all (kept: they add nothing)" if empty else ""))
        return stats
    why = "missing='drop'" if missing == "drop" else "a design with continuous variables uses complete rows"
    stats.n = stats.complete = int(n - lost)
    if stats.patterns is not None:
        keep = ~(stats.patterns.codes < 0).any(axis=1)
        stats.patterns = Patterns(stats.patterns.codes[keep], stats.patterns.counts[keep], stats.patterns.dims,
                                  stats.patterns.notes)
    stats.notes.append(f"left out {int(lost):,} of {n:,} rows with a missing answer ({why})")
    return stats


def _from_file(design: Design, path: Path, chunksize: int, cmap: dict[str, str], keep_rows: bool,
               memory_budget: int) -> SufficientStats:
    notes, iterator = _file_chunks(design, path, chunksize, cmap)
    incomplete: list = []
    total, n, kept = _accumulate(design, iterator, cmap, keep_rows, memory_budget, incomplete)
    if total is None:
        raise DataError(f"data file '{path}' has no rows")
    stats = SufficientStats(design, n, total, notes=notes, incomplete=_merge(incomplete, cell_dims(design)))
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


def _file_chunks(design: Design, path: Path, chunksize: int, cmap: dict[str, str]
                 ) -> tuple[list[str], Iterator[dict[str, np.ndarray]]]:
    """The notices of a CSV or Parquet file's columns and its chunks (only the columns the design uses, keyed by
    data column); a file that cannot be parsed raises DataError, also midway through the chunks."""
    if not path.exists():
        raise DataError(f"data file '{path}' does not exist")
    _check_regular(path)
    suffix = path.suffix.lower()
    wanted = list(cmap.values())
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
        notes = _select(design, header, cmap)
        _check_ragged(path, len(header))
        return notes, csv_chunks()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(f"cannot read Parquet file '{path}': {exc}") from None
        names = pf.schema_arrow.names
        twice = next((c for c in names if names.count(c) > 1), None)
        if twice is not None:
            raise DataError(f"Parquet file '{path}' has column {shown(twice)} twice")
        notes = _select(design, names, cmap)
        return notes, ({c: b.column(c).to_numpy(zero_copy_only=False) for c in wanted}
                       for b in pf.iter_batches(batch_size=chunksize, columns=wanted))
    raise DataError(f"data file '{path}' must end in .csv or .parquet")


def _check_regular(path: Path) -> None:
    """A data file must be a regular file (links followed): a folder, a FIFO or a device (``/dev/zero``) would
    fail late, block, or never end."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise DataError(f"data file '{path}' is {kind}, not a regular file")


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
    if isinstance(data, (str, Path)):
        notes, raw = _file_chunks(design, Path(data), chunksize, cmap)
    elif _is_dask(data):
        notes = _select(design, data.columns, cmap)
        raw = ({c: part[c].to_numpy() for c in cmap.values()}
               for part in (p.compute() for p in data[list(cmap.values())].to_delayed()))
    elif isinstance(data, pd.DataFrame):
        notes, raw = _select(design, data.columns, cmap), iter([{c: data[c].to_numpy() for c in cmap.values()}])
    elif isinstance(data, Mapping):
        notes, raw = _select(design, data.keys(), cmap), iter([data])
    else:
        raise DataError(f"cannot read data of type {type(data).__name__}: pass a DataFrame, a mapping of "
                        "arrays, a CSV/Parquet path or a dask DataFrame")

    def validated() -> Iterator[dict[str, np.ndarray]]:
        n = 0
        for chunk in raw:
            cols = validate_columns(design, chunk, offset=n, cmap=cmap)
            n += len(next(iter(cols.values())))
            yield cols

    return notes, validated()


def _accumulate(design: Design, chunks: Iterable[Mapping[str, np.ndarray]], cmap: dict[str, str],
                keep_rows: bool = False, memory_budget: int = 0, incomplete: list | None = None
                ) -> tuple[np.ndarray | None, int, dict[str, np.ndarray] | None]:
    """Sums over chunks (complete rows); with ``keep_rows``, also the validated complete rows while they fit in
    ``memory_budget``; the patterns of the rows with a missing answer are appended to ``incomplete``."""
    total, n = None, 0
    kept: dict[str, list[np.ndarray]] | None = {} if keep_rows else None
    for chunk in chunks:
        cols = validate_columns(design, chunk, offset=n, cmap=cmap)
        sums = chunk_sums(design, cols)
        total = sums if total is None else total + sums
        if not np.isfinite(total).all():  # each chunk was finite: the running sums overflow
            raise DataError(_overflow_message(design, cols))
        n += len(next(iter(cols.values())))
        if incomplete is not None:
            incomplete.append(incomplete_patterns(design, cols))
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


def _from_dask(design: Design, ddf: Any, cmap: dict[str, str]) -> SufficientStats:
    """Partial sums per partition on the dask engine (only the columns the design uses), added up there too."""
    import dask

    notes = _select(design, ddf.columns, cmap)
    ddf = ddf[list(cmap.values())]

    def part_sums(df: pd.DataFrame) -> tuple[np.ndarray, int, tuple]:
        cols = validate_columns(design, {c: df[c].to_numpy() for c in df.columns}, index=df.index, cmap=cmap)
        return chunk_sums(design, cols), len(df), incomplete_patterns(design, cols)

    parts = [dask.delayed(part_sums)(p) for p in ddf.to_delayed()]
    results = dask.compute(*parts)
    if not results:
        raise DataError("the dask DataFrame has no partitions")
    return SufficientStats(design, int(sum(n for _, n, _ in results)), sum(s for s, _, _ in results), notes=notes,
                           incomplete=_merge([p for _, _, p in results], cell_dims(design)))


def _merge(parts: list[tuple[np.ndarray, np.ndarray]], dims: Sequence[int]) -> Patterns | None:
    """One :class:`Patterns` of the incomplete rows of several chunks (None when every row was complete)."""
    parts = [p for p in parts if len(p[1])]
    if not parts:
        return None
    codes, inverse = np.unique(np.concatenate([c for c, _ in parts]), axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=np.concatenate([w for _, w in parts]))
    return Patterns(codes, counts, tuple(int(d) for d in dims))


# ------------------------------------------------------------------------------------- response patterns
@dataclass
class Patterns:
    """Observed response patterns (rows of category codes, axes as the model's cells) and their counts."""

    codes: np.ndarray  # (P, m) int64
    counts: np.ndarray  # (P,) float
    dims: tuple[int, ...]
    notes: list[str] = field(default_factory=list)  # notices from reading the data (columns ignored)

    @classmethod
    def from_table(cls, table: np.ndarray) -> Patterns:
        """The non-empty cells of a contingency table."""
        table = np.asarray(table, dtype=float)
        if (table < 0).any() or not np.isfinite(table).all():
            raise DataError("a contingency table must hold finite non-negative counts")
        cells = np.flatnonzero(table.ravel())
        return cls(np.stack(np.unravel_index(cells, table.shape), axis=1).astype(np.int64), table.ravel()[cells],
                   table.shape)

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


def patterns_from_data(design: Design, data, chunksize: int = 1_000_000, columns=None) -> Patterns:
    """Observed response patterns and counts of a data set, without the dense table.

    Accepts what :func:`mixid.estimate.data.sufficient_stats` accepts (DataFrame, mapping, CSV/Parquet path,
    dask DataFrame), read chunk by chunk by :func:`mixid.estimate.data.read_chunks` (``columns`` maps design
    variables to data columns; other columns are ignored, with the notice in ``notes``). Patterns are encoded as
    one integer per row when the table's size fits in 62 bits, else found row-wise.
    """
    names = data_columns(design)
    dims = cell_dims(design)
    notes, chunks = read_chunks(design, data, columns, chunksize)
    # a missing answer (MISSING) is one more value per axis: codes are shifted by one, missing becomes 0
    shifted = [d + 1 for d in dims]
    packed = sum(np.log2(d) for d in shifted) < 62
    found: list[tuple[np.ndarray, np.ndarray]] = []
    n = 0
    for cols in chunks:
        rows = np.stack([cols[c] for c in names], axis=1)
        n += len(rows)
        if packed:
            code = np.zeros(len(rows), dtype=np.int64)
            for j, d in enumerate(shifted):
                code = code * d + np.maximum(rows[:, j], -1) + 1
            found.append(np.unique(code, return_counts=True))
        else:
            found.append(np.unique(rows, axis=0, return_counts=True))
    if n < MIN_ROWS:
        raise DataError(f"too few rows: {n} (need at least {MIN_ROWS})")
    keys = np.concatenate([f[0] for f in found])
    counts = np.concatenate([f[1] for f in found]).astype(float)
    if packed:
        uniq, inverse = np.unique(keys, return_inverse=True)
        codes = np.stack(np.unravel_index(uniq, shifted), axis=1).astype(np.int64) - 1 if len(uniq) else \
            np.zeros((0, len(dims)), np.int64)
    else:
        codes, inverse = np.unique(keys, axis=0, return_inverse=True)
    codes = np.where(codes < 0, MISSING, codes)
    return Patterns(codes, np.bincount(inverse.ravel(), weights=counts), tuple(dims), notes)
