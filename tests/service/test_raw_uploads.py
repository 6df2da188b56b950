"""Raw uploads are not kept (issue 18.5): an uploaded workbook is deleted when its ingest ends (or
RAW_UPLOAD_KEEP_HOURS later, success or failure), everything the service writes is readable by its own user only,
and a dataset's owner or an admin deletes a dataset from the pages, unless releases still rest on it."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from service import create_app
from service.orm import Dataset, Job, TrainedModel
from tests.conftest import BAD_FILES
from tests.service.conftest import BACKENDS, close_env, make_env, page_csrf, upload, web_client


def actions(env, dataset_id: str) -> list[str]:
    with env.store.read() as s:
        return [e.action for e in env.store.audit_events(s, 1, object_type="dataset", object_id=dataset_id)]


def ingest(env, path: Path, as_user: str = "owner") -> tuple[str, dict]:
    r = upload(env, path, as_user=as_user)
    assert r.status_code == 202, r.get_json()
    return r.get_json()["dataset"]["id"], env.wait(r.get_json()["job"]["id"], as_user=as_user)


def train(env, dataset_id: str, as_user: str = "owner") -> str:
    r = env.client.post("/api/v1/models", headers=env.h(as_user), json={"dataset_id": dataset_id})
    assert env.wait(r.get_json()["job"]["id"], as_user=as_user)["status"] == "succeeded"
    return r.get_json()["model"]["id"]


@pytest.fixture(params=BACKENDS)
def keeping(request, tmp_path, monkeypatch):
    """A service that keeps raw uploads for an hour after their ingest (per backend: on RQ the worker process
    writes the files and deletes the uploads)."""
    monkeypatch.setenv("FRONTDOOR_RAW_UPLOAD_KEEP_HOURS", "1")
    env = make_env(tmp_path, request.param)
    yield env
    close_env(env)


def test_a_raw_upload_is_deleted_as_soon_as_its_ingest_succeeds_by_default(fresh, council_file):
    ds, job = ingest(fresh, council_file)
    assert job["status"] == "succeeded"
    assert not fresh.store.upload_dir(ds).exists()
    assert list((fresh.data_dir / "uploads").iterdir()) == []
    assert actions(fresh, ds)[-1] == "dataset.upload_deleted"
    assert fresh.client.get(f"/api/v1/datasets/{ds}", headers=fresh.h("owner")).get_json()["status"] == "ready"


def test_a_failed_ingest_keeps_nothing_by_default(fresh):
    ds, job = ingest(fresh, BAD_FILES / "all_rows_bad.csv")
    assert job["status"] == "failed"
    assert not fresh.store.upload_dir(ds).exists()
    assert "dataset.upload_deleted" in actions(fresh, ds)


def test_a_failed_ingest_keeps_its_upload_only_as_long_as_the_setting_says(keeping):
    env = keeping
    ds, job = ingest(env, BAD_FILES / "all_rows_bad.csv")
    assert job["status"] == "failed"
    kept = env.store.upload_dir(ds)
    assert [p.name for p in kept.iterdir()] == ["all_rows_bad.csv"]  # within the hour it stays
    assert "dataset.upload_deleted" not in actions(env, ds)
    with env.store.write() as s:  # the hour has passed
        s.get(Job, job["id"]).finished_at -= timedelta(hours=1, minutes=1)
    again = create_app({**{k: env.app.config["FRONTDOOR"][k] for k in ("DATA_DIR", "DATABASE_URL", "PSEUDONYM_KEY")},
                        "TESTING": True})  # a restart of the service
    again.extensions["frontdoor"].runner.shutdown()
    again.extensions["frontdoor"].store.dispose()
    assert not kept.exists()
    assert actions(env, ds)[-1] == "dataset.upload_deleted"


def test_every_file_the_service_writes_is_readable_by_its_own_user_only(keeping, council_file):
    """Uploads (kept here for the hour), tables, models, releases, the database and keys: files 0600, folders
    0700, on the real files after a whole workflow."""
    from tests.service.conftest import published_release

    env = keeping
    ids = published_release(env, council_file)
    assert env.store.upload_dir(ids["dataset"]).exists()
    seen = {"file": 0, "folder": 0}
    for path in [env.data_dir, *env.data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        kind = "folder" if path.is_dir() else "file"
        assert mode == (0o700 if kind == "folder" else 0o600), (str(path.relative_to(env.data_dir)), oct(mode))
        seen[kind] += 1
    assert seen["file"] >= 10 and seen["folder"] >= 6, seen


def test_the_owner_deletes_a_dataset_from_the_pages(keeping, council_file):
    env = keeping
    ds, _ = ingest(env, council_file)
    model = train(env, ds)
    paths = [env.store.upload_dir(ds), env.store.dataset_dir(ds), env.store.model_path(model)]
    assert all(p.exists() for p in paths)
    other = web_client(env, "owner2")  # another data owner: no such dataset for them
    assert other.get(f"/datasets/{ds}/delete").status_code == 404
    assert other.post(f"/datasets/{ds}/delete", data={"csrf_token": page_csrf(other)}).status_code == 302
    dev = web_client(env, "dev")
    assert dev.get(f"/datasets/{ds}/delete").status_code == 403
    owner = web_client(env, "owner")
    listing = owner.get("/datasets").get_data(as_text=True)
    assert f'href="/datasets/{ds}/delete"' in listing
    confirm = owner.get(f"/datasets/{ds}/delete").get_data(as_text=True)
    assert "1 model trained on it" in confirm and 'id="confirm-delete"' in confirm
    assert owner.post(f"/datasets/{ds}/delete").status_code == 400  # no CSRF token: refused
    assert all(p.exists() for p in paths)  # neither of the refused posts deleted anything
    done = owner.post(f"/datasets/{ds}/delete", data={"csrf_token": page_csrf(owner)}, follow_redirects=True)
    assert "is deleted" in done.get_data(as_text=True) and f"/datasets/{ds}" not in done.get_data(as_text=True)
    assert not any(p.exists() for p in paths)
    assert list((env.data_dir / "tmp").iterdir()) == []
    with env.store.read() as s:
        row, m = s.get(Dataset, ds), s.get(TrainedModel, model)
        assert (row.status, row.report, row.counts, row.files) == ("deleted", None, None, [])
        assert m.status == "deleted"
    assert actions(env, ds)[-1] == "dataset.deleted"
    assert env.client.get(f"/api/v1/datasets/{ds}", headers=env.h("owner")).status_code == 404


def test_an_admin_may_delete_a_dataset_of_the_council(keeping, council_file):
    env = keeping
    ds, _ = ingest(env, council_file, as_user="owner2")
    admin = web_client(env, "admin")
    assert f'/datasets/{ds}/delete' in admin.get("/datasets").get_data(as_text=True)
    assert admin.post(f"/datasets/{ds}/delete", data={"csrf_token": page_csrf(admin)}).status_code == 302
    assert not env.store.dataset_dir(ds).exists() and actions(env, ds)[-1] == "dataset.deleted"


def test_a_dataset_a_release_in_review_rests_on_cannot_be_deleted(fresh, council_file):
    env = fresh
    ds, _ = ingest(env, council_file)
    model = train(env, ds)
    r = env.client.post("/api/v1/releases", headers=env.h("owner"), json={
        "model_id": model, "children": 900, "profile": "default", "purpose": "p", "recipients": "r"})
    rel = r.get_json()["release"]["id"]
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    owner = web_client(env, "owner")
    page = owner.post(f"/datasets/{ds}/delete", data={"csrf_token": page_csrf(owner)}, follow_redirects=True)
    assert rel in page.get_data(as_text=True) and "awaiting review" in page.get_data(as_text=True)
    assert env.client.delete(f"/api/v1/datasets/{ds}", headers=env.h("owner")).status_code == 409
    assert env.store.dataset_dir(ds).exists() and env.store.model_path(model).exists()
    assert "dataset.deleted" not in actions(env, ds)
    env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h("rev1"),
                    json={"decision": "reject", "comment": "Not needed."})
    assert env.client.delete(f"/api/v1/datasets/{ds}", headers=env.h("owner")).status_code == 204
    assert not env.store.dataset_dir(ds).exists() and not env.store.model_path(model).exists()


def test_a_deletion_that_fails_half_way_leaves_everything_in_place(fresh, council_file, monkeypatch):
    """The database write fails after the files were moved out of place: they are moved back, nothing is lost."""
    from service import operations

    env = fresh
    ds, _ = ingest(env, council_file)
    model = train(env, ds)
    kept = [env.store.dataset_dir(ds), env.store.model_path(model)]
    before = {p: sorted(x.name for x in p.rglob("*")) if p.is_dir() else p.read_bytes() for p in kept}

    def fail(*args, **kwargs):
        raise OSError("disk full while writing the audit event")

    monkeypatch.setattr(operations.audit, "record", fail)
    with pytest.raises(OSError):
        operations.delete_dataset(env.store, _user(env, "owner"), ds)
    monkeypatch.undo()
    assert {p: sorted(x.name for x in p.rglob("*")) if p.is_dir() else p.read_bytes() for p in kept} == before
    assert list((env.data_dir / "tmp").iterdir()) == []
    with env.store.read() as s:
        assert s.get(Dataset, ds).status == "ready" and s.get(TrainedModel, model).status == "ready"
    assert env.client.delete(f"/api/v1/datasets/{ds}", headers=env.h("owner")).status_code == 204
    assert not any(p.exists() for p in kept)


def _user(env, name: str):
    from service.orm import User

    with env.store.read() as s:
        return s.get(User, env.users[name])
