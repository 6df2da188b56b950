"""What an ingest found, for the person who uploaded: per list, rows read, rejected, duplicated and
overlapping; every problem with file, sheet, row and column (never a cell's value); whole lists
missing or sheets ignored; and the same problems grouped, largest first, for reading."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth.readers import RawTable
from synth.schema import AnnexList

MAX_REPORTED_ISSUES = 100
ISSUE_COLUMNS = ["file", "sheet", "row", "column", "message", "severity"]


@dataclass
class ListStats:
    number: int | str  # an Annex A list's number, or an SSD table's name
    name: str
    rows_read: int = 0
    rows_rejected: int = 0
    duplicates_dropped: int = 0
    rows_overlapping: int = 0


@dataclass
class IngestReport:
    files: list[dict] = field(default_factory=list)
    lists: dict[int | str, ListStats] = field(default_factory=dict)
    issues: list[pd.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Sheets or files that hold no list Frontdoor reads: {"file", "sheet", "why"}; each is also a warning.
    ignored: list[dict] = field(default_factory=list)
    lists_missing: list[int] = field(default_factory=list)  # Annex A lists found in no file, or without rows
    misread_dates: list[dict] = field(default_factory=list)  # date columns in the other order (note_date_order)
    training: dict | None = None  # synth.readiness.training_readiness
    standard: str | None = None  # "Annex A" or "SSD"
    children: int = 0
    events: int = 0
    episodes: int = 0

    def add_issues(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.issues.append(frame)

    def issue_table(self) -> pd.DataFrame:
        if not self.issues:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        return pd.concat(self.issues, ignore_index=True)[ISSUE_COLUMNS]

    def ignore(self, table: RawTable, why: str) -> None:
        """A sheet (or CSV file) none of whose rows are used: a warning, not a silent note."""
        self.ignored.append({"file": table.file, "sheet": table.sheet, "why": why})
        self._whole(table.file, table.sheet, f"not read as any Annex A list: {why}; none of its rows is used")

    def list_missing(self, annex: AnnexList, message: str) -> None:
        """An Annex A list found in no file, or only without rows: a warning naming what the journeys will lack."""
        self.lists_missing.append(annex.number)
        self._whole(None, None, message)

    def _whole(self, file: str | None, sheet: str | None, message: str) -> None:
        self.add_issues(pd.DataFrame([{"file": file, "sheet": sheet, "row": None, "column": None,
                                       "severity": "warning", "message": message}]))

    def list_warnings(self) -> list[str]:
        """Warnings about whole lists and sheets (missing, empty, not recognised), as sentences to show first."""
        issues = self.issue_table()
        whole = issues[issues["row"].isna() & issues["column"].isna() & (issues["severity"] == "warning")]
        return [(f"{f}" + (f", sheet '{sh}'" if isinstance(sh, str) else "") + ": " if isinstance(f, str) else "") + m
                for f, sh, m in whole[["file", "sheet", "message"]].itertuples(index=False)]

    def to_dict(self, limit: int = MAX_REPORTED_ISSUES) -> dict:
        issues = self.issue_table().sort_values(["file", "sheet", "row"], kind="mergesort", na_position="first")
        errors = issues[issues["severity"] == "error"]
        warnings = issues[issues["severity"] == "warning"]

        def first(frame: pd.DataFrame) -> list[dict]:
            rows = frame.head(limit).drop(columns="severity")
            rows = rows.astype(object).where(rows.notna(), None)
            return [{k: (int(v) if k == "row" and v is not None else v) for k, v in r.items()}
                    for r in rows.to_dict("records")]

        return {
            "files": self.files,
            "lists": {
                str(n): {"name": s.name, "rows_read": s.rows_read, "rows_rejected": s.rows_rejected,
                         "rows_accepted": s.rows_read - s.rows_rejected, "duplicates_dropped": s.duplicates_dropped,
                         "overlapping_rows": s.rows_overlapping}
                for n, s in sorted(self.lists.items())
            },
            "rows_read": sum(s.rows_read for s in self.lists.values()),
            "rows_rejected": sum(s.rows_rejected for s in self.lists.values()),
            "errors_total": int(len(errors)),
            "error_groups": group_issues(errors),
            "errors": first(errors),
            "warnings_total": int(len(warnings)),
            "warning_groups": group_issues(warnings),
            "warnings": first(warnings),
            "list_warnings": self.list_warnings(),
            "lists_missing": self.lists_missing,
            "sheets_ignored": self.ignored,
            "training": self.training,
            "notes": self.notes,
            "standard": self.standard,
            "children": self.children,
            "events": self.events,
            "episodes": self.episodes,
        }


def issue_place(issue: dict) -> str:
    """Where an issue is, to lead its sentence: "file.xlsx, sheet 'Contacts': " (empty when nowhere)."""
    parts = [issue.get("file"), f"sheet '{issue['sheet']}'" if issue.get("sheet") else None]
    return ", ".join(p for p in parts if p) + (": " if any(parts) else "")


def row_ranges(rows: np.ndarray, limit: int = 20) -> str:
    """`2-4973` or `2, 5, 9-12`; after `limit` ranges, how many rows are left out."""
    rows = np.unique(rows.astype(np.int64))
    if not len(rows):
        return ""
    breaks = np.flatnonzero(np.diff(rows) != 1)
    starts, ends = rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]]
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in zip(starts[:limit], ends[:limit])]
    rest = int((ends[limit:] - starts[limit:] + 1).sum())
    return ", ".join(parts) + (f" and {rest:,} more rows" if rest else "")


def group_issues(frame: pd.DataFrame) -> list[dict]:
    """Repeated issues as one line each: the same message in the same column of the same sheet, with how many
    rows and which (`count`, `rows`, `first_row`), largest first; `summary` reads
    "4,972 rows: 'Contact Date' is not a date ... (rows 2-4973)"."""
    if frame.empty:
        return []
    keys = ["file", "sheet", "column", "message"]
    g = frame.assign(**{k: frame[k].astype(object).where(frame[k].notna(), "") for k in keys})
    out = []
    for (file, sheet, column, message), part in g.groupby(keys, sort=False):
        rows = part["row"].dropna().to_numpy()
        count = len(part)
        where = row_ranges(rows) if len(rows) else ""
        out.append({"file": file or None, "sheet": sheet or None, "column": column or None, "message": message,
                    "count": count, "first_row": int(rows.min()) if len(rows) else None, "rows": where,
                    "summary": (f"{count:,} rows: " if count > 1 else "") + message
                               + (f" (row{'s' if count > 1 else ''} {where})" if where else "")})
    out.sort(key=lambda d: (-d["count"], d["file"] or "", d["sheet"] or "", d["first_row"] or 0))
    return out
