"""The page's behaviour for one browser session: small callbacks over the loaded release(s).

Tables: Bokeh 3.9's DataTable redraws its rows only when their number changes, so a new view with as
many rows kept the old view's text on screen. Every table here is filled through `Session.fill`,
which replaces the data and then touches the table itself, and a changed table is drawn afresh."""

from __future__ import annotations

import numpy as np
import pandas as pd

from viewer import figures, map_labels
from viewer.data import ALL, Release, colour_codes, route_shares, stage_labels, stage_xy, view_label, view_tables


class Session:
    """What one browser page shows, and the sources it updates."""

    def __init__(self, release: Release, others: dict[str, Release], widgets: dict):
        self.release = release
        self.others = others
        self.w = widgets
        self.view = ALL
        self.classification = "repeat"
        self.stage: str | None = None
        self.compare: str | None = None
        self.labels = stage_labels(release.map)
        self.xy = stage_xy(release.layout)
        self._redraws = 0
        self.mode = figures.DOTS
        self.legend_values: list[str] | None = None  # the dots' legend, in colour order (set by recolour)

    def fill(self, name: str, data: dict) -> None:
        """Replace a table's rows and make the browser draw them (see the module's docstring)."""
        self.w[name].data = data
        table = self.w.get(f"{name}_table")
        if table is not None:
            self._redraws += 1
            table.tags = [self._redraws]

    # -- the map and its tables ----------------------------------------------------------------
    def width_scale(self) -> float:
        counts = [e["children"] or 0 for v in (self._view_json(self.view), self._compare_json()) if v
                  for e in v["edges"]]
        return float(max(counts or [1]))

    def map_width_px(self) -> float:
        """The width the route labels are placed for: one map, or two beside each other."""
        return map_labels.SIDE_BY_SIDE_WIDTH_PX if self.compare else map_labels.NOMINAL_WIDTH_PX

    def _view_json(self, view: str) -> dict:
        return self.release.views[view]

    def _compare_json(self) -> dict | None:
        if not self.compare:
            return None
        rel, view = self._compare_target()
        return rel.views.get(view)

    def _compare_target(self) -> tuple[Release, str]:
        kind, _, rest = self.compare.partition(":")
        if kind == "release":
            return self.others[rest], ALL
        return self.release, rest

    def title(self, release: Release, view: str) -> str:
        total = figures.fmt_count(release.views[view]["children"])
        return f"{release.title}: {view_label(release.map, view)} ({total} children)"

    def refresh_map(self) -> None:
        nodes, edges = view_tables(self.release.map, self.view, self.release.layout)
        scale = self.width_scale()
        self.w["nodes"].data = figures.node_data(nodes, self.release.layout)
        self.w["edges"].data = figures.edge_data(edges, scale, self.xy, self.labels, self._highlight(),
                                                   layout=self.release.layout, width_px=self.map_width_px())
        self.fill("routes", figures.routes_table_data(edges, self.labels))
        self.fill("journeys", figures.journeys_table_data(self._view_json(self.view), self.labels))
        self.w["stats"].text = figures.stats_html(self.stage, nodes, edges, self.labels)
        self.w["map_title"].text = _title_html(self.title(self.release, self.view))
        self.refresh_compare()

    def _highlight(self) -> set | None:
        sel = self.w["journeys"].selected.indices
        if not sel:
            return None
        routes = self.w["journeys"].data.get("route", [])
        return figures.path_edges(routes[sel[0]]) if sel[0] < len(routes) else None

    def refresh_compare(self) -> None:
        rel, view = self._compare_target() if self.compare else (None, None)
        if rel is None or view not in rel.views:
            if "compare_panel" in self.w:
                self._show_comparison(False)
            return
        if "compare_panel" not in self.w:  # built on first use, then kept
            self.w.update(self.w.pop("make_comparison")())
            figures.set_map_mode(self.w["map_b"], "map_b", self.mode)
        nodes, edges = view_tables(rel.map, view, self.release.layout)
        self.w["nodes_b"].data = figures.node_data(nodes, self.release.layout)
        self.w["edges_b"].data = figures.edge_data(edges, self.width_scale(), self.xy, self.labels,
                                                     layout=self.release.layout, width_px=self.map_width_px())
        self.w["map_b_title"].text = _title_html(self.title(rel, view))
        diff = route_shares(self.release, rel, self.view, view)
        self.fill("diff", {
            "route": [f"{self.labels.get(a, a)} → {self.labels.get(b, b)}" for a, b in zip(diff["source"],
                                                                                          diff["target"])],
            "share_a": _shares(diff["share_a"], diff["suppressed_a"], diff["partial_a"]),
            "share_b": _shares(diff["share_b"], diff["suppressed_b"], diff["partial_b"]),
            "difference": [figures.WITHHELD if (sa is True or sb is True) else figures.fmt_pp(d)
                           for d, sa, sb in zip(diff["difference_pp"], diff["suppressed_a"], diff["suppressed_b"])],
        })
        self.w["diff_caption"].text = (f"<p class='fd-note'><strong>Left:</strong> {_esc(self.title(self.release, self.view))}"
                                       f". <strong>Right:</strong> {_esc(self.title(rel, view))}. Difference: right "
                                       "minus left, in percentage points (pp) of the moves out of each stage.</p>")
        self._show_comparison(True)

    def _show_comparison(self, on: bool) -> None:
        """Two maps side by side (the key statistics make way), and the differences as the first tab."""
        maps, tabs = self.w["maps"], self.w["tabs"]
        panel, diff_tab = self.w["compare_panel"], self.w["diff_tab"]
        if on and panel not in maps.children:
            maps.children = [maps.children[0], panel]
            tabs.tabs = [diff_tab, *tabs.tabs]
            tabs.active = 0
        elif not on and panel in maps.children:
            maps.children = [maps.children[0], self.w["stats_column"]]
            tabs.tabs = [t for t in tabs.tabs if t is not diff_tab]
            tabs.active = 0

    # -- dots ----------------------------------------------------------------------------------
    def recolour(self) -> None:
        if "dots" not in self.w:  # an aggregate release: no children to colour
            return
        name = self.classification
        journeys = self.release.journeys
        order = self.release.classifications.get(name, {}).get("values")
        codes, legend = colour_codes(journeys[name], name, order)
        self.legend_values = list(legend)
        self._recolour_second_dots()
        mapper = self.w["mapper"]
        mapper.palette = list(legend.values())
        mapper.high = len(legend)
        self.w["journeys_src"].data.update(code=codes)
        label = self.release.classifications.get(name, {}).get("label", name)
        note = "the colour of the journey each dot is on" + (": white on a child's first, darker on each return"
                                                             if name == "repeat" else "")
        self.w["legend"].text = figures.legend_html(f"Dots coloured by {label.lower()}", legend, note)

    def refilter(self) -> None:
        """A dot is shown while it is on a journey of the chosen view: the map's figures and the dots
        count the same journeys (the year, team and repeat number are the journey's own)."""
        if "dots" not in self.w:  # an aggregate release: the filter chooses a map.json view, nothing more
            return
        self.w["journeys_src"].data.update(shown=_shown(self.release.journeys, self.view))

    def _second_target(self) -> tuple[Release, str] | None:
        """The release and view whose dots the second map shows, if it shows any."""
        rel, view = self._compare_target() if self.compare else (None, None)
        if rel is None or not rel.animated or view not in rel.views or not len(rel.dots):
            return None
        return rel, view

    def _second_codes(self, rel: Release) -> np.ndarray:
        """The colour index of each of `rel`'s journeys on the first map's legend (-1: a value it lacks)."""
        name = self.classification
        values = rel.journeys[name] if name in rel.journeys.columns else pd.Series([None] * len(rel.journeys))
        return colour_codes(values, name, self.legend_values)[0]

    def fill_second_dots(self) -> None:
        """The second map's dots: the compared release's (or this release's, for another of its views), shown while
        on a journey of that view and coloured on the first map's legend, on the first map's calendar; none when
        there is no comparison or the compared release has no records."""
        if "dots_b" not in self.w:
            return
        target = self._second_target()
        if target is None:
            if len(self.w["dots_b"].data["x"]):
                dots, segments, journeys = empty_dot_columns()
                self.w["journeys_b"].data, self.w["segments_b"].data, self.w["dots_b"].data = journeys, segments, dots
            return
        rel, view = target
        dots, segments, journeys = dot_columns(rel)
        offset = np.float32((rel.window_start - self.release.window_start).days)
        segments = {**segments, "t0": segments["t0"] + offset, "t1": segments["t1"] + offset}
        journeys.update(code=self._second_codes(rel), shown=_shown(rel.journeys, view))
        # journeys and moves before the dots: the loop rebuilds the layer when its moves change
        self.w["journeys_b"].data, self.w["segments_b"].data, self.w["dots_b"].data = journeys, segments, dots

    def _recolour_second_dots(self) -> None:
        """A new colouring reaches the second map's dots too: their journeys' codes only, not the dots again."""
        target = self._second_target() if "dots_b" in self.w else None
        if target is not None:
            self.w["journeys_b"].data.update(code=self._second_codes(target[0]))

    # -- events --------------------------------------------------------------------------------
    def on_mode(self, attr, old, new) -> None:
        """0: the animated dots; 1: the subway view of the aggregates (the dots pause and hide)."""
        mode = figures.SUBWAY if new == 1 else figures.DOTS
        self.mode = mode
        figures.set_map_mode(self.w["map"], "map", mode)
        if "map_b" in self.w:
            figures.set_map_mode(self.w["map_b"], "map_b", mode)
        if "play" in self.w and mode == figures.SUBWAY:
            self.w["play"].active = False

    def on_classification(self, attr, old, new) -> None:
        self.classification = new
        self.recolour()

    def on_filter(self, attr, old, new) -> None:
        self.view = new
        self.w["journeys"].selected.indices = []  # row numbers of the old view's journeys mean nothing now
        self.refilter()
        self.refresh_map()

    def on_compare(self, attr, old, new) -> None:
        self.compare = None if new == "off" else new
        self.refresh_map()
        self.fill_second_dots()

    def on_stage(self, attr, old, new) -> None:
        stages = self.w["nodes"].data["stage"]
        self.stage = stages[new[0]] if new else None
        nodes, edges = view_tables(self.release.map, self.view, self.release.layout)
        self.w["stats"].text = figures.stats_html(self.stage, nodes, edges, self.labels)

    def on_journey(self, attr, old, new) -> None:
        _, edges = view_tables(self.release.map, self.view, self.release.layout)
        self.w["edges"].data = figures.edge_data(edges, self.width_scale(), self.xy, self.labels,
                                                   self._highlight(), layout=self.release.layout,
                                                   width_px=self.map_width_px())


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def _title_html(text: str) -> str:
    return f"<div class='fd-map-title' role='heading' aria-level='2'>{_esc(text)}</div>"


def _shares(shares, suppressed, partial) -> list[str]:
    """A map's share of each route: withheld ones say so; a route the map does not have is "-"."""
    out = []
    for v, s, p in zip(shares, suppressed, partial):
        absent = s is None or pd.isna(s)
        out.append(figures.fmt_share(None) if absent else figures.WITHHELD if s else
                   figures.fmt_share(v) + ("*" if p is True else ""))
    return out


def _shown(journeys: pd.DataFrame, view: str) -> np.ndarray:
    """1 for each journey of the view (a classification's value, or all), else 0."""
    if view == ALL:
        return np.ones(len(journeys), dtype=np.int8)
    name, _, value = view.partition("=")
    return (journeys[name].astype(str) == value).to_numpy().astype(np.int8)


def empty_dot_columns() -> tuple[dict, dict, dict]:
    """The columns of dot_columns with no dots (the second map before a comparison)."""
    f64, f32, i32 = (np.zeros(0, dtype=t) for t in (np.float64, np.float32, np.int32))
    dots = {"x": f64, "y": f64, "alpha": f64, "cval": f32, "seg_lo": i32, "seg_hi": i32, "jx": f32, "jy": f32}
    segments = {c: f32 for c in ("t0", "t1", "x0", "y0", "cx", "cy", "x1", "y1")} | {"ep": i32}
    return dots, segments, {"code": f32, "shown": np.zeros(0, dtype=np.int8)}


def dot_columns(release: Release) -> tuple[dict, dict, dict]:
    """Columns of the dots, of their moves and of their journeys. Positions at the window's start are
    computed here, so the first paint shows the dots; from then on the browser writes them (computed
    once per release)."""
    cached = getattr(release, "_dot_columns", None)
    if cached is not None:
        return {k: v.copy() for k, v in cached[0].items()}, cached[1], {k: v.copy() for k, v in cached[2].items()}
    dots, seg = release.dots, release.segments
    n = len(dots)
    counts = np.bincount(seg["dot"].to_numpy(), minlength=n)
    hi = np.cumsum(counts).astype(np.int32)
    lo = (hi - counts).astype(np.int32)
    jx, jy = dots["jx"].to_numpy(np.float64), dots["jy"].to_numpy(np.float64)
    x, y, alpha, cval = np.full(n, -5.0), np.full(n, -5.0), np.zeros(n), np.zeros(n, dtype=np.float32)
    t0, t1 = seg["t0"].to_numpy(), seg["t1"].to_numpy()
    active = np.flatnonzero((t0 <= 0) & (t1 >= 0))
    if len(active):
        which, first = np.unique(seg["dot"].to_numpy()[active], return_index=True)
        rows = active[first]
        span = np.where(t1[rows] > t0[rows], t1[rows] - t0[rows], 1.0)
        f = np.clip((0 - t0[rows]) / span, 0, 1)
        u = 1 - f
        s = {c: seg[c].to_numpy()[rows] for c in ("x0", "y0", "cx", "cy", "x1", "y1")}
        x[which] = u * u * s["x0"] + 2 * u * f * s["cx"] + f * f * s["x1"] + jx[which]
        y[which] = u * u * s["y0"] + 2 * u * f * s["cy"] + f * f * s["y1"] + jy[which]
        alpha[which] = figures.DOT_ALPHA
    dot_cols = {"x": x, "y": y, "alpha": alpha, "cval": cval, "seg_lo": lo, "seg_hi": hi,
                "jx": jx.astype(np.float32), "jy": jy.astype(np.float32)}
    seg_cols = {c: seg[c].to_numpy(np.float32) for c in ("t0", "t1", "x0", "y0", "cx", "cy", "x1", "y1")}
    seg_cols["ep"] = seg["ep"].to_numpy(np.int32)
    journey_cols = {"code": np.zeros(len(release.journeys), dtype=np.float32),
                    "shown": np.ones(len(release.journeys), dtype=np.int8)}
    release._dot_columns = (dot_cols, seg_cols, journey_cols)
    return {k: v.copy() for k, v in dot_cols.items()}, seg_cols, {k: v.copy() for k, v in journey_cols.items()}


def compare_options(release: Release, others: dict[str, Release]) -> list[tuple[str, str]]:
    opts = [("off", "No comparison")]
    for rid, rel in others.items():
        if rid != release.release_id:
            opts.append((f"release:{rid}", f"Another release: {rel.title}"))
    for view, v in release.views.items():
        if view != ALL and v.get("children"):
            opts.append((f"view:{view}", f"This release, {view_label(release.map, view)}"))
    return opts


def filter_options(release: Release) -> list[tuple[str, str]]:
    return [(ALL, "All children")] + [(v, view_label(release.map, v)) for v in release.views if v != ALL]
