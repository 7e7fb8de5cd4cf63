"""Latent class regression: the likelihood of a design whose class U depends on observed covariates W.

P(U = u | W) is a multinomial logit, class 0 the reference: log P(U=u|W) - log P(U=0|W) = W~ beta_u with
W~ = (1, W). The variables given U keep the design's model (:class:`.model.Likelihood`: its tables, parents and
missing answers), so the likelihood of a row is sum_u P(U=u | W) P(answers | U=u). Rows cannot be collapsed to
answer patterns once W varies continuously: the data are the distinct (answers, W) rows with their counts.

EM is vectorised over rows and over starts (one slice of a batch per start). E-step: class posteriors per row;
M-step: the tables in closed form (posterior-weighted counts, as without covariates) and one Newton step on the
logit coefficients (the posterior-weighted multinomial log-likelihood is concave; the step is halved until it
rises, so every EM step raises the likelihood). SQUAREM extrapolates the EM map as for the plain model.

Internally the covariates are standardised (mean 0, standard deviation 1): the Newton steps and the information
are then well scaled whatever the units. Coefficients are reported on the data's own scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mixid.identify.errors import DataError

from ..data import Patterns
from .inference import pattern_scores
from .model import BOUNDARY, TOL, Likelihood, _Compiled, _logsumexp, squarem
from .optimise import MAX_STARTS, START_SECONDS, _at_best, more_starts, unreplicated

#: Accelerated EM cycles of a batch of starts before the most promising ones are run to the tolerance.
EM_CYCLES = 50
#: Starts within this of the best log-likelihood after the short phase are run to the tolerance.
CANDIDATE_GAP = 5.0
#: Relative step of the numerical derivative of the score (the observed information).
STEP = 1e-5


@dataclass
class Rows:
    """The data of a latent class regression, compiled: distinct (answers, covariates) rows with their counts."""

    measurement: _Compiled  # the answers of each distinct row, compiled for the measurement tables
    Z: np.ndarray  # (R, p + 1): 1, then the standardised covariates
    counts: np.ndarray  # (R,)
    codes: np.ndarray  # (R, m) answer codes (negative: missing)


class RegressionLikelihood:
    """The likelihood of a latent class regression: a design's measurement model and a multinomial logit for U.

    A state is one flat vector: the logit coefficients ``G`` ((k - 1) x (p + 1), on the standardised covariates,
    row u - 1 for class u) and then the measurement tables in :class:`.model.Likelihood`'s flat layout (without
    its class weights). Batches of states are arrays (S, D).

    Examples
    --------
    >>> from mixid.identify import Design, Model
    >>> lik = RegressionLikelihood(Likelihood(Model(Design.latent_class(list("ABC")))), ["age"],
    ...                            np.array([30.0]), np.array([10.0]))
    >>> lik.n_coefficients, lik.size
    (2, 14)
    """

    def __init__(self, lik: Likelihood, names, mean: np.ndarray, scale: np.ndarray):
        self.lik, self.k, self.names = lik, lik.k, tuple(names)
        self.p = len(self.names)
        self.mean, self.scale = np.asarray(mean, float), np.asarray(scale, float)
        self.n_coefficients = (self.k - 1) * (self.p + 1)
        self.size = self.n_coefficients + sum(lik.sizes[1:])
        pi_codes = lik.model._pi[lik.model._pi >= 0]
        #: the measurement model's free parameters (the model's, less its class weights)
        self.table_params = np.setdiff1d(np.arange(lik.model.n_params), pi_codes)

    # ------------------------------------------------------------------------------ data and states
    def rows(self, codes: np.ndarray, W: np.ndarray, counts: np.ndarray | None = None) -> Rows:
        """Compile rows of answer codes (n, m) and covariates (n, p): distinct rows with their counts."""
        codes = np.asarray(codes, np.int64)
        W = np.asarray(W, float).reshape(len(codes), self.p)
        counts = np.ones(len(codes)) if counts is None else np.asarray(counts, float)
        both = np.concatenate([codes.astype(float), W], axis=1)
        distinct, inverse = np.unique(both, axis=0, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=counts, minlength=len(distinct))
        codes_d = distinct[:, :codes.shape[1]].astype(np.int64)
        Z = np.concatenate([np.ones((len(distinct), 1)), (distinct[:, codes.shape[1]:] - self.mean) / self.scale],
                           axis=1)
        patterns = Patterns(codes_d, counts, self.lik.dims)
        return Rows(_Compiled.build(self.lik, patterns), Z, counts, codes_d)

    def split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (S, k - 1, p + 1) and the measurement state (S, D - (k-1)(p+1)) of a batch."""
        return X[:, :self.n_coefficients].reshape(len(X), self.k - 1, self.p + 1), X[:, self.n_coefficients:]

    def random_states(self, rng: np.random.Generator, S: int) -> np.ndarray:
        """S random starts: the plain model's random tables, intercepts from Dirichlet(4) class weights and
        small random slopes."""
        plain = self.lik.random_states(rng, S)
        pi = plain[:, :self.k]
        G = np.zeros((S, self.k - 1, self.p + 1))
        G[:, :, 0] = np.log(pi[:, 1:] / pi[:, :1])
        G[:, :, 1:] = rng.normal(0.0, 0.1, size=(S, self.k - 1, self.p))
        return np.concatenate([G.reshape(S, -1), plain[:, self.k:]], axis=1)

    def state(self, G: np.ndarray, tables) -> np.ndarray:
        """The flat state of coefficients (k - 1, p + 1) and tables in the model's layout ((n_pa, k, C) each)."""
        return np.concatenate([np.asarray(G, float).ravel(), self.lik.pack(np.ones(self.k), tables)[self.k:]])

    def tables_of(self, x: np.ndarray) -> list[np.ndarray]:
        """The measurement tables of one state, in the model's layout (n_pa, k, C)."""
        _, tables = self.lik.tables_of(np.concatenate([np.ones(self.k), x[self.n_coefficients:]]))
        return tables

    # ------------------------------------------------------------------------------------- the model
    def log_prior(self, G: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """log P(U = u | W) of every row, shape (S, k, R) (rows last: the reductions over classes stay
        vectorised over rows)."""
        eta = np.concatenate([np.zeros((len(G), 1, len(Z))), G @ Z.T], axis=1)
        return eta - _logsumexp(eta, axis=1)[:, None, :]

    def log_measurement(self, T: np.ndarray, data: Rows) -> np.ndarray:
        """log P(answers | U = u) of every row, shape (S, k, R) (the plain model's joint with weights 1)."""
        return self.lik.log_joint(np.concatenate([np.ones((len(T), self.k)), T], axis=1), data.measurement)

    def posterior(self, X: np.ndarray, data: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class posteriors (S, k, R), priors P(U | W) (S, k, R) and log-likelihoods (S,) of a batch."""
        post, log_prior, ll = self._estep(X, data)
        return post, np.exp(log_prior), ll

    def _estep(self, X: np.ndarray, data: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        G, T = self.split(X)
        prior = self.log_prior(G, data.Z)
        logj = prior + self.log_measurement(T, data)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll_r = _logsumexp(logj, axis=1)
            post = np.where(np.isfinite(ll_r)[:, None, :], np.exp(logj - ll_r[:, None, :]), 0.0)
            ll = np.where(data.counts > 0, ll_r * data.counts, 0.0).sum(axis=-1)
        return post, prior, np.where(np.isnan(ll), -np.inf, ll)

    def loglik(self, X: np.ndarray, data: Rows) -> np.ndarray:
        """Log-likelihoods (S,) of a batch of states."""
        return self.posterior(X, data)[2]

    def em_step(self, X: np.ndarray, data: Rows) -> tuple[np.ndarray, np.ndarray]:
        """One EM step for every state of the batch: (new states, log-likelihood at the old ones)."""
        post, log_prior, ll = self._estep(X, data)
        S = len(X)
        G, T = self.split(X)
        w = post * data.counts  # (S, k, R) expected counts of (row, class)
        # the tables: posterior-weighted counts per table row (closed form, as without covariates)
        parts = []
        _, old = self.lik.unpack(np.concatenate([np.ones((S, self.k)), T], axis=1))
        flat_w = w.reshape(S * self.k, -1).T
        for onehot, t in zip(data.measurement.onehot, old):
            counts = np.asarray((onehot @ flat_w).T).reshape(t.shape)
            denom = counts.sum(axis=-1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                new = np.where(denom > 0, counts / denom, t)
            parts.append(new.reshape(S, -1))
        return np.concatenate([self.newton_step(G, w, data.Z, log_prior).reshape(S, -1)] + parts, axis=1), ll

    def newton_step(self, G: np.ndarray, w: np.ndarray, Z: np.ndarray, log_prior: np.ndarray | None = None
                    ) -> np.ndarray:
        """One Newton step on the logit coefficients for the expected class counts ``w`` (S, k, R): the maximum
        of sum_r sum_u w_ru log P(U=u | W_r) is approached, the step halved until that objective rises.
        ``log_prior``: log P(U | W) at ``G`` when known."""
        S, q = len(G), self.p + 1
        m = (self.k - 1) * q

        def objective(g):
            return (w * self.log_prior(g, Z)).sum(axis=(1, 2))

        log_prior = self.log_prior(G, Z) if log_prior is None else log_prior
        prob = np.exp(log_prior[:, 1:])  # (S, k - 1, R)
        total = w.sum(axis=1)  # (S, R)
        grad = ((w[:, 1:] - prob * total[:, None, :]) @ Z).reshape(S, m)
        # the negative Hessian: sum_r total_r (diag(p_r) - p_r p_r^T) (x) z_r z_r^T, block by block
        H = np.zeros((S, self.k - 1, q, self.k - 1, q))
        for v in range(self.k - 1):
            for u in range(v, self.k - 1):
                a = total * prob[:, v] * ((u == v) - prob[:, u])  # (S, R)
                H[:, v, :, u, :] = (Z.T[None] * a[:, None, :]) @ Z
                H[:, u, :, v, :] = H[:, v, :, u, :]
        H = H.reshape(S, m, m)
        try:
            step = np.linalg.solve(H, grad[..., None])[..., 0].reshape(G.shape)
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(h, g, rcond=None)[0] for h, g in zip(H, grad)]).reshape(G.shape)
        old = (w * log_prior).sum(axis=(1, 2))
        # a step whose predicted gain is below rounding is taken as it is (comparing objectives that equal to the
        # last digit would halve it for nothing); the others are halved until the objective rises
        gain = 0.5 * np.einsum("sm,sm->s", grad, step.reshape(S, m))
        out, todo = G + step, ~(gain <= 1e-13 * np.maximum(np.abs(old), 1.0))
        out[todo] = G[todo]
        h = 1.0
        for _ in range(30):
            if not todo.any():
                break
            cand = G + h * step
            ok = todo & (objective(cand) >= old)
            out[ok] = cand[ok]
            todo &= ~ok
            h /= 2
        return out

    def squarem(self, X: np.ndarray, data: Rows, tol: float = TOL, max_iter: int = 5000
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Maximise from every state of the batch by SQUAREM-accelerated EM: (states, log-likelihoods,
        converged flags). An extrapolation that leaves the tables' simplex or lowers the likelihood falls back to
        plain EM, so the likelihood never decreases."""
        c = self.n_coefficients

        def normalise(Xp):  # the tables' rows back on their simplices (the coefficients are free)
            Xp = Xp.copy()
            Xp[:, c:] = self.lik.normalise(np.concatenate([np.ones((len(Xp), self.k)), Xp[:, c:]], axis=1))[:, self.k:]
            return Xp

        X, converged = squarem(self.em_step, X, data, tol, max_iter, bounded=slice(c, None), normalise=normalise)
        return X, self.loglik(X, data), converged

    # ------------------------------------------------------------------------------ information
    def coordinates(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients (flat) and the measurement model's free parameters (the model's point) of a state."""
        G, _ = self.split(x[None, :])
        tables = self.tables_of(x)
        return G[0].ravel(), self.lik.to_point(np.full(self.k, 1.0 / self.k), tables)

    def state_at(self, g: np.ndarray, point: np.ndarray) -> np.ndarray:
        """The state of flat coefficients and a model point (its class weights ignored)."""
        _, tables = self.lik.from_point(point)
        return self.state(g.reshape(self.k - 1, self.p + 1), tables)

    def row_scores(self, x: np.ndarray, data: Rows) -> np.ndarray:
        """The score of each distinct row's log-likelihood in (coefficients, table parameters), by Fisher's
        identity: shape (R, (k-1)(p+1) + len(table_params))."""
        post, prior, _ = self.posterior(x[None, :], data)
        post, prior = post[0], prior[0]  # (k, R)
        coef = ((post[1:] - prior[1:]).T[:, :, None] * data.Z[:, None, :]).reshape(len(data.Z), -1)
        _, point = self.coordinates(x)
        state = self.lik.state_of(point)
        with np.errstate(divide="ignore", invalid="ignore"):
            tables = pattern_scores(self.lik, state, data.measurement, post)[:, self.table_params]
        # an entry at 0 has no finite derivative (0/0 for the rows that would need it, whose posterior is 0 there):
        # its direction is held out of the information (``face``), so its column only needs to be finite
        tables = np.where(np.isfinite(tables), tables, 0.0)
        return np.concatenate([coef, tables], axis=1)

    def score(self, x: np.ndarray, data: Rows) -> np.ndarray:
        """The score of the whole log-likelihood at a state."""
        return data.counts @ self.row_scores(x, data)

    def face(self, x: np.ndarray, data: Rows) -> tuple[np.ndarray, np.ndarray]:
        """Directions of (coefficients, table parameters) that keep the table entries on the boundary at 0 (the
        coefficients move freely), as columns; and the mask of the model's entries held at 0."""
        g, point = self.coordinates(x)
        score = np.zeros(self.lik.model.n_params)
        score[self.table_params] = self.score(x, data)[self.n_coefficients:]
        basis, at_zero = self.lik._face_basis(point, score)
        basis = basis[:, ~basis[self.lik.model._pi[self.lik.model._pi >= 0]].any(axis=0)]  # not the weights
        c = self.n_coefficients
        D = np.zeros((c + len(self.table_params), c + basis.shape[1]))
        D[:c, :c] = np.eye(c)
        D[c:, c:] = basis[self.table_params]
        return D, at_zero

    def observed_information(self, x: np.ndarray, data: Rows, D: np.ndarray) -> np.ndarray:
        """Minus the Hessian of the log-likelihood along the directions ``D`` (columns), by central differences
        of the analytic score (its exact derivative is not needed: the score is exact, the difference is
        O(step^2))."""
        g0, point0 = self.coordinates(x)
        c = self.n_coefficients
        entries = self.lik._entries(point0)
        room = entries[(entries > BOUNDARY)].min(initial=1.0)
        out = np.zeros((D.shape[1], D.shape[1]))
        for j in range(D.shape[1]):
            d = D[:, j]
            h = STEP * max(1.0, float(np.abs(g0 @ d[:c]))) if not d[c:].any() else min(STEP, room / 4)
            diff = []
            for sign in (1.0, -1.0):
                g = g0 + sign * h * d[:c]
                point = point0.copy()
                point[self.table_params] += sign * h * d[c:]
                with np.errstate(invalid="ignore"):  # an implied last category a rounding below 0: log of it is
                    diff.append(self.score(self.state_at(g, point), data))  # NaN only in cells no row holds
            out[:, j] = -D.T @ (diff[0] - diff[1]) / (2 * h)
        return (out + out.T) / 2

    # ------------------------------------------------------------------------- reported quantities
    def original_scale(self) -> np.ndarray:
        """The matrix A with beta = A g: coefficients on the data's scale from the standardised ones (flat,
        class by class)."""
        q = self.p + 1
        block = np.eye(q)
        block[0, 1:] = -self.mean / self.scale
        block[1:, 1:] = np.diag(1.0 / self.scale)
        return np.kron(np.eye(self.k - 1), block)

    def mean_prior(self, x: np.ndarray, data: Rows) -> tuple[np.ndarray, np.ndarray]:
        """The class shares averaged over the rows, (1/n) sum_r P(U = u | W_r), and their gradients in the
        coefficients, shape (k, (k-1)(p+1))."""
        G, _ = self.split(x[None, :])
        prob = np.exp(self.log_prior(G, data.Z))[0].T  # (R, k)
        wts = data.counts / data.counts.sum()
        shares = wts @ prob
        # d p_ru / d g_vq = p_ru (1[u = v] - p_rv) z_rq, v = 1..k-1
        jac = prob[:, :, None] * (np.eye(self.k)[None, :, 1:] - prob[:, None, 1:])  # (R, k, k - 1)
        grads = np.einsum("r,ruv,rq->uvq", wts, jac, data.Z).reshape(self.k, -1)
        return shares, grads


@dataclass
class RegressionFit:
    """A maximised latent class regression: the state (classes in canonical order), the fit and its starts."""

    likelihood: RegressionLikelihood
    state: np.ndarray
    loglik: float
    rows: Rows
    starts: int
    starts_at_best: int
    replicated: bool
    converged: bool
    start_lliks: np.ndarray
    warnings: list[str] = field(default_factory=list)

    def posterior(self, codes: np.ndarray, W: np.ndarray) -> np.ndarray:
        """P(U = u | answers, W) of each row (validated codes (n, m), covariates (n, p)): shape (n, k)."""
        lik = self.likelihood
        codes = np.asarray(codes, np.int64)
        patterns = Patterns(codes, np.ones(len(codes)), lik.lik.dims)
        Z = np.concatenate([np.ones((len(codes), 1)), (np.asarray(W, float) - lik.mean) / lik.scale], axis=1)
        rows = Rows(_Compiled.build(lik.lik, patterns), Z, np.ones(len(codes)), codes)
        return lik.posterior(self.state[None, :], rows)[0][0].T


def maximise(lik: RegressionLikelihood, data: Rows, starts: int = 10, seed=None, initial=(), max_starts=None,
             max_seconds: float = START_SECONDS, order=None, progress=None) -> RegressionFit:
    """Maximise from ``initial`` states plus random starts, in batches, by the categorical likelihood's rule: more
    batches of ``starts`` until the best log-likelihood is reached by ``REPLICATIONS`` starts (within
    ``SAME_MAX`` relative), ``max_starts`` have run or ``max_seconds`` have passed. ``order(lik, x)`` puts the
    classes of the best state in the reported order (default: by mean share, largest first).

    Examples
    --------
    >>> from mixid.identify import Design, Model
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(3000, 1))
    >>> u = (rng.random(3000) < 1 / (1 + np.exp(-2 * W[:, 0]))).astype(int)
    >>> codes = (rng.random((3000, 4)) < np.where(u[:, None] == 1, 0.85, 0.2)).astype(int)
    >>> lik = RegressionLikelihood(Likelihood(Model(Design.latent_class(list("ABCD")))), ["w"],
    ...                            W.mean(0), W.std(0))
    >>> fit = maximise(lik, lik.rows(codes, W), starts=5, seed=0)
    >>> fit.replicated
    True
    """
    import time

    from ..simulate import as_generator

    if max_starts is None:
        max_starts = max(MAX_STARTS, len(initial) + starts)
    clock = time.perf_counter()
    rng = as_generator(seed)
    batch = np.concatenate([np.array(initial, float).reshape(len(initial), lik.size), lik.random_states(rng, starts)])
    X, ll, conv = _climb(lik, batch, data, -np.inf)
    X, ll, conv, stop = more_starts(lambda size, best: _climb(lik, lik.random_states(rng, size), data, best),
                                    X, ll, conv, starts, max_starts, max_seconds, clock, progress)
    if not np.isfinite(ll).any():
        raise DataError("latent class regression: no start reached a finite log-likelihood (every start makes an "
                        "observed row impossible)")
    b = int(np.argmax(ll))
    at_best = _at_best(ll, ll[b])
    x = (order or canonical)(lik, X[b], data)
    fit = RegressionFit(lik, x, float(lik.loglik(x[None, :], data)[0]), data, len(X), int(at_best.sum()),
                        stop == "replicated", bool(conv[b]), ll)
    if stop != "replicated":
        fit.warnings.append(unreplicated(int(at_best.sum()), len(X), stop))
    if not fit.converged:
        fit.warnings.append(f"the best start did not converge to the tolerance ({TOL:g} in log-likelihood); the "
                            "estimate may be off")
    return fit


def _climb(lik: RegressionLikelihood, X: np.ndarray, data: Rows, best: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of starts: short accelerated EM for all, then to the tolerance for those within ``CANDIDATE_GAP``
    of the best (of this batch, or ``best`` so far); the others sit on lower maxima."""
    X, ll, conv = lik.squarem(X, data, max_iter=EM_CYCLES)
    top = max(best, ll.max())
    live = np.flatnonzero((ll >= top - CANDIDATE_GAP) & ~conv)
    if len(live):
        X[live], ll[live], conv[live] = lik.squarem(X[live], data, max_iter=5000)
    return X, ll, conv


def relabel(lik: RegressionLikelihood, x: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The state with its classes in ``order`` (new class j is old class order[j]); the coefficients are
    re-referenced to the new class 0.

    Examples
    --------
    >>> from mixid.identify import Design, Model
    >>> lik = RegressionLikelihood(Likelihood(Model(Design.latent_class(list("ABC")))), ["w"], np.zeros(1),
    ...                            np.ones(1))
    >>> x = lik.random_states(np.random.default_rng(0), 1)[0]
    >>> G, _ = lik.split(relabel(lik, x, np.array([1, 0]))[None, :])
    >>> bool(np.allclose(G, -lik.split(x[None, :])[0]))  # class 0 against 1 is minus class 1 against 0
    True
    """
    G, _ = lik.split(x[None, :])
    full = np.concatenate([np.zeros((1, lik.p + 1)), G[0]])[order]
    tables = [t[:, order] for t in lik.tables_of(x)]
    return lik.state(full[1:] - full[0], tables)


def canonical(lik: RegressionLikelihood, x: np.ndarray, data: Rows) -> np.ndarray:
    """Classes by mean share P(U = u) over the rows, largest first (class 0, the reference, is the largest).

    Examples
    --------
    >>> from mixid.identify import Design, Model
    >>> lik = RegressionLikelihood(Likelihood(Model(Design.latent_class(list("ABC")))), ["w"], np.zeros(1),
    ...                            np.ones(1))
    >>> rows = lik.rows(np.zeros((4, 3), np.int64), np.arange(4.0)[:, None])
    >>> x = lik.state(np.array([[2.0, 0.0]]), [np.full((1, 2, 2), 0.5)] * 3)  # class 1: e^2 times as likely
    >>> shares, _ = lik.mean_prior(canonical(lik, x, rows), rows)
    >>> bool(shares[0] > shares[1])
    True
    """
    shares, _ = lik.mean_prior(x, data)
    return relabel(lik, x, np.argsort(-shares, kind="stable"))
