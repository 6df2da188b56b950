"""Pure builders: data frames in, Bokeh models or plain data out. No server state, no I/O.

Every figure a person reads on the map is HTML (the map's title, stage names, route labels): it is
what a screen reader and a browser test read, and it scales with the page's text."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
from bokeh.models import (
    BoxAnnotation,
    ColumnDataSource,
    DataTable,
    HoverTool,
    HTMLLabelSet,
    Label,
    LabelSet,
    LinearColorMapper,
    Range1d,
    TableColumn,
    TapTool,
)
from bokeh.plotting import figure

from viewer import map_labels
from viewer.data import AGGREGATE, UNKNOWN_COLOUR, control_point

SUPPRESSED = "suppressed"
WITHHELD = "withheld"
MAP_ASPECT = 2.3  # width / height: the layout's own proportions, so that curves keep their shape
MAX_EDGE_WIDTH = 18.0
MIN_LABEL_SHARE = 0.05  # routes taking less than this of their stage's moves carry no label (hover still shows)
PUBLISHED_NOTE = "of published routes"
# The animated dots (viewer.dot_painter draws the same while playing): diameter in px, alpha, outline.
DOT_SIZE, DOT_ALPHA, DOT_LINE, DOT_LINE_WIDTH = 6, 0.85, "#0b0c0c", 0.5


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_count(v) -> str:
    return SUPPRESSED if _missing(v) else f"{int(v):,}"


def fmt_share(v) -> str:
    return "-" if _missing(v) else f"{v:.0%}"


def fmt_days(median, p25, p75) -> tuple[str, str]:
    if _missing(median):
        return SUPPRESSED, SUPPRESSED
    return f"{int(median)}", f"{int(p25)}-{int(p75)}"


def fmt_mean(v) -> str:
    return SUPPRESSED if _missing(v) else f"{v:.1f}"


def fmt_pp(v) -> str:
    """A difference of two shares in percentage points: `+4.0 pp`, `-0.5 pp`."""
    return "-" if _missing(v) else f"{v:+.1f} pp"


def curve(x0: float, y0: float, x1: float, y1: float, n: int = 24) -> tuple[list, list]:
    """Points along the quadratic curve a route is drawn on (a small loop for a stage to itself);
    the dots travel along the same curve (viewer.data.control_point)."""
    if (x0, y0) == (x1, y1):
        t = np.linspace(0, 2 * np.pi, n)
        return list(x0 + 0.22 * np.sin(t)), list(y0 + 0.28 - 0.22 * np.cos(t))
    cx, cy = control_point(x0, y0, x1, y1)
    t = np.linspace(0.06, 0.94, n) if math.hypot(x1 - x0, y1 - y0) > 0.5 else np.linspace(0, 1, n)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
    return list(xs), list(ys)


def route_label(share, partial: bool, median, suppressed: bool) -> str:
    """What a route says on the map: its share of the moves out of its stage and its median days."""
    if suppressed:
        return WITHHELD
    if _missing(share) or share < MIN_LABEL_SHARE:
        return ""
    days = "" if _missing(median) else f" · {int(median)} d"
    return f"{share:.0%}{'*' if partial else ''}{days}"


def subway_label(share, median, mean, suppressed: bool) -> str:
    """What a line says in the subway view: median / mean days (its width is its children); small routes
    (under MIN_LABEL_SHARE of their stage's moves) carry no label, as on the animated map."""
    if suppressed:
        return WITHHELD
    if _missing(share) or share < MIN_LABEL_SHARE or _missing(median):
        return ""
    return f"{int(median)} / {'-' if _missing(mean) else f'{mean:.0f}'} d"


def edge_data(edges: pd.DataFrame, width_scale: float, xy: dict, labels: dict,
              highlight: set[tuple[str, str]] | None = None, layout: dict | None = None,
              width_px: float = map_labels.NOMINAL_WIDTH_PX) -> dict:
    """Columns for the edges' multi_line, arrowheads, labels and hover; `width_scale` is the largest count
    of the maps on screen, so that two maps side by side share one scale. With the `layout`, the route labels
    (animated map and subway view) are placed clear of stations, stage names and each other on a map `width_px`
    wide (viewer.map_labels)."""
    rows = {k: [] for k in ("xs", "ys", "source", "target", "children", "share", "median", "iqr", "mean", "width",
                            "colour", "dash", "ax", "ay", "angle", "lx", "ly", "text", "route", "sxs", "sys", "slx",
                            "sly", "stext")}
    for r in edges.itertuples(index=False):
        (x0, y0), (x1, y1) = xy[r.source], xy[r.target]
        xs, ys = curve(x0, y0, x1, y1)
        n = r.children
        width = 1.0 if n is None else 1.5 + (MAX_EDGE_WIDTH - 1.5) * math.sqrt(n / max(width_scale, 1))
        median, iqr = fmt_days(r.median_days, r.p25_days, r.p75_days)
        hot = highlight is not None and (r.source, r.target) in highlight
        partial = bool(getattr(r, "partial", False))
        rows["xs"].append(xs)
        rows["ys"].append(ys)
        rows["source"].append(labels.get(r.source, r.source))
        rows["target"].append(labels.get(r.target, r.target))
        rows["route"].append(f"{r.source}>{r.target}")
        rows["children"].append(fmt_count(n))
        rows["share"].append(fmt_share(r.share) + (f" {PUBLISHED_NOTE}" if partial and r.share is not None else ""))
        rows["median"].append(median)
        rows["iqr"].append(iqr)
        rows["mean"].append(fmt_mean(getattr(r, "mean_days", None)) if n is not None else SUPPRESSED)
        rows["width"].append(width)
        rows["colour"].append("#d4351c" if hot else ("#b1b4b6" if n is None else "#1d70b8"))
        rows["dash"].append("dashed" if n is None else "solid")
        k = max(len(xs) - 3, 1)
        rows["ax"].append(xs[k])
        rows["ay"].append(ys[k])
        rows["angle"].append(math.atan2(ys[k + 1] - ys[k - 1], xs[k + 1] - xs[k - 1]) - math.pi / 2 if len(xs) > 2
                             else 0.0)
        mid = len(xs) // 2
        rows["lx"].append(xs[mid])
        rows["ly"].append(ys[mid])
        rows["text"].append(route_label(r.share, partial, r.median_days, bool(r.suppressed)))
        # The subway view: a straight line from station to station, its durations as the label.
        rows["sxs"].append([x0, x1])
        rows["sys"].append([y0, y1])
        rows["slx"].append(x0 + (x1 - x0) * 0.5)
        rows["sly"].append(y0 + (y1 - y0) * 0.5)
        rows["stext"].append(subway_label(r.share, r.median_days, getattr(r, "mean_days", None),
                                          bool(r.suppressed)))
    if layout is not None:
        # withheld routes place their label first: it is the one a reader must not miss
        weights = [math.inf if bool(sup) else (n or 0) for sup, n in zip(edges["suppressed"], edges["children"])]
        for text_col, x_col, y_col, xs_col, ys_col in (("text", "lx", "ly", "xs", "ys"),
                                                       ("stext", "slx", "sly", "sxs", "sys")):
            routes = list(zip(rows[xs_col], rows[ys_col], rows[text_col], weights))
            placed = map_labels.place(routes, layout, width_px)
            rows[x_col], rows[y_col] = [p[0] for p in placed], [p[1] for p in placed]
            rows[text_col] = [text if shown else "" for text, (_, _, shown) in zip(rows[text_col], placed)]
    return rows


def node_data(nodes: pd.DataFrame, layout: dict) -> dict:
    st = layout["stages"]
    return {
        "x": nodes["x"].tolist(), "y": nodes["y"].tolist(), "stage": nodes["stage"].tolist(),
        "label": nodes["label"].tolist(), "short": [st[s].get("short", s) for s in nodes["stage"]],
        "label_y": [y - 0.3 if st[s].get("label_below") else y + 0.2 for s, y in zip(nodes["stage"], nodes["y"])],
        "anchor": ["top_center" if st[s].get("label_below") else "bottom_center" for s in nodes["stage"]],
        "children": [fmt_count(v) for v in nodes["children"]],
        "colour": ["#505a5f" if e else "#0b0c0c" for e in nodes["exit"]],
    }


def dot_colour_mapper(legend: dict) -> LinearColorMapper:
    """Colour index -> colour: index i is the legend's i-th value; -1 (a value it lacks) is grey."""
    palette = list(legend.values()) or [UNKNOWN_COLOUR]
    return LinearColorMapper(palette=palette, low=0, high=len(palette), low_color=UNKNOWN_COLOUR,
                             high_color=UNKNOWN_COLOUR, name="dot_colours")


def map_figure(nodes: pd.DataFrame, edges: pd.DataFrame, layout: dict, width_scale: float, labels: dict,
               dots: ColumnDataSource | None = None, mapper: LinearColorMapper | None = None, name: str = "map",
               x_range=None, y_range=None) -> tuple[figure, ColumnDataSource, ColumnDataSource]:
    """The information map: lanes, curved edges (width by children) with arrowheads and their figures,
    stage nodes, and (optionally) the animated dots. It keeps the layout's proportions at any width.
    Returns (figure, node source, edge source)."""
    x_range = x_range or Range1d(*layout["x_range"])
    y_range = y_range or Range1d(*layout["y_range"])
    p = figure(width=900, height=round(900 / MAP_ASPECT), sizing_mode="scale_width", x_range=x_range,
               y_range=y_range, tools="pan,wheel_zoom,reset,save,tap", toolbar_location="right", name=name,
               output_backend="canvas", min_border=4)
    p.axis.visible = False
    p.grid.visible = False
    p.background_fill_color = "#f3f2f1"
    for lane, spec in layout["lanes"].items():
        p.add_layout(BoxAnnotation(bottom=spec["bottom"], top=spec["top"],
                                   fill_color="#ffffff" if lane == "front_door" else "#e8f1f8", fill_alpha=0.6,
                                   line_alpha=0))
        p.add_layout(Label(x=layout["x_range"][0] + 0.15, y=spec["top"] - 0.3, text=spec["label"],
                           text_font_size="10pt", text_color="#505a5f"))
    xy = {s: (v["x"], v["y"]) for s, v in layout["stages"].items()}
    esrc = ColumnDataSource(edge_data(edges, width_scale, xy, labels, layout=layout), name=f"{name}_edges")
    lines = p.multi_line("xs", "ys", source=esrc, line_width="width", line_color="colour", line_dash="dash",
                         line_alpha=0.75, hover_line_alpha=1.0, name=f"{name}_routes")
    p.scatter("ax", "ay", source=esrc, marker="triangle", size=11, angle="angle", fill_color="colour",
              line_color="colour", name=f"{name}_arrows")
    nsrc = ColumnDataSource(node_data(nodes, layout), name=f"{name}_nodes")
    circles = p.scatter("x", "y", source=nsrc, size=24, fill_color="#ffffff", line_color="colour", line_width=2.5,
                        name=f"{name}_node_glyph")
    if dots is not None:
        p.scatter("x", "y", source=dots, size=DOT_SIZE, fill_color={"field": "cval", "transform": mapper},
                  fill_alpha="alpha", line_color=DOT_LINE, line_alpha="alpha", line_width=DOT_LINE_WIDTH,
                  name=f"{name}_dots")
    # Figures and names in HTML, over the dots: route share and median days, stage names.
    p.add_layout(HTMLLabelSet(x="lx", y="ly", text="text", source=esrc, text_align="center", text_baseline="middle",
                              text_font_size="9pt", text_color="#0b0c0c", background_fill_color="#ffffff",
                              background_fill_alpha=0.8, name=f"{name}_route_labels"))
    p.add_layout(HTMLLabelSet(x="x", y="label_y", text="short", source=nsrc, text_align="center",
                              text_baseline="middle", text_font_size="10pt", text_font_style="bold",
                              text_color="#0b0c0c", background_fill_color="#ffffff", background_fill_alpha=0.75,
                              name=f"{name}_stage_labels"))
    # The same labels on the canvas, shown instead while the dots play: HTML labels are placed again at every
    # frame, which cost about 15% of the frame rate at 5,000 dots (viewer.animation swaps them).
    p.add_layout(LabelSet(x="lx", y="ly", text="text", source=esrc, text_align="center", text_baseline="middle",
                          text_font_size="9pt", text_color="#0b0c0c", background_fill_color="#ffffff",
                          background_fill_alpha=0.8, name=f"{name}_route_labels_canvas", visible=False))
    p.add_layout(LabelSet(x="x", y="label_y", text="short", source=nsrc, text_align="center",
                          text_baseline="middle", text_font_size="10pt", text_font_style="bold",
                          text_color="#0b0c0c", background_fill_color="#ffffff", background_fill_alpha=0.75,
                          name=f"{name}_stage_labels_canvas", visible=False))
    p.add_tools(HoverTool(renderers=[lines], line_policy="interp", tooltips=[
        ("Route", "@source → @target"), ("Children", "@children"), ("Share of moves out", "@share"),
        ("Median days", "@median"), ("P25-P75 days", "@iqr"), ("Mean days", "@mean")]))
    p.add_tools(HoverTool(renderers=[circles], tooltips=[("Stage", "@label"), ("Children", "@children")]))
    p.select_one(TapTool).renderers = [circles]
    return p, nsrc, esrc


def stats_html(stage: str | None, nodes: pd.DataFrame, edges: pd.DataFrame, labels: dict) -> str:
    """Key statistics for the selected stage: children in, % by route out (of published routes when
    some are withheld), median and mean days."""
    if not stage:
        return "<h3>Key statistics</h3><p>Select a stage on the map to see its figures.</p>"
    node = nodes[nodes["stage"] == stage].iloc[0]
    out = edges[edges["source"] == stage]
    head = (f"<h3>{html.escape(node['label'])}</h3><p>Children in: <strong>{fmt_count(node['children'])}</strong>"
            "</p>")
    if out.empty:
        return head + "<p>No routes out (an exit).</p>"
    partial = any(v is True for v in out["suppressed"])
    rows = "".join(
        f"<tr><td>{html.escape(labels.get(r.target, r.target))}</td><td>{fmt_count(r.children)}</td>"
        f"<td>{WITHHELD if r.suppressed else fmt_share(r.share)}</td>"
        f"<td>{fmt_days(r.median_days, r.p25_days, r.p75_days)[0]}</td>"
        f"<td>{fmt_mean(r.mean_days)}</td></tr>" for r in out.itertuples())
    note = (f"<p class='fd-note'>Shares are {PUBLISHED_NOTE}: routes withheld under disclosure control are left "
            "out.</p>" if partial else "")
    share_head = f"Share {PUBLISHED_NOTE}" if partial else "Share of moves out"
    return (head + f"<table><tr><th>Route out to</th><th>Children</th><th>{share_head}</th><th>Median days</th>"
            f"<th>Mean days</th></tr>{rows}</table>{note}")


def notice_html(release) -> str:
    """What the release is, first thing on the page: its kind in one sentence, then what that means here."""
    m = release.map
    profile = m.get("profile") or {}
    if release.kind == AGGREGATE:
        detail = (f"The map, routes, key statistics and top journeys are the council's counts of real children "
                  f"after disclosure control (threshold set {profile.get('name')} {profile.get('version')}); "
                  f"withheld figures say \"{SUPPRESSED}\". {fmt_count(release.children_total)} children in all. "
                  "The release holds no records, so no dots move on the map.")
    else:
        withheld = any(x.get("suppressed") for v in m["views"].values() for x in (*v["edges"], *v["nodes"]))
        animated = len(release.dots)
        sample = "" if animated >= (release.children_total or 0) else f", {animated:,} of them animated"
        detail = (f"No dot is a real child. {release.children_total:,} synthetic children{sample}."
                  + (f" Figures withheld under disclosure control say \"{SUPPRESSED}\"." if withheld else "")
                  + (f" {release.no_dots_reason}" if release.no_dots_reason else ""))
    return (f"<p class='fd-notice fd-{release.kind}' role='note' id='fd-kind'><strong>{html.escape(release.notice)}"
            f".</strong> {html.escape(detail)}</p>")


def legend_html(title: str, legend: dict, note: str = "") -> str:
    from viewer.data import human_value

    items = "".join(f"<span class='fd-key'><span style='display:inline-block;width:12px;height:12px;"
                    f"background:{c};border:1px solid #0b0c0c;margin-right:4px'></span>{html.escape(human_value(v))}"
                    f"</span> " for v, c in legend.items())
    extra = f" <em>{html.escape(note)}</em>" if note else ""
    return f"<div class='fd-legend'><strong>{html.escape(title)}:</strong> {items}{extra}</div>"


def routes_table_data(edges: pd.DataFrame, labels: dict) -> dict:
    """The table view of the map (its text alternative)."""
    med = [fmt_days(r.median_days, r.p25_days, r.p75_days) for r in edges.itertuples()]
    partial = edges["partial"].tolist() if "partial" in edges else [False] * len(edges)
    return {"from": [labels.get(s, s) for s in edges["source"]], "to": [labels.get(s, s) for s in edges["target"]],
            "children": [fmt_count(v) for v in edges["children"]],
            "share": [WITHHELD if s else fmt_share(v) + ("*" if p else "")
                      for v, s, p in zip(edges["share"], edges["suppressed"], partial)],
            "median": [m[0] for m in med], "iqr": [m[1] for m in med],
            "mean": [fmt_mean(v) for v in edges["mean_days"]]}


def journeys_table_data(view: dict, labels: dict) -> dict:
    total = view.get("children")
    rows = view.get("top_journeys") or []
    return {"path": [" → ".join(labels.get(s, s) for s in r["path"].split(">")) for r in rows],
            "children": [f"{r['children']:,}" for r in rows],
            "share": [f"{r['children'] / total:.1%}" if total else "-" for r in rows],
            "route": [r["path"] for r in rows]}


def table(source: ColumnDataSource, columns: list[tuple[str, str]], name: str, height: int = 260,
          width: int = 600) -> DataTable:
    return DataTable(source=source, columns=[TableColumn(field=f, title=t) for f, t in columns], name=name,
                     height=height, width=width, index_position=None)


def path_edges(path: str) -> set[tuple[str, str]]:
    stages = path.split(">")
    return set(zip(stages, stages[1:]))


SUBWAY, DOTS = "subway", "dots"


def set_map_mode(fig, name: str, mode: str) -> None:
    """The animated map (curved routes, share and median labels, dots) or the subway view of its aggregates
    (straight lines between stations, width = children, median and mean days as labels, no dots)."""
    subway = mode == SUBWAY
    lines = fig.select_one({"name": f"{name}_routes"})
    lines.glyph.xs, lines.glyph.ys = ("sxs", "sys") if subway else ("xs", "ys")
    for labels in (fig.select_one({"name": f"{name}_route_labels"}), fig.select_one({"name": f"{name}_route_labels_canvas"})):
        labels.x, labels.y, labels.text = ("slx", "sly", "stext") if subway else ("lx", "ly", "text")
    fig.select_one({"name": f"{name}_arrows"}).visible = not subway
    dots = fig.select_one({"name": f"{name}_dots"})
    if dots is not None:
        dots.visible = not subway
