"""The page: what one browser session shows, built from the releases app_hooks loaded once.

The page stretches to the window's width (no sideways scrolling at 1366 or 1920 pixels) and the map
keeps its proportions as it grows or shrinks. A comparison puts the second map beside the first, on
the same axes (pan and zoom move both) and the same width scale, and opens the table of differences.

`build` is also run once when the server starts (app_hooks), on a throwaway document, so that the first
visitor does not pay for first-time imports and caches."""

import html

from bokeh.document import Document
from bokeh.events import DocumentReady
from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    ColumnDataSource,
    CustomJS,
    Div,
    RadioButtonGroup,
    Select,
    Slider,
    TabPanel,
    Tabs,
    Toggle,
)

from viewer import figures, state
from viewer.animation import EXPORT_CSV, SEEK, animation_callback
from viewer.callbacks import Session, compare_options, dot_columns, empty_dot_columns, filter_options
from viewer.data import ALL, stage_labels, view_tables

CSS = """<style>
.fd-header{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c}.fd-header h1{font-size:20px;margin:0}
.fd-notice{background:#fff7bf;border-left:6px solid #f47738;padding:4px 8px;font-size:14px;margin:4px 0}
.fd-notice.fd-aggregate{background:#e8f1f8;border-left-color:#1d70b8}
.fd-clock{font:bold 20px Arial,Helvetica,sans-serif}.fd-legend{font:14px Arial,Helvetica,sans-serif}
.fd-key{margin-right:10px;white-space:nowrap}.fd-error{font:16px Arial;border-left:6px solid #d4351c;padding:8px}
</style>"""
TITLE_STYLE = {"font-family": "Arial,Helvetica,sans-serif", "font-size": "15px", "font-weight": "bold",
               "color": "#0b0c0c"}
NOTE_STYLE = {"font-family": "Arial,Helvetica,sans-serif", "font-size": "13px", "color": "#505a5f"}
SHARE_NOTE = ("Routes: width = children; label = share of the moves out of the stage · median days (subway "
              "map: median / mean days). * share of published routes only (some routes out of that stage are "
              "withheld).")


def build(doc: Document) -> None:
    doc.title = "Frontdoor: journeys through the front door"

    if state.ERRORS or not state.RELEASES:
        message = state.ERRORS[0] if state.ERRORS else "no release is loaded."
        doc.add_root(Div(text=CSS + f"<div class='fd-error' role='alert'><h1>The map cannot be shown</h1>"
                              f"<p>{html.escape(message)}</p></div>", name="error"))
        return
    release = next(iter(state.RELEASES.values()))
    labels = stage_labels(release.map)
    nodes, edges = view_tables(release.map, ALL, release.layout)
    anim = _animation_widgets(release) if release.animated else None
    map_fig, nsrc, esrc = figures.map_figure(nodes, edges, release.layout, 1.0, labels, anim and anim["dots"],
                                             anim and anim["mapper"], name="map")
    map_title = Div(text="", name="map_title", styles=TITLE_STYLE, sizing_mode="stretch_width")
    stats = Div(text=figures.stats_html(None, nodes, edges, labels), width=320, name="stats")
    filt = Select(title="Show (filter)", value=ALL, options=filter_options(release), name="filter", width=210)
    compare = Select(title="Compare with", value="off", options=compare_options(release, state.RELEASES),
                     name="compare", width=250)
    journeys = ColumnDataSource(figures.journeys_table_data(release.views[ALL], labels), name="journeys")
    routes = ColumnDataSource(figures.routes_table_data(edges, labels), name="routes")
    journey_cols = [("path", "Journey"), ("children", "Children"), ("share", "Share")]
    route_cols = [("from", "From"), ("to", "To"), ("children", "Children"), ("share", "Share of moves out"),
                  ("median", "Median days"), ("iqr", "P25-P75"), ("mean", "Mean days")]
    journeys_table = figures.table(journeys, journey_cols, "journeys_table", width=760)
    routes_table = figures.table(routes, route_cols, "routes_table", width=760)
    export_routes = _export_button("Download routes table (CSV)", routes, route_cols, "routes.csv", "export_routes")
    export_journeys = _export_button("Download journeys table (CSV)", journeys, journey_cols, "journeys.csv",
                                     "export_journeys")
    mode = RadioButtonGroup(labels=["Animated dots", "Subway map"], active=0, name="view_mode", width=320)
    stats_column = column(mode, stats, Div(text=SHARE_NOTE, width=320, styles=NOTE_STYLE), name="stats_column")
    map_column = column(map_title, map_fig, sizing_mode="stretch_width", name="map_column")
    maps = row(map_column, stats_column, sizing_mode="stretch_width", name="maps")
    tabs = Tabs(tabs=[TabPanel(child=column(journeys_table, export_journeys), title="Top journeys"),
                      TabPanel(child=column(routes_table, export_routes), title="Routes (table view of the map)")],
                name="tabs")
    widgets = {"map": map_fig, "map_title": map_title, "nodes": nsrc, "edges": esrc, "routes": routes,
               "routes_table": routes_table, "journeys": journeys, "journeys_table": journeys_table, "stats": stats,
               "stats_column": stats_column, "maps": maps, "tabs": tabs,
               "make_comparison": lambda: comparison_widgets(release, map_fig, nodes, edges, labels, anim)}
    if anim:
        widgets.update(dots=anim["dots"], legend=anim["legend"], mapper=anim["mapper"], journeys_src=anim["journeys"],
                       play=anim["play"], dots_b=anim["dots_b"], segments_b=anim["segments_b"],
                       journeys_b=anim["journeys_b"])
    session = Session(release, state.RELEASES, widgets)
    session.recolour()
    session.refresh_map()
    mode.on_change("active", session.on_mode)
    filt.on_change("value", session.on_filter)
    compare.on_change("value", session.on_compare)
    nsrc.selected.on_change("indices", session.on_stage)
    journeys.selected.on_change("indices", session.on_journey)
    header = Div(text=CSS + f"<div class='fd-header'><h1>Journeys through the front door: "
                 f"{html.escape(release.title)}</h1>{figures.notice_html(release)}</div>", name="header",
                 sizing_mode="stretch_width")
    # The comparison's map and table are built and join the page when a comparison is first chosen
    # (callbacks.Session); built hidden up front, they cost every visitor about 0.4 s before the first paint.
    if anim:  # a synthetic release: its children are the dots
        anim["classify"].on_change("value", session.on_classification)
        body = [row(anim["classify"], filt, compare, *anim["controls"]), maps, anim["legend"]]
    else:  # an aggregate release: the map from map.json, no dots and no animation controls
        body = [row(filt, compare), maps]
    page = column(header, *body, tabs, name="page", sizing_mode="stretch_width")
    session.w["page"] = page
    doc.add_root(page)
    if anim:
        anim["start"].args.update(
            html_labels=[map_fig.select_one({"name": f"map_{k}_labels"}) for k in ("route", "stage")],
            canvas_labels=[map_fig.select_one({"name": f"map_{k}_labels_canvas"}) for k in ("route", "stage")])
        # Sources only the browser loop reads are roots (drawn as nothing), so that the server's changes
        # to them (a new colour or filter, the second map's dots) reach the browser, and the loop and the
        # second map (made later) share one model of each.
        for source in ("journeys", "journeys_b", "segments_b", "dots_b"):
            doc.add_root(anim[source])
        doc.js_on_event(DocumentReady, anim["start"])


def _export_button(label: str, source, columns, filename: str, name: str) -> Button:
    button = Button(label=label, width=240, name=name)
    button.js_on_event("button_click", CustomJS(args=dict(source=source, filename=filename,
                                                          columns=[list(c) for c in columns]), code=EXPORT_CSV))
    return button


def _animation_widgets(release) -> dict:
    """The dots of a synthetic release, and what plays them: play/pause, speed, time, clock, colour and legend."""
    dot_cols, seg_cols, journey_cols = dot_columns(release)
    dots = ColumnDataSource(dot_cols, name="dots")
    segments = ColumnDataSource(seg_cols, name="segments")
    journeys = ColumnDataSource(journey_cols, name="dot_journeys")
    mapper = figures.dot_colour_mapper({"1": "#ffffff"})
    legend = Div(text="", name="legend", sizing_mode="stretch_width")
    clock_src = ColumnDataSource({"t": [0.0]}, name="clock_src")
    clock = Div(text="", width=110, name="clock", margin=(22, 5, 5, 5))
    play = Toggle(label="Play / pause", active=False, button_type="success", width=110, name="play",
                  margin=(24, 5, 5, 5))
    speed = Slider(title="Speed (days a second)", start=5, end=200, value=60, step=5, width=150, name="speed")
    time = Slider(title="Day of the window", start=0, end=int(release.window_days), value=0, step=1, width=190,
                  name="time")
    time.js_on_change("value", CustomJS(args=dict(clock_src=clock_src), code=SEEK))
    classes = [c for c in release.classifications if c in release.journeys.columns]
    classify = Select(title="Colour dots by", value="repeat", name="classification", width=170,
                      options=[(c, release.classifications[c]["label"]) for c in classes])
    start_ms = release.window_start.value / 1e6
    # The second map's dots: empty until a comparison fills them (viewer.callbacks), on the same clock.
    empty_dots, empty_segments, empty_journeys = empty_dot_columns()
    dots_b = ColumnDataSource(empty_dots, name="dots_b")
    segments_b = ColumnDataSource(empty_segments, name="segments_b")
    journeys_b = ColumnDataSource(empty_journeys, name="dot_journeys_b")
    layers = [(dots, segments, journeys), (dots_b, segments_b, journeys_b)]
    return {"dots": dots, "journeys": journeys, "mapper": mapper, "play": play, "legend": legend, "classify": classify,
            "dots_b": dots_b, "segments_b": segments_b, "journeys_b": journeys_b,
            "controls": [play, speed, time, clock],
            "start": animation_callback(layers, clock, clock_src, play, speed, time, start_ms, release.window_days,
                                        [], [], mapper)}


def comparison_widgets(release, map_a, nodes, edges, labels, anim: dict | None = None) -> dict:
    """The second map (on the first map's axes, so pan and zoom move both, with its own dots on the first map's
    clock) and the table of differences."""
    map_b, nsrc_b, esrc_b = figures.map_figure(nodes, edges, release.layout, 1.0, labels,
                                               anim and anim["dots_b"], anim and anim["mapper"], name="map_b",
                                               x_range=map_a.x_range, y_range=map_a.y_range)
    title_b = Div(text="", name="map_b_title", styles=TITLE_STYLE, sizing_mode="stretch_width")
    diff = ColumnDataSource({"route": [], "share_a": [], "share_b": [], "difference": []}, name="diff")
    diff_cols = [("route", "Route"), ("share_a", "Share, left map"), ("share_b", "Share, right map"),
                 ("difference", "Difference (pp)")]
    diff_table = figures.table(diff, diff_cols, "diff_table", width=760)
    caption = Div(text="", name="diff_caption", sizing_mode="stretch_width")
    export = _export_button("Download differences (CSV)", diff, diff_cols, "differences.csv", "export_diff")
    return {"map_b": map_b, "map_b_title": title_b, "nodes_b": nsrc_b, "edges_b": esrc_b, "diff": diff,
            "diff_table": diff_table, "diff_caption": caption,
            "diff_tab": TabPanel(child=column(caption, diff_table, export), title="Differences (percentage points)"),
            "compare_panel": column(title_b, map_b, sizing_mode="stretch_width", name="compare_panel")}
