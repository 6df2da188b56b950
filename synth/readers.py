"""Read councils' files into raw tables: one per workbook sheet or CSV file.

Only reading happens here (bytes -> cells, and where the header row is). Which Annex A list (or
SSD table) a table holds, and what its cells mean, is decided in synth.ingest and synth.ssd. Every
refusal names the file and says how to fix it; nothing here logs or returns cell values in messages.
"""

from __future__ import annotations

import csv
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synth.errors import InputFileError
from synth.schema import LISTS, header_lookup, normalise_header
from synth.ssd_schema import SSD_HEADERS
from synth.workbook_zip import check_container, sheet_header_rows

# A workbook is a zip of XML: synth.workbook_zip refuses ones that expand far beyond their size (zip bombs).
HEADER_SEARCH_ROWS = 15
READ_THREADS = 2
MIN_HEADER_MATCHES = 3

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_MARKER = "EncryptedPackage".encode("utf-16-le")

_ALL_HEADERS: frozenset[str] = frozenset(h for annex in LISTS for h in header_lookup(annex)) | SSD_HEADERS


@dataclass
class RawTable:
    """Cells of one sheet or CSV below its header row, with the Excel row number of each."""

    file: str
    sheet: str | None
    header_row: int  # 1-based, as Excel shows it
    headers: list[str]
    data: pd.DataFrame  # object columns named by position "0", "1", ...; plus "_row"

    @property
    def where(self) -> str:
        return f"{self.file}, sheet '{self.sheet}'" if self.sheet else self.file


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xlsm":
        raise InputFileError(f"{path.name}: a macro-enabled workbook (.xlsm). Frontdoor reads cells only and takes no "
                             "macros: save it in Excel as 'Excel Workbook (.xlsx)' and give that.")
    if suffix not in (".csv", ".xlsx", ".xls"):
        raise InputFileError(f"{path.name}: not an Annex A file type ({suffix or 'no extension'}); "
                             "give an Excel workbook (.xlsx) or one CSV file per list.")
    return suffix


def read_tables(path: Path) -> list[RawTable]:
    """All tables in one input file (.xlsx/.xls workbook or .csv)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found.")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; give the workbook or CSV files inside it.")
    if _check_suffix(path) == ".csv":
        return [_read_csv(path)]
    return _read_workbook(path)


def read_headers(path: Path) -> list[RawTable]:
    """Only the header rows of a file's tables (no data rows): a quick look before a full read.
    Raises the same errors as `read_tables` for files that cannot be read at all."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found.")
    if _check_suffix(path) == ".csv":
        text = _decode_csv(path)
        head = list(csv.reader(io.StringIO("\n".join(text.splitlines()[:HEADER_SEARCH_ROWS]))))
        idx = _find_header_row(head, path.stem)
        headers = [str(h).strip() for h in head[idx]] if idx is not None else []
        return [RawTable(path.name, None, (idx or 0) + 1, headers, pd.DataFrame())]
    try:
        if _check_workbook_container(path):  # .xlsx: the sheets' first rows, streamed
            sheets = sheet_header_rows(path, HEADER_SEARCH_ROWS)
        else:  # a legacy .xls (no zip, no XML to bomb with): calamine reads those
            sheets = _xls_first_rows(path)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"{path.name}: the workbook cannot be read ({type(exc).__name__}). "
                             "Open it in Excel and save it again as .xlsx.") from None
    tables = []
    for name, rows in sheets:
        idx = _find_header_row(rows, name)
        headers = [str(h if h is not None else "").strip() for h in rows[idx]] if idx is not None else []
        tables.append(RawTable(path.name, name, (idx or 0) + 1, headers, pd.DataFrame()))
    return tables


def _xls_first_rows(path: Path) -> list[tuple[str, list[list[object]]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return [(name, wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=HEADER_SEARCH_ROWS))
            for name in wb.sheet_names]


def _check_workbook_container(path: Path) -> bool:
    """Refuse what is not a readable workbook; True for a zip (.xlsx) workbook, checked member by member
    (synth.workbook_zip), False for a legacy .xls."""
    with open(path, "rb") as f:
        head = f.read(8)
        if head == _OLE_MAGIC:
            f.seek(0)
            blob = f.read(4 * 1024 * 1024)
            if _ENCRYPTED_MARKER in blob:
                raise InputFileError(
                    f"{path.name}: the workbook is password-protected. Open it in Excel, remove the "
                    "password (File > Info > Protect Workbook) and save it again as .xlsx."
                )
            return False  # a legacy .xls workbook: calamine reads those
    if head[:4] != _ZIP_MAGIC:
        raise InputFileError(
            f"{path.name}: not a readable Excel workbook (the file is damaged or is not really .xlsx). "
            "Open it in Excel and save it again as .xlsx, or export each list as CSV."
        )
    check_container(path)
    return True


def _read_workbook(path: Path) -> list[RawTable]:
    from python_calamine import CalamineWorkbook

    _check_workbook_container(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
    except Exception as exc:  # calamine raises several types for damaged files
        raise InputFileError(
            f"{path.name}: the workbook cannot be read ({type(exc).__name__}). "
            "Open it in Excel and save it again as .xlsx."
        ) from None

    def sheet_rows(name: str) -> list[list[object]]:
        try:  # one workbook handle per thread; calamine parses outside the GIL
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name)
            # Keep leading empty rows so that row numbers match what Excel shows.
            return sheet.to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputFileError(
                f"{path.name}, sheet '{name}': cannot be read ({type(exc).__name__}). "
                "Open the workbook in Excel and save it again."
            ) from None

    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        rows_by_sheet = dict(zip(names, pool.map(sheet_rows, names)))
    return [_table_from_rows(path.name, name, rows_by_sheet.pop(name)) for name in names]


def _decode_csv(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(
            f"{path.name}: the file is UTF-16 text; save it as 'CSV UTF-8 (Comma delimited)' in Excel."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"{path.name}: line {line} is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save the file as 'CSV UTF-8 (Comma delimited)' in Excel and upload it again.",
            details=[{"file": path.name, "row": line, "message": "not UTF-8 text"}],
        ) from None


def _read_csv(path: Path) -> RawTable:
    text = _decode_csv(path)
    head_lines = list(csv.reader(io.StringIO("\n".join(text.splitlines()[:HEADER_SEARCH_ROWS]))))
    header_idx = _find_header_row(head_lines, path.stem)
    if header_idx is None:  # not a list: the ingest warns of it (and refuses when nothing else is usable)
        return RawTable(path.name, None, 0, [], pd.DataFrame())
    try:
        df = pd.read_csv(
            io.StringIO(text),
            skiprows=header_idx,
            header=0,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputFileError(
            f"{path.name}: cannot be read as CSV ({str(exc).splitlines()[0]}); check that every row has "
            "the same number of columns and that quoted cells are closed."
        ) from None
    headers = [str(h) for h in df.columns]
    df.columns = [str(i) for i in range(len(headers))]
    # Excel row number: header line is header_idx + 1, the first data row the one after it.
    df["_row"] = range(header_idx + 2, header_idx + 2 + len(df))
    return RawTable(path.name, None, header_idx + 1, headers, _drop_empty_rows(df))


def _find_header_row(rows: list[list[object]], name: str | None = None) -> int | None:
    """The row of known headers; for a table named as an SSD table (`ssd_address`), whose extract always
    has its header first, the first row even when Frontdoor knows none of its columns."""
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = sum(1 for cell in row if normalise_header(cell) in _ALL_HEADERS)
        if score > best_score:
            best, best_score = i, score
    if best_score >= MIN_HEADER_MATCHES:
        return best
    if name is not None and is_ssd_name(name) and rows and any(str(c).strip() for c in rows[0] if c is not None):
        return 0
    return None


def is_ssd_name(name: str) -> bool:
    """A file or sheet named for a table of the Standard Safeguarding Dataset (`ssd_...`)."""
    return normalise_header(name).startswith("ssd ")


def _table_from_rows(file: str, sheet: str, rows: list[list[object]]) -> RawTable | None:
    header_idx = _find_header_row(rows, sheet)
    if header_idx is None:
        return RawTable(file, sheet, 0, [], pd.DataFrame())
    headers = [str(h).strip() for h in rows[header_idx]]
    body = rows[header_idx + 1:]
    width = len(headers)
    columns = list(zip(*body)) if body else [()] * width  # column-wise: much faster than row-wise
    n = len(body)
    df = pd.DataFrame({str(i): np.fromiter(columns[i] if i < len(columns) else [None] * n, dtype=object, count=n)
                       for i in range(width)})
    df["_row"] = np.arange(header_idx + 2, header_idx + 2 + len(body))
    return RawTable(file, sheet, header_idx + 1, headers, _drop_empty_rows(df))


def _drop_empty_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose every cell is empty or only spaces (trailing rows in workbooks) are not data."""
    cells = df.drop(columns="_row")
    if cells.empty:
        return df
    filled = np.zeros(len(df), dtype=bool)
    for col in cells.columns:
        values = cells[col].to_numpy(dtype=object)
        empty = pd.isna(values) | (values == "")
        spaces = [v for v in pd.unique(values[~empty]) if isinstance(v, str) and not v.strip()]
        if spaces:
            empty |= pd.Series(values).isin(spaces).to_numpy()
        filled |= ~empty
    return df[filled].reset_index(drop=True)
