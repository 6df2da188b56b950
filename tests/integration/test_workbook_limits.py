"""Zip bombs within the old whole-file limits (issue 17.4), macro-enabled workbooks, and the streamed
header read: each member of a workbook is limited on what it really inflates to, refused fast."""

from __future__ import annotations

import time
import zipfile

import pytest

from synth.errors import InputFileError
from synth.readers import read_headers, read_tables
from synth.workbook_zip import MAX_MEMBER_BYTES, MAX_MEMBER_RATIO
from tests.workbooks import declare_size, diluted_bomb, with_macros, write_sheet_xml


@pytest.fixture(scope="module")
def bomb(tmp_path_factory, council_xlsx):
    """7 MB on disk: a 6 MB stored random member and a sheet of 200 MB of XML (about 300 times compressed),
    about 30 times over the whole file, which the old whole-file ratio (200) let through."""
    path = diluted_bomb(tmp_path_factory.mktemp("bomb") / "annex_a.xlsx", 200 * 1024**2, council_xlsx / "annex_a.xlsx")
    with zipfile.ZipFile(path) as zf:
        sheet = zf.getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size < MAX_MEMBER_BYTES and sheet.file_size / path.stat().st_size < 200
    assert sheet.file_size / sheet.compress_size > MAX_MEMBER_RATIO
    return path


@pytest.mark.parametrize("read", [read_headers, read_tables])
def test_a_bomb_diluted_by_a_stored_member_is_refused_at_once(bomb, read):
    started = time.perf_counter()
    with pytest.raises(InputFileError) as caught:
        read(bomb)
    assert time.perf_counter() - started < 2
    message = caught.value.message
    assert message.startswith("annex_a.xlsx: the part xl/worksheets/sheet1.xml expands ")
    assert "times" in message and "refused as a possible zip bomb" in message


def test_a_member_that_declares_less_than_it_holds_is_refused_once_past_it(bomb, tmp_path):
    forged = tmp_path / "forged.xlsx"
    forged.write_bytes(bomb.read_bytes())
    declare_size(forged, "xl/worksheets/sheet1.xml", 5 * 1024**2)  # 7 times its compressed size: plausible
    started = time.perf_counter()
    with pytest.raises(InputFileError) as caught:
        read_headers(forged)
    assert time.perf_counter() - started < 2
    assert "expands to more than the 5,242,880 bytes it declares" in caught.value.message


def test_a_member_over_the_size_limit_is_refused_whatever_its_ratio(tmp_path, monkeypatch):
    import synth.workbook_zip as wz

    monkeypatch.setattr(wz, "MAX_MEMBER_BYTES", 20 * 1024**2)  # the limit, scaled down to keep the test fast
    path = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        write_sheet_xml(zf, "xl/worksheets/sheet1.xml", 30 * 1024**2, numbered=True)
    with pytest.raises(InputFileError, match=r"sheet1.xml expands to 3\d,\d{3},\d{3} bytes"):
        read_headers(path)


def test_many_members_each_within_limits_are_refused_over_the_total(tmp_path, monkeypatch):
    import synth.workbook_zip as wz

    monkeypatch.setattr(wz, "MAX_TOTAL_BYTES", 40 * 1024**2)
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(1, 6):
            write_sheet_xml(zf, f"xl/worksheets/sheet{i}.xml", 10 * 1024**2, numbered=True)
    with pytest.raises(InputFileError, match="expand to .* bytes in all"):
        read_headers(path)


def test_an_xml_entity_bomb_in_a_sheet_is_refused(council_xlsx, tmp_path):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
              b'<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(council_xlsx / "annex_a.xlsx") as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, laughs if info.filename == "xl/worksheets/sheet1.xml" else zin.read(info))
    with pytest.raises(InputFileError, match="declares a DOCTYPE"):
        read_headers(path)


def test_macro_enabled_workbooks_are_refused_by_name_and_by_content(council_xlsx, tmp_path, cli):
    src = council_xlsx / "annex_a.xlsx"
    (tmp_path / "annex_a.xlsm").write_bytes(src.read_bytes())
    with pytest.raises(InputFileError, match=r"a macro-enabled workbook \(\.xlsm\)"):
        read_headers(tmp_path / "annex_a.xlsm")
    disguised = with_macros(src, tmp_path / "disguised.xlsx")
    with pytest.raises(InputFileError, match="contains macros"):
        read_tables(disguised)
    code, out = cli.json("ingest", tmp_path / "annex_a.xlsm", "--out", tmp_path / "ds")
    assert code == 2 and "save it in Excel as 'Excel Workbook (.xlsx)'" in out["error"]


def test_streamed_header_rows_match_the_full_read(council_xlsx, tmp_path):
    import pandas as pd

    book = tmp_path / "shared_strings.xlsx"  # pandas' writer uses the shared strings part; fixtures write inline
    lists = pd.read_excel(council_xlsx / "annex_a.xlsx", sheet_name=None, engine="calamine", dtype=str)
    with pd.ExcelWriter(book, engine="xlsxwriter") as xl:
        for name, df in list(lists.items())[:3]:
            pd.DataFrame([["A title above the headers"]]).to_excel(xl, sheet_name=name, index=False, header=False)
            df.head(50).to_excel(xl, sheet_name=name, index=False, startrow=3)
    for path in (council_xlsx / "annex_a.xlsx", book):
        quick, full = read_headers(path), read_tables(path)
        assert [(t.sheet, t.header_row, t.headers) for t in quick] == [(t.sheet, t.header_row, t.headers) for t in full]
        assert all(t.headers for t in quick)
    assert [t.header_row for t in read_headers(book)] == [4, 4, 4]
