"""The authors' appendix experiments, and per-arm CP against the pooled tensor in the level 2 -> 3 sweep.

Sections (each writes ``benchmarks/results/paper_<section>{_quick}.{md,csv}``):

* ``appendix``: the four-proxy generator of the paper's appendix (docs/paper_experiments.md; k = 2; T <- U;
  Y <- T, U). ATE from the first SPO step at n = 1e5 and the MTE by SPO at n = 5e5, 100 runs each,
  Z = (P0, P1) and X = (P2, P3) as joint proxies, beside the authors' stored numbers (from their published
  results, copied into the rows below).
* ``per_arm``: the level 2 -> 3 sweep (main generator, n = 1000, 100 runs): full-mixture L1 error over the
  (z, x, t, y, u) table, minimised over label swaps, of the pooled CP of P(Z, X, (T, Y)) (the authors' NN-CP
  route, misspecified once Z -> T) and of mixid's per-arm CP (certified by identify); plus both MTE errors.

Rows are sampled as multinomial draws of the exact table (the same law as row-by-row sampling).
Reproduce: ``python benchmarks/bench_paper.py [--quick] [--only SECTION ...]``.
"""

from __future__ import annotations

import sys
from itertools import permutations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import plot_lines, run_sections  # noqa: E402
from mixid.estimate.cp import cp_mixture  # noqa: E402
from mixid.estimate.evaluate import Moments  # noqa: E402
from mixid.estimate.mixture import cp_estimate  # noqa: E402
from mixid.estimate.proximal import proximal  # noqa: E402
from mixid.estimate.simulate import paper_main_params, point_from_params  # noqa: E402
from mixid.estimate.spo import spo  # noqa: E402

from mixid import Design, Model, place, population_moments, truth  # noqa: E402  # noqa: E402

APPENDIX = Design.from_dict({
    "name": "appendix", "latent": {"classes": 2},
    "variables": {n: {"type": "categorical", "categories": 2} for n in ("P0", "P1", "P2", "P3", "T", "Y")},
    "treatment": "T", "outcome": "Y", "edges": ["T -> Y"],
    "roles": {"treatment_side": ["P0", "P1"], "outcome_side": ["P2", "P3"]}})


def appendix_params() -> dict:
    """BinaryGenerator(a=0.25, b=0.25, c=0) of the authors' appendix (docs/paper_experiments.md)."""
    beta = np.linspace(0.2, 0.6, 4)
    p = {"pi_0": 0.5, "p_T0_U0": 0.25, "p_T0_U1": 0.75}
    for i in range(4):
        for u in range(2):
            p[f"p_P{i}0_U{u}"] = 1 - (beta[i] + 0.3 * (u if i % 2 == 0 else 1 - u))
    for t in range(2):
        for u in range(2):
            p[f"p_Y0_T{t}_U{u}"] = 1 - (0.25 + 0.25 * (u == t) + 0.25 * t)
    return p


def _draws(design: Design, params: dict, n: int, runs: int, rng: np.random.Generator):
    P = population_moments(design, params)
    for draw in rng.multinomial(n, P.ravel(), size=runs):
        yield Moments(design, draw.reshape(P.shape) / n)


def section_appendix(quick: bool) -> list[list]:
    d, p = APPENDIX, appendix_params()
    t = truth(d, p)
    rng = np.random.default_rng(123)
    runs = 5 if quick else 100
    Z, X = ("P0", "P1"), ("P2", "P3")
    ates, y0, y1 = [], [], []
    for mo in _draws(d, p, 100_000, runs, rng):
        e = proximal(mo, Z, X, 2)
        ates.append(e.ate)
        y0.append(e.potential_outcome_means[0])
        y1.append(e.potential_outcome_means[1])
    rmse = lambda v, truth_: float(np.sqrt(np.mean((np.asarray(v) - truth_) ** 2)))  # noqa: E731
    rows = [["ATE (n = 1e5)", f"{np.mean(ates):.5f}", f"{np.std(ates):.5f}", f"{rmse(ates, t.ate):.5f}",
             "0.24844 / 0.00804 / 0.00819"],
            ["E[Y(0)] (n = 1e5)", f"{np.mean(y0):.5f}", f"{np.std(y0):.5f}",
             f"{rmse(y0, t.potential_outcome_means[0]):.5f}", "RMSE 0.00571"],
            ["E[Y(1)] (n = 1e5)", f"{np.mean(y1):.5f}", f"{np.std(y1):.5f}",
             f"{rmse(y1, t.potential_outcome_means[1]):.5f}", "RMSE 0.00621"]]
    w0, tau0, tau1, bad = [], [], [], 0
    for mo in _draws(d, p, 500_000, runs, rng):
        e = spo(mo, Z, X, 2)
        w0.append(e.weights[0])
        tau0.append(e.effects[0])
        tau1.append(e.effects[1])
        bad += "projected" in e.diagnostics
    rows += [["P(U) of the lower-effect class (n = 5e5)", f"{np.mean(w0):.5f}", f"{np.std(w0):.5f}",
              f"{rmse(w0, 0.5):.5f}", "0.49856 / 0.01081 / RMSE 0.0109"],
             ["effect of class 0 (n = 5e5)", f"{np.mean(tau0):.5f}", f"{np.std(tau0):.5f}", f"{rmse(tau0, 0):.5f}",
              "-0.00098 / 0.00682"],
             ["effect of class 1 (n = 5e5)", f"{np.mean(tau1):.5f}", f"{np.std(tau1):.5f}",
              f"{rmse(tau1, 0.5):.5f}", "0.50044 / 0.00733"],
             ["impossible fits projected (MTE)", f"{bad}/{runs}", "", "", ""]]
    return rows


def _joint_with_u(design: Design, model: Model, point: np.ndarray) -> np.ndarray:
    """P(cells, U=u), shape (*dims, k), of a parameter point."""
    return model.class_tensor(point) * model.weights(point)


def _l1(true: np.ndarray, est: np.ndarray) -> float:
    k = true.shape[-1]
    return min(float(np.abs(true - est[..., list(perm)]).sum()) for perm in permutations(range(k)))


def section_per_arm(quick: bool) -> list[list]:
    d4 = Design.builtin("paper-level4")  # the generator's parameters are on the X -> Y graph (inert at b = 0)
    d3 = Design.builtin("paper-level3")
    cert = place(d3).targets["full_mixture"].certificate
    m4 = Model(d4)
    rng = np.random.default_rng(7)
    runs = 3 if quick else 100
    rows = []
    for a in np.round(np.linspace(0, 1, 3 if quick else 11), 1):
        p4 = paper_main_params(a, 0.0)
        p3 = {k.replace("p_Y0_X0_", "p_Y0_"): v for k, v in p4.items() if not k.startswith("p_Y0_X1")}
        true_joint = _joint_with_u(d4, m4, point_from_params(m4, p4))  # (z, x, t, y, u)
        t = truth(d3, p3)
        tau = np.sort(t.effects)
        pooled_l1, arm_l1, pooled_mte, arm_mte = [], [], [], []
        for mo in _draws(d3, p3, 1000, runs, rng):
            # pooled CP of P(Z, X, S=(T, Y)): the authors' level-2 route
            sol = cp_mixture(mo.tensor.reshape(2, 2, 4), 2, restarts=3, seed=rng, max_iter=200)
            w = np.asarray(sol.weights)
            est = np.einsum("u,iu,ju,su->ijsu", w, *sol.factors).reshape(2, 2, 2, 2, 2)
            pooled_l1.append(_l1(true_joint, est))
            ps = sol.factors[2].reshape(2, 2, 2)  # (t, y, u)
            eff = ps[1, 1] / ps[1].sum(axis=0) - ps[0, 1] / ps[0].sum(axis=0)
            o = np.argsort(eff)
            pooled_mte.append(float(np.sum((eff[o] - tau) ** 2) + np.sum((w[o] - 0.5) ** 2)))
            # per-arm CP certified by identify
            e = cp_estimate(mo, cert, 2, seed=rng)
            point = np.asarray(e.extra["params"])
            arm_l1.append(_l1(true_joint, _joint_with_u(d3, Model(d3), point)))
            arm_mte.append(float(np.sum((e.effects - tau) ** 2) + np.sum((e.weights - 0.5) ** 2)))
        rows.append([a, runs, f"{np.mean(pooled_l1):.3f}", f"{np.mean(arm_l1):.3f}", f"{np.mean(pooled_mte):.4f}",
                     f"{np.mean(arm_mte):.4f}"])
    plot_lines("paper_per_arm" + ("_quick" if quick else ""), [r[0] for r in rows],
               {"pooled CP of P(Z, X, (T, Y)) (authors' route)": [float(r[2]) for r in rows],
                "per-arm CP (mixid, certified)": [float(r[3]) for r in rows]},
               "Z -> T strength", "full-mixture L1 error (n = 1000)", "Level 2 -> 3: per-arm CP keeps the mixture")
    return rows


SECTIONS = {
    "appendix": (section_appendix, ["quantity", "mean", "sd", "RMSE", "authors (mean / sd / RMSE)"]),
    "per_arm": (section_per_arm, ["zt strength", "runs", "pooled CP mixture L1", "per-arm CP mixture L1",
                                  "pooled CP MTE err", "per-arm CP MTE err"]),
}


def main(argv: list[str] | None = None) -> int:
    return run_sections("paper", "bench_paper.py", SECTIONS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
