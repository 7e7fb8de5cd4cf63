"""The latent class likelihood of a design: its parameters as tables, the EM step, posteriors and derivatives.

The model is the one :class:`mixid.identify.Model` parametrises: P(U) and every P(V | parents(V), U), for any DAG
among categorical observed variables. The data enter only through the observed response patterns and their
counts (:class:`mixid.estimate.data.Patterns`), so the cost of an iteration does not grow with the number of
rows, and a table too large to hold densely is never built.

EM is vectorised over patterns *and* over starts: every start is one slice of a batch. E-step: class posteriors
per pattern; M-step: posterior-weighted counts per conditional table (one sparse product per variable). SQUAREM
(Varadhan and Roland 2008) extrapolates the EM map, with EM's monotonicity kept by a fallback step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import scipy.sparse
from mixid.identify import Design, Model
from mixid.identify.errors import DataError, DesignError
from mixid.identify.model import LAST, ONE

from ..data import Patterns

#: EM stops when one SQUAREM cycle raises the log-likelihood by less than this (absolute).
TOL = 1e-10
#: A probability closer than this to 0 or 1 is reported as on the boundary.
BOUNDARY = 1e-6
#: Cells less probable than this are left out of the information (their rows are J J^T / p with p -> 0).
LIVE = 1e-12
#: Factor tables (cells x classes x factors) up to this size are evaluated by the fibre engine's FastMap.
FAST_MAP_ENTRIES = 250_000



def squarem(em_step, X: np.ndarray, data, tol: float, max_iter: int, bounded: slice = slice(None),
            normalise=None) -> tuple[np.ndarray, np.ndarray]:
    """SQUAREM-accelerated EM from every state of the batch ``X`` (``em_step(X, data)`` -> (next states, their
    log-likelihoods before the step)): the states and whether each converged (log-likelihood change below
    ``tol``). An extrapolation whose ``bounded`` coordinates leave [0, 1] steps back towards plain EM, and one
    that lowers the likelihood falls back to EM, so the likelihood never decreases; ``normalise(Xp)`` puts an
    extrapolated batch back on its simplices when the coordinates are not the free ones."""
    S = len(X)
    active = np.ones(S, dtype=bool)
    ll_prev = np.full(S, -np.inf)
    step_max = np.ones(S)  # SQUAREM's adaptive cap on the extrapolation length (R package SQUAREM: mstep 4)
    for _ in range(max_iter):
        X1, ll0 = em_step(X, data)
        X2, _ = em_step(X1, data)
        r = X1 - X
        v = X2 - X1 - r
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.linalg.norm(r, axis=1) / np.linalg.norm(v, axis=1)
        alpha = np.clip(np.where(np.isfinite(alpha), alpha, 1.0), 1.0, step_max)
        for _ in range(8):  # step back towards plain EM while the extrapolation leaves the simplex
            Xp = X + 2 * alpha[:, None] * r + alpha[:, None] ** 2 * v
            bad = ((Xp[:, bounded] < 0) | (Xp[:, bounded] > 1)).any(axis=1) & (alpha > 1)
            if not bad.any():
                break
            alpha = np.where(bad, (alpha + 1) / 2, alpha)
        Xp = np.where(((Xp[:, bounded] < 0) | (Xp[:, bounded] > 1)).any(axis=1)[:, None], X2, Xp)
        if normalise is not None:
            Xp = normalise(Xp)
        with np.errstate(invalid="ignore", divide="ignore"):  # a wild extrapolation gives NaN: rejected below
            X3, llp = em_step(Xp, data)
            ok = llp >= ll0 - 1e-12 * np.abs(ll0)  # SQUAREM keeps EM's monotonicity or falls back to EM
        at_cap = alpha >= step_max
        step_max = np.where(ok & at_cap, 4 * step_max, np.where(~ok & at_cap, np.maximum(1, step_max / 4), step_max))
        X = np.where((active & ok)[:, None], X3, np.where(active[:, None], X2, X))
        with np.errstate(invalid="ignore"):  # a start at -inf (a seen pattern made impossible) leaves the batch
            done = ~np.isfinite(ll0) | (np.abs(ll0 - ll_prev) < tol)
        ll_prev = np.where(active, ll0, ll_prev)
        active &= ~done
        if not active.any():
            break
    return X, ~active

class Likelihood:
    """The latent class likelihood of a design, compiled once: tables, their codes and pattern indices.

    Tables are kept full (rows sum to one); ``to_point``/``from_point`` convert to the model's free parameters.

    Examples
    --------
    >>> from mixid.estimate.simulate import population_moments, random_params
    >>> d = Design.builtin("paper-level3")
    >>> lik = Likelihood(Model(d))
    >>> point = lik.model.random_point(np.random.default_rng(0))
    >>> bool(np.allclose(lik.to_point(*lik.from_point(point)), point))
    True
    """

    def __init__(self, model: Model):
        design = model.design
        if not all(v.categorical for v in design.variables):
            raise DesignError("maximum likelihood needs every variable categorical; designs with continuous "
                              "variables are estimated on their moments (md, spo, proximal)")
        self.model, self.design, self.k = model, design, model.k
        self.names = design.names
        self.dims = model.cell_dims
        self.observed_u = design.latent_observed
        # per variable (declaration order): parents' axes, its own dimension, number of parent configurations
        self.parents = [[self.names.index(p) for p in design.parents(v)] for v in self.names]
        self.cats = [model.dims[v] for v in self.names]
        self.n_pa = [int(np.prod([self.dims[a] for a in pa])) if pa else 1 for pa in self.parents]

    # ------------------------------------------------------------------ parameter conversions
    def from_point(self, point: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """(pi (k,), tables [(n_pa, k, C)]) of a free-parameter vector."""
        entries = self._entries(point)
        pi = entries[:self.k]
        tables, start = [], self.k
        for v in self.names:
            shape = self.model.tables[v].shape
            tables.append(entries[start:start + int(np.prod(shape))].reshape(shape))
            start += int(np.prod(shape))
        return pi, tables

    @cached_property
    def _entry_map(self) -> tuple[np.ndarray | scipy.sparse.csr_matrix, np.ndarray]:
        """(A, b) with every table entry = A @ point + b: a free entry is its parameter, an implied last
        category 1 minus its row's free entries, a constant 1 is b alone. Entries in the order of :meth:`_rows`.
        A is sparse unless small (a large dense product goes through threaded BLAS and is slower)."""
        r, c, v = [], [], []
        b = []
        for row in (row for table in self._rows() for row in table):
            free = [int(code) for code in row if code >= 0]
            for code in row:
                i = len(b)
                b.append(1.0 if code in (LAST, ONE) else 0.0)
                if code >= 0:
                    r.append(i), c.append(int(code)), v.append(1.0)
                elif code == LAST:
                    r += [i] * len(free)
                    c += free
                    v += [-1.0] * len(free)
        A = scipy.sparse.csr_matrix((v, (r, c)), shape=(len(b), self.model.n_params))
        return (A.toarray() if A.shape[0] * A.shape[1] <= 50_000 else A), np.array(b)

    def to_point(self, pi: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
        """The free-parameter vector of full tables (the inverse of :meth:`from_point`)."""
        point = np.zeros(self.model.n_params)
        codes = [self.model._pi[None, :]] + [self.model.tables[v] for v in self.names]
        for c, t in zip(codes, [np.asarray(pi)[None, :]] + list(tables)):
            free = c >= 0
            point[c[free]] = np.asarray(t)[free]
        return point

    # ----------------------------------------------------------------------------- indices
    def indices(self, patterns: Patterns) -> tuple[list[np.ndarray], list[scipy.sparse.csr_matrix], np.ndarray]:
        """Per variable: each pattern's flat index into its (n_pa * C) table, the one-hot map of those indices,
        and (when U is observed) each pattern's class."""
        codes = patterns.codes
        if codes.shape[1] != len(self.dims):
            raise DataError(f"patterns have {codes.shape[1]} columns; the design has {len(self.dims)}")
        flat, onehot = [], []
        P = len(codes)
        for i, pa in enumerate(self.parents):
            row = np.zeros(P, dtype=np.int64)
            for a in pa:
                row = row * self.dims[a] + codes[:, a]
            q = row * self.cats[i] + codes[:, i]
            answered = codes[:, i] >= 0  # a missing answer (a negative code) has no cell: its factor is 1
            q = np.where(answered, q, -1)
            flat.append(q)
            onehot.append(scipy.sparse.csr_matrix((np.ones(int(answered.sum())), (q[answered],
                                                                                 np.flatnonzero(answered))),
                                                  shape=(self.n_pa[i] * self.cats[i], P)))
        klass = codes[:, -1] if self.observed_u else None
        return flat, onehot, klass

    # ------------------------------------------------------------------- flat batch state
    # A batch of parameter sets is one array (S, D): pi (k), then each variable's table laid out (k, n_pa, C),
    # so that SQUAREM can treat a start as one vector and every table row is a contiguous slice.
    @property
    def sizes(self) -> list[int]:
        return [self.k] + [self.k * q * c for q, c in zip(self.n_pa, self.cats)]

    def pack(self, pi: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
        """Flat state of full tables in the model's layout ((n_pa, k, C) each)."""
        return np.concatenate([np.asarray(pi, float)] + [np.moveaxis(np.asarray(t, float), 1, 0).ravel()
                                                         for t in tables])

    def unpack(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """pi (S, k) and tables (S, k, n_pa, C) views of a batch state (S, D)."""
        S = X.shape[0]
        edges = self._edges
        tables = [X[:, a:b].reshape(S, self.k, q, c) for a, b, q, c in zip(edges[1:-1], edges[2:], self.n_pa,
                                                                           self.cats)]
        return X[:, :self.k], tables

    @cached_property
    def _edges(self) -> list[int]:
        return [0] + np.cumsum(self.sizes).tolist()

    def tables_of(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """pi (k,) and tables in the model's layout (n_pa, k, C) of one flat state."""
        pi, tables = self.unpack(x[None, :])
        return pi[0], [np.moveaxis(t[0], 0, 1) for t in tables]

    def normalise(self, X: np.ndarray) -> np.ndarray:
        pi, tables = self.unpack(X)
        parts = [pi / pi.sum(axis=1, keepdims=True)] + [(t / t.sum(axis=-1, keepdims=True)).reshape(len(X), -1)
                                                         for t in tables]
        return np.concatenate(parts, axis=1)

    def random_states(self, rng: np.random.Generator, S: int) -> np.ndarray:
        """S random interior starts: Dirichlet(1) rows for every table, Dirichlet(4) class weights."""
        parts = [rng.dirichlet(np.full(self.k, 4.0), size=S)]
        for q, c in zip(self.n_pa, self.cats):
            parts.append(rng.dirichlet(np.ones(c), size=(S, self.k, q)).reshape(S, self.k * q * c))
        return np.concatenate(parts, axis=1)

    # ---------------------------------------------------------------------------------- EM
    def em_step(self, X: np.ndarray, data: _Compiled) -> tuple[np.ndarray, np.ndarray]:
        """One EM step for every state of the batch: (new states, log-likelihood at the old ones)."""
        post, ll = self.posterior(X, data)
        w = post * data.counts[..., None, :]  # (S, k, P) expected counts of (pattern, class)
        S = len(X)
        total = w.sum(axis=(1, 2))[:, None]
        parts = [w.sum(axis=2) / total]
        _, old = self.unpack(X)
        flat_w = w.reshape(S * self.k, -1).T
        for onehot, t in zip(data.onehot, old):
            counts = np.asarray((onehot @ flat_w).T).reshape(t.shape)
            denom = counts.sum(axis=-1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                new = np.where(denom > 0, counts / denom, t)  # a row no pattern reaches keeps its value
            parts.append(new.reshape(S, -1))
        return np.concatenate(parts, axis=1), ll

    def log_joint(self, X: np.ndarray, data: _Compiled) -> np.ndarray:
        """log P(pattern, U=u) of a batch of states, shape (S, k, P) (-inf where impossible)."""
        pi, tables = self.unpack(X)
        S = len(X)
        with np.errstate(divide="ignore"):
            # patterns along the first axis, so that each variable adds whole rows of its small log table
            logj = np.repeat(np.log(pi).reshape(1, S * self.k), data.counts.shape[-1], axis=0)
            for t, q, absent in zip(tables, data.flat, data.absent):
                rows = np.ascontiguousarray(np.log(t.reshape(S * self.k, -1)).T)[q]
                if absent is not None:  # missing answers: summed over, their factor is 1 (log 0)
                    rows[absent] = 0.0
                logj += rows
            logj = logj.T.reshape(S, self.k, -1)
        if data.klass is not None:
            logj = np.where(np.arange(self.k)[None, :, None] == data.klass[None, None, :], logj, -np.inf)
        return logj

    def posterior(self, X: np.ndarray, data: _Compiled) -> tuple[np.ndarray, np.ndarray]:
        """Class posteriors (S, k, P) and log-likelihoods (S,) of a batch of states."""
        logj = self.log_joint(X, data)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll_p = _logsumexp(logj, axis=1)
            post = np.where(np.isfinite(ll_p)[:, None, :], np.exp(logj - ll_p[:, None, :]), 0.0)
        with np.errstate(invalid="ignore"):
            ll = np.where(data.counts > 0, ll_p * data.counts, 0.0).sum(axis=-1)  # an empty pattern adds nothing
        return post, np.where(np.isnan(ll), -np.inf, ll)

    def squarem(self, X: np.ndarray, data: _Compiled, tol: float = TOL, max_iter: int = 5000
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Maximise from every state of the batch: (states, log-likelihoods, converged flags)."""
        X, converged = squarem(self.em_step, X, data, tol, max_iter)
        _, ll = self.posterior(X, data)
        return X, ll, converged

    # ------------------------------------------------------------------------ Fisher scoring
    def cell_probs(self, point: np.ndarray) -> np.ndarray:
        """Probabilities of every cell of the model's table (flattened) at a free-parameter point."""
        if self._fast_map is not None:
            return self._fast_map.values(np.asarray(point))
        if self.observed_u:
            return self.model.evaluate(point)[0]
        return self.model.class_tensor(point).reshape(-1, self.k) @ self.model.weights(point)

    def evaluate(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cell probabilities and their Jacobian in the free parameters: ``Model.evaluate``'s values, on a
        small table from the fixed affine structure of the factors (the climbs ask for them thousands of times)."""
        if self._fast_map is not None:
            return self._fast_map(np.asarray(point))
        return self.model.evaluate(point)

    @cached_property
    def _fast_map(self):
        """The fibre engine's FastMap of the model when its factor table (cells x classes x factors) is at most
        FAST_MAP_ENTRIES (building it loops over every entry; on larger tables the generic loops are faster)."""
        from mixid.identify.fibre.system import FastMap

        if len(self.model._cells) * self.k * (len(self.names) + 1) > FAST_MAP_ENTRIES:
            return None
        return FastMap(self.model)

    def _project(self, point: np.ndarray) -> np.ndarray:
        """Every table row clipped to [0, 1] and renormalised (the identity inside the simplex)."""
        pi, tables = self.from_point(point)
        rows = [np.clip(pi, 0, None)] + [np.clip(t, 0, None) for t in tables]
        rows = [r / r.sum(axis=-1, keepdims=True) for r in rows]
        return self.to_point(rows[0], rows[1:])

    def point_of(self, x: np.ndarray) -> np.ndarray:
        """Free parameters of one flat state."""
        return self.to_point(*self.tables_of(x))

    def state_of(self, point: np.ndarray) -> np.ndarray:
        """Flat state of a free-parameter vector."""
        return self.pack(*self.from_point(point))

    @cached_property
    def _factor_gradients(self) -> list[np.ndarray]:
        """Gradient in the free parameters of every factor of every cell and class: [(N, k, d)], pi first.

        Each factor (a class weight, or one variable's probability in a cell) is affine in the free parameters:
        a free code has gradient e_j, the last category -sum of its siblings, a constant 0.
        """
        m, d = self.model, self.model.n_params
        N = len(m._cells)
        out = []
        pi_rows = np.broadcast_to(m._pi, (N, self.k, self.k))
        pi_codes = np.broadcast_to(m._pi, (N, self.k))
        for codes, rows in [(pi_codes, pi_rows)] + list(zip(m._cell_params, m._cell_rows)):
            G = np.zeros((N, self.k, d))
            cell, klass = np.nonzero(codes >= 0)
            G[cell, klass, codes[cell, klass]] = 1.0
            for cell, klass in zip(*np.nonzero(codes == LAST)):
                sib = rows[cell, klass]
                G[cell, klass, sib[sib >= 0]] -= 1.0
            out.append(G)
        return out

    @cached_property
    def _hessian_pattern(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The fixed sparsity of :meth:`weighted_hessian`: for every pair of factors a < b and every (cell, class)
        row r, the products grad g_a[r, i] grad g_b[r, j] that are not zero, as (pair, row, i * d + j, value),
        and the pairs' factors (a, b)."""
        d = self.model.n_params
        G = [g.reshape(-1, d) for g in self._factor_gradients]
        padded = []  # per factor: each row's non-zero columns and values, padded to the longest row
        for g in G:
            width = max(1, int((g != 0).sum(axis=1).max()))
            cols = np.argsort(g == 0, axis=1, kind="stable")[:, :width]
            padded.append((cols, np.take_along_axis(g, cols, axis=1)))
        pairs = [(a, b) for a in range(len(G)) for b in range(a + 1, len(G))]
        parts = []
        for p, (a, b) in enumerate(pairs):
            (ca, va), (cb, vb) = padded[a], padded[b]
            flat = (ca[:, :, None] * d + cb[:, None, :]).reshape(len(ca), -1)
            val = (va[:, :, None] * vb[:, None, :]).reshape(len(ca), -1)
            row, k = np.nonzero(val)
            parts.append((np.full(len(row), p), row, flat[row, k], val[row, k]))
        pair, row, flat, val = (np.concatenate(x) for x in zip(*parts))
        return pair, row, flat, val, np.array(pairs, dtype=np.int64).reshape(-1, 2)

    def weighted_hessian(self, point: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """sum_c weights_c * Hessian of P(cell c) in the free parameters (exact: the model is multilinear).

        P(c) = sum_u prod_a g_a(c, u) with affine factors g_a, so its Hessian is
        sum_u sum_{a != b} (prod_{e != a, b} g_e) grad g_a grad g_b^T: one weighted bincount over the fixed
        non-zero products of the factors' gradients (:attr:`_hessian_pattern`).
        """
        m = self.model
        N = len(m._cells)
        F = np.stack([np.broadcast_to(m.weights(point), (N, self.k))] + m._factor_values(point, None)).reshape(
            -1, N * self.k)
        d = m.n_params
        pair, row, flat, val, pairs = self._hessian_pattern
        # prod_{e != a, b} F_e for every pair (a, b): multiply in each factor except where it is a or b
        others = np.ones((len(pairs), F.shape[1]))
        for e in range(len(F)):
            skip = (pairs[:, 0] == e) | (pairs[:, 1] == e)
            others[~skip] *= F[e]
        coef = others * np.repeat(weights, self.k)[None, :]
        out = np.bincount(flat, weights=val * coef[pair, row], minlength=d * d).reshape(d, d)
        return out + out.T

    def _rows(self) -> list[np.ndarray]:
        """Every distribution row's parameter codes (class weights first), shape (rows, C) per table."""
        return [self.model._pi[None, :]] + [self.model.tables[v].reshape(-1, self.model.tables[v].shape[-1])
                                           for v in self.names]

    def _entries(self, point: np.ndarray) -> np.ndarray:
        """All full-table entries of a point, concatenated in the order of :meth:`_rows`."""
        A, b = self._entry_map
        return A @ np.asarray(point, dtype=float) + b

    def _zero_entries(self, point: np.ndarray, mask: np.ndarray) -> np.ndarray:
        pi, tables = self.from_point(point)
        sizes = np.cumsum([pi.size] + [t.size for t in tables])[:-1]
        parts = np.split(np.where(mask, 0.0, self._entries(point)), sizes)
        rows = [parts[0].reshape(pi.shape)] + [p.reshape(t.shape) for p, t in zip(parts[1:], tables)]
        rows = [r / r.sum(axis=-1, keepdims=True) for r in rows]
        return self.to_point(rows[0], rows[1:])

    def _face_basis(self, point: np.ndarray, score: np.ndarray, hold: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Directions in the free parameters that keep entries on the boundary at zero and rows summing to one.

        Per row, with interior entries e_1..e_m and a reference entry r among them: e_i - e_r (i != r); the
        last category (the dependent one) is the reference when it is interior. An entry below ``BOUNDARY``
        is held at zero unless its direction raises the likelihood (a violated Kuhn-Tucker condition).
        """
        entries = self._entries(point)
        at_zero = entries < BOUNDARY if hold else np.zeros(len(entries), dtype=bool)
        offset = 0
        for table in self._rows():
            for row in table:
                inside = [c for c in range(len(row)) if not at_zero[offset + c]]
                for c in range(len(row)):
                    if at_zero[offset + c] and inside and score @ self._direction(row, c, inside[-1]) > 0:
                        at_zero[offset + c] = False
                offset += len(row)
        cols = []
        offset = 0
        for table in self._rows():
            for row in table:
                inside = [c for c in range(len(row)) if not at_zero[offset + c]]
                offset += len(row)
                if len(inside) < 2:
                    continue
                ref = inside[-1]
                cols += [self._direction(row, c, ref) for c in inside[:-1]]
        basis = np.array(cols).T if cols else np.zeros((self.model.n_params, 0))
        return basis, at_zero

    def _direction(self, row: np.ndarray, c: int, ref: int) -> np.ndarray:
        """e_c - e_ref of one row's entries, in the free parameters (the last category is implicit)."""
        col = np.zeros(self.model.n_params)
        if row[c] >= 0:
            col[row[c]] += 1
        if row[ref] >= 0:
            col[row[ref]] -= 1
        return col


@dataclass
class _Compiled:
    """Pattern indices and counts, ready for the EM of one likelihood."""

    flat: list[np.ndarray]
    onehot: list[scipy.sparse.csr_matrix]
    klass: np.ndarray | None
    counts: np.ndarray
    absent: list[np.ndarray | None] | None = None  # per variable: the patterns missing its answer (None: none)

    def __post_init__(self) -> None:
        if self.absent is None:
            self.absent = [None if (q >= 0).all() else q < 0 for q in self.flat]

    @classmethod
    def build(cls, lik: Likelihood, patterns: Patterns) -> _Compiled:
        flat, onehot, klass = lik.indices(patterns)
        # small maps multiply faster dense (the EM step of a small table is dominated by call overhead)
        onehot = [m.toarray() if m.shape[0] * m.shape[1] <= 200_000 else m for m in onehot]
        return cls(flat, onehot, klass, np.asarray(patterns.counts, dtype=float))


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


@lru_cache(maxsize=32)
def likelihood(design: Design) -> Likelihood:
    """The compiled likelihood of a design (cached: a Design is an immutable value)."""
    return Likelihood(Model(design))
