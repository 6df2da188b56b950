"""Transforms applied to the training tables before any model sees them (in one place).

- Rare categories (fewer than `threshold` children) are merged: demographic values into the
  field's "not known" value, source codes into the most common code of their group (or
  "10: Unknown"), team names into "Other team", other codes into "Other"; ages and counts are
  bottom- and top-coded so that every value left is shared by at least `threshold` children.
- Journey features the models condition on are derived: the episode's history (repeat number and
  whether the previous episode reached a referral), the child's age band, and how far the
  child's journeys went (which decides which Annex A lists recorded their other attributes); for
  the private model's child records also the first episode's route and re-referral, each read from
  one child's own records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.journeys import age_band
from synth.schema import SOURCE_CODES

CHILD_FALLBACKS = {"sex": "not_stated", "ethnicity_group": "Not known", "disability": "unknown", "uasc": "no"}
CHILD_COUNTS = ("missing_episodes", "previous_cp_plans")
OTHER_TEAM = "Other team"
OTHER_CODE = "Other"


def _children_per_value(values: pd.Series, owners: pd.Series) -> pd.Series:
    return pd.DataFrame({"v": values, "o": owners}).dropna().drop_duplicates().groupby("v")["o"].size()


def merge_rare(values: pd.Series, owners: pd.Series, threshold: int, fallback) -> pd.Series:
    """Values held by fewer than `threshold` distinct owners (children) become `fallback`."""
    counts = _children_per_value(values, owners)
    rare = counts.index[counts < threshold]
    return values.where(~values.isin(rare), fallback)


def clip_rare_tails(values: pd.Series, threshold: int) -> pd.Series:
    """Bottom- and top-code a whole-number column so that each end value has `threshold` rows."""
    v = values.dropna()
    if v.empty:
        return values
    counts = v.value_counts().sort_index()
    low_cum, high_cum = counts.cumsum(), counts[::-1].cumsum()
    low = low_cum.index[low_cum >= threshold].min() if (low_cum >= threshold).any() else v.min()
    high = high_cum.index[high_cum >= threshold].max() if (high_cum >= threshold).any() else v.max()
    if low > high:
        low = high = v.median()
    return values.clip(lower=low, upper=high)


def prepare_children(children: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Child attributes ready for an attribute synthesizer (rare values merged, tails coded)."""
    out = children[["child_key"]].copy()
    for col, fallback in CHILD_FALLBACKS.items():
        out[col] = merge_rare(children[col].fillna(fallback).astype(str), children["child_key"], threshold, fallback)
    age = children["age_at_first_contact"].astype("Float64")
    out["age_at_first_contact"] = clip_rare_tails(age, threshold).round().astype("Int64")
    for col in CHILD_COUNTS:
        out[col] = clip_rare_tails(children[col].astype("Int64"), threshold).fillna(0).astype(np.int64)
    return out


def merge_rare_sources(source: pd.Series, owners: pd.Series, threshold: int) -> pd.Series:
    counts = _children_per_value(source, owners)
    group_of = {c: g for c, (g, _) in SOURCE_CODES.items()}
    ok = set(counts.index[counts >= threshold])
    best_in_group: dict[str, str] = {}
    for code in counts.sort_values(ascending=False).index:
        if code in ok:
            best_in_group.setdefault(group_of.get(code, "unknown"), code)
    fallback = "10" if "10" in ok else (counts.idxmax() if len(counts) else "10")
    mapping = {c: c if c in ok else best_in_group.get(group_of.get(c, "unknown"), fallback) for c in counts.index}
    return source.map(mapping)


def prepare_events(events: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Event details with rare codes and team names merged."""
    ev = events.copy()
    owners = ev["child_key"]
    ev["source"] = merge_rare_sources(ev["source"], owners, threshold)
    ev["team"] = merge_rare(ev["team"], owners, threshold, OTHER_TEAM)
    for col in ("need_code", "abuse_category", "closure_reason"):
        ev[col] = merge_rare(ev[col], owners, threshold, OTHER_CODE)
    return ev


def history_label(episode_no: np.ndarray, referred_before: np.ndarray) -> np.ndarray:
    """An episode's history: its repeat band (1, 2, 3, 4+) and how many of the child's earlier
    episodes reached a referral (0, 1, 2+): "1", "20", "21", "30", "31", "32", "40", "41", "42".

    Children who keep being referred are few but account for most re-referrals, so the count of
    earlier referred episodes matters, not only whether the last one was.
    """
    episode_no = np.asarray(episode_no)
    band = np.minimum(episode_no, 4).astype(str)
    label = np.char.add(band, np.minimum(np.asarray(referred_before), 2).astype(str)).astype(object)
    label[episode_no == 1] = "1"
    return label


def history(episodes: pd.DataFrame) -> pd.Series:
    """`history_label` of every episode."""
    eps = episodes.sort_values(["child_key", "episode_no"])
    referred = eps["path"].str.contains("referral", regex=False).astype(int)
    before = referred.groupby(eps["child_key"]).cumsum() - referred
    hist = pd.Series(history_label(eps["episode_no"].to_numpy(), before.to_numpy()), index=eps.index)
    return hist.reindex(episodes.index)


def intensity(episodes: pd.DataFrame, child_keys: pd.Series) -> pd.Series:
    """How many of a child's episodes reached a referral: "0", "1", "2" or "3" (3 or more).

    A coarse summary of how hard-pressed a child's family is. Synthetic children draw it with
    their attributes and their journeys are conditioned on it, which keeps the few children who
    are referred again and again (most re-referrals) as they are, rather than averaged away.
    """
    referred = episodes.loc[episodes["path"].str.contains("referral", regex=False), "child_key"]
    n = child_keys.map(referred.value_counts()).fillna(0).astype(int).clip(upper=3)
    return n.astype(str)


def history_dp(episodes: pd.DataFrame) -> pd.Series:
    """The coarser history used under differential privacy: "1" for a first episode, "2y" or
    "2n" for a later one whose previous episode did or did not reach a referral."""
    eps = episodes.sort_values(["child_key", "episode_no"])
    referred = eps["path"].str.contains("referral", regex=False)
    prev = referred.astype(int).groupby(eps["child_key"]).shift(1).fillna(0).astype(bool)
    hist = pd.Series(np.where(prev, "2y", "2n"), index=eps.index, dtype=object)
    hist[eps["episode_no"] == 1] = "1"
    return hist.reindex(episodes.index)


def child_context(children: pd.DataFrame) -> pd.DataFrame:
    """The child attributes the journey model conditions on."""
    return pd.DataFrame({
        "child_key": children["child_key"].to_numpy(),
        "age_band": age_band(children["age_at_first_contact"]).astype(str).to_numpy(),
        "intensity": (children["intensity"].astype(str) if "intensity" in children else
                      pd.Series("*", index=children.index)).to_numpy(),
    })


FIRST_ROUTES = ("open", "contact>nfa", "contact>iag", "contact>early_help", "contact>contact", "contact>referral",
                "referral", "other")


def first_route(first: np.ndarray, second: np.ndarray, open_at_start: np.ndarray) -> np.ndarray:
    """The first episode's route through the front door, as a class of `FIRST_ROUTES` (public): already
    open when the window began, the contact's outcome, or straight to referral."""
    pair = pd.Series(first).astype(str).to_numpy() + ">" + pd.Series(second).fillna("").astype(str).to_numpy()
    named = np.isin(pair, FIRST_ROUTES)
    out = np.where(named, pair, np.where(pd.Series(first).astype(str).to_numpy() == "referral", "referral", "other"))
    return np.where(np.asarray(open_at_start, dtype=bool), "open", out).astype(object)


def rereferred_children(child: pd.Series, stage: pd.Series, day: pd.Series, within: int = 365) -> np.ndarray:
    """The children with a referral within `within` days of their previous referral."""
    ref = pd.DataFrame({"child": child.to_numpy(), "day": day.to_numpy()})[(stage == "referral").to_numpy()]
    ref = ref.sort_values(["child", "day"], kind="mergesort")
    again = ref["child"].eq(ref["child"].shift()) & (ref["day"] - ref["day"].shift() <= within)
    return ref.loc[again, "child"].unique()


ASSESSED_STAGES = ("assessment", "strategy", "s47", "icpc", "cin_plan", "cp_plan", "cla")


def reach(events: pd.DataFrame, child_keys: pd.Series) -> pd.DataFrame:
    """Per child, whether any journey reached the lists that record disability (4-8), a CP plan
    (List 7: previous plans) or care (List 8: UASC and missing episodes)."""
    def reached(names) -> np.ndarray:
        return child_keys.isin(events.loc[events["stage"].isin(names), "child_key"]).to_numpy()

    return pd.DataFrame({"child_key": child_keys.to_numpy(), "assessed": reached(ASSESSED_STAGES),
                         "cp": reached(["cp_plan"]), "cla": reached(["cla"])})
