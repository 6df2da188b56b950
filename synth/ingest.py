"""Annex A workbooks or CSVs (or SSD tables) -> validated, combined, pseudonymised canonical tables.

`ingest(paths, key)` reads every file, recognises each sheet as one of Lists 1-8 by its headers,
validates every row (vectorised, per column), combines several workbooks into one set of rows
(a row seen in two workbooks is counted once; where a later workbook completes a row, the more
complete one is kept), derives the event log, pseudonymises, and links journeys.

Tables of the D2I Standard Safeguarding Dataset are recognised the same way (by their headers, or
their file or sheet name); `synth.ssd` validates them with the same machinery and maps them onto
the same list frames, so that everything from the event log on is shared. One upload holds one
standard: a mix of Annex A lists and SSD tables is refused.

Rows that cannot be read are rejected and reported with file, sheet, Excel row and column; cells
with an unknown code are blanked and reported as warnings. Reports never hold cell values.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synth import anonymise, journeys
from synth import events as event_log
from synth.date_order import misread_dates_error, note_date_order
from synth.errors import InputFileError, ValidationError
from synth.ingest_report import IngestReport, ListStats, issue_place
from synth.parsing import parse_column
from synth.readers import RawTable, file_sha256, is_ssd_name, read_tables
from synth.readiness import training_readiness
from synth.recognise import check_one_standard, column_positions, identify_list, why_unrecognised
from synth.schema import (
    CHILDREN_COLUMNS,
    DATE,
    EVENTS_COLUMNS,
    ID,
    INT,
    LISTS,
    OUT_OF_SCOPE_SHEETS,
    TEXT,
    AnnexList,
    normalise_header,
)
from synth.ssd_schema import SSD_BY_NAME, SsdTable, prepare_raw

log = logging.getLogger(__name__)

INGEST_VERSION = "frontdoor-ingest/1"
# Columns a council may leave out without a warning (not in the Ofsted guidance).
LOCAL_COLUMNS = frozenset({"contact_outcome"})
# (end, start) pairs: the end may not come before the start.
DATE_ORDER = {
    "eh_end": "eh_start",
    "assessment_end": "assessment_start",
    "icpc_date": "s47_start",
    "cin_end": "cin_start",
    "cp_end": "cp_start",
    "cla_end": "cla_start",
}


@dataclass
class IngestResult:
    children: pd.DataFrame
    events: pd.DataFrame
    episodes: pd.DataFrame
    report: IngestReport
    manifest: dict


# ----------------------------------------------------------------------------------------------
# Validating one table.
def _issues(rows: pd.Series, mask: pd.Series, column: str, message: str, severity: str) -> pd.DataFrame:
    hit = rows[mask]
    return pd.DataFrame({"row": hit.to_numpy(), "column": column, "message": message, "severity": severity})


def validate_table(table: RawTable, annex: AnnexList | SsdTable, report: IngestReport,
                   date_order: dict[str, str] | None = None, month_first: bool = False) -> pd.DataFrame:
    """Parsed, accepted rows of one table (canonical field names), issues added to the report.

    `date_order` maps end fields to the start fields they may not precede (default: the Annex A
    lists' pairs). Text dates are read day-first (month-first with `month_first`); a date column
    written the other way round is noted in `report.misread_dates` (the ingest then refuses the input)."""
    stats = report.lists.setdefault(annex.number, ListStats(annex.number, getattr(annex, "title", annex.name)))
    positions = column_positions(table, annex)
    raw = table.data
    rows = raw["_row"]
    stats.rows_read += len(raw)

    def header(name: str) -> str:
        return table.headers[positions[name]] if name in positions else annex.column(name).header

    missing_required = [c for c in annex.all_columns if c.required and c.field not in positions]
    if missing_required:
        names = ", ".join(f"'{c.header}'" for c in missing_required)
        report.add_issues(pd.DataFrame([{
            "file": table.file, "sheet": table.sheet,
            "row": table.header_row, "column": missing_required[0].header, "severity": "error",
            "message": f"{annex.label} has no column {names}; every row of this "
                       f"sheet is rejected. Add the column or correct its heading.",
        }]))
        stats.rows_rejected += len(raw)
        return pd.DataFrame()

    out = pd.DataFrame(index=raw.index)
    reject = pd.Series(False, index=raw.index)
    issues: list[pd.DataFrame] = []
    for col in annex.all_columns:
        if not (col.keep or col.required):
            continue
        if col.field not in positions:
            if col.field not in LOCAL_COLUMNS and col.field not in ("dob", "age"):
                issues.append(pd.DataFrame([{
                    "row": table.header_row, "column": col.header, "severity": "warning",
                    "message": f"column '{col.header}' not found; treated as not recorded"}]))
            continue
        cells = raw[str(positions[col.field])]
        name = header(col.field)
        if col.kind == DATE:
            note_date_order(table, annex, name, cells, rows, month_first, report)
        values, bad = parse_column(cells, col.kind, col.reader, month_first=month_first)
        if col.required:
            blank = values.isna() & ~bad
            issues.append(_issues(rows, blank, name, f"'{name}' is blank; the row is rejected", "error"))
            reject |= blank
        if col.kind in (DATE, ID):
            issues.append(_issues(rows, bad, name, f"'{name}' is not a date that can be read (expected "
                                  "dd/mm/yyyy, yyyy-mm-dd or an Excel date); the row is rejected", "error"))
            reject |= bad
        elif col.kind == INT:
            issues.append(_issues(rows, bad, name, f"'{name}' is not a whole number; treated as not recorded",
                                  "warning"))
        elif col.kind != TEXT:
            issues.append(_issues(rows, bad, name, f"'{name}' is not a recognised code; treated as not recorded",
                                  "warning"))
        out[col.field] = values

    if "age" in out:
        odd_age = out["age"].notna() & ~out["age"].between(-1, 25)
        issues.append(_issues(rows, odd_age, header("age"), "age outside -1..25; treated as not recorded",
                              "warning"))
        out.loc[odd_age, "age"] = pd.NA
    for end, start in (DATE_ORDER if date_order is None else date_order).items():
        if end in out and start in out:
            backwards = out[end].notna() & out[start].notna() & (out[end] < out[start])
            issues.append(_issues(rows, backwards, header(end),
                                  f"'{header(end)}' is before '{header(start)}'; the row is rejected", "error"))
            reject |= backwards

    frame = pd.concat([i for i in issues if len(i)], ignore_index=True) if any(len(i) for i in issues) else None
    if frame is not None:
        frame["file"] = table.file
        frame["sheet"] = table.sheet
        report.add_issues(frame)
    stats.rows_rejected += int(reject.sum())
    accepted = out[~reject].copy()
    accepted["_row"] = rows[~reject].to_numpy()
    return accepted


def combine_rows(frames: list[pd.DataFrame], annex: AnnexList, stats: ListStats) -> pd.DataFrame:
    """One list's rows from every file.

    Within a file, exact repeats of a row are dropped. Across files (successive extracts that
    overlap), a row with the same child, date and natural key is one row seen twice: the most
    complete version is kept (then the later file's). Several same-day rows of one child in one
    file stay several rows.
    """
    df = pd.concat(frames, ignore_index=True)
    fields = [c for c in df.columns if not c.startswith("_")]
    # A hash of each row's content: equal rows have equal hashes, so exact repeats are found by
    # comparing only rows whose hashes repeat.
    df["_content"] = pd.util.hash_pandas_object(df[fields], index=False).to_numpy()
    maybe = df["_content"].duplicated(keep=False).to_numpy()
    repeat = np.zeros(len(df), dtype=bool)
    if maybe.any():
        repeat[np.flatnonzero(maybe)] = df[maybe].duplicated(subset=[*fields, "_order"]).to_numpy()
    stats.duplicates_dropped += int(repeat.sum())
    df = df[~repeat]
    key = ["child_id", annex.key_field, *[k for k in annex.natural_key if k in df.columns]]
    # Content order, so that the pairing of same-day rows across files (and the row ids, a
    # tie-break within a day) do not depend on the order of rows or files. Sorting on hashes and
    # day numbers is much faster than on text.
    ordering = [pd.util.hash_pandas_object(df[k], index=False).to_numpy() if df[k].dtype == object
                else df[k].to_numpy().astype("int64") for k in key]
    df = df.iloc[np.lexsort([df["_content"].to_numpy(), *ordering[::-1]])]
    df = df.assign(_pos=np.arange(len(df)), _k=df.groupby([*key, "_order"], sort=False, dropna=False).cumcount(),
                   _filled=df[fields].notna().sum(axis=1))
    # The most complete version of a row first (then the later file's), so that it is kept.
    df = df.iloc[np.lexsort([-df["_order"].to_numpy(), -df["_filled"].to_numpy()])]
    same = df.duplicated(subset=[*key, "_k"])
    stats.rows_overlapping += int(same.sum())
    df = df[~same]
    df = df.iloc[np.argsort(df["_pos"].to_numpy(), kind="stable")].reset_index(drop=True)
    return df.drop(columns=["_filled", "_order", "_row", "_k", "_content", "_pos"])


# ----------------------------------------------------------------------------------------------
# Children.
def _most_common(demo: pd.DataFrame, column: str) -> tuple[pd.Series, int]:
    """Per child the most frequent value (ties: the most recent); and how many children conflict."""
    sub = demo[["child", column, "date"]].dropna(subset=[column])
    if sub.empty:
        return pd.Series(dtype=object), 0
    g = sub.groupby(["child", column]).agg(n=("date", "size"), last=("date", "max")).reset_index()
    g = g.sort_values(["child", "n", "last"], ascending=[True, False, False], kind="mergesort")
    conflicts = int(g.loc[g["child"].duplicated(), "child"].nunique())
    best = g.drop_duplicates("child").set_index("child")[column]
    return best, conflicts


def collect_children(lists: dict[int, pd.DataFrame], first_dates: pd.Series,
                     report: IngestReport, demographics: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per child: demographics reconciled across lists, DOB reduced to age at first event.

    `demographics` (rows of `child`, `date` and the attributes) replaces the lists' own columns
    when the input keeps them apart (the SSD's person tables)."""
    if demographics is not None:
        demo = demographics
    else:
        parts = []
        for number, df in lists.items():
            annex = LISTS[number - 1]
            cols = [c for c in ("child", "sex", "ethnicity", "dob", "age", "disability", "uasc",
                                "missing_episodes", "previous_cp_plans") if c in df]
            parts.append(df[cols].assign(date=df[annex.key_field]))
        demo = pd.concat(parts, ignore_index=True)
    for col in ("sex", "ethnicity", "dob", "age", "disability", "uasc", "missing_episodes", "previous_cp_plans"):
        if col not in demo:
            demo[col] = pd.NA
    children = pd.DataFrame({"child": first_dates.index.to_numpy()})
    for col, label in (("sex", "sex"), ("ethnicity", "ethnicity"), ("dob", "date of birth")):
        best, conflicts = _most_common(demo, col)
        children[col] = children["child"].map(best)
        if conflicts:
            report.notes.append(f"{conflicts} children have a different {label} in different rows; "
                                "the most frequent value (then the most recent) is used.")
    first = pd.Series(first_dates.to_numpy(), index=children.index)
    age = anonymise.age_in_years(pd.to_datetime(children["dob"]), first)
    # Without a date of birth, the age given on the child's earliest row.
    earliest_age = demo.dropna(subset=["age"]).sort_values("date", kind="mergesort").drop_duplicates("child")
    age = age.fillna(children["child"].map(earliest_age.set_index("child")["age"]))
    children["age_at_first_contact"] = age.astype("Int64")
    children["age_band"] = journeys.age_band(children["age_at_first_contact"])
    said_yes = children["child"].isin(demo.loc[demo["disability"].eq("yes"), "child"])
    said_no = children["child"].isin(demo.loc[demo["disability"].eq("no"), "child"])
    children["disability"] = np.select([said_yes, said_no], ["yes", "no"], "unknown")
    uasc_yes = children["child"].isin(demo.loc[demo["uasc"].eq("yes"), "child"])
    children["uasc"] = np.where(uasc_yes, "yes", "no")
    missing = pd.to_numeric(demo["missing_episodes"], errors="coerce").groupby(demo["child"]).sum()
    children["missing_episodes"] = children["child"].map(missing).fillna(0).astype(np.int32)
    prev = pd.to_numeric(demo["previous_cp_plans"], errors="coerce").groupby(demo["child"]).max()
    children["previous_cp_plans"] = children["child"].map(prev).fillna(0).astype(np.int32)
    return children.rename(columns={"ethnicity": "ethnicity_group"}).drop(columns=["dob"])


# ----------------------------------------------------------------------------------------------
def lineage_hash(inputs: list[dict], key_fp: str) -> str:
    payload = json.dumps({"version": INGEST_VERSION, "key": key_fp,
                          "inputs": sorted(i["sha256"] for i in inputs)}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


# What a journey lacks without each list, for the warning that the list is missing.
LIST_GAPS = {
    1: "no contacts: journeys start at referral and the front door's contacts are not counted",
    2: "no early help episodes",
    3: "no referrals: journeys end at the contact",
    4: "no assessments: journeys skip assessment and disability is not recorded for any child",
    5: "no section 47 enquiries or initial child protection conferences",
    6: "no children in need plans",
    7: "no child protection plans",
    8: "no children in care: care episodes, UASC status and missing episodes are not recorded",
}


def warn_missing_lists(report: IngestReport) -> None:
    """A warning for each of Lists 1-8 found in no file, or found without rows: the dataset is still made,
    but what it cannot show is said, on the report's first lines."""
    for annex in LISTS:
        stats = report.lists.get(annex.number)
        key = annex.column(annex.key_field).header
        if stats is None:
            report.list_missing(annex, f"{annex.label} was not found in any file ({LIST_GAPS[annex.number]}). "
                                f"If the council keeps this list, add its sheet or CSV, with headers such as "
                                f"'Child Unique ID' and '{key}'.")
        elif stats.rows_read == 0:
            report.list_missing(annex, f"{annex.label} has no rows ({LIST_GAPS[annex.number]}).")


def nothing_usable(report: IngestReport, what: str) -> ValidationError:
    """The error for an input of which no row could be used (`what`: 'Annex A lists', 'SSD tables')."""
    summary = report.to_dict()
    if summary["rows_read"]:
        groups = summary["error_groups"]
        shown = "; ".join(issue_place(g) + g["summary"] for g in groups[:5])
        more = f"; and {len(groups) - 5} more kinds of error" if len(groups) > 5 else ""
        message = (f"Nothing usable could be read: all {summary['rows_read']:,} rows of the {what} found were "
                   f"rejected ({summary['errors_total']:,} errors: {shown}{more}). Correct them and try again.")
    else:
        ignored = [issue_place(i) + i["why"] + "; ignored" for i in report.ignored]
        message = ("Nothing usable could be read: " + ("; ".join(ignored + report.notes) or "no Annex A list found")
                   + ". Check the headers against the Annex A guidance (or the SSD specification).")
    return ValidationError(message, details=summary["errors"])


def ingest(paths: list[Path], key: bytes, *, month_first: bool = False) -> IngestResult:
    """Read, validate, combine, pseudonymise and link. Raises ValidationError when nothing is usable, and
    DateOrderError when a date column is written month-first (day-first with `month_first`, which reads text
    dates as mm/dd/yyyy)."""
    if not paths:
        raise InputFileError("no input files given; pass an Annex A workbook or the per-list CSV files.")
    report = IngestReport()
    frames: dict[int | str, list[pd.DataFrame]] = {}
    recognised: list[tuple[RawTable, AnnexList | SsdTable]] = []
    unused_ssd: list[str] = []
    for order, path in enumerate(paths):
        path = Path(path)
        tables = read_tables(path)
        entry = {"file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size, "sheets": []}
        report.files.append(entry)
        for table in tables:
            annex = identify_list(table)
            if annex is None:
                where = normalise_header(table.sheet or path.stem)
                named = normalise_header(table.sheet or path.stem).replace(" ", "_")
                if named in SSD_BY_NAME:
                    spec = SSD_BY_NAME[named]
                    report.notes.append(f"{table.where}: named for the SSD table {named} but has neither its "
                                        f"'{spec.column(spec.key).header}' nor its person id column; ignored")
                elif is_ssd_name(table.sheet or path.stem):
                    unused_ssd.append(table.sheet or path.stem)  # outside the front door (ssd_address, ...)
                elif not any(normalise_header(s) in where for s in OUT_OF_SCOPE_SHEETS):
                    report.ignore(table, why_unrecognised(table))
                entry["sheets"].append({"sheet": table.sheet, "list": None, "rows": len(table.data)})
                continue
            recognised.append((table, annex))
            check_one_standard(recognised)
            before = report.lists.get(annex.number, ListStats(annex.number, annex.name)).rows_rejected
            if isinstance(annex, SsdTable):
                prepare_raw(table, annex)
                accepted = validate_table(table, annex, report, dict(annex.date_order), month_first=month_first)
                accepted = accepted.assign(_file=table.file, _sheet=table.sheet)
            else:
                accepted = validate_table(table, annex, report, month_first=month_first)
            rejected = report.lists[annex.number].rows_rejected - before
            entry["sheets"].append({"sheet": table.sheet, "list": annex.number, "rows": len(table.data),
                                    "rows_rejected": rejected})
            log.info("read %s: %s, %d rows, %d rejected", table.where, annex.label, len(table.data), rejected)
            if len(accepted):
                frames.setdefault(annex.number, []).append(accepted.assign(_order=order))

    if report.misread_dates:
        raise misread_dates_error(report, month_first)
    if unused_ssd:
        report.notes.append(f"{len(unused_ssd)} SSD tables the front-door map does not use were ignored: "
                            + ", ".join(sorted(set(unused_ssd))) + ".")
    demographics = None
    if any(isinstance(spec, SsdTable) for _, spec in recognised):
        from synth import ssd  # imports this module

        report.standard = "SSD"
        lists, demographics = ssd.to_lists(frames, report)
    else:
        report.standard = "Annex A"
        if not frames:
            raise nothing_usable(report, "Annex A lists")
        warn_missing_lists(report)
        lists = {number: combine_rows(frames[number], LISTS[number - 1], report.lists[number])
                 for number in sorted(frames)}
    return _canonical(lists, demographics, report, key)


def _canonical(lists: dict[int, pd.DataFrame], demographics: pd.DataFrame | None, report: IngestReport,
               key: bytes) -> IngestResult:
    """List frames (Annex A's, or the SSD's mapped onto them) -> events, episodes, children, keyed."""
    next_id = 0
    for number in sorted(lists):
        df = lists[number]
        df["row_id"] = np.arange(next_id, next_id + len(df), dtype=np.int64)
        next_id += len(df)
    # Children are numbered once; everything up to pseudonymisation works on these numbers.
    child_ids = pd.Index(pd.unique(pd.concat([lists[n]["child_id"] for n in sorted(lists)], ignore_index=True)))
    for df in lists.values():
        df["child"] = child_ids.get_indexer(df["child_id"]).astype(np.int32)
        df.drop(columns="child_id", inplace=True)
    if demographics is not None:
        child = child_ids.get_indexer(demographics["child_id"])
        demographics = demographics[child >= 0].drop(columns="child_id").assign(child=child[child >= 0])

    events = event_log.derive_events(lists)
    events, episodes = journeys.link_episodes(events, key="child")
    first_dates = events.groupby("child")["date"].min()
    children = collect_children(lists, first_dates, report, demographics)
    key_fp = anonymise.key_fingerprint(key)
    child_keys = anonymise.pseudonyms(pd.Series(child_ids), key).to_numpy()
    if len(set(child_keys)) < len(child_keys):  # 64-bit pseudonyms: a clash is astronomically rare
        raise ValidationError("two children received the same pseudonym; ingest again with a new pseudonym key.")
    children, events, episodes = (anonymise.with_child_keys(t, child_keys) for t in (children, events, episodes))
    events = events[list(EVENTS_COLUMNS)]
    events["list_no"] = events["list_no"].astype(np.int8)
    events["derived"] = events["derived"].astype(bool)
    children = children[list(CHILDREN_COLUMNS)]

    report.children, report.events, report.episodes = len(children), len(events), len(episodes)
    lineage = lineage_hash(report.files, key_fp)
    report.training = training_readiness(children, events, episodes, lineage)
    manifest = {
        "lineage_hash": lineage,
        "key_fingerprint": key_fp,
        "ingest_version": INGEST_VERSION,
        "inputs": [{k: f[k] for k in ("file", "sha256", "bytes")} for f in report.files],
        "first_date": str(events["date"].min().date()),
        "last_date": str(events["date"].max().date()),
    }
    return IngestResult(children, events, episodes, report, manifest)
