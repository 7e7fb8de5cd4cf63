"""How a verdict is known: ``exact``, ``probabilistic`` or ``numerical``, read off its certificate.

* ``exact``: a symbolic identity, or exact arithmetic at a stated point (and prime) that anyone can re-check: a
  witness minor, a dimension count, a constructive formula whose every check is exact, a Groebner count.
* ``probabilistic``: exact arithmetic at random points, wrong with probability at most ``error_bound``
  (Schwartz-Zippel): the Jacobian route's ranks, and a constructive certificate that rests on any check of that
  kind (its error bounds add up).
* ``numerical``: a floating-point search with no bound (monodromy of either kind, sampled parameter points): it
  may miss a point. Only exact and probabilistic evidence is a proof.

An ``inconclusive`` verdict claims nothing and has no evidence (None).
"""

from __future__ import annotations

from collections.abc import Mapping

EVIDENCE = ("exact", "probabilistic", "numerical")  # from strongest to weakest


def error_bound(certificate) -> float:
    """The sum of every positive ``error_bound`` nested anywhere in a certificate (0 when every check is exact).

    Examples
    --------
    >>> error_bound({"kind": "constructive", "verification": {"error_bound": 1e-16}, "ranks": [{"error_bound": 0}]})
    1e-16
    """
    if isinstance(certificate, Mapping):
        own = certificate.get("error_bound")
        own = float(own) if isinstance(own, (int, float)) and not isinstance(own, bool) and own > 0 else 0.0
        return own + sum(error_bound(v) for k, v in certificate.items() if k != "error_bound")
    if isinstance(certificate, (list, tuple)):
        return sum(error_bound(v) for v in certificate)
    return 0.0


def evidence_of(certificate: Mapping, verdict: str) -> str | None:
    """The evidence of a verdict with this certificate.

    A ``fibre`` certificate states its own (``exact`` only for a Groebner count that decides the target by itself);
    ``probabilistic`` certificates, and any other whose checks carry a positive error bound, are probabilistic;
    ``constructive``, ``witness`` and ``count`` certificates are exact otherwise; an ``inconclusive`` verdict has
    none; a ``not_applicable`` one is structural (exact).

    Examples
    --------
    >>> evidence_of({"kind": "witness", "rank_J": {"rank": 5}}, "identifiable")
    'exact'
    >>> evidence_of({"kind": "probabilistic", "error_bound": 1e-12}, "identifiable")
    'probabilistic'
    >>> evidence_of({"kind": "fibre", "method": "monodromy", "evidence": "numerical"}, "identifiable")
    'numerical'
    >>> evidence_of({"kind": "none"}, "inconclusive") is None
    True
    """
    if verdict == "inconclusive":
        return None
    kind = certificate.get("kind")
    if kind == "fibre":
        stated = certificate.get("evidence")
        return stated if stated in EVIDENCE else "numerical"
    if kind == "probabilistic" or error_bound(certificate) > 0:
        return "probabilistic"
    return "exact"


def weakest(evidences) -> str | None:
    """The weakest of several evidences (None when there are none).

    Examples
    --------
    >>> weakest(["exact", "numerical", "probabilistic"])
    'numerical'
    """
    known = [e for e in evidences if e in EVIDENCE]
    return max(known, key=EVIDENCE.index) if known else None
