"""The journey model's tables under differential privacy: what is measured, over which public
domain, with which sensitivity.

Nothing here looks at the real children except child by child or through `PrivacyBudget`:
- `public_inputs` maps every value to its public domain child by child (code lists, the grammar,
  the declared window): no rare-value merge, no tail clip and no window read off the data, since
  each of those depends on other children and would change a table by more than its sensitivity
  when one child comes or goes (issue 12: removing one of 10 UASC children changed a table by 19);
- contributions are bounded by fixed rules: a child's first `MAX_EPISODES` episodes, `MAX_STEPS`
  moves per episode, and for next-stage and duration counts one of those episodes, picked by a
  keyed hash of the child's own key;
- each table below is one measurement (`PrivacyBudget.noisy_counts`, OpenDP) with the sensitivity
  written beside it; `tests/unit/test_dp_sensitivity.py` removes each child of a small council in
  turn, with noise off, and checks every table moves by at most that.

| table | domain | sensitivity |
|---|---|---|
| children (MST) | 16 public columns: attributes and journey summary | 1 per marginal, 1 per pair score |
| next-stage counts | (stage, history, next) of the grammar | MAX_STEPS + 2 (one episode: opening, moves, end) |
| day histograms | (stage, next, day bin) | MAX_STEPS |
| starts | start week of the declared window, or 30-day offset before it | 1 (one first episode) |
| gaps, followed, exposure | (history 2n/2y, day bin) / history | MAX_EPISODES each |
| details | (move, code) of public code lists; sources by (start stage, history) | MAX_EPISODES x (MAX_STEPS + 1); MAX_EPISODES |
| home teams | team names (stability histogram, delta) | 1 |
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.journeys import episodes_from_events, source_group
from synth.models import prepare
from synth.models.attributes import DP_DOMAINS
from synth.models.base import Window
from synth.models.journey_details import DETAIL_FIELDS, PUBLIC_DOMAINS, detail_frames
from synth.models.journey_tables import bin_counts, level_table, training_moves
from synth.models.journey_vocab import (
    DP_DAY_BINS,
    END,
    LC_OFFSET_BINS,
    LC_START,
    START,
    START_BIN_DAYS,
    bin_of,
    transition_domain,
)
from synth.models.mst import CHILD_DOMAINS, MSTChildren
from synth.models.privacy import MAX_EPISODES, MAX_STEPS, PrivacyBudget, norm_sub
from synth.schema import SOURCE_CODES
from synth.stages import STAGES, START_STAGES

DP_LEVELS = (("cur", "history"), ("cur",))
DP_DURATION_LEVELS = (("cur", "next"), ("cur",))
DP_HISTORIES = ("1", "2n", "2y")
UNKNOWN_SOURCE = "10"
RELIABLE_SD = 2.0  # a finer context is used where its noisy total is this many noise SDs clear
MAX_LC_OFFSET = 3652  # days before the window an open episode may have begun (ten years; public)


# ----------------------------------------------------------------------------------------------
# Public domains, child by child.
def public_inputs(children: pd.DataFrame, events: pd.DataFrame, window: Window
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Children, events and episodes inside the declared window, every value in its public domain.

    Events after the window's end are dropped (an episode they would have closed is then still open
    at the end); a child with no event left is dropped. Each rule reads one child's own records."""
    ev = events[events["date"] <= window.end].copy()
    ev = ev.sort_values(["child_key", "episode_no", "step"], kind="mergesort").reset_index(drop=True)
    ev["step"] = ev.groupby(["child_key", "episode_no"]).cumcount()
    known = ev["source"].isin(list(SOURCE_CODES))
    ev["source"] = ev["source"].where(known | ev["source"].isna(), UNKNOWN_SOURCE)
    for col in ("need_code", "abuse_category", "closure_reason"):
        ev[col] = ev[col].where(ev[col].isin(PUBLIC_DOMAINS[col]))
    # Episodes numbered 1, 2, ... per child in date order, whatever the input said: the contribution
    # bounds (first MAX_EPISODES episodes) rely on it.
    ev["episode_no"] = ev.groupby("child_key")["episode_no"].rank(method="dense").astype(np.int64)
    eps = episodes_from_events(ev)
    kids = children[children["child_key"].isin(ev["child_key"])].copy().reset_index(drop=True)
    fallbacks = {"sex": "not_stated", "ethnicity_group": "Not known", "disability": "unknown", "uasc": "no"}
    for col, fallback in fallbacks.items():
        kids[col] = kids[col].astype(object).where(kids[col].isin(DP_DOMAINS[col]), fallback)
    for col in ("age_at_first_contact", "missing_episodes", "previous_cp_plans"):
        domain = DP_DOMAINS[col]
        kids[col] = pd.to_numeric(kids[col], errors="coerce").fillna(0 if col != "age_at_first_contact" else -1)
        kids[col] = kids[col].round().clip(lower=min(domain), upper=max(domain)).astype(np.int64)
    return kids, ev, eps


def child_records(kids: pd.DataFrame, ev: pd.DataFrame, eps: pd.DataFrame) -> pd.DataFrame:
    """One record per child over `CHILD_DOMAINS`: attributes and a summary of the journeys."""
    keys = kids["child_key"]
    reached = prepare.reach(ev, keys)
    s47 = keys.isin(ev.loc[ev["stage"] == "s47", "child_key"]).to_numpy()
    n_eps = keys.map(eps.groupby("child_key").size()).fillna(1).astype(int).clip(1, 4)
    first = eps[eps["episode_no"] == eps.groupby("child_key")["episode_no"].transform("min")].drop_duplicates(
        "child_key").set_index("child_key")
    yes = np.array(["no", "yes"], dtype=object)
    rec = kids[["sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc", "missing_episodes",
                "previous_cp_plans"]].reset_index(drop=True).copy()
    rec["episodes"] = n_eps.astype(str).to_numpy()
    rec["referred"] = prepare.intensity(eps, keys).to_numpy()
    days = (ev["date"] - pd.Timestamp("1970-01-01")).dt.days
    rec["rereferred"] = yes[keys.isin(prepare.rereferred_children(ev["child_key"], ev["stage"], days)).to_numpy().astype(int)]
    rec["assessed"] = yes[reached["assessed"].to_numpy().astype(int)]
    rec["s47"] = yes[s47.astype(int)]
    rec["cp"] = yes[reached["cp"].to_numpy().astype(int)]
    rec["cla"] = yes[reached["cla"].to_numpy().astype(int)]
    stages = first["path"].str.split(">")
    rec["first_route"] = prepare.first_route(keys.map(stages.str[0]).to_numpy(), keys.map(stages.str[1]).to_numpy(),
                                     keys.map(first["left_censored"]).fillna(False).to_numpy(dtype=bool))
    rec["source_group"] = source_group(keys.map(first["source"])).to_numpy()
    return rec[list(CHILD_DOMAINS)]


# ----------------------------------------------------------------------------------------------
# The measurements.
def fit_private(children: pd.DataFrame, events: pd.DataFrame, window: Window, spec, budget: PrivacyBudget,
                estimate: bool = True) -> tuple[dict, dict[str, pd.DataFrame], MSTChildren]:
    """Everything the private journey model learns: (params, tables, the MST child model).
    `estimate=False`: measurements only, no graphical model (for the empirical audit)."""
    kids, ev, eps = public_inputs(children, events, window)
    eps["history"] = prepare.history_dp(eps)
    children_model = MSTChildren.fit(child_records(kids, ev, eps), budget, estimate=estimate)
    bounded_ev = ev[(ev["episode_no"] <= MAX_EPISODES) & (ev["step"] <= MAX_STEPS)]
    bounded_eps = eps[eps["episode_no"] <= MAX_EPISODES]
    ctx = prepare.child_context(kids)
    moves = training_moves(bounded_ev, bounded_eps, ctx, window, weighted=False)
    one = one_episode_per_child(moves, spec.seed)
    tables = {"transitions": transitions(one, budget), "durations": durations(one, budget)}
    tables["starts"], lc_share = starts(eps, window, budget)
    tables["repeats"], tables["gaps"] = repeats(eps, window, budget)
    tables["details"] = details(bounded_ev, bounded_eps, budget)
    tables["recorded"] = pd.DataFrame(columns=["field", "context", "value", "count"])
    params = {
        "window": window.to_dict(), "min_children": spec.min_children, "lc_share": lc_share, "private": True,
        "attributes": "mst", "levels": [list(x) for x in DP_LEVELS],
        "duration_levels": [list(x) for x in DP_DURATION_LEVELS], "day_bins": DP_DAY_BINS.tolist(),
        "privacy": {**budget.accounting(), "training_children_noisy": children_model.state["noisy_children"],
                    "training_children_bound95": children_model.state["noisy_children_bound95"]},
        "tail_children": None, "max_episode_days": None,
        "noisy_children": children_model.state["noisy_children"],
    }
    return params, tables, children_model


def one_episode_per_child(moves: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The moves of one episode per child, picked by a seeded hash of the child's key and episode number.

    Taking one episode per child bounds what one child adds to a next-stage or duration table (MAX_STEPS
    + 2 moves instead of MAX_EPISODES times as many), and so the noise. The pick depends on that child
    alone and not on the moves, so next-stage chances given the episode's history stay unbiased."""
    episodes = moves[["child_key", "episode_no"]].drop_duplicates()
    rank = pd.util.hash_pandas_object(episodes, index=False, hash_key=f"fd-episode{seed % 10**6:06d}")
    keep = episodes.assign(rank=rank.to_numpy()).sort_values("rank").drop_duplicates("child_key")
    return moves.merge(keep[["child_key", "episode_no"]], on=["child_key", "episode_no"], how="inner")


def _reliable(totals: pd.Series, cells: pd.Series, scale: float) -> pd.Series:
    """Contexts whose noisy total is clear of the noise in it (RELIABLE_SD standard deviations)."""
    return totals >= RELIABLE_SD * scale * np.sqrt(2 * cells)


def _norm_sub_by(d: pd.DataFrame, cols: list[str]) -> pd.Series:
    """`norm_sub` of the noisy counts within each context."""
    if not cols:
        return pd.Series(norm_sub(d["count"].to_numpy()), index=d.index)
    return d.groupby(cols, sort=False)["count"].transform(lambda c: norm_sub(c.to_numpy()))


def _levels(d: pd.DataFrame, levels, outcome: str, scale: float) -> pd.DataFrame:
    """Sum unbiased noisy counts into coarser contexts; keep the detailed contexts only where the
    signal clears the noise; make each context's histogram non-negative last (`norm_sub`)."""
    parts = []
    for li, cols in enumerate(levels):
        cols = list(cols)
        agg = d.groupby([*cols, outcome], as_index=False)["count"].sum() if li else d[[*cols, outcome, "count"]]
        if li < len(levels) - 1:
            g = agg.groupby(cols)["count"]
            agg = agg[_reliable(g.transform("sum"), g.transform("size"), scale)]
        agg = agg.assign(count=_norm_sub_by(agg, cols))
        parts.append(agg.assign(level=li))
    return level_table(parts, noisy=True)


def transitions(moves: pd.DataFrame, budget: PrivacyBudget) -> pd.DataFrame:
    """One noisy table over the grammar: (stage, history -> next), with the whole transitions budget;
    (stage -> next) is its sum over histories. Sensitivity MAX_STEPS + 2: one episode's opening, moves
    and end."""
    domain = transition_domain()[["cur", "next"]].drop_duplicates().merge(
        pd.DataFrame({"history": DP_HISTORIES}), how="cross")
    counts = moves.groupby(["cur", "history", "next"]).size().rename("true").reset_index()
    d = domain.merge(counts, on=["cur", "history", "next"], how="left").fillna({"true": 0})
    sensitivity = MAX_STEPS + 2
    d["count"] = budget.noisy_counts(d["true"].to_numpy(), "transitions", sensitivity,
                                     what="next-stage counts by stage and history", clip=False)
    return _levels(d.drop(columns="true"), DP_LEVELS, "next", budget.scale("transitions", sensitivity))


def durations(moves: pd.DataFrame, budget: PrivacyBudget) -> pd.DataFrame:
    """Day histograms per move over `DP_DAY_BINS`; sensitivity MAX_STEPS (one episode's moves)."""
    edges = transition_domain()
    edges = edges[(edges["next"] != END) & ~edges["cur"].isin([START, LC_START])][["cur", "next"]].drop_duplicates()
    domain = edges.merge(pd.DataFrame({"bin": np.arange(len(DP_DAY_BINS) - 1)}), how="cross")
    m = moves[moves["days"].notna() & (moves["next"] != END) & ~moves["cur"].isin([START, LC_START])]
    m = m.assign(bin=bin_of(m["days"].to_numpy(dtype=np.int64), DP_DAY_BINS))
    counts = m.groupby(["cur", "next", "bin"]).size().rename("true").reset_index()
    d = domain.merge(counts, on=["cur", "next", "bin"], how="left").fillna({"true": 0})
    d["count"] = budget.noisy_counts(d["true"].to_numpy(), "durations", MAX_STEPS, what="day histograms per move",
                                     clip=False)
    return _levels(d.drop(columns="true"), DP_DURATION_LEVELS, "bin", budget.scale("durations", MAX_STEPS))


def starts(eps: pd.DataFrame, window: Window, budget: PrivacyBudget) -> tuple[pd.DataFrame, float]:
    """First episodes: the week each began inside the window, or, for those already open, the month
    before it. One histogram over both (a child's first episode is in exactly one cell): sensitivity 1;
    the left-censored share is read off it."""
    first = eps[eps["episode_no"] == eps.groupby("child_key")["episode_no"].transform("min")]
    n_weeks = max(1, (window.end - window.start).days // START_BIN_DAYS + 1)
    n_lc = len(LC_OFFSET_BINS) - 1
    fresh, lc = first[~first["left_censored"]], first[first["left_censored"]]
    weeks = ((fresh["start_date"] - window.start).dt.days.clip(lower=0) // START_BIN_DAYS).to_numpy(dtype=np.int64)
    lc_days = (window.start - lc["start_date"]).dt.days.clip(lower=1, upper=MAX_LC_OFFSET).to_numpy(dtype=np.int64)
    counts = np.concatenate([bin_counts(weeks, n_weeks), bin_counts(bin_of(lc_days, LC_OFFSET_BINS), n_lc)]).astype(float)
    noisy = norm_sub(budget.noisy_counts(counts, "starts", 1, what="first episodes: start week or months open before",
                                         clip=False))
    first_counts, lc_counts = noisy[:n_weeks], noisy[n_weeks:]
    total = float(noisy.sum())
    table = pd.concat([
        pd.DataFrame({"kind": "first", "bin": np.arange(n_weeks), "count": first_counts, "width": START_BIN_DAYS}),
        pd.DataFrame({"kind": "lc_offset", "bin": np.arange(n_lc), "count": lc_counts, "width": 30,
                      "hi": float(MAX_LC_OFFSET)})], ignore_index=True)
    return table, float(lc_counts.sum() / total) if total > 0 else 0.0


def repeats(eps: pd.DataFrame, window: Window, budget: PrivacyBudget) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chance of another episode after an exit, by the next episode's history (2n, 2y), corrected
    for the window's end, and the gaps between episodes.

    Each of a child's first MAX_EPISODES exited episodes counts, with whether the child's records hold
    a next episode (all of them, so a third or fourth episode is seen: the chance applies to every
    later episode). Three measurements of sensitivity MAX_EPISODES: gap histograms, followed counts,
    and exposure (the sum over exited episodes of the chance a gap would fit in the days left, from
    the noisy gaps: at most 1 per episode)."""
    e = eps.sort_values(["child_key", "episode_no"])
    nxt_start = e.groupby("child_key")["start_date"].shift(-1)
    exited = e[~e["censored"] & (e["episode_no"] <= MAX_EPISODES)].copy()
    exited["followed"] = nxt_start.loc[exited.index].notna()
    exited["gap"] = (nxt_start.loc[exited.index] - exited["end_date"]).dt.days.clip(lower=0)
    exited["next_history"] = np.where(exited["path"].str.contains("referral", regex=False), "2y", "2n")
    exited["left"] = (window.end - exited["end_date"]).dt.days.clip(lower=0)
    histories = ("2n", "2y")
    n_bins = len(DP_DAY_BINS) - 1
    gap_counts = np.concatenate([
        np.bincount(bin_of(exited.loc[exited["followed"] & (exited["next_history"] == h), "gap"]
                         .to_numpy(dtype=np.int64), DP_DAY_BINS), minlength=n_bins)
        for h in histories]).astype(float)
    gap_noisy = budget.noisy_counts(gap_counts, "repeats", MAX_EPISODES, 1 / 3, what="gaps between episodes", clip=False)
    gap_noisy = np.concatenate([norm_sub(gap_noisy[i * n_bins:(i + 1) * n_bins]) for i in range(2)])
    followed = np.array([float(exited.loc[exited["next_history"] == h, "followed"].sum()) for h in histories])
    followed_noisy = budget.noisy_counts(followed, "repeats", MAX_EPISODES, 1 / 3, what="episodes followed by another",
                                         clip=False)
    exposure = []
    for i, h in enumerate(histories):
        counts = gap_noisy[i * n_bins:(i + 1) * n_bins]
        cdf = np.cumsum(counts) / counts.sum() if counts.sum() > 0 else np.ones(n_bins)
        left = exited.loc[exited["next_history"] == h, "left"].to_numpy(dtype=np.int64)
        exposure.append(float(cdf[bin_of(left, DP_DAY_BINS)].sum()))
    exposure_noisy = budget.noisy_counts(np.array(exposure), "repeats", MAX_EPISODES, 1 / 3,
                                         what="exited episodes' exposure", clip=False, integer=False)
    rep_rows, gap_rows = [], []
    for i, h in enumerate(histories):
        p = float(np.clip(followed_noisy[i] / exposure_noisy[i], 0.0, 1.0)) if exposure_noisy[i] > 0 else 0.0
        rep_rows.append({"history": h, "p": p, "in_window": False, "bins": "dp"})
        gap_rows.append(pd.DataFrame({"history": h, "bin": np.arange(n_bins),
                                      "count": gap_noisy[i * n_bins:(i + 1) * n_bins], "hi": np.nan}))
    return (pd.DataFrame(rep_rows, columns=["history", "p", "in_window", "bins"]),
            pd.concat(gap_rows, ignore_index=True).assign(edges="dp"))


def details(ev: pd.DataFrame, eps: pd.DataFrame, budget: PrivacyBudget) -> pd.DataFrame:
    """Value counts of event details by move and public code, sources by (start stage, history), and
    home team names that clear the stability threshold."""
    ev, ep_first, home = detail_frames(ev, eps)
    share = 1 / (len(DETAIL_FIELDS) + 2)  # + source + home_team
    parts = []
    # In the order of their names: an order by count would tell the true ranking whatever the noise. The
    # number of teams is not public either (`domain_public=False`: not published).
    teams = home.value_counts().sort_index()
    noisy = budget.noisy_counts(teams.to_numpy(), "details", 1, share, what="home teams", domain_public=False)
    threshold = budget.stable_threshold("details", 1, share)
    released = sorted(t for t, c in zip(teams.index, noisy) if c > threshold)
    parts.append(pd.DataFrame({"field": "home_team", "context": "*", "value": released,
                               "count": [c for c, t in zip(noisy, teams.index) if t in released]}))
    moves = transition_domain()
    contexts = sorted(set(moves["prev"] + ">" + moves["cur"]))
    domains = {**PUBLIC_DOMAINS, "team_label": ("=home", "=none", *released)}
    for field in DETAIL_FIELDS:
        d = pd.MultiIndex.from_product([contexts, domains[field]], names=["context", "value"]).to_frame(index=False)
        narrow = ev.groupby(["move", field]).size().rename("true").reset_index().rename(
            columns={"move": "context", field: "value"})
        d = d.merge(narrow, on=["context", "value"], how="left").fillna({"true": 0})
        d["count"] = budget.noisy_counts(d["true"].to_numpy(), "details", MAX_EPISODES * (MAX_STEPS + 1), share,
                                         what=f"detail {field}", clip=False)
        wide = d.assign(context="*>" + d["context"].str.split(">").str[1]).groupby(
            ["context", "value"], as_index=False)["count"].sum()
        both = pd.concat([d[["context", "value", "count"]], wide], ignore_index=True)
        parts.append(both.assign(field=field, count=_norm_sub_by(both, ["context"]).round()))
    src_values = (*SOURCE_CODES, "=none")
    ctx = [f"{s}|{h}" for s in STAGES for h in DP_HISTORIES if s in START_STAGES or h == "1"]
    ctx = sorted(set(ctx) | {f"{s}|1" for s in STAGES})
    d = pd.MultiIndex.from_product([ctx, src_values], names=["context", "value"]).to_frame(index=False)
    key = ep_first["stage"] + "|" + ep_first["history"]
    c = ep_first.assign(context=key).groupby(["context", "source"]).size().rename("true").reset_index()
    d = d.merge(c.rename(columns={"source": "value"}), on=["context", "value"], how="left").fillna({"true": 0})
    d["count"] = budget.noisy_counts(d["true"].to_numpy(), "details", MAX_EPISODES, share, what="sources",
                                     clip=False)
    wide = d.assign(context=d["context"].str.split("|").str[0] + "|*").groupby(
        ["context", "value"], as_index=False)["count"].sum()
    both = pd.concat([d[["context", "value", "count"]], wide], ignore_index=True)
    parts.append(both.assign(field="source", count=_norm_sub_by(both, ["context"]).round()))
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype(str)
    return out[["field", "context", "value", "count"]]
