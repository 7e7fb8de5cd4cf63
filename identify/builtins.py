"""The paper's four designs (Mazaheri, Squires, Uhler 2025; see docs/theory.md): binary variables, k = 2."""

from __future__ import annotations

_BIN = {"type": "categorical", "categories": 2}


def _paper(name: str, edges: list[str], observed: bool = False, proxies: bool = True) -> dict:
    names = ["Z", "X", "T", "Y"] if proxies else ["T", "Y"]
    return {
        "name": name,
        "latent": {"name": "U", "classes": 2, "observed": observed},
        "variables": {n: dict(_BIN) for n in names},
        "treatment": "T",
        "outcome": "Y",
        "edges": edges,
    }


BUILTINS: dict[str, dict] = {
    # Level 1 (HTE): U observed; only T and Y drawn.
    "paper-level1": _paper("paper-level1", ["T -> Y"], observed=True, proxies=False),
    # Level 2 (full mixture): Z, X, (T, Y) conditionally independent given U.
    "paper-level2": _paper("paper-level2", ["T -> Y"]),
    # The paper's MTE graph: adds Z -> T.
    "paper-level3": _paper("paper-level3", ["Z -> T", "T -> Y"]),
    # The paper's ATE graph: adds Z -> T and X -> Y.
    "paper-level4": _paper("paper-level4", ["Z -> T", "T -> Y", "X -> Y"]),
}
