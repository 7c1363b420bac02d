"""The house chart style: one look for every chart in every report.

Call :func:`apply_house_style` once at the top of a notebook. Charts are
drawn as SVG so they stay sharp in the PDF and add no file to the HTML.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import seaborn as sns

INK = "#1f2a36"
MUTED = "#6b7785"
GRID = "#e3e8ee"
PRIMARY = "#1f5f99"
ACCENT = "#e08a2b"
POSITIVE = "#2e8b57"
NEUTRAL = "#b8c2cc"
NEGATIVE = "#c0392b"
PALETTE = [PRIMARY, ACCENT, POSITIVE, "#7d5ba6", "#3fa7b5", NEGATIVE, "#8c6d3f", MUTED]
NPS_COLOURS = {"Promoter": POSITIVE, "Passive": NEUTRAL, "Detractor": NEGATIVE}
# Sequential map for heatmaps (low = pale, high = primary).
SEQUENTIAL = sns.light_palette(PRIMARY, as_cmap=True)
FIGSIZE = (7.2, 3.6)


def apply_house_style(svg: bool = True) -> None:
    """Set seaborn/matplotlib defaults (fonts, colours, grid) and SVG output in notebooks."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font="DejaVu Sans")
    mpl.rcParams.update(
        {
            "figure.figsize": FIGSIZE,
            "figure.dpi": 110,
            "savefig.dpi": 200,
            "savefig.bbox": "tight",
            "axes.edgecolor": GRID,
            "axes.labelcolor": INK,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.titlecolor": INK,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "grid.color": GRID,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "text.color": INK,
            "legend.frameon": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "cxreport",  # stable SVG ids: identical runs give identical files
        }
    )
    if svg:
        try:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("svg")
        except ImportError:  # outside IPython: nothing to configure
            pass


def finish(fig: plt.Figure, source: str | None = None) -> plt.Figure:
    """Tighten the layout and add a small source line under the chart."""
    if source:
        fig.text(0.01, -0.02, source, ha="left", va="top", fontsize=8, color=MUTED)
    fig.tight_layout()
    return fig
