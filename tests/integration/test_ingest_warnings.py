"""Lists that are missing or not recognised are warnings (issue 18.2), and a dataset that cannot train says
why at ingest; `frontdoor train` refuses it with that reason instead of a crash deep in the model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def small_council(tmp_path_factory) -> Path:
    from tests.conftest import Cli

    out = tmp_path_factory.mktemp("warn_council")
    assert Cli()("fixtures", "--children", "400", "--seed", "5", "--format", "csv", "--out", out).exit_code == 0
    return out


def workbook_with_list_4_replaced(src: Path, path: Path) -> Path:
    """The council's lists as one workbook, List 4's sheet replaced by a sheet of something else."""
    with pd.ExcelWriter(path, engine="xlsxwriter") as xl:
        for f in sorted(src.glob("list_*.csv")):
            n = int(f.name.split("_")[1])
            if n == 4:
                pd.DataFrame({"Team": ["A", "B"], "Notes": ["x", "y"]}).to_excel(xl, sheet_name="Team notes",
                                                                                 index=False)
                continue
            pd.read_csv(f, dtype=str, keep_default_na=False).to_excel(xl, sheet_name=f"List {n}", index=False)
    return path


def test_a_workbook_without_list_4_is_made_with_visible_warnings(cli, small_council, tmp_path):
    book = workbook_with_list_4_replaced(small_council, tmp_path / "annex_a.xlsx")
    code, report = cli.json("ingest", book, "--out", tmp_path / "ds")
    assert code == 0
    assert report["lists_missing"] == [4]
    assert report["sheets_ignored"] == [{"file": "annex_a.xlsx", "sheet": "Team notes",
                                         "why": report["sheets_ignored"][0]["why"]}]
    assert report["warnings_total"] >= 2  # not "0 errors, 0 warnings"
    said = " | ".join(report["list_warnings"])
    assert "List 4 (Assessments) was not found in any file" in said
    assert "annex_a.xlsx, sheet 'Team notes': not read as any Annex A list" in said
    whole = [w for w in report["warnings"] if w["row"] is None]
    assert {w["sheet"] for w in whole} == {None, "Team notes"}

    text = cli("ingest", book, "--out", tmp_path / "ds2").output
    assert "warning: List 4 (Assessments) was not found in any file" in text
    assert "warning: annex_a.xlsx, sheet 'Team notes'" in text


def test_every_list_present_gives_no_list_warning_and_can_train(cli, small_council, tmp_path):
    code, report = cli.json("ingest", small_council, "--out", tmp_path / "ds")
    assert code == 0
    assert report["lists_missing"] == [] and report["list_warnings"] == [] and report["sheets_ignored"] == []
    assert report["training"]["ready"] is True and report["training"]["reasons"] == []


def test_a_list_1_only_dataset_says_why_it_cannot_train_and_train_refuses_it(cli, small_council, tmp_path):
    code, report = cli.json("ingest", small_council / "list_1_contacts.csv", "--out", tmp_path / "ds")
    assert code == 0
    assert report["lists_missing"] == [2, 3, 4, 5, 6, 7, 8]
    training = report["training"]
    assert training["ready"] is False
    assert any("List 4" in r for r in training["reasons"]) and any("List 8" in r for r in training["reasons"])
    assert training["generators"]["sdv-hma"] == []  # the baselines need no list beyond List 1

    text = cli("ingest", small_council / "list_1_contacts.csv", "--out", tmp_path / "ds2").output
    assert "cannot train the journey model: no training child reached an assessment" in text

    result = cli("train", tmp_path / "ds", "--out", tmp_path / "m.model")
    assert result.exit_code == 2
    assert "this dataset cannot train the journey generator" in result.stderr
    assert "List 8" in result.stderr and "ValueError" not in result.stderr
    assert not (tmp_path / "m.model").exists()


def test_a_tiny_dataset_cannot_train_any_generator(cli, small_council, tmp_path):
    lines = (small_council / "list_1_contacts.csv").read_text().splitlines()
    (tmp_path / "list_1.csv").write_text("\n".join(lines[:30]) + "\n")
    code, report = cli.json("ingest", tmp_path / "list_1.csv", "--out", tmp_path / "ds")
    assert code == 0
    assert all(any("too small to train on" in r for r in reasons)
               for reasons in report["training"]["generators"].values())


def test_a_list_given_without_rows_is_warned_of(cli, small_council, tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    for f in small_council.glob("list_*.csv"):
        text = f.read_text()
        (folder / f.name).write_text(text.splitlines()[0] + "\n" if f.name.startswith("list_4") else text)
    code, report = cli.json("ingest", folder, "--out", tmp_path / "ds")
    assert code == 0 and report["lists_missing"] == [4]
    assert report["list_warnings"] == [report["list_warnings"][0]]
    assert report["list_warnings"][0].startswith("List 4 (Assessments) has no rows (no assessments")
