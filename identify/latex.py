"""Variable names in LaTeX: the design's own names, safe to typeset.

Names are letters, digits and underscores (:class:`~mixid.identify.design.Design` checks it). A one-letter name
is set as a math symbol (``Z``); a longer one as a single italic word with its underscores escaped, so that
``age_group`` does not turn into ``age`` with the subscript ``g``.

Examples
--------
>>> tex_name("Z"), tex_name("age_group")
('Z', '\\\\mathit{age\\\\_group}')
>>> tex_names(("Z", "W2"))
'(Z,\\\\mathit{W2})'
"""

from __future__ import annotations

from collections.abc import Sequence


def tex_name(name: str) -> str:
    """One variable name as LaTeX math."""
    return name if len(name) == 1 else r"\mathit{" + name.replace("_", r"\_") + "}"


def tex_names(names: Sequence[str]) -> str:
    """A proxy set as LaTeX: one name alone, several as a tuple."""
    parts = [tex_name(n) for n in names]
    return parts[0] if len(parts) == 1 else "(" + ",".join(parts) + ")"
