"""Aggregate releases through the service (issue 11, item 5): real counts under disclosure control, no
records, checked against every earlier published release of the same dataset; pages say the kind."""

from __future__ import annotations

import io
import zipfile

import pytest

from synth.bundle import OTHER_FILES
from tests.factories import Stored
from tests.service.conftest import assert_error_shape, close_env, make_env
from tests.service.conftest import web_client as web


@pytest.fixture
def svc(tmp_path, built):
    """A service of its own holding owner's ready dataset (the built one's real canonical tables, which an
    aggregate build counts), a ready model on it, and a synthetic release of that model published (the built
    one, with its bundle and reports): the ids."""
    env = make_env(tmp_path, "sqlite")
    try:
        stored, u = Stored(env.store), env.users
        ds = stored.dataset(u["owner"], built=built)
        m = stored.model(u["owner"], ds.id)
        rel = stored.release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), model_id=m.id, built=built)
        yield env, {"dataset": ds.id, "model": m.id, "release": rel.id}
    finally:
        close_env(env)


@pytest.fixture
def aggregate_published(svc, built):
    """`svc` with, besides, an aggregate release of the same dataset published: the built one, whose bundle
    holds the real counts of these tables under the default profile's disclosure control (its map.json is what
    a later aggregate release is checked against). The ids, with "aggregate"."""
    env, ids = svc
    u = env.users
    agg = Stored(env.store).release("published", u["owner"], kind="aggregate", reviewers=(u["rev1"], u["rev2"]),
                                    model_id=ids["model"], built=built)
    assert agg.profile == "default"
    return env, {**ids, "aggregate": agg.id}


def request(env, model: str, profile: str = "default", **extra) -> tuple[str, dict]:
    r = env.client.post("/api/v1/releases", headers=env.h("owner"), json={
        "model_id": model, "kind": "aggregate", "profile": profile, "purpose": "counts for the board",
        "recipients": "the council's board", **extra})
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["release"]["kind"] == "aggregate" and body["release"]["children"] == 0
    job = env.wait(body["job"]["id"])
    assert job["status"] == "succeeded", job
    return body["release"]["id"], env.client.get(f"/api/v1/releases/{body['release']['id']}",
                                                 headers=env.h("owner")).get_json()


def approve(env, rel: str) -> None:
    for reviewer in ("rev1", "rev2"):
        r = env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h(reviewer), json={"decision": "approve"})
        assert r.status_code == 201, r.get_json()


def test_an_aggregate_release_is_published_with_no_records(svc):
    env, ids = svc
    rel, state = request(env, ids["model"])
    assert state["state"] == "awaiting_review" and state["verdict"] in ("pass", "review")
    approve(env, rel)
    r = env.client.post(f"/api/v1/releases/{rel}/publish", headers=env.h("owner"))
    assert r.status_code == 200 and r.get_json()["state"] == "published"
    listed = {x["id"]: x for x in env.client.get("/api/v1/releases", headers=env.h("dev")).get_json()["releases"]}
    assert listed[rel]["kind"] == "aggregate" and listed[ids["release"]]["kind"] == "synthetic"
    r = env.client.get(f"/api/v1/releases/{rel}/bundle", headers=env.h("dev"))
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        assert set(zf.namelist()) == {"datapackage.json", *OTHER_FILES}
    manifest = env.client.get(f"/api/v1/releases/{rel}/manifest", headers=env.h("dev")).get_json()
    assert manifest["frontdoor"]["kind"] == "aggregate"
    assert env.client.get(f"/api/v1/releases/{rel}/files/map.json", headers=env.h("dev")).get_json()["source"] == "real"
    assert_error_shape(env.client.get(f"/api/v1/releases/{rel}/files/children.csv", headers=env.h("dev")), 404)
    report = env.client.get(f"/api/v1/releases/{rel}/report?format=json", headers=env.h("rev1")).get_json()
    assert "differencing" in {c["name"] for c in report["checks"]} and report["release"]["kind"] == "aggregate"


def test_a_second_aggregate_release_that_allows_differencing_fails_the_gate(aggregate_published):
    env, ids = aggregate_published
    first = [x["id"] for x in env.client.get("/api/v1/releases", headers=env.h("dev")).get_json()["releases"]
             if x["kind"] == "aggregate"]
    assert first == [ids["aggregate"]]
    rel, state = request(env, ids["model"], "dfe")  # exact counts, fewer withheld, than the default one published
    assert state["state"] == "failed" and state["verdict"] == "fail"
    report = env.client.get(f"/api/v1/releases/{rel}/report?format=json", headers=env.h("rev1")).get_json()
    check = next(c for c in report["checks"] if c["name"] == "differencing")
    assert check["status"] == "fail" and check["details"]["earlier_releases"] == 1
    assert not env.store.bundle_path(rel).exists()
    # The same rules again give nothing away: that one passes.
    _, state = request(env, ids["model"], "default")
    assert state["state"] == "awaiting_review"


def test_two_aggregate_releases_approved_side_by_side_cannot_both_be_published(svc):
    """Each was checked before the other was published; publishing the second sets it against the first."""
    env, ids = svc
    a, _ = request(env, ids["model"], "default")
    b, state = request(env, ids["model"], "dfe")
    assert state["state"] == "awaiting_review"
    approve(env, a)
    approve(env, b)
    assert env.client.post(f"/api/v1/releases/{a}/publish", headers=env.h("owner")).status_code == 200
    body = assert_error_shape(env.client.post(f"/api/v1/releases/{b}/publish", headers=env.h("owner")), 409)
    assert "published since" in body["error"]
    assert env.client.get(f"/api/v1/releases/{b}", headers=env.h("owner")).get_json()["state"] == "approved"


def test_the_pages_say_which_kind_a_release_is(aggregate_published):
    env, ids = aggregate_published
    agg = ids["aggregate"]
    for name in ("rev1", "dev"):
        client = web(env, name)
        page = client.get(f"/releases/{agg}").get_data(as_text=True)
        assert "Aggregate counts from real data" in page and "Synthetic children" not in page
        page = client.get(f"/releases/{ids['release']}").get_data(as_text=True)
        assert "Synthetic records" in page and "Aggregate counts from real data" not in page
        listing = client.get("/releases").get_data(as_text=True)
        assert "Aggregate counts from real data" in listing and "Synthetic records" in listing
    report = web(env, "rev1").get(f"/releases/{agg}/report.html").get_data(as_text=True)
    assert "Kind of release: Aggregate counts from real data" in report


def test_the_request_must_fit_its_kind(svc):
    env, ids = svc
    base = {"model_id": ids["model"], "purpose": "p", "recipients": "r"}
    for body in ({**base, "kind": "aggregate", "children": 100}, {**base, "kind": "synthetic"},
                 {**base, "kind": "microdata", "children": 10}):
        assert_error_shape(env.client.post("/api/v1/releases", headers=env.h("owner"), json=body), 422)
    spec = env.client.get("/api/v1/openapi.json").get_json() or {}
    text = str(spec)
    assert "aggregate" in text and "kind" in text
