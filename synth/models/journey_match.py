"""Under differential privacy, children and journeys drawn jointly: each synthetic child (an MST
record, synth.models.mst) takes a sampled journey whose summary matches its record."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models import prepare
from synth.models.journey_vocab import LC_START

# A child's record (synth.models.mst) says how many episodes it has, how many reached a referral,
# which lists its journeys reached and the first episode's route; it takes a
# journey from the pool with the same summary, or, where the pool has none, the same on fewer fields.
MATCH_LEVELS = (
    ("episodes", "referred", "rereferred", "assessed", "s47", "cp", "cla", "first_route"),
    ("episodes", "referred", "rereferred", "assessed", "s47", "cp", "first_route"),
    ("episodes", "referred", "rereferred", "assessed", "s47", "cp"),
    ("episodes", "referred", "rereferred", "s47"),
    ("episodes", "referred", "rereferred"),
    ("episodes", "referred"),
    ("episodes",),
    (),
)


def journey_summary(events: pd.DataFrame) -> pd.DataFrame:
    """Per sampled child (`child`): the journey fields of its record, as the record writes them."""
    g = events.groupby("child")
    yes = np.array(["no", "yes"], dtype=object)

    def reached(stages) -> np.ndarray:
        return yes[events["stage"].isin(stages).groupby(events["child"]).any().to_numpy().astype(int)]

    referred = events.loc[events["stage"] == "referral"].groupby("child")["episode_no"].nunique()
    firsts = events[events["episode_no"] == 1]
    step0 = firsts[firsts["step"] == 0].set_index("child")
    step1 = firsts[firsts["step"] == 1].set_index("child")["stage"]
    out = pd.DataFrame(index=g.size().index)
    out["episodes"] = g["episode_no"].nunique().clip(upper=4).astype(str)
    out["referred"] = referred.reindex(out.index).fillna(0).astype(int).clip(upper=3).astype(str)
    again = prepare.rereferred_children(events["child"], events["stage"], events["day"])
    out["rereferred"] = yes[out.index.isin(again).astype(int)]
    out["assessed"] = reached(prepare.ASSESSED_STAGES)
    out["s47"] = reached(["s47"])
    out["cp"] = reached(["cp_plan"])
    out["cla"] = reached(["cla"])
    step0 = step0.reindex(out.index)
    out["first_route"] = prepare.first_route(step0["stage"].to_numpy(), step1.reindex(out.index).to_numpy(),
                                     (step0["prev"] == LC_START).to_numpy())
    return out


def match_journeys(rng: np.random.Generator, records: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """For each record, the events of a pool child whose journey summary matches it (`child` set to
    the record's row). Pool children are used once each while they last, then again."""
    summary = journey_summary(pool)
    summary = summary.iloc[rng.permutation(len(summary))]
    assigned = np.full(len(records), -1, dtype=np.int64)
    for level in MATCH_LEVELS:
        todo = np.flatnonzero(assigned < 0)
        if not len(todo):
            break
        cols = list(level)
        want = records.iloc[todo][cols].astype(str).agg("|".join, axis=1).to_numpy() if cols else np.full(len(todo), "")
        have = summary[cols].astype(str).agg("|".join, axis=1).to_numpy() if cols else np.full(len(summary), "")
        have_s = pd.DataFrame({"key": have, "child": summary.index.to_numpy()})
        have_s["rank"] = have_s.groupby("key").cumcount()
        size = have_s.groupby("key").size()
        order = rng.permutation(len(todo))
        w = pd.DataFrame({"key": want[order], "row": todo[order]})
        w["size"] = w["key"].map(size).fillna(0).to_numpy(dtype=np.int64)
        w = w[w["size"] > 0].copy()
        w["rank"] = w.groupby("key").cumcount() % w["size"]
        hit = w.merge(have_s, on=["key", "rank"], how="inner")
        assigned[hit["row"].to_numpy()] = hit["child"].to_numpy()
    mapping = pd.DataFrame({"row": np.arange(len(records)), "child": assigned})
    out = mapping[mapping["child"] >= 0].merge(pool, on="child", how="inner")
    out["child"] = out["row"]
    return out.drop(columns="row").sort_values(["child", "episode_no", "step"], kind="mergesort")


def not_recorded(children: pd.DataFrame, reached: pd.DataFrame) -> pd.DataFrame:
    """Attributes of a list the child's journeys never reached set to what Annex A then holds."""
    from synth.models.attributes import NOT_RECORDED, RECORDED

    out = children.copy()
    r = reached.set_index("child_key").reindex(out["child_key"])
    flags = {"disability": "assessed", "uasc": "cla", "missing_episodes": "cla", "previous_cp_plans": "cp"}
    assert set(flags) == set(NOT_RECORDED) and {f for f, _ in RECORDED.values()} == set(flags.values())
    for col, flag in flags.items():
        out.loc[~r[flag].fillna(False).to_numpy(dtype=bool), col] = NOT_RECORDED[col]
    out["missing_episodes"] = out["missing_episodes"].astype(int)
    out["previous_cp_plans"] = out["previous_cp_plans"].astype(int)
    return out
