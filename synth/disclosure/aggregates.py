"""Statistical disclosure control of everything a release publishes as numbers: the map.

Cells are counts of children (a node reached, a move taken, a journey followed) in a view (all
children, or one value of a classification such as `sex=female` or `year=2022-23`). Controls,
in order:
1. primary suppression: a count below the profile's minimum is withheld; zeros too in small views
   (or always, under ACRO);
2. secondary suppression: wherever cells add up to a published total (the moves out of a stage;
   one move across the values of a classification, whose total is the "all" view), a group with
   exactly one withheld cell has its smallest other cell withheld too, until no group has one;
3. rounding: counts to a multiple of 5, totals to 10 (per profile);
4. durations: median and P25-P75 days only over 10 or more children; the mean only when no two
   children contribute 90% or more of the summed days (dominance), and under ACRO the p-ratio.

`control_cells` is the generic mechanism (property-tested); `build_map` applies it to journeys.

Two kinds of map (issue 11): a synthetic release's map is computed from its own published synthetic
records and published without control (`build_map(..., controlled=False)`: `source` "synthetic";
anyone can compute every figure from the CSVs, so withholding one would hide nothing); an aggregate
release's map holds the real dataset's counts under the profile's controls (`source` "real").
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from synth import journeys
from synth.disclosure.profiles import Profile
from synth.stages import EXIT_STAGES, STAGE_LABELS, STAGES

MAP_FORMAT, MAP_VERSION = "frontdoor-map", 1
TOP_JOURNEYS = 20
FRONT_DOOR_STAGES = frozenset({"contact", "iag", "referral"})


def round_to(values: np.ndarray, base: int) -> np.ndarray:
    if base <= 1:
        return np.asarray(values, dtype=np.int64)
    return (np.floor(np.asarray(values, dtype=float) / base + 0.5) * base).astype(np.int64)


def primary_suppression(values: np.ndarray, view_size: np.ndarray, profile: Profile) -> np.ndarray:
    values = np.asarray(values)
    small = (values > 0) & (values < profile.min_cell)
    zero = values == 0
    if profile.zeros_always_disclosive:
        small |= zero
    elif profile.zero_view_size is not None:
        small |= zero & (np.asarray(view_size) < profile.zero_view_size)
    return small


def secondary_suppression(cells: pd.DataFrame, groups: pd.DataFrame, keep: set | None = None) -> np.ndarray:
    """`cells`: cell, value, suppressed. `groups`: group, cell (cells that add up to a total).
    `keep`: cells withheld only when no other cell of a group can be (the map's "all" view: the totals
    every breakdown adds up to). Without it a total ties with a part of equal value (every other part
    zero) and, being first by name, is withheld: one small UASC view then withholds a council's whole map.

    Returns the new suppressed flags: no group is left with exactly one withheld cell."""
    suppressed = cells.set_index("cell")["suppressed"].copy()
    value = cells.set_index("cell")["value"]
    g = groups.copy()
    g["value"] = g["cell"].map(value).to_numpy()
    g["kept"] = g["cell"].isin(keep or set()).to_numpy()
    while True:
        g["s"] = g["cell"].map(suppressed).to_numpy()
        per = g.groupby("group")["s"].agg(["sum", "size"])
        lonely = per.index[(per["sum"] == 1) & (per["size"] > 1)]
        if not len(lonely):
            break
        cand = g[g["group"].isin(lonely) & ~g["s"]].sort_values(["group", "kept", "value", "cell"])
        pick = cand.drop_duplicates("group")["cell"]
        if pick.empty:
            break
        suppressed[pick.to_numpy()] = True
    return suppressed.reindex(cells["cell"]).to_numpy()


def control_cells(cells: pd.DataFrame, groups: pd.DataFrame, profile: Profile, totals: set | None = None,
                  keep: set | None = None) -> pd.DataFrame:
    """Apply primary and secondary suppression and rounding to a table of counts.

    `cells`: cell (id), value (children), view_size (children in the cell's view).
    `groups`: group, cell. Cells whose id is in `totals` are rounded as totals; cells in `keep` are
    the last chosen for secondary suppression (see `secondary_suppression`).
    Returns cells with `suppressed` and `published` (None where withheld)."""
    out = cells.copy()
    out["suppressed"] = primary_suppression(out["value"].to_numpy(), out["view_size"].to_numpy(), profile)
    if len(groups):
        out["suppressed"] = secondary_suppression(out[["cell", "value", "suppressed"]], groups, keep)
    is_total = out["cell"].isin(totals or set()).to_numpy()
    rounded = np.where(is_total, round_to(out["value"], profile.round_totals), round_to(out["value"], profile.round_counts))
    # Rounding never turns a published non-zero count into zero.
    rounded = np.where((rounded == 0) & (out["value"].to_numpy() > 0), profile.round_counts, rounded)
    out["published"] = pd.array(np.where(out["suppressed"], 0, rounded), dtype="Int64")
    out.loc[out["suppressed"], "published"] = pd.NA
    return out


def dominance_ok(total: np.ndarray, top1: np.ndarray, top2: np.ndarray, profile: Profile) -> np.ndarray:
    """The (n=2, k) dominance rule, and the p-ratio rule where the profile has one."""
    total = np.asarray(total, dtype=float)
    ok = (np.asarray(top1) + np.asarray(top2)) <= profile.dominance_k * total
    ok |= total == 0
    if profile.p_ratio is not None:
        rest = total - np.asarray(top1) - np.asarray(top2)
        ok &= (rest >= profile.p_ratio * np.asarray(top1)) | (total == 0)
    return ok


# ----------------------------------------------------------------------------------------------
# The map of a set of (synthetic) journeys.
def _view_frames(events: pd.DataFrame, episodes: pd.DataFrame, children: pd.DataFrame):
    """Events, moves and episodes labelled with every classification."""
    cls = journeys.classify_episodes(episodes, children)
    tr = journeys.transitions(events).merge(cls, on=["child_key", "episode_no"], how="left")
    ev = events[["child_key", "episode_no", "stage"]].merge(cls, on=["child_key", "episode_no"], how="left")
    eps = episodes[["child_key", "episode_no", "path"]].merge(cls, on=["child_key", "episode_no"], how="left")
    return cls, ev, tr, eps


def _stats(ev: pd.DataFrame, tr: pd.DataFrame, eps: pd.DataFrame, by: list[str]):
    nodes = ev.groupby([*by, "stage"])["child_key"].nunique().rename("children").reset_index()
    g = tr.groupby([*by, "source", "target"])
    edges = g.agg(children=("child_key", "nunique"), moves=("days", "size"), sum_days=("days", "sum"),
                  median_days=("days", "median"), p25_days=("days", lambda s: s.quantile(0.25)),
                  p75_days=("days", lambda s: s.quantile(0.75))).reset_index() if len(tr) else pd.DataFrame()
    if len(tr):  # the two largest contributions to each move's summed days (for the dominance rule)
        keys = [*by, "source", "target"]
        ranked = tr.sort_values("days", ascending=False, kind="mergesort")
        rank = ranked.groupby(keys).cumcount()
        for i, name in enumerate(("top1", "top2")):
            top = ranked[rank == i][[*keys, "days"]].rename(columns={"days": name})
            edges = edges.merge(top, on=keys, how="left")
        edges[["top1", "top2"]] = edges[["top1", "top2"]].fillna(0)
    paths = eps.groupby([*by, "path"])["child_key"].nunique().rename("children").reset_index()
    size = ev.groupby(by)["child_key"].nunique().rename("view_size").reset_index() if by else None
    return nodes, edges, paths, size


def uncontrolled(profile: Profile) -> Profile:
    """The profile's rules with every aggregate control switched off: nothing withheld, nothing rounded,
    durations shown over any number of children (for maps of published synthetic records)."""
    return replace(profile, min_cell=1, round_counts=1, round_totals=1, zero_view_size=None,  # k=1: two children's
                   zeros_always_disclosive=False, min_children_for_median=1, dominance_k=1.0, p_ratio=None)  # days <= all


def build_map(events: pd.DataFrame, episodes: pd.DataFrame, children: pd.DataFrame, profile: Profile,
              window: dict | None = None, controlled: bool = True) -> tuple[dict, pd.DataFrame]:
    """The map.json, and the cell table behind it (for the checks).

    `controlled` (real counts, an aggregate release): the profile's suppression, rounding and duration
    rules apply, and the map says `source` "real". Not controlled (a synthetic release's own records):
    every count exact, nothing withheld, `source` "synthetic"; the map still names the release's profile."""
    named, real_counts = profile, controlled
    if not controlled:
        profile = uncontrolled(profile)
    cls, ev, tr, eps = _view_frames(events, episodes, children)
    views: list[tuple[str, str | None, str | None]] = [("all", None, None)]
    frames = []
    n_all = int(children["child_key"].nunique())
    nodes, edges, paths, _ = _stats(ev.assign(v="all"), tr.assign(v="all"), eps.assign(v="all"), ["v"])
    frames.append((nodes, edges, paths, pd.DataFrame({"v": ["all"], "view_size": [n_all]})))
    for name in journeys.CLASSIFICATIONS:
        n, e, p, size = _stats(ev, tr, eps, [name])
        n, e, p, size = (x.rename(columns={name: "value"}).assign(v=lambda d, nm=name: nm + "=" + d["value"].astype(str))
                         .drop(columns="value") for x in (n, e, p, size))
        frames.append((n, e, p, size))
        views += [(v, name, v.split("=", 1)[1]) for v in size["v"]]
    nodes = pd.concat([f[0] for f in frames], ignore_index=True)
    edges = pd.concat([f[1] for f in frames], ignore_index=True)
    paths = pd.concat([f[2] for f in frames], ignore_index=True)
    sizes = pd.concat([f[3] for f in frames], ignore_index=True).set_index("v")["view_size"]

    # Every view lists every node and every move of the whole map (zeros where none).
    view_ids = list(sizes.index)
    all_nodes = pd.MultiIndex.from_product([view_ids, STAGES], names=["v", "stage"]).to_frame(index=False)
    nodes = all_nodes.merge(nodes, on=["v", "stage"], how="left").fillna({"children": 0})
    moves = edges.loc[edges["v"] == "all", ["source", "target"]]
    all_edges = pd.MultiIndex.from_product([view_ids, range(len(moves))], names=["v", "m"]).to_frame(index=False)
    all_edges = all_edges.join(moves.reset_index(drop=True), on="m").drop(columns="m")
    edges = all_edges.merge(edges, on=["v", "source", "target"], how="left").fillna(
        {"children": 0, "moves": 0, "sum_days": 0, "top1": 0, "top2": 0})

    nodes["cell"] = "n|" + nodes["v"] + "|" + nodes["stage"]
    edges["cell"] = "e|" + edges["v"] + "|" + edges["source"] + ">" + edges["target"]
    totals = {f"t|{v}" for v in view_ids}
    cells = pd.concat([
        pd.DataFrame({"cell": nodes["cell"], "value": nodes["children"], "v": nodes["v"]}),
        pd.DataFrame({"cell": edges["cell"], "value": edges["children"], "v": edges["v"]}),
        pd.DataFrame({"cell": [f"t|{v}" for v in view_ids], "value": sizes.to_numpy(), "v": view_ids}),
    ], ignore_index=True)
    cells["view_size"] = cells["v"].map(sizes).to_numpy()
    cells["value"] = cells["value"].astype(np.int64)

    # Groups that add up: moves out of one stage in one view; one cell across a classification's values + all.
    out_groups = edges.assign(group="out|" + edges["v"] + "|" + edges["source"])[["group", "cell"]]
    view_cls = {v: c for v, c, _ in views}
    across = []
    for frame, key in ((nodes, "stage"), (edges, None)):
        item = frame["stage"] if key else frame["source"] + ">" + frame["target"]
        prefix = "n|" if key else "e|"
        c = frame["v"].map(view_cls)
        part = pd.DataFrame({"group": "across|" + c.fillna("") + "|" + prefix + item, "cell": frame["cell"]})
        part = part[c.notna().to_numpy()]
        totals_rows = frame[frame["v"] == "all"]
        titem = totals_rows["stage"] if key else totals_rows["source"] + ">" + totals_rows["target"]
        for name in journeys.CLASSIFICATIONS:
            across.append(pd.DataFrame({"group": f"across|{name}|" + prefix + titem, "cell": totals_rows["cell"]}))
        across.append(part)
    view_totals = pd.DataFrame({"group": [f"across|{view_cls[v]}|total" if view_cls[v] else "x" for v in view_ids],
                                "cell": [f"t|{v}" for v in view_ids]})
    view_totals = pd.concat([view_totals[view_totals["group"] != "x"]] +
                            [pd.DataFrame({"group": [f"across|{n}|total"], "cell": ["t|all"]})
                             for n in journeys.CLASSIFICATIONS], ignore_index=True)
    groups = pd.concat([out_groups, *across, view_totals], ignore_index=True)
    controlled = control_cells(cells, groups, profile, totals, keep=set(cells.loc[cells["v"] == "all", "cell"]))
    pub = controlled.set_index("cell")

    # Durations: only over enough children, means only when no two children dominate.
    enough = edges["children"] >= profile.min_children_for_median
    edge_sup = pub.loc[edges["cell"], "suppressed"].to_numpy()
    show_days = enough.to_numpy() & ~edge_sup
    mean_ok = show_days & dominance_ok(edges["sum_days"], edges["top1"], edges["top2"], profile)
    moves_pub = np.where(edge_sup, np.nan, round_to(edges["moves"], profile.round_counts))
    edges["moves_pub"] = moves_pub
    out_total = edges.groupby(["v", "source"])["moves_pub"].transform(lambda s: s.sum(min_count=1))

    def days(col: str, mask: np.ndarray) -> list:
        return [None if not m or pd.isna(x) else int(round(x)) for x, m in zip(edges[col], mask)]

    mean = np.where(edges["moves"] > 0, edges["sum_days"] / edges["moves"].replace(0, np.nan), np.nan)
    edge_rows = pd.DataFrame({
        "v": edges["v"], "source": edges["source"], "target": edges["target"],
        "children": pub.loc[edges["cell"], "published"].to_numpy(),
        "suppressed": edge_sup,
        "moves": [None if np.isnan(x) else int(x) for x in moves_pub],
        "share": [None if (np.isnan(m) or not t) else round(float(m / t), 3) for m, t in zip(moves_pub, out_total)],
        "median_days": days("median_days", show_days), "p25_days": days("p25_days", show_days),
        "p75_days": days("p75_days", show_days),
        "mean_days": [None if not ok or np.isnan(x) else round(float(x), 1) for x, ok in zip(mean, mean_ok)],
        "durations_suppressed": ~show_days if real_counts else np.zeros(len(edges), dtype=bool),
    })
    node_rows = pd.DataFrame({"v": nodes["v"], "stage": nodes["stage"],
                              "children": pub.loc[nodes["cell"], "published"].to_numpy(),
                              "suppressed": pub.loc[nodes["cell"], "suppressed"].to_numpy()})

    # Top journeys per view (primary suppression and rounding: they are not published with totals).
    paths = paths.sort_values(["v", "children"], ascending=[True, False]).groupby("v").head(TOP_JOURNEYS * 2)
    paths = paths[paths["children"] >= profile.min_cell]
    paths = paths.groupby("v").head(TOP_JOURNEYS).copy()
    paths["published"] = round_to(paths["children"], profile.round_counts)

    out_views = {}
    for v, c, value in views:
        total = pub.loc[f"t|{v}"]
        nv = node_rows[node_rows["v"] == v].drop(columns="v")
        evv = edge_rows[edge_rows["v"] == v].drop(columns="v")
        pv = paths[paths["v"] == v]
        out_views[v] = {
            "classification": c, "value": value,
            "children": None if total["suppressed"] else int(total["published"]),
            "suppressed": bool(total["suppressed"]),
            "nodes": _records(nv), "edges": _records(evv),
            "top_journeys": [{"path": p, "children": int(n)} for p, n in zip(pv["path"], pv["published"])],
        }
    labels = {name: {"label": lab, "values": sorted({value for _, c, value in views if c == name})}
              for name, (lab, _) in journeys.CLASSIFICATIONS.items()}
    map_json = {
        "format": MAP_FORMAT, "version": MAP_VERSION,
        "profile": {"name": named.name, "version": named.version},
        "source": "real" if real_counts else "synthetic",
        "kind": "aggregate" if real_counts else "synthetic",
        "window": window,
        "stages": [{"id": s, "label": STAGE_LABELS[s], "exit": s in EXIT_STAGES,
                    "lane": "front_door" if s in FRONT_DOOR_STAGES else "district"} for s in STAGES],
        "classifications": labels,
        "views": out_views,
    }
    table = controlled.assign(kind=controlled["cell"].str[0])
    return map_json, table.assign(groups_ok=_groups_ok(controlled, groups))


def _groups_ok(controlled: pd.DataFrame, groups: pd.DataFrame) -> bool:
    s = groups.assign(s=groups["cell"].map(controlled.set_index("cell")["suppressed"]))
    per = s.groupby("group")["s"].agg(["sum", "size"])
    return bool(not ((per["sum"] == 1) & (per["size"] > 1)).any())


def _records(df: pd.DataFrame) -> list[dict]:
    out = []
    for r in df.to_dict("records"):
        out.append({k: (None if v is pd.NA or (isinstance(v, float) and np.isnan(v)) else
                        bool(v) if isinstance(v, np.bool_ | bool) else
                        int(v) if isinstance(v, np.integer) else v) for k, v in r.items()})
    return out
