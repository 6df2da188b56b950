"""Dates written the other way round: a text date column whose every unambiguous date (a number
above 12 in one place) is month-first (US style), or day-first when month-first was asked for, is
noted while validating; the ingest then refuses the upload with one error naming every such column."""

from __future__ import annotations

import pandas as pd

from synth.errors import DateOrderError
from synth.ingest_report import IngestReport, issue_place
from synth.parsing import day_position
from synth.readers import RawTable
from synth.schema import AnnexList
from synth.ssd_schema import SsdTable


def note_date_order(table: RawTable, annex: AnnexList | SsdTable, column: str, cells: pd.Series, rows: pd.Series,
                    month_first: bool, report: IngestReport) -> None:
    """A column whose every unambiguous text date (a number above 12 in one place) is in the order not
    expected: noted, with how many such cells and the first one's row."""
    day_first, us_style = day_position(cells)
    wrong, right = (day_first, us_style) if month_first else (us_style, day_first)
    if wrong.any() and not right.any():
        report.misread_dates.append({"file": table.file, "sheet": table.sheet, "list": annex.label,
                                     "column": column, "cells": int(wrong.sum()),
                                     "first_row": int(rows[wrong].iloc[0])})


def misread_dates_error(report: IngestReport, month_first: bool) -> DateOrderError:
    """One error naming every file, sheet (list) and column written in the other date order."""
    by_table: dict[tuple, list[dict]] = {}
    for c in report.misread_dates:
        by_table.setdefault((c["file"], c["sheet"], c["list"]), []).append(c)
    def columns(cols: list[dict]) -> str:
        named = [f"'{c['column']}' ({c['cells']:,} such dates, the first in row {c['first_row']})" for c in cols]
        return ("column " if len(named) == 1 else "columns ") + (
            named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1])

    places = "; ".join(issue_place({"file": f, "sheet": sh})[:-2] + f", {label}, {columns(cols)}"
                       for (f, sh, label), cols in by_table.items())
    if month_first:
        message = (f"Dates written day-first (dd/mm/yyyy) although month-first was asked for: {places}. Their first "
                   "number is above 12, so it is a day. Nothing was read. Ingest them without the month-first "
                   "option.")
    else:
        message = (f"Dates written month-first (US style, mm/dd/yyyy): {places}. Their second number is above 12, "
                   "so it is a day, and no date in these columns has a day first. Read as dd/mm/yyyy, those dates "
                   "would be rejected and the others read with day and month swapped, so nothing was read. Save "
                   "these columns as dd/mm/yyyy or yyyy-mm-dd (in Excel: Format Cells, Date, locale English "
                   "(United Kingdom)) and upload the file again.")
    details = [{"file": c["file"], "sheet": c["sheet"], "row": c["first_row"], "column": c["column"],
                "message": f"{c['cells']:,} dates in '{c['column']}' are written "
                           + ("day-first" if month_first else "month-first (mm/dd/yyyy)")}
               for c in report.misread_dates]
    return DateOrderError(message, details=details)
