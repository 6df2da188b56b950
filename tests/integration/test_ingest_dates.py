"""US-style dates (issue 18.3): a date column written month-first is refused as a whole, with one message naming
the file, sheet, list and columns, instead of rejecting the dates whose day is above 12 and swapping day and month
in the rest; `--month-first` reads such files. Repeated errors are grouped, with their rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synth.dataset import read_dataset, read_issues

DATE_COLUMNS = {"list_1_contacts.csv": ("Date of Birth", "Date of Contact"),
                "list_3_referrals.csv": ("Date of Birth", "Date of referral")}


@pytest.fixture(scope="module")
def uk_csv(tmp_path_factory) -> Path:
    from tests.conftest import Cli

    out = tmp_path_factory.mktemp("dates_council")
    assert Cli()("fixtures", "--children", "400", "--seed", "9", "--format", "csv", "--out", out).exit_code == 0
    return out


def month_first(df: pd.DataFrame, columns) -> pd.DataFrame:
    df = df.copy()
    for c in columns:
        df[c] = pd.to_datetime(df[c], format="%d/%m/%Y", errors="coerce").dt.strftime("%m/%d/%Y").fillna("")
    return df


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def us_workbook(uk: Path, path: Path) -> Path:
    """Lists 1 and 3 as one workbook whose text dates are written mm/dd/yyyy."""
    with pd.ExcelWriter(path, engine="xlsxwriter") as xl:
        for name, cols in DATE_COLUMNS.items():
            month_first(read(uk / name), cols).to_excel(xl, sheet_name=f"List {name[5]}", index=False)
    return path


def test_a_month_first_workbook_is_refused_naming_file_sheet_list_and_columns(cli, uk_csv, tmp_path):
    book = us_workbook(uk_csv, tmp_path / "us.xlsx")
    code, out = cli.json("ingest", book, "--out", tmp_path / "ds")
    assert code == 2 and not (tmp_path / "ds").exists()
    message = out["error"]
    assert message.startswith("Dates written month-first (US style, mm/dd/yyyy): ")
    assert "us.xlsx, sheet 'List 1', List 1 (Contacts), columns 'Date of Birth'" in message
    assert "and 'Date of Contact'" in message
    assert "us.xlsx, sheet 'List 3', List 3 (Referrals), columns 'Date of Birth'" in message
    assert "'Date of referral'" in message and "--month-first" in message
    assert {(e["sheet"], e["column"]) for e in out["errors"]["input"]} == {
        ("List 1", "Date of Birth"), ("List 1", "Date of Contact"), ("List 3", "Date of Birth"),
        ("List 3", "Date of referral")}
    assert all(isinstance(e["row"], int) for e in out["errors"]["input"])


def test_month_first_files_read_with_the_option_give_the_uk_files_dataset(cli, uk_csv, tmp_path):
    us = tmp_path / "us"
    us.mkdir()
    for name, cols in DATE_COLUMNS.items():
        month_first(read(uk_csv / name), cols).to_csv(us / name, index=False)
        (tmp_path / "uk").mkdir(exist_ok=True)
        (tmp_path / "uk" / name).write_bytes((uk_csv / name).read_bytes())
    assert cli("ingest", us, "--out", tmp_path / "ds_us", "--month-first").exit_code == 0
    assert cli("ingest", tmp_path / "uk", "--out", tmp_path / "ds_uk").exit_code == 0
    got, want = read_dataset(tmp_path / "ds_us"), read_dataset(tmp_path / "ds_uk")
    for table in ("children", "events", "episodes"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table))

    result = cli("ingest", tmp_path / "uk", "--out", tmp_path / "ds_wrong", "--month-first")
    assert result.exit_code == 2
    assert "Dates written day-first (dd/mm/yyyy) although month-first was asked for" in result.stderr


def test_a_day_first_column_with_some_bad_dates_is_read_and_its_errors_grouped(cli, uk_csv, tmp_path):
    df = read(uk_csv / "list_1_contacts.csv")
    df.loc[10:59, "Date of Contact"] = "not a date"  # rows 12-61 as Excel numbers them
    df.to_csv(tmp_path / "list_1.csv", index=False)
    code, report = cli.json("ingest", tmp_path / "list_1.csv", "--out", tmp_path / "ds")
    assert code == 0 and report["lists"]["1"]["rows_rejected"] == 50
    group = report["error_groups"][0]
    assert group == {**group, "file": "list_1.csv", "column": "Date of Contact", "count": 50, "first_row": 12,
                     "rows": "12-61"}
    assert group["summary"].startswith("50 rows: 'Date of Contact' is not a date that can be read")
    assert group["summary"].endswith("(rows 12-61)")
    assert len(report["errors"]) == 50  # the row-level detail is still there
    kept = read_issues(tmp_path / "ds")  # and kept whole beside the dataset (the report keeps the first 100)
    assert list(kept.loc[kept["severity"] == "error", "row"]) == list(range(12, 62))

    text = cli("ingest", tmp_path / "list_1.csv", "--out", tmp_path / "ds2").output
    assert "error: list_1.csv: 50 rows: 'Date of Contact' is not a date" in text


def test_every_row_rejected_says_so_grouped_in_one_message(cli, uk_csv, tmp_path):
    df = read(uk_csv / "list_1_contacts.csv")
    df["Date of Contact"] = "soon"
    df.to_csv(tmp_path / "list_1.csv", index=False)
    code, out = cli.json("ingest", tmp_path / "list_1.csv", "--out", tmp_path / "ds")
    assert code == 2
    n = len(df)
    assert f"all {n:,} rows" in out["error"]
    assert f"list_1.csv: {n:,} rows: 'Date of Contact' is not a date that can be read" in out["error"]
    assert f"(rows 2-{n + 1})" in out["error"]
