"""The dataset page and API show what the ingest could not use (issue 18.2): missing and unrecognised lists
as warnings, and a dataset that cannot train says why before anyone presses Train; the request is refused
(422), and a training job that meets such a dataset anyway fails with that reason, not "internal error"."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.service.conftest import assert_error_shape, page_csrf, upload, web_client


@pytest.fixture(scope="module")
def council_csv(tmp_path_factory) -> Path:
    from tests.conftest import Cli

    out = tmp_path_factory.mktemp("svc_warn_council")
    assert Cli()("fixtures", "--children", "400", "--seed", "5", "--format", "csv", "--out", out).exit_code == 0
    return out


def ingested(env, path: Path) -> str:
    r = upload(env, path)
    assert r.status_code == 202, r.get_json()
    job = env.wait(r.get_json()["job"]["id"])
    assert job["status"] == "succeeded", job
    return r.get_json()["dataset"]["id"]


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_list_1_only_dataset_says_why_it_cannot_train_and_the_request_is_refused(fresh, council_csv):
    env = fresh
    ds = ingested(env, council_csv / "list_1_contacts.csv")
    body = env.client.get(f"/api/v1/datasets/{ds}", headers=env.h("owner")).get_json()
    assert body["status"] == "ready"
    assert body["training"]["ready"] is False and any("List 8" in r for r in body["training"]["reasons"])
    assert body["report"]["lists_missing"] == [2, 3, 4, 5, 6, 7, 8]

    refused = assert_error_shape(env.client.post("/api/v1/models", headers=env.h("owner"),
                                                 json={"dataset_id": ds}), 422)
    assert "this dataset cannot train the journey generator" in refused["error"]
    assert "List 4" in refused["error"]
    assert env.client.get("/api/v1/models", headers=env.h("owner")).get_json() == []  # nothing was queued

    client = web_client(env, "owner")
    page = client.get(f"/datasets/{ds}").get_data(as_text=True)
    said = text_of(page)
    assert "This dataset cannot train the journey model" in said
    assert "List 4 (Assessments) was not found in any file" in said
    assert "List 8 (Children in care) was not found in any file" in said
    assert '<option value="journey" disabled>' in page  # the journey model cannot be chosen
    assert '<option value="sdv-hma">' in page  # a baseline still can
    r = client.post(f"/datasets/{ds}/train", data={"csrf_token": page_csrf(client), "generator": "journey"})
    assert r.status_code == 302 and f"/datasets/{ds}" in r.headers["Location"]
    assert "this dataset cannot train the journey generator" in client.get(f"/datasets/{ds}").get_data(as_text=True)


def test_a_training_job_on_a_dataset_that_cannot_train_fails_with_the_reason(fresh, council_csv):
    from service.orm import Dataset

    env = fresh
    ds = ingested(env, council_csv / "list_1_contacts.csv")
    with env.store.write() as s:  # a dataset ingested before readiness was worked out
        row = s.get(Dataset, ds)
        row.report = {k: v for k, v in row.report.items() if k != "training"}
    r = env.client.post("/api/v1/models", headers=env.h("owner"), json={"dataset_id": ds})
    assert r.status_code == 202, r.get_json()
    job = env.wait(r.get_json()["job"]["id"])
    assert job["status"] == "failed"
    assert job["error"].startswith("this dataset cannot train the journey generator")
    assert "internal error" not in job["error"]


def test_the_dataset_page_shows_missing_lists_ignored_sheets_and_notes(fresh, council_csv, tmp_path):
    env = fresh
    (tmp_path / "team_notes.csv").write_text("Team,Notes,Owner\nA,x,y\n")
    files = [council_csv / f for f in ("list_1_contacts.csv", "list_3_referrals.csv")] + [tmp_path / "team_notes.csv"]
    handles = [open(f, "rb") for f in files]
    try:
        r = env.client.post("/api/v1/datasets", headers=env.h("owner"), content_type="multipart/form-data",
                            data={"name": "Partial", "file": [(h, f.name) for h, f in zip(handles, files)]})
    finally:
        for h in handles:
            h.close()
    assert r.status_code == 202, r.get_json()
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    ds = r.get_json()["dataset"]["id"]
    report = env.client.get(f"/api/v1/datasets/{ds}", headers=env.h("owner")).get_json()["report"]
    assert report["lists_missing"] == [2, 4, 5, 6, 7, 8]
    assert [i["file"] for i in report["sheets_ignored"]] == ["team_notes.csv"]

    said = text_of(web_client(env, "owner").get(f"/datasets/{ds}").get_data(as_text=True))
    assert "Lists missing or not recognised" in said
    assert "List 4 (Assessments) was not found in any file" in said
    assert "team_notes.csv: not read as any Annex A list" in said
    assert f"{report['warnings_total']:,} warnings" in said and report["warnings_total"] >= 7


def test_a_month_first_upload_fails_with_one_message_naming_the_columns(fresh, council_csv, tmp_path):
    import pandas as pd

    env = fresh
    df = pd.read_csv(council_csv / "list_1_contacts.csv", dtype=str, keep_default_na=False)
    df["Date of Contact"] = pd.to_datetime(df["Date of Contact"], format="%d/%m/%Y").dt.strftime("%m/%d/%Y")
    df.to_csv(tmp_path / "contacts.csv", index=False)
    r = upload(env, tmp_path / "contacts.csv")
    assert r.status_code == 202, r.get_json()
    job = env.wait(r.get_json()["job"]["id"])
    assert job["status"] == "failed"
    assert job["error"].startswith("Dates written month-first (US style, mm/dd/yyyy): contacts.csv, List 1 "
                                   "(Contacts), column 'Date of Contact'")
    assert "--month-first" not in job["error"]  # a CLI option: the service's users re-save the file
    ds = r.get_json()["dataset"]["id"]
    body = env.client.get(f"/api/v1/datasets/{ds}", headers=env.h("owner")).get_json()
    assert body["status"] == "failed" and body["report"]["errors"][0]["column"] == "Date of Contact"
    said = text_of(web_client(env, "owner").get(f"/datasets/{ds}").get_data(as_text=True))
    assert "Dates written month-first (US style, mm/dd/yyyy): contacts.csv" in said


def test_errors_csv_gives_the_grouped_problems_first_then_row_by_row(fresh, council_csv, tmp_path):
    import csv
    import io

    import pandas as pd

    env = fresh
    df = pd.read_csv(council_csv / "list_1_contacts.csv", dtype=str, keep_default_na=False)
    df.loc[0:149, "Date of Contact"] = "soon"  # rows 2-151: more than the report keeps row by row (100)
    df.to_csv(tmp_path / "contacts.csv", index=False)
    ds = ingested(env, tmp_path / "contacts.csv")
    client = web_client(env, "owner")
    said = text_of(client.get(f"/datasets/{ds}").get_data(as_text=True))
    assert "error 150 (rows 2-151) contacts.csv Date of Contact 'Date of Contact' is not a date" in said
    rows = list(csv.reader(io.StringIO(client.get(f"/datasets/{ds}/errors.csv").get_data(as_text=True))))
    assert rows[0] == ["severity", "rows affected", "file", "sheet", "row", "column", "message"]
    assert rows[1][:6] == ["error", "150", "contacts.csv", "", "2-151", "Date of Contact"]
    detail = [r for r in rows[1:] if r[0] == "error" and r[1] == "1"]
    assert [int(r[4]) for r in detail] == list(range(2, 152))  # every row, not only the report's first 100
    assert all(r[2:4] == ["contacts.csv", ""] and r[5] == "Date of Contact" for r in detail)


def test_the_dataset_page_shows_the_reports_notes(fresh, council_csv, tmp_path):
    import pandas as pd

    env = fresh
    df = pd.read_csv(council_csv / "list_1_contacts.csv", dtype=str, keep_default_na=False)
    again = df.iloc[[0]].assign(**{"Gender": "Male" if df.iloc[0]["Gender"] == "Female" else "Female",
                                   "Date of Contact": "01/01/2024"})
    pd.concat([df, again]).to_csv(tmp_path / "contacts.csv", index=False)
    ds = ingested(env, tmp_path / "contacts.csv")
    notes = env.client.get(f"/api/v1/datasets/{ds}", headers=env.h("owner")).get_json()["report"]["notes"]
    assert any("have a different sex in different rows" in n for n in notes)
    said = text_of(web_client(env, "owner").get(f"/datasets/{ds}").get_data(as_text=True))
    assert "Notes" in said and "have a different sex in different rows" in said


def test_an_upload_marked_month_first_is_read_so_and_says_so(fresh, council_csv, tmp_path):
    import pandas as pd

    env = fresh
    df = pd.read_csv(council_csv / "list_1_contacts.csv", dtype=str, keep_default_na=False)
    for col in ("Date of Birth", "Date of Contact"):
        df[col] = pd.to_datetime(df[col], format="%d/%m/%Y", errors="coerce").dt.strftime("%m/%d/%Y").fillna("")
    df.to_csv(tmp_path / "contacts.csv", index=False)

    def post(dates: str | None):
        with open(tmp_path / "contacts.csv", "rb") as f:
            data = {"name": "US dates", "file": (f, "contacts.csv"), **({"dates": dates} if dates else {})}
            return env.client.post("/api/v1/datasets", headers=env.h("owner"), data=data,
                                   content_type="multipart/form-data")

    body = assert_error_shape(post("american"), 422)
    assert "dates must be 'day-first'" in body["error"]
    r = post("month-first")
    assert r.status_code == 202, r.get_json()
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    ds = r.get_json()["dataset"]["id"]
    got = env.client.get(f"/api/v1/datasets/{ds}", headers=env.h("owner")).get_json()
    uk = env.client.get(f"/api/v1/datasets/{ingested(env, council_csv / 'list_1_contacts.csv')}",
                        headers=env.h("owner")).get_json()
    assert got["report"]["options"] == {"dates": "month-first"} and got["report"]["errors_total"] == 0
    assert got["counts"] == uk["counts"]  # the same children, events and journeys as the day-first file
    said = text_of(web_client(env, "owner").get(f"/datasets/{ds}").get_data(as_text=True))
    assert "Text dates were read month-first (mm/dd/yyyy), as asked at upload." in said
