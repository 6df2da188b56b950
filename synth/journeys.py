"""Journeys: the event log linked into episodes, and the journey graph with its flow statistics.

An episode (one journey through the front door) starts at a contact or referral and ends at an
exit (`iag`, `nfa`, `other`, or early help that no step-up followed within six months) or at the
end of what the data shows (censored). Episodes already open when the data begins (a CIN plan
that started before the window) start at that stage and are marked left-censored: no contact is
invented for them. A child's repeat number is the episode number.

Everything here is vectorised over the whole table; nothing loops over children.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from synth.schema import AGE_BANDS, EPISODES_COLUMNS, MISSING_BANDS, SOURCE_CODES, SOURCE_GROUP_LABELS
from synth.stages import (
    EXIT_STAGES,
    HARD_EXITS,
    SOFT_EXIT,
    STAGE_LABELS,
    STAGE_ORDER,
    STAGES,
    START_STAGES,
    STEP_UP_DAYS,
    allowed_edges,
)

_ALLOWED_KEYS = frozenset(f"{a}>{b}" for a, b in allowed_edges())


def link_episodes(events: pd.DataFrame, key: str = "child_key") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Number each child's episodes and steps. `events` must be in time and process order per child.

    Returns (events with `episode_no` and `step`, episodes).
    """
    ev = events.reset_index(drop=True).copy()
    child = ev[key]
    stage = ev["stage"]
    first = child.ne(child.shift())
    prev = stage.shift()
    gap = (ev["date"] - ev["date"].shift()).dt.days
    is_start = stage.isin(START_STAGES)
    allowed = (prev.fillna("") + ">" + stage).isin(_ALLOWED_KEYS)
    step_up = is_start & allowed & (gap <= STEP_UP_DAYS)
    new = (
        first
        | prev.isin(HARD_EXITS)
        | (prev.eq(SOFT_EXIT) & ~step_up)
        | (is_start & ~allowed)
    )
    ev["episode_no"] = new.astype(np.int32).groupby(child).cumsum().astype(np.int32)
    ev["step"] = ev.groupby([key, "episode_no"]).cumcount().astype(np.int32)
    return ev, episodes_from_events(ev, key)


def _joined(values: pd.Series, starts: np.ndarray, sep: str) -> np.ndarray:
    """Join runs of consecutive strings (episode i spans values[starts[i]:starts[i+1]]) in C++."""
    offsets = np.append(starts, len(values)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values.to_numpy(dtype=object), pa.string()))
    return pc.binary_join(lists, sep).to_numpy(zero_copy_only=False)


def episodes_from_events(ev: pd.DataFrame, key: str = "child_key") -> pd.DataFrame:
    """One row per episode: its path of stages, day offsets, exit and censoring.

    `ev` holds each episode's events together and in order (as `link_episodes` leaves them).
    """
    first = (ev["step"] == 0).to_numpy()
    starts = np.flatnonzero(first)
    ep_index = np.cumsum(first) - 1
    start_date = ev["date"].to_numpy()[starts]
    offsets = (ev["date"].to_numpy() - start_date[ep_index]).astype("timedelta64[D]").astype(np.int64)
    last = np.append(starts[1:], len(ev)) - 1
    g = ev.groupby(ep_index, sort=False)
    eps = pd.DataFrame({
        key: ev[key].to_numpy()[starts],
        "episode_no": ev["episode_no"].to_numpy()[starts],
        "path": _joined(ev["stage"], starts, ">"),
        "days": _joined(pd.Series(offsets).astype(str), starts, ";"),
        "n_steps": np.diff(np.append(starts, len(ev))).astype(np.int32),
        "start_date": start_date,
        "end_date": ev["date"].to_numpy()[last],
        "first_stage": ev["stage"].to_numpy()[starts],
        "last_stage": ev["stage"].to_numpy()[last],
        "source": g["source"].first().to_numpy(),
        "team": g["team"].last().to_numpy(),
    })
    eps["duration_days"] = (eps["end_date"] - eps["start_date"]).dt.days.astype(np.int32)
    eps["exit"] = eps["last_stage"].where(eps["last_stage"].isin(EXIT_STAGES))
    eps["censored"] = eps["exit"].isna()
    eps["left_censored"] = ~eps["first_stage"].isin(START_STAGES)
    return eps[[key, *EPISODES_COLUMNS[1:]]]  # the child's key column is named by the caller


# ----------------------------------------------------------------------------------------------
# Classifications: the ways a map can be split and dots coloured.
def _band(values: pd.Series, edges: list[int], labels: tuple[str, ...], missing: str) -> pd.Series:
    out = pd.cut(values.astype(float), bins=edges, labels=labels, right=False).astype(object)
    return out.where(values.notna(), missing)


def age_band(age: pd.Series) -> pd.Series:
    return _band(age, [-1, 0, 1, 5, 10, 16, 200], AGE_BANDS, "Not known")


def missing_band(n: pd.Series) -> pd.Series:
    return _band(n.fillna(0), [0, 1, 2, 6, 10**6], MISSING_BANDS, MISSING_BANDS[0])


def source_group(source: pd.Series) -> pd.Series:
    groups = {code: SOURCE_GROUP_LABELS[g] for code, (g, _) in SOURCE_CODES.items()}
    return source.map(groups).fillna("Not recorded")


def repeat_band(episode_no: pd.Series) -> pd.Series:
    return episode_no.clip(upper=5).astype(int).astype(str).replace("5", "5+")


# name -> (label, function of the episode-level frame that returns the value per episode)
CLASSIFICATIONS: dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "repeat": ("Repeat number", lambda e: repeat_band(e["episode_no"])),
    "age_band": ("Age band", lambda e: e["age_band"]),
    "sex": ("Sex", lambda e: e["sex"].fillna("not_stated")),
    "ethnicity_group": ("Ethnicity group", lambda e: e["ethnicity_group"].fillna("Not known")),
    "disability": ("Disability", lambda e: e["disability"].fillna("unknown")),
    "uasc": ("UASC / asylum status", lambda e: e["uasc"].fillna("no")),
    "referral_source": ("Referral source", lambda e: source_group(e["source"])),
    "team": ("Team", lambda e: e["team"].fillna("Not recorded")),
    "missing": ("Missing episodes", lambda e: missing_band(e["missing_episodes"])),
    "year": ("Year (April to March) the journey began", lambda e: financial_year(e["start_date"])),
}


def financial_year(dates: pd.Series) -> pd.Series:
    """`2021-22` for dates from 1 April 2021 to 31 March 2022."""
    start = dates.dt.year - (dates.dt.month < 4).astype(int)
    return start.astype(str) + "-" + ((start + 1) % 100).astype(str).str.zfill(2)


def classify_episodes(episodes: pd.DataFrame, children: pd.DataFrame, key: str = "child_key",
                      names: list[str] | None = None) -> pd.DataFrame:
    """Per episode, its value under each classification (all by default; columns named as CLASSIFICATIONS)."""
    e = episodes.merge(children, on=key, how="left", suffixes=("", "_child"))
    out = episodes[[key, "episode_no"]].copy()
    for name in names or CLASSIFICATIONS:
        out[name] = CLASSIFICATIONS[name][1](e).astype(str).to_numpy()
    return out


# ----------------------------------------------------------------------------------------------
# Flow statistics.
def transitions(events: pd.DataFrame, key: str = "child_key") -> pd.DataFrame:
    """Every move between consecutive stages of one episode, with its duration in days."""
    nxt = events[[key, "episode_no", "stage", "date"]].shift(-1)
    same = nxt[key].eq(events[key]) & nxt["episode_no"].eq(events["episode_no"])
    t = pd.DataFrame({
        key: events[key],
        "episode_no": events["episode_no"],
        "source": events["stage"],
        "target": nxt["stage"],
        "days": (nxt["date"] - events["date"]).dt.days,
    })[same]
    t["days"] = t["days"].astype(np.int32)
    return t.reset_index(drop=True)


def _quantiles(grouped, col: str) -> pd.DataFrame:
    q = grouped[col].quantile([0.25, 0.5, 0.75]).unstack()
    q.columns = ["p25_days", "median_days", "p75_days"]
    return q


def flow_tables(events: pd.DataFrame, episodes: pd.DataFrame, children: pd.DataFrame,
                by: str | None = None, key: str = "child_key") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node and edge statistics, optionally split by one classification.

    Nodes: children, episodes and events reaching each stage, episodes starting and ending there.
    Edges: moves, children, share of the source node's outflow, and mean/median/P25/P75 days.
    """
    if by is not None and by not in CLASSIFICATIONS:
        raise ValueError(f"unknown classification {by!r}; choose one of {', '.join(CLASSIFICATIONS)}")
    ev = events[[key, "episode_no", "stage", "date"]]
    split: list[str] = []
    eps = episodes
    if by is not None:
        cls = classify_episodes(episodes, children, key, [by])
        ev = ev.merge(cls, on=[key, "episode_no"], how="left")
        eps = episodes.merge(cls, on=[key, "episode_no"], how="left")
        split = [by]

    per_node = ev.groupby([*split, "stage"])
    nodes = pd.concat([
        per_node[key].nunique().rename("children"),
        ev.drop_duplicates([*split, "stage", key, "episode_no"]).groupby([*split, "stage"]).size().rename("episodes"),
        per_node.size().rename("events"),
    ], axis=1)
    starts = eps.groupby([*split, "first_stage"]).size().rename("episodes_started")
    starts.index = starts.index.set_names([*split, "stage"])
    ends = eps.assign(end_stage=eps["path"].str.rsplit(">", n=1).str[-1]).groupby(
        [*split, "end_stage"]).size().rename("episodes_ended")
    ends.index = ends.index.set_names([*split, "stage"])
    nodes = nodes.join(starts, how="left").join(ends, how="left").fillna(0).astype(np.int64).reset_index()

    tr = transitions(events, key)
    if by is not None:
        tr = tr.merge(cls, on=[key, "episode_no"], how="left")
    g = tr.groupby([*split, "source", "target"])
    edges = g.agg(moves=("days", "size"), children=(key, "nunique"), mean_days=("days", "mean"))
    edges = edges.join(_quantiles(g, "days")).reset_index()
    out_total = edges.groupby([*split, "source"])["moves"].transform("sum")
    edges["share"] = edges["moves"] / out_total
    nodes["_o"] = nodes["stage"].map(STAGE_ORDER)
    edges["_o"] = edges["source"].map(STAGE_ORDER) * 100 + edges["target"].map(STAGE_ORDER)
    nodes = nodes.sort_values([*split, "_o"]).drop(columns="_o").reset_index(drop=True)
    edges = edges.sort_values([*split, "_o"]).drop(columns="_o").reset_index(drop=True)
    return nodes, edges


def journey_graph(events: pd.DataFrame, episodes: pd.DataFrame, children: pd.DataFrame,
                  by: str | None = None, key: str = "child_key") -> nx.DiGraph:
    """The journey graph. Node and edge attributes hold the flow statistics; with `by`, each
    attribute is keyed by the classification's values (`graph.nodes['contact']['split'][value]`)."""
    nodes, edges = flow_tables(events, episodes, children, by=by, key=key)
    graph = nx.DiGraph(classification=by)
    for stage in STAGES:
        graph.add_node(stage, label=STAGE_LABELS[stage], exit=stage in EXIT_STAGES)
    if by is None:
        for row in nodes.to_dict("records"):
            graph.nodes[row.pop("stage")].update(row)
        for row in edges.to_dict("records"):
            graph.add_edge(row.pop("source"), row.pop("target"), **row)
        return graph
    for row in nodes.to_dict("records"):
        value = row.pop(by)
        graph.nodes[row.pop("stage")].setdefault("split", {})[value] = row
    for row in edges.to_dict("records"):
        value = row.pop(by)
        s, t = row.pop("source"), row.pop("target")
        if not graph.has_edge(s, t):
            graph.add_edge(s, t, split={})
        graph.edges[s, t]["split"][value] = row
    return graph


# ----------------------------------------------------------------------------------------------
# Headline rates (DOMAIN.md section 4), from the event log.
def edge_share(edges: pd.DataFrame, source: str, target: str) -> float:
    out = edges[edges["source"] == source]
    total = out["moves"].sum()
    hit = out.loc[out["target"] == target, "moves"].sum()
    return float(hit / total) if total else float("nan")


def rereferral_rate(events: pd.DataFrame, key: str = "child_key", lookback_days: int = 365) -> float:
    """Share of referrals that follow another referral of the same child within 12 months.

    Only referrals made at least `lookback_days` after the first referral in the data are counted,
    so that the first year (whose earlier referrals we cannot see) does not lower the rate.
    """
    ref = events.loc[events["stage"] == "referral", [key, "date"]].sort_values([key, "date"])
    if ref.empty:
        return float("nan")
    prev_same = ref[key].eq(ref[key].shift())
    gap = (ref["date"] - ref["date"].shift()).dt.days
    is_re = prev_same & (gap <= lookback_days)
    counted = ref["date"] >= ref["date"].min() + pd.Timedelta(days=lookback_days)
    return float(is_re[counted].mean()) if counted.any() else float("nan")


def headline_rates(events: pd.DataFrame, key: str = "child_key") -> dict[str, float]:
    """The rates the fake council is calibrated to and the generators are judged on."""
    tr = transitions(events, key)
    edges = tr.groupby(["source", "target"]).size().rename("moves").reset_index()
    assess = tr.loc[tr["source"] == "assessment", "days"]
    return {
        "contact_to_referral": edge_share(edges, "contact", "referral"),
        "referral_nfa": edge_share(edges, "referral", "nfa"),
        "referral_to_assessment": edge_share(edges, "referral", "assessment"),
        "s47_to_icpc": edge_share(edges, "s47", "icpc"),
        "icpc_to_cp_plan": edge_share(edges, "icpc", "cp_plan"),
        "rereferral_12m": rereferral_rate(events, key),
        "median_assessment_days": float(assess.median()) if len(assess) else float("nan"),
    }


def summary(events: pd.DataFrame, episodes: pd.DataFrame, children: pd.DataFrame,
            key: str = "child_key") -> dict:
    """Counts and headline rates for a dataset, as printed by `frontdoor journeys`."""
    return {
        "children": int(children[key].nunique()),
        "events": int(len(events)),
        "episodes": int(len(episodes)),
        "censored_episodes": int(episodes["censored"].sum()),
        "left_censored_episodes": int(episodes["left_censored"].sum()),
        "first_date": str(events["date"].min().date()) if len(events) else None,
        "last_date": str(events["date"].max().date()) if len(events) else None,
        "rates": headline_rates(events, key),
    }
