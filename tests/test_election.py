"""poLCA's election data (ANES 2000, shipped as mixid.datasets 'election'): its published maxima on the complete
rows, and maximum likelihood over every row (FIML)."""

from __future__ import annotations

import pytest

from mixid import Design, datasets, fit
from mixid.datasets import ELECTION_LOGLIK

ITEMS = ["MORALG", "CARESG", "KNOWG", "LEADG", "DISHONG", "INTELG",
         "MORALB", "CARESB", "KNOWB", "LEADB", "DISHONB", "INTELB"]


def _design(k: int) -> Design:
    return Design.from_dict({"items": ITEMS, "categories": [1, 2, 3, 4], "latent": {"name": "U", "classes": k}})


def test_election_matches_polca_on_the_complete_rows():
    data = datasets.load("election")
    assert data.shape == (1785, 17) and int(data[ITEMS].notna().all(axis=1).sum()) == 1311
    r = fit(_design(2), data, seed=0, missing="drop", interval="wald").to_dict()
    assert r["n"] == 1311
    assert r["fit"]["loglik"] == pytest.approx(ELECTION_LOGLIK[2], abs=5e-3)


def test_election_fiml_uses_every_row():
    data = datasets.load("election")
    r = fit(_design(2), data, seed=0, interval="wald").to_dict()
    assert r["n"] == 1785 and r["missing"]["complete_rows"] == 1311
    assert r["missing"]["missing_answers"]["DISHONB"] == 200
    assert r["fit"]["loglik"] < ELECTION_LOGLIK[2]  # more rows, more (negative) log-likelihood
