"""The house chart style: one look for every chart in every report.

Call :func:`apply_house_style` once at the top of a notebook. Charts are
drawn as SVG so they stay sharp in the PDF and add no file to the HTML.

Besides colours and fonts, the house style holds the rules every chart keeps:

- **Scales.** An axis never runs past the scale of its measure: 1-5 for a
  rating (:data:`RATING`), -100 to +100 for a Net Promoter Score
  (:data:`NPS`), 0-100 for a share (:data:`PCT`). :func:`set_scale` sets the
  limits, :func:`clip_interval` clips an interval to the scale for display.
- **Labels.** No label covers another: :func:`place_labels` moves a label to
  the first free spot near its point, :func:`fit_texts` pulls labels that
  stick out back inside the axes.
- **Alt text.** Every chart says what it shows and its key number
  (:func:`set_alt`, read back with :func:`alt_text`). In a notebook,
  :func:`apply_house_style` puts it into the display output's metadata,
  ``output.metadata["image/svg+xml"]["alt"]``, where nbconvert's templates
  read an image's alt text (``get_metadata('alt', mimetype)``).
- **Values on hover.** Beside the alt text goes ``hover``: every bar's box
  and value (:func:`hover_spots`); in the HTML the page script shows the
  value when the pointer rests on the bar.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.transforms import Bbox

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
LABEL_SIZE = 9      # value labels on marks
SMALL_SIZE = 8      # bases (n=...), notes, quadrant names
# The scale of each kind of measure: an axis showing it never runs past these bounds.
RATING = (1.0, 5.0)
NPS = (-100.0, 100.0)
PCT = (0.0, 100.0)


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
            return
        _attach_alt_to_display()


# ---------------------------------------------------------------- alt text
ALT_PREFIX = "cxreport-alt:"


def set_alt(fig: plt.Figure, text: str) -> plt.Figure:
    """Attach the chart's alt text (what it shows and its key number) to ``fig``; returns ``fig``.

    Stored as the figure's label (``fig.get_label()``, prefixed with
    :data:`ALT_PREFIX` so it is never mistaken for a pyplot figure name);
    read it back with :func:`alt_text`.
    """
    fig.set_label(ALT_PREFIX + " ".join(str(text).split()))
    return fig


def lower_first(text: str) -> str:
    """``text`` to run on inside a sentence: the first letter lowercased unless the word is an acronym ("NPS", "IDC")."""
    text = str(text)
    word = text.split(" ", 1)[0]
    return text if len(word) > 1 and word[:2].isupper() else text[:1].lower() + text[1:]


def alt_text(fig: plt.Figure) -> str | None:
    """The alt text :func:`set_alt` attached to ``fig``, or None."""
    label = fig.get_label() or ""
    return label[len(ALT_PREFIX):] if label.startswith(ALT_PREFIX) else None


def _attach_alt_to_display() -> None:
    """Make IPython's SVG (and PNG) output of a figure carry its alt text as output metadata.

    matplotlib-inline registers a formatter per image type; IPython lets a
    formatter return ``(data, metadata)``. The metadata lands in the notebook
    as ``output.metadata["image/svg+xml"] = {"alt": "..."}``, which is where
    nbconvert's templates look for an image's alt text.
    """
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    for mime in ("image/svg+xml", "image/png"):
        formatter = ip.display_formatter.formatters.get(mime)
        if formatter is None:
            continue
        try:
            printer = formatter.lookup_by_type(Figure)
        except KeyError:
            continue
        if getattr(printer, "_cxreport_alt", False):
            continue

        def with_alt(fig, _printer=printer):
            data = _printer(fig)
            if data is None:
                return data
            meta = {"alt": alt_text(fig), "hover": hover_spots(fig)}
            meta = {k: v for k, v in meta.items() if v}
            return (data, meta) if meta else data

        with_alt._cxreport_alt = True
        formatter.for_type(Figure, with_alt)


# ---------------------------------------------------------------- values on hover
def _bar_category(ax, rect, horizontal: bool) -> str:
    """The tick label under (vertical bar) or beside (horizontal bar) a bar, or ""."""
    centre = rect.get_y() + rect.get_height() / 2 if horizontal else rect.get_x() + rect.get_width() / 2
    size = abs(rect.get_height() if horizontal else rect.get_width()) or 1.0
    ticks = ax.get_yticks() if horizontal else ax.get_xticks()
    labels = ax.get_yticklabels() if horizontal else ax.get_xticklabels()
    for tick, label in zip(ticks, labels):
        if abs(tick - centre) <= size / 2 + 1e-9 and label.get_text():
            return " ".join(label.get_text().split())
    return ""


def hover_spots(fig: plt.Figure, digits: int | None = None) -> list[list]:
    """Where a chart's bars are and what each shows, for the HTML's values on hover.

    One ``[left, top, width, height, text]`` per bar of every bar container
    (``ax.bar``/``ax.barh``, seaborn's bars), the box in fractions of the saved
    image (matplotlib-inline saves it with ``bbox_inches="tight"``: the same
    crop is applied here), the text "category, series: value" with the value
    in house number style (:func:`cxreport.present.format.number`; one decimal
    below 100, else none, unless ``digits``). The page script lays a
    transparent box with that text as its title over each bar; the PDF and a
    page without scripts show the chart as it is. Call after the figure is
    drawn (the display formatter does); an empty list when there are no bars.
    """
    from .present.format import number

    bars = [c for ax in fig.axes for c in ax.containers if hasattr(c, "datavalues") and len(c.patches)]
    if not bars:  # no bars: no need to lay the figure out again
        return []
    canvas = fig.canvas
    renderer = canvas.get_renderer()
    pad = mpl.rcParams["savefig.pad_inches"]
    crop = fig.get_tightbbox(renderer).padded(pad)  # inches, as bbox_inches="tight" saves
    if crop.width <= 0 or crop.height <= 0:
        return []
    spots = []
    for ax in fig.axes:
        for container in ax.containers:
            if not hasattr(container, "datavalues") or not len(container.patches):
                continue
            horizontal = getattr(container, "orientation", "vertical") == "horizontal"
            series = container.get_label() or ""
            series = "" if series.startswith("_") else series
            for rect, value in zip(container.patches, container.datavalues):
                if value is None or not np.isfinite(value) or not rect.get_visible():
                    continue
                box = rect.get_window_extent(renderer)
                x0, x1 = box.x0 / fig.dpi, box.x1 / fig.dpi
                y0, y1 = box.y0 / fig.dpi, box.y1 / fig.dpi
                left, top = (x0 - crop.x0) / crop.width, (crop.y1 - y1) / crop.height
                width, height = (x1 - x0) / crop.width, (y1 - y0) / crop.height
                if width <= 0 or height <= 0:
                    continue
                places = digits if digits is not None else (0 if abs(value) >= 100 else 1)
                label = ", ".join(t for t in (_bar_category(ax, rect, horizontal), series) if t)
                text = f"{label}: {number(value, places)}" if label else number(value, places)
                spots.append([round(float(v), 4) for v in (left, top, width, height)] + [text])
    return spots


# ---------------------------------------------------------------- scales
def set_scale(ax, scale: tuple[float, float], axis: str = "y", lo: float | None = None, hi: float | None = None) -> None:
    """Set an axis's limits within the measure's ``scale`` (e.g. :data:`RATING`).

    ``lo``/``hi`` narrow the limits (a zoomed view) but are clipped to the
    scale, so a 1-5 axis never reaches 5.25 and an NPS axis never 150.
    """
    a = scale[0] if lo is None else max(scale[0], lo)
    b = scale[1] if hi is None else min(scale[1], hi)
    if b <= a:
        a, b = scale
    (ax.set_ylim if axis == "y" else ax.set_xlim)(a, b)


def clip_interval(values, low, high, scale: tuple[float, float]):
    """Lower and upper error-bar lengths of an interval clipped to ``scale``, for ``errorbar(xerr=/yerr=)``.

    The interval is shown as computed except that no whisker runs past the
    scale's bounds (a Wald interval can reach 5.1 on a 1-5 rating).
    """
    v = np.asarray(values, dtype=float)
    lo = np.clip(np.asarray(low, dtype=float), scale[0], scale[1])
    hi = np.clip(np.asarray(high, dtype=float), scale[0], scale[1])
    return [np.maximum(v - lo, 0), np.maximum(hi - v, 0)]


def headroom(top: float, scale_max: float = 100.0, factor: float = 1.22, floor: float = 10.0) -> float:
    """An upper limit for bars of shares: room for the labels above the tallest, never past the scale."""
    return min(scale_max, max(top * factor, floor)) if math.isfinite(top) else scale_max


# ---------------------------------------------------------------- labels
def _renderer(fig):
    try:
        return fig.canvas.get_renderer()
    except AttributeError:  # pragma: no cover - non-Agg canvas
        fig.canvas.draw()
        return fig.canvas.get_renderer()


def _pad(box: Bbox, px: float) -> Bbox:
    return Bbox.from_extents(box.x0 - px, box.y0 - px, box.x1 + px, box.y1 + px)


def text_boxes(fig: plt.Figure, texts=None) -> list:
    """Display-space boxes of the visible, non-empty text artists of ``fig`` (all of them, or ``texts``)."""
    r = _renderer(fig)
    if texts is None:
        texts = [t for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]
    return [t.get_window_extent(r) for t in texts]


def fit_texts(ax, texts, margin_px: float = 3.0) -> None:
    """Move each text of ``texts`` that sticks out of ``ax`` back inside, ``margin_px`` from the frame."""
    fig = ax.figure
    r = _renderer(fig)
    frame = ax.get_window_extent(r)
    inv = ax.transData.inverted()
    for t in texts:
        box = t.get_window_extent(r)
        dx = max(0.0, frame.x0 + margin_px - box.x0) - max(0.0, box.x1 - (frame.x1 - margin_px))
        dy = max(0.0, frame.y0 + margin_px - box.y0) - max(0.0, box.y1 - (frame.y1 - margin_px))
        if dx or dy:
            if isinstance(t, mpl.text.Annotation) and t.anncoords == "offset points":
                ox, oy = t.xyann
                t.xyann = (ox + dx * 72 / fig.dpi, oy + dy * 72 / fig.dpi)
            elif t.get_transform() == ax.transData:
                x, y = ax.transData.transform(t.get_position())
                t.set_position(inv.transform((x + dx, y + dy)))
            else:
                from matplotlib.transforms import offset_copy

                t.set_transform(offset_copy(t.get_transform(), fig=fig, x=dx, y=dy, units="dots"))


# Offsets (points) tried in turn around a point: right, above, left, below, then further out.
_OFFSETS = [(6, 4), (6, -12), (-6, 4), (-6, -12), (0, 9), (0, -15)]
_OFFSETS += [(dx * 2, dy * 2) for dx, dy in _OFFSETS] + [(dx * 3, dy * 3) for dx, dy in _OFFSETS]


def place_labels(ax, xs, ys, labels, avoid=(), fontsize: float = LABEL_SIZE, color: str = INK, pad_px: float = 2.0) -> list:
    """Label points without collisions: each label goes to the first offset around its point where its box
    overlaps no label placed before, no text of ``avoid``, no marked point, and stays inside the axes.

    A simple greedy placement; a label that finds no free spot takes the
    offset that overlaps least. Returns the annotations.
    """
    fig = ax.figure
    r = _renderer(fig)
    frame = ax.get_window_extent(r)
    taken = [_pad(t.get_window_extent(r), pad_px) for t in avoid]
    pts = ax.transData.transform(np.column_stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)]))
    dot = 5.0  # half the marker size in pixels, roughly
    taken += [Bbox.from_extents(px - dot, py - dot, px + dot, py + dot) for px, py in pts]
    placed = []
    for x, y, label in zip(xs, ys, labels):
        best, best_cost = None, math.inf
        for dx, dy in _OFFSETS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            ann = ax.annotate(str(label), (x, y), textcoords="offset points", xytext=(dx, dy), ha=ha, va="bottom",
                              fontsize=fontsize, color=color)
            box = _pad(ann.get_window_extent(r), pad_px)
            outside = (box.x0 < frame.x0) + (box.x1 > frame.x1) + (box.y0 < frame.y0) + (box.y1 > frame.y1)
            cost = 1000 * outside + sum(_overlap_area(box, other) for other in taken)
            if cost < best_cost:
                if best is not None:
                    best.remove()
                best, best_cost, best_box = ann, cost, box
            else:
                ann.remove()
            if cost == 0:
                break
        taken.append(best_box)
        placed.append(best)
    return placed


def _overlap_area(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def finish(fig: plt.Figure, source: str | None = None, alt: str | None = None) -> plt.Figure:
    """Tighten the layout, add a small source line under the chart, and attach its alt text."""
    if source:
        # Inside the figure, under the axes: the layout leaves it a line of its own.
        line = 0.22 / fig.get_figheight()
        fig.text(0.01, 0.01, source, ha="left", va="bottom", fontsize=SMALL_SIZE, color=MUTED)
        fig.tight_layout(rect=(0, line, 1, 1))
    else:
        fig.tight_layout()
    _fit_titles(fig)
    if alt:
        set_alt(fig, alt)
    return fig


def _fit_titles(fig: plt.Figure, margin_px: float = 4.0) -> None:
    """A left-aligned axes title too long for the space right of the axes' left edge starts further left
    (over the tick labels), and wraps if it is wider than the figure."""
    import textwrap

    r = _renderer(fig)
    width = fig.bbox.width
    for ax in fig.axes:
        title = ax.title
        if not title.get_text().strip():
            continue
        box = title.get_window_extent(r)
        if box.x1 <= width - margin_px:
            continue
        if box.width > width - 2 * margin_px:
            chars = max(20, int(len(title.get_text()) * (width - 2 * margin_px) / box.width) - 2)
            title.set_text("\n".join(textwrap.wrap(title.get_text(), chars)))
            box = title.get_window_extent(r)
        frame = ax.get_window_extent(r)
        shift = max(box.x1 - (width - margin_px), 0)
        x_px = max(margin_px, box.x0 - shift)
        title.set_x((x_px - frame.x0) / frame.width)
