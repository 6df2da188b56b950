"""The governed release workflow through the API (per backend: SQLite, PostgreSQL, RQ + Redis)."""

import io

import pytest

from synth.bundle import read_bundle
from tests.factories import Stored
from tests.service.conftest import BACKENDS, assert_error_shape, close_env, make_env


@pytest.fixture(params=BACKENDS)
def service(request, tmp_path):
    """A service of its own per backend (SQLite, PostgreSQL, RQ), with nothing in it but its users."""
    env = make_env(tmp_path, request.param)
    yield env
    close_env(env)


def test_a_published_release_reaches_developers(world, tmp_path):
    env, ids = world
    rel = ids["release"]
    r = env.client.get("/api/v1/releases", headers=env.h("dev"))
    listed = r.get_json()["releases"]
    assert [r["id"] for r in listed] == [rel]
    assert env.client.get("/api/v1/releases", headers={**env.h("dev"), "If-None-Match": r.headers["ETag"]}
                          ).status_code == 304
    assert set(listed[0]) == {"id", "state", "kind", "children", "profile", "verdict", "bundle_sha256", "bundle_bytes",
                              "published_at", "links"}
    r = env.client.get(f"/api/v1/releases/{rel}/bundle", headers=env.h("dev"))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    etag = r.headers["ETag"]
    (tmp_path / "b.zip").write_bytes(r.data)
    bundle = read_bundle(tmp_path / "b.zip")
    assert bundle.release_id == rel and r.headers["ETag"].strip('"') == listed[0]["bundle_sha256"]
    assert env.client.get(f"/api/v1/releases/{rel}/bundle", headers={**env.h("dev"), "If-None-Match": etag}
                          ).status_code == 304
    manifest = env.client.get(f"/api/v1/releases/{rel}/manifest", headers=env.h("dev")).get_json()
    assert manifest["frontdoor"]["release_id"] == rel
    r = env.client.get(f"/api/v1/releases/{rel}/files/events.csv", headers=env.h("dev"))
    assert r.status_code == 200 and r.data == bundle.files["events.csv"]
    sha = manifest["frontdoor"]["files"]["events.csv"]
    assert env.client.get(f"/api/v1/releases/{rel}/files/events.csv",
                          headers={**env.h("dev"), "If-None-Match": f'"{sha}"'}).status_code == 304
    assert_error_shape(env.client.get(f"/api/v1/releases/{rel}/files/secret.txt", headers=env.h("dev")), 404)


def test_responses_never_carry_raw_rows_or_pseudonyms(world):
    env, ids = world
    ds = env.client.get(f"/api/v1/datasets/{ids['dataset']}", headers=env.h("owner")).get_json()
    assert ds["status"] == "ready" and ds["report"]["rows_read"] > 0
    from synth.dataset import read_dataset

    keys = set(read_dataset(env.store.dataset_dir(ids["dataset"])).children["child_key"][:300])
    text = str(ds) + str(env.client.get(f"/api/v1/releases/{ids['release']}", headers=env.h("rev1")).get_json())
    assert not any(k in text for k in keys)


def test_every_step_is_in_the_audit_trail_and_the_chain_verifies(world):
    env, ids = world
    assert env.client.get(f"/api/v1/releases/{ids['release']}/bundle", headers=env.h("dev")).status_code == 200
    body = env.client.get("/api/v1/audit?limit=1000", headers=env.h("rev1")).get_json()
    assert body["chain"]["ok"] is True
    actions = [e["action"] for e in body["events"]]
    for action in ("dataset.uploaded", "dataset.ingested", "model.requested", "model.trained", "release.requested",
                   "release.submit", "release.gate_passed", "release.approve", "release.approve_final",
                   "release.publish", "release.bundle_read"):
        assert action in actions, action
    filtered = env.client.get(f"/api/v1/audit?object_id={ids['release']}", headers=env.h("admin")).get_json()
    assert {e["object_id"] for e in filtered["events"]} == {ids["release"]}


def test_review_rules(fresh, council_file):
    from tests.service.conftest import published_release

    env = fresh
    ids = published_release(env, council_file)
    # A second request from the same model, to walk the review rules on.
    r = env.client.post("/api/v1/releases", headers=env.h("owner"), json={
        "model_id": ids["model"], "children": 500, "profile": "default", "purpose": "p", "recipients": "r"})
    rel = r.get_json()["release"]["id"]
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    url = f"/api/v1/releases/{rel}/reviews"
    # The requester cannot review here, refused first by their role (data owner); the rule on its own, with a
    # reviewer as the requester: test_governance.py and test_one_rule.py.
    assert_error_shape(env.client.post(url, headers=env.h("owner"), json={"decision": "approve", "comment": "Judged the items to review."}), 403)
    assert env.client.post(url, headers=env.h("rev1"), json={"decision": "approve", "comment": "Judged the items to review."}).get_json()["state"] == \
        "awaiting_review"
    assert_error_shape(env.client.post(url, headers=env.h("rev1"), json={"decision": "approve", "comment": "Judged the items to review."}), 409)
    assert_error_shape(env.client.post(f"/api/v1/releases/{rel}/publish", headers=env.h("owner")), 409)
    body = assert_error_shape(env.client.post(url, headers=env.h("rev2"), json={"decision": "return"}), 422)
    assert "comment" in body["error"]
    got = env.client.post(url, headers=env.h("rev2"), json={"decision": "return", "comment": "Say who the recipients "
                                                                                              "are by name."}).get_json()
    assert got["state"] == "returned" and got["reviews"][-1]["comment"].startswith("Say who")
    # Any change resets approvals: rev1's approval was for version 1.
    r = env.client.patch(f"/api/v1/releases/{rel}", headers=env.h("owner"), json={"recipients": "Dr A, Uni B"})
    assert r.status_code == 202 and r.get_json()["release"]["version"] == 2
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    state = env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()
    assert state["state"] == "awaiting_review" and state["approvals"] == 0
    assert env.client.post(url, headers=env.h("rev1"), json={"decision": "approve", "comment": "Judged the items to review."}).get_json()["approvals"] == 1
    assert env.client.post(url, headers=env.h("rev3"), json={"decision": "reject", "comment": "Not needed."}
                           ).get_json()["state"] == "rejected"
    assert_error_shape(env.client.post(url, headers=env.h("rev2"), json={"decision": "approve", "comment": "Judged the items to review."}), 409)


def test_withdrawn_release_stops_being_served_but_stays_on_record(fresh, built):
    env = fresh
    u = env.users
    rel = Stored(env.store).release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), built=built).id
    assert env.client.get(f"/api/v1/releases/{rel}/bundle", headers=env.h("dev")).status_code == 200
    from service import create_app

    # Another serving process on the same database and data directory keeps its own developers' list.
    other = create_app(dict(env.app.config["FRONTDOOR"]))
    try:
        for client in (env.client, other.test_client()):
            listed = client.get("/api/v1/releases", headers=env.h("dev")).get_json()["releases"]
            assert [x["id"] for x in listed] == [rel]
        assert_error_shape(env.client.post(f"/api/v1/releases/{rel}/withdraw", headers=env.h("dev"), json={}), 403)
        r = env.client.post(f"/api/v1/releases/{rel}/withdraw", headers=env.h("owner"), json={"reason": "superseded"})
        assert r.status_code == 200 and r.get_json()["state"] == "withdrawn"
        for client in (env.client, other.test_client()):
            assert client.get("/api/v1/releases", headers=env.h("dev")).get_json()["releases"] == []
    finally:
        other.extensions["frontdoor"].runner.shutdown()
        other.extensions["frontdoor"].store.dispose()
    assert env.client.get(f"/api/v1/releases/{rel}", headers=env.h("admin")).get_json()["state"] == "withdrawn"
    assert_error_shape(env.client.get(f"/api/v1/releases/{rel}/bundle", headers=env.h("admin")), 410)


def test_a_crash_in_a_job_leaves_no_bundle(fresh, council_file, monkeypatch):
    env = fresh
    r = env.client.post("/api/v1/datasets", headers=env.h("owner"), data={
        "name": "c", "file": (io.BytesIO(council_file.read_bytes()), "annex_a.xlsx")}, content_type="multipart/form-data")
    ds = r.get_json()["dataset"]["id"]
    env.wait(r.get_json()["job"]["id"])
    r = env.client.post("/api/v1/models", headers=env.h("owner"), json={"dataset_id": ds})
    model = r.get_json()["model"]["id"]
    env.wait(r.get_json()["job"]["id"])

    import synth.disclosure

    def crash(*args, **kwargs):
        raise MemoryError("simulated crash in the middle of the gate")

    monkeypatch.setattr(synth.disclosure, "run_gate", crash)
    r = env.client.post("/api/v1/releases", headers=env.h("owner"), json={
        "model_id": model, "children": 900, "profile": "default", "purpose": "p", "recipients": "r"})
    rel = r.get_json()["release"]["id"]
    job = env.wait(r.get_json()["job"]["id"])
    assert job["status"] == "failed" and "internal error (MemoryError)" in job["error"]
    state = env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()
    assert state["state"] == "failed" and state["bundle_sha256"] is None
    assert not env.store.release_dir(rel).exists()
    assert not any((env.data_dir / "tmp").iterdir())
    assert_error_shape(env.client.get(f"/api/v1/releases/{rel}/bundle", headers=env.h("owner")), 409)
    actions = [e["action"] for e in env.client.get(f"/api/v1/audit?object_id={rel}", headers=env.h("admin"))
               .get_json()["events"]]
    assert "release.build_failed" in actions and "release.gate_failed" not in actions  # a crash, not a verdict
    monkeypatch.undo()  # the worker is fixed: the requester runs the build again
    assert env.client.post(f"/api/v1/releases/{rel}/retry", headers=env.h("rev1")).status_code == 403
    r = env.client.post(f"/api/v1/releases/{rel}/retry", headers=env.h("owner"))
    assert r.status_code == 202, r.get_json()
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
    state = env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()
    assert state["state"] == "awaiting_review" and state["bundle_sha256"]


def test_a_job_whose_worker_died_ends_failed(fresh):
    from datetime import timedelta

    from service.orm import Job, now

    env = fresh
    with env.store.write() as s:
        s.add(Job(id="deadjob00001", council_id=1, kind="train", status="running", target_type="model", target_id="none",
                  created_by=env.users["owner"], heartbeat_at=now() - timedelta(hours=1)))
    job = env.client.get("/api/v1/jobs/deadjob00001", headers=env.h("admin")).get_json()
    assert job["status"] == "failed" and "no heartbeat" in job["error"]


def test_a_queued_job_waits_as_long_as_it_takes(fresh):
    """A job waiting behind a long training (never started, so never heartbeated) is not failed for its age."""
    from datetime import timedelta

    from service.orm import Job, now

    env = fresh
    with env.store.write() as s:
        s.add(Job(id="waitingjob01", council_id=1, kind="build_release", status="queued", target_type="release",
                  target_id="none", created_by=env.users["owner"], backend="rq",
                  created_at=now() - timedelta(hours=2)))
    job = env.client.get("/api/v1/jobs/waitingjob01", headers=env.h("admin")).get_json()
    assert job["status"] == "queued"


def test_no_file_of_a_release_leaves_before_it_is_published_for_anyone(service, built):
    """Sign-off cannot be bypassed: the requester, reviewers and admins get no bundle, manifest or file of a
    release awaiting review or approved, through the API or the pages; once published, they do. The release is
    owner's, awaiting review, written by tests.factories.Stored with the bundle and reports a real build wrote:
    its files are on disk all along, and only the rules keep them in."""
    env = service
    rel = Stored(env.store).release("awaiting_review", env.users["owner"], built=built).id
    assert env.store.bundle_path(rel).exists()
    assert env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()["state"] == "awaiting_review"
    paths = [f"/api/v1/releases/{rel}/bundle", f"/api/v1/releases/{rel}/manifest",
             f"/api/v1/releases/{rel}/files/map.json", f"/api/v1/releases/{rel}/files/children.csv"]

    def refused_to_all() -> None:
        for who in ("owner", "rev1", "rev2", "admin", "dev"):
            for path in paths:
                assert env.client.get(path, headers=env.h(who)).status_code in (404, 409), (who, path)

    refused_to_all()
    for reviewer in ("rev1", "rev2"):
        assert env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h(reviewer),
                               json={"decision": "approve", "comment": "Judged the items to review."}).status_code == 201
    assert env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()["state"] == "approved"
    refused_to_all()
    from tests.service.conftest import web_client as web

    page = web(env, "owner")
    assert page.get(f"/releases/{rel}/bundle.zip").status_code == 409
    assert "Download the release bundle" not in page.get(f"/releases/{rel}").get_data(as_text=True)
    assert env.client.post(f"/api/v1/releases/{rel}/publish", headers=env.h("owner")).status_code == 200
    assert env.client.get(paths[0], headers=env.h("owner")).status_code == 200
    assert env.client.get(paths[2], headers=env.h("dev")).status_code == 200
