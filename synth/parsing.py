"""Vectorised readers for the cell values found in councils' workbooks.

Each parser takes a pandas Series of raw cells (strings from CSV, or the typed values a
workbook holds) and returns the parsed Series plus a mask of cells that were present but could
not be read. Blank cells are never "bad": whether a blank is allowed is the caller's business.
Coded columns are parsed once per distinct value, so a 500,000-row column costs a few hundred
lookups, not 500,000.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from synth.code_readers import CODE_READERS

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Excel serials for 1 Jan 1900 .. 31 Dec 2099: numbers outside this are not dates.
SERIAL_MIN, SERIAL_MAX = 1, 73415
EARLIEST_DATE = pd.Timestamp("1900-01-01")
LATEST_DATE = pd.Timestamp("2099-12-31")

# UK order first: `16/09/2021` is the 16th of September.
TEXT_DATE_FORMATS = (
    "%d/%m/%Y",
    "%Y-%m-%d",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d/%m/%y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",  # SQL Server datetimes as exported (SSD tables): 2023-04-12 00:00:00.000
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%Y/%m/%d",
)


# The same formats read month-first (US style), for input the user says is written so: only the
# formats whose day and month are both numbers change.
MONTH_FIRST_FORMATS = tuple(f.replace("%d/%m", "%m/%d").replace("%d-%m", "%m-%d").replace("%d.%m", "%m.%d")
                            for f in TEXT_DATE_FORMATS)
# A date written as two 1-2 digit numbers and a year (16/09/2021, 9-16-21, 16.09.2021 10:00).
_NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](?:\d{2}|\d{4})(?:[ T].*)?$"


def day_position(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells written as a number/number/year whose first number can only be a day (13-31: day-first), and
    those whose second can only be a day (month-first). A column with month-first cells and no day-first ones
    is written US style: read day-first, its dates with a day above 12 fail and the rest swap day and month.
    Typed dates and Excel serials are never ambiguous and count for neither. Read once per distinct value."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = pd.Series(uniques, dtype=object)
    text = u.where(u.map(type).eq(str))
    parts = text.str.extract(_NUMERIC_DATE) if len(u) else pd.DataFrame({0: [], 1: []})
    first, second = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
    day_first = ((first > 12) & (first <= 31) & (second <= 12)).to_numpy()
    month_first = ((second > 12) & (second <= 31) & (first <= 12)).to_numpy()
    present = codes >= 0
    take = np.where(present, codes, 0)

    def spread(mask: np.ndarray) -> pd.Series:
        if not len(mask):
            return pd.Series(False, index=s.index)
        return pd.Series(mask[take] & present, index=s.index)

    return spread(day_first), spread(month_first)


def blank_mask(s: pd.Series) -> pd.Series:
    """Cells that are empty: None, NaN, NaT or whitespace-only strings."""
    isna = s.isna()
    as_text = s.astype(str).str.strip()
    return isna | (as_text == "") | as_text.str.lower().isin(("nan", "nat", "none", "null"))


def _kinds(s: pd.Series) -> pd.Series:
    """'date', 'number', 'text' or 'blank' for each cell."""
    kinds = pd.Series("text", index=s.index, dtype=object)
    types = s.map(type)
    is_date = types.isin((dt.date, dt.datetime, pd.Timestamp, np.datetime64))
    is_number = types.isin((int, float, np.int64, np.float64)) & ~is_date
    kinds[is_date] = "date"
    kinds[is_number] = "number"
    kinds[blank_mask(s)] = "blank"
    return kinds


def _from_serial(numbers: pd.Series) -> pd.Series:
    ok = numbers.between(SERIAL_MIN, SERIAL_MAX)
    out = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns]")
    out[ok] = EXCEL_EPOCH + pd.to_timedelta(np.floor(numbers[ok].astype(float)), unit="D")
    return out


def parse_dates(s: pd.Series, month_first: bool = False) -> tuple[pd.Series, pd.Series]:
    """Dates from typed cells, Excel serial numbers and UK-style text (US-style with `month_first`).
    Returns (dates, bad)."""
    kinds = _kinds(s)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")

    is_date = kinds == "date"
    if is_date.any():
        out[is_date] = pd.to_datetime(s[is_date], errors="coerce")

    is_number = kinds == "number"
    if is_number.any():
        out[is_number] = _from_serial(pd.to_numeric(s[is_number], errors="coerce"))

    is_text = kinds == "text"
    if is_text.any():
        text = s[is_text].astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        serial = numeric.notna()
        if serial.any():
            out[serial[serial].index] = _from_serial(numeric[serial])
        remaining = text[~serial]
        for fmt in MONTH_FIRST_FORMATS if month_first else TEXT_DATE_FORMATS:
            if remaining.empty:
                break
            parsed = pd.to_datetime(remaining, format=fmt, errors="coerce")
            hit = parsed.notna()
            out[hit[hit].index] = parsed[hit]
            remaining = remaining[~hit]

    out = out.dt.normalize()
    out = out.mask(out.notna() & ((out < EARLIEST_DATE) | (out > LATEST_DATE)))
    bad = (kinds != "blank") & out.isna()
    return out, bad


def parse_ints(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (Excel gives 3.0 for 3). Returns (Int64 values, bad)."""
    blank = blank_mask(s)
    text = s.where(~blank, "").astype(str).str.strip()
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    whole = numbers.notna() & (np.floor(numbers) == numbers)
    bad = ~blank & ~whole
    values = numbers.where(whole).astype("Int64")
    return values, bad


def parse_ids(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Child identifiers as text; Excel's 12345.0 becomes `12345`. Returns (ids, bad)."""
    blank = blank_mask(s)
    uniques = pd.unique(s[~blank])

    def to_text(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    mapping = {v: to_text(v) for v in uniques}
    ids = s.map(mapping).where(~blank)
    return ids.astype(object), pd.Series(False, index=s.index)


def parse_text(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Free-standing labels such as team names: stripped, blanks to missing."""
    blank = blank_mask(s)
    uniques = pd.unique(s[~blank])
    mapping = {v: " ".join(str(v).split()) for v in uniques}
    return s.map(mapping).where(~blank).astype(object), pd.Series(False, index=s.index)


def parse_coded(s: pd.Series, kind: str, reader=None) -> tuple[pd.Series, pd.Series]:
    """A coded column (sex, ethnicity, source, ...) read through the schema's code tables, or
    through `reader` (cell text -> code or None) when the column brings its own."""
    reader = reader or CODE_READERS[kind]
    blank = blank_mask(s)
    uniques = pd.unique(s[~blank])
    mapping = {v: reader(str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v)))
               for v in uniques}
    values = s.map(mapping).where(~blank)
    bad = ~blank & values.isna()
    return values.astype(object), bad


_PARSERS = {"date": parse_dates, "int": parse_ints, "id": parse_ids, "text": parse_text}


def parse_column(s: pd.Series, kind: str, reader=None, month_first: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse a column of the schema's `kind` (coded kinds: through `reader` if given; dates month-first
    with `month_first`), reading each distinct cell value once.

    Columns repeat a few thousand distinct values (days, codes, team names) over hundreds of
    thousands of rows, so the parsers run on the distinct values and the result is spread back.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parser = _PARSERS.get(kind) or (lambda u: parse_coded(u, kind, reader))
    if kind == "date" and month_first:
        parser = lambda u: parse_dates(u, month_first=True)  # noqa: E731
    values, bad = parser(pd.Series(uniques, dtype=object))
    missing = codes < 0
    take = np.where(missing, 0, codes)
    if len(uniques) == 0:
        empty = pd.Series([None] * len(s), index=s.index, dtype=object)
        if kind == "date":
            empty = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
        elif kind == "int":
            empty = pd.Series(pd.NA, index=s.index, dtype="Int64")
        return empty, pd.Series(False, index=s.index)
    out = pd.Series(values.to_numpy()[take], index=s.index, dtype=values.dtype)
    out[missing] = None if kind not in ("date", "int") else (pd.NaT if kind == "date" else pd.NA)
    out_bad = pd.Series(bad.to_numpy()[take] & ~missing, index=s.index)
    return out, out_bad
