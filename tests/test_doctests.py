"""Every docstring example of the installed package runs (doctest), module by module."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest


def _modules() -> list[str]:
    # the two layers live in their own folders of the repository (identify/, estimate/), so each is walked
    # through its own installed __path__
    names = {"mixid"}
    for package in ("mixid", "mixid.identify", "mixid.estimate"):
        pkg = importlib.import_module(package)
        names |= {package} | {info.name for info in pkgutil.walk_packages(pkg.__path__, package + ".")}
    return sorted(names)


MODULES = _modules()


def test_both_layers_are_walked():
    assert {"mixid.identify.placement", "mixid.identify.routes.jacobian", "mixid.estimate.fit",
            "mixid.datasets"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
