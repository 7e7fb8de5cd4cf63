"""The observable map at complex points, class relabelling, and Newton refinement: what the numerical engines
share."""

from __future__ import annotations

import time

import numpy as np

from ..model import Model
from ..polymap import PolyMap
from .result import FibreBudget


# ------------------------------------------------------------------------------------------- numerical fibre
class Orbits:
    """Class relabelling of parameter points: canonical forms, so that a fibre is counted up to relabelling."""

    def __init__(self, model: Model, rng: np.random.Generator):
        self.model = model
        k = model.k
        blocks = [[] for _ in range(k)]
        for table in model.tables.values():
            for row in table.reshape(-1, k, table.shape[-1]):
                for c in range(row.shape[-1]):
                    if (row[:, c] >= 0).all():
                        for u in range(k):
                            blocks[u].append(int(row[u, c]))
        self.blocks = np.array(blocks, dtype=np.int64).reshape(k, -1)
        self.direction = rng.normal(size=self.blocks.shape[1] + 1)
        self.observed = model.design.latent_observed

    def classes(self, x: np.ndarray) -> np.ndarray:
        """Per class: its weight then its parameters, shape (k, 1 + per-class parameters)."""
        w = self.model.weights(x)
        return np.column_stack([w, x[self.blocks]]) if self.blocks.size else w[:, None]

    def order(self, x: np.ndarray) -> np.ndarray:
        if self.observed:
            return np.arange(self.model.k)
        key = self.classes(x) @ self.direction
        return np.lexsort((key.imag, np.round(key.real, 9)))

    def canonical(self, x: np.ndarray) -> np.ndarray:
        return self.classes(x)[self.order(x)].ravel()

    def same(self, a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
        ca, cb = self.canonical(a), self.canonical(b)
        return float(np.abs(ca - cb).max()) <= tol * (1 + float(np.abs(ca).max()))


class FastMap:
    """The observable map and its Jacobian at complex points, from fixed sparse structure.

    Every factor of a cell's product (a class weight, or a probability that is a parameter, 1 minus its siblings,
    or the constant 1) is affine in the parameters: f = A x + b with a sparse A. The Jacobian then is one sparse
    product of the fixed pattern with the "all factors but one" products. Same values as
    :meth:`Model.evaluate`, several times faster on the small designs the fibre count runs on.
    """

    def __init__(self, model: Model):
        from scipy import sparse

        from ..model import LAST, ONE

        N, k, n = model.n_observables, model.k, model.n_params
        self.N, self.k, self.n = N, k, n
        factors = []  # (codes (N, k), rows (N, k, dim)) per factor: the weights first, then each variable

        pi = np.broadcast_to(model._pi, (N, k))
        factors.append((pi, np.broadcast_to(model._pi, (N, k, k))))
        factors += list(zip(model._cell_params, model._cell_rows))
        self.A, self.b = [], []
        for codes, rows in factors:
            r, c, v = [], [], []
            b = np.zeros(N * k)
            flat_codes, flat_rows = codes.reshape(-1), rows.reshape(N * k, -1)
            for j, code in enumerate(flat_codes):
                if code >= 0:
                    r.append(j), c.append(code), v.append(1.0)
                elif code == ONE:
                    b[j] = 1.0
                elif code == LAST:
                    b[j] = 1.0
                    for sib in flat_rows[j]:
                        if sib >= 0:
                            r.append(j), c.append(int(sib)), v.append(-1.0)
            self.A.append(sparse.csr_matrix((v, (r, c)), shape=(N * k, n)))
            self.b.append(b)
        self.mask = None
        if model.design.latent_observed:
            self.mask = (model._cells[:, -1][:, None] == np.arange(k)[None, :]).astype(float)
        # one affine map for every factor of every cell and class; the Jacobian is a scatter-add of the
        # "all factors but one" products along the fixed sparsity pattern of these maps
        self.A_all = sparse.vstack(self.A).tocsr()
        self.b_all = np.concatenate(self.b)
        coo = self.A_all.tocoo()
        cell = (coo.row % (N * k)) // k
        # J[cell, param] sums sign * "all factors but this one" over the affine maps' non-zeros: one sparse product
        self.scatter = sparse.csr_matrix((coo.data, (cell * n + coo.col, coo.row)), shape=(N * n, coo.shape[0]))
        self.shape = (len(self.A), N, k)
        self.first = np.ones((1, N, k)) if self.mask is None else self.mask[None]  # the mask as one more factor
        self.last = np.ones((1, N, k))

    def values(self, x: np.ndarray) -> np.ndarray:
        """The observables alone (no Jacobian)."""
        vals = (self.A_all @ x + self.b_all).reshape(self.shape)
        prod = vals.prod(axis=0)
        return (prod if self.mask is None else prod * self.mask).sum(axis=1)

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vals = (self.A_all @ x + self.b_all).reshape(self.shape)
        # products of the factors before and after each one (prefix and suffix), so no division by a zero factor
        before = np.cumprod(np.concatenate([self.first, vals[:-1]]), axis=0)
        after = np.cumprod(np.concatenate([self.last, vals[:0:-1]]), axis=0)[::-1]
        J = self.scatter @ (before * after).ravel()
        return (before[-1] * vals[-1]).sum(axis=1), J.reshape(self.N, self.n)


def refine(model: Model, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Gauss-Newton on the full (overdetermined) system F(x) = y; None unless x is an isolated fibre point."""
    for _ in range(8):
        fx, J = model.evaluate(x)
        delta = np.linalg.lstsq(J, fx - y, rcond=None)[0]
        x = x - delta
        if np.abs(delta).max() < 1e-14 * (1 + np.abs(x).max()):
            break
    fx, J = model.evaluate(x)
    scale = 1 + float(np.abs(y).max())
    if float(np.abs(fx - y).max()) > 1e-9 * scale:
        return None
    sv = np.linalg.svd(J, compute_uv=False)
    return x if sv[-1] > 1e-9 * sv[0] else None


def target_values(model: Model, targets: tuple[str, ...], orbits: Orbits):
    """A function giving, at a point, each target's value in a form that is invariant under relabelling."""
    n = model.n_params
    ate = PolyMap(model.target_polys("ate"), n).values if "ate" in targets else None
    eff = PolyMap(model.target_polys("effects"), n).values if "mte" in targets else None

    def values(x: np.ndarray) -> dict[str, np.ndarray]:
        out = {"full_mixture": orbits.canonical(x)}
        if ate is not None:
            out["ate"] = ate(x)
        if eff is not None:
            order = orbits.order(x)
            out["mte"] = np.concatenate([model.weights(x)[order], eff(x)[order]])
        return {t: out[t] for t in targets}

    return values




def interior(model: Model, x: np.ndarray) -> bool:
    """Every probability of the model (free and implied) strictly inside (0, 1)."""
    if not (0 < model.weights(x)).all():
        return False
    for name, table in model.tables.items():
        if not model.design.variable(name).categorical:
            continue
        vals = np.where(table >= 0, x[np.maximum(table, 0)], 0.0)
        last = 1 - vals.sum(axis=-1)
        if (vals[table >= 0] <= 0).any() or (last <= 0).any():
            return False
    return True




def gauss_newton(J: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The corrector's step for J dx = r: Newton for a square J, Gauss-Newton (least squares) for an
    overdetermined one. Along a path in the image of the map an overdetermined residual vanishes at the solution,
    so Gauss-Newton converges quadratically like Newton, and only to true solutions (no squaring up)."""
    if J.shape[0] == J.shape[1]:
        return np.linalg.solve(J, r)
    JH = J.conj().T  # the normal equations: J has full column rank along a good path
    return np.linalg.solve(JH @ J, JH @ r)


PATH_TOL = 1e-8  # the corrector's tolerance along the path (relative); the endpoint is polished further
END_TOL = 1e-13


def follow(x: np.ndarray, slope, system, target, deadline: float, solve=gauss_newton) -> np.ndarray | None:
    """Follow a solution x(s) of system(x)[0] = target(s) from s = 0 to 1, dx/ds = slope(x, s): an RK4 predictor,
    a three-step corrector (``solve(J, r)``: Newton, or Gauss-Newton on an overdetermined system) and an adaptive
    step; the endpoint is polished to ``END_TOL``. None when the step collapses or a system is singular. Raises
    FibreBudget past the deadline. The one path tracker of both monodromies and the parameter homotopy.

    Along the path the corrector stops at ``PATH_TOL``: demanding more near an ill-conditioned stretch only makes
    the step collapse (a failed path) without making the endpoint any better, since the endpoint is polished.
    """
    s, h = 0.0, 0.05
    try:
        while s < 1.0:
            if time.monotonic() > deadline:
                raise FibreBudget
            h = min(h, 1.0 - s)
            k1 = slope(x, s)
            k2 = slope(x + h / 2 * k1, s + h / 2)
            k3 = slope(x + h / 2 * k2, s + h / 2)
            k4 = slope(x + h * k3, s + h)
            guess, goal = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), target(s + h)
            scale = 1 + float(np.abs(x).max())
            first, ok = None, False
            for _ in range(3):
                f, J = system(guess)
                delta = solve(J, f - goal)
                guess = guess - delta
                size = float(np.abs(delta).max())
                first = size if first is None else first
                if size < PATH_TOL * scale:
                    ok = True
                    break
            if ok and first < 1e-2 * scale:
                x, s = guess, s + h
                if first < 1e-5 * scale:
                    h = min(2 * h, 0.25)
            else:
                h /= 2
                if h < 1e-8:
                    return None
        goal = target(1.0)
        for _ in range(4):
            f, J = system(x)
            delta = solve(J, f - goal)
            x = x - delta
            if float(np.abs(delta).max()) < END_TOL * (1 + float(np.abs(x).max())):
                break
    except np.linalg.LinAlgError:
        return None
    return x
