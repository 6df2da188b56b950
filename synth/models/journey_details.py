"""The event details the journey model counts, by move: teams (a home team per child, and how each
event's team relates to it), need codes, categories of abuse, closure reasons, list numbers, derived
flags; and referral sources by episode start. The private model counts the same frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models.journey_vocab import LC_START, START

DETAIL_FIELDS = ("team_label", "need_code", "abuse_category", "closure_reason", "list_no", "derived")
PUBLIC_DOMAINS = {
    "need_code": ("N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9", "=none"),
    "abuse_category": ("NEG", "PHY", "SAB", "EMO", "MUL", "=none"),
    "closure_reason": ("RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9", "=none"),
    "list_no": tuple(str(i) for i in range(1, 9)),
    "derived": ("0", "1"),
}


def detail_frames(ev: pd.DataFrame, eps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The events with the detail fields the model counts (move, wide, team_label, codes as text),
    each episode's first event with its history and source, and each child's home team (the team
    most of its events are with). Child by child: the private model uses it too."""
    ev = ev.copy()
    prev = ev["stage"].shift(1).where(ev["step"] > 0)
    lc = ev.merge(eps[["child_key", "episode_no", "left_censored"]], on=["child_key", "episode_no"],
                  how="left")["left_censored"].fillna(False).to_numpy()
    prev = prev.fillna(pd.Series(np.where(lc, LC_START, START), index=ev.index))
    ev["move"] = prev + ">" + ev["stage"]
    ev["wide"] = "*>" + ev["stage"]
    per_team = ev.dropna(subset=["team"]).groupby(["child_key", "team"]).size().rename("n").reset_index()
    per_team = per_team.sort_values(["child_key", "n", "team"], ascending=[True, False, True], kind="mergesort")
    home = per_team.drop_duplicates("child_key").set_index("child_key")["team"]
    home_of = ev["child_key"].map(home)
    ev["team_label"] = np.where(ev["team"].isna(), "=none", np.where(ev["team"] == home_of, "=home", ev["team"]))
    ev["list_no"] = ev["list_no"].astype(int).astype(str)
    ev["derived"] = ev["derived"].astype(int).astype(str)
    for col in ("need_code", "abuse_category", "closure_reason"):
        ev[col] = ev[col].fillna("=none")
    extra = [c for c in ("source_group", "left_censored", "age_band") if c in eps]
    ep_first = ev[ev["step"] == 0].merge(eps[["child_key", "episode_no", "history", "source", *extra]],
                                         on=["child_key", "episode_no"], how="left", suffixes=("_ev", ""))
    ep_first["source"] = ep_first["source"].fillna("=none")

    return ev, ep_first, home


def detail_counts(ev: pd.DataFrame, eps: pd.DataFrame, min_children: int | None = None) -> pd.DataFrame:
    """Value counts of event details by move (prev>stage, and *>stage), sources by episode start,
    and home teams by child. With `eps["age_band"]` and `min_children`, source groups also by age
    band and history ("a:<band>|<history>", and "a:<band>|*"), in contexts of min_children children."""
    ev, ep_first, home = detail_frames(ev, eps)
    parts = []
    for field in DETAIL_FIELDS:
        for ctx_col in ("move", "wide"):
            c = ev.groupby([ctx_col, field]).size().rename("count").reset_index()
            parts.append(c.rename(columns={ctx_col: "context", field: "value"}).assign(field=field))
    for ctx in ("narrow", "wide"):
        key = ep_first["stage"] + "|" + (ep_first["history"] if ctx == "narrow" else "*")
        c = ep_first.assign(context=key).groupby(["context", "source"]).size().rename("count").reset_index()
        parts.append(c.rename(columns={"source": "value"}).assign(field="source"))
    if "source_group" in ep_first:
        # The source group an episode starts with (walked with: synth.models.journey_vocab LEVELS), by its
        # history ("LC": open when the window began), and each group's source codes.
        start = pd.Series(np.where(ep_first["left_censored"] & (ep_first["episode_no"] == 1), "LC",
                                   ep_first["history"]), index=ep_first.index)
        keys = [start, pd.Series("*", index=ep_first.index)]
        aged = []
        if "age_band" in ep_first and min_children is not None:
            band = "a:" + ep_first["age_band"].fillna("Not known").astype(str) + "|"
            aged = [band + start, band + "*"]
        for key in (*keys, *aged):
            c = ep_first.assign(context=key).groupby(["context", "source_group"]).size().rename("count").reset_index()
            if key is not keys[0] and key is not keys[1]:  # an age context only of min_children children
                kids = ep_first.assign(context=key).groupby("context")["child_key"].nunique()
                c = c[c["context"].map(kids).to_numpy() >= min_children]
            parts.append(c.rename(columns={"source_group": "value"}).assign(field="source_group"))
        c = ep_first.assign(context="g:" + ep_first["source_group"]).groupby(["context", "source"]).size()
        parts.append(c.rename("count").reset_index().rename(columns={"source": "value"}).assign(field="source"))
    h = home.value_counts().rename("count").reset_index()
    parts.append(pd.DataFrame({"field": "home_team", "context": "*", "value": h.iloc[:, 0], "count": h["count"]}))
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype(str)
    return out[["field", "context", "value", "count"]]
