"""Release bundle -> what the viewer draws: the map's views, the stage layout, and the dots'
trajectories. Pure functions over a verified bundle (synth.bundle); nothing here touches raw data,
and nothing here re-implements what the bundle says: stage positions come from its `layout.json`
(shared with the reviewer pages), each journey's classification values from its
`journey_values.csv` (the values the map's views were computed from).

Dots: each synthetic child is a dot. Through each journey it moves along the drawn (curved) route
from the stage it is at to the next stage, leaving when the stage's activity begins and arriving
when the next one begins, so its travel time along a route is that step's duration (what the
route's median days summarise). The browser gives every move a minimum time on screen (so that
same-day steps are seen, at any speed; see viewer.animation). After an exit it lingers briefly,
then disappears until its next journey. A dot is coloured, and filtered, by the journey it is on:
white on its first journey, darker on each return. Large releases are animated with a sample of
dots; the map's numbers always come from map.json.

Two kinds of release (datapackage.json `frontdoor.kind`; a bundle without one is synthetic):
- synthetic: records of synthetic children, and a map computed from those records; the dots are them;
- aggregate: real counts under disclosure control (withheld cells are null and say so), and no records:
  the map, routes, key statistics and top journeys come from map.json, and there are no dots.
A synthetic bundle made before bundles carried journey values is shown like an aggregate one (its
map, no dots), and the page says why.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth.bundle import BundleError

MAX_DOTS = 5000
LINGER_DAYS = 30.0
JITTER = 0.18
BEND = 0.18  # how far a route curves: its control point sits BEND x its length off the straight line
ALL = "all"
SYNTHETIC, AGGREGATE = "synthetic", "aggregate"
LAYOUT_FILE, VALUES_FILE = "layout.json", "journey_values.csv"
KIND_NOTICES = {  # what the page says a release is, in so many words
    SYNTHETIC: "Synthetic records: every figure is computed from the synthetic children in this release",
    AGGREGATE: "Aggregate release: real counts under disclosure control; no children to animate",
}
KIND_SHORT = {SYNTHETIC: "synthetic records", AGGREGATE: "aggregate, real counts"}
DOT_COLUMNS = ["child_key", "dot", "jx", "jy"]
SEGMENT_COLUMNS = ["dot", "ep", "t0", "t1", "x0", "y0", "cx", "cy", "x1", "y1"]
REPEAT_COLOURS = ("#ffffff", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d")  # white to deep red (1 .. 5+)
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
# 20 distinct colours for classifications with more values than Okabe-Ito has (referral source: 12)
MANY = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
        "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#000000",
        "#dbdb8d", "#9edae5")
UNKNOWN_COLOUR = "#999999"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass
class Release:
    """One loaded release: its map, its layout, its dots and the journeys they are on, and facts for the page."""

    release_id: str
    title: str
    map: dict
    layout: dict  # layout.json: stage positions, short labels, lanes
    dots: pd.DataFrame  # one row per sampled child: dot id, child key, jitter
    journeys: pd.DataFrame  # one row per journey of a sampled child: dot, episode_no, value per classification
    segments: pd.DataFrame  # one row per move of a dot: dot, ep (row of journeys), t0, t1, x0, y0, cx, cy, x1, y1
    window_start: pd.Timestamp
    window_days: float
    children_total: int | None  # synthetic children in the release; for an aggregate one, the map's total
    report: dict = field(default_factory=dict)
    kind: str = SYNTHETIC
    no_dots_reason: str | None = None  # a synthetic release shown without dots: why

    @property
    def animated(self) -> bool:
        """Whether there are dots to draw (an aggregate release has no children to animate)."""
        return self.kind == SYNTHETIC and len(self.dots) > 0

    @property
    def notice(self) -> str:
        return KIND_NOTICES[self.kind]

    @property
    def views(self) -> dict:
        return self.map["views"]

    @property
    def classifications(self) -> dict:
        return self.map["classifications"]

    def stage_label(self, stage: str) -> str:
        return stage_labels(self.map).get(stage, stage)

    def view_label(self, view: str) -> str:
        return view_label(self.map, view)


def stage_labels(map_json: dict) -> dict[str, str]:
    """Stage id -> its name for people, as map.json gives it."""
    return {s["id"]: s["label"] for s in map_json["stages"]}


def human_value(value: str) -> str:
    """A classification value as people write it: `not_stated` -> `Not stated` (values with capitals kept)."""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def view_label(map_json: dict, view: str) -> str:
    """`age_band=1-4` -> `Age band: 1-4`; `all` -> `All children`."""
    if view == ALL:
        return "All children"
    name, _, value = view.partition("=")
    label = map_json["classifications"].get(name, {}).get("label", human_value(name))
    return f"{label}: {human_value(value)}"


def read_layout(bundle) -> dict:
    """The bundle's stage layout; a bundle made before it carried one cannot be drawn (say so)."""
    data = bundle.files.get(LAYOUT_FILE)
    if data is None:
        raise BundleError(f"release {bundle.release_id}: the bundle has no {LAYOUT_FILE} (it was made before "
                          "bundles carried their stage layout); ask for the release to be published again.")
    layout = json.loads(data)
    missing = [s["id"] for s in bundle.map["stages"] if s["id"] not in layout.get("stages", {})]
    if missing:
        raise BundleError(f"release {bundle.release_id}: {LAYOUT_FILE} places no stage {', '.join(missing)}; "
                          "use a newer viewer.")
    return layout


def stage_xy(layout: dict) -> dict[str, tuple[float, float]]:
    return {s: (v["x"], v["y"]) for s, v in layout["stages"].items()}


def node_table(map_json: dict, layout: dict) -> pd.DataFrame:
    stages = map_json["stages"]
    xy = stage_xy(layout)
    return pd.DataFrame({"stage": [s["id"] for s in stages], "label": [s["label"] for s in stages],
                         "exit": [s["exit"] for s in stages], "lane": [s["lane"] for s in stages],
                         "x": [xy[s["id"]][0] for s in stages], "y": [xy[s["id"]][1] for s in stages]})


EDGE_FIELDS = ["source", "target", "children", "suppressed", "moves", "share", "median_days", "p25_days", "p75_days",
               "mean_days", "durations_suppressed"]


def view_edges(map_json: dict, view: str = ALL) -> pd.DataFrame:
    """The routes of one view; suppressed counts stay None, never 0; `partial` marks the routes out of a
    stage some of whose routes are withheld (their shares are of the published routes only)."""
    v = map_json["views"].get(view)
    if v is None:
        raise KeyError(f"the release has no view '{view}'")
    edges = pd.DataFrame(v["edges"])
    if edges.empty:
        edges = pd.DataFrame(columns=EDGE_FIELDS)
    edges["partial"] = edges.groupby("source")["suppressed"].transform(lambda s: bool(s.eq(True).any())) \
        if len(edges) else pd.Series(dtype=bool)
    return edges.astype(object).where(edges.notna(), None)


def view_tables(map_json: dict, view: str, layout: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes, edges) of one view, with the layout; suppressed counts stay None, never 0."""
    edges = view_edges(map_json, view)
    nodes = node_table(map_json, layout).merge(pd.DataFrame(map_json["views"][view]["nodes"]), on="stage", how="left")
    return nodes, edges


def control_point(x0, y0, x1, y1, bend: float = BEND):
    """The control point of the quadratic curve a route is drawn along (and its dots travel along)."""
    return (x0 + x1) / 2 - (y1 - y0) * bend, (y0 + y1) / 2 + (x1 - x0) * bend


def _episode_segments(events: pd.DataFrame, start: pd.Timestamp, xy: dict) -> pd.DataFrame:
    """Moves of each episode: from stage k to stage k+1 over [t_k, t_k+1] days (real days: the browser
    gives short moves their minimum time on screen), along the route's curve."""
    ev = events.sort_values(["child_key", "episode_no", "step"])
    t = (ev["date"] - start).dt.days.to_numpy(dtype=float)
    same = (ev["child_key"].to_numpy()[1:] == ev["child_key"].to_numpy()[:-1]) & \
           (ev["episode_no"].to_numpy()[1:] == ev["episode_no"].to_numpy()[:-1])
    ep_start = np.concatenate([[True], ~same])
    pos = np.array([xy[s] for s in ev["stage"]])
    keys, eps = ev["child_key"].to_numpy(), ev["episode_no"].to_numpy()
    idx = np.flatnonzero(same)
    cx, cy = control_point(pos[idx, 0], pos[idx, 1], pos[idx + 1, 0], pos[idx + 1, 1])
    seg = pd.DataFrame({"child_key": keys[idx], "episode_no": eps[idx], "t0": t[idx], "t1": t[idx + 1],
                        "x0": pos[idx, 0], "y0": pos[idx, 1], "cx": cx, "cy": cy,
                        "x1": pos[idx + 1, 0], "y1": pos[idx + 1, 1]})
    # Each episode's first stage: the dot appears there; its last: it lingers, then leaves.
    first = np.flatnonzero(ep_start)
    last = np.concatenate([first[1:] - 1, [len(ev) - 1]])

    def still(rows, t0, t1):
        x, y = pos[rows, 0], pos[rows, 1]
        return pd.DataFrame({"child_key": keys[rows], "episode_no": eps[rows], "t0": t0, "t1": t1, "x0": x, "y0": y,
                             "cx": x, "cy": y, "x1": x, "y1": y})

    parts = [still(first, t[first] - 0.001, t[first]), seg, still(last, t[last], t[last] + LINGER_DAYS)]
    return pd.concat(parts, ignore_index=True).sort_values(["child_key", "t0"], kind="mergesort")


def read_journey_values(bundle) -> pd.DataFrame | None:
    """Each journey's value under each classification, as the bundle publishes them (None: not carried)."""
    data = bundle.files.get(VALUES_FILE)
    if data is None:
        return None
    values = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    values["episode_no"] = pd.to_numeric(values["episode_no"], errors="raise").astype(np.int64)
    quoted = values.columns.drop(["child_key", "episode_no"])
    for c in quoted:  # undo the bundle's formula guard ('-1 stays text)
        values[c] = values[c].where(~values[c].str.startswith("'"), values[c].str[1:])
    return values


def dot_frames(children: pd.DataFrame, values: pd.DataFrame, events: pd.DataFrame, start: pd.Timestamp,
               xy: dict, max_dots: int = MAX_DOTS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A sample of children as dots, the journeys they are on (with their classification values), and their moves."""
    keys = children["child_key"]
    if len(keys) > max_dots:
        keys = keys.sample(max_dots, random_state=seed)
    keys = keys.sort_values().reset_index(drop=True)
    dots = pd.DataFrame({"child_key": keys.to_numpy(), "dot": np.arange(len(keys))})
    # A dot jitters around each node so that many dots at one stage stay visible.
    rng = np.random.default_rng(seed)
    dots["jx"] = rng.uniform(-JITTER, JITTER, len(dots))
    dots["jy"] = rng.uniform(-JITTER, JITTER, len(dots))
    journeys = values[values["child_key"].isin(keys)].merge(dots[["child_key", "dot"]], on="child_key")
    journeys = journeys.sort_values(["dot", "episode_no"], kind="mergesort").reset_index(drop=True)
    journeys["ep"] = np.arange(len(journeys))
    seg = _episode_segments(events[events["child_key"].isin(keys)], start, xy)
    seg = seg.merge(journeys[["child_key", "episode_no", "dot", "ep"]], on=["child_key", "episode_no"], how="left")
    if seg["ep"].isna().any():
        lost = seg.loc[seg["ep"].isna(), ["child_key", "episode_no"]].drop_duplicates()
        raise BundleError(f"{VALUES_FILE} has no row for {len(lost)} journeys of events.csv (first: child "
                          f"{lost.iloc[0]['child_key']}, episode {lost.iloc[0]['episode_no']}); download the bundle "
                          "again.")
    seg = seg.astype({"dot": int, "ep": int}).sort_values(["dot", "t0"], kind="mergesort").reset_index(drop=True)
    return dots, journeys.drop(columns="child_key"), seg[SEGMENT_COLUMNS]


def palette_for(classification: str, values: list[str]) -> dict[str, str]:
    """Value -> colour, a distinct colour for every value: white to deep red for the repeat number
    (white the first journey), Okabe-Ito (colour-blind safe) up to 8 values, 20 distinct colours beyond."""
    if classification == "repeat":
        return {v: REPEAT_COLOURS[min(i, len(REPEAT_COLOURS) - 1)] for i, v in enumerate(values)}
    colours = OKABE_ITO if len(values) <= len(OKABE_ITO) else MANY
    if len(values) > len(colours):
        from bokeh.palettes import turbo

        colours = turbo(len(values))
    return dict(zip(values, colours))


def colour_codes(values: pd.Series, classification: str, order: list[str] | None = None) -> tuple[np.ndarray, dict]:
    """Each journey's colour index (into the legend's colours; -1: a value the legend lacks) and the legend."""
    cats = list(order) if order else sorted(values.dropna().astype(str).unique())
    legend = palette_for(classification, cats)
    codes = values.astype(str).map({v: i for i, v in enumerate(cats)}).fillna(-1).to_numpy(np.float32)
    return codes, legend


def colours_for(values: pd.Series, classification: str, order: list[str] | None = None) -> tuple[np.ndarray, dict]:
    """Colours of `values` and the legend (value -> colour)."""
    codes, legend = colour_codes(values, classification, order)
    palette = np.array([*legend.values(), UNKNOWN_COLOUR], dtype=object)
    return palette[np.where(codes < 0, len(legend), codes).astype(int)], legend


def window_bounds(window: dict | None, dates: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The map's window as two days. Bundles publish it in months (`YYYY-MM`: from the first day of
    the first month to the last day of the last); full dates are read as they are; without a window,
    the tables' first and last dates."""
    window = window or {}
    start, end = window.get("start"), window.get("end")
    start = pd.Timestamp(start) if start else dates.min()
    end = (pd.Timestamp(end) + pd.offsets.MonthEnd(0) if len(str(end)) == 7 else pd.Timestamp(end)) if end \
        else dates.max()
    return pd.Timestamp(start), pd.Timestamp(end)


def window_text(window: dict | None) -> str:
    """`April 2021 to March 2025` from the map's window in months ('' without one)."""
    window = window or {}
    try:
        a, b = (pd.Timestamp(window[k]) for k in ("start", "end"))
    except (KeyError, ValueError, TypeError):
        return ""
    return f"{MONTHS[a.month - 1]} {a.year} to {MONTHS[b.month - 1]} {b.year}"


def release_kind(manifest: dict, map_json: dict) -> str:
    """The kind of a release, from its datapackage.json (missing means synthetic); a map that says
    otherwise means the bundle is not what it claims, and the viewer will not guess which is right."""
    kind = (manifest.get("frontdoor") or {}).get("kind") or SYNTHETIC
    if kind not in KIND_NOTICES:
        raise BundleError(f"release {manifest.get('frontdoor', {}).get('release_id')}: kind '{kind}' is not one "
                          f"this viewer knows ({SYNTHETIC} or {AGGREGATE}); use a newer viewer.")
    source = "real" if kind == AGGREGATE else "synthetic"
    if map_json.get("kind", kind) != kind or map_json.get("source", source) != source:
        raise BundleError(f"release {manifest['frontdoor'].get('release_id')}: datapackage.json says it is "
                          f"{kind} but its map.json holds {map_json.get('source')} counts "
                          f"({map_json.get('kind', 'no kind')}); download the bundle again.")
    return kind


def release_title(bundle, kind: str, map_json: dict) -> str:
    """`Moorside: Release r12, synthetic records, April 2021 to March 2025`."""
    publisher = bundle.manifest["frontdoor"].get("publisher")
    months = window_text(map_json.get("window"))
    return (f"{publisher + ': ' if publisher else ''}Release {bundle.release_id}, {KIND_SHORT[kind]}"
            + (f", {months}" if months else ""))


def load_release(bundle, max_dots: int = MAX_DOTS) -> Release:
    """Everything the viewer needs from a verified bundle (synth.bundle.Bundle)."""
    m = bundle.map
    kind = release_kind(bundle.manifest, m)
    layout = read_layout(bundle)
    title = release_title(bundle, kind, m)
    values = read_journey_values(bundle) if kind == SYNTHETIC else None
    no_dots = None if kind == AGGREGATE or values is not None else (
        f"This release was made before bundles carried each journey's classification values ({VALUES_FILE}), "
        "so its children are not animated: the map and its figures are shown.")
    if values is None:  # no records to animate: nothing is read but map.json and the report
        start, end = window_bounds(m.get("window"), pd.Series([], dtype="datetime64[ns]"))
        days = float((end - start).days) if pd.notna(start) and pd.notna(end) else 0.0
        total = m["views"].get(ALL, {}).get("children") if kind == AGGREGATE else \
            int(bundle.manifest["frontdoor"]["counts"]["children"])
        return Release(release_id=bundle.release_id, title=title, map=m, layout=layout,
                       dots=pd.DataFrame(columns=DOT_COLUMNS), journeys=pd.DataFrame(columns=["dot", "episode_no", "ep"]),
                       segments=pd.DataFrame(columns=SEGMENT_COLUMNS), window_start=start, window_days=days,
                       children_total=total, report=bundle.report, kind=kind, no_dots_reason=no_dots)
    children, events = bundle.table("children"), bundle.table("events")
    start, end = window_bounds(m.get("window"), events["date"])
    dots, journeys, segments = dot_frames(children, values, events, start, stage_xy(layout), max_dots)
    f = bundle.manifest["frontdoor"]
    return Release(release_id=bundle.release_id, title=title, map=m, layout=layout, dots=dots, journeys=journeys,
                   segments=segments, window_start=start, window_days=float((end - start).days + LINGER_DAYS),
                   children_total=int(f["counts"]["children"]), report=bundle.report, kind=kind)


def route_shares(a: Release | dict, b: Release | dict, view_a: str = ALL, view_b: str = ALL) -> pd.DataFrame:
    """Share of each route out of its stage in two maps, and the difference in percentage points
    (None where either share is withheld or absent)."""
    ma = a.map if isinstance(a, Release) else a
    mb = b.map if isinstance(b, Release) else b
    ea, eb = view_edges(ma, view_a), view_edges(mb, view_b)
    cols = ["source", "target", "share", "suppressed", "partial"]
    both = ea[cols].merge(eb[cols], on=["source", "target"], how="outer", suffixes=("_a", "_b"))
    both["difference_pp"] = [None if (x is None or y is None or pd.isna(x) or pd.isna(y)) else round(100 * (y - x), 1)
                             for x, y in zip(both["share_a"], both["share_b"])]
    return both
