"""Shared builders for tests."""

from __future__ import annotations

import pytest
from hypothesis import settings

from mixid import Design

# Property tests draw the same examples on every run: CI is reproducible, and a failure can be replayed.
settings.register_profile("mixid", derandomize=True, deadline=None)
settings.load_profile("mixid")


def make_design(k: int, variables: dict, edges: list[str], name: str = "test", **extra) -> Design:
    """A design from compact variable specs: an int is a categorical cardinality, a dict is passed through."""
    spec = {
        "name": name,
        "latent": {"name": extra.pop("latent", "U"), "classes": k, "observed": extra.pop("observed", False)},
        "variables": {n: ({"type": "categorical", "categories": c} if isinstance(c, int) else c)
                      for n, c in variables.items()},
        "treatment": extra.pop("treatment", "T"),
        "outcome": extra.pop("outcome", "Y"),
        "edges": edges,
        **extra,
    }
    return Design.from_dict(spec)


@pytest.fixture
def builder():
    return make_design
