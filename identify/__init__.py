"""Symbolic layer of mixid: designs, moment equations, certified generic ranks, and placement."""

from .design import Design, Roles, Variable
from .errors import DataError, DesignError, IdentificationError, MixidError
from .model import Model

__all__ = ["Design", "Roles", "Variable", "Model", "MixidError", "DesignError", "DataError",
           "IdentificationError"]

from .placement import Placement, local_identifiability, place  # noqa: E402
from .search import SearchResult, smallest_design  # noqa: E402

__all__ += ["Placement", "place", "local_identifiability", "smallest_design", "SearchResult"]
