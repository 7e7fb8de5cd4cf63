"""Example data sets shipped with mixid.

``carcinoma``: 118 slides of the uterine cervix, each rated by seven pathologists (columns A-G; 1 = carcinoma,
0 = not). Landis and Koch (1977), "An application of hierarchical kappa-type statistics in the assessment of
majority agreement among multiple observers", Biometrics 33; Agresti (2002), *Categorical Data Analysis*, 2nd
ed., Table 13.1; distributed with the R package poLCA as ``carcinoma`` (coded 1/2 there, 0/1 here). Published
maximum-likelihood latent class fits (poLCA's documentation; Agresti 2002, Tables 13.2-13.3): log-likelihood
-524.4648 (1 class), -317.2568 (2), -293.705 (3; class shares .3736, .1817, .4447), -289.2858 (4).

``election``: 1,785 respondents of the 2000 American National Election Study rating how well six traits (moral,
caring, knowledgeable, good leader, dishonest, intelligent) describe Al Gore (columns ``MORALG`` ... ``INTELG``)
and George W. Bush (``MORALB`` ... ``INTELB``): 1 extremely well, 2 quite well, 3 not too well, 4 not well at
all, an empty cell for no answer (1,311 rows answer all twelve). Covariates: ``VOTE3`` (1 Gore, 2 Bush,
3 other), ``AGE``, ``EDUC`` (1-7), ``GENDER`` (1 male, 2 female), ``PARTY`` (1 strong Democrat ... 7 strong
Republican). Distributed with the R package poLCA as ``election`` (same codes). poLCA's documentation
publishes the maximised log-likelihoods on the 1,311 complete rows (its default ``na.rm = TRUE``): -18647.31
(1 class), -17344.92 (2), -16714.66 (3), and -16222.32 for 3 classes with ``PARTY`` as a covariate of class
membership.

Examples
--------
>>> from mixid import datasets
>>> datasets.load("carcinoma").shape
(118, 7)
"""

from __future__ import annotations

from importlib import resources

NAMES = ("carcinoma", "election")

#: Published maximised log-likelihoods of the carcinoma latent class models, by number of classes.
CARCINOMA_LOGLIK = {1: -524.4648, 2: -317.2568, 3: -293.705, 4: -289.2858}
#: poLCA's published log-likelihoods of the election items (12 items, 4 categories), complete rows, by classes.
ELECTION_LOGLIK = {1: -18647.31, 2: -17344.92, 3: -16714.66}
#: ... and of 3 classes with PARTY as a covariate of class membership (complete rows of the items and PARTY).
ELECTION_PARTY_LOGLIK = -16222.32


def path(name: str):
    """The file of a shipped data set (a CSV with one integer-coded column per variable)."""
    if name not in NAMES:
        from mixid.identify.errors import DataError

        raise DataError(f"unknown data set '{name}' (available: {', '.join(NAMES)})")
    return resources.files(__name__) / f"{name}.csv"


def load(name: str):
    """A shipped data set as a pandas DataFrame of codes (floats where a column has missing answers, NaN)."""
    import pandas as pd

    with resources.as_file(path(name)) as f:
        return pd.read_csv(f)
