"""Maximum likelihood for designs that mix categorical and normal variables: EM on the rows.

A categorical variable V has a table P(V | parents, U); a normal variable (``distribution: normal``) has a mean
for each state of its (categorical) parents and class and a variance per class, or one shared by all classes.
Both enter the E-step through one matrix product each: the one-hot codes of (parent state, category) times the
log table, and the one-hot parent state times the class means. The M-steps are closed form: posterior-weighted
counts, means and residual variances. Normal columns are standardised inside (so values near the float limits
fit like any others) and the results are reported in the data's units.

The parameters map onto identify's moment model of the same design (the normal variable's features 1, v, v^2
have class-conditional means mu and mu^2 + sigma^2), so the causal quantities, the identification verdicts and
the delta method are those of the other estimators. Standard errors come from the observed information: central
differences of the analytic score.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from mixid.identify import Design, Model
from mixid.identify.errors import DataError

#: A variance below this fraction of the variable's variance (standardised units) is held there: the likelihood
#: of a normal mixture grows without bound as a class collapses onto one value.
VARIANCE_FLOOR = 1e-6
#: Values beyond this (or below its inverse, all of them) have squares outside double precision.
SQUARE_LIMIT = 1e150
#: EM stops when the log-likelihood gains less than this (relative) in one step.
TOL = 1e-10


@dataclass
class Rows:
    """The data as the likelihood needs them: one-hot codes of categorical variables with their parent state,
    and each normal variable's standardised values and parent state."""

    n: int
    onehot: np.ndarray  # (n, D): column block per categorical variable, (parent state, category) flattened
    normal_values: list[np.ndarray]  # standardised
    normal_parents: list[np.ndarray]  # (n, q) one-hot parent states
    centre: np.ndarray
    scale: np.ndarray

    def take(self, idx: np.ndarray) -> Rows:
        """The rows ``idx`` (a resample), standardised as these are (same centre and scale)."""
        return Rows(len(idx), self.onehot[idx], [y[idx] for y in self.normal_values],
                    [pa[idx] for pa in self.normal_parents], self.centre, self.scale)


@dataclass
class Params:
    pi: np.ndarray  # (k,)
    tables: list[np.ndarray]  # per categorical variable: (q, k, c)
    means: list[np.ndarray]  # per normal variable: (q, k), standardised units
    variances: list[np.ndarray]  # per normal variable: (k,), standardised units


@dataclass
class GaussianFit:
    params: Params
    loglik: float
    starts: int
    starts_at_best: int
    start_lliks: list[float] = field(default_factory=list)
    floored: list[str] = field(default_factory=list)
    states: list[Params] = field(default_factory=list)  # every start's maximum, aligned with start_lliks


class MixedLikelihood:
    """The likelihood of a design whose variables are categorical or normal, on rows."""

    def __init__(self, design: Design):
        bad = [v.name for v in design.variables if not v.categorical and not v.normal]
        if bad:
            raise DataError(f"maximum likelihood needs a law for every variable: '{bad[0]}' is continuous without "
                            "'distribution: normal' (its moments only); use estimator='md', or declare it normal")
        self.design, self.k = design, design.classes
        self.cat = [v for v in design.variables if v.categorical]
        self.nor = [v for v in design.variables if v.normal]
        self.parents = {v.name: list(design.parents(v.name)) for v in design.variables}  # identify's order
        self.q = {name: int(np.prod([design.variable(p).dim for p in pa])) if pa else 1
                  for name, pa in self.parents.items()}
        self.shared = [v.variance == "shared" for v in self.nor]

    # ------------------------------------------------------------------ data
    def rows(self, columns: dict[str, np.ndarray]) -> Rows:
        n = len(columns[self.design.names[0]])
        blocks = []
        for v in self.cat:
            code = self._parent_state(columns, v.name) * v.dim + np.asarray(columns[v.name], np.int64)
            block = np.zeros((n, self.q[v.name] * v.dim))
            block[np.arange(n), code] = 1.0
            blocks.append(block)
        values, pas, centre, scale = [], [], [], []
        for v in self.nor:
            y = np.asarray(columns[v.name], float)
            if not np.all(np.isfinite(y)):
                raise DataError(f"normal variable '{v.name}' has values that are not finite numbers")
            big = float(np.max(np.abs(y))) if n else 0.0
            if big > SQUARE_LIMIT or 0 < big < 1 / SQUARE_LIMIT:
                raise DataError(f"normal variable '{v.name}' has values of magnitude up to {big:.3g}: squares "
                                "(its variance) of values this large or this small leave double precision; rescale "
                                "the column")
            shrunk = y / big if big > 0 else y  # first to order one: squares of values near the float limits overflow
            c, s = float(np.mean(shrunk)), float(np.std(shrunk))
            if not s > 1e-12 * max(1.0, abs(c)):
                raise DataError(f"normal variable '{v.name}' is constant in the data ({y[0]:.6g} on every row): "
                                "it has no variance to fit and carries no information about the classes")
            values.append((shrunk - c) / s)
            centre.append(c * big)
            scale.append(s * big)
            state = self._parent_state(columns, v.name)
            onehot = np.zeros((n, self.q[v.name]))
            onehot[np.arange(n), state] = 1.0
            pas.append(onehot)
        onehot = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
        return Rows(n, onehot, values, pas, np.array(centre), np.array(scale))

    def _parent_state(self, columns, name: str) -> np.ndarray:
        n = len(columns[self.design.names[0]])
        state = np.zeros(n, dtype=np.int64)
        for p in self.parents[name]:
            state = state * self.design.variable(p).dim + np.asarray(columns[p], np.int64)
        return state

    # ------------------------------------------------------------------ E and M steps
    def log_joint(self, th: Params, rows: Rows) -> np.ndarray:
        """log P(U=u, row) for every row and class: (n, k), the transpose of a (k, n) array (each class's row is
        contiguous: elementwise passes over n values, not over n rows of k)."""
        logs = [np.log(np.clip(t, 1e-300, None)).transpose(0, 2, 1).reshape(-1, self.k) for t in th.tables]
        out = np.log(np.clip(th.pi, 1e-300, None))[:, None] + (np.concatenate(logs, axis=0).T @ rows.onehot.T
                                                              if logs else np.zeros((self.k, rows.n)))
        for y, pa, mean, var in zip(rows.normal_values, rows.normal_parents, th.means, th.variances):
            out -= 0.5 * (np.log(2 * np.pi * var)[:, None] + (y[None, :] - mean.T @ pa.T) ** 2 / var[:, None])
        return out.T

    def posterior(self, th: Params, rows: Rows) -> tuple[np.ndarray, float]:
        lj = self.log_joint(th, rows)
        # reductions over the k classes column by column: numpy's reduce along a short contiguous axis of an
        # (n, k) array is about 50x slower than elementwise passes over its columns
        top = functools.reduce(np.maximum, lj.T)[:, None]
        R = np.exp(lj - top)
        total = functools.reduce(np.add, R.T)[:, None]
        R /= total
        return R, float(np.sum(np.log(total)) + np.sum(top))

    def m_step(self, R: np.ndarray, rows: Rows) -> tuple[Params, list[str]]:
        k, floored = self.k, []
        mass = _column_sums(R)
        pi = mass / mass.sum()
        counts = rows.onehot.T @ R  # (D, k)
        tables, at = [], 0
        for v in self.cat:
            q, c = self.q[v.name], v.dim
            block = counts[at:at + q * c].reshape(q, c, k).transpose(0, 2, 1)  # (q, k, c)
            at += q * c
            total = block.sum(axis=2, keepdims=True)
            tables.append(np.where(total > 0, block / np.where(total > 0, total, 1.0), 1.0 / c))
        means, variances = [], []
        for v, y, pa, shared in zip(self.nor, rows.normal_values, rows.normal_parents, self.shared):
            w = pa.T @ R  # (q, k)
            mean = np.where(w > 0, ((R.T * y[None, :]) @ pa).T / np.where(w > 0, w, 1.0), 0.0)
            sq = (R.T * (y[None, :] - mean.T @ pa.T) ** 2) @ np.ones(rows.n)  # (k, n) passes, as log_joint
            var = np.full(k, sq.sum() / max(mass.sum(), 1e-300)) if shared else sq / np.where(mass > 0, mass, 1.0)
            low = var < VARIANCE_FLOOR
            if low.any():
                floored += [f"{v.name} in class {u}" for u in np.flatnonzero(low)]
                var = np.maximum(var, VARIANCE_FLOOR)
            means.append(mean)
            variances.append(var)
        return Params(pi, tables, means, variances), floored

    def em(self, th: Params, rows: Rows, max_iter: int = 2000, tol: float = TOL) -> tuple[Params, float, list[str]]:
        """EM accelerated by SQUAREM (Varadhan and Roland 2008): two EM steps give a secant direction, the
        extrapolated point is stabilised by one EM step and kept only if it is valid and no worse."""
        R, ll = self.posterior(th, rows)
        floored: list[str] = []
        for _ in range(max_iter):
            th1, floored = self.m_step(R, rows)
            R1, ll1 = self.posterior(th1, rows)
            th2, floored = self.m_step(R1, rows)
            R2, ll2 = self.posterior(th2, rows)
            x0, x1, x2 = self.free(th), self.free(th1), self.free(th2)
            r, v = x1 - x0, x2 - 2 * x1 + x0
            new_th, new_R, new = th2, R2, ll2
            if np.sqrt(v @ v) > 0:  # (v @ v can underflow to 0 while v is not)
                alpha = -np.sqrt(r @ r) / np.sqrt(v @ v)
                if alpha < -1:
                    xs = x0 - 2 * alpha * r + alpha**2 * v
                    th_s = self.unfree(xs)
                    if self._valid(th_s):
                        R_s, _ = self.posterior(th_s, rows)
                        th_s, fl = self.m_step(R_s, rows)
                        R_s, ll_s = self.posterior(th_s, rows)
                        if np.isfinite(ll_s) and ll_s >= ll2:
                            new_th, new_R, new, floored = th_s, R_s, ll_s, fl
            converged = abs(new - ll) <= tol * max(1.0, abs(new))
            th, R, ll = new_th, new_R, new
            if converged:
                break
        return th, ll, floored

    @staticmethod
    def _valid(th: Params) -> bool:
        probs = [th.pi] + list(th.tables)
        return (all(np.all(p > 0) and np.all(p < 1) for p in probs)
                and all(np.all(v >= VARIANCE_FLOOR) for v in th.variances))

    def random_start(self, rows: Rows, rng: np.random.Generator) -> Params:
        """Dirichlet class weights and tables; class means at the values of random rows; unit variances."""
        k = self.k
        pi = rng.dirichlet(np.ones(k))
        tables = [rng.dirichlet(np.ones(v.dim), size=(self.q[v.name], k)) for v in self.cat]
        means = [np.tile(y[rng.integers(0, rows.n, k)], (self.q[v.name], 1)) for v, y in zip(self.nor,
                                                                                           rows.normal_values)]
        return Params(pi, tables, means, [np.ones(k) for _ in self.nor])

    def maximise(self, rows: Rows, starts: int, rng: np.random.Generator, max_starts: int | None = None,
                 initial: list[Params] | None = None, replicate: int = 3, rel: float = 1e-6) -> GaussianFit:
        """EM from ``initial`` and batches of ``starts`` random starts until the best log-likelihood is reached by
        ``replicate`` starts (relative ``rel``) or ``max_starts`` have run."""
        cap = max(max_starts or 200, starts)
        best, lliks, floored, states = None, [], [], []
        queue = list(initial or [])
        while len(lliks) < cap:
            batch = queue or [self.random_start(rows, rng) for _ in range(min(starts, cap - len(lliks)))]
            queue = []
            for th0 in batch:
                th, ll, fl = self.em(th0, rows)
                lliks.append(ll)
                states.append(th)
                if best is None or ll > best[1]:
                    best, floored = (th, ll), fl
            at_best = sum(ll >= best[1] - rel * max(1.0, abs(best[1])) for ll in lliks)
            if at_best >= replicate or not starts:
                break
        at_best = sum(ll >= best[1] - rel * max(1.0, abs(best[1])) for ll in lliks)
        return GaussianFit(best[0], best[1], len(lliks), int(at_best), lliks, floored, states)

    # ------------------------------------------------------------------ parameters: free vector, model point
    def class_profiles(self, th: Params) -> np.ndarray:
        """One row per class: its weight, tables, means and variance (standardised), for matching classes."""
        parts = [th.pi[:, None]] + [np.moveaxis(t, 1, 0).reshape(self.k, -1) for t in th.tables]
        parts += [m.T for m in th.means] + [v[:, None] for v in th.variances]
        return np.concatenate(parts, axis=1)

    def permute(self, th: Params, perm: np.ndarray) -> Params:
        """The parameters with class ``perm[u]`` relabelled ``u``."""
        return Params(th.pi[perm], [t[:, perm] for t in th.tables], [m[:, perm] for m in th.means],
                      [v[perm] for v in th.variances])

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The parameter space of the free vector: (lower, upper, rows, limits) with lower <= x <= upper and
        rows @ x <= limits (probabilities in [0, 1], every implied last category >= 0, variances at least
        ``VARIANCE_FLOOR``, means free)."""
        k, blocks = self.k, [(0, self.k - 1)]
        d = (k - 1 + sum(self.q[v.name] * k * (v.dim - 1) for v in self.cat)
             + sum(self.q[v.name] * k + (1 if shared else k) for v, shared in zip(self.nor, self.shared)))
        lower, upper = np.full(d, -np.inf), np.full(d, np.inf)
        at = k - 1
        for v in self.cat:
            q, c = self.q[v.name], v.dim
            blocks += [(at + r * (c - 1), c - 1) for r in range(q * k)]
            at += q * k * (c - 1)
        lower[:at], upper[:at] = 0.0, 1.0
        for v, shared in zip(self.nor, self.shared):
            at += self.q[v.name] * k
            size = 1 if shared else k
            lower[at:at + size] = VARIANCE_FLOOR
            at += size
        rows = np.zeros((len(blocks), d))
        for i, (start, size) in enumerate(blocks):
            rows[i, start:start + size] = 1.0
        return lower, upper, rows, np.ones(len(blocks))

    def in_data_units(self, th: Params, rows: Rows) -> Params:
        means = [m * s + c for m, s, c in zip(th.means, rows.scale, rows.centre)]
        return Params(th.pi, th.tables, means, [v * s**2 for v, s in zip(th.variances, rows.scale)])

    def free(self, th: Params) -> np.ndarray:
        """The free parameters: pi_0..pi_{k-2}, every table row's first c-1 entries, means, variances (one per
        class, or one if shared)."""
        parts = [th.pi[:-1]] + [t[..., :-1].ravel() for t in th.tables]
        for m, v, shared in zip(th.means, th.variances, self.shared):
            parts += [m.ravel(), v[:1] if shared else v]
        return np.concatenate(parts)

    def unfree(self, x: np.ndarray) -> Params:
        k = self.k
        at = k - 1
        pi = np.append(x[:k - 1], 1 - x[:k - 1].sum())
        tables = []
        for v in self.cat:
            q, c = self.q[v.name], v.dim
            first = x[at:at + q * k * (c - 1)].reshape(q, k, c - 1)
            at += q * k * (c - 1)
            tables.append(np.concatenate([first, 1 - first.sum(axis=2, keepdims=True)], axis=2))
        means, variances = [], []
        for v, shared in zip(self.nor, self.shared):
            q = self.q[v.name]
            means.append(x[at:at + q * k].reshape(q, k))
            at += q * k
            variances.append(np.full(k, x[at]) if shared else x[at:at + k].copy())
            at += 1 if shared else k
        return Params(pi, tables, means, variances)

    def names(self) -> list[str]:
        k, names = self.k, [f"pi_{u}" for u in range(self.k - 1)]
        for v in self.cat:
            pa = self.parents[v.name]
            for s in range(self.q[v.name]):
                state = _state_label(self.design, pa, s)
                names += [f"p_{v.name}{c}{state}_U{u}" for u in range(k) for c in range(v.dim - 1)]
        for v, shared in zip(self.nor, self.shared):
            pa = self.parents[v.name]
            names += [f"mean_{v.name}{_state_label(self.design, pa, s)}_U{u}" for s in range(self.q[v.name])
                      for u in range(k)]
            names += [f"var_{v.name}"] if shared else [f"var_{v.name}_U{u}" for u in range(k)]
        return names

    def score(self, x: np.ndarray, rows: Rows) -> np.ndarray:
        """The gradient of the log-likelihood in the free parameters (standardised units)."""
        th = self.unfree(x)
        R, _ = self.posterior(th, rows)
        k, mass = self.k, R.sum(axis=0)
        pi = np.clip(th.pi, 1e-300, None)  # a weight at 0 (a profile search on the simplex's face)
        parts = [mass[:-1] / pi[:-1] - mass[-1] / pi[-1]]
        counts, at = rows.onehot.T @ R, 0
        for v, t in zip(self.cat, th.tables):
            q, c = self.q[v.name], v.dim
            block = counts[at:at + q * c].reshape(q, c, k).transpose(0, 2, 1)
            at += q * c
            safe = np.clip(t, 1e-300, None)
            parts.append((block[..., :-1] / safe[..., :-1] - block[..., -1:] / safe[..., -1:]).ravel())
        for y, pa, mean, var, shared in zip(rows.normal_values, rows.normal_parents, th.means, th.variances,
                                            self.shared):
            resid = y[:, None] - pa @ mean
            parts.append((pa.T @ (R * resid / var[None, :])).ravel())
            dvar = (R * (-0.5 / var[None, :] + 0.5 * resid**2 / var[None, :] ** 2)).sum(axis=0)
            parts.append(np.array([dvar.sum()]) if shared else dvar)
        return np.concatenate(parts)

    def information(self, x: np.ndarray, rows: Rows) -> np.ndarray:
        """Observed information: minus the Hessian by central differences of the analytic score."""
        d = len(x)
        H = np.zeros((d, d))
        for i in range(d):
            h = 1e-5 * max(1.0, abs(x[i]))
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            H[:, i] = (self.score(up, rows) - self.score(down, rows)) / (2 * h)
        return -(H + H.T) / 2

    def model_point(self, th: Params) -> np.ndarray:
        """The point of identify's moment model (data units): probabilities as they are, and the normal
        variable's feature means E[V | pa, u] = mean, E[V^2 | pa, u] = mean^2 + variance."""
        model = Model(self.design)
        index = {p.name: i for i, p in enumerate(model.params)}
        point = np.zeros(model.n_params)
        for u in range(self.k - 1):
            point[index[f"pi_{u}"]] = th.pi[u]
        for var, table in zip(self.cat, th.tables):
            _fill(point, model.tables[var.name], lambda s, u, c, t=table: t[s, u, c])
        for v, mean, variance in zip(self.nor, th.means, th.variances):
            moments = [None, mean, mean**2 + variance[None, :]]
            _fill(point, model.tables[v.name], lambda s, u, j, m=moments, v=v: _feature(m, s, u, j, v.name))
        return point


def _feature(moments, s, u, j, name):
    if j >= len(moments):
        raise DataError(f"normal variable '{name}': features beyond v^2 are not fitted by maximum likelihood "
                        "(declare features: 3 or fewer)")
    return moments[j][s, u]


def _fill(point: np.ndarray, table: np.ndarray, value) -> None:
    """Write value(parent state, class, entry) into every free code of a model table laid out (parents.., U,
    entries)."""
    k, c = table.shape[-2], table.shape[-1]
    flat = table.reshape(-1, k, c)
    for s in range(flat.shape[0]):
        for u in range(k):
            for e in range(c):
                code = flat[s, u, e]
                if code >= 0:
                    point[code] = value(s, u, e)


def _state_label(design: Design, parents: list[str], state: int) -> str:
    labels = []
    for p in reversed(parents):
        dim = design.variable(p).dim
        labels.append(f"_{p}{state % dim}")
        state //= dim
    return "".join(reversed(labels))


def _column_sums(a: np.ndarray) -> np.ndarray:
    """The sums of an (n, k) array's columns as one matrix-vector product (numpy's strided reduce over n rows of
    k columns is about 50x slower)."""
    return a.T @ np.ones(len(a))
