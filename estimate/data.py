"""Data loading, validation against a design, and sufficient statistics in one pass.

Every estimator consumes one object: the tensor of sums over rows of ``phi_1(V_1) (x) ... (x) phi_m(V_m)``, with
one-hot features for categorical variables and ``1, v, ..., v**(m-1)`` for continuous ones, over the design's
variables in declaration order (then U when it is observed). For categorical data it is the contingency table,
computed by ``numpy.bincount`` on a combined code; continuous columns add weighted bincounts. The layout is the
one of :class:`mixid.identify.Model`'s observable tensor, so exact population moments drop in unchanged.

Sources: a pandas DataFrame, a mapping of arrays, a CSV or Parquet path (streamed in chunks when large), or a
dask DataFrame (partial sums computed on the dask engine).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mixid.identify import Design
from mixid.identify.errors import DataError

MIN_ROWS = 10


@dataclass
class SufficientStats:
    """Sums of feature products over the rows of a data set (see the module docstring).

    ``columns`` keeps the validated columns when the data were in memory, so that designs with continuous
    variables can be bootstrapped by resampling rows; categorical designs never need them.
    """

    design: Design
    n: int
    sums: np.ndarray
    columns: dict[str, np.ndarray] | None = field(default=None, repr=False)

    @property
    def tensor(self) -> np.ndarray:
        """Normalised moments: the joint probability table for categorical data."""
        return self.sums / self.n

    @property
    def categorical(self) -> bool:
        return all(v.categorical for v in self.design.variables)

    def arm_counts(self) -> np.ndarray:
        """Rows in each treatment arm."""
        from mixid.identify import Model

        counts = Model(self.design).marginal(self.sums, (self.design.treatment,))
        return counts.reshape(2, -1).sum(axis=1)  # an observed U is a trailing axis: sum it out


def data_columns(design: Design) -> tuple[str, ...]:
    """The columns a data set for ``design`` must have, in tensor-axis order."""
    return design.names + ((design.latent,) if design.latent_observed else ())


def _axis_dims(design: Design) -> list[tuple[str, int, bool]]:
    out = [(v.name, v.dim, v.categorical) for v in design.variables]
    if design.latent_observed:
        out.append((design.latent, design.classes, True))
    return out


def validate_columns(design: Design, frame: Mapping[str, Any], offset: int = 0,
                     index: Iterable | None = None) -> dict[str, np.ndarray]:
    """Check one chunk of columns against the design; return them as numpy arrays (codes as int64).

    Raises :class:`DataError` naming the column and the first bad row (``offset`` + position, or the index
    label when ``index`` is given).
    """
    names = data_columns(design)
    present = list(frame.keys())
    missing = [c for c in names if c not in present]
    if missing:
        raise DataError(f"missing column '{missing[0]}' (the design needs {', '.join(names)})")
    extra = [c for c in present if c not in names]
    if extra:
        raise DataError(f"unexpected column '{extra[0]}': not a variable of the design (drop it explicitly)")
    labels = None if index is None else list(index)

    def where(pos: int) -> str:
        return f"row {labels[pos]!r}" if labels is not None else f"row {offset + pos}"

    out = {}
    lengths = set()
    for name, dim, categorical in _axis_dims(design):
        raw = np.asarray(frame[name])
        if raw.dtype.kind == "b":
            raise DataError(f"column '{name}' holds booleans; give numbers (integer codes for categories)")
        if raw.dtype.kind in "OUS":  # strings or mixed objects: nothing is coerced silently
            bad = next((i for i, v in enumerate(raw.ravel()) if not _is_number(v)), None)
            if bad is not None:
                raise DataError(f"column '{name}' has a non-numeric value {raw.ravel()[bad]!r} at {where(bad)}")
        if raw.ndim != 1:
            raise DataError(f"column '{name}' must be one-dimensional")
        lengths.add(len(raw))
        if categorical and raw.dtype.kind in "iu":  # integer codes: a range check is all they need (fast path)
            if len(raw) and (raw.min() < 0 or raw.max() >= dim):
                first = int(np.flatnonzero((raw < 0) | (raw >= dim))[0])
                role = "treatment" if name == design.treatment else "categorical"
                raise DataError(f"{role} column '{name}' must hold integer codes 0..{dim - 1}; "
                                f"found {int(raw[first])} at {where(first)}")
            out[name] = raw.astype(np.int64, copy=False)
            continue
        col = raw.astype(float)
        bad = np.flatnonzero(~np.isfinite(col))
        if len(bad):
            raise DataError(f"column '{name}' has a missing or infinite value at {where(int(bad[0]))}")
        if categorical:
            bad = np.flatnonzero((col != np.round(col)) | (col < 0) | (col >= dim))
            if len(bad):
                role = "treatment" if name == design.treatment else "categorical"
                raise DataError(f"{role} column '{name}' must hold integer codes 0..{dim - 1}; "
                                f"found {float(col[bad[0]]):g} at {where(int(bad[0]))}")
            out[name] = col.astype(np.int64)
        else:
            out[name] = col
    if len(lengths) > 1:
        raise DataError(f"columns have different lengths: {sorted(lengths)}")
    return out


def _is_number(v: Any) -> bool:
    """A real number that is not a bool or a string (``"1"`` is text, not a code)."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def chunk_sums(design: Design, cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sums of feature products over the rows of validated columns (one pass, bincount)."""
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
    out = out.reshape([d for _, d in cat] + cont_dims)
    # axes are categorical-then-continuous; restore declaration order
    order = [n for n, _ in cat] + [n for n, _ in cont]
    return out.transpose([order.index(n) for n, _, _ in axes])


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


def sufficient_stats(design: Design, data: Any, *, chunksize: int = 1_000_000) -> SufficientStats:
    """Validate ``data`` against ``design`` and compute its sufficient statistics.

    Parameters
    ----------
    design : Design
    data : pandas.DataFrame, mapping of arrays, str or Path (``.csv``, ``.parquet``), or dask DataFrame
        One column per observed variable (and U when the design observes it); categorical values are
        integer codes ``0..c-1``.
    chunksize : int
        Rows per chunk when streaming a file.

    Examples
    --------
    >>> from mixid.identify import Design
    >>> d = Design.builtin("paper-level2")
    >>> cols = {"Z": [0, 1] * 10, "X": [1, 0] * 10, "T": [0, 0, 1, 1] * 5, "Y": [1] * 20}
    >>> s = sufficient_stats(d, cols)
    >>> s.n, s.sums.shape, float(s.tensor.sum())
    (20, (2, 2, 2, 2), 1.0)
    """
    if isinstance(data, SufficientStats):
        return data
    if isinstance(data, (str, Path)):
        return _check_totals(design, _from_file(design, Path(data), chunksize))
    if _is_dask(data):
        return _check_totals(design, _from_dask(design, data))
    if isinstance(data, pd.DataFrame):
        cols = validate_columns(design, {c: data[c].to_numpy() for c in data.columns})
    elif isinstance(data, Mapping):
        cols = validate_columns(design, data)
    else:
        raise DataError(f"cannot read data of type {type(data).__name__}: pass a DataFrame, a mapping of "
                        "arrays, a CSV/Parquet path or a dask DataFrame")
    n = len(next(iter(cols.values())))
    return _check_totals(design, SufficientStats(design, n, chunk_sums(design, cols), cols))


def _from_file(design: Design, path: Path, chunksize: int) -> SufficientStats:
    if not path.exists():
        raise DataError(f"data file '{path}' does not exist")
    suffix = path.suffix.lower()
    total, n = None, 0
    if suffix == ".csv":
        try:
            chunks = pd.read_csv(path, chunksize=chunksize)
            iterator = ({c: ch[c].to_numpy() for c in ch.columns} for ch in chunks)
            total, n = _accumulate(design, iterator)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot parse CSV file '{path}': {str(exc).strip().splitlines()[0]}") from None
    elif suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise DataError(f"cannot read Parquet file '{path}': {exc}") from None
        iterator = ({c: b.column(c).to_numpy(zero_copy_only=False) for c in b.schema.names}
                    for b in pf.iter_batches(batch_size=chunksize))
        total, n = _accumulate(design, iterator)
    else:
        raise DataError(f"data file '{path}' must end in .csv or .parquet")
    if total is None:
        raise DataError(f"data file '{path}' has no rows")
    return SufficientStats(design, n, total)


def _accumulate(design: Design, chunks: Iterable[Mapping[str, np.ndarray]]) -> tuple[np.ndarray | None, int]:
    total, n = None, 0
    for chunk in chunks:
        cols = validate_columns(design, chunk, offset=n)
        sums = chunk_sums(design, cols)
        total = sums if total is None else total + sums
        n += len(next(iter(cols.values())))
    return total, n


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask")


def _from_dask(design: Design, ddf: Any) -> SufficientStats:
    """Partial sums per partition on the dask engine, added up there too."""
    import dask

    def part_sums(df: pd.DataFrame) -> tuple[np.ndarray, int]:
        cols = validate_columns(design, {c: df[c].to_numpy() for c in df.columns}, index=df.index)
        return chunk_sums(design, cols), len(df)

    parts = [dask.delayed(part_sums)(p) for p in ddf.to_delayed()]
    results = dask.compute(*parts)
    if not results:
        raise DataError("the dask DataFrame has no partitions")
    return SufficientStats(design, int(sum(n for _, n in results)), sum(s for s, _ in results))
