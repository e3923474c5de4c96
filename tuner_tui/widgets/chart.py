"""Character charts: a braille line chart and a block-character histogram.

No plotting library: a line chart puts 2×4 braille dots in each cell, so an 40×8 cell chart
has 80×32 dots. Colours are the 8 basic ANSI names (cyan, magenta, yellow, green, red), which
stay distinct in 16-colour terminals; each series is also named in the legend. Overlaid series
of several runs (the Runs pane's comparison) also get a marker glyph each (`SERIES_STYLES`), so
they stay apart where colours are hard to tell or lines cross.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from tuner_tui.fmt import fmt_num

Point = tuple[float, float]

# Braille dot bits for (column, row) inside one cell.
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
_EIGHTHS = " ▁▂▃▄▅▆▇█"


# Colour and marker per overlaid series, in order: blue is last, it reads poorly on dark backgrounds.
SERIES_STYLES = (
    ("cyan", "●"),
    ("magenta", "▲"),
    ("yellow", "■"),
    ("green", "◆"),
    ("red", "✚"),
    ("white", "○"),
    ("blue", "★"),
)


def series_style(index: int) -> tuple[str, str]:
    """(colour, marker) of the index-th overlaid series (they repeat after seven)."""
    return SERIES_STYLES[index % len(SERIES_STYLES)]


@dataclass
class ChartSeries:
    """One line: a name for the legend, (x, y) points in x order, an ANSI colour name.

    `marker`: a one-cell glyph drawn at every point over the line (for sparse series such as
    evaluations, where it also tells overlaid runs apart without relying on colour).
    """

    name: str
    points: Sequence[Point]
    color: str = "cyan"
    marker: str = ""


def share_range(series: Sequence[ChartSeries]) -> tuple[float, float]:
    """A y axis for shares (0–1): from 0, up to a little above the highest point, 100% at most."""
    top = max((y for s in series for _, y in s.points if math.isfinite(y)), default=1.0)
    # Low shares keep room to show their trend (2% → 6% would be a flat line on 0–100%).
    return 0.0, 1.0 if top >= 0.8 else max(0.1, min(1.0, top * 1.25))


def legend(series: Sequence[ChartSeries], sep: str = "  ") -> Text:
    """The named series as `━● name` in their colours, one after the other."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for s in series:
        if not s.name:
            continue
        if text:
            text.append(sep)
        text.append("━" + s.marker, style=f"bold {s.color}")
        text.append(" " + s.name)
    return text


def robust_range(values: list[float]) -> tuple[float, float]:
    """(low, high) ignoring wild outliers: > 10× the median, or > 3 IQR beyond the quartiles (8+ values).

    A throughput glitch (one window timed at ~0 s reads as 10^12 tokens/s) must not flatten the
    rest of the curve; points outside the range are drawn clamped at the edge.
    """
    vals = sorted(v for v in values if math.isfinite(v))
    if not vals:
        return 0.0, 1.0
    med = vals[len(vals) // 2]
    if med > 0:
        vals = [v for v in vals if v <= med * 10] or vals
    if len(vals) < 8:
        return vals[0], vals[-1]
    q1, q3 = vals[len(vals) // 4], vals[(3 * len(vals)) // 4]
    span = q3 - q1
    if span <= 0:
        span = abs(q3) * 0.5 or 1.0
    lo, hi = q1 - 3 * span, q3 + 3 * span
    inside = [v for v in vals if lo <= v <= hi]
    return (inside[0], inside[-1]) if inside else (vals[0], vals[-1])


def _nice_fmt(v: float) -> str:
    return fmt_num(v, 3)


def _downsample(
    points: Sequence[Point], x0: float, xspan: float, cols: int
) -> list[tuple[int, float, float, float]]:
    """Per dot column: (column, min y, max y, last y) — keeps spikes, costs O(n)."""
    out: dict[int, list[float]] = {}
    order: list[int] = []
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        c = round((x - x0) / xspan * (cols - 1)) if xspan > 0 else 0
        c = min(max(c, 0), cols - 1)
        cell = out.get(c)
        if cell is None:
            out[c] = [y, y, y]
            order.append(c)
        else:
            if y < cell[0]:
                cell[0] = y
            if y > cell[1]:
                cell[1] = y
            cell[2] = y
    return [(c, out[c][0], out[c][1], out[c][2]) for c in sorted(order)]


def render_line_chart(
    series: Sequence[ChartSeries],
    width: int,
    height: int,
    *,
    y_fmt: Callable[[float], str] = _nice_fmt,
    robust: bool = False,
    y_zero: bool = False,
    x_label: str = "step",
    empty: str = "waiting for data…",
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> Text:
    """The chart as `height` lines of `width` cells.

    `x_range`/`y_range` fix the axes (charts side by side share their steps; a share stays 0–1);
    points outside are clamped to the edge.
    """
    width, height = max(0, width), max(0, height)
    pts = [p for s in series for p in s.points if math.isfinite(p[0]) and math.isfinite(p[1])]
    if height < 2 or width < 12 or not pts:
        msg = empty if pts == [] else "(too small)"
        lines = [" " * width] * height
        if height:
            mid = height // 2
            lines[mid] = msg[:width].center(width)
        return Text("\n".join(lines), style="dim", no_wrap=True, overflow="crop")
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    x0, x1 = x_range if x_range is not None else (min(xs), max(xs))
    y0, y1 = robust_range(ys) if robust else (min(ys), max(ys))
    if y_zero and y0 > 0:
        y0 = 0.0
    if y_range is not None and y_range[1] > y_range[0]:
        y0, y1 = y_range
    elif y1 - y0 <= 0:
        pad = abs(y1) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    else:
        pad = (y1 - y0) * 0.05
        y1 += pad
        if not (y_zero and y0 == 0.0):
            y0 -= pad
    plot_h = height - 1
    labels = {0: y_fmt(y1), plot_h - 1: y_fmt(y0)}
    if plot_h >= 5:
        labels[(plot_h - 1) // 2] = y_fmt(y1 - (y1 - y0) * ((plot_h - 1) // 2) / max(1, plot_h - 1))
    lab_w = max(len(v) for v in labels.values())
    plot_w = width - lab_w - 1
    if plot_w < 4:
        return Text("(too small)".center(width)[:width], style="dim")
    cols, rows = plot_w * 2, plot_h * 4
    bits = [[0] * plot_w for _ in range(plot_h)]
    color: list[list[str | None]] = [[None] * plot_w for _ in range(plot_h)]
    marks: dict[tuple[int, int], tuple[str, str]] = {}  # (row, cell) → (glyph, colour), over the dots
    xspan = x1 - x0

    def dot_y(y: float) -> int:
        r = round((y1 - y) / (y1 - y0) * (rows - 1))
        return min(max(r, 0), rows - 1)

    def plot(c: int, r: int, col: str) -> None:
        cy, cx = r // 4, c // 2
        bits[cy][cx] |= _DOTS[r % 4][c % 2]
        color[cy][cx] = col

    for s in series:
        cells = _downsample(s.points, x0, xspan, cols)
        prev: tuple[int, int] | None = None
        for c, lo, hi, last in cells:
            r_lo, r_hi, r_last = dot_y(lo), dot_y(hi), dot_y(last)
            for r in range(min(r_lo, r_hi), max(r_lo, r_hi) + 1):
                plot(c, r, s.color)
            if prev is not None:  # connect to the previous column (Bresenham)
                pc, pr = prev
                dc, dr = c - pc, r_last - pr
                n = max(abs(dc), abs(dr))
                for i in range(1, n):
                    plot(pc + round(dc * i / n), pr + round(dr * i / n), s.color)
            plot(c, r_last, s.color)
            prev = (c, r_last)
        if s.marker:
            for x, y in s.points:
                if math.isfinite(x) and math.isfinite(y):
                    c = round((x - x0) / xspan * (cols - 1)) if xspan > 0 else 0
                    marks[(dot_y(y) // 4, min(max(c, 0), cols - 1) // 2)] = (s.marker, s.color)

    text = Text(no_wrap=True, overflow="crop")
    for r in range(plot_h):
        label = labels.get(r, "")
        text.append(label.rjust(lab_w), style="dim")
        text.append("┤" if r in labels else "│", style="dim")
        row_bits, row_col = bits[r], color[r]
        run_style: str | None = None
        run: list[str] = []
        for cx in range(plot_w):
            b = row_bits[cx]
            st = row_col[cx] if b else None
            ch = chr(0x2800 + b) if b else " "
            mark = marks.get((r, cx))
            if mark is not None:
                ch, st = mark[0], f"bold {mark[1]}"
            if st != run_style and run:
                text.append("".join(run), style=run_style or "")
                run = []
            run_style = st
            run.append(ch)
        if run:
            text.append("".join(run), style=run_style or "")
        text.append("\n")
    left, right = f"{fmt_num(x0, 6)}", f"{fmt_num(x1, 6)}"
    axis = left + x_label.center(max(0, plot_w - len(left) - len(right))) + right
    text.append(" " * lab_w + "└", style="dim")
    text.append(axis[:plot_w], style="dim")
    return text


class LineChart(Widget):
    """A braille line chart of one or more series; the border title carries the legend."""

    DEFAULT_CSS = """
    LineChart {
        height: 8;
        border: round $panel-lighten-2;
        border-title-color: $foreground;
        padding: 0 0;
    }
    """

    def __init__(
        self,
        title: str,
        *,
        y_fmt: Callable[[float], str] = _nice_fmt,
        robust: bool = False,
        y_zero: bool = False,
        x_label: str = "step",
        empty: str = "waiting for data…",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.series: list[ChartSeries] = []
        self.y_fmt = y_fmt
        self.robust = robust
        self.y_zero = y_zero
        self.x_label = x_label
        self.empty = empty
        self.x_range: tuple[float, float] | None = None
        self.y_range: tuple[float, float] | None = None
        self.border_title = title

    def set_series(
        self,
        series: list[ChartSeries],
        summary: str = "",
        *,
        legend: bool = True,
        x_range: tuple[float, float] | None = None,
        y_range: tuple[float, float] | None = None,
    ) -> None:
        """Replace the data and redraw; the legend goes in the title unless `legend=False` (shown elsewhere)."""
        self.series = series
        self.x_range, self.y_range = x_range, y_range
        names = "  ".join(f"[{s.color}]━{s.marker}[/] {s.name}" for s in series if s.name) if legend else ""
        self.border_title = f"{self.title}  {names}" if names else self.title
        self.border_subtitle = summary
        self.refresh()

    @property
    def point_count(self) -> int:
        return sum(len(s.points) for s in self.series)

    def render(self) -> Text:
        size = self.content_size
        return render_line_chart(
            self.series,
            size.width,
            size.height,
            y_fmt=self.y_fmt,
            robust=self.robust,
            y_zero=self.y_zero,
            x_label=self.x_label,
            empty=self.empty,
            x_range=self.x_range,
            y_range=self.y_range,
        )


def render_histogram(
    values: Sequence[int], width: int, height: int, *, limit: int | None = None, empty: str = "no data"
) -> Text:
    """Vertical bars of the value distribution; bins past `limit` are red."""
    if not values or width < 10 or height < 2:
        lines = [" " * width] * height
        if height:
            lines[height // 2] = empty[:width].center(width)
        return Text("\n".join(lines), style="dim", no_wrap=True)
    lo, hi = 0, max(values)
    if limit is not None:
        hi = max(hi, limit)
    hi = max(hi, 1)
    lab_w = len(f"{len(values):,}")
    bins_n = max(1, width - lab_w - 1)
    counts = [0] * bins_n
    for v in values:
        i = min(bins_n - 1, int((v - lo) / (hi - lo + 1) * bins_n))
        counts[i] += 1
    top = max(counts) or 1
    rows = height - 1
    text = Text(no_wrap=True, overflow="crop")
    bin_w = (hi - lo + 1) / bins_n
    for r in range(rows):
        label = f"{top:,}" if r == 0 else ("0" if r == rows - 1 else "")
        text.append(label.rjust(lab_w), style="dim")
        text.append("│", style="dim")
        level_top = (rows - r) * 8
        run: list[str] = []
        run_style = "cyan"
        for i, n in enumerate(counts):
            eighths = n / top * rows * 8
            fill = max(0, min(8, round(eighths - (level_top - 8))))
            if n and r == rows - 1 and fill == 0:
                fill = 1  # a bin with rows is never invisible
            style = "red" if limit is not None and lo + i * bin_w >= limit else "cyan"
            if style != run_style and run:
                text.append("".join(run), style=run_style)
                run = []
            run_style = style
            run.append(_EIGHTHS[fill])
        if run:
            text.append("".join(run), style=run_style)
        text.append("\n")
    left, right = "0", f"{hi:,}"
    mid = (
        f"tokens (red: over max_seq_len {limit})"
        if limit is not None and limit < hi + 1 and any(v > limit for v in values)
        else "tokens"
    )
    axis = left + mid.center(max(0, bins_n - len(left) - len(right))) + right
    text.append(" " * lab_w + "└", style="dim")
    text.append(axis[:bins_n], style="dim")
    return text


class Histogram(Widget):
    """Token-length histogram (bars beyond max_seq_len in red)."""

    DEFAULT_CSS = """
    Histogram {
        height: 10;
        border: round $panel-lighten-2;
    }
    """

    def __init__(
        self, title: str = "token lengths", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.values: list[int] = []
        self.limit: int | None = None
        self.empty = "no data"
        self.border_title = title

    def set_data(self, values: list[int], limit: int | None = None, empty: str = "no data") -> None:
        self.values, self.limit, self.empty = values, limit, empty
        self.refresh()

    def render(self) -> Text:
        size = self.content_size
        return render_histogram(self.values, size.width, size.height, limit=self.limit, empty=self.empty)
