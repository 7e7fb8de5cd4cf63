"""validate: exact-moment checks pass for the toolkit's estimators and fail loudly for a wrong one."""

from __future__ import annotations

import pytest
from mixid.estimate.result import Estimate
from mixid.estimate.spo import naive_difference
from mixid.estimate.validate import ValidationError, validate

from mixid.cli import main


def wrong_estimator(mo):
    """A deliberately wrong ATE: the naive difference in means (biased under confounding)."""
    ate = naive_difference(mo)
    return Estimate(ate=ate, potential_outcome_means={0: 0.0, 1: ate})


@pytest.mark.parametrize("name", ["paper-level1", "paper-level2", "paper-level3", "paper-level4"])
def test_builtins_pass_exact_checks(name, tmp_path):
    v = validate(name, ns=(2000, 20000), runs=3, seed=1, out=tmp_path)
    assert v.passed and v.exact
    assert all(r["ate_error"] < 1e-9 for r in v.exact)
    assert {p.split("/")[-1] for p in v.files} == {"validate.md", "validate.csv", "validate.png"}
    assert "naive" in {r["estimator"] for r in v.study}


def test_wrong_estimator_fails_loudly():
    with pytest.raises(ValidationError, match="estimator 'wrong' fails on exact population moments"):
        validate("paper-level4", ns=(1000,), runs=1, extra={"wrong": wrong_estimator})
    v = validate("paper-level4", ns=(1000,), runs=1, extra={"wrong": wrong_estimator}, raise_on_failure=False)
    assert not v.passed


def test_slope_is_root_n():
    from mixid.estimate.simulate import paper_main_params

    v = validate("paper-level4", params=paper_main_params(1.0, 0.5), ns=(3_000, 30_000, 300_000), runs=25,
                 seed=2)
    assert -0.75 < v.slopes["proximal"] < -0.3


def test_cli_validate_exit_codes(tmp_path, capsys):
    code = main(["validate", "paper-level4", "--n", "1e3,1e4", "--runs", "2", "--out", str(tmp_path)])
    assert code == 0 and (tmp_path / "validate.png").exists()
    code = main(["validate", "paper-level4", "--n", "1e3", "--runs", "1", "--out", str(tmp_path),
                 "--plugin", "tests.test_validate:wrong_estimator"])
    err = capsys.readouterr().err
    assert code == 1 and "validation failed" in err and len(err.strip().splitlines()) == 1
    assert main(["validate", "paper-level4", "--plugin", "nope"]) == 2
