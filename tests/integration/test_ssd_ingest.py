"""`frontdoor ingest` of the D2I Standard Safeguarding Dataset (SSD): the same simulated council as the
Annex A fixtures, written as SSD tables, gives the same canonical tables (within what the two standards
genuinely record differently), and bad tables are refused row by row, naming file, row and column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fixtures.council import CouncilSpec, simulate
from fixtures.ssd import build_tables, write_csvs
from synth.dataset import read_dataset

KEYS = ["child_key", "episode_no", "step"]


@pytest.fixture(scope="module")
def ssd_dir(tmp_path_factory):
    """The 1,500-children council of `council_xlsx` (seed 11), as one CSV per SSD table."""
    from tests.conftest import Cli

    out = tmp_path_factory.mktemp("ssd_csv")
    assert Cli()("fixtures", "--children", "1500", "--seed", "11", "--format", "ssd", "--out", out).exit_code == 0
    return out


@pytest.fixture(scope="module")
def ssd_ingested(ssd_dir, tmp_path_factory):
    import os

    from tests.conftest import TEST_KEY, Cli

    os.environ.setdefault("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    out = tmp_path_factory.mktemp("ssd_dataset") / "ds"
    result = Cli()("ingest", ssd_dir, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def _before_any_referral(events: pd.DataFrame) -> pd.Series:
    """Per event (in journey order): has its journey had no referral yet (work open before the window)?"""
    seen = events["stage"].eq("referral").groupby([events["child_key"], events["episode_no"]]).cummax()
    return ~seen


def test_ssd_tables_give_the_canonical_tables_of_the_annex_a_lists(ssd_ingested, dataset_dir):
    out, report = ssd_ingested
    assert report["ok"] and report["standard"] == "SSD"
    assert set(report["lists"]) == {"ssd_person", "ssd_department", "ssd_contacts", "ssd_early_help_episodes",
                                    "ssd_cin_episodes", "ssd_cin_assessments", "ssd_s47_enquiry",
                                    "ssd_initial_cp_conference", "ssd_cin_plans", "ssd_cp_plans", "ssd_cla_episodes",
                                    "ssd_disability", "ssd_immigration_status", "ssd_missing"}
    assert report["rows_rejected"] == 0 and report["errors_total"] == 0 and report["warnings_total"] == 0
    # ssd_person also holds people with no front-door work (siblings, care leavers): not children.
    assert any("not counted as children" in n for n in report["notes"])
    ssd, annex = read_dataset(out), read_dataset(dataset_dir)

    # Children: the same (the fixture uses the case system's person id as Annex A's Child Unique ID,
    # so the pseudonyms match), with the same attributes...
    a = annex.children.set_index("child_key").sort_index()
    s = ssd.children.set_index("child_key").sort_index()
    assert len(s) == 1500 and s.index.equals(a.index)
    same = ["sex", "ethnicity_group", "age_at_first_contact", "age_band", "uasc", "missing_episodes",
            "previous_cp_plans"]
    pd.testing.assert_frame_equal(s[same], a[same])
    # ...except disability, which the SSD records per person (ssd_disability) where Annex A has it only
    # on Lists 4-8: Annex A's "unknown" children are mostly known; a child not yet born at the extract
    # has no disability row (the SSD's guidance), so is unknown there.
    known = a["disability"].ne("unknown") & s["disability"].ne("unknown")
    assert (s.loc[known, "disability"] == a.loc[known, "disability"]).all()
    assert (a["disability"].ne("unknown") & s["disability"].eq("unknown")).sum() <= 5
    assert (a["disability"].eq("unknown") & s["disability"].ne("unknown")).sum() > 0.5 * a["disability"].eq(
        "unknown").sum()

    # Events: the same rows (child, journey, step, day, observed or inferred), in the same journeys.
    ea = annex.events.sort_values(KEYS, ignore_index=True)
    es = ssd.events.sort_values(KEYS, ignore_index=True)
    pd.testing.assert_frame_equal(es[[*KEYS, "date", "derived", "source", "abuse_category"]],
                                  ea[[*KEYS, "date", "derived", "source", "abuse_category"]])
    # One genuine difference of stage: ssd_cin_plans has no closure reason of its own; a plan takes its
    # CIN episode's (the referral's). A plan with no referral before it in its journey (work open before
    # the window began) has none, so its closure is a plain "nfa" where Annex A List 6 says RC1-RC6 ("other").
    no_ref = _before_any_referral(ea)
    differ = es["stage"].ne(ea["stage"])
    assert differ.sum() > 0
    assert (ea.loc[differ, "stage"].eq("other") & es.loc[differ, "stage"].eq("nfa") & no_ref[differ]
            & ea.loc[differ, "derived"]).all()
    expected = ea["stage"].where(~(no_ref & ea["stage"].eq("other") & ea["derived"]
                                   & ea.groupby(["child_key", "episode_no"])["stage"].shift().eq("cin_plan")), "nfa")
    assert es["stage"].tolist() == expected.tolist()
    by_stage = es.groupby("stage").size() - ea.groupby("stage").size()
    assert by_stage.drop(["nfa", "other"]).eq(0).all() and by_stage["nfa"] == -by_stage["other"] == differ.sum()
    # Teams: the same where the SSD names one. ssd_cla_episodes carries no team, nor does a CP plan made
    # by no conference in the tables (the team of the conference that made it is used).
    named = es["team"].notna()
    assert (es.loc[named, "team"] == ea.loc[named, "team"]).all()
    assert set(es.loc[~named & ea["team"].notna(), "stage"]) <= {"cla", "cp_plan", "other", "nfa"}
    assert es["team"].isna().sum() - ea["team"].isna().sum() < 0.03 * len(es)
    # Needs: the SSD has one primary need per CIN episode (and per period of care), Annex A one per plan.
    care = es["stage"].eq("cla")
    assert (es.loc[care, "need_code"] == ea.loc[care, "need_code"]).all()
    plans = es["stage"].eq("cin_plan") & es["need_code"].notna()
    assert (es.loc[plans, "need_code"] == ea.loc[plans, "need_code"]).mean() > 0.97
    assert no_ref[es["stage"].eq("cin_plan") & es["need_code"].isna()].all()

    # Episodes: the same journeys, only those exits named differently.
    pa = annex.episodes.sort_values(["child_key", "episode_no"], ignore_index=True)
    ps = ssd.episodes.sort_values(["child_key", "episode_no"], ignore_index=True)
    pd.testing.assert_frame_equal(ps[["child_key", "episode_no", "days", "start_date", "end_date", "censored",
                                      "left_censored", "source"]],
                                  pa[["child_key", "episode_no", "days", "start_date", "end_date", "censored",
                                      "left_censored", "source"]])
    assert (ps["path"] != pa["path"]).sum() == differ.sum()


def test_a_workbook_of_ssd_sheets_gives_the_same_dataset(cli, ssd_ingested, tmp_path):
    out, _ = ssd_ingested
    assert cli("fixtures", "--children", "1500", "--seed", "11", "--format", "ssd-xlsx", "--out", tmp_path).exit_code == 0
    code, report = cli.json("ingest", tmp_path / "ssd.xlsx", "--out", tmp_path / "ds")
    assert code == 0 and report["rows_rejected"] == 0 and report["standard"] == "SSD"
    assert {s["sheet"] for s in report["files"][0]["sheets"]} == set(report["lists"])
    book, csvs = read_dataset(tmp_path / "ds"), read_dataset(out)
    for table in ("children", "events", "episodes"):
        pd.testing.assert_frame_equal(getattr(book, table), getattr(csvs, table))


def test_names_upns_and_raw_ids_never_reach_the_dataset(ssd_dir, ssd_ingested):
    out, _ = ssd_ingested
    person = pd.read_csv(ssd_dir / "ssd_person.csv", dtype=str, keep_default_na=False)
    text = "".join((out / f).read_bytes().decode("latin-1") for f in
                   ("children.parquet", "events.parquet", "episodes.parquet", "dataset.json"))
    for column in ("pers_person_id", "pers_upn"):
        values = [v for v in person[column].unique() if v != "NULL"][:300]
        assert values and not any(v in text for v in values), column
    ds = read_dataset(out)
    cells = {v for t in (ds.children, ds.events, ds.episodes) for c in t.columns if t[c].dtype == object
             for v in t[c].dropna().unique()}
    assert not cells & (set(person["pers_forename"]) | set(person["pers_surname"]))


# ----------------------------------------------------------------------------------------------
# Bad input: a small council's tables, each broken in one way.
@pytest.fixture(scope="module")
def small_tables() -> dict[str, pd.DataFrame]:
    return build_tables(simulate(CouncilSpec(children=120, seed=5)))


def write(tables: dict[str, pd.DataFrame], out) -> None:
    write_csvs(tables, out)


def edit(tables: dict[str, pd.DataFrame], table: str, column: str, value, row: int = 0):
    """A copy of the tables with one cell changed; returns (tables, the CSV row number of that cell)."""
    out = {k: v.copy() for k, v in tables.items()}
    df = out[table].astype(object)
    df.iloc[row, df.columns.get_loc(column)] = value
    out[table] = df
    return out, row + 2  # the header is line 1


def issue(report: dict, kind: str, file: str, row: int, column: str) -> dict:
    found = [e for e in report[kind] if (e["file"], e["row"], e["column"]) == (file, row, column)]
    assert found, report[kind][:10]
    return found[0]


def test_the_small_council_reads_cleanly(cli, small_tables, tmp_path):
    write(small_tables, tmp_path / "in")
    code, report = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0 and report["errors_total"] == 0 and report["warnings_total"] == 0
    assert report["children"] == 120


@pytest.mark.parametrize("table,column,value,message,severity", [
    ("ssd_contacts", "cont_contact_date", "31/02/2023", "'cont_contact_date' is not a date that can be read", "error"),
    ("ssd_cin_episodes", "cine_referral_date", "yesterday", "'cine_referral_date' is not a date", "error"),
    ("ssd_contacts", "cont_person_id", "C0000001", "'cont_person_id' names a person who is not in ssd_person", "error"),
    ("ssd_cin_assessments", "cina_person_id", "C0000001", "not in ssd_person", "error"),
    ("ssd_cin_episodes", "cine_referral_id", "", "'cine_referral_id' is blank; the row is rejected", "error"),
    ("ssd_contacts", "cont_person_id", "NULL", "'cont_person_id' is blank", "error"),
    ("ssd_contacts", "cont_contact_source_code", "ZZ", "'cont_contact_source_code' is not a recognised code",
     "warning"),
    ("ssd_person", "pers_ethnicity", "Martian", "'pers_ethnicity' is not a recognised code", "warning"),
    ("ssd_cp_plans", "cppl_cp_plan_initial_category", "Bad luck", "not a recognised code", "warning"),
    ("ssd_cla_episodes", "clae_cla_episode_ceased_reason", "Z9", "not a recognised code", "warning"),
    ("ssd_contacts", "cont_contact_outcome_json", "referred on", "'cont_contact_outcome_json' is not a recognised",
     "warning"),
    ("ssd_cin_assessments", "cina_referral_id", "999", "'cina_referral_id' names a row that is not in "
     "ssd_cin_episodes; the link is dropped", "warning"),
    ("ssd_cin_plans", "cinp_cin_plan_end_date", "2001-01-01 00:00:00.000",
     "'cinp_cin_plan_end_date' is before 'cinp_cin_plan_start_date'; the row is rejected", "error"),
])
def test_each_bad_cell_is_reported_with_file_row_and_column(cli, small_tables, tmp_path, table, column, value,
                                                          message, severity):
    tables, row = edit(small_tables, table, column, value)
    write(tables, tmp_path / "in")
    code, report = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0  # the rest is kept
    found = issue(report, "errors" if severity == "error" else "warnings", f"{table}.csv", row, column)
    assert message in found["message"]
    assert value not in found["message"] or value in ("", "NULL")  # never the cell's value
    stats = report["lists"][table]
    assert stats["rows_rejected"] == (1 if severity == "error" else 0)
    assert stats["rows_accepted"] == len(small_tables[table]) - stats["rows_rejected"]


def test_a_conference_before_its_enquiry_is_rejected(cli, small_tables, tmp_path):
    icpc = small_tables["ssd_initial_cp_conference"]
    row = int(np.flatnonzero(icpc["icpc_icpc_date"].notna())[0])
    tables, line = edit(small_tables, "ssd_initial_cp_conference", "icpc_icpc_date", pd.Timestamp("2001-01-01"), row)
    write(tables, tmp_path / "in")
    code, report = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0
    found = issue(report, "errors", "ssd_initial_cp_conference.csv", line, "icpc_icpc_date")
    assert "before the start of its section 47 enquiry" in found["message"]


def test_a_missing_required_column_rejects_its_table_naming_the_header_row(cli, small_tables, tmp_path):
    tables = {**small_tables, "ssd_contacts": small_tables["ssd_contacts"].drop(columns="cont_contact_date")}
    write(tables, tmp_path / "in")
    code, report = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0
    found = issue(report, "errors", "ssd_contacts.csv", 1, "cont_contact_date")
    assert "SSD table ssd_contacts (contacts) has no column 'cont_contact_date'" in found["message"]
    assert report["lists"]["ssd_contacts"]["rows_rejected"] == len(small_tables["ssd_contacts"])


@pytest.mark.parametrize("tables,expected", [
    (lambda t: {k: v for k, v in t.items() if k != "ssd_person"}, "no ssd_person table"),
    (lambda t: {"ssd_person": t["ssd_person"], "ssd_disability": t["ssd_disability"]},
     "Only SSD tables about people were given"),
    (lambda t: {**t, "ssd_person": t["ssd_person"].assign(pers_person_id=None)}, "Nothing usable could be read"),
])
def test_unusable_ssd_input_is_refused_and_nothing_is_written(cli, small_tables, tmp_path, tables, expected):
    write(tables(small_tables), tmp_path / "in")
    code, out = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 2 and out["ok"] is False
    assert expected in out["error"]
    assert not (tmp_path / "ds").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_a_mix_of_annex_a_and_ssd_is_refused_naming_both_and_nothing_is_written(cli, small_tables, tmp_path):
    write(small_tables, tmp_path / "in")
    assert cli("fixtures", "--children", "50", "--seed", "2", "--format", "csv", "--out", tmp_path / "in").exit_code == 0
    code, out = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 2
    assert "one upload holds one standard" in out["error"]
    assert ".csv is a Standard Safeguarding Dataset (SSD) table" in out["error"] and "is an Annex A list" in out["error"]
    assert {e["message"] for e in out["errors"]["input"]} == {"Annex A input", "SSD input"}
    assert not (tmp_path / "ds").exists()


def test_overlapping_extracts_keep_one_row_per_id(cli, small_tables, tmp_path):
    """The same SSD table from two extracts: a row seen twice is one row, the more complete kept."""
    write(small_tables, tmp_path / "a")
    contacts = small_tables["ssd_contacts"]
    earlier = {"ssd_contacts": contacts.assign(cont_contact_source_code=None).iloc[: len(contacts) // 2]}
    write(earlier, tmp_path / "b")
    code, report = cli.json("ingest", tmp_path / "b" / "ssd_contacts.csv", tmp_path / "a", "--out", tmp_path / "ds")
    assert code == 0 and report["errors_total"] == 0
    stats = report["lists"]["ssd_contacts"]
    assert stats["rows_read"] == len(contacts) + len(contacts) // 2
    assert stats["overlapping_rows"] == len(contacts) // 2
    code, alone = cli.json("ingest", tmp_path / "a", "--out", tmp_path / "ds_alone")
    assert (report["children"], report["events"]) == (alone["children"], alone["events"])
    pd.testing.assert_frame_equal(read_dataset(tmp_path / "ds").events, read_dataset(tmp_path / "ds_alone").events)


def test_ssd_tables_outside_the_front_door_are_ignored_and_misnamed_ones_said(cli, small_tables, tmp_path):
    """A council may upload its whole SSD extract: the tables the map does not use are passed over."""
    write(small_tables, tmp_path / "in")
    (tmp_path / "in" / "ssd_address.csv").write_text("addr_table_id,addr_person_id,addr_address_postcode\n"
                                                     "1,C1,AB1 2CD\n")
    (tmp_path / "in" / "ssd_involvements.csv").write_text("invo_involvements_id,invo_professional_id\n1,2\n")
    (tmp_path / "in" / "ssd_early_help_episodes.csv").write_text("episode,start\n1,2024-01-01\n")
    code, report = cli.json("ingest", tmp_path / "in", "--out", tmp_path / "ds")
    assert code == 0 and report["errors_total"] == 0
    assert "2 SSD tables the front-door map does not use were ignored: ssd_address, ssd_involvements." in report["notes"]
    assert any(n.startswith("ssd_early_help_episodes.csv: named for the SSD table ssd_early_help_episodes but has "
                            "neither its 'earl_episode_id' nor its person id column") for n in report["notes"])
    assert "AB1" not in json.dumps(report)


def test_same_seed_gives_byte_identical_ssd_tables(cli, tmp_path):
    for run in ("a", "b"):
        assert cli("fixtures", "--children", "100", "--seed", "4", "--format", "ssd", "--out", tmp_path / run).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 14 and names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)


def test_fixtures_refuse_annex_a_only_options_with_ssd(cli, tmp_path):
    result = cli("fixtures", "--format", "ssd", "--messy", "--out", tmp_path)
    assert result.exit_code == 2 and "--messy and --periods write Annex A files" in result.output
