"""Maximum likelihood of a design's own latent class model, with standard errors from identify's Jacobian.

The model is the one :class:`mixid.identify.Model` parametrises: P(U) and every P(V | parents(V), U), for any DAG
among categorical observed variables. The data enter only through the observed response patterns and their
counts (the non-empty cells of the contingency table), so the cost of an iteration does not grow with the
number of rows, and a table too large to hold densely is never built.

* **EM**, vectorised over patterns *and* over starts: every start is one slice of a batch, so twenty starts
  cost little more than one. E-step: class posteriors per pattern; M-step: posterior-weighted counts per
  conditional table (one sparse product per variable). SQUAREM (Varadhan and Roland 2008) extrapolates the EM
  map, with EM's monotonicity kept by a fallback step.
* **Standard errors**: the Fisher information n J^T diag(1/p) J, with J the Jacobian of the cell probabilities
  in the free parameters from ``Model.evaluate`` (the map whose rank certified identifiability), then the delta
  method with gradients of identify's target polynomials. A quantity whose gradient is not in the row space of
  the information is not locally identified at the estimate: it gets no standard error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import scipy.sparse
from mixid.identify import Design, Model
from mixid.identify.errors import DataError, DesignError
from mixid.identify.model import LAST, ONE
from sympy.polys.rings import PolyElement

#: EM stops when one SQUAREM cycle raises the log-likelihood by less than this (absolute).
TOL = 1e-10
#: Starts whose maximised log-likelihoods differ by less than this reached the same maximum.
SAME_MAX = 1e-6
#: Accelerated EM cycles of the batch of starts before Newton takes over (small dense tables).
EM_CYCLES = 40
#: Starts within this of the best log-likelihood after the EM phase are finished by Fisher scoring.
CANDIDATE_GAP = 5.0
#: A probability closer than this to 0 or 1 is reported as on the boundary.
BOUNDARY = 1e-6
#: Cells less probable than this are left out of the information (their rows are J J^T / p with p -> 0).
LIVE = 1e-12
#: Dense cell tables up to this many entries (cells x parameters) give the expected information exactly.
MAX_JACOBIAN_ENTRIES = 20_000_000


# ----------------------------------------------------------------------------------------------- data
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
        """Counts of the marginal table of these axes (in that order), from the patterns alone."""
        shape = tuple(self.dims[a] for a in axes)
        if not axes:
            return np.asarray(self.counts.sum())
        cells = np.ravel_multi_index(tuple(self.codes[:, a] for a in axes), shape)
        return np.bincount(cells, weights=self.counts, minlength=math.prod(shape)).reshape(shape)

    @classmethod
    def from_columns(cls, columns: Sequence[np.ndarray], dims: Sequence[int]) -> Patterns:
        """Unique rows of validated integer columns with their counts (no dense table)."""
        rows = np.stack([np.asarray(c, dtype=np.int64) for c in columns], axis=1)
        codes, counts = np.unique(rows, axis=0, return_counts=True)
        return cls(codes, counts.astype(float), tuple(int(d) for d in dims))


# ------------------------------------------------------------------------------------------ the model
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
        point = np.asarray(point, dtype=float)
        pi = self._full(self.model._pi[None, :], point)[0]
        tables = [self._full(self.model.tables[v], point) for v in self.names]
        return pi, tables

    @staticmethod
    def _full(codes: np.ndarray, point: np.ndarray) -> np.ndarray:
        values = np.where(codes >= 0, point[np.maximum(codes, 0)], 0.0)
        last = codes == LAST
        rest = 1.0 - values.sum(axis=-1, keepdims=True)
        values = np.where(last, np.broadcast_to(rest, values.shape), values)
        return np.where(codes == ONE, 1.0, values)

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
            flat.append(q)
            onehot.append(scipy.sparse.csr_matrix((np.ones(P), (q, np.arange(P))),
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
            logj = np.repeat(np.log(pi).reshape(1, S * self.k), len(data.counts), axis=0)
            for t, q in zip(tables, data.flat):
                logj += np.ascontiguousarray(np.log(t.reshape(S * self.k, -1)).T)[q]
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
        S = len(X)
        active = np.ones(S, dtype=bool)
        ll_prev = np.full(S, -np.inf)
        step_max = np.ones(S)  # SQUAREM's adaptive cap on the extrapolation length (R package SQUAREM: mstep 4)
        for _ in range(max_iter):
            X1, ll0 = self.em_step(X, data)
            X2, _ = self.em_step(X1, data)
            r = X1 - X
            v = X2 - X1 - r
            with np.errstate(invalid="ignore", divide="ignore"):
                alpha = np.linalg.norm(r, axis=1) / np.linalg.norm(v, axis=1)
            alpha = np.clip(np.where(np.isfinite(alpha), alpha, 1.0), 1.0, step_max)
            for _ in range(8):  # step back towards plain EM while the extrapolation leaves the simplex
                Xp = X + 2 * alpha[:, None] * r + alpha[:, None] ** 2 * v
                bad = ((Xp < 0) | (Xp > 1)).any(axis=1) & (alpha > 1)
                if not bad.any():
                    break
                alpha = np.where(bad, (alpha + 1) / 2, alpha)
            Xp = np.where(((Xp < 0) | (Xp > 1)).any(axis=1)[:, None], X2, Xp)
            X3, llp = self.em_step(Xp, data)
            ok = llp >= ll0 - 1e-12 * np.abs(ll0)  # SQUAREM keeps EM's monotonicity or falls back to EM
            at_cap = alpha >= step_max
            step_max = np.where(ok & at_cap, 4 * step_max, np.where(~ok & at_cap, np.maximum(1, step_max / 4),
                                                                     step_max))
            X = np.where((active & ok)[:, None], X3, np.where(active[:, None], X2, X))
            with np.errstate(invalid="ignore"):  # a start at -inf (a seen pattern made impossible) leaves the batch
                done = ~np.isfinite(ll0) | (np.abs(ll0 - ll_prev) < tol)
            ll_prev = np.where(active, ll0, ll_prev)
            active &= ~done
            if not active.any():
                break
        _, ll = self.posterior(X, data)
        return X, ll, ~active

    # ------------------------------------------------------------------------ Fisher scoring
    def cell_probs(self, point: np.ndarray) -> np.ndarray:
        """Probabilities of every cell of the model's table (flattened) at a free-parameter point."""
        if self.observed_u:
            return self.model.evaluate(point)[0]
        return self.model.class_tensor(point).reshape(-1, self.k) @ self.model.weights(point)

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

    def scoring(self, x: np.ndarray, cells: np.ndarray, tol: float = TOL, max_steps: int = 40
                ) -> tuple[np.ndarray, float, bool]:
        """Fisher scoring from one state, with the expected information of identify's Jacobian.

        ``cells`` are the counts of every cell of the model's table (flattened). Probabilities on the boundary
        (below ``BOUNDARY``) are held at zero (an active set: a maximum on a face of the simplex is a maximum of
        the remaining parameters); a step is halved until the log-likelihood rises; directions the information
        does not see (a rank-deficient Jacobian) are left alone by the least-squares solve.
        Returns (state, loglik, converged).
        """
        point = self.point_of(x)
        n = cells.sum()
        seen = cells > 0

        def loglik(pt):
            p = self.cell_probs(pt)
            with np.errstate(divide="ignore", invalid="ignore"):
                return float(np.sum(cells[seen] * np.log(p[seen]))) if (p[seen] > 0).all() else -np.inf

        factors = len(self.names) + 1  # the exact Hessian costs one product per pair of factors
        newton = (not self.observed_u
                  and factors * (factors - 1) / 2 * len(self.model._cells) * self.k * self.model.n_params ** 2 < 5e7)

        def derivatives(pt):
            """Score and the curvature of the step: the observed information (Newton) where it is positive
            definite on the face, else the expected information (Fisher scoring)."""
            p, J = self.model.evaluate(pt)
            live = p > LIVE
            score = J[live].T @ (cells[live] / p[live])
            expected = n * (J[live].T / p[live]) @ J[live]
            if not newton:
                return score, expected, None
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(live, cells / p, 0.0)
            observed = (J[live].T * (cells[live] / p[live] ** 2)) @ J[live] - self.weighted_hessian(pt, w)
            return score, expected, observed

        ll = loglik(point)
        for _ in range(max_steps):
            score, info, observed = derivatives(point)
            basis, at_zero = self._face_basis(point, score)
            zeroed = self._zero_entries(point, at_zero)
            if at_zero.any() and not np.array_equal(zeroed, point):  # held entries are set to zero exactly
                ll_z = loglik(zeroed)
                if not ll_z > ll - 1e-3:  # an entry a seen cell needs: keep the entries free instead
                    basis, at_zero = self._face_basis(point, score, hold=False)
                else:
                    point, ll = zeroed, ll_z
                    score, info, observed = derivatives(point)
            if not (np.isfinite(info).all() and np.isfinite(score).all()):
                return self.state_of(point), ll, False
            g = basis.T @ score
            if observed is not None:
                # saddle-free Newton: the observed information with its eigenvalues taken in absolute value,
                # so that a direction of negative curvature is climbed instead of descended
                w, V = np.linalg.eigh(basis.T @ observed @ basis)
                w = np.abs(w)
                if not np.isfinite(w).all():
                    return self.state_of(point), ll, False
                w = np.maximum(w, 1e-12 * max(w.max(initial=0.0), 1e-300))
                reduced = V @ ((V.T @ g) / w)
            else:
                reduced_info = basis.T @ info @ basis
                scale = np.sqrt(np.maximum(np.diag(reduced_info), 1e-300))  # Jacobi scaling: a near-zero entry's
                try:  # huge curvature must not swamp the weakly informed directions in the rank cut-off
                    reduced = np.linalg.lstsq(reduced_info / np.outer(scale, scale), g / scale, rcond=1e-12)[0] / scale
                except np.linalg.LinAlgError:
                    return self.state_of(point), ll, False
            step = basis @ reduced
            # ratio test: the longest step (at most 1) before a free entry reaches zero; that entry is then
            # held from the next step on, so a blocked step never counts as convergence
            now = self._entries(point)
            move = self._entries(point + step) - now
            block = (move < 0) & ~at_zero & (now > 0)
            h_max = min(1.0, float(np.min(-now[block] / move[block]))) if block.any() else 1.0
            h = h_max
            for _ in range(40):
                cand = self._project(point + h * step)
                ll_c = loglik(cand)
                if ll_c >= ll - 1e-12 * abs(ll):
                    break
                h /= 2
            else:
                return self.state_of(point), ll, bool(np.abs(step).max() < 1e-8)
            gain = ll_c - ll
            point, ll = cand, ll_c
            if gain < tol and h >= 0.25 and h_max == 1.0:
                return self.state_of(point), ll, True
        return self.state_of(point), ll, False

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

    def weighted_hessian(self, point: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """sum_c weights_c * Hessian of P(cell c) in the free parameters (exact: the model is multilinear).

        P(c) = sum_u prod_a g_a(c, u) with affine factors g_a, so its Hessian is
        sum_u sum_{a != b} (prod_{e != a, b} g_e) grad g_a grad g_b^T.
        """
        m = self.model
        N = len(m._cells)
        F = np.stack([np.broadcast_to(m.weights(point), (N, self.k))] + m._factor_values(point, None))
        d = m.n_params
        G = [g.reshape(-1, d) for g in self._factor_gradients]
        out = np.zeros((d, d))
        idx = np.arange(len(F))
        for a in range(len(F)):
            for b in range(a + 1, len(F)):
                coef = (np.prod(F[(idx != a) & (idx != b)], axis=0) * weights[:, None]).reshape(-1, 1)
                block = (G[a] * coef).T @ G[b]
                out += block + block.T
        return out

    def _rows(self) -> list[np.ndarray]:
        """Every distribution row's parameter codes (class weights first), shape (rows, C) per table."""
        return [self.model._pi[None, :]] + [self.model.tables[v].reshape(-1, self.model.tables[v].shape[-1])
                                           for v in self.names]

    def _entries(self, point: np.ndarray) -> np.ndarray:
        """All full-table entries of a point, concatenated in the order of :meth:`_rows`."""
        pi, tables = self.from_point(point)
        return np.concatenate([pi.ravel()] + [t.reshape(-1) for t in tables])

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


# ------------------------------------------------------------------------------ polynomial quantities
class PolyMap:
    """Values and gradients of identify's target polynomials at float points (vectorised over monomials)."""

    def __init__(self, polys: Sequence[PolyElement], n_params: int):
        self.terms = []
        for poly in polys:
            terms = list(poly.terms()) if isinstance(poly, PolyElement) else [((0,) * n_params, poly)]
            monoms = np.array([m for m, _ in terms], dtype=np.int64).reshape(len(terms), n_params)
            coeffs = np.array([float(c) for _, c in terms])
            self.terms.append((monoms, coeffs))

    def __call__(self, point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values (m,), gradients (m, d))."""
        point = np.asarray(point, float)
        vals, grads = [], []
        for monoms, coeffs in self.terms:
            powers = point[None, :] ** monoms
            vals.append(coeffs @ np.prod(powers, axis=1))
            g = np.zeros(len(point))
            for j in np.flatnonzero(monoms.any(axis=0)):
                reduced = powers.copy()
                reduced[:, j] = np.where(monoms[:, j] > 0, monoms[:, j] * point[j] ** np.maximum(monoms[:, j] - 1, 0),
                                         0.0)
                g[j] = coeffs @ np.prod(reduced, axis=1)
            grads.append(g)
        return np.array(vals), np.array(grads).reshape(len(vals), len(point))


@lru_cache(maxsize=32)
def _causal_map(design: Design) -> PolyMap:
    """Class weights (k), E[Y(t) | U=u] for t = 0, 1 (2k): the polynomials every causal quantity is built from."""
    model = Model(design)
    polys = [model.weight_poly(u) for u in range(model.k)]
    polys += [model.outcome_class_mean(u, t) for t in (0, 1) for u in range(model.k)]
    return PolyMap(polys, model.n_params)


def causal_quantities(design: Design, point: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Weights, class effects, E[Y(t)] and the ATE at a point, with their gradients in the free parameters."""
    k = design.classes
    vals, grads = _causal_map(design)(point)
    w, gw = vals[:k], grads[:k]
    m0, m1 = vals[k:2 * k], vals[2 * k:]
    g0, g1 = grads[k:2 * k], grads[2 * k:]
    po = np.array([w @ m0, w @ m1])
    gpo = np.stack([m0 @ gw + w @ g0, m1 @ gw + w @ g1])
    values = {"weights": w, "effects": m1 - m0, "po": po, "ate": np.array([po[1] - po[0]])}
    gradients = {"weights": gw, "effects": g1 - g0, "po": gpo, "ate": (gpo[1] - gpo[0])[None, :]}
    return values, gradients


# ------------------------------------------------------------------------------------ the fit
@dataclass
class MLEFit:
    """A maximised likelihood: the point (classes in canonical order), fit statistics and the information."""

    likelihood: Likelihood
    point: np.ndarray
    loglik: float
    n: float
    starts: int
    starts_at_best: int
    converged: bool
    cell_probs: np.ndarray | None  # of the observed patterns
    patterns: Patterns
    information: np.ndarray | None = None
    information_kind: str = "expected"
    face: np.ndarray | None = None  # directions that keep boundary probabilities at 0 (columns), None: all
    start_lliks: np.ndarray = field(default_factory=lambda: np.zeros(0))
    warnings: list[str] = field(default_factory=list)

    @property
    def design(self) -> Design:
        return self.likelihood.design

    def statistics(self) -> dict:
        """poLCA's fit statistics: log-likelihood, parameters, AIC, BIC, G^2, X^2 and residual df."""
        d = self.likelihood.model.n_params
        n = self.n
        counts = self.patterns.counts
        expected = n * self.cell_probs
        seen = counts > 0
        g2 = 2 * float(np.sum(counts[seen] * np.log(counts[seen] / expected[seen])))
        # Pearson's X^2 over every cell: an empty cell contributes its expected count, so the cells never seen
        # together contribute n minus the expected counts of the seen ones (no enumeration of the table)
        live = expected > 0
        x2 = float(np.sum((counts[live] - expected[live]) ** 2 / expected[live]) + max(n - expected.sum(), 0.0))
        cells = math.prod(self.likelihood.dims)
        return {"loglik": float(self.loglik), "n_parameters": int(d), "aic": float(-2 * self.loglik + 2 * d),
                "bic": float(-2 * self.loglik + d * np.log(n)), "g2": g2, "x2": x2,
                "df": int(min(n, cells - 1) - d), "starts": int(self.starts),
                "starts_at_best": int(self.starts_at_best)}

    def delta(self, gradients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors of quantities with these gradients (rows), and whether the information sees each."""
        return face_delta(self.information, self.face, gradients)


def face_delta(information: np.ndarray | None, face: np.ndarray | None, gradients: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method standard errors from an information matrix restricted to a face (columns of ``face``).

    A gradient outside the row space of the information (a direction the Jacobian loses) has no finite
    standard error: it is reported as ``nan`` with ``False``.
    """
    gradients = np.atleast_2d(gradients)
    if information is None:
        return np.full(len(gradients), np.nan), np.zeros(len(gradients), dtype=bool)
    B = face if face is not None else np.eye(information.shape[0])
    info = B.T @ information @ B
    g = gradients @ B
    pinv = np.linalg.pinv(info, rcond=1e-10, hermitian=True)
    back = g @ pinv @ info  # the projection of each gradient on the row space
    seen = np.linalg.norm(back - g, axis=1) <= 1e-6 * np.maximum(np.linalg.norm(g, axis=1), 1e-300)
    var = np.einsum("ij,jk,ik->i", g, pinv, g)
    return np.where(seen, np.sqrt(np.maximum(var, 0.0)), np.nan), seen


def _canonical(lik: Likelihood, x: np.ndarray) -> np.ndarray:
    """Relabel the classes of a state: by class effect when the design has an outcome, else by weight (desc)."""
    if lik.observed_u:  # the classes are data: their labels are not ours to permute
        return x
    pi, tables = lik.tables_of(x)
    design = lik.design
    if design.causal:
        vals, _ = causal_quantities(design, lik.to_point(pi, tables))
        order = np.lexsort((-pi, vals["effects"]))
    else:
        order = np.argsort(-pi, kind="stable")
    return lik.pack(pi[order], [t[:, order] for t in tables])


def maximise(lik: Likelihood, patterns: Patterns, starts: int = 10, seed=None, initial: Sequence[np.ndarray] = (),
             progress=None, information: bool = True) -> MLEFit:
    """Maximise the likelihood from ``initial`` points (free parameters) plus ``starts`` random starts.

    Every start runs in one batch: short SQUAREM-accelerated EM, then Fisher scoring to convergence (exact
    information from identify's Jacobian when the table is small enough, else EM to the tolerance).
    """
    from .simulate import as_generator

    rng = as_generator(seed)
    data = _Compiled.build(lik, patterns)
    X0 = [_interior(lik, lik.state_of(np.asarray(p, float))) for p in initial]
    X = np.concatenate([np.array(X0).reshape(len(X0), -1), lik.random_states(rng, starts)]) if X0 else \
        lik.random_states(rng, starts)
    total = len(X)
    dense = math.prod(lik.dims) * lik.model.n_params <= MAX_JACOBIAN_ENTRIES
    warm = starts == 0 and dense  # a warm start (the bootstrap's) is already near a maximum: Newton at once
    if warm:
        ll, conv = np.full(total, -np.inf), np.zeros(total, dtype=bool)
    else:
        X, ll, conv = lik.squarem(X, data, tol=1e-6 if dense else TOL, max_iter=EM_CYCLES)
    if not dense and not warm:
        # no Newton on a large table: accelerated EM finishes the starts that may share the best maximum
        # (the others sit on lower local maxima, as in the dense path)
        live = np.flatnonzero((ll >= ll.max() - CANDIDATE_GAP) & ~conv)
        if len(live):
            X[live], ll[live], conv[live] = lik.squarem(X[live], data, tol=TOL, max_iter=5000)
    if progress is not None:
        progress("starts", 0, total)
    if dense:
        # Newton finishes the starts that may share the best maximum; the others sit on lower local maxima
        cells = np.zeros(int(np.prod(lik.dims)))
        np.add.at(cells, np.ravel_multi_index(patterns.codes.T, lik.dims), data.counts)
        candidates = np.arange(total) if warm else np.flatnonzero(ll >= ll.max() - CANDIDATE_GAP)
        for i, s in enumerate(candidates):
            x_s, ll_s, ok = lik.scoring(X[s], cells)
            for _ in range(3):  # a boundary maximum or a flat ridge: accelerated EM, then Newton again
                if ok:
                    break
                x_s, _, _ = lik.squarem(x_s[None, :], data, tol=TOL, max_iter=300)
                x_s, ll_s, ok = lik.scoring(x_s[0], cells)
            X[s], ll[s], conv[s] = x_s, ll_s, ok
            if progress is not None:
                progress("starts", total - len(candidates) + i + 1, total)
    best = int(np.argmax(ll))
    at_best = np.abs(ll - ll[best]) < SAME_MAX
    x = _canonical(lik, X[best])
    _, ll_best = lik.posterior(x[None, :], data)
    fit = MLEFit(lik, lik.point_of(x), float(ll_best[0]), float(data.counts.sum()), total, int(at_best.sum()),
                 bool(conv[best]), None, patterns, start_lliks=ll)
    fit.cell_probs = np.exp(lik.log_joint(x[None, :], data)[0]).sum(axis=0)
    if total > 1 and at_best.sum() == 1:
        fit.warnings.append(f"the best log-likelihood was reached by only 1 of {total} starts (starts more than "
                            f"{CANDIDATE_GAP:g} below it after {EM_CYCLES} EM cycles are not refined): more starts "
                            "would make the maximum more certain")
    others = [X[s] for s in np.flatnonzero(at_best) if s != best]
    gaps = [_class_gap(lik, o, x) for o in others]
    if gaps and max(gaps) > 1e-3:
        fit.warnings.append(f"starts reach the same log-likelihood with different class parameters (largest "
                            f"difference {max(gaps):.3g}): a numerical hint that the model is not identifiable")
    if not fit.converged:
        fit.warnings.append("the best start did not converge to the tolerance "
                            f"({TOL:g} in log-likelihood); the estimate may be off")
    if not information:
        fit.information = None
    elif dense:
        fit.information = _expected_information(lik, fit.point, fit.n)
        p, J = lik.model.evaluate(fit.point)
        live = p > LIVE
        fit.face, _ = lik._face_basis(fit.point, J[live].T @ (cells[live] / p[live]))
    else:
        fit.information, fit.information_kind = _empirical_information(lik, x, data), "empirical"
    return fit


def _class_gap(lik: Likelihood, a: np.ndarray, b: np.ndarray) -> float:
    """Largest parameter difference between two states after matching their classes (labels are arbitrary:
    equal class effects leave the canonical order to rounding)."""
    from scipy.optimize import linear_sum_assignment

    def per_class(x):
        pi, tables = lik.tables_of(x)
        return np.concatenate([pi[:, None]] + [np.moveaxis(t, 1, 0).reshape(lik.k, -1) for t in tables], axis=1)

    A, B = per_class(a), per_class(b)
    cost = np.abs(A[:, None, :] - B[None, :, :]).max(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


def _interior(lik: Likelihood, x: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """A start moved inside the simplex (moment estimators can land on or outside its faces)."""
    x = np.where(np.isfinite(x), x, 0.5)
    return lik.normalise(np.clip(x, eps, 1.0)[None, :])[0]


def _expected_information(lik: Likelihood, point: np.ndarray, n: float) -> np.ndarray:
    """n J^T diag(1/p) J over the cells of positive probability, J from ``Model.evaluate``."""
    p, J = lik.model.evaluate(point)
    live = p > LIVE
    info = n * (J[live].T / p[live]) @ J[live]
    return info if np.isfinite(info).all() else None


def _empirical_information(lik: Likelihood, x: np.ndarray, data: _Compiled) -> np.ndarray:
    """Sum over observed patterns of count x score score^T (scores by Fisher's identity from the posteriors).

    Used when the table is too large for the expected information; the score of log P(pattern) in a free
    parameter is the posterior-weighted score of log P(pattern, U=u).
    """
    post = lik.posterior(x[None, :], data)[0][0]  # (k, P)
    P = post.shape[1]
    scores = np.zeros((P, lik.model.n_params))
    pi, tables = lik.tables_of(x)
    # class weights
    for u in range(lik.k):
        _add_score(scores, lik.model._pi, u, post[u] / pi[u])
    for i, v in enumerate(lik.names):
        codes = lik.model.tables[v]  # (n_pa, k, C)
        t = tables[i]
        q = data.flat[i]
        row, cat = q // lik.cats[i], q % lik.cats[i]
        for u in range(lik.k):
            _add_score(scores, codes[row, u, :], cat, post[u] / t[row, u, cat])
    return (scores.T * data.counts) @ scores


def _add_score(scores: np.ndarray, codes_row: np.ndarray, cat, weight: np.ndarray) -> None:
    """Add weight * d log theta_cat / d free parameters (a free code: +1/theta; the last: -1/theta per sibling)."""
    P = len(weight)
    cat = np.broadcast_to(cat, (P,))
    codes_row = np.broadcast_to(codes_row, (P,) + np.shape(codes_row)[-1:]) if codes_row.ndim == 1 else codes_row
    own = codes_row[np.arange(P), cat]
    free = own >= 0
    np.add.at(scores, (np.flatnonzero(free), own[free]), weight[free])
    last = np.flatnonzero(own == LAST)
    for col in range(codes_row.shape[1]):
        sib = codes_row[last, col]
        ok = sib >= 0
        np.add.at(scores, (last[ok], sib[ok]), -weight[last[ok]])


# --------------------------------------------------------------------------- estimates and their errors
TARGET_NAMES = {"full_mixture": "the full mixture (class weights and response tables)",
                "mte": "the mixture of treatment effects (class weights and effects)", "ate": "the ATE"}


def _nested(design: Design, name: str, table: np.ndarray) -> list:
    """A (n_pa, k, C) table as nested lists [class][parent values...][category]."""
    pa = design.parents(name)
    shape = [design.variable(p).dim for p in pa]
    return np.moveaxis(table, 1, 0).reshape([design.classes] + shape + [table.shape[-1]]).tolist()


def _table_errors(lik: Likelihood, fit: MLEFit, name: str, boundary: np.ndarray) -> np.ndarray:
    """Standard errors of every entry of one table (nan where the information does not see it)."""
    codes = lik.model.tables[name]
    grads = np.zeros(codes.shape + (lik.model.n_params,))
    free = codes >= 0
    grads[free, codes[free]] = 1.0
    for idx in zip(*np.nonzero(codes == LAST)):
        sib = codes[idx[0], idx[1]]
        grads[idx][sib[sib >= 0]] = -1.0
    se, seen = fit.delta(grads.reshape(-1, lik.model.n_params))
    se = se.reshape(codes.shape)
    return np.where(boundary, np.nan, se)


def weight_gradients(model: Model) -> np.ndarray:
    """Gradients of the class weights in the free parameters, shape (k, d) (the last weight is 1 - sum)."""
    out = np.zeros((model.k, model.n_params))
    for u, code in enumerate(model._pi):
        if code >= 0:
            out[u, code] = 1.0
        elif code == LAST:
            out[u, model._pi[model._pi >= 0]] = -1.0
    return out


def identification(placement) -> tuple[dict[str, bool], dict[str, str], list[str]]:
    """Which estimable targets the placement identifies, at which scope, and the warnings an estimate of the whole
    model carries for the others (not identified: no standard error; identified only locally: said so).

    A target that the global check found locally but not globally identifiable (a finite fibre of m > 1 points)
    keeps its local standard error, with a warning that m points fit the data equally well.
    """
    identified, scope, warnings = {}, {}, []
    for t in ("full_mixture", "mte", "ate"):
        v = placement.targets[t]
        if v.verdict == "not_applicable":
            continue
        cert = v.certificate
        several = v.verdict == "not_identifiable" and cert.get("kind") == "fibre" and cert.get("dimension") == 0
        identified[t], scope[t] = v.identifiable or several, "local" if several else v.scope
        if several:
            m = f"{'at least ' if not cert.get('complete') else ''}{cert.get('solutions')}"
            warnings.append(f"{TARGET_NAMES[t]} is not globally identifiable: {m} parameter points (up to "
                            "relabelling) fit the data equally well; the estimate is the one the optimiser reached, "
                            "and its standard error is local to it")
        elif not v.identifiable:
            warnings.append(f"{TARGET_NAMES[t]} is not identifiable in this design: its estimate is one of "
                            "many values that fit the data equally well (no standard error)")
        elif v.scope == "local":
            warnings.append(f"{TARGET_NAMES[t]} is identified only locally (not proved global): another, "
                            "distant parameter value may fit the data equally well")
    return identified, scope, warnings


def summarise(fit: MLEFit, placement, ci_level: float = 0.95, standard_errors: bool = True):
    """The Estimate of a maximised likelihood: mixture, causal targets, standard errors, fit statistics.

    Standard errors are given only for targets the placement identifies; the others carry ``None`` and a
    warning, since their estimates are one of many parameter values that fit the data equally well.
    """
    from .data import unobserved_categories
    from .result import Estimate

    lik, design = fit.likelihood, fit.design
    point = fit.point
    pi, tables = lik.from_point(point)
    identified, scope, notes = identification(placement)
    warnings = list(fit.warnings)
    entries = np.concatenate([pi] + [t.ravel() for t in tables])
    boundary_pi = ((pi < BOUNDARY) | (pi > 1 - BOUNDARY)) & (len(pi) > 1)  # one class: its weight is 1 by definition
    boundary = [(t < BOUNDARY) | (t > 1 - BOUNDARY) for t in tables]
    n_boundary = int(boundary_pi.sum() + sum(b.sum() for b in boundary))
    if n_boundary:
        warnings.append(f"{n_boundary} of {len(entries)} estimated probabilities lie on the boundary (0 or 1): "
                        "their standard errors are not reported (the Wald approximation fails there)")
    for i, name in enumerate(lik.names):
        seen = fit.patterns.codes[:, i]
        counts = np.bincount(seen, weights=fit.patterns.counts, minlength=lik.cats[i])
        unobserved = unobserved_categories(name, counts)
        if unobserved:
            warnings.append(unobserved)
    stats = fit.statistics()
    if stats["df"] < 0:
        warnings.append(f"the model has {stats['n_parameters']} free parameters but the table only "
                        f"{stats['df'] + stats['n_parameters']} degrees of freedom (residual df {stats['df']}): "
                        "some parameters cannot be identified from these data")
    se_ok = standard_errors and fit.information is not None
    if standard_errors and fit.information is None:
        warnings.append("the information matrix could not be formed (probabilities too close to 0): "
                        "no standard errors")
    warnings += notes

    def errors(target: str, grads: np.ndarray, what: str) -> np.ndarray:
        if not (se_ok and identified.get(target, False)):
            return np.full(len(grads), np.nan)
        se, seen = fit.delta(grads)
        if not seen.all():
            warnings.append(f"the information is singular along {what} at the estimate (weak identification "
                            "or a boundary solution): no standard error for it")
        return se

    weights_se = np.where(boundary_pi, np.nan, errors("full_mixture", weight_gradients(lik.model),
                                                      "the class weights"))
    mixture = {"identified": bool(identified.get("full_mixture", False)), "scope": scope.get("full_mixture"),
               "weights": pi.tolist(), "weights_se": _none(weights_se), "tables": {}, "tables_se": {},
               "parents": {name: list(design.parents(name)) for name in lik.names}}
    for i, name in enumerate(lik.names):
        mixture["tables"][name] = _nested(design, name, tables[i])
        se = (_table_errors(lik, fit, name, boundary[i]) if se_ok and identified.get("full_mixture", False)
              else np.full(tables[i].shape, np.nan))
        mixture["tables_se"][name] = _none_nested(_nested(design, name, se))
    est = Estimate(ate=None, potential_outcome_means=None, warnings=warnings,
                   diagnostics={"starts": fit.starts, "starts_at_best": fit.starts_at_best,
                                "converged": fit.converged, "information": fit.information_kind,
                                "start_logliks": np.sort(fit.start_lliks)[::-1].tolist()})
    est.fit = stats
    est.mixture = mixture
    est.extra["identified"] = identified
    est.extra["params"] = point.tolist()
    if design.causal:
        vals, grads = causal_quantities(design, point)
        est.ate = float(vals["ate"][0])
        est.potential_outcome_means = {0: float(vals["po"][0]), 1: float(vals["po"][1])}
        order = np.argsort(vals["effects"], kind="stable")  # the MTE is reported sorted by effect
        est.weights, est.effects = vals["weights"][order], vals["effects"][order]
        est.se = {"ate": _none(errors("ate", grads["ate"], "the ATE"))[0],
                  "potential_outcome_means": _none(errors("ate", grads["po"], "E[Y(t)]")),
                  "weights": _none(np.where(boundary_pi, np.nan, errors("mte", grads["weights"],
                                                                         "the class weights"))[order]),
                  "effects": _none(errors("mte", grads["effects"], "the class effects")[order])}
    else:
        est.weights = pi
        est.se = {"weights": _none(weights_se)}
    # one warning per distinct message, in order
    est.warnings = list(dict.fromkeys(est.warnings))
    return est


def _none(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, float).ravel()]


def _none_nested(values):
    if isinstance(values, list):
        return [_none_nested(v) for v in values]
    return None if not np.isfinite(values) else float(values)


# ------------------------------------------------------------------------------ the compiled estimator
@lru_cache(maxsize=32)
def likelihood(design: Design) -> Likelihood:
    """The compiled likelihood of a design (cached: a Design is an immutable value)."""
    return Likelihood(Model(design))


def constructive_starts(placement, mo) -> tuple[list[np.ndarray], list[str]]:
    """Starting points from the certified constructive estimators (moved inside the simplex by the caller).

    CP gives every table when a Kruskal route certifies the full mixture; SPO gives the class weights (the
    tables of that start are the uniform ones). Returns the points and a note per estimator that failed.
    """
    from .mixture import cp_estimate
    from .spo import spo

    design, k = placement.design, placement.design.classes
    lik = likelihood(design)
    points, notes = [], []
    method = placement.targets["full_mixture"].method
    if method.startswith("kruskal"):
        try:
            est = cp_estimate(mo, placement.targets["full_mixture"].certificate, k, seed=0, restarts=1)
            points.append(np.asarray(est.extra["params"], float))
        except Exception as exc:  # a start is optional: note why it is missing
            notes.append(f"cp start failed: {exc}")
    elif placement.targets.get("mte") is not None and placement.targets["mte"].method == "spo":
        try:
            roles = placement.estimands["mte"].roles
            est = spo(mo, tuple(roles["treatment_side"]), tuple(roles["outcome_side"]), k)
            pi = np.clip(np.asarray(est.weights, float), 1e-3, None)
            tables = [np.full((q, k, c), 1.0 / c) for q, c in zip(lik.n_pa, lik.cats)]
            points.append(lik.to_point(pi / pi.sum(), tables))
        except Exception as exc:
            notes.append(f"spo start failed: {exc}")
    return points, notes


def compile_mle(placement, starts: int = 10, seed=None, progress=None):
    """A function from moments (with their row count ``n``) to the maximum-likelihood :class:`Estimate`.

    ``run(mo, initial=None, standard_errors=True)``: with ``initial`` (a warm start, as in the bootstrap) only
    that point is climbed; otherwise the constructive starts plus ``starts`` random ones.
    """
    from .simulate import as_generator

    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise DataError(f"starts must be a positive integer, got {starts!r}")
    design = placement.design
    lik = likelihood(design)
    rng = as_generator(seed)

    def run(mo, initial=None, standard_errors: bool = True):
        n = float(mo.n) if getattr(mo, "n", None) else 1.0
        patterns = mo.patterns if getattr(mo, "patterns", None) is not None else Patterns.from_table(mo.tensor * n)
        notes: list[str] = []
        points: list[np.ndarray] = []
        if initial is None:
            points, notes = constructive_starts(placement, mo)
            fit = maximise(lik, patterns, starts=int(starts), seed=rng, initial=points, progress=progress,
                           information=standard_errors)
        else:
            fit = maximise(lik, patterns, starts=0, seed=rng, initial=[initial], information=standard_errors)
        est = summarise(fit, placement, standard_errors=standard_errors)
        est.diagnostics["constructive_starts"] = len(points)
        if mo.tensor is None:  # survey scale: the likelihood ran on the observed patterns, no table
            est.diagnostics["patterns"] = int(len(patterns.codes))
        est.warnings += notes
        est.extra["mle"] = fit
        return est

    return run


def posterior(fit: MLEFit, columns: Sequence[np.ndarray]) -> np.ndarray:
    """P(U = u | row) for validated integer columns (in the model's cell order): shape (rows, k)."""
    lik = fit.likelihood
    patterns = Patterns(np.stack([np.asarray(c, np.int64) for c in columns], axis=1),
                        np.ones(len(columns[0])), lik.dims)
    data = _Compiled.build(lik, patterns)
    return lik.posterior(lik.state_of(fit.point)[None, :], data)[0][0].T


# ------------------------------------------------------------------------------- survey-scale data
def patterns_from_data(design: Design, data, chunksize: int = 1_000_000, columns=None) -> Patterns:
    """Observed response patterns and counts of a data set, without the dense table.

    Accepts what :func:`mixid.estimate.data.sufficient_stats` accepts (DataFrame, mapping, CSV/Parquet path,
    dask DataFrame), read chunk by chunk by :func:`mixid.estimate.data.read_chunks` (``columns`` maps design
    variables to data columns; other columns are ignored, with the notice in ``notes``). Patterns are encoded as
    one integer per row when the table's size fits in 62 bits, else found row-wise.
    """
    from .data import MIN_ROWS, cell_dims, data_columns, read_chunks

    names = data_columns(design)
    dims = cell_dims(design)
    notes, chunks = read_chunks(design, data, columns, chunksize)
    packed = sum(np.log2(d) for d in dims) < 62
    found: list[tuple[np.ndarray, np.ndarray]] = []
    n = 0
    for cols in chunks:
        rows = np.stack([cols[c] for c in names], axis=1)
        n += len(rows)
        if packed:
            code = np.zeros(len(rows), dtype=np.int64)
            for j, d in enumerate(dims):
                code = code * d + rows[:, j]
            found.append(np.unique(code, return_counts=True))
        else:
            found.append(np.unique(rows, axis=0, return_counts=True))
    if n < MIN_ROWS:
        raise DataError(f"too few rows: {n} (need at least {MIN_ROWS})")
    keys = np.concatenate([f[0] for f in found])
    counts = np.concatenate([f[1] for f in found]).astype(float)
    if packed:
        uniq, inverse = np.unique(keys, return_inverse=True)
        codes = np.stack(np.unravel_index(uniq, dims), axis=1).astype(np.int64) if len(uniq) else \
            np.zeros((0, len(dims)), np.int64)
    else:
        codes, inverse = np.unique(keys, axis=0, return_inverse=True)
    return Patterns(codes, np.bincount(inverse.ravel(), weights=counts), tuple(dims), notes)
