"""Example data sets shipped with mixid.

``carcinoma``: 118 slides of the uterine cervix, each rated by seven pathologists (columns A-G; 1 = carcinoma,
0 = not). Landis and Koch (1977), "An application of hierarchical kappa-type statistics in the assessment of
majority agreement among multiple observers", Biometrics 33; Agresti (2002), *Categorical Data Analysis*, 2nd
ed., Table 13.1; distributed with the R package poLCA as ``carcinoma`` (coded 1/2 there, 0/1 here). Published
maximum-likelihood latent class fits (poLCA's documentation; Agresti 2002, Tables 13.2-13.3): log-likelihood
-524.4648 (1 class), -317.2568 (2), -293.705 (3; class shares .3736, .1817, .4447), -289.2858 (4).

Examples
--------
>>> from mixid import datasets
>>> datasets.load("carcinoma").shape
(118, 7)
"""

from __future__ import annotations

from importlib import resources

NAMES = ("carcinoma",)

#: Published maximised log-likelihoods of the carcinoma latent class models, by number of classes.
CARCINOMA_LOGLIK = {1: -524.4648, 2: -317.2568, 3: -293.705, 4: -289.2858}


def path(name: str):
    """The file of a shipped data set (a CSV with one integer-coded column per variable)."""
    if name not in NAMES:
        from mixid.identify.errors import DataError

        raise DataError(f"unknown data set '{name}' (available: {', '.join(NAMES)})")
    return resources.files(__name__) / f"{name}.csv"


def load(name: str):
    """A shipped data set as a pandas DataFrame of integer codes."""
    import pandas as pd

    with resources.as_file(path(name)) as f:
        return pd.read_csv(f)
