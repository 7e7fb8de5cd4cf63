"""Choosing k: select() and mixid select (criteria, entropy, the BLRT, identification flags, bad input)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from mixid.estimate.select import ROW_KEYS, parse_classes, recommend, select

from mixid import DataError, Design, IdentificationError, datasets, simulate
from mixid.cli import main
from mixid.datasets import CARCINOMA_LOGLIK

SEVEN = list("ABCDEFG")


@pytest.fixture(scope="module")
def carcinoma():
    return select(Design.latent_class(SEVEN), datasets.load("carcinoma"), classes=range(1, 5), blrt=19, workers=1,
                  seed=0)


def test_carcinoma_reaches_poLCAs_published_maxima_and_the_criteria_follow(carcinoma):
    n = 118
    assert [r["classes"] for r in carcinoma.rows] == [1, 2, 3, 4]
    for r in carcinoma.rows:
        assert set(ROW_KEYS) <= set(r)
        assert r["loglik"] == pytest.approx(CARCINOMA_LOGLIK[r["classes"]], abs=1e-3)
        ll, d = r["loglik"], r["n_parameters"]
        assert d == 8 * r["classes"] - 1 and r["identified"] and r["replicated"]
        assert r["aic"] == pytest.approx(-2 * ll + 2 * d) and r["bic"] == pytest.approx(-2 * ll + d * math.log(n))
        assert r["sabic"] == pytest.approx(-2 * ll + d * math.log((n + 2) / 24))
        assert r["caic"] == pytest.approx(-2 * ll + d * (math.log(n) + 1))
    assert carcinoma.recommended == 3  # poLCA's and Agresti's choice: BIC 697.1 against 706.1 and 726.5
    shares = {r["classes"]: r["smallest_share"] for r in carcinoma.rows}
    assert shares[1] == 1.0 and shares[3] == pytest.approx(0.1817, abs=1e-3)


def test_entropy_r2_is_that_of_the_rows_posteriors(carcinoma):
    frame = datasets.load("carcinoma")
    assert carcinoma.rows[0]["entropy_r2"] is None  # one class: nothing to classify
    for r in carcinoma.rows[1:]:
        post = carcinoma.fits[r["classes"]].posterior(frame)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.nansum(np.where(post > 0, post * np.log(post), 0.0))
        assert r["entropy_r2"] == pytest.approx(1 - entropy / (len(frame) * math.log(r["classes"])), abs=1e-9)


def test_blrt_rejects_too_few_classes_and_does_not_depend_on_the_workers():
    d = Design.latent_class(list("ABCDEF"), classes=2)
    frame, _ = simulate(d, 1500, seed=4)
    one = select(d, frame, classes=[2, 3], blrt=19, seed=1, workers=1, starts=5, max_starts=10)
    two = select(d, frame, classes=[2, 3], blrt=19, seed=1, workers=2, starts=5, max_starts=10)
    p = {r["classes"]: r["blrt_p"] for r in one.rows}
    assert p[2] == pytest.approx(1 / 20)  # 1 vs 2 classes: no replicate of the 1-class model comes close
    assert p[3] > 0.05  # 2 vs 3 classes on data from 2 classes
    assert [r["blrt_p"] for r in two.rows] == [r["blrt_p"] for r in one.rows]
    assert 1 in one.fits and one.rows[0]["blrt_lr"] > 0  # k - 1 = 1 was fitted for the test, not reported
    assert select(d, frame, classes=[2], blrt=0, workers=1).rows[0]["blrt_p"] is None


def test_a_k_whose_mixture_is_not_identified_is_flagged_and_never_recommended():
    d = Design.latent_class(list("ABCD"))
    frame, _ = simulate(d, 3000, seed=2)
    s = select(d, frame, classes=range(1, 5), blrt=0, workers=1, starts=5, max_starts=10)
    flags = {r["classes"]: r["identified"] for r in s.rows}
    assert flags == {1: True, 2: True, 3: False, 4: False}
    assert s.recommended in (1, 2)
    assert any("k = 3: the full mixture is not identifiable" in w for w in s.warnings)
    assert "NO (not identifiable)" in s.summary()
    rows = [{"classes": 2, "identified": True, "bic": 10.0}, {"classes": 3, "identified": False, "bic": 1.0}]
    assert recommend(rows) == 2 and recommend(rows[1:]) is None


@pytest.mark.parametrize("text,message", [
    ("0", "every number of classes must be an integer from 1 to 100, got 0"),
    ("7-3", "the range 7-3 runs backwards (write 3-7)"),
    ("1-x", "write a range like 1-6"),
    ("", "write a range like 1-6"),
    ("101", "from 1 to 100"),
    ("1-30", "at most 20"),
])
def test_bad_classes_are_one_line(text, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_classes(text)
    assert parse_classes(" 1-3, 5 ") == [1, 2, 3, 5]


def test_bad_python_input():
    frame = datasets.load("carcinoma")
    d = Design.latent_class(SEVEN)
    with pytest.raises(DataError, match="is empty"):
        select(d, frame, classes=[])
    with pytest.raises(DataError, match="blrt must be"):
        select(d, frame, classes=[1], blrt=-1)
    with pytest.raises(DataError, match="workers must be"):
        select(d, frame, classes=[1], workers=0)
    with pytest.raises(IdentificationError, match="every variable categorical"):
        select(Design.from_dict({"variables": {"A": {"categories": 2}, "V": {"type": "continuous", "features": 2}}}),
               frame, classes=[1])


def test_cli_select_json_plot_and_bad_input(tmp_path, capsys):
    data, design, fig = tmp_path / "c.csv", tmp_path / "lc.yaml", tmp_path / "k.png"
    datasets.load("carcinoma").to_csv(data, index=False)
    design.write_text("items: [A, B, C, D, E, F, G]\n")
    assert main(["select", str(design), str(data), "--classes", "1-3", "--blrt", "9", "--workers", "1", "--json",
                 "--plot", str(fig)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recommended"] == 3 and [r["classes"] for r in out["rows"]] == [1, 2, 3]
    assert all(set(ROW_KEYS) <= set(r) for r in out["rows"]) and out["rows"][1]["blrt_p"] == pytest.approx(0.1)
    assert fig.stat().st_size > 0
    for bad in ("0", "7-3"):
        assert main(["select", str(design), str(data), "--classes", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --classes") and "\n" not in err
    assert main(["select", str(design), str(data), "--blrt", "-1"]) == 2
