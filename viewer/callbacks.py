"""The page's behaviour for one browser session: small callbacks over the loaded release(s)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from viewer import figures
from viewer.data import ALL, Release, colours_for, route_shares, view_tables


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

    # -- the map and its tables ----------------------------------------------------------------
    def width_scale(self) -> float:
        counts = [e["children"] or 0 for v in (self._view_json(self.view), self._compare_json()) if v
                  for e in v["edges"]]
        return float(max(counts or [1]))

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

    def refresh_map(self) -> None:
        nodes, edges = view_tables(self.release.map, self.view)
        scale = self.width_scale()
        self.w["nodes"].data = figures.node_data(nodes)
        self.w["edges"].data = figures.edge_data(edges, scale, self._highlight())
        self.w["routes"].data = figures.routes_table_data(edges)
        self.w["journeys"].data = figures.journeys_table_data(self._view_json(self.view))
        self.w["stats"].text = figures.stats_html(self.stage, nodes, edges)
        v = self._view_json(self.view)
        total = figures.fmt_count(v["children"])
        self.w["map"].title.text = f"{self.release.title}: {self._view_label(self.view)} ({total} children)"
        self.refresh_compare()

    def _view_label(self, view: str) -> str:
        if view == ALL:
            return "all children"
        name, _, value = view.partition("=")
        label = self.release.classifications.get(name, {}).get("label", name)
        return f"{label}: {value}"

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
                self.w["compare_panel"].visible = False
            return
        if "compare_panel" not in self.w:  # built on first use, then kept
            self.w.update(self.w.pop("make_comparison")())
            page = self.w["page"]
            page.children = [*page.children, self.w["compare_panel"]]
        nodes, edges = view_tables(rel.map, view)
        self.w["nodes_b"].data = figures.node_data(nodes)
        self.w["edges_b"].data = figures.edge_data(edges, self.width_scale())
        label = f"{rel.title}: all children" if rel is not self.release else self._view_label(view)
        self.w["map_b"].title.text = f"{label} ({figures.fmt_count(rel.views[view]['children'])} children)"
        diff = route_shares(self.release, rel, self.view, view)
        self.w["diff"].data = {
            "route": [f"{a} → {b}" for a, b in zip(diff["source"], diff["target"])],
            "share_a": _shares(diff["share_a"], diff["suppressed_a"]),
            "share_b": _shares(diff["share_b"], diff["suppressed_b"]),
            "difference": ["-" if d is None or pd.isna(d) else f"{d:+.0%}" for d in diff["difference"]],
        }
        self.w["compare_panel"].visible = True

    # -- dots ----------------------------------------------------------------------------------
    def recolour(self) -> None:
        if "dots" not in self.w:  # an aggregate release: no children to colour
            return
        dots = self.release.dots
        name = self.classification
        order = self.release.classifications.get(name, {}).get("values")
        colours, legend = colours_for(dots[name], name, order)
        self.w["dots"].data.update(colour=colours)
        label = self.release.classifications.get(name, {}).get("label", name)
        self.w["legend"].text = figures.legend_html(label, legend)

    def refilter(self) -> None:
        """Dots outside the chosen view are hidden; views no dot carries (the year) filter the map only."""
        if "dots" not in self.w:  # an aggregate release: the filter chooses a map.json view, nothing more
            return
        dots = self.release.dots
        if self.view == ALL:
            visible = np.ones(len(dots), dtype=np.int8)
        else:
            name, _, value = self.view.partition("=")
            visible = (dots[name].astype(str) == value).to_numpy().astype(np.int8) if name in dots else \
                np.ones(len(dots), dtype=np.int8)
        self.w["dots"].data.update(visible=visible)

    # -- events --------------------------------------------------------------------------------
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

    def on_stage(self, attr, old, new) -> None:
        stages = self.w["nodes"].data["stage"]
        self.stage = stages[new[0]] if new else None
        nodes, edges = view_tables(self.release.map, self.view)
        self.w["stats"].text = figures.stats_html(self.stage, nodes, edges)

    def on_journey(self, attr, old, new) -> None:
        _, edges = view_tables(self.release.map, self.view)
        self.w["edges"].data = figures.edge_data(edges, self.width_scale(), self._highlight())


def _shares(shares, suppressed) -> list[str]:
    """A map's share of each route: withheld ones say so; a route the map does not have is "-"."""
    out = []
    for v, s in zip(shares, suppressed):
        absent = s is None or pd.isna(s)
        out.append(figures.fmt_share(None) if absent else figures.SUPPRESSED if s else figures.fmt_share(v))
    return out


def dot_columns(release: Release) -> tuple[dict, dict]:
    """Columns of the dots and of their moves. Positions at the window's start are computed here, so
    the first paint shows the dots; from then on the browser writes them (computed once per release)."""
    cached = getattr(release, "_dot_columns", None)
    if cached is not None:
        return {k: v.copy() for k, v in cached[0].items()}, cached[1]
    dots, seg = release.dots, release.segments
    n = len(dots)
    counts = np.bincount(seg["dot"].to_numpy(), minlength=n)
    hi = np.cumsum(counts).astype(np.int32)
    lo = (hi - counts).astype(np.int32)
    jx, jy = dots["jx"].to_numpy(np.float64), dots["jy"].to_numpy(np.float64)
    x, y, alpha = np.full(n, -5.0), np.full(n, -5.0), np.zeros(n)
    t0, t1 = seg["t0"].to_numpy(), seg["t1"].to_numpy()
    active = np.flatnonzero((t0 <= 0) & (t1 >= 0))
    if len(active):
        which, first = np.unique(seg["dot"].to_numpy()[active], return_index=True)
        rows = active[first]
        span = np.where(t1[rows] > t0[rows], t1[rows] - t0[rows], 1.0)
        f = np.clip((0 - t0[rows]) / span, 0, 1)
        x[which] = seg["x0"].to_numpy()[rows] + (seg["x1"].to_numpy()[rows] - seg["x0"].to_numpy()[rows]) * f + jx[which]
        y[which] = seg["y0"].to_numpy()[rows] + (seg["y1"].to_numpy()[rows] - seg["y0"].to_numpy()[rows]) * f + jy[which]
        alpha[which] = 0.85
    dot_cols = {"x": x, "y": y, "alpha": alpha, "visible": np.ones(n, dtype=np.int8),
                "colour": np.full(n, "#ffffff", dtype=object), "seg_lo": lo, "seg_hi": hi,
                "jx": jx.astype(np.float32), "jy": jy.astype(np.float32)}
    seg_cols = {c: seg[c].to_numpy(np.float32) for c in ("t0", "t1", "x0", "y0", "x1", "y1")}
    release._dot_columns = (dot_cols, seg_cols)
    return {k: v.copy() for k, v in dot_cols.items()}, seg_cols


def compare_options(release: Release, others: dict[str, Release]) -> list[tuple[str, str]]:
    opts = [("off", "No comparison")]
    for rid, rel in others.items():
        if rid != release.release_id:
            opts.append((f"release:{rid}", f"Another release: {rel.title}"))
    for view, v in release.views.items():
        if view != ALL and v.get("children"):
            opts.append((f"view:{view}", f"This release, {view.replace('=', ': ')}"))
    return opts


def filter_options(release: Release) -> list[tuple[str, str]]:
    return [(ALL, "All children")] + [(v, v.replace("=", ": ")) for v in release.views if v != ALL]

