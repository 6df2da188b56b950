"""The page: what one browser session shows, built from the releases app_hooks loaded once.

`build` is also run once when the server starts (app_hooks), on a throwaway document, so that the first
visitor does not pay for first-time imports and caches."""

import html

from bokeh.document import Document
from bokeh.events import DocumentReady
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, CustomJS, Div, Select, Slider, TabPanel, Tabs, Toggle

from viewer import figures, state
from viewer.animation import EXPORT_CSV, SEEK, animation_callback
from viewer.callbacks import Session, compare_options, dot_columns, filter_options
from viewer.data import ALL, view_tables

CSS = """<style>
.fd-header{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c}.fd-header h1{font-size:22px;margin:4px 0}
.fd-notice{background:#fff7bf;border-left:6px solid #f47738;padding:4px 8px;font-size:14px}
.fd-notice.fd-aggregate{background:#e8f1f8;border-left-color:#1d70b8}
.fd-clock{font:bold 20px Arial,Helvetica,sans-serif}.fd-legend{font:14px Arial,Helvetica,sans-serif}
.fd-key{margin-right:10px;white-space:nowrap}.fd-error{font:16px Arial;border-left:6px solid #d4351c;padding:8px}
</style>"""


def build(doc: Document) -> None:
    doc.title = "Frontdoor: journeys through the front door"

    if state.ERRORS or not state.RELEASES:
        message = state.ERRORS[0] if state.ERRORS else "no release is loaded."
        doc.add_root(Div(text=CSS + f"<div class='fd-error' role='alert'><h1>The map cannot be shown</h1>"
                              f"<p>{html.escape(message)}</p></div>", name="error"))
        return
    release = next(iter(state.RELEASES.values()))
    nodes, edges = view_tables(release.map, ALL)
    anim = _animation_widgets(release) if release.animated else None
    map_fig, nsrc, esrc = figures.map_figure(nodes, edges, release.title, 1.0, anim and anim["dots"], name="map")
    stats = Div(text=figures.stats_html(None, nodes, edges), width=330, name="stats")
    filt = Select(title="Show (filter)", value=ALL, options=filter_options(release), name="filter")
    compare = Select(title="Compare with", value="off", options=compare_options(release, state.RELEASES),
                     name="compare")
    journeys = ColumnDataSource(figures.journeys_table_data(release.views[ALL]), name="journeys")
    routes = ColumnDataSource(figures.routes_table_data(edges), name="routes")
    journeys_table = figures.table(journeys, [("path", "Journey"), ("children", "Children"), ("share", "Share")],
                                   "journeys_table")
    routes_table = figures.table(routes, [("from", "From"), ("to", "To"), ("children", "Children"),
                                          ("share", "Share out"), ("median", "Median days"), ("iqr", "P25-P75")],
                                 "routes_table")
    export_routes = Button(label="Download routes table (CSV)", width=220, name="export_routes")
    export_routes.js_on_event("button_click", CustomJS(args=dict(source=routes, filename="routes.csv"),
                                                       code=EXPORT_CSV))
    export_journeys = Button(label="Download journeys table (CSV)", width=220, name="export_journeys")
    export_journeys.js_on_event("button_click", CustomJS(args=dict(source=journeys, filename="journeys.csv"),
                                                         code=EXPORT_CSV))
    widgets = {"map": map_fig, "nodes": nsrc, "edges": esrc, "routes": routes, "journeys": journeys, "stats": stats,
               "make_comparison": lambda: comparison_widgets(nodes, edges)}
    if anim:
        widgets.update(dots=anim["dots"], legend=anim["legend"])
    session = Session(release, state.RELEASES, widgets)
    session.recolour()
    session.refresh_map()
    filt.on_change("value", session.on_filter)
    compare.on_change("value", session.on_compare)
    nsrc.selected.on_change("indices", session.on_stage)
    journeys.selected.on_change("indices", session.on_journey)
    header = Div(text=CSS + f"<div class='fd-header'><h1>Journeys through the front door: "
                 f"{html.escape(release.title)}</h1>{figures.notice_html(release)}</div>", width=1300, name="header")
    tabs = Tabs(tabs=[TabPanel(child=column(journeys_table, export_journeys), title="Top journeys"),
                      TabPanel(child=column(routes_table, export_routes), title="Routes (table view of the map)")])
    # The comparison panel is built and joins the page when a comparison is first chosen
    # (callbacks.Session); built hidden up front, it cost every visitor about 0.4 s before the first paint.
    if anim:  # a synthetic release: its children are the dots
        anim["classify"].on_change("value", session.on_classification)
        body = [row(anim["classify"], filt, compare), anim["controls"], row(map_fig, column(stats)), anim["legend"]]
    else:  # an aggregate release: the map from map.json, no dots and no animation controls
        body = [row(filt, compare), row(map_fig, column(stats))]
    page = column(header, *body, row(tabs), name="page")
    session.w["page"] = page
    doc.add_root(page)
    if anim:
        doc.js_on_event(DocumentReady, anim["start"])


def _animation_widgets(release) -> dict:
    """The dots of a synthetic release, and what plays them: play/pause, speed, time, clock, colour and legend."""
    dot_cols, seg_cols = dot_columns(release)
    dots = ColumnDataSource(dot_cols, name="dots")
    segments = ColumnDataSource(seg_cols, name="segments")
    legend = Div(text="", width=900, name="legend")
    clock_src = ColumnDataSource({"t": [0.0]}, name="clock_src")
    clock = Div(text="", width=160, name="clock")
    play = Toggle(label="Play / pause animation", active=False, button_type="success", width=190, name="play")
    speed = Slider(title="Speed (days per second)", start=5, end=200, value=60, step=5, width=220, name="speed")
    time = Slider(title="Time (days since the window began)", start=0, end=int(release.window_days), value=0,
                  step=1, width=320, name="time")
    time.js_on_change("value", CustomJS(args=dict(clock_src=clock_src), code=SEEK))
    classes = [c for c in release.classifications if c in release.dots.columns]
    classify = Select(title="Colour dots by", value="repeat", name="classification",
                      options=[(c, release.classifications[c]["label"]) for c in classes])
    start_ms = release.window_start.value / 1e6
    return {"dots": dots, "legend": legend, "classify": classify, "controls": row(play, speed, time, clock),
            "start": animation_callback(dots, segments, clock, clock_src, play, speed, start_ms, release.window_days)}


def comparison_widgets(nodes, edges) -> dict:
    """The second map and the table of differences in route shares, on the first map's layout."""
    map_b, nsrc_b, esrc_b = figures.map_figure(nodes, edges, "Comparison", 1.0, None, name="map_b")
    diff = ColumnDataSource({"route": [], "share_a": [], "share_b": [], "difference": []}, name="diff")
    diff_table = figures.table(diff, [("route", "Route"), ("share_a", "Share (left map)"),
                                      ("share_b", "Share (right map)"), ("difference", "Difference")], "diff_table",
                               width=520)
    return {"map_b": map_b, "nodes_b": nsrc_b, "edges_b": esrc_b, "diff": diff,
            "compare_panel": row(map_b, diff_table, name="compare_panel")}
