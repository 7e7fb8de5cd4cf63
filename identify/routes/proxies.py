"""Shared machinery of the proxy routes (proximal ATE, SPO MTE): roles, rank condition, verification.

Both routes rest on the factorisations (docs/theory.md), checked here as exact polynomial identities in the
model's parameters (denominators cleared by working with joint probabilities instead of conditionals):

    P(z, x, t)              = sum_u pi_u P(z, t | u) P(x | u)                 (M[Z,X|t] = A_t D_t B^T)
    sum_y y P(z, y, t)      = sum_u pi_u P(z, t | u) E[Y(t) | u]              (M[Z,Y|t] = A_t D_t lambda_t)
    sum_y y P(z, x, y, t)   = sum_u pi_u P(z, t | u) P(x | u) E[Y(t) | u]     (M[Z,X,Y|t], SPO only)

and end to end: the estimand evaluated on the model's exact moments at the witness point (mod p) equals the
target there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..graph import Condition, role_assignments, role_candidates
from ..latex import tex_name, tex_names
from ..model import eval_poly_mod
from ..rank import nonzero_minor, to_nmod
from .base import Context, Estimand, RouteResult, new_tally


def _fmt(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else "(" + ",".join(names) + ")"


def joint_mod(ctx: Context, keep: tuple[str, ...], outcome: bool = False) -> np.ndarray:
    """Observable joint moments of ``keep`` mod p (times Y when ``outcome``), axes in ``keep`` order."""
    d, p = ctx.design, ctx.prime
    Y = d.outcome
    names = keep + ((Y,) if outcome and Y not in keep else ())
    tensor = ctx.class_marginal_tensor(names)  # (*dims, k), from the ancestors of names only
    tensor = (tensor * ctx.weights % p).sum(axis=-1) % p
    if outcome:
        var = d.variable(Y)
        values = np.arange(var.dim) if var.categorical else (np.arange(var.dim) == 1).astype(np.int64)
        tensor = np.tensordot(tensor, values, axes=([tensor.ndim - 1], [0])) % p
    return tensor


def zx_matrix(ctx: Context, Z: tuple[str, ...], X: tuple[str, ...], t: int, outcome: bool = False) -> np.ndarray:
    """P(Z=z, X=x, T=t) (times Y) mod p as a d_Z x d_X matrix (proportional to M[Z,X(,Y)|t])."""
    T = ctx.design.treatment
    m = joint_mod(ctx, Z + X + (T,), outcome)
    return np.take(m, t, axis=len(Z) + len(X)).reshape(_dim(ctx, Z), _dim(ctx, X))


def zy_vector(ctx: Context, Z: tuple[str, ...], t: int) -> np.ndarray:
    T = ctx.design.treatment
    return np.take(joint_mod(ctx, Z + (T,), outcome=True), t, axis=len(Z)).reshape(-1)


def ex_vector(ctx: Context, X: tuple[str, ...]) -> np.ndarray:
    return joint_mod(ctx, X).reshape(-1)


def _dim(ctx: Context, names: Sequence[str]) -> int:
    return int(np.prod([ctx.design.variable(n).dim for n in names]))


def rank_conditions(ctx: Context, Z, X, route: str) -> tuple[list[Condition], bool]:
    """rank M[Z,X|t] = k for t = 0, 1, each with a witness minor (the factorisation caps it at k)."""
    k = ctx.design.classes
    out = []
    for t in (0, 1):
        M = zx_matrix(ctx, Z, X, t)
        w = ctx.witness(M)
        holds = w.size >= k
        why = {"rank_lower_bound": w.size, "upper_bound": k, "witness": w.to_dict()}
        if min(M.shape) < k:
            why["reason"] = f"dimension count: {M.shape[0]} x {M.shape[1]} matrix has rank < k = {k}"
        elif not holds:
            why["reason"] = "rank below k at a random point (probabilistic)"
        value = f"{k}" if holds else f"{w.size} < k = {k}"
        out.append(Condition(f"rank M[{_fmt(Z)},{_fmt(X)} | {ctx.design.treatment}={t}] = {value}", holds,
                             "rank", route, why))
    return out, all(c.holds for c in out)


def independence_conditions(ctx: Context, Z, X, route: str, mte: bool) -> list[Condition]:
    d, g = ctx.design, ctx.graph
    U, T, Y = d.latent, d.treatment, d.outcome
    conds = [
        g.statement(Z, [Y], [U, T], route),
        g.statement(Z, X, [U, T], route),
        g.statement(X, [T], [U], route),
    ]
    if mte:
        conds.append(g.statement(X, [Y], [U, T], route))
    conds.append(g.adjustment_condition(route))
    return conds


def choose_roles(ctx: Context, mte: bool) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The proxy roles to use: pinned by the design, else the best admissible assignment.

    Preference: the rank condition holds; then the fewest cells d_Z * d_X (cheapest, best-conditioned
    estimator); then treatment-side proxies that are parents of T; then declaration order. When no pair
    reaches rank k the richest pair is reported, so the failing rank condition is visible.
    """
    d = ctx.design
    if d.roles is not None:
        return d.roles.treatment_side, d.roles.outcome_side
    options = role_assignments(role_candidates(ctx.graph, for_mte=mte))
    if not options and mte:
        # No MTE-admissible pair: show the ATE-admissible one so the report names what fails (X ⊥ Y | U, T).
        options = role_assignments(role_candidates(ctx.graph, for_mte=False))
    if not options:
        return None
    k = d.classes
    order = {n: i for i, n in enumerate(d.names)}
    t_parents = set(d.parents(d.treatment))

    def rank(zx) -> int:
        return min(len(nonzero_minor(zx_matrix(ctx, *zx, t), ctx.prime)[0]) for t in (0, 1))

    def key(zx):
        Z, X = zx
        return (_dim(ctx, Z) * _dim(ctx, X), -len(t_parents & set(Z)), [order[n] for n in Z], [order[n] for n in X])

    options.sort(key=key)
    for zx in options:  # the cheapest pair that reaches rank k
        if rank(zx) >= k:
            return zx
    return options[-1]  # none does: report the richest pair, whose failing rank the conditions show


def verify_factorisations(ctx: Context, Z, X, spo: bool) -> dict:
    """Check the factorisations as polynomial identities in the model's parameters.

    Raises AssertionError naming the first identity that fails (a bug: d-separation said it must hold).
    """
    m, d = ctx.model, ctx.design
    T, k = d.treatment, d.classes
    zs, xs = m.proxy_states(Z), m.proxy_states(X)
    px = {(i, u): m.class_poly(x, u) for i, x in enumerate(xs) for u in range(k)}
    pis = [m.weight_poly(u) for u in range(k)]
    tally = new_tally()
    for t in (0, 1):
        lam = [m.outcome_class_mean(u, t) for u in range(k)]
        for z in zs:
            pzt = [m.class_poly({**z, T: t}, u) for u in range(k)]
            lhs = [[pis[u], m.outcome_class_mean(u, None, {**z, T: t})] for u in range(k)]
            ctx.same(lhs, [[pis[u], pzt[u], lam[u]] for u in range(k)], f"M[Z,Y|{t}] at {z}", tally)
            for i, x in enumerate(xs):
                ctx.same([[m.joint_poly({**z, **x, T: t})]], [[pis[u], pzt[u], px[i, u]] for u in range(k)],
                         f"M[Z,X|{t}] at {z},{x}", tally)
                if spo:
                    lhs = [[pis[u], m.outcome_class_mean(u, None, {**z, **x, T: t})] for u in range(k)]
                    ctx.same(lhs, [[pis[u], pzt[u], px[i, u], lam[u]] for u in range(k)],
                             f"M[Z,X,Y|{t}] at {z},{x}", tally)
    tally["method"] = "polynomial identities (expanded exactly, or at random points when large)"
    return tally


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer product (Python ints: residue products summed would overflow int64)."""
    return np.asarray(a).astype(object) @ np.asarray(b).astype(object)


def _restricted_solve(M: np.ndarray, B: np.ndarray, k: int, p: int) -> np.ndarray:
    """A solution of M A = B over F_p through a nonsingular k x k minor (a generalized inverse)."""
    rows, cols = nonzero_minor(M, p)
    rows, cols = rows[:k], cols[:k]
    sub = to_nmod(M[np.ix_(rows, cols)], p)
    rhs = to_nmod(B[list(rows)].reshape(len(rows), -1), p)
    sol = sub.solve(rhs)
    out = np.zeros((M.shape[1], rhs.ncols()), dtype=np.int64)
    for i, c in enumerate(cols):
        for j in range(rhs.ncols()):
            out[c, j] = int(sol[i, j])
    return out


def end_to_end(ctx: Context, Z, X, n_moments: int) -> dict:
    """Run the SPO recursion on the model's exact moments at the witness point (mod p) and compare.

    Checks E[X]^T alpha_t = E[Y(t)] and m_j = sum_u pi_u tau_u^j for j = 1..n_moments.
    """
    p, k, model = ctx.prime, ctx.design.classes, ctx.model
    pts = [int(v) for v in ctx.point]
    ex = ex_vector(ctx, X)
    alpha, A = {}, {}
    for t in (0, 1):
        M = zx_matrix(ctx, Z, X, t)
        alpha[t] = _restricted_solve(M, zy_vector(ctx, Z, t), k, p)[:, 0]
        if n_moments > 1:
            A[t] = _restricted_solve(M, zx_matrix(ctx, Z, X, t, outcome=True), k, p)
    ok = True
    for t in (0, 1):
        truth = sum(eval_poly_mod(ctx.model.weight_poly(u) * model.outcome_class_mean(u, t), pts, p)
                    for u in range(k)) % p
        ok &= int(_dot(ex, alpha[t]) % p) == truth
    gamma = (alpha[1] - alpha[0]) % p
    pis, taus = [int(x) for x in ctx.weights], ctx.effects
    for j in range(1, n_moments + 1):
        if j > 1:
            gamma = _dot((A[1] - A[0]) % p, gamma) % p
        m_j = int(_dot(ex, gamma) % p)
        ok &= m_j == sum(pi * pow(tau, j, p) for pi, tau in zip(pis, taus)) % p
    if not ok:
        raise AssertionError("the estimand disagrees with the target at the witness point; a bug in mixid")
    return {"point": "the witness point", "prime": p, "moments_checked": n_moments,
            "potential_outcome_means_checked": 2}


def proxy_route(ctx: Context, route: str, target: str, mte: bool, formula) -> RouteResult:
    """The shared body of the proximal and SPO routes; ``formula(Z, X, k, T=, Y=)`` renders the estimand's LaTeX
    from LaTeX names."""
    roles = choose_roles(ctx, mte)
    if roles is None:
        side = "X ⊥ T | U and X ⊥ Y | U, T" if mte else "X ⊥ T | U"
        return RouteResult(route, target, False,
                           f"no proxy pair: needs Z with Z ⊥ Y | U, T and a different X with {side}, "
                           "Z ⊥ X | U, T")
    Z, X = roles
    conds = independence_conditions(ctx, Z, X, route, mte)
    ranks, ranks_ok = rank_conditions(ctx, Z, X, route)
    conds += ranks
    failing = [c.statement for c in conds if not c.holds]
    k = ctx.design.classes
    if mte:
        conds.append(_distinct_condition(ctx, route))
        if not conds[-1].holds:
            failing.append(conds[-1].statement)
    if failing:
        return RouteResult(route, target, False, "fails: " + "; ".join(failing), conds)
    n_moments = 2 * k - 1 if mte else 1
    checked = verify_factorisations(ctx, Z, X, spo=mte)
    e2e = end_to_end(ctx, Z, X, n_moments)
    zs, xs = _fmt(Z), _fmt(X)
    d = ctx.design
    text = formula(tex_names(Z), tex_names(X), k, T=tex_name(d.treatment), Y=tex_name(d.outcome))
    moments = ("M[Z,X|t]", "M[Z,Y|t]") + (("M[Z,X,Y|t]",) if mte else ()) + ("E[X]",)
    estimand = Estimand(target, route, text, moments, {"treatment_side": Z, "outcome_side": X}, k)
    cert = {
        "kind": "constructive",
        "formula": text,
        "verification": {**checked, "end_to_end": e2e},
        "conditions": [c.statement for c in conds],
        "rank_witnesses": [c.details["witness"] for c in ranks],
    }
    return RouteResult(route, target, True, f"Z = {zs}, X = {xs}", conds, cert, estimand)


def _distinct_condition(ctx: Context, route: str) -> Condition:
    """det H_0 = prod pi_u prod_{u<v} (tau_u - tau_v)^2 != 0 at the witness point (mod p)."""
    p = ctx.prime
    taus, pis = ctx.effects, [int(x) for x in ctx.weights]
    det = 1
    for i, a in enumerate(taus):
        det = det * pis[i] % p
        for b in taus[i + 1:]:
            det = det * (a - b) ** 2 % p
    holds = det != 0
    return Condition("class effects distinct: det H_0 = prod pi_u prod (tau_u - tau_v)^2 != 0", holds,
                     "distinct_effects", route,
                     {"witness": {"point": "the witness point", "prime": p, "det_H0_mod_p": det}})
