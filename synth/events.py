"""Annex A rows -> the event log: one row per stage a child reached, in order.

Observed events come straight from the lists (a contact, a referral, an assessment start, ...).
Exits are derived where a list says a piece of work closed and nothing allowed followed soon
after (DOMAIN.md section 3), for example an assessment that found no need and was not followed
by early help within 14 days ends in `nfa` on its authorisation date. Derived events carry
`derived=True` so the map can say which exits were inferred.

Annex A records no end date for a Section 47 enquiry that did not lead to a conference, so that
exit is dated on the day the enquiry started.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.schema import CLOSURE_EXIT
from synth.stages import CONTACT_LINK_DAYS, GRAMMAR, STAGE_ORDER

FOLLOW_ON_DAYS = 14
S47_FOLLOW_ON_DAYS = 60
NO_FOLLOW_ON_CHECK = -1

EVENT_FIELDS = ("child", "stage", "date", "source", "team", "need_code", "abuse_category",
                "closure_reason", "list_no")


def _observed(df: pd.DataFrame, stage: str, date_col: str, list_no: int, **columns: str) -> pd.DataFrame:
    out = pd.DataFrame({"child": df["child"].to_numpy(), "stage": stage, "date": df[date_col].to_numpy(),
                        "list_no": list_no, "row_id": df["row_id"].to_numpy()})
    for target, source in columns.items():
        if source in df:
            out[target] = df[source].to_numpy()
    return out


def _candidates(df: pd.DataFrame, mask: pd.Series, origin_stage: str, date_col: str, exit_stage,
                follow_from: str | None, window: int, list_no: int) -> pd.DataFrame:
    """Rows that close a piece of work: an exit is added unless an allowed stage follows in `window` days."""
    sub = df[mask]
    exits = exit_stage if isinstance(exit_stage, pd.Series) else pd.Series(exit_stage, index=df.index)
    return pd.DataFrame({
        "child": sub["child"].to_numpy(),
        "date": sub[date_col].to_numpy(),
        "exit": exits[mask].to_numpy(),
        "origin_stage": origin_stage,
        "origin_row": sub["row_id"].to_numpy(),
        "follow_from": follow_from,
        "window": window,
        "list_no": list_no,
        "team": sub["team"].to_numpy() if "team" in sub else None,
        "closure_reason": sub["closure_reason"].to_numpy() if "closure_reason" in sub else None,
    })


def derive_events(lists: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Event log of every child in the lists, sorted by child and then by time and process order.

    Each list frame has `child` (an integer per child), a `row_id` unique across all lists, and
    its parsed fields.
    """
    observed: list[pd.DataFrame] = []
    closures: list[pd.DataFrame] = []

    if (df := lists.get(1)) is not None:
        outcome = df["contact_outcome"] if "contact_outcome" in df else pd.Series(None, index=df.index)
        contacts = _observed(df, "contact", "contact_date", 1, source="source")
        # Of several contacts on one day, one without a recorded outcome came first (it was
        # superseded by the next); this keeps re-contacts in order.
        contacts["decided"] = outcome.notna().to_numpy().astype(np.int8)
        observed.append(contacts)
        explicit = outcome.isin(["iag", "nfa"])
        closures.append(_candidates(df, explicit, "contact", "contact_date", outcome, None, NO_FOLLOW_ON_CHECK, 1))
        closures.append(_candidates(df, outcome.isna(), "contact", "contact_date", "nfa", "contact",
                                    CONTACT_LINK_DAYS, 1))
    if (df := lists.get(2)) is not None:
        observed.append(_observed(df, "early_help", "eh_start", 2))
    if (df := lists.get(3)) is not None:
        observed.append(_observed(df, "referral", "referral_date", 3, source="source", team="team"))
        nfa = df["referral_nfa"].eq("yes") if "referral_nfa" in df else pd.Series(False, index=df.index)
        closures.append(_candidates(df, nfa, "referral", "referral_date", "nfa", None, NO_FOLLOW_ON_CHECK, 3))
    if (df := lists.get(4)) is not None:
        observed.append(_observed(df, "assessment", "assessment_start", 4, team="team"))
        if {"assessment_end", "requires_support"} <= set(df.columns):
            no_need = df["assessment_end"].notna() & df["requires_support"].eq("no")
            closures.append(_candidates(df, no_need, "assessment", "assessment_end", "nfa", "assessment",
                                        FOLLOW_ON_DAYS, 4))
    if (df := lists.get(5)) is not None:
        observed.append(_observed(df, "strategy", "s47_start", 5, team="team"))
        observed.append(_observed(df, "s47", "s47_start", 5, team="team"))
        icpc_held = df["icpc_date"].notna() if "icpc_date" in df else pd.Series(False, index=df.index)
        observed.append(_observed(df[icpc_held], "icpc", "icpc_date", 5, team="team"))
        if "icpc_unnecessary" in df:
            no_icpc = df["icpc_unnecessary"].eq("yes") & ~icpc_held
            closures.append(_candidates(df, no_icpc, "s47", "s47_start", "nfa", "s47", S47_FOLLOW_ON_DAYS, 5))
        if "icpc_cp_plan" in df:
            no_plan = icpc_held & df["icpc_cp_plan"].eq("no")
            closures.append(_candidates(df, no_plan, "icpc", "icpc_date", "nfa", "icpc", FOLLOW_ON_DAYS, 5))
    if (df := lists.get(6)) is not None:
        observed.append(_observed(df, "cin_plan", "cin_start", 6, team="team", need_code="need_code"))
        if "cin_end" in df:
            reason = df["closure_reason"] if "closure_reason" in df else pd.Series(None, index=df.index)
            exit_stage = reason.map(CLOSURE_EXIT).fillna("nfa")
            closures.append(_candidates(df, df["cin_end"].notna(), "cin_plan", "cin_end", exit_stage, "cin_plan",
                                        FOLLOW_ON_DAYS, 6))
    if (df := lists.get(7)) is not None:
        observed.append(_observed(df, "cp_plan", "cp_start", 7, team="team", abuse_category="abuse_category"))
        if "cp_end" in df:
            closures.append(_candidates(df, df["cp_end"].notna(), "cp_plan", "cp_end", "nfa", "cp_plan",
                                        FOLLOW_ON_DAYS, 7))
    if (df := lists.get(8)) is not None:
        observed.append(_observed(df, "cla", "cla_start", 8, team="team", need_code="need_code"))
        if "cla_end" in df:
            closures.append(_candidates(df, df["cla_end"].notna(), "cla", "cla_end", "other", None,
                                        NO_FOLLOW_ON_CHECK, 8))

    events = pd.concat([o for o in observed if len(o)], ignore_index=True) if observed else pd.DataFrame()
    for col in EVENT_FIELDS:
        if col not in events:
            events[col] = None
    events["origin_rank"] = events["stage"].map(STAGE_ORDER).astype(np.int16)
    events["decided"] = events["decided"].fillna(0).astype(np.int8) if "decided" in events else np.int8(0)
    events["derived"] = False
    events = _sort(events)

    cand = pd.concat([c for c in closures if len(c)], ignore_index=True) if closures else pd.DataFrame()
    if len(cand):
        exits = _unfollowed_exits(events, cand)
        events = _sort(pd.concat([events, exits], ignore_index=True))
    return events[[*EVENT_FIELDS, "derived"]]


def _sort(events: pd.DataFrame) -> pd.DataFrame:
    """Time order; on one day, process order; an inferred exit right after the event it closes."""
    keys = [events[c].to_numpy() for c in ("child", "date", "origin_rank", "decided", "row_id", "derived")]
    order = np.lexsort(keys[::-1])  # last key is the primary one
    return events.iloc[order].reset_index(drop=True)


def _unfollowed_exits(events: pd.DataFrame, cand: pd.DataFrame) -> pd.DataFrame:
    """Exit events for the closures that no allowed stage followed within their window."""
    # The event each closure belongs to, and the observed event right after it.
    nxt = events[["child", "stage", "date"]].shift(-1)
    origin = events[["child", "stage", "row_id", "decided"]].assign(
        next_child=nxt["child"].to_numpy(), next_stage=nxt["stage"].to_numpy(), next_date=nxt["date"].to_numpy())
    c = cand.merge(origin, left_on=["child", "origin_stage", "origin_row"],
                   right_on=["child", "stage", "row_id"], how="left")
    same_child = c["next_child"].eq(c["child"])
    gap = (c["next_date"] - c["date"]).dt.days
    allowed = pd.Series(False, index=c.index)
    for stage, nxt_allowed in GRAMMAR.items():
        sel = c["follow_from"].eq(stage)
        if sel.any():
            allowed |= sel & c["next_stage"].isin(nxt_allowed)
    followed = (c["window"] >= 0) & same_child & allowed & (gap <= c["window"])
    keep = c[~followed]
    return pd.DataFrame({
        "child": keep["child"].to_numpy(),
        "stage": keep["exit"].to_numpy(),
        "date": keep["date"].to_numpy(),
        "team": keep["team"].to_numpy(),
        "closure_reason": keep["closure_reason"].to_numpy(),
        "list_no": keep["list_no"].to_numpy(),
        "derived": True,
        "origin_rank": keep["origin_stage"].map(STAGE_ORDER).astype(np.int16).to_numpy(),
        "decided": keep["decided"].to_numpy(),
        "row_id": keep["origin_row"].to_numpy(),
    })
