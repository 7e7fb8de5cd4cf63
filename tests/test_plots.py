"""Result.plot draws what the design identifies, with no label covering another."""

from __future__ import annotations

import itertools

import pytest

from mixid import fit, simulate


def _texts(fig):
    """Every visible, non-empty text of a drawn figure with its extent on the canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):  # only the ticks inside the view are drawn
            lo, hi = sorted(axis.get_view_interval())
            texts += [t.label1 for t in axis.get_major_ticks() if lo <= t.get_loc() <= hi]
        legend = ax.get_legend()
        if legend is not None:
            texts += legend.get_texts()
        out += [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    return out


def _no_overlap(fig):
    for (a, box_a), (b, box_b) in itertools.combinations(_texts(fig), 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


@pytest.mark.parametrize("estimator, bootstrap", [("proximal", 0), ("proximal", 40), ("mle", 0), ("mle", 20)])
def test_ate_only_design_plots_the_ate_beside_the_naive_difference(estimator, bootstrap):
    """paper-level4 identifies the ATE only: maximum likelihood reports an MTE too, but it is not drawn."""
    data, tr = simulate("paper-level4", 8000, seed=3)
    r = fit("paper-level4", data, estimator=estimator, bootstrap=bootstrap, seed=1, truth=tr.to_dict())
    fig = r.plot()
    ax = fig.axes[0]
    assert ax.get_title().startswith(f"average treatment effect ({estimator}")
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert any(t.startswith(f"ATE ({estimator})") for t in ticks) and any(t.startswith("naive") for t in ticks)
    assert f"{r.estimate.ate:.3f}" in ticks[1] + ticks[0] and f"{r.naive:.3f}" in ticks[0] + ticks[1]
    assert "class" not in ax.get_xlabel() + ax.get_ylabel()  # no MTE plot
    if bootstrap or estimator == "mle":  # maximum likelihood has Wald intervals without a bootstrap
        lo, hi = r.to_dict()["ate"]["ci"]
        assert f"[{lo:.3f}, {hi:.3f}]" in " ".join(ticks)
    _no_overlap(fig)


def test_latent_class_design_plots_its_class_weights():
    from mixid import Design, datasets

    r = fit(Design.latent_class(list("ABCDEFG"), classes=3), datasets.load("carcinoma"), seed=1)
    ax = r.plot().axes[0]
    assert ax.get_title().startswith("latent class weights (mle, n = 118)")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["class 0", "class 1", "class 2"]
    _no_overlap(r.plot())


def test_mte_design_plots_weights_against_effects():
    from mixid.cli import DEMO_PARAMS

    data, tr = simulate("paper-level3", 20_000, params=DEMO_PARAMS, seed=3)
    for estimator in ("spo", "mle"):
        fig = fit("paper-level3", data, estimator=estimator, bootstrap=30, seed=1, truth=tr.to_dict()).plot()
        ax = fig.axes[0]
        assert ax.get_title().startswith(f"mixture of treatment effects ({estimator}, n = 20,000)")
        assert "class effect" in ax.get_xlabel() and "class weight" in ax.get_ylabel()
        _no_overlap(fig)
