"""Crafted workbook zips for the zip-bomb and macro tests: real zip files, built in the test."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

ROW = b'<row><c t="inlineStr"><is><t>C1</t></is></c><c><v>44000</v></c></row>'  # rows may omit their numbers


def write_sheet_xml(zf: zipfile.ZipFile, name: str, size: int, numbered: bool = False) -> None:
    """A sheet part of about `size` bytes of rows, streamed into the zip (never whole in memory): identical
    rows (compressed about 300 times) or `numbered` ones (about 10 times, as real sheets)."""
    block = (b"".join(ROW.replace(b"<row>", f'<row r="{i}">'.encode()) for i in range(2, 10_002)) if numbered
             else ROW * 10_000)
    with zf.open(name, "w", force_zip64=True) as out:
        out.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                  b'2006/main"><sheetData>')
        written = 0
        while written < size:
            out.write(block)
            written += len(block)
        out.write(b"</sheetData></worksheet>")


def diluted_bomb(path: Path, sheet_bytes: int, template: Path, random_bytes: int = 6 * 1024**2) -> Path:
    """A real workbook (`template`'s parts) whose first sheet is replaced by `sheet_bytes` of highly compressed
    XML, beside a stored member of random bytes (which dilutes a whole-file ratio)."""
    with zipfile.ZipFile(template) as zin, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info in zin.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                zf.writestr(info.filename, zin.read(info))
        zf.writestr(zipfile.ZipInfo("xl/media/image1.bin"),
                    np.random.default_rng(0).bytes(random_bytes), compress_type=zipfile.ZIP_STORED)
        write_sheet_xml(zf, "xl/worksheets/sheet1.xml", sheet_bytes)
    return path


def declare_size(path: Path, member: str, size: int) -> Path:
    """Rewrite the uncompressed size `member` declares (central directory and local header) to `size`."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    struct.pack_into("<L", data, info.header_offset + 22, size)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46: at + 46 + n].decode() == member:
            struct.pack_into("<L", data, at + 24, size)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def with_macros(src: Path, path: Path) -> Path:
    """A copy of a real workbook with a VBA project part added (as Excel writes .xlsm)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 512)
    return path
