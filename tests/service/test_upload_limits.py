"""Uploads (issue 17.4): a zip bomb diluted by a stored member, and a macro-enabled workbook, are refused at
upload with a 422 in the one error shape, fast, and nothing is stored."""

from __future__ import annotations

import time

from tests.service.conftest import assert_error_shape
from tests.service.test_bad_input import nothing_stored, post_file
from tests.workbooks import diluted_bomb, with_macros


def test_a_diluted_zip_bomb_upload_is_refused_quickly(fresh, council_file, tmp_path):
    data = diluted_bomb(tmp_path / "annex_a.xlsx", 200 * 1024**2, council_file).read_bytes()  # 7 MB, 206 MB of sheet XML
    started = time.perf_counter()
    body = assert_error_shape(post_file(fresh, "annex_a.xlsx", data), 422)
    assert time.perf_counter() - started < 5
    assert "xl/worksheets/sheet1.xml expands" in body["error"] and "zip bomb" in body["error"]
    nothing_stored(fresh)


def test_macro_enabled_uploads_are_refused(fresh, council_file, tmp_path):
    body = assert_error_shape(post_file(fresh, "annex_a.xlsm", council_file.read_bytes()), 422)
    assert "macro-enabled workbook (.xlsm)" in body["error"]
    disguised = with_macros(council_file, tmp_path / "annex_a.xlsx").read_bytes()
    body = assert_error_shape(post_file(fresh, "annex_a.xlsx", disguised), 422)
    assert "contains macros" in body["error"]
    nothing_stored(fresh)
