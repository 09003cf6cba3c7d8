"""The benchmark's picture and growth table, drawn from `analyse()`'s summaries.

`search_chart` draws the p95 of the search results page against library size, the site
beside the baselines measured in the same run (SQLite FTS5, naive Whoosh) and, when
PostgreSQL was installed, the site on its PostgreSQL backend. `growth_table` gives, for
each headline measurement, its value at every size and how much it grew from the smallest
size to the largest. Both answer the same question: how the site scales with its library.

The SVG is written by hand so that the benchmark needs no plotting library: a line chart
is a few dozen elements. It has a viewBox and an intrinsic width, so it scales down to a
phone's width, and it uses the generic sans-serif font, so it renders alike everywhere.
Both axes are logarithmic: the sizes grow by factors of ten and five, and the series lie
an order of magnitude or more apart.

Nothing here imports `tests.bench.run`, which imports this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

# --- Reading the summaries -----------------------------------------------------------


def _dig(res: dict, *keys: str) -> float | None:
    """`res[k1][k2]...` as a float, or None when a key is missing or the value is no
    positive finite number (an empty summary's p95 is NaN; a log scale has no zero)."""
    value: object = res
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def _per_second(res: dict, part: str, per: str) -> float | None:
    """Items per second from the median of a summary of seconds (as `run.rate` does)."""
    items, seconds = _dig(res, part, per), _dig(res, part, "seconds", "median")
    return items / seconds if items and seconds else None


def _browse_worst_p95(res: dict) -> float | None:
    """The slowest of the browse pages' p95 (the `/healthz/` floor is no browse page)."""
    values = [
        _dig(page, "p95")
        for name, page in (res.get("browse") or {}).items()
        if name.startswith("browse")
    ]
    present = [v for v in values if v is not None]
    return max(present) if present else None


# --- The chart -----------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    label: str
    keys: tuple[str, ...]  # where its p95 (seconds) is in one size's summary
    colour: str
    dash: str  # stroke-dasharray; "" for a solid line
    marker: str  # circle, square, triangle or diamond

    def p95_ms(self, res: dict) -> float | None:
        seconds = _dig(res, *self.keys, "p95")
        return None if seconds is None else seconds * 1000


# Okabe-Ito colours (distinct for colour-blind readers), and each series has its own
# marker shape as well; the site's series are solid lines, the baselines dashed.
SEARCH_SERIES = (
    Series("stemsite results page", ("search", "page"), "#0072B2", "", "circle"),
    Series("SQLite FTS5 (bm25 + snippet + facets)", ("search", "fts5"), "#009E73", "7 4", "square"),
    Series(
        "naive Whoosh (query + facets + highlights)",
        ("search", "naive_full"),
        "#D55E00",
        "2 4",
        "triangle",
    ),
    Series("stemsite on PostgreSQL", ("postgres", "search", "page"), "#CC79A7", "", "diamond"),
)

WIDTH = 560
PLOT_LEFT, PLOT_RIGHT = 72, WIDTH - 20
PLOT_TOP, PLOT_HEIGHT = 70, 270
PLOT_BOTTOM = PLOT_TOP + PLOT_HEIGHT
X_INSET = 28  # keeps the first and last size's markers off the plot's edges
LEGEND_TOP = PLOT_BOTTOM + 78
LEGEND_ROW = 24
FONT = "sans-serif"
INK, GRID, MUTED = "#222222", "#dddddd", "#555555"


def _number(value: float) -> str:
    """A tick label: 1,000 / 50 / 2.5 / 0.2."""
    if value >= 1:
        return f"{value:,.0f}" if value == round(value) else f"{value:,.1f}"
    return f"{value:.3g}"


def _log_ticks(low: float, high: float) -> list[float]:
    """Round values (1, 2, 5 times a power of ten; only powers of ten past three
    decades) from the largest one at or below `low` to the smallest at or above `high`,
    at least three of them."""
    decades = math.log10(high) - math.log10(low)
    mantissas = (1,) if decades > 3 else (1, 2, 5)
    first, last = math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1
    candidates = [m * 10.0**e for e in range(first, last + 1) for m in mantissas]
    start = max(i for i, c in enumerate(candidates) if c <= low * (1 + 1e-9))
    end = min(i for i, c in enumerate(candidates) if c >= high * (1 - 1e-9))
    if end - start < 2:  # one value, or two close ones: a tick either side
        start, end = max(start - 1, 0), min(end + 1, len(candidates) - 1)
    return candidates[start : end + 1]


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    """Where `value` falls between `start` and `end` on a log scale from `low` to `high`."""
    if high <= low:
        return (start + end) / 2
    fraction = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
    return start + fraction * (end - start)


def _marker(shape: str, x: float, y: float, colour: str, tooltip: str) -> str:
    r = 5.5
    style = f'class="marker" fill="{colour}" stroke="#ffffff" stroke-width="1"'
    tip = f"<title>{escape(tooltip)}</title>"
    if shape == "square":
        return f'<rect {style} x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}">{tip}</rect>'
    if shape in ("triangle", "diamond"):
        corners = (
            [(x, y - r * 1.3), (x + r * 1.2, y + r * 0.9), (x - r * 1.2, y + r * 0.9)]
            if shape == "triangle"
            else [(x, y - r * 1.4), (x + r * 1.2, y), (x, y + r * 1.4), (x - r * 1.2, y)]
        )
        points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in corners)
        return f'<polygon {style} points="{points}">{tip}</polygon>'
    return f'<circle {style} cx="{x:.1f}" cy="{y:.1f}" r="{r}">{tip}</circle>'


def _text(
    x: float, y: float, content: str, size: int = 14, fill: str = INK, **attributes: str
) -> str:
    """A <text> element; `text_anchor="end"` becomes the attribute text-anchor="end"."""
    extra = "".join(f" {name.replace('_', '-')}={quoteattr(v)}" for name, v in attributes.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}"{extra}>'
        f"{escape(content)}</text>"
    )


def search_chart(analysed: dict[int, dict]) -> str:
    """SVG text: p95 of the search results page (ms) against library size (articles).

    One line with point markers per series that was measured at one size at least;
    sizes where a series was not measured are skipped, series measured nowhere are left
    out of the chart and its legend.
    """
    sizes = sorted(analysed)
    points = {
        series: [(size, series.p95_ms(analysed[size])) for size in sizes]
        for series in SEARCH_SERIES
    }
    plotted = {
        series: [(size, value) for size, value in values if value is not None]
        for series, values in points.items()
    }
    plotted = {series: values for series, values in plotted.items() if values}
    x_sizes = sorted({size for values in plotted.values() for size, _ in values}) or sizes
    height = LEGEND_TOP + LEGEND_ROW * max(len(plotted), 1) + 6
    title = "Search results page: p95 against library size"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-labelledby="chart-title" '
        f'font-family="{FONT}">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(WIDTH / 2, 26, title, 18, text_anchor="middle", font_weight="bold"),
        _text(
            WIDTH / 2,
            48,
            "each request cold, over the benchmark's fixed queries; lower is better",
            14,
            text_anchor="middle",
            fill=MUTED,
        ),
    ]
    values_ms = [value for values in plotted.values() for _, value in values]
    x_low, x_high = (min(x_sizes), max(x_sizes)) if x_sizes else (1, 1)

    def x_of(size: int) -> float:
        return _scale(size, x_low, x_high, PLOT_LEFT + X_INSET, PLOT_RIGHT - X_INSET)

    # The y axis: gridlines and labels at round values.
    if values_ms:
        ticks = _log_ticks(min(values_ms), max(values_ms))
        y_low, y_high = ticks[0], ticks[-1]
    else:
        ticks, y_low, y_high = [], 1.0, 1.0

    def y_of(value_ms: float) -> float:
        return _scale(value_ms, y_low, y_high, PLOT_BOTTOM, PLOT_TOP)

    out.append('<g class="y-axis">')
    for tick in ticks:
        y = y_of(tick)
        out.append(
            f'<line x1="{PLOT_LEFT}" y1="{y:.1f}" x2="{PLOT_RIGHT}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(PLOT_LEFT - 8, y + 5, _number(tick), 15, text_anchor="end"))
    out.append("</g>")
    mid_y = (PLOT_TOP + PLOT_BOTTOM) / 2
    out.append(
        _text(
            18,
            mid_y,
            "p95, ms (log scale)",
            15,
            text_anchor="middle",
            transform=f"rotate(-90 18 {mid_y:.1f})",
        )
    )
    # The x axis: a tick at every measured size.
    out.append('<g class="x-axis">')
    out.append(
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    for size in x_sizes:
        x = x_of(size)
        out.append(
            f'<line x1="{x:.1f}" y1="{PLOT_BOTTOM}" x2="{x:.1f}" y2="{PLOT_BOTTOM + 6}" '
            f'stroke="{INK}" stroke-width="1"/>'
        )
        out.append(_text(x, PLOT_BOTTOM + 24, f"{size:,}", 15, text_anchor="middle"))
    out.append("</g>")
    out.append(
        f'<line x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{PLOT_LEFT}" y2="{PLOT_BOTTOM}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    out.append(
        _text(
            (PLOT_LEFT + PLOT_RIGHT) / 2,
            PLOT_BOTTOM + 50,
            "library size, articles (log scale)",
            15,
            text_anchor="middle",
        )
    )
    if not plotted:
        out.append(
            _text(
                (PLOT_LEFT + PLOT_RIGHT) / 2,
                mid_y,
                "no search measurements in this run",
                15,
                text_anchor="middle",
                fill=MUTED,
            )
        )
    # The series, then the legend in the same order.
    for series, values in plotted.items():
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        coordinates = " ".join(f"{x_of(size):.1f},{y_of(value):.1f}" for size, value in values)
        out.append(f'<g class="series" data-label={quoteattr(series.label)}>')
        out.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{series.colour}" '
            f'stroke-width="2.5" stroke-linejoin="round"{dash}/>'
        )
        for size, value in values:
            tooltip = f"{series.label} at {size:,} articles: p95 {value:,.1f} ms"
            out.append(_marker(series.marker, x_of(size), y_of(value), series.colour, tooltip))
        out.append("</g>")
    out.append('<g class="legend">')
    for row, series in enumerate(plotted):
        y = LEGEND_TOP + row * LEGEND_ROW
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        out.append(
            f'<line x1="{PLOT_LEFT}" y1="{y:.1f}" x2="{PLOT_LEFT + 40}" y2="{y:.1f}" '
            f'stroke="{series.colour}" stroke-width="2.5"{dash}/>'
        )
        out.append(_marker(series.marker, PLOT_LEFT + 20, y, series.colour, series.label))
        out.append(_text(PLOT_LEFT + 52, y + 5, series.label, 15))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- The growth table ----------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    label: str
    value: Callable[[dict], float | None]  # from one size's summary
    shown: Callable[[float], str]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _p95(*keys: str) -> Callable[[dict], float | None]:
    return lambda res: _dig(res, *keys, "p95")


GROWTH_MEASUREMENTS = (
    Measurement("search results page p95 (cold)", _p95("search", "page"), _ms),
    Measurement("search API p95 (cold)", _p95("search", "api"), _ms),
    Measurement("SQLite FTS5 p95 (baseline)", _p95("search", "fts5"), _ms),
    Measurement("naive Whoosh p95 (baseline)", _p95("search", "naive_full"), _ms),
    Measurement("PostgreSQL results page p95", _p95("postgres", "search", "page"), _ms),
    Measurement(
        "rebuild_index docs/s (median)",
        lambda res: _per_second(res, "rebuild", "docs"),
        lambda v: f"{v:,.0f} docs/s",
    ),
    Measurement(
        "rebuild_index peak RSS",
        lambda res: _dig(res, "rebuild", "rss_mb"),
        lambda v: f"{v:,.0f} MB",
    ),
    Measurement("save → searchable p95", _p95("incremental", "save_to_searchable"), _ms),
    Measurement("browse worst p95", _browse_worst_p95, _ms),
    Measurement(
        "loaddata articles/s (median)",
        lambda res: _per_second(res, "loaddata", "articles"),
        lambda v: f"{v:,.0f} articles/s",
    ),
)


def growth_table(analysed: dict[int, dict]) -> list[str]:
    """A Markdown table: one row per measurement, one column per size, and the growth
    (value at the largest size ÷ value at the smallest, "-" if either is missing).

    For times a growth above 1x means slower; for rates (docs/s, articles/s) below 1x
    does. Measurements taken at no size (PostgreSQL when it is not installed) are left
    out.
    """
    sizes = sorted(analysed)
    lines = [
        "| measurement | " + " | ".join(f"{size:,}" for size in sizes) + " | growth |",
        "|---|" + "---:|" * (len(sizes) + 1),
    ]
    for measurement in GROWTH_MEASUREMENTS:
        values = [measurement.value(analysed[size]) for size in sizes]
        if all(value is None for value in values):
            continue
        cells = ["-" if value is None else measurement.shown(value) for value in values]
        first, last = values[0], values[-1]
        growth = f"{last / first:.1f}x" if first and last and len(sizes) > 1 else "-"
        lines.append(f"| {measurement.label} | {' | '.join(cells)} | {growth} |")
    return lines
