"""The service takes the Standard Safeguarding Dataset's tables as it takes Annex A: uploaded as CSVs in
one request, ingested by the same job into a ready dataset; a mix of the two standards is refused."""

from __future__ import annotations

import pytest

from fixtures.council import CouncilSpec, simulate
from fixtures.ssd import build_tables, write_csvs
from tests.service.conftest import assert_error_shape


@pytest.fixture(scope="module")
def ssd_csvs(tmp_path_factory):
    return write_csvs(build_tables(simulate(CouncilSpec(children=200, seed=8))), tmp_path_factory.mktemp("ssd"))


def post_files(env, paths):
    handles = [open(p, "rb") for p in paths]
    try:
        return env.client.post("/api/v1/datasets", headers=env.h("owner"), content_type="multipart/form-data",
                               data={"name": "SSD council", "file": [(h, p.name) for h, p in zip(handles, paths)]})
    finally:
        for h in handles:
            h.close()


def test_ssd_csvs_upload_to_a_ready_dataset(fresh, ssd_csvs):
    r = post_files(fresh, ssd_csvs)
    assert r.status_code == 202, r.get_json()
    job = fresh.wait(r.get_json()["job"]["id"])
    assert job["status"] == "succeeded", job
    ds = fresh.client.get(f"/api/v1/datasets/{r.get_json()['dataset']['id']}", headers=fresh.h("owner")).get_json()
    assert ds["status"] == "ready"
    assert ds["counts"]["children"] == 200 and ds["counts"]["rows_rejected"] == 0
    assert ds["report"]["standard"] == "SSD" and "ssd_contacts" in ds["report"]["lists"]


def test_a_mix_of_ssd_tables_and_annex_a_lists_is_refused_at_upload(fresh, ssd_csvs, tmp_path):
    from tests.conftest import Cli

    assert Cli()("fixtures", "--children", "40", "--seed", "3", "--format", "csv", "--out", tmp_path).exit_code == 0
    body = assert_error_shape(post_files(fresh, [*ssd_csvs[:3], *sorted(tmp_path.glob("list_*.csv"))[:1]]), 422)
    assert "one upload holds one standard" in body["error"]
    assert fresh.client.get("/api/v1/datasets", headers=fresh.h("owner")).get_json() == []
    assert not any((fresh.data_dir / "uploads").iterdir())


def test_ssd_tables_without_the_persons_table_are_refused_at_upload_not_in_the_job(fresh, ssd_csvs):
    without = [p for p in ssd_csvs if p.stem != "ssd_person"]
    assert len(without) == len(ssd_csvs) - 1
    body = assert_error_shape(post_files(fresh, without), 422)
    assert "no ssd_person table" in body["error"]
    assert fresh.client.get("/api/v1/datasets", headers=fresh.h("owner")).get_json() == []
    assert not any((fresh.data_dir / "uploads").iterdir())


def test_the_dataset_page_names_ssd_tables_as_tables(fresh, ssd_csvs):
    from tests.service.conftest import web_client

    r = post_files(fresh, ssd_csvs)
    assert fresh.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    page = web_client(fresh, "owner").get(f"/datasets/{r.get_json()['dataset']['id']}").get_data(as_text=True)
    assert "SSD table ssd_contacts" in page and "List ssd_" not in page
