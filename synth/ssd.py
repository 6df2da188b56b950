"""SSD tables -> the frames of Annex A Lists 1-8 that the event log is derived from, plus one row of
demographics per person; `synth.ingest` does the rest exactly as for Annex A.

The tables and columns read are those of `synth.ssd_schema` (D2I Standard Safeguarding Dataset,
release 1.4.5). Each table is validated row by row by `synth.ingest.validate_table` (bad dates,
blank ids, unknown codes: the same messages, naming file, sheet, row and column); then, across
tables:
- every row's person id must name a row of `ssd_person` (else the row is rejected, an error);
- a referral id (`cina_referral_id`, `s47e_referral_id`, `cinp_referral_id`, `cppl_referral_id`) must
  name a referral of `ssd_cin_episodes` of the same person, a conference's `icpc_s47_enquiry_id` an
  enquiry of `ssd_s47_enquiry`, a plan's `cppl_icpc_id` a conference (else the link is dropped and a
  warning says so); a conference held before its enquiry started is rejected;
- the same primary key seen twice (two overlapping extracts) is one row: the more complete version
  is kept, then the later file's.

What maps to what:
| SSD | list frame (synth.events reads these fields) |
|---|---|
| ssd_contacts | List 1: contact date, source code, outcome from the JSON flags (NEW_REFERRAL / EXISTING_REFERRAL / CP_ENQUIRY -> referral, ADVICE -> information and advice, NFA -> no further action) |
| ssd_early_help_episodes | List 2: episode start and end |
| ssd_cin_episodes | List 3: referral date, source, `cine_referral_nfa`, team |
| ssd_cin_assessments | List 4: start, authorisation date, needs support unless `cina_assessment_outcome_nfa` (or the JSON's NFA flag) says no further action, team |
| ssd_s47_enquiry + ssd_initial_cp_conference | List 5: one row per enquiry with its (earliest) held conference's date and CP-plan flag; a conference was unnecessary when the enquiry's CP_CONFERENCE_FLAG is N or it ended NFA; the enquiry's team for all three stages |
| ssd_cin_plans | List 6: start, end, team; primary need and closure reason from the plan's referral (the reason only when the referral closed on the day the plan ended) |
| ssd_cp_plans | List 7: start, end, initial category of abuse; team of the conference that made the plan; previous plans counted from the table |
| ssd_cla_episodes | List 8: one row per period of care (`clae_cla_id`; without it, a new period at start reason S or after an episode that did not cease with X1): entered care, ceased (unless the last episode ceased X1), primary need |
| ssd_person, ssd_disability, ssd_immigration_status, ssd_missing | children: sex (`pers_sex`, `pers_gender` where sex is not known), ethnicity, date of birth (else the expected date of birth), disability (any code but NONE), UASC, missing (type M) episodes |
| ssd_department | team ids shown by their names |
Teams are ids in the SSD; without `ssd_department` they are kept as written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.errors import ValidationError
from synth.ingest_report import IngestReport, ListStats
from synth.ssd_schema import ACTIVITY_TABLES, NO_ICPC, OPEN, SSD_BY_NAME, SsdTable

FIELDS = {  # list number -> the fields of its frame
    1: ("child_id", "contact_date", "source", "contact_outcome"),
    2: ("child_id", "eh_start", "eh_end"),
    3: ("child_id", "referral_date", "source", "referral_nfa", "team"),
    4: ("child_id", "assessment_start", "assessment_end", "requires_support", "team"),
    5: ("child_id", "s47_start", "icpc_unnecessary", "icpc_date", "icpc_cp_plan", "team"),
    6: ("child_id", "cin_start", "cin_end", "need_code", "closure_reason", "team"),
    7: ("child_id", "cp_start", "cp_end", "abuse_category", "previous_cp_plans", "team"),
    8: ("child_id", "cla_start", "cla_end", "need_code", "team"),
}
TEAM_TABLES = ("ssd_cin_episodes", "ssd_cin_assessments", "ssd_s47_enquiry", "ssd_initial_cp_conference",
               "ssd_cin_plans")


def _col(df: pd.DataFrame, name: str, dtype: str = "object") -> pd.Series:
    """A column, or an all-missing one when the table did not have it."""
    if name in df:
        return df[name]
    return pd.Series(pd.NaT if dtype == "date" else None, index=df.index,
                     dtype="datetime64[ns]" if dtype == "date" else object)


def _flag(report: IngestReport, spec: SsdTable, df: pd.DataFrame, mask: pd.Series, field: str, message: str,
          severity: str) -> int:
    """Report the rows of `df` under `mask`; with severity error they are rejected (counted here)."""
    n = int(mask.sum())
    if n:
        hit = df[mask.to_numpy()]
        report.add_issues(pd.DataFrame({
            "file": hit["_file"].to_numpy(), "sheet": hit["_sheet"].to_numpy(), "row": hit["_row"].to_numpy(),
            "column": spec.column(field).header, "message": message, "severity": severity}))
        if severity == "error":
            report.lists[spec.name].rows_rejected += n
    return n


def _combine(frames: list[pd.DataFrame], spec: SsdTable, stats: ListStats) -> pd.DataFrame:
    """One table's rows from every file, one row per primary key: exact repeats are duplicates;
    other versions of a row (overlapping extracts) give way to the most complete, then the latest."""
    df = pd.concat(frames, ignore_index=True)
    fields = [c for c in df.columns if not c.startswith("_")]
    df["_content"] = pd.util.hash_pandas_object(df[fields], index=False).to_numpy()
    repeat = df.duplicated(subset=[spec.key, "_content"])
    stats.duplicates_dropped += int(repeat.sum())
    df = df[~repeat]
    df = df.assign(_filled=df[fields].notna().sum(axis=1))
    df = df.iloc[np.lexsort([-df["_order"].to_numpy(), -df["_filled"].to_numpy()])]
    same = df.duplicated(subset=[spec.key])
    stats.rows_overlapping += int(same.sum())
    return df[~same].sort_index().drop(columns=["_content", "_filled"])


def _unlink(report: IngestReport, spec: SsdTable, df: pd.DataFrame, field: str, target: pd.DataFrame | None,
            target_key: str, target_name: str, consequence: str = "the link is dropped") -> pd.DataFrame:
    """Drop (with a warning) links to rows that are not in the target table, or that are another person's."""
    if field not in df:
        return df
    linked = df[field].notna()
    if target is None or target_key not in target:
        unknown, other = linked, pd.Series(False, index=df.index)
    else:
        owner = target.drop_duplicates(target_key).set_index(target_key)["child_id"]
        whose = df[field].map(owner)
        unknown = linked & whose.isna()
        other = linked & ~unknown & whose.ne(df["child_id"])
    header = spec.column(field).header
    _flag(report, spec, df, unknown, field, f"'{header}' names a row that is not in {target_name}; {consequence}",
          "warning")
    _flag(report, spec, df, other, field, f"'{header}' names another person's row of {target_name}; {consequence}",
          "warning")
    return df.assign(**{field: df[field].where(~(unknown | other))})


def _cla_periods(cla: pd.DataFrame) -> pd.DataFrame:
    """SSDA903 episodes (a change of placement or legal status starts a new one) -> periods of care."""
    c = cla.sort_values(["child_id", "episode_start"], kind="mergesort").reset_index(drop=True)
    first = c["child_id"].ne(c["child_id"].shift())
    prev_ceased = _col(c, "ceased_reason").shift()
    new = first | _col(c, "start_reason").eq("S") | ~prev_ceased.eq("X1")
    derived = "~" + new.cumsum().astype(str)
    period = _col(c, "cla_id").astype(object).where(_col(c, "cla_id").notna(), derived)
    c = c.assign(_period=period.to_numpy(), _start=_col(c, "entered_care", "date").fillna(c["episode_start"]))
    g = c.groupby(["child_id", "_period"], sort=False)
    last = c.loc[g["episode_start"].idxmax()].set_index(["child_id", "_period"])
    out = pd.DataFrame({
        "cla_start": g["_start"].min(),
        "need_code": g["need_code"].first() if "need_code" in c else None,
    })
    ended = last["episode_end"] if "episode_end" in last else pd.Series(pd.NaT, index=last.index)
    still = _col(last, "ceased_reason").eq("X1")
    out["cla_end"] = ended.where(~still).reindex(out.index)
    out = out.reset_index().drop(columns="_period")
    return out.assign(team=None)


def require_person_table(names: set[str]) -> None:
    """SSD tables without `ssd_person` cannot make a dataset (it says who the children are): refused at upload
    by the service, before any job, and by ingest."""
    if names and "ssd_person" not in names:
        raise ValidationError(f"SSD tables were given ({', '.join(sorted(names))}) but no ssd_person table: the "
                              "persons table says who the children are. Add ssd_person (a CSV file or sheet of that "
                              "name) and try again.")


def to_lists(frames: dict[str, list[pd.DataFrame]], report: IngestReport
             ) -> tuple[dict[int, pd.DataFrame], pd.DataFrame]:
    """Validated SSD tables (accepted rows per table, with `_file`, `_sheet`, `_row`, `_order`) ->
    (list frames keyed by Annex A list number, demographics with one row per person)."""
    seen = set(report.lists)
    require_person_table(seen)
    if not seen & set(ACTIVITY_TABLES):
        raise ValidationError("Only SSD tables about people were given: add the tables of the children's work "
                              "(ssd_contacts, ssd_cin_episodes, ssd_cin_assessments, ... ssd_cla_episodes).")
    t: dict[str, pd.DataFrame] = {name: _combine(fs, SSD_BY_NAME[name], report.lists[name])
                                  for name, fs in frames.items() if fs}
    persons = t.get("ssd_person")
    if persons is None:
        raise _unusable(report, "no row of ssd_person could be read, and without people no other table's rows "
                                "can be placed")

    known = pd.Index(persons["child_id"])
    for name in list(t):
        if name in ("ssd_person", "ssd_department"):
            continue
        spec = SSD_BY_NAME[name]
        missing = ~t[name]["child_id"].isin(known)
        header = spec.column("child_id").header
        _flag(report, spec, t[name], missing, "child_id", f"'{header}' names a person who is not in ssd_person; "
              "the row is rejected. Add the person to ssd_person or correct the id.", "error")
        t[name] = t[name][~missing.to_numpy()]

    if (dept := t.get("ssd_department")) is not None:
        names = dept.drop_duplicates("team_id").set_index("team_id")["team_name"]
        for name in TEAM_TABLES:
            if name in t and "team" in t[name]:
                t[name] = t[name].assign(team=t[name]["team"].map(names).fillna(t[name]["team"]))

    referrals = t.get("ssd_cin_episodes")
    for name in ("ssd_cin_assessments", "ssd_s47_enquiry", "ssd_cin_plans", "ssd_cp_plans"):
        if name in t:
            t[name] = _unlink(report, SSD_BY_NAME[name], t[name], "referral_id", referrals, "referral_id",
                              "ssd_cin_episodes")
    if (icpc := t.get("ssd_initial_cp_conference")) is not None:
        spec = SSD_BY_NAME["ssd_initial_cp_conference"]
        held = _col(icpc, "icpc_date", "date").notna()
        if int((~held).sum()):
            report.notes.append(f"{int((~held).sum())} conferences in ssd_initial_cp_conference have no date (not yet "
                                "held); they are not placed on the map.")
        icpc = icpc[held.to_numpy()]
        off_map = "the conference is left off the map (it is placed through its section 47 enquiry)"
        _flag(report, spec, icpc, _col(icpc, "s47_id").isna(), "s47_id",
              f"'{spec.column('s47_id').header}' is blank; {off_map}", "warning")
        t["ssd_initial_cp_conference"] = _unlink(report, spec, icpc, "s47_id", t.get("ssd_s47_enquiry"), "s47_id",
                                                 "ssd_s47_enquiry", off_map)
    if "ssd_cp_plans" in t:
        t["ssd_cp_plans"] = _unlink(report, SSD_BY_NAME["ssd_cp_plans"], t["ssd_cp_plans"], "icpc_id",
                                    t.get("ssd_initial_cp_conference"), "icpc_id", "ssd_initial_cp_conference")

    lists: dict[int, pd.DataFrame] = {}
    if (df := t.get("ssd_contacts")) is not None:
        outcome = _col(df, "contact_outcome")
        lists[1] = df.assign(contact_outcome=outcome.where(outcome.ne(OPEN)))
    if (df := t.get("ssd_early_help_episodes")) is not None:
        lists[2] = df
    if referrals is not None:
        lists[3] = t["ssd_cin_episodes"]
    if (df := t.get("ssd_cin_assessments")) is not None:
        nfa, outcome = _col(df, "outcome_nfa"), _col(df, "outcome")
        lists[4] = df.assign(requires_support=np.select(
            [nfa.eq("yes"), nfa.eq("no"), outcome.eq("nfa"), outcome.eq("services")], ["no", "yes", "no", "yes"],
            default=None))
    if (df := t.get("ssd_s47_enquiry")) is not None:
        lists[5] = _enquiries(report, df, t.get("ssd_initial_cp_conference"))
    elif "ssd_initial_cp_conference" in t:
        report.notes.append("ssd_initial_cp_conference was given without ssd_s47_enquiry; conferences are placed "
                            "on the map through their enquiry, so none is.")
    ref_cols = (t["ssd_cin_episodes"][["referral_id", "need_code", "closure_reason", "close_date"]]
                if referrals is not None and "referral_id" in referrals else None)
    if (df := t.get("ssd_cin_plans")) is not None:
        lists[6] = _cin_plans(df, ref_cols)
    if (df := t.get("ssd_cp_plans")) is not None:
        lists[7] = _cp_plans(df, t.get("ssd_initial_cp_conference"))
    if (df := t.get("ssd_cla_episodes")) is not None and len(df):
        lists[8] = _cla_periods(df)

    lists = {n: df.reset_index(drop=True)[[c for c in FIELDS[n] if c in df]].copy()
             for n, df in lists.items() if len(df)}
    if not lists:
        raise _unusable(report, "no row of the tables of children's work (ssd_contacts, ssd_cin_episodes, ... "
                                "ssd_cla_episodes) could be used")
    return lists, _demographics(t, lists, report)


def _unusable(report: IngestReport, why: str) -> ValidationError:
    summary = report.to_dict()
    return ValidationError(f"Nothing usable could be read: {why} ({summary['errors_total']} errors; the first are "
                           "listed). Correct them and try again.", details=summary["errors"])


def _enquiries(report: IngestReport, s47: pd.DataFrame, icpc: pd.DataFrame | None) -> pd.DataFrame:
    """One row per S47 enquiry, with its earliest conference that was held."""
    spec = SSD_BY_NAME["ssd_initial_cp_conference"]
    out = s47.copy()
    if icpc is not None and len(icpc) and "s47_id" in icpc:
        held = icpc[icpc["s47_id"].notna().to_numpy()]
        started = held["s47_id"].map(s47.drop_duplicates("s47_id").set_index("s47_id")["s47_start"])
        early = held["icpc_date"] < started
        _flag(report, spec, held, early, "icpc_date", f"'{spec.column('icpc_date').header}' is before the start of "
              "its section 47 enquiry ('s47e_s47_start_date'); the row is rejected", "error")
        held = held[~early.to_numpy()].sort_values("icpc_date", kind="mergesort")
        first = held.drop_duplicates("s47_id")
        if len(first) < len(held):
            report.notes.append(f"{len(held) - len(first)} section 47 enquiries have more than one conference; "
                                "the first is used.")
        cols = [c for c in ("s47_id", "icpc_date", "icpc_cp_plan") if c in first]
        out = out.merge(first[cols], on="s47_id", how="left", validate="one_to_one")
    icpc_date, outcome = _col(out, "icpc_date", "date"), _col(out, "outcome")
    out["icpc_date"] = icpc_date
    out["icpc_unnecessary"] = np.select(
        [icpc_date.notna(), outcome.eq("icpc"), outcome.eq(NO_ICPC), _col(out, "s47_nfa").eq("yes")],
        ["no", "no", "yes", "yes"], default=None)
    return out


def _cin_plans(plans: pd.DataFrame, referrals: pd.DataFrame | None) -> pd.DataFrame:
    out = plans.assign(need_code=None, closure_reason=None)
    if referrals is not None and "referral_id" in plans:
        ref = referrals.drop_duplicates("referral_id").set_index("referral_id")
        link = plans["referral_id"]
        closed_with_plan = link.map(_col(ref, "close_date", "date")).eq(_col(plans, "cin_end", "date"))
        out["need_code"] = link.map(_col(ref, "need_code")).to_numpy()
        out["closure_reason"] = link.map(_col(ref, "closure_reason")).where(closed_with_plan).to_numpy()
    return out


def _cp_plans(plans: pd.DataFrame, icpc: pd.DataFrame | None) -> pd.DataFrame:
    order = plans.sort_values(["child_id", "cp_start"], kind="mergesort")
    out = plans.assign(previous_cp_plans=order.groupby("child_id").cumcount().reindex(plans.index), team=None)
    if icpc is not None and "icpc_id" in plans and "team" in icpc:
        out["team"] = plans["icpc_id"].map(icpc.drop_duplicates("icpc_id").set_index("icpc_id")["team"]).to_numpy()
    return out


def _demographics(t: dict[str, pd.DataFrame], lists: dict[int, pd.DataFrame], report: IngestReport) -> pd.DataFrame:
    p = t["ssd_person"]
    sex, gender = _col(p, "sex"), _col(p, "gender")
    sex = sex.where(~(sex.isna() | sex.eq("not_stated")) | gender.isna(), gender)
    demo = pd.DataFrame({
        "child_id": p["child_id"].to_numpy(),
        "sex": sex.to_numpy(),
        "ethnicity": _col(p, "ethnicity").to_numpy(),
        "dob": _col(p, "dob", "date").fillna(_col(p, "expected_dob", "date")).to_numpy(),
        "age": pd.array([pd.NA] * len(p), dtype="Int64"),
        "date": pd.NaT,
    })
    ids = demo["child_id"]
    if (d := t.get("ssd_disability")) is not None and "disability_code" in d:
        code = d["disability_code"]  # blank or unknown codes say nothing
        yes = ids.isin(d.loc[code.notna() & code.ne("NONE"), "child_id"])
        no = ids.isin(d.loc[code.eq("NONE"), "child_id"])
        demo["disability"] = np.select([yes, no], ["yes", "no"], default=None)
    else:
        demo["disability"] = None
    i = t.get("ssd_immigration_status")
    demo["uasc"] = np.where(ids.isin(i.loc[i["immigration_status"].eq("uasc"), "child_id"])
                            if i is not None and "immigration_status" in i else False, "yes", "no")
    m = t.get("ssd_missing")
    counts = (m.loc[m["missing_type"].eq("missing"), "child_id"].value_counts()
              if m is not None and "missing_type" in m else pd.Series(dtype="int64"))
    demo["missing_episodes"] = ids.map(counts).fillna(0).astype(np.int64)
    prev = lists[7].groupby("child_id")["previous_cp_plans"].max() if 7 in lists else pd.Series(dtype="int64")
    demo["previous_cp_plans"] = ids.map(prev)
    active = pd.unique(pd.concat([df["child_id"] for df in lists.values()], ignore_index=True))
    idle = int((~ids.isin(active)).sum())
    if idle:
        report.notes.append(f"{idle} people in ssd_person have no contact, referral, assessment, plan or care episode "
                            "in the tables given; they are not counted as children.")
    return demo
