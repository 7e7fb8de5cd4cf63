"""Kruskal / Allman-Matias-Rhodes route: the full mixture from three conditionally independent views.

*Pooled*: three groups of observed variables, mutually independent given U, each one categorical view (the joint
of its variables). With Kruskal ranks k_A + k_B + k_C >= 2k + 2 the CP decomposition of P(A, B, C) is unique up
to relabelling, which gives P(U) and every P(view | U), hence every conditional.

*Per arm*: within T = t, three groups of the other variables, independent given U and T; the arms are stitched
through a view independent of T given U whose class columns are distinct. Then P(u) = sum_t P(t) P(u | t) and
every conditional follows.

The pooled route works on marginals: it takes the smallest views (blocks in declaration order, each view grown
until its Kruskal rank reaches what the condition needs) and extends the decomposition to every other block W by
the argument in :data:`EXTENSION`, so it never forms the full table. When that search fails and there are few
blocks, every grouping of all the blocks is tried (the most balanced first).

Kruskal ranks are certified at the witness point: for every column subset of the claimed size a nonzero minor.
The factorisation each route relies on is checked per class: ``P(a, b, c | u) = P(a | u) P(b | u) P(c | u)`` and
``P(s, w | u) = P(s | u) P(w | u)`` (pooled: as identities of the marginals' polynomials at random points mod p,
with their Schwartz-Zippel bound), and ``P(a, b, c, t | u) P(t | u)^2 = P(a, t | u) P(b, t | u) P(c, t | u)``
(per arm: exact polynomial identities).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from ..graph import Condition
from ..latex import tex_name, tex_names
from ..marginals import ancestral
from ..rank import kruskal_rank, nonzero_minor, points_needed
from .base import Context, RouteResult, new_tally

TARGET = "full_mixture"
# The per-arm factorisation is expanded exactly up to this many cells of the views (and when no variable outside
# them and T is summed out); larger ones are checked at random points from the class tables.
EXACT_ARM_CELLS = 64
MAX_SEARCH_BLOCKS = 10  # every grouping of the blocks into three views is tried only up to this many blocks

EXTENSION = (
    "Every variable outside the three views lies in a block W that is independent of the views given {U} "
    "(d-separation), so P(S, W) = B_S diag(pi) B_W^T, where S is the union of identified views named in 'through', "
    "B_S = [P(s | u)] (columns: classes) and B_W = [P(w | u)]. The CP decomposition identifies pi and B_S up to "
    "one relabelling of the classes; B_S has full column rank k (a nonzero k x k minor at the witness point, "
    "'rank_witness', so generically) and pi_u > 0, hence B_W^T = diag(pi)^-1 B_S^+ P(S, W) with "
    "B_S^+ = (B_S^T B_S)^-1 B_S^T: P(W | u) is identified for every class, with the same labels. Every "
    "conditional P(v | pa, u) inside W is a ratio of margins of P(W | u), and the blocks are independent given "
    "{U}, so P(V | u) is the product of the views' and the blocks' laws: the full mixture is identified.")


def three_groupings(blocks: Sequence[tuple[str, ...]]) -> Iterator[tuple[tuple[str, ...], ...]]:
    """Every way to merge ``blocks`` into exactly three non-empty views (as unordered triples)."""
    n = len(blocks)
    seen = set()
    for labels in itertools.product(range(3), repeat=n):
        if len(set(labels)) < 3 or labels[0] != 0:
            continue
        # canonical: first occurrence order 0, 1, 2
        first = [labels.index(g) for g in range(3)]
        if first != sorted(first):
            continue
        if labels in seen:
            continue
        seen.add(labels)
        yield tuple(tuple(v for b, g in zip(blocks, labels) if g == j for v in b) for j in range(3))


def _fmt(view: Sequence[str]) -> str:
    return view[0] if len(view) == 1 else "(" + ",".join(view) + ")"


def _blocks_text(blocks) -> str:
    return ", ".join("{" + ", ".join(b) + "}" for b in blocks)


def _balanced(ctx: Context, blocks) -> list[tuple[tuple[str, ...], ...]]:
    """Groupings into three views, the most balanced first (smallest largest view): the first that meets
    Kruskal's condition is used, and balanced views make the best-conditioned CP problems."""
    def size(view):
        return int(np.prod([ctx.design.variable(v).dim for v in view]))

    return sorted(three_groupings(blocks), key=lambda views: (max(map(size, views)), sum(map(size, views))))


def _kruskal(ctx: Context, view: tuple[str, ...], t: int | None) -> tuple[int, list[dict]]:
    key = (view, t)
    if key not in ctx.cache:
        ctx.cache[key] = _kruskal_uncached(ctx, view, t)
    return ctx.cache[key]


def _kruskal_uncached(ctx: Context, view: tuple[str, ...], t: int | None) -> tuple[int, list[dict]]:
    return kruskal_rank(view_matrix(ctx, view, t), ctx.prime)


def view_matrix(ctx: Context, view: tuple[str, ...], t: int | None) -> np.ndarray:
    """P(view | U=u) (``t`` None) or P(view, T=t | U=u) at the witness point mod p: one column per class."""
    T = ctx.design.treatment
    ctx.check(f"computing the Kruskal rank of {_fmt(view)}")
    if t is None:
        return ctx.class_marginal(view)
    full = ctx.class_marginal_tensor(view + (T,))
    return np.take(full, t, axis=len(view)).reshape(-1, ctx.design.classes)


def count_bound(ctx: Context, views, ranks: Sequence[int]) -> dict:
    """How a Kruskal count below 2k + 2 was decided. Each rank is a witnessed lower bound at the witness point and
    at most min(k, rows); a view below that bound could have a higher generic Kruskal rank only if every minor of
    some column subset of size r + 1 vanished at the point, which (Schwartz-Zippel, summed over the subsets) has
    probability at most ``error_bound``. 0 means every rank is at its dimension bound: the count is proved."""
    k, degree = ctx.design.classes, len(ctx.design.names) + 1
    bound = 0.0
    for view, r in zip(views, ranks):
        rows = int(np.prod([ctx.design.variable(v).dim for v in view]))
        if r < min(k, rows):
            bound += math.comb(k, r + 1) * (r + 1) * degree / (ctx.prime - 1)
    bound = min(1.0, bound)
    if bound == 0:
        return {"established": True, "error_bound": 0.0,
                "reason": "every Kruskal rank is at its dimension bound min(k, rows): the count is proved"}
    return {"established": False, "error_bound": bound,
            "reason": "Kruskal ranks are witnessed lower bounds at one point: the count is not established "
                      f"(a higher generic count has probability <= {bound:.1e})"}


def _failing(stmt: str, details: dict) -> str:
    return stmt if details["established"] else f"{stmt} (not established: error <= {details['error_bound']:.1e})"


def pooled(ctx: Context) -> RouteResult:
    """Try three views mutually independent given U: the smallest that meet Kruskal's condition, extended to the
    other blocks (:data:`EXTENSION`); failing that, with few blocks, every grouping of all of them."""
    d = ctx.design
    k = d.classes
    route = "kruskal_pooled"
    blocks = ctx.graph.components(d.names, {d.latent})
    if len(blocks) < 3:
        reason = (f"given {d.latent} the observed variables form {len(blocks)} dependent block(s) "
                  f"{_blocks_text(blocks)}; a CP decomposition needs 3 conditionally independent views")
        cond = Condition(f"three views of all observed variables mutually independent given {d.latent}", False,
                         "structure", route, {"blocks": [list(b) for b in blocks]})
        return RouteResult(route, TARGET, False, reason, [cond])
    need = 2 * k + 2
    views, ranks, rest = _small_views(ctx, blocks)
    met = sum(r for r, _ in ranks) >= need
    through = _through(ctx, views, ranks) if met and rest else None
    if not (met and (through or not rest)) and len(blocks) <= MAX_SEARCH_BLOCKS:
        best = None
        for grouping in _balanced(ctx, blocks):
            ctx.check("searching groupings of the blocks into three views")
            granks = [_kruskal(ctx, v, None) for v in grouping]
            total = sum(r for r, _ in granks)
            if best is None or total > best[0]:
                best = (total, grouping, granks)
            if total >= need:
                break
        _, views, ranks = best
        rest, through = [], None
    total = sum(r for r, _ in ranks)
    stmt = ("Kruskal: " + " + ".join(f"kr P({_fmt(v)}|{d.latent})" for v in views)
            + f" = {' + '.join(str(r) for r, _ in ranks)} = {total} >= 2k + 2 = {need}")
    details = {"views": [list(v) for v in views], "kruskal_ranks": [r for r, _ in ranks]}
    if total < need:
        details.update(count_bound(ctx, views, [r for r, _ in ranks]))
        stmt = _failing(stmt.replace(">=", "<"), details)
    cond = Condition(stmt, total >= need, "kruskal", route, details)
    if total < need:
        return RouteResult(route, TARGET, False, cond.statement, [cond])
    if rest and through is None:
        why = (f"{cond.statement}, but no identified view has full column rank k = {k}, so the decomposition does "
               f"not extend to {', '.join(map(_fmt, rest))} (and {len(blocks)} blocks are too many to search every "
               "grouping)")
        return RouteResult(route, TARGET, False, why, [cond])
    conds = [cond]
    if rest:
        S, witness = through
        conds.append(Condition(f"P({_fmt(S)}|{d.latent}) has full column rank k = {k}, and "
                               f"{', '.join(map(_fmt, rest))} ⊥ the views | {d.latent}: the decomposition extends",
                               True, "rank", route, {"through": list(S), "witness": witness}))
    union = tuple(v for view in views for v in view)
    checked = _verify_marginals(ctx, [views] + [(S, w) for w in rest] if rest else [views])
    cert = {"kind": "constructive",
            "formula": r"P(" + ",".join(tex_names(v) for v in views) + r") = \sum_u \pi_u "
                       + "".join(rf"P({tex_names(v)}\mid u)" for v in views) + r"\ \text{(unique CP, Kruskal)}",
            "views": [list(v) for v in views],
            "kruskal": [{"view": list(v), "rank": r, "witness_minors": w} for v, (r, w) in zip(views, ranks)],
            "witness_point": [int(x) for x in ctx.point], "prime": ctx.prime,
            "verification": checked}
    plan = [(union, union, True)]
    if rest:
        cert["extension"] = {"statement": EXTENSION.format(U=d.latent), "through": list(S),
                             "blocks": [list(w) for w in rest], "rank_witness": witness,
                             "formula": rf"P(W\mid u) = \pi_u^{{-1}}\,[B_{{{tex_names(S)}}}^{{+}}\,"
                                        rf"P({tex_names(S)}, W)]_{{u\cdot}}\ \text{{for every other block }}W"}
        plan += [(S + w, w, False) for w in rest]
    ctx.cache["marginal_plan"] = plan
    why = f"views {', '.join(map(_fmt, views))}" + (f", extended through {_fmt(S)} to {len(rest)} more block(s)"
                                                    if rest else "")
    return RouteResult(route, TARGET, True, why, conds, cert)


def _small_views(ctx: Context, blocks) -> tuple[list, list, list]:
    """Three views of consecutive blocks, each grown until its Kruskal rank reaches k (the third: what the
    condition still needs), and the blocks left over."""
    k = ctx.design.classes
    need, views, ranks, i = 2 * k + 2, [], [], 0
    for j in range(3):
        target = k if j < 2 else min(k, max(2, need - sum(r for r, _ in ranks)))
        view, rank = (), (0, [])
        while i < len(blocks) - (2 - j) and (not view or rank[0] < target):
            view += blocks[i]
            i += 1
            rank = _kruskal(ctx, view, None)
        views.append(view)
        ranks.append(rank)
    return views, ranks, list(blocks[i:])


def _through(ctx: Context, views, ranks) -> tuple[tuple[str, ...], dict] | None:
    """An identified set S of full column rank k (the smallest view of Kruskal rank k, else a union of two views)
    with the rows of a nonzero k x k minor of P(S|U) at the witness point; None if there is none."""
    k = ctx.design.classes
    full = sorted((v for v, (r, _) in zip(views, ranks) if r >= k), key=lambda v: _size(ctx, v))
    candidates = full[:1] or [a + b for a, b in itertools.combinations(views, 2)]
    for S in candidates:
        ctx.check("looking for a view of full column rank")
        rows, cols = nonzero_minor(ctx.class_marginal(S), ctx.prime)
        if len(rows) >= k:
            return S, {"view": list(S), "rank": k, "rows": list(rows), "point": "witness_point", "prime": ctx.prime}
    return None


def _size(ctx: Context, view) -> int:
    return int(np.prod([ctx.design.variable(v).dim for v in view]))


def _verify_marginals(ctx: Context, groups) -> dict:
    """Check P(parts | u) = prod P(part | u) for every cell and class of each group of disjoint parts, as
    identities of polynomials at random points mod p (degree: the variables involved; Schwartz-Zippel)."""
    p, k = ctx.prime, ctx.design.classes
    tally = new_tally()
    degree = max(len(sum(parts, ())) for parts in groups)
    points = [ctx.model.random_point(ctx.rng, p) for _ in range(points_needed(degree, ctx.error, p))]
    for parts in groups:
        union = sum(parts, ())
        ctx.check(f"checking the factorisation of P({', '.join(union)} | u)")
        for point in points:
            lhs = ctx.marginals.class_table(point, union, p).reshape(-1, k)
            rhs = np.ones((1, k), dtype=np.int64)
            for part in parts:
                f = ctx.marginals.class_table(point, part, p).reshape(-1, k)
                rhs = (rhs[:, None, :] * f[None, :, :] % p).reshape(-1, k)
            if not np.array_equal(lhs % p, rhs):
                raise AssertionError(f"P({', '.join(union)} | u) does not factorise over "
                                     f"{' | '.join(map(_fmt, parts))}; this is a bug in mixid")
        cells = lhs.size
        tally["random_point_identities"] += cells
        tally["error_bound"] += cells * (len(union) / (p - 1)) ** len(points)
    tally["method"] = (f"factorisations of the marginals as polynomial identities at {len(points)} random point(s) "
                       "mod p")
    return tally


def per_arm(ctx: Context) -> RouteResult:
    """Try three views independent given U within each arm, stitched by a view whose law ignores T."""
    d = ctx.design
    k, T, U = d.classes, d.treatment, d.latent
    route = "kruskal_per_arm"
    if not d.causal:
        return RouteResult(route, TARGET, False, "the design has no treatment, so there are no treatment arms to "
                           "decompose (a plain latent class model: only the pooled route applies)")
    others = [n for n in d.names if n != T]
    blocks = ctx.graph.components(others, {U, T})
    if len(blocks) < 3:
        reason = (f"given {U} and {T} the other variables form {len(blocks)} dependent block(s) "
                  f"{_blocks_text(blocks)}; per-arm CP needs 3 views")
        cond = Condition(f"three views of the variables other than {T} mutually independent given {U}, {T}",
                         False, "structure", route, {"blocks": [list(b) for b in blocks]})
        return RouteResult(route, TARGET, False, reason, [cond])
    if len(blocks) > MAX_SEARCH_BLOCKS:
        return RouteResult(route, TARGET, False, f"given {U} and {T} the other variables form {len(blocks)} blocks, "
                           f"more than {MAX_SEARCH_BLOCKS}: too many to search every grouping into three views")
    need = 2 * k + 2
    best = None
    for views in _balanced(ctx, blocks):
        ctx.check("searching groupings of the blocks into three views per arm")
        stitch = [v for v in views if ctx.graph.separated(set(v), {T}, {U})]
        stitch_ok = [(v, _kruskal(ctx, v, None)) for v in stitch]
        stitch_ok = [(v, r) for v, r in stitch_ok if r[0] >= min(2, k)]
        arms = [[_kruskal(ctx, v, t) for v in views] for t in (0, 1)]
        totals = [sum(r for r, _ in a) for a in arms]
        score = (min(totals) >= need and bool(stitch_ok), min(totals))
        if best is None or score > best[0]:
            best = (score, views, arms, totals, stitch_ok)
        if score[0]:
            break
    _, views, arms, totals, stitch_ok = best
    conds = []
    for t, (arm, total) in enumerate(zip(arms, totals)):
        stmt = (f"Kruskal in arm {T}={t}: " + " + ".join(f"kr P({_fmt(v)}|{U},{T}={t})" for v in views)
                + f" = {total} " + (">=" if total >= need else "<") + f" 2k + 2 = {need}")
        details = {"views": [list(v) for v in views], "kruskal_ranks": [r for r, _ in arm]}
        if total < need:
            details.update(count_bound(ctx, views, [r for r, _ in arm]))
            stmt = _failing(stmt, details)
        conds.append(Condition(stmt, total >= need, "kruskal", route, details))
    stitch_stmt = f"a view independent of {T} given {U} with distinct class columns stitches the arms"
    conds.append(Condition(stitch_stmt, bool(stitch_ok), "structure", route,
                           {"stitch_view": list(stitch_ok[0][0]) if stitch_ok else None}))
    if not all(c.holds for c in conds):
        return RouteResult(route, TARGET, False, "fails: " + "; ".join(c.statement for c in conds if not c.holds),
                           conds)
    union = tuple(v for view in views for v in view)
    small = _size(ctx, union) <= EXACT_ARM_CELLS and set(ancestral(d, union + (T,))) == set(union + (T,))
    checked = _verify(ctx, views, T) if small else _verify_arms_at_points(ctx, views, T)
    sv = stitch_ok[0][0]
    cert = {"kind": "constructive",
            "formula": rf"P({','.join(tex_names(v) for v in views)}\mid {tex_name(T)}{{=}}t) = \sum_u P(u\mid t) "
                       + "".join(rf"P({tex_names(v)}\mid u,t)" for v in views)
                       + r"\ \text{per arm};\ P(u) = \sum_t P(t) P(u \mid t)",
            "views": [list(v) for v in views], "stitch_view": list(sv),
            "kruskal": [{"arm": t, "view": list(v), "rank": r, "witness_minors": w}
                        for t, arm in enumerate(arms) for v, (r, w) in zip(views, arm)],
            "witness_point": [int(x) for x in ctx.point], "prime": ctx.prime,
            "verification": checked}
    return RouteResult(route, TARGET, True, f"per arm, views {', '.join(map(_fmt, views))}, stitched by "
                       f"{_fmt(sv)}", conds, cert)


def _verify_arms_at_points(ctx: Context, views: Sequence[tuple[str, ...]], T: str) -> dict:
    """Check P(views, t | u) P(t | u)^2 = prod_j P(view_j, t | u) in both arms for every cell and class, as
    polynomial identities at random points mod p, from the class tables (no expansion: a treatment with many
    parents sums them out in every cell). Degree at most 3 x the variables involved (Schwartz-Zippel)."""
    p, k = ctx.prime, ctx.design.classes
    tally = new_tally()
    union = tuple(v for view in views for v in view)
    degree = 3 * len(ancestral(ctx.design, union + (T,)))
    points = [ctx.model.random_point(ctx.rng, p) for _ in range(points_needed(degree, ctx.error, p))]
    for point in points:
        ctx.check(f"checking the per-arm factorisation of P({', '.join(union)} | u, {T})")
        arm = ctx.marginals.class_table(point, (T,), p)
        joint = ctx.marginals.class_table(point, union + (T,), p)
        parts = [ctx.marginals.class_table(point, view + (T,), p) for view in views]
        for t in (0, 1):
            lhs = np.take(joint, t, axis=-2).reshape(-1, k) * (arm[t] * arm[t] % p) % p
            rhs = np.ones((1, k), dtype=np.int64)
            for part in parts:
                f = np.take(part, t, axis=-2).reshape(-1, k)
                rhs = (rhs[:, None, :] * f[None, :, :] % p).reshape(-1, k)
            if not np.array_equal(lhs, rhs):
                raise AssertionError(f"P({', '.join(union)} | u, {T}={t}) does not factorise over "
                                     f"{' | '.join(map(_fmt, views))}; this is a bug in mixid")
    cells = 2 * _size(ctx, union) * k
    tally["random_point_identities"] += cells
    tally["error_bound"] += cells * (degree / (p - 1)) ** len(points)
    tally["method"] = (f"factorisations of the per-arm marginals as polynomial identities at {len(points)} random "
                       "point(s) mod p")
    return tally


def _verify(ctx: Context, views: Sequence[tuple[str, ...]], T: str | None) -> dict:
    """Check the conditional-independence factorisation of every cell and class as a polynomial identity."""
    m, k = ctx.model, ctx.design.classes
    arms = [None] if T is None else [0, 1]
    tally = new_tally()
    states = [m.proxy_states(v) for v in views]
    for u in range(k):
        for t in arms:
            extra = {} if t is None else {T: t}
            marg = [[m.class_poly({**s, **extra}, u) for s in sv] for sv in states]
            scale = [] if t is None else [m.class_poly(extra, u)] * 2
            for idx in itertools.product(*(range(len(sv)) for sv in states)):
                cell = dict(extra)
                for j, i in enumerate(idx):
                    cell.update(states[j][i])
                rhs = [marg[j][i] for j, i in enumerate(idx)]
                ctx.same([[m.class_poly(cell, u)] + scale], [rhs], f"view factorisation at {cell}, class {u}",
                         tally)
    tally["method"] = "polynomial identities (expanded exactly, or at random points when large)"
    return tally
