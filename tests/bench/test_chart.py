"""The benchmark's chart and growth table, checked on summaries made by `analyse()` from
small synthetic raw results, so the keys are the ones a real `make bench` run produces.

Every sample of a measurement has the same value here, so its median and p95 are that
value and the expected figures can be written down exactly. Pure and fast: no database,
no child processes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.bench.chart import growth_table, search_chart
from tests.bench.run import analyse

SVG = "{http://www.w3.org/2000/svg}"
SIZES = (1000, 10000, 50000)
PAGE_LABEL = "stemsite results page"
FTS5_LABEL = "SQLite FTS5 (bm25 + snippet + facets)"
WHOOSH_LABEL = "naive Whoosh (query + facets + highlights)"
POSTGRES_LABEL = "stemsite on PostgreSQL"


def raw_search(seconds_by_method: dict[str, float]) -> dict:
    """The search worker's result: two queries, three timings each per method."""
    queries = {
        text: {
            "kind": kind,
            "times": {m: [s] * 3 for m, s in seconds_by_method.items()},
            "cpu_times": {m: [s] * 3 for m, s in seconds_by_method.items()},
            "page_sql_queries": 4,
        }
        for kind, text in (("common", "diabetes"), ("questions", "is asthma curable"))
    }
    return {"queries": queries, "page_warm": [], "site_error": None, "reps": 3}


def raw_rebuild(docs: int, seconds: float, rss_mb: float) -> list[dict]:
    run = {
        "docs": docs,
        "seconds": seconds,
        "cpu_seconds": seconds,
        "tree_peak_rss_mb": rss_mb,
        "self_maxrss_mb": 1.0,
        "children_maxrss_mb": 1.0,
        "segments": {"articles": 1},
    }
    return [run, dict(run)]


def raw_incremental(seconds: float) -> dict:
    return {
        "save_to_searchable": [seconds] * 5,
        "save_and_commit": [seconds / 2] * 5,
        "segments_before": {"articles": 1},
        "segments_after": {"articles": 3},
    }


def raw_size(
    size: int,
    *,
    page: float,
    api: float,
    fts5: float | None,
    whoosh: float,
    postgres_page: float | None = None,
    rebuild_seconds: float = 1.0,
    rss_mb: float = 100.0,
    save: float = 0.05,
    browse: tuple[float, ...] = (0.01, 0.02),
    loaddata_seconds: float = 5.0,
) -> dict:
    """One size's raw result, as `bench_size` stores it (times in seconds)."""
    methods = {"page": page, "api": api, "naive_full": whoosh}
    if fts5 is not None:
        methods["fts5"] = fts5
    result = {
        "size": size,
        "errors": {},
        "load": {},
        "rebuild": raw_rebuild(size, rebuild_seconds, rss_mb),
        "search": raw_search(methods),
        "browse": {
            "pages": {
                # The floor is the slowest here on purpose: it is no browse page.
                "floor /healthz/": {
                    "url": "/healthz/",
                    "times": [9.0],
                    "cpu_times": [9.0],
                    "sql_queries": [0],
                },
                **{
                    f"browse: page {n}": {
                        "url": f"/articles/?page={n}",
                        "times": [seconds] * 4,
                        "cpu_times": [seconds] * 4,
                        "sql_queries": [1],
                    }
                    for n, seconds in enumerate(browse, start=1)
                },
            }
        },
        "loaddata": [
            {
                "articles": 1000,
                "seconds": loaddata_seconds,
                "cpu_seconds": 1.0,
                "loaddata_returned": 1.0,
            }
        ],
        "incremental": raw_incremental(save),
    }
    if postgres_page is not None:
        result["postgres"] = {
            "rebuild": raw_rebuild(size, rebuild_seconds * 2, rss_mb),
            "search": raw_search({"page": postgres_page, "api": postgres_page}),
            "incremental": raw_incremental(save * 2),
        }
    return result


def three_sizes(with_postgres: bool = True, fts5_at: tuple[int, ...] = SIZES) -> dict[int, dict]:
    """Summaries for 1,000 / 10,000 / 50,000 articles: the site's results page grows
    from 145 ms to 652 ms; FTS5 stays fastest and naive Whoosh slowest."""
    p95_by_size = {
        1000: {"page": 0.145, "api": 0.100, "fts5": 0.004, "whoosh": 0.300, "postgres": 0.120},
        10000: {"page": 0.300, "api": 0.200, "fts5": 0.010, "whoosh": 0.900, "postgres": 0.250},
        50000: {"page": 0.652, "api": 0.400, "fts5": 0.030, "whoosh": 2.500, "postgres": 0.500},
    }
    return {
        size: analyse(
            raw_size(
                size,
                page=p95["page"],
                api=p95["api"],
                fts5=p95["fts5"] if size in fts5_at else None,
                whoosh=p95["whoosh"],
                postgres_page=p95["postgres"] if with_postgres else None,
                rebuild_seconds=size / 1000,  # 1,000 docs/s at every size
                rss_mb={1000: 100.0, 10000: 150.0, 50000: 300.0}[size],
                browse={1000: (0.010, 0.020), 10000: (0.015, 0.030), 50000: (0.020, 0.080)}[size],
            )
        )
        for size, p95 in p95_by_size.items()
    }


def series_points(svg: str) -> dict[str, list[tuple[float, float]]]:
    """Each drawn series' polyline points, by its label."""
    root = ET.fromstring(svg)
    drawn = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") != "series":
            continue
        lines = group.findall(f"{SVG}polyline")
        assert len(lines) == 1, group.get("data-label")
        drawn[group.get("data-label")] = [
            tuple(float(c) for c in pair.split(",")) for pair in lines[0].get("points").split()
        ]
    return drawn


def legend_labels(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    return [text.text for text in legend.iter(f"{SVG}text")]


# --- The chart -----------------------------------------------------------------------


def test_chart_is_svg_that_scales_with_the_page_and_uses_a_generic_font():
    root = ET.fromstring(search_chart(three_sizes()))

    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox").split()[:2] == ["0", "0"]
    assert root.get("font-family") == "sans-serif"
    assert root.find(f"{SVG}title").text.startswith("Search results page: p95")


def test_chart_draws_one_line_per_series_with_a_point_per_size():
    drawn = series_points(search_chart(three_sizes()))

    assert set(drawn) == {PAGE_LABEL, FTS5_LABEL, WHOOSH_LABEL, POSTGRES_LABEL}
    assert all(len(points) == 3 for points in drawn.values())


def test_chart_puts_one_marker_on_every_point():
    root = ET.fromstring(search_chart(three_sizes()))

    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "series":
            markers = [e for e in group if e.get("class") == "marker"]
            assert len(markers) == 3


def test_chart_orders_points_by_size_from_left_to_right_on_a_shared_x_axis():
    drawn = series_points(search_chart(three_sizes()))

    xs = [x for x, _ in drawn[PAGE_LABEL]]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert all([x for x, _ in points] == xs for points in drawn.values())


def test_chart_draws_a_higher_p95_higher_up():
    drawn = series_points(search_chart(three_sizes()))

    for size_index in range(3):
        y = {label: points[size_index][1] for label, points in drawn.items()}
        # naive Whoosh slowest, then the site's page, then PostgreSQL, FTS5 fastest
        assert y[WHOOSH_LABEL] < y[PAGE_LABEL] < y[POSTGRES_LABEL] < y[FTS5_LABEL]
    page_ys = [y for _, y in drawn[PAGE_LABEL]]
    assert page_ys == sorted(page_ys, reverse=True)  # growing p95 rises


def test_chart_labels_its_ticks_with_the_measured_sizes_and_titles_its_axes():
    root = ET.fromstring(search_chart(three_sizes()))
    texts = [t.text for t in root.iter(f"{SVG}text")]

    assert {"1,000", "10,000", "50,000"} <= set(texts)
    assert "library size, articles (log scale)" in texts
    assert "p95, ms (log scale)" in texts


def test_legend_names_every_series_drawn():
    labels = legend_labels(search_chart(three_sizes()))

    assert labels == [PAGE_LABEL, FTS5_LABEL, WHOOSH_LABEL, POSTGRES_LABEL]


def test_chart_leaves_out_a_series_that_was_not_measured():
    svg = search_chart(three_sizes(with_postgres=False))

    assert POSTGRES_LABEL not in series_points(svg)
    assert POSTGRES_LABEL not in legend_labels(svg)
    assert len(series_points(svg)) == 3


def test_chart_skips_the_sizes_where_a_series_was_not_measured():
    drawn = series_points(search_chart(three_sizes(fts5_at=(1000, 50000))))

    assert len(drawn[FTS5_LABEL]) == 2
    page_xs = [x for x, _ in drawn[PAGE_LABEL]]
    assert [x for x, _ in drawn[FTS5_LABEL]] == [page_xs[0], page_xs[2]]


def test_chart_of_one_size_draws_one_point_per_series():
    analysed = {1000: three_sizes()[1000]}

    drawn = series_points(search_chart(analysed))

    assert all(len(points) == 1 for points in drawn.values())
    assert len(drawn) == 4


def test_chart_without_search_figures_is_still_valid_svg_and_says_so():
    svg = search_chart({1000: {}})

    assert series_points(svg) == {}
    assert "no search measurements" in svg


# --- The growth table ----------------------------------------------------------------


def rows(lines: list[str]) -> dict[str, list[str]]:
    """The table's body as {measurement: [cells...]}."""
    body = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        body[cells[0]] = cells[1:]
    return body


def test_growth_table_has_a_column_per_size_and_a_growth_column():
    lines = growth_table(three_sizes())

    assert lines[0] == "| measurement | 1,000 | 10,000 | 50,000 | growth |"
    assert lines[1] == "|---|---:|---:|---:|---:|"
    assert all(line.count("|") == 6 for line in lines)


def test_growth_is_the_largest_size_over_the_smallest():
    table = rows(growth_table(three_sizes()))

    assert table["search results page p95 (cold)"] == ["145.0 ms", "300.0 ms", "652.0 ms", "4.5x"]
    assert table["search API p95 (cold)"][-1] == "4.0x"
    assert table["naive Whoosh p95 (baseline)"][-1] == "8.3x"
    assert table["PostgreSQL results page p95"][-1] == "4.2x"


def test_growth_table_has_a_row_per_measurement():
    table = rows(growth_table(three_sizes()))

    assert list(table) == [
        "search results page p95 (cold)",
        "search API p95 (cold)",
        "SQLite FTS5 p95 (baseline)",
        "naive Whoosh p95 (baseline)",
        "PostgreSQL results page p95",
        "rebuild_index docs/s (median)",
        "rebuild_index peak RSS",
        "save → searchable p95",
        "browse worst p95",
        "loaddata articles/s (median)",
    ]


def test_growth_table_gives_rates_memory_and_the_worst_browse_page():
    table = rows(growth_table(three_sizes()))

    assert table["rebuild_index docs/s (median)"] == [
        "1,000 docs/s",
        "1,000 docs/s",
        "1,000 docs/s",
        "1.0x",
    ]
    assert table["rebuild_index peak RSS"] == ["100 MB", "150 MB", "300 MB", "3.0x"]
    # the slowest browse page, not the /healthz/ floor
    assert table["browse worst p95"] == ["20.0 ms", "30.0 ms", "80.0 ms", "4.0x"]
    assert table["save → searchable p95"] == ["50.0 ms", "50.0 ms", "50.0 ms", "1.0x"]
    assert table["loaddata articles/s (median)"][0] == "200 articles/s"


def test_growth_table_leaves_out_what_no_size_measured():
    table = rows(growth_table(three_sizes(with_postgres=False)))

    assert "PostgreSQL results page p95" not in table


def test_growth_is_a_dash_when_the_smallest_or_largest_size_lacks_the_figure():
    table = rows(growth_table(three_sizes(fts5_at=(10000,))))

    assert table["SQLite FTS5 p95 (baseline)"] == ["-", "10.0 ms", "-", "-"]
