"""Pure builders: data frames in, Bokeh models or plain data out. No server state, no I/O."""

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
    Label,
    LabelSet,
    TableColumn,
    TapTool,
)
from bokeh.plotting import figure

from viewer.data import AGGREGATE, LABEL_BELOW, LANES, SHORT_LABELS, STAGE_XY

SUPPRESSED = "suppressed"
MAP_WIDTH, MAP_HEIGHT = 900, 470
MAX_EDGE_WIDTH = 18.0


def fmt_count(v) -> str:
    return SUPPRESSED if v is None or (isinstance(v, float) and math.isnan(v)) else f"{int(v):,}"


def fmt_share(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0%}"


def fmt_days(median, p25, p75) -> tuple[str, str]:
    if median is None or (isinstance(median, float) and math.isnan(median)):
        return SUPPRESSED, SUPPRESSED
    return f"{int(median)}", f"{int(p25)}-{int(p75)}"


def curve(x0: float, y0: float, x1: float, y1: float, bend: float = 0.18, n: int = 24) -> tuple[list, list]:
    """Points along a quadratic curve from one stage to another (a small loop for a stage to itself)."""
    if (x0, y0) == (x1, y1):
        t = np.linspace(0, 2 * np.pi, n)
        return list(x0 + 0.22 * np.sin(t)), list(y0 + 0.28 + 0.22 * -np.cos(t) * 1.0 + 0.0 * t)
    dx, dy = x1 - x0, y1 - y0
    length = math.hypot(dx, dy)
    cx, cy = (x0 + x1) / 2 - dy * bend, (y0 + y1) / 2 + dx * bend
    t = np.linspace(0.06, 0.94, n) if length > 0.5 else np.linspace(0, 1, n)
    xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
    ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
    return list(xs), list(ys)


def edge_data(edges: pd.DataFrame, width_scale: float, highlight: set[tuple[str, str]] | None = None) -> dict:
    """Columns for the edges' multi_line, arrowheads and hover; `width_scale` is the largest count
    of the maps on screen, so that two maps side by side share one scale."""
    rows = {k: [] for k in ("xs", "ys", "source", "target", "children", "share", "median", "iqr", "width", "colour",
                            "dash", "ax", "ay", "angle", "label")}
    for r in edges.itertuples(index=False):
        (x0, y0), (x1, y1) = STAGE_XY[r.source], STAGE_XY[r.target]
        xs, ys = curve(x0, y0, x1, y1)
        n = r.children
        width = 1.0 if n is None else 1.5 + (MAX_EDGE_WIDTH - 1.5) * math.sqrt(n / max(width_scale, 1))
        median, iqr = fmt_days(r.median_days, r.p25_days, r.p75_days)
        hot = highlight is not None and (r.source, r.target) in highlight
        rows["xs"].append(xs)
        rows["ys"].append(ys)
        rows["source"].append(r.source)
        rows["target"].append(r.target)
        rows["children"].append(fmt_count(n))
        rows["share"].append(fmt_share(r.share))
        rows["median"].append(median)
        rows["iqr"].append(iqr)
        rows["width"].append(width)
        rows["colour"].append("#d4351c" if hot else ("#b1b4b6" if n is None else "#1d70b8"))
        rows["dash"].append("dashed" if n is None else "solid")
        k = max(len(xs) - 3, 1)
        rows["ax"].append(xs[k])
        rows["ay"].append(ys[k])
        rows["angle"].append(math.atan2(ys[k + 1] - ys[k - 1], xs[k + 1] - xs[k - 1]) - math.pi / 2 if len(xs) > 2
                             else 0.0)
        rows["label"].append(f"{r.source} to {r.target}: {fmt_count(n)} children, {fmt_share(r.share)} of routes out")
    return rows


def node_data(nodes: pd.DataFrame) -> dict:
    return {
        "x": nodes["x"].tolist(), "y": nodes["y"].tolist(), "stage": nodes["stage"].tolist(),
        "label": nodes["label"].tolist(), "short": [SHORT_LABELS.get(s, s) for s in nodes["stage"]],
        "label_y": [y - 0.42 if s in LABEL_BELOW else y + 0.17 for s, y in zip(nodes["stage"], nodes["y"])],
        "children": [fmt_count(v) for v in nodes["children"]],
        "colour": ["#505a5f" if e else "#0b0c0c" for e in nodes["exit"]],
    }


def map_figure(nodes: pd.DataFrame, edges: pd.DataFrame, title: str, width_scale: float, dots: ColumnDataSource
               | None = None, name: str = "map") -> tuple[figure, ColumnDataSource, ColumnDataSource]:
    """The information map: lanes, curved edges (width by children) with arrowheads, stage nodes,
    and (optionally) the animated dots. Returns (figure, node source, edge source)."""
    p = figure(title=title, width=MAP_WIDTH, height=MAP_HEIGHT, x_range=(-0.8, 11.0), y_range=(-0.6, 4.5),
               tools="pan,wheel_zoom,reset,save,tap", toolbar_location="above", name=name,
               output_backend="canvas")
    p.axis.visible = False
    p.grid.visible = False
    p.background_fill_color = "#f3f2f1"
    p.title.text_font_size = "14pt"
    for lane, (label, y0, y1) in LANES.items():
        p.add_layout(BoxAnnotation(bottom=y0, top=y1, fill_color="#ffffff" if lane == "front_door" else "#e8f1f8",
                                   fill_alpha=0.6, line_alpha=0))
        p.add_layout(Label(x=-0.65, y=y1 - 0.3, text=label, text_font_size="10pt", text_color="#505a5f"))
    esrc = ColumnDataSource(edge_data(edges, width_scale), name=f"{name}_edges")
    lines = p.multi_line("xs", "ys", source=esrc, line_width="width", line_color="colour", line_dash="dash",
                         line_alpha=0.75, hover_line_alpha=1.0)
    p.scatter("ax", "ay", source=esrc, marker="triangle", size=11, angle="angle", fill_color="colour",
              line_color="colour")
    nsrc = ColumnDataSource(node_data(nodes), name=f"{name}_nodes")
    circles = p.scatter("x", "y", source=nsrc, size=26, fill_color="#ffffff", line_color="colour", line_width=2.5,
                        name=f"{name}_node_glyph")
    p.add_layout(LabelSet(x="x", y="label_y", text="short", source=nsrc, text_align="center",
                          text_font_size="11pt", text_color="#0b0c0c", background_fill_color="#ffffff",
                          background_fill_alpha=0.7))
    if dots is not None:
        p.scatter("x", "y", source=dots, size=6, fill_color="colour", fill_alpha="alpha", line_color="#0b0c0c",
                  line_alpha="alpha", line_width=0.5, name=f"{name}_dots")
    p.add_tools(HoverTool(renderers=[lines], line_policy="interp", tooltips=[
        ("Route", "@source → @target"), ("Children", "@children"), ("Share of routes out", "@share"),
        ("Median days", "@median"), ("P25-P75 days", "@iqr")]))
    p.add_tools(HoverTool(renderers=[circles], tooltips=[("Stage", "@label"), ("Children", "@children")]))
    p.select_one(TapTool).renderers = [circles]
    return p, nsrc, esrc


def stats_html(stage: str | None, nodes: pd.DataFrame, edges: pd.DataFrame) -> str:
    """Key statistics for the selected stage: children in, % by route out, median days."""
    if not stage:
        return "<h3>Key statistics</h3><p>Select a stage on the map to see its figures.</p>"
    node = nodes[nodes["stage"] == stage].iloc[0]
    out = edges[edges["source"] == stage]
    rows = "".join(
        f"<tr><td>{html.escape(str(r.target))}</td><td>{fmt_count(r.children)}</td><td>{fmt_share(r.share)}</td>"
        f"<td>{fmt_days(r.median_days, r.p25_days, r.p75_days)[0]}</td></tr>" for r in out.itertuples())
    return (f"<h3>{html.escape(node['label'])}</h3><p>Children in: <strong>{fmt_count(node['children'])}</strong></p>"
            f"<table><tr><th>Route out</th><th>Children</th><th>Share</th><th>Median days</th></tr>{rows}</table>"
            if rows else f"<h3>{html.escape(node['label'])}</h3><p>Children in: <strong>"
            f"{fmt_count(node['children'])}</strong></p><p>No routes out (an exit).</p>")


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
                  + (f" Figures withheld under disclosure control say \"{SUPPRESSED}\"." if withheld else ""))
    return (f"<p class='fd-notice fd-{release.kind}' role='note' id='fd-kind'><strong>{html.escape(release.notice)}"
            f".</strong> {html.escape(detail)}</p>")


def legend_html(title: str, legend: dict) -> str:
    items = "".join(f"<span class='fd-key'><span style='display:inline-block;width:12px;height:12px;"
                    f"background:{c};border:1px solid #0b0c0c;margin-right:4px'></span>{html.escape(v)}</span> "
                    for v, c in legend.items())
    return f"<div class='fd-legend'><strong>{html.escape(title)}:</strong> {items}</div>"


def routes_table_data(edges: pd.DataFrame) -> dict:
    """The table view of the map (its text alternative)."""
    med = [fmt_days(r.median_days, r.p25_days, r.p75_days) for r in edges.itertuples()]
    return {"from": edges["source"].tolist(), "to": edges["target"].tolist(),
            "children": [fmt_count(v) for v in edges["children"]], "share": [fmt_share(v) for v in edges["share"]],
            "median": [m[0] for m in med], "iqr": [m[1] for m in med]}


def journeys_table_data(view: dict) -> dict:
    total = view.get("children")
    rows = view.get("top_journeys") or []
    return {"path": [r["path"].replace(">", " → ") for r in rows], "children": [f"{r['children']:,}" for r in rows],
            "share": [f"{r['children'] / total:.1%}" if total else "-" for r in rows],
            "route": [r["path"] for r in rows]}


def table(source: ColumnDataSource, columns: list[tuple[str, str]], name: str, height: int = 260,
          width: int = 560) -> DataTable:
    return DataTable(source=source, columns=[TableColumn(field=f, title=t) for f, t in columns], name=name,
                     height=height, width=width, index_position=None)


def path_edges(path: str) -> set[tuple[str, str]]:
    stages = path.split(">")
    return set(zip(stages, stages[1:]))
