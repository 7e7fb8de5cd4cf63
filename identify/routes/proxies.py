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

import math
from collections.abc import Sequence
from itertools import groupby, islice

import numpy as np

from .. import spo_core
from ..graph import Condition, iter_role_assignments, role_candidates
from ..latex import tex_name, tex_names
from ..marginals import ancestral
from ..model import eval_poly_mod
from ..rank import RankResult, generic_rank, points_needed
from .base import Context, Estimand, RouteResult, new_tally

MAX_ROLE_OPTIONS = 20_000  # role pairs generated at most, fewest proxies first
EXACT_CELLS = 16  # largest d_Z d_X whose factorisations are expanded exactly


def _fmt(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else "(" + ",".join(names) + ")"


def joint_mod(ctx: Context, keep: tuple[str, ...], outcome: bool = False, point: np.ndarray | None = None
              ) -> np.ndarray:
    """Observable joint moments of ``keep`` mod p (times Y when ``outcome``), axes in ``keep`` order, at the
    witness point (or at ``point``)."""
    d, p, m = ctx.design, ctx.prime, ctx.model
    Y = d.outcome
    names = keep + ((Y,) if outcome and Y not in keep else ())
    if point is None:  # from the ancestors of names only
        classes, weights = ctx.class_marginal_tensor(names), ctx.weights
    else:
        classes, weights = ctx.marginals.class_table(point, names, p), m.weights(point, p)
    tensor = (classes * weights % p).sum(axis=-1) % p
    if outcome:
        var = d.variable(Y)
        values = np.arange(var.dim) if var.categorical else (np.arange(var.dim) == 1).astype(np.int64)
        tensor = np.tensordot(tensor, values, axes=([tensor.ndim - 1], [0])) % p
    return tensor


def zx_matrix(ctx: Context, Z: tuple[str, ...], X: tuple[str, ...], t: int, outcome: bool = False,
              point: np.ndarray | None = None) -> np.ndarray:
    """P(Z=z, X=x, T=t) (times Y) mod p as a d_Z x d_X matrix (proportional to M[Z,X(,Y)|t]), at the witness point
    (or at ``point``)."""
    T = ctx.design.treatment
    m = joint_mod(ctx, Z + X + (T,), outcome, point)
    return np.take(m, t, axis=len(Z) + len(X)).reshape(_dim(ctx, Z), _dim(ctx, X))


def zy_vector(ctx: Context, Z: tuple[str, ...], t: int) -> np.ndarray:
    T = ctx.design.treatment
    return np.take(joint_mod(ctx, Z + (T,), outcome=True), t, axis=len(Z)).reshape(-1)


def ex_vector(ctx: Context, X: tuple[str, ...]) -> np.ndarray:
    return joint_mod(ctx, X).reshape(-1)


def _dim(ctx: Context, names: Sequence[str]) -> int:
    return math.prod(ctx.design.variable(n).dim for n in names)


def zx_rank(ctx: Context, Z: tuple[str, ...], X: tuple[str, ...], t: int) -> RankResult:
    """Generic rank of M[Z,X|t]: at the shared witness point, then (while below k) at fresh random points until
    the probability that the generic rank is higher falls below ``ctx.error`` (:func:`~mixid.identify.rank.
    generic_rank`). The factorisation M = A_t D_t B^T caps the rank at k; a dimension count may cap it lower."""
    key = ("zx_rank", Z, X, t)
    if key not in ctx.cache:
        k, shape = ctx.design.classes, (_dim(ctx, Z), _dim(ctx, X))
        drawn = []

        def evaluate(rng):
            if not drawn:  # the shared point first: the route's other checks use it
                drawn.append(ctx.point)
                return ctx.point, zx_matrix(ctx, Z, X, t)
            point = ctx.model.random_point(rng, ctx.prime)
            return point, zx_matrix(ctx, Z, X, t, point=point)

        bound, reason = ((min(shape), f"dimension count: {shape[0]} x {shape[1]} matrix") if min(shape) < k
                         else (k, f"factorisation M = A_t D_t B^T through k = {k} classes"))
        ctx.cache[key] = generic_rank(evaluate, len(ctx.design.names) + 1, error=ctx.error, seed=ctx.rng,
                                      upper_bound=bound, upper_reason=reason, prime=ctx.prime)
    return ctx.cache[key]


def rank_conditions(ctx: Context, Z, X, route: str) -> tuple[list[Condition], bool]:
    """rank M[Z,X|t] = k for t = 0, 1, each with a witness minor (the factorisation caps it at k).

    A rank below k is proved by a dimension count, or else decided at random points with the error bound of
    ``ctx.error`` (probabilistic, stated in the condition).
    """
    k = ctx.design.classes
    out = []
    for t in (0, 1):
        r = zx_rank(ctx, Z, X, t)
        holds = r.rank >= k
        matrix = {"treatment_side": list(Z), "outcome_side": list(X), "arm": t}
        why = {"rank_lower_bound": r.rank, "upper_bound": k, "witness": {**r.witness.to_dict(), "matrix": matrix},
               "points": r.points}
        value = f"{k}"
        if not holds and r.upper_bound is not None and r.upper_bound < k:
            why["reason"] = f"{r.upper_reason} has rank < k = {k}"
            value = f"{r.rank} < k = {k}"
        elif not holds:
            why["error_bound"] = r.error_bound
            why["reason"] = (f"rank {r.rank} at {r.points} random point(s): rank k is not established "
                             f"(probabilistic: a higher generic rank has probability <= {r.error_bound:.1e})")
            value = f"{r.rank} < k = {k} (probabilistic, error <= {r.error_bound:.1e})"
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
    estimator); then treatment-side proxies that are parents of T; then declaration order. When no pair reaches
    rank k the richest pair is reported, so the failing rank condition is visible.

    The pairs grow like 4^m, so they are not all listed: they are generated by number of proxies, leaving out
    pairs with fewer than k states on a side (rank k is impossible) and pairs that are the image of an earlier
    one under swapping interchangeable proxies (same categories, parents and children); the search stops once a
    pair reaching rank k has fewer cells than any pair with more proxies can have (the product of the smallest
    dimensions). At most MAX_ROLE_OPTIONS pairs are generated, fewest proxies first.
    """
    d = ctx.design
    if d.roles is not None:
        return d.roles.treatment_side, d.roles.outcome_side
    ctx.check("choosing proxy roles")
    candidates = role_candidates(ctx.graph, for_mte=mte)
    if mte and not candidates.compatible:
        # No MTE-admissible pair: show the ATE-admissible one so the report names what fails (X ⊥ Y | U, T).
        candidates = role_candidates(ctx.graph, for_mte=False)
    if not candidates.compatible:
        return None
    k = d.classes
    order = {n: i for i, n in enumerate(d.names)}
    dims = {n: d.variable(n).dim for n in d.names}
    t_parents = set(d.parents(d.treatment))
    smallest = sorted(dims[n] for n in set(candidates.treatment_side) | set(candidates.outcome_side))

    def key(zx):
        Z, X = zx
        return (math.prod(dims[n] for n in Z) * math.prod(dims[n] for n in X), -len(t_parents & set(Z)),
                [order[n] for n in Z], [order[n] for n in X])

    best = None
    generated = 0
    # pairs with fewer than k states on a side cannot reach rank k (dimension count): not generated
    # and of interchangeable proxies only the first ones are used (the others give images of the same pairs)
    twins = {n: (dims[n], d.variable(n).type, d.parents(n), d.children(n)) for n in d.names}
    viable = iter_role_assignments(candidates, dims, min_dim=k, twins=twins)
    for size, group in groupby(viable, key=lambda zx: len(zx[0]) + len(zx[1])):
        if best is not None and math.prod(smallest[:size]) > best[0][0]:
            break  # every pair with this many proxies has more cells than the best one found
        group = sorted(islice(group, MAX_ROLE_OPTIONS - generated), key=key)
        generated += len(group)
        for zx in group:  # the cheapest pair of this size that reaches rank k and beats the best so far
            ctx.check("choosing proxy roles")
            kz = key(zx)
            if best is not None and kz >= best[0]:
                break
            if min(zx_rank(ctx, *zx, t).rank for t in (0, 1)) >= k:
                best = (kz, zx)
                break
        if generated >= MAX_ROLE_OPTIONS:
            break
    if best is not None:
        return best[1]
    # none reaches rank k: report the richest of the first MAX_ROLE_OPTIONS pairs, whose failing rank the
    # conditions show
    return max(islice(iter_role_assignments(candidates), MAX_ROLE_OPTIONS), key=key)


def verify_factorisations(ctx: Context, Z, X, spo: bool) -> dict:
    """Check the factorisations as polynomial identities in the model's parameters.

    Small ones (at most EXACT_CELLS cells d_Z d_X, nothing summed out but Z, X, T and Y themselves) are expanded;
    larger ones are checked at random points from the class tables (:func:`_factorisations_at_points`).
    Raises AssertionError naming the first identity that fails (a bug: d-separation said it must hold).
    """
    m, d = ctx.model, ctx.design
    involved = tuple(Z) + tuple(X) + (d.treatment, d.outcome)
    if _dim(ctx, Z) * _dim(ctx, X) > EXACT_CELLS or set(ancestral(d, involved)) != set(involved):
        return _factorisations_at_points(ctx, tuple(Z), tuple(X), spo)
    T, k = d.treatment, d.classes
    zs, xs = m.proxy_states(Z), m.proxy_states(X)
    px = {(i, u): m.class_poly(x, u) for i, x in enumerate(xs) for u in range(k)}
    pis = [m.weight_poly(u) for u in range(k)]
    tally = new_tally()
    for t in (0, 1):
        lam = [m.outcome_class_mean(u, t) for u in range(k)]
        for z in zs:
            ctx.check("verifying the proxy factorisations")
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


def _factorisations_at_points(ctx: Context, Z: tuple[str, ...], X: tuple[str, ...], spo: bool) -> dict:
    """The identities of :func:`verify_factorisations` at random points mod p, both sides from the class tables
    of the marginals (no polynomial is expanded: a treatment or an outcome with many parents sums them out in
    every cell). Per point and arm t, for every z, x:

        sum_u pi_u sum_y y P(z, t, y | u)       = sum_u pi_u P(z, t | u) E[Y(t) | u]
        sum_u pi_u P(z, x, t | u)               = sum_u pi_u P(z, t | u) P(x | u)
        pi_u sum_y y P(z, x, t, y | u)          = pi_u P(z, t | u) P(x | u) E[Y(t) | u]     (SPO, every u)

    A wrong identity of degree D survives a random point with probability <= D / (p - 1) (Schwartz-Zippel).
    """
    m, d, p, k = ctx.model, ctx.design, ctx.prime, ctx.design.classes
    T, Y = d.treatment, d.outcome
    var = d.variable(Y)
    y_values = np.arange(var.dim) if var.categorical else (np.arange(var.dim) == 1).astype(np.int64)
    lam_polys = {t: [m.outcome_class_mean(u, t) for u in range(k)] for t in (0, 1)}  # under do(T=t): small
    degree = 1 + 3 * len(ancestral(d, Z + X + (T, Y)))
    points = [m.random_point(ctx.rng, p) for _ in range(points_needed(degree, ctx.error, p))]
    dz, dx = _dim(ctx, Z), _dim(ctx, X)

    def table(point, names):  # P(names | u) mod p, with T's axis first when present: (2?, cells, k)
        t = ctx.marginals.class_table(point, names, p)
        if T in names:
            t = np.moveaxis(t, names.index(T), 0)
            return t.reshape(2, -1, k)
        return t.reshape(-1, k)

    for point in points:
        ctx.check("verifying the proxy factorisations")
        pts = [int(v) for v in point]
        pi = m.weights(point, p).astype(np.int64) % p
        zt, x_u = table(point, Z + (T,)), table(point, X)
        zxt = table(point, Z + X + (T,))
        zty = ctx.marginals.class_table(point, Z + (T, Y), p)  # (*Z dims, 2, dY, k)
        zty = np.moveaxis(zty.reshape(dz, 2, var.dim, k), 1, 0)  # (2, dz, dY, k)
        zy = np.tensordot(zty, y_values, axes=([2], [0])) % p  # (2, dz, k)
        zxty = np.moveaxis(ctx.marginals.class_table(point, Z + X + (T, Y), p).reshape(dz * dx, 2, var.dim, k),
                           1, 0) if spo else None
        for t in (0, 1):
            lam = np.array([eval_poly_mod(f, pts, p) for f in lam_polys[t]], dtype=np.int64)
            checks = [("M[Z,Y|t]", zy[t] * pi % p, zt[t] * pi % p * lam % p, False),
                      ("M[Z,X|t]", zxt[t] * pi % p,
                       (zt[t][:, None, :] * x_u[None, :, :] % p * pi % p).reshape(dz * dx, k), False)]
            if spo:
                lhs = np.tensordot(zxty[t], y_values, axes=([1], [0])) % p * pi % p
                rhs = (zt[t][:, None, :] * x_u[None, :, :] % p * pi % p).reshape(dz * dx, k) * lam % p
                checks.append(("M[Z,X,Y|t]", lhs, rhs, True))
            for what, lhs, rhs, per_class in checks:
                same = (np.array_equal(lhs % p, rhs % p) if per_class
                        else np.array_equal(lhs.sum(axis=-1) % p, rhs.sum(axis=-1) % p))
                if not same:
                    raise AssertionError(f"identity {what.replace('t', str(t))} does not hold for the model at a "
                                         "random point; this is a bug in mixid")
    identities = 2 * (dz + dz * dx + (dz * dx * k if spo else 0))
    tally = new_tally()
    tally["random_point_identities"] = identities
    tally["error_bound"] = identities * (degree / (p - 1)) ** len(points)
    tally["method"] = (f"polynomial identities at {len(points)} random point(s) mod p, from the class tables of the "
                       "marginals")
    return tally


def estimand_mod_p(ctx: Context, Z, X, n_moments: int) -> tuple[dict[int, int], list[int]]:
    """The estimand on the model's exact moments at ``ctx.point`` modulo ``ctx.prime``: E[Y(t)] for t = 0, 1 and
    the synthetic moments m_1..m_n (none for n = 1 beyond the ATE), by the recursion the estimators run
    (:mod:`mixid.identify.spo_core`, here over F_p)."""
    arith = spo_core.ModP(ctx.design.classes, ctx.prime)
    M = {t: zx_matrix(ctx, Z, X, t) for t in (0, 1)}
    b = {t: zy_vector(ctx, Z, t) for t in (0, 1)}
    C = {t: zx_matrix(ctx, Z, X, t, outcome=True) for t in (0, 1)} if n_moments > 1 else None
    step = spo_core.first_step(arith, M, b, ex_vector(ctx, X), C)
    moments = spo_core.spo_moments(arith, step, n_moments) if C is not None else [
        (step.potential_outcome_means[1] - step.potential_outcome_means[0]) % ctx.prime]
    return step.potential_outcome_means, moments


def end_to_end(ctx: Context, Z, X, n_moments: int) -> dict:
    """Run the estimand on the model's exact moments at the witness point (mod p) and compare with the target.

    Checks E[X]^T alpha_t = E[Y(t)] and m_j = sum_u pi_u tau_u^j for j = 1..n_moments.
    """
    p, k, model = ctx.prime, ctx.design.classes, ctx.model
    pts = [int(v) for v in ctx.point]
    po, moments = estimand_mod_p(ctx, Z, X, n_moments)
    ok = True
    for t in (0, 1):
        truth = sum(eval_poly_mod(ctx.model.weight_poly(u) * model.outcome_class_mean(u, t), pts, p)
                    for u in range(k)) % p
        ok &= po[t] == truth
    pis, taus = [int(x) for x in ctx.weights], ctx.effects
    for j, m_j in enumerate(moments, start=1):
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
    elsewhere = [c for c in ranks if c.holds and c.details["witness"]["point"] != [int(x) for x in ctx.point]]
    if elsewhere:  # rank k at a later random point only: the formula's checks need it at the shared point
        failing += [f"{c.statement} holds only away from the shared witness point (rerun with another seed)"
                    for c in elsewhere]
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
    det = det_h0(ctx)
    holds = det != 0
    return Condition("class effects distinct: det H_0 = prod pi_u prod (tau_u - tau_v)^2 != 0", holds,
                     "distinct_effects", route,
                     {"witness": {"point": "the witness point", "prime": p, "det_H0_mod_p": det}})


def det_h0(ctx: Context) -> int:
    """prod pi_u prod_{u<v} (tau_u - tau_v)^2 at the witness point, mod p (det H_0, docs/theory.md)."""
    p = ctx.prime
    taus, pis = ctx.effects, [int(x) for x in ctx.weights]
    det = 1
    for i, a in enumerate(taus):
        det = det * pis[i] % p
        for b in taus[i + 1:]:
            det = det * (a - b) ** 2 % p
    return det
