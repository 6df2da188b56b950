"""The upload page lets a data owner say the files write dates month first, as the API and CLI do."""

from __future__ import annotations

import re

from tests.service.conftest import page_csrf, web_client


def _us_dates_csv(tmp_path):
    path = tmp_path / "list1_contacts.csv"
    rows = ["Child Unique ID,Gender,Ethnicity,Date of Birth,Age of Child (Years),Date of Contact,Contact Source"]
    rows += [f"C{i:04d},a) Male,WBRI,03/{13 + i % 15}/2015,7,04/{13 + i % 15}/2022,Police" for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _post(client, path, dates):
    with open(path, "rb") as f:
        return client.post("/datasets", data={"csrf_token": page_csrf(client), "name": "US dates", "dates": dates,
                                              "file": (f, path.name)}, content_type="multipart/form-data")


def test_the_upload_page_offers_month_first_dates_and_passes_them_on(fresh, tmp_path):
    client = web_client(fresh, "owner")
    page = client.get("/datasets").get_data(as_text=True)
    assert re.search(r'name="dates" value="month-first"', page) and 'value="day-first" checked' in page
    path = _us_dates_csv(tmp_path)
    r = _post(client, path, "month-first")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    job_id = r.headers["Location"].rsplit("/", 1)[-1]
    job = fresh.wait(job_id)
    assert job["status"] == "succeeded", job
    bad = _post(client, path, "sideways")
    assert bad.status_code == 422
