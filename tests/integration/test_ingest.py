"""`frontdoor ingest`: workbooks and CSVs in, validated pseudonymised dataset out."""

import json
import logging

import pandas as pd
import pytest

from synth.dataset import read_dataset
from tests.conftest import BAD_FILES


def test_workbook_ingests_into_canonical_tables_with_a_report(cli, council_xlsx, tmp_path):
    code, report = cli.json("ingest", council_xlsx / "annex_a.xlsx", "--out", tmp_path / "ds")
    assert code == 0 and report["ok"]
    assert set(report["lists"]) == {str(n) for n in range(1, 9)}
    assert report["rows_rejected"] == 0 and report["errors_total"] == 0
    ds = read_dataset(tmp_path / "ds")
    assert report["children"] == len(ds.children) == 1500
    assert report["events"] == len(ds.events) and report["episodes"] == len(ds.episodes)
    assert set(ds.events["stage"]) >= {"contact", "referral", "assessment", "s47", "icpc", "cp_plan", "cin_plan",
                                       "cla", "early_help", "iag", "nfa", "other"}
    assert ds.manifest["lineage_hash"] == report["lineage_hash"]


def test_raw_identifiers_workers_and_dates_of_birth_never_reach_the_dataset(cli, council_xlsx, dataset_dir):
    lists = pd.read_excel(council_xlsx / "annex_a.xlsx", sheet_name=None, engine="calamine")
    raw_ids = set(lists["List 1"]["Child Unique ID"].astype(str))
    workers = set(lists["List 3"]["Allocated Worker"].astype(str))
    ds = read_dataset(dataset_dir)
    assert not raw_ids & set(ds.children["child_key"])
    assert "dob" not in ds.children and "date_of_birth" not in ds.children
    text = "".join((dataset_dir / f).read_bytes().decode("latin-1") for f in
                   ("children.parquet", "events.parquet", "episodes.parquet", "dataset.json"))
    assert not any(i in text for i in list(raw_ids)[:200])
    assert not any(w in text for w in workers)


def test_messy_workbook_and_csvs_give_the_same_dataset_as_the_clean_workbook(cli, dataset_dir, tmp_path):
    clean = read_dataset(dataset_dir)
    for fmt in ("xlsx", "csv"):
        assert cli("fixtures", "--children", "1500", "--seed", "11", "--messy", "--format", fmt,
                   "--out", tmp_path / fmt).exit_code == 0
        code, report = cli.json("ingest", tmp_path / fmt, "--out", tmp_path / f"ds_{fmt}")
        assert code == 0 and report["rows_rejected"] == 0
        assert sum(s["duplicates_dropped"] for s in report["lists"].values()) > 0
        messy = read_dataset(tmp_path / f"ds_{fmt}")
        for table in ("children", "events", "episodes"):
            pd.testing.assert_frame_equal(getattr(messy, table), getattr(clean, table))


def test_successive_overlapping_workbooks_combine_into_one_dataset(cli, dataset_dir, tmp_path):
    assert cli("fixtures", "--children", "1500", "--seed", "11", "--periods", "3", "--out", tmp_path / "p").exit_code == 0
    files = sorted((tmp_path / "p").glob("*.xlsx"))
    assert len(files) == 3
    code, report = cli.json("ingest", *files, "--out", tmp_path / "ds")
    assert code == 0
    assert sum(s["overlapping_rows"] for s in report["lists"].values()) > 0
    combined, single = read_dataset(tmp_path / "ds"), read_dataset(dataset_dir)
    for table in ("children", "events", "episodes"):
        pd.testing.assert_frame_equal(getattr(combined, table), getattr(single, table))


def test_same_seed_gives_byte_identical_files(cli, council_xlsx, tmp_path):
    assert cli("fixtures", "--children", "1500", "--seed", "11", "--out", tmp_path).exit_code == 0
    assert (tmp_path / "annex_a.xlsx").read_bytes() == (council_xlsx / "annex_a.xlsx").read_bytes()


@pytest.mark.parametrize("name,expected", [
    ("wrong_headers.csv", "no Annex A header row"),
    ("missing_key_column.csv", "no list's date column"),
    ("corrupt.xlsx", "damaged"),
    ("not_a_workbook.xlsx", "not a readable Excel workbook"),
    ("password_protected.xlsx", "password-protected"),
    ("wrong_encoding.csv", "line 2 is not UTF-8"),
    ("all_rows_bad.csv", "all 2 rows"),
])
def test_bad_files_get_one_clear_error_and_nothing_is_written(cli, tmp_path, name, expected):
    code, out = cli.json("ingest", BAD_FILES / name, "--out", tmp_path / "ds")
    assert code == 2
    assert out == {**out, "ok": False, "status": 2}
    assert expected in out["error"]
    assert name in out["error"] or all(e["file"] == name for e in out.get("errors", {}).get("input", []))
    assert not (tmp_path / "ds").exists()
    assert not list(tmp_path.iterdir())


def test_unreadable_rows_are_rejected_with_file_row_and_column_and_the_rest_kept(cli, tmp_path):
    code, report = cli.json("ingest", BAD_FILES / "unreadable_dates.csv", "--out", tmp_path / "ds")
    assert code == 0
    assert report["lists"]["1"] == {**report["lists"]["1"], "rows_read": 6, "rows_rejected": 3}
    where = {(e["row"], e["column"]) for e in report["errors"]}
    assert where == {(3, "Date of Contact"), (4, "Date of Contact"), (7, "Child Unique ID")}
    assert all(e["file"] == "unreadable_dates.csv" for e in report["errors"])
    assert {(w["row"], w["column"]) for w in report["warnings"] if w["row"]} == {(6, "Gender"), (6, "Contact Source")}
    assert report["lists_missing"] == [2, 3, 4, 5, 6, 7, 8]  # List 1 only: the others are warned of, not silent
    assert report["children"] == 3


def test_a_failed_ingest_leaves_the_existing_dataset_untouched(cli, council_xlsx, tmp_path):
    out = tmp_path / "ds"
    assert cli("ingest", BAD_FILES / "unreadable_dates.csv", "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert cli("ingest", BAD_FILES / "corrupt.xlsx", "--out", out, "--overwrite").exit_code == 2
    assert cli("ingest", council_xlsx, "--out", out).exit_code == 2  # exists, no --overwrite
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_logs_and_reports_never_contain_cell_values(cli, tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        result = cli("-v", "ingest", BAD_FILES / "unreadable_dates.csv", "--out", tmp_path / "ds", "--json")
    report = json.loads(result.stdout)
    said = caplog.text + json.dumps(report["errors"]) + json.dumps(report["warnings"])
    for value in ("A1", "A2", "Alien", "Martians", "yesterday", "31/02/2022", "WBRI"):
        assert value not in said


def test_journeys_command_prints_the_map_as_json(cli, dataset_dir):
    code, out = cli.json("journeys", dataset_dir)
    assert code == 0
    stages = {n["stage"] for n in out["nodes"]}
    assert {"contact", "referral", "assessment", "nfa"} <= stages
    shares = pd.DataFrame(out["edges"]).groupby("source")["share"].sum()
    assert shares.round(9).eq(1).all()
    first = out["edges"][0]
    assert {"moves", "children", "share", "median_days", "mean_days", "p25_days", "p75_days"} <= set(first)
    assert out["summary"]["children"] == 1500


def test_journeys_split_by_classification_and_bad_names(cli, dataset_dir, tmp_path):
    code, out = cli.json("journeys", dataset_dir, "--by", "repeat")
    assert code == 0 and {e["repeat"] for e in out["edges"]} >= {"1", "2"}
    code, out = cli.json("journeys", dataset_dir, "--by", "postcode")
    assert code == 2 and "unknown classification" in out["error"]
    code, out = cli.json("journeys", tmp_path / "nothing")
    assert code == 2 and "no such dataset" in out["error"]


def test_the_installed_console_script_runs(dataset_dir):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("frontdoor")
    done = subprocess.run([str(exe), "journeys", str(dataset_dir)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "contact" in done.stdout and "Headline rates" in done.stdout
