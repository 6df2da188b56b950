"""Release bundle -> what the viewer draws: the map's views, the fixed stage layout, and the dots'
trajectories. Pure functions over a verified bundle (synth.bundle); nothing here touches raw data.

Dots: each synthetic child is a dot. Through each journey it moves from the stage it is at towards
the next stage, taking as long as that step took (same-day steps get MIN_STEP_DAYS so they can be
seen). After an exit it lingers briefly at the exit, then disappears until its next journey.
Large releases are animated with a sample of dots; the map's numbers always come from map.json.

Two kinds of release (datapackage.json `frontdoor.kind`; a bundle without one is synthetic):
- synthetic: records of synthetic children, and a map computed from those records; the dots are them;
- aggregate: real counts under disclosure control (withheld cells are null and say so), and no records:
  the map, routes, key statistics and top journeys come from map.json, and there are no dots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_DOTS = 5000
MIN_STEP_DAYS = 2.0
LINGER_DAYS = 30.0
JITTER = 0.18
ALL = "all"
SYNTHETIC, AGGREGATE = "synthetic", "aggregate"
KIND_NOTICES = {  # what the page says a release is, in so many words
    SYNTHETIC: "Synthetic records: every figure is computed from the synthetic children in this release",
    AGGREGATE: "Aggregate release: real counts under disclosure control; no children to animate",
}
KIND_SHORT = {SYNTHETIC: "synthetic records", AGGREGATE: "aggregate, real counts"}
DOT_COLUMNS = ["child_key", "dot", "jx", "jy"]
SEGMENT_COLUMNS = ["dot", "t0", "t1", "x0", "y0", "x1", "y1"]

# Fixed layout: columns in process order; the front door lane on top, district teams below, exits right.
STAGE_XY: dict[str, tuple[float, float]] = {
    "contact": (0.0, 3.0), "iag": (1.2, 3.9), "referral": (2.4, 3.0), "early_help": (1.2, 0.2),
    "assessment": (3.6, 1.8), "strategy": (4.7, 2.6), "s47": (5.7, 1.9), "icpc": (6.7, 2.6),
    "cp_plan": (7.8, 2.2), "cin_plan": (7.2, 0.8), "cla": (8.8, 1.4), "nfa": (10.0, 3.0), "other": (10.0, 0.6),
}
# Short labels on the map (full labels in the hover text and the tables); some sit below their node.
SHORT_LABELS = {"contact": "Contact", "iag": "Advice (IAG)", "referral": "Referral", "early_help": "Early help",
                "assessment": "Assessment", "strategy": "Strategy", "s47": "S47 enquiry", "icpc": "ICPC",
                "cp_plan": "CP plan", "cin_plan": "CIN plan", "cla": "Looked after", "nfa": "Closed / NFA",
                "other": "Other exit"}
LABEL_BELOW = frozenset({"s47", "cin_plan", "early_help", "assessment", "other"})
LANES = {"front_door": ("Front door team", 2.55, 4.35), "district": ("District teams", -0.35, 2.55)}
REPEAT_COLOURS = ("#ffffff", "#fcbba1", "#fb6a4a", "#cb181d", "#67000d")  # white to deep red (1 .. 5+)
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#999999")


@dataclass
class Release:
    """One loaded release: its map, its dots, and facts for the page."""

    release_id: str
    title: str
    map: dict
    dots: pd.DataFrame  # one row per sampled child: dot id and its values per classification
    segments: pd.DataFrame  # one row per move of a dot: dot, t0, t1 (days since window start), x0, y0, x1, y1
    window_start: pd.Timestamp
    window_days: float
    children_total: int | None  # synthetic children in the release; for an aggregate one, the map's total
    report: dict = field(default_factory=dict)
    kind: str = SYNTHETIC

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


def node_table(map_json: dict) -> pd.DataFrame:
    stages = map_json["stages"]
    return pd.DataFrame({"stage": [s["id"] for s in stages], "label": [s["label"] for s in stages],
                         "exit": [s["exit"] for s in stages], "lane": [s["lane"] for s in stages],
                         "x": [STAGE_XY[s["id"]][0] for s in stages], "y": [STAGE_XY[s["id"]][1] for s in stages]})


def view_tables(map_json: dict, view: str = ALL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes, edges) of one view, with the layout; suppressed counts stay None, never 0."""
    v = map_json["views"].get(view)
    if v is None:
        raise KeyError(f"the release has no view '{view}'")
    nodes = node_table(map_json).merge(pd.DataFrame(v["nodes"]), on="stage", how="left")
    edges = pd.DataFrame(v["edges"])
    if edges.empty:
        edges = pd.DataFrame(columns=["source", "target", "children", "suppressed", "moves", "share", "median_days",
                                      "p25_days", "p75_days", "mean_days", "durations_suppressed"])
    edges = edges.astype(object).where(edges.notna(), None)
    return nodes, edges


def _episode_segments(events: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    """Moves of each episode: from stage k to stage k+1 over [t_k, t_k+1] days (same-day steps widened)."""
    ev = events.sort_values(["child_key", "episode_no", "step"])
    t = (ev["date"] - start).dt.days.to_numpy(dtype=float)
    same = (ev["child_key"].to_numpy()[1:] == ev["child_key"].to_numpy()[:-1]) & \
           (ev["episode_no"].to_numpy()[1:] == ev["episode_no"].to_numpy()[:-1])
    gap = np.diff(t)
    widened = np.where(same, np.maximum(gap, MIN_STEP_DAYS), 0.0)
    # Within an episode, later steps shift by what earlier same-day steps were widened by.
    shift = np.concatenate([[0.0], np.where(same, widened - gap, 0.0)])
    ep_start = np.concatenate([[True], ~same])
    group = np.cumsum(ep_start)
    shift = pd.Series(shift).groupby(group).cumsum().to_numpy()
    t_anim = t + shift
    xy = np.array([STAGE_XY[s] for s in ev["stage"]])
    idx = np.flatnonzero(same)
    seg = pd.DataFrame({
        "child_key": ev["child_key"].to_numpy()[idx], "t0": t_anim[idx], "t1": t_anim[idx + 1],
        "x0": xy[idx, 0], "y0": xy[idx, 1], "x1": xy[idx + 1, 0], "y1": xy[idx + 1, 1],
    })
    # Each episode's first stage: the dot appears there; its last: it lingers, then leaves.
    first = np.flatnonzero(ep_start)
    last = np.concatenate([first[1:] - 1, [len(ev) - 1]])
    arrive = pd.DataFrame({"child_key": ev["child_key"].to_numpy()[first], "t0": t_anim[first] - 0.001,
                           "t1": t_anim[first], "x0": xy[first, 0], "y0": xy[first, 1], "x1": xy[first, 0],
                           "y1": xy[first, 1]})
    stay = pd.DataFrame({"child_key": ev["child_key"].to_numpy()[last], "t0": t_anim[last],
                         "t1": t_anim[last] + LINGER_DAYS, "x0": xy[last, 0], "y0": xy[last, 1],
                         "x1": xy[last, 0], "y1": xy[last, 1]})
    return pd.concat([arrive, seg, stay], ignore_index=True).sort_values(["child_key", "t0"], kind="mergesort")


def dot_frames(children: pd.DataFrame, episodes: pd.DataFrame, events: pd.DataFrame, start: pd.Timestamp,
               classifications: list[str], max_dots: int = MAX_DOTS, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sample of children as dots, their classification values, and their movement segments."""
    from viewer.classify import child_values

    keys = children["child_key"]
    if len(keys) > max_dots:
        keys = keys.sample(max_dots, random_state=seed)
    keys = keys.sort_values().reset_index(drop=True)
    dots = child_values(children[children["child_key"].isin(keys)], episodes[episodes["child_key"].isin(keys)],
                        classifications)
    dots = dots.set_index("child_key").reindex(keys).reset_index()
    dots["dot"] = np.arange(len(dots))
    # A dot jitters around each node so that many dots at one stage stay visible.
    rng = np.random.default_rng(seed)
    dots["jx"] = rng.uniform(-JITTER, JITTER, len(dots))
    dots["jy"] = rng.uniform(-JITTER, JITTER, len(dots))
    seg = _episode_segments(events[events["child_key"].isin(keys)], start)
    seg["dot"] = seg["child_key"].map(dict(zip(dots["child_key"], dots["dot"]))).astype(int)
    seg = seg.drop(columns="child_key").sort_values(["dot", "t0"], kind="mergesort").reset_index(drop=True)
    return dots, seg


def colours_for(values: pd.Series, classification: str, order: list[str] | None = None) -> tuple[np.ndarray, dict]:
    """Dot colours and the legend (value -> colour): white to deep red for repeat number, Okabe-Ito
    (colour-blind safe) for the other classifications."""
    if classification == "repeat":
        legend = {v: REPEAT_COLOURS[i] for i, v in enumerate(["1", "2", "3", "4", "5+"])}
    else:
        cats = order or sorted(values.dropna().astype(str).unique())
        legend = {v: OKABE_ITO[i % len(OKABE_ITO)] for i, v in enumerate(cats)}
    colours = values.astype(str).map(legend).fillna("#999999").to_numpy()
    return colours, legend


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


def release_kind(manifest: dict, map_json: dict) -> str:
    """The kind of a release, from its datapackage.json (missing means synthetic); a map that says
    otherwise means the bundle is not what it claims, and the viewer will not guess which is right."""
    from synth.bundle import BundleError

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


def load_release(bundle, max_dots: int = MAX_DOTS) -> Release:
    """Everything the viewer needs from a verified bundle (synth.bundle.Bundle)."""
    m = bundle.map
    kind = release_kind(bundle.manifest, m)
    publisher = bundle.manifest["frontdoor"].get("publisher")
    title = f"{publisher + ': ' if publisher else ''}Release {bundle.release_id} ({KIND_SHORT[kind]})"
    if kind == AGGREGATE:  # no records: nothing is read but map.json and the report
        start, end = window_bounds(m.get("window"), pd.Series([], dtype="datetime64[ns]"))
        days = float((end - start).days) if pd.notna(start) and pd.notna(end) else 0.0
        total = m["views"].get(ALL, {}).get("children")
        return Release(release_id=bundle.release_id, title=title, map=m, dots=pd.DataFrame(columns=DOT_COLUMNS),
                       segments=pd.DataFrame(columns=SEGMENT_COLUMNS), window_start=start, window_days=days,
                       children_total=total, report=bundle.report, kind=kind)
    children, episodes, events = bundle.table("children"), bundle.table("episodes"), bundle.table("events")
    start, end = window_bounds(m.get("window"), events["date"])
    classes = [c for c in m["classifications"] if c != "year"]
    dots, segments = dot_frames(children, episodes, events, start, classes, max_dots)
    f = bundle.manifest["frontdoor"]
    return Release(release_id=bundle.release_id, title=title, map=m, dots=dots, segments=segments,
                   window_start=start, window_days=float((end - start).days + LINGER_DAYS),
                   children_total=int(f["counts"]["children"]), report=bundle.report, kind=kind)


def route_shares(a: Release | dict, b: Release | dict, view_a: str = ALL, view_b: str = ALL) -> pd.DataFrame:
    """Share of each route out of its stage in two maps, and the difference (for the comparison)."""
    ma = a.map if isinstance(a, Release) else a
    mb = b.map if isinstance(b, Release) else b
    _, ea = view_tables(ma, view_a)
    _, eb = view_tables(mb, view_b)
    cols = ["source", "target", "share", "suppressed"]
    both = ea[cols].merge(eb[cols], on=["source", "target"], how="outer", suffixes=("_a", "_b"))
    both["difference"] = [None if (x is None or y is None or pd.isna(x) or pd.isna(y)) else round(y - x, 3)
                          for x, y in zip(both["share_a"], both["share_b"])]
    return both
