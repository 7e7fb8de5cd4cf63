"""Re-check every rank claim of a placement from its JSON alone (``mixid check CERT.json``, ``Placement.verify()``).

A rank claim is a witness: a minor of a stated matrix, at a stated integer point modulo a stated prime, that is
nonzero. Each one is re-derived from the design in the JSON, with none of the placement's own state:

* the model's Jacobian rank (``model.jacobian_rank_witness``) and the Jacobian witnesses of verdicts
  (``rank_J``, ``rank_augmented``, in certificates and in ``local_check``); for a ``witness`` verdict also its
  rank comparison, with the dimension-count bound recounted from the design;
* the proxy routes' rank M[Z,X|t] >= k (``rank_witnesses`` and the ``rank`` conditions, failing ones included:
  their witness is the lower bound they state) and the distinct-effects determinant det H_0 != 0;
* the Kruskal routes' ranks: for every column subset of the stated size, a nonzero minor of P(view | U) (or of
  P(view, T=t | U) per arm), every subset covered, the stated count against 2k + 2, and the full column rank of
  the set an extension goes through;
* dimension-count verdicts (``count``), recounted from the design.

Nothing here is probabilistic: a claim holds when its minor is nonzero modulo its prime (and its count adds up).
What a minor cannot show is not re-checked: that a rank is no higher than stated at random points (a probabilistic
verdict, with its ``error_bound``) and the factorisation identities of constructive certificates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations

import numpy as np

from .design import Design
from .errors import DesignError
from .marginals import dimension_count
from .model import Model
from .rank import det_mod


@dataclass(frozen=True)
class Claim:
    """One re-checked claim: where it was stated, what it says, whether it holds, and how it was checked."""

    where: str
    statement: str
    holds: bool
    detail: str

    def line(self) -> str:
        """One line for the command line: ``ok`` or ``FAIL``, where, the claim and how it was checked."""
        return f"{'ok  ' if self.holds else 'FAIL'} {self.where}: {self.statement} ({self.detail})"


class _Checker:
    def __init__(self, data: Mapping):
        if not isinstance(data, Mapping) or not isinstance(data.get("design"), Mapping) \
                or not isinstance(data.get("targets"), Mapping):
            raise DesignError("not a placement: the JSON of `mixid identify --json` has 'design' and 'targets'")
        self.data = data
        self.design = Design.from_dict(dict(data["design"]))
        self.contexts: dict = {}
        self.claims: list[Claim] = []
        self.seen: set = set()

    # ------------------------------------------------------------------------------------- helpers
    @cached_property
    def model(self) -> Model:
        return Model(self.design)

    def context(self, point, prime: int):
        from .routes.base import Context

        key = (tuple(int(x) for x in point), int(prime))
        if key not in self.contexts:
            ctx = Context(self.design, prime=key[1], point=np.array(key[0], dtype=object))
            ctx.__dict__["model"] = self.model  # one model for every point
            self.contexts[key] = ctx
        return self.contexts[key]

    def add(self, where: str, statement: str, holds: bool, detail: str) -> None:
        self.claims.append(Claim(where, statement, bool(holds), detail))

    def minor(self, matrix: np.ndarray, w: Mapping, size: int) -> tuple[bool, str]:
        """Is the stated minor of ``matrix`` square, of at least ``size``, in range and nonzero mod its prime?"""
        rows, cols, p = list(w["minor_rows"]), list(w["minor_cols"]), int(w["prime"])
        where = f"minor rows {rows} cols {cols} mod {p}"
        if len(rows) != len(cols) or len(rows) < size:
            return False, f"{where}: a {len(rows)} x {len(cols)} minor cannot show rank >= {size}"
        if any(not 0 <= r < matrix.shape[0] for r in rows) or any(not 0 <= c < matrix.shape[1] for c in cols):
            return False, f"{where}: index out of range for a {matrix.shape[0]} x {matrix.shape[1]} matrix"
        if not rows:
            return True, "empty minor (rank >= 0)"
        det = det_mod(np.asarray(matrix)[np.ix_(rows, cols)], p)
        return det != 0, f"{where}: determinant {det}" + ("" if det else ", zero")

    def point_ok(self, point) -> bool:
        return len(point) == dimension_count(self.design).parameters

    # ------------------------------------------------------------------------------------- claims
    def jacobian(self, where: str, rank: int, w: Mapping, target: str | None = None) -> None:
        key = ("jacobian", target, repr(w))
        if key in self.seen:
            return
        self.seen.add(key)
        from .routes.jacobian import recheck

        what = f"rank [J; grad {target}] >= {rank}" if target else f"rank J >= {rank}"
        size = len(w["minor_rows"])
        if size < rank:
            return self.add(where, what, False, f"a minor of size {size} cannot show rank >= {rank}")
        holds = recheck(self.design, w, target)
        self.add(where, what, holds, f"minor rows {list(w['minor_rows'])} cols {list(w['minor_cols'])} mod "
                 f"{w['prime']}: " + ("nonzero" if holds else "zero, out of range, or at a point of the wrong size"))

    def jacobian_certificate(self, where: str, cert: Mapping, target: str) -> None:
        if "rank_J" in cert:
            self.jacobian(where, int(cert["rank_J"]["rank"]), cert["rank_J"]["witness"])
        if "rank_augmented" in cert:
            self.jacobian(where, int(cert["rank_augmented"]["rank"]), cert["rank_augmented"]["witness"], target)
        if cert.get("kind") == "witness" and "rank_J" in cert:
            self.jacobian_verdict(where, cert)
        if cert.get("kind") == "count":
            self.count_verdict(where, cert)

    def count_verdict(self, where: str, cert: Mapping) -> None:
        """A dimension count: d, N and k recounted from the design; rank J <= N - 1 is below what the target
        needs (d for the full mixture, k - 1 for the class weights)."""
        count, k = dimension_count(self.design), self.design.classes
        d, n = count.parameters, count.observables
        stated = (int(cert["parameters"]), int(cert["observables"]), int(cert["classes"]))
        need = f"d = {d}" if d > n - 1 else f"k - 1 = {k - 1}"
        self.add(where, f"dimension count: rank J <= N - 1 = {n - 1} < {need}",
                 stated == (d, n, k) and (d > n - 1 or k - 1 > n - 1),
                 f"recounted from the design: d = {d}, N = {n}, k = {k}; stated {stated}")

    def jacobian_verdict(self, where: str, cert: Mapping) -> None:
        """A witness verdict of the Jacobian route is exact: rank J = d (identifiable), or rank J at its
        dimension-count bound and the gradient rows raising it (not identifiable). The minors are re-checked
        above; here the bound is recounted from the design and compared with the stated ranks."""
        count = dimension_count(self.design)
        d, n = count.parameters, count.observables
        bound = n - 1 if n - 1 < d else d
        r_j = int(cert["rank_J"]["rank"])
        if "rank_augmented" not in cert:
            return self.add(where, f"rank J = d = {d}: every parameter locally identifiable", r_j >= d,
                            f"stated rank {r_j}, {d} parameters")
        r_aug = int(cert["rank_augmented"]["rank"])
        self.add(where, f"rank [J; grad] = {r_aug} > rank J = {r_j} = its bound {bound}: not locally identifiable",
                 r_aug > r_j >= bound, f"bound min(d = {d}, observables - 1 = {n - 1}) recounted from the design")

    def proxy_rank(self, where: str, w: Mapping, size: int) -> None:
        key = ("proxy", repr(w), size)
        if key in self.seen:
            return
        self.seen.add(key)
        from .routes.proxies import _fmt, zx_matrix

        m, point, prime = w["matrix"], w["point"], int(w["prime"])
        Z, X, t = tuple(m["treatment_side"]), tuple(m["outcome_side"]), int(m["arm"])
        what = f"rank M[{_fmt(Z)},{_fmt(X)} | {self.design.treatment}={t}] >= {size}"
        unknown = sorted(set(Z + X) - set(self.design.names))
        if unknown or t not in (0, 1):
            return self.add(where, what, False, f"no such matrix in the design ({unknown or f'arm {t}'})")
        if not self.point_ok(point):
            return self.add(where, what, False, "the point does not match the model's parameters")
        matrix = zx_matrix(self.context(point, prime), Z, X, t)
        self.add(where, what, *self.minor(matrix, w, size))

    def distinct_effects(self, where: str, point, prime: int, stated: int) -> None:
        from .routes.proxies import det_h0

        p = int(prime)
        det = det_h0(self.context(point, prime))
        self.add(where, "det H_0 = prod pi_u prod (tau_u - tau_v)^2 != 0", det != 0 and det == int(stated),
                 f"{det} mod {p} at the rank witnesses' point" + ("" if det == int(stated) else
                                                                   f", stated {stated}"))

    def kruskal(self, where: str, cert: Mapping) -> None:
        from .routes.kruskal import view_matrix

        k = self.design.classes
        if not self.point_ok(cert["witness_point"]):
            return self.add(where, "Kruskal ranks", False, "the point does not match the model's parameters")
        ctx = self.context(cert["witness_point"], cert["prime"])
        totals: dict = {}
        for entry in cert["kruskal"]:
            view, r, arm = tuple(entry["view"]), int(entry["rank"]), entry.get("arm")
            given = self.design.latent + ("" if arm is None else f", {self.design.treatment}={arm}")
            what = f"Kruskal rank of P({','.join(view)} | {given}) >= {r}"
            totals[arm] = totals.get(arm, 0) + r
            matrix = view_matrix(ctx, view, None if arm is None else int(arm))
            listed = {tuple(m["cols"]): list(m["rows"]) for m in entry["witness_minors"]}
            missing = [c for c in combinations(range(k), r) if c not in listed]
            if missing:
                self.add(where, what, False, f"no minor stated for columns {list(missing[0])}")
                continue
            bad = []
            for cols, rows in listed.items():
                ok, _ = self.minor(matrix, {"minor_rows": rows, "minor_cols": list(cols),
                                            "prime": cert["prime"]}, r)
                if not ok:
                    bad.append(list(cols))
            self.add(where, what, not bad, f"{len(listed)} column subsets, a nonzero minor each mod {cert['prime']}"
                     if not bad else f"the minor of columns {bad[0]} is zero or malformed")
        if "extension" in cert:
            ext = cert["extension"]
            S, w = tuple(ext["through"]), ext["rank_witness"]
            what = f"P({','.join(S)} | {self.design.latent}) has full column rank {k}"
            ok, detail = self.minor(view_matrix(ctx, S, None), {"minor_rows": list(w["rows"]),
                                                                 "minor_cols": list(range(k)),
                                                                 "prime": cert["prime"]}, k)
            self.add(where, what, ok, detail)
        for arm, total in totals.items():
            label = "" if arm is None else f" in arm {self.design.treatment}={arm}"
            self.add(where, f"Kruskal ranks sum{label} = {total} >= 2k + 2 = {2 * k + 2}", total >= 2 * k + 2,
                     "the stated ranks, re-checked above")

    def fibre(self, where: str, cert: Mapping, target: str) -> None:
        """A fibre count: its witness (two points, same observables at 50 digits) and, for an exact count, the
        degree of the fibre ideal recomputed at the stated point and prime (when msolve or sympy can)."""
        from .fibre import msolve_path, recheck_count, recheck_witness

        w = cert.get("witness")
        if w is not None:
            key = ("fibre-witness", repr(w["point_b"]))
            if key not in self.seen:
                self.seen.add(key)
                gap = recheck_witness(self.design, w)
                self.add(where, "two parameter points give the same observables", gap < 1e-30,
                         f"largest difference at {w.get('digits', 50)} digits: {gap:.1e}")
        if cert.get("exact") and "point" in cert and ("fibre-count", repr(cert["point"])) not in self.seen:
            self.seen.add(("fibre-count", repr(cert["point"])))
            if cert.get("engine") == "msolve" and msolve_path() is None:
                return self.add(where, f"fibre degree {cert['degree']}", True,
                                "not re-counted: needs msolve (pip install 'mixid[global]')")
            self.add(where, f"fibre degree {cert['degree']} = {cert['solutions']} x {cert['relabellings']}",
                     recheck_count(self.design, cert), f"Groebner basis recomputed at the stated point mod "
                     f"{cert['prime']}")

    # ------------------------------------------------------------------------------------- walk
    def run(self) -> list[Claim]:
        d, k = self.data, self.design.classes
        model = d.get("model") or {}
        if model.get("jacobian_rank_witness"):
            self.jacobian("model", int(model["jacobian_rank"]), model["jacobian_rank_witness"])
        for target, v in d["targets"].items():
            cert, where = v.get("certificate") or {}, f"{target} ({v.get('method')})"
            for w in cert.get("rank_witnesses", []):
                self.proxy_rank(where, w, k)
            if "kruskal" in cert:
                self.kruskal(where, cert)
            self.jacobian_certificate(where, cert, target)
            if cert.get("kind") == "fibre":
                self.fibre(where, cert, target)
            local = v.get("local_check") or {}
            self.jacobian_certificate(f"{target} (local check)", local.get("witnesses", {}), target)
            for part, comp in (local.get("components") or {}).items():
                self.jacobian_certificate(f"{target} {part} (local check)", comp.get("witnesses", {}), part)
        for c in d.get("conditions", []):
            where = f"condition ({c.get('route')})"
            if c.get("kind") == "rank" and "matrix" in c.get("witness", {}):
                self.proxy_rank(where, c["witness"], int(c["rank_lower_bound"]))
            elif c.get("kind") == "distinct_effects":
                route_ranks = [x for x in d["conditions"] if x.get("kind") == "rank" and x.get("route") == c["route"]]
                if route_ranks:
                    w = route_ranks[0]["witness"]
                    self.distinct_effects(where, w["point"], int(w["prime"]), c["witness"]["det_H0_mod_p"])
        return self.claims


def verify(data: Mapping) -> list[Claim]:
    """Re-check every rank claim in the JSON of a placement (``Placement.to_dict()``).

    Raises DesignError (one line) when ``data`` is not such a JSON or a claim is malformed.

    Examples
    --------
    >>> from mixid.identify import place
    >>> claims = verify(place("paper-level3").to_dict())
    >>> all(c.holds for c in claims), len(claims) > 10
    (True, True)
    >>> print(claims[0].line())  # doctest: +ELLIPSIS
    ok   model: rank J >= 13 (minor rows [0, 1, ...] cols [...] mod 2147483647: nonzero)
    """
    checker = _Checker(data)
    try:
        return checker.run()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, DesignError):
            raise
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DesignError(f"malformed certificate: {what}") from None
