"""draw_design draws every arrow of a design's DAG: U to each observed variable, and each edge of the design."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.patches import FancyArrowPatch  # noqa: E402
from mixid.identify.errors import DesignError  # noqa: E402

from mixid import Design  # noqa: E402
from mixid.drawing import draw_design  # noqa: E402


@pytest.mark.parametrize("name", ["paper-level1", "paper-level3", "paper-level4"])
def test_every_arrow_and_node_is_drawn(name):
    d = Design.builtin(name)
    ax = draw_design(d)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(d.names) + len(d.edges)
    labels = {t.get_text() for t in ax.texts}
    assert labels == {d.latent, *d.names}
    assert ax.get_title() == f"{name} (k = {d.classes})"
    matplotlib.pyplot.close(ax.figure)


def test_a_latent_class_model_and_a_given_axes():
    fig, ax = matplotlib.pyplot.subplots()
    d = Design.latent_class(list("ABCD"), classes=3)
    assert draw_design(d, ax=ax, title="four items") is ax
    assert ax.get_title() == "four items"
    assert len([p for p in ax.patches if isinstance(p, FancyArrowPatch)]) == 4  # U -> each item, no other edge
    matplotlib.pyplot.close(fig)


def test_an_unknown_design_is_refused():
    with pytest.raises(DesignError, match="neither a file nor a built-in"):
        draw_design("no-such-design")
