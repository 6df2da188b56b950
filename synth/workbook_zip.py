"""An .xlsx workbook is a zip of XML parts: check the container before anything expands it, and read the
header rows of its sheets by streaming their XML.

Zip bombs are judged member by member, on the bytes each member really inflates to (not only what its
header declares): a stored member of random bytes cannot dilute a highly compressed one beside it, and a
member that declares less than it holds is refused as soon as it passes what it declared. Macro-enabled
workbooks (a `vbaProject.bin` part, whatever the file is called) are refused: Frontdoor reads cells only.

`sheet_header_rows` reads at most the first rows of each sheet, and of the shared strings only as far as
those rows need, so a quick look at an upload costs kilobytes of XML whatever the workbook's size.
Documents with a DOCTYPE are refused (OOXML has none; entity expansion is how XML bombs work).
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, XMLPullParser

from synth.errors import InputFileError

# What one part may inflate to. The largest sheet of a 20,000-child council's workbook is 10.6 MB of XML
# (fixtures); a council twenty times that size stays well inside 256 MB.
MAX_MEMBER_BYTES = 256 * 1024**2
MAX_TOTAL_BYTES = 1024**3
# Sheet XML compresses 8-10 times (fixtures); 100 is beyond any real part. Parts under a megabyte may
# compress as they like (there is nothing to gain from bombing with them).
MAX_MEMBER_RATIO = 100
RATIO_FLOOR_BYTES = 1024**2
MAX_MEMBERS = 10_000
CHUNK = 1 << 20

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_MACRO_PART = re.compile(r"(^|/)vbaProject\.bin$|(^|/)vbaData\.xml$", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)


def _refuse(path: Path, why: str) -> InputFileError:
    return InputFileError(f"{path.name}: {why}")


def _bomb(path: Path, what: str) -> InputFileError:
    return _refuse(path, f"{what} (far more than any real workbook); refused as a possible zip bomb. Open the "
                         "workbook in Excel and save it again as .xlsx, or export each list as CSV.")


def check_container(path: Path) -> None:
    """Refuse a workbook zip whose members expand beyond the limits, hold macros, are encrypted or use a
    compression Excel does not write. Inflates every member once (in chunks, never whole) to count its
    real size; stops at the first member over a limit."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise _refuse(path, f"the workbook is damaged ({exc}). Open it in Excel and save it again as .xlsx.") from None
    if len(infos) > MAX_MEMBERS:
        raise _bomb(path, f"the workbook has {len(infos):,} parts")
    if any(_MACRO_PART.search(i.filename) for i in infos):
        raise _refuse(path, "the workbook contains macros (a macro-enabled workbook). Frontdoor reads cells only: "
                            "save it in Excel as 'Excel Workbook (.xlsx)' and upload that.")
    declared = sum(i.file_size for i in infos)
    for info in infos:  # what the headers say first: refuses most bombs without inflating anything
        _check_sizes(path, info, info.file_size)
    if declared > MAX_TOTAL_BYTES:
        raise _bomb(path, f"the workbook's parts expand to {declared:,} bytes in all")
    total = 0
    with open(path, "rb") as f:
        for info in infos:
            total += _inflated_size(path, f, info)
            if total > MAX_TOTAL_BYTES:
                raise _bomb(path, f"the workbook's parts expand to more than {MAX_TOTAL_BYTES:,} bytes in all")


def _check_sizes(path: Path, info: zipfile.ZipInfo, size: int) -> None:
    if size > MAX_MEMBER_BYTES:
        raise _bomb(path, f"the part {info.filename} expands to {size:,} bytes")
    if size > RATIO_FLOOR_BYTES and size > MAX_MEMBER_RATIO * max(1, info.compress_size):
        raise _bomb(path, f"the part {info.filename} expands {size / max(1, info.compress_size):,.0f} times "
                          f"(from {info.compress_size:,} to {size:,} bytes)")


def _inflated_size(path: Path, f, info: zipfile.ZipInfo) -> int:
    """The bytes a member really inflates to, counted chunk by chunk; refused past what it declared or
    past the limits."""
    if info.flag_bits & 0x1:
        raise _refuse(path, "the workbook is password-protected. Open it in Excel, remove the password "
                            "(File > Info > Protect Workbook) and save it again as .xlsx.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refuse(path, f"the part {info.filename} uses a compression Excel does not write. Open the workbook "
                            "in Excel and save it again as .xlsx.")
    f.seek(info.header_offset)
    head = f.read(_LOCAL_HEADER.size)
    if len(head) < _LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
        raise _refuse(path, "the workbook is damaged (a part's header is missing). Open it in Excel and save it "
                            "again as .xlsx.")
    name_len, extra_len = _LOCAL_HEADER.unpack(head)[-2:]
    f.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    limit = min(info.file_size, MAX_MEMBER_BYTES)
    inflate = zlib.decompressobj(-15)
    left, out = info.compress_size, 0
    try:
        while left > 0 and not inflate.eof:
            data = f.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            while data:
                out += len(inflate.decompress(data, CHUNK))
                if out > limit:
                    raise _bomb(path, f"the part {info.filename} expands to more than the {info.file_size:,} "
                                      "bytes it declares" if out > info.file_size else
                                f"the part {info.filename} expands to more than {MAX_MEMBER_BYTES:,} bytes")
                data = inflate.unconsumed_tail
    except zlib.error:
        raise _refuse(path, f"the workbook is damaged (the part {info.filename} cannot be decompressed). Open it in "
                            "Excel and save it again as .xlsx.") from None
    _check_sizes(path, info, out)
    return out


# ----------------------------------------------------------------------------------------------
# Streaming the first rows of each sheet.
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(zf: zipfile.ZipFile, member: str, events=("start", "end")) -> Iterator[tuple[str, Element]]:
    """(event, element) of one XML part, parsed as it is read; DOCTYPEs refused."""
    parser = XMLPullParser(events=events)
    tail = b""
    with zf.open(member) as f:
        while chunk := f.read(64 * 1024):
            if _DOCTYPE.search(tail + chunk):
                raise InputFileError(f"{Path(zf.filename or '').name}: the part {member} declares a DOCTYPE, which "
                                     "no Excel workbook has; refused. Save the workbook again in Excel as .xlsx.")
            tail = chunk[-16:]
            parser.feed(chunk)
            yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _sheets(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, part name) in the workbook's order."""
    targets = {}
    for _, el in _elements(zf, "xl/_rels/workbook.xml.rels", ("end",)):
        if _local(el.tag) == "Relationship":
            target = el.get("Target", "")
            targets[el.get("Id")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    out = []
    for _, el in _elements(zf, "xl/workbook.xml", ("end",)):
        if _local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if k in (f"{{{_REL_NS}}}id", "id") or k.endswith("}id")), None)
            out.append((el.get("name", ""), targets.get(rid, "")))
    return out


def _column(ref: str | None, default: int) -> int:
    if not ref:
        return default
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1 if n else default


def _first_rows(zf: zipfile.ZipFile, member: str, n_rows: int) -> list[list[object]]:
    """Rows 1..n_rows of a sheet part (empty rows as []); shared strings as ('s', index) for now."""
    rows: list[list[object]] = []
    row: dict[int, object] = {}
    row_no = 0
    cell_type, text, parts = None, None, []
    if member not in zf.NameToInfo:
        return rows
    for event, el in _elements(zf, member):
        tag = _local(el.tag)
        if event == "start":
            if tag == "row":
                row_no = int(el.get("r") or row_no + 1)
                if row_no > n_rows:
                    break
                row = {}
            elif tag == "c":
                cell_type, text, parts = el.get("t"), None, []
            continue
        if tag == "v":
            text = el.text or ""
        elif tag == "t":
            parts.append(el.text or "")
        elif tag == "c":
            col = _column(el.get("r"), len(row))
            if cell_type == "s" and text is not None and text.strip().isdigit():
                row[col] = ("s", int(text))
            elif cell_type == "inlineStr":
                row[col] = "".join(parts)
            elif text is not None:
                row[col] = text
            el.clear()
        elif tag == "row":
            while len(rows) < row_no - 1:
                rows.append([])
            rows.append([row.get(i) for i in range(max(row) + 1)] if row else [])
            el.clear()
        elif tag == "sheetData":
            break
    return rows


def _shared_strings(zf: zipfile.ZipFile, needed: int) -> list[str]:
    """Shared strings 0..needed, read no further."""
    out: list[str] = []
    if needed < 0 or "xl/sharedStrings.xml" not in zf.NameToInfo:
        return out
    parts: list[str] = []
    for _, el in _elements(zf, "xl/sharedStrings.xml", ("end",)):
        tag = _local(el.tag)
        if tag == "t":
            parts.append(el.text or "")
        elif tag == "rPh":  # phonetic runs are not part of the text
            parts = parts[: max(0, len(parts) - len(el.findall(".//{*}t")))]
        elif tag == "si":
            out.append("".join(parts))
            parts = []
            el.clear()
            if len(out) > needed:
                break
    return out


def sheet_header_rows(path: Path, n_rows: int) -> list[tuple[str, list[list[object]]]]:
    """(sheet name, its first `n_rows` rows as cell values) for every sheet, streamed. Call after
    `check_container`."""
    with zipfile.ZipFile(path) as zf:
        sheets = [(name, _first_rows(zf, member, n_rows)) for name, member in _sheets(zf)]
        indices = [c[1] for _, rows in sheets for r in rows for c in r if isinstance(c, tuple)]
        strings = _shared_strings(zf, max(indices, default=-1))
    return [(name, [[strings[c[1]] if isinstance(c, tuple) and c[1] < len(strings) else
                     (None if isinstance(c, tuple) else c) for c in r] for r in rows]) for name, rows in sheets]
