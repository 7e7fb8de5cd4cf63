"""mixid: prove and measure identifiability in causal mixtures.

Two layers under one package: :mod:`mixid.identify` (symbolic: designs, moment equations, certified verdicts) and
:mod:`mixid.estimate` (numeric: estimators compiled from those verdicts, run on data). The names below are the
stable public surface; they are imported on first use, so ``import mixid`` (and the command line) start fast.

Examples
--------
>>> import mixid
>>> mixid.place("paper-level4").level
4
"""

from __future__ import annotations

from importlib import import_module

# public name -> module that defines it (relative to this package)
_SURFACE = {
    "Design": ".identify", "Variable": ".identify", "Roles": ".identify", "Model": ".identify",
    "place": ".identify", "Placement": ".identify", "local_identifiability": ".identify",
    "smallest_design": ".identify",
    "MixidError": ".identify", "DesignError": ".identify", "DataError": ".identify",
    "IdentificationError": ".identify",
    "simulate": ".estimate", "fit": ".estimate", "Result": ".estimate", "truth": ".estimate",
    "population_moments": ".estimate", "random_params": ".estimate", "sufficient_stats": ".estimate",
    "validate": ".estimate", "select": ".estimate", "Selection": ".estimate",
    "datasets": ".datasets",
}

__all__ = sorted(_SURFACE) + ["__version__"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mixid")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":  # looked up on first use: reading the installed metadata costs ~30 ms at start
        globals()[name] = value = _version()
        return value
    if name in _SURFACE:
        module = import_module(_SURFACE[name], __name__)
        value = module if name == "datasets" else getattr(module, name)
        globals()[name] = value  # cached: the next access is a plain attribute
        return value
    raise AttributeError(f"module 'mixid' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
