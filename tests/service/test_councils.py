"""Councils as tenants in one service (issue 14): each sees only its own objects, every role and endpoint;
reciprocal sharing of aggregate releases, comparison while both share, gone at once after a withdrawal."""

from __future__ import annotations

import pytest

from tests.conftest import Cli
from tests.factories import Stored
from tests.service.conftest import (
    BACKENDS,
    add_council,
    close_env,
    make_env,
    page_csrf,
    published_release,
    upload,
    web_client,
)

OTHER = ("m_owner", "m_rev1", "m_rev2", "m_dev", "m_admin")


@pytest.fixture(scope="module")
def moorside_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("svc_moorside")
    assert Cli()("fixtures", "--council", "moorside", "--children", "900", "--seed", "5", "--out", out).exit_code == 0
    return out / "annex_a.xlsx"


@pytest.fixture(scope="module", params=BACKENDS)
def two(request, tmp_path_factory, built, moorside_file):
    """One service, two councils: the first (default) with a published synthetic and a published aggregate
    release of one dataset (rows written by tests.factories.Stored, carrying the built council's real tables,
    bundles and reports), the second (Moorside) with its own file uploaded and ingested, a model row on it and
    an aggregate release of it really built (its bundle names Moorside), approved by its reviewers and published.
    Moorside's side runs on this backend's jobs, so its ingest records a system event in its council's trail."""
    env = make_env(tmp_path_factory.mktemp(f"svc_two_{request.param}"), request.param)
    try:
        other = add_council(env, "moorside", "Moorside", "m_", population=41_000)
        stored, u = Stored(env.store), env.users
        ds = stored.dataset(u["owner"], built=built)
        m = stored.model(u["owner"], ds.id)
        rel = stored.release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), model_id=m.id, built=built)
        agg = stored.release("published", u["owner"], kind="aggregate", reviewers=(u["rev1"], u["rev2"]),
                             model_id=m.id, built=built)
        mine = {"dataset": ds.id, "model": m.id, "release": rel.id, "aggregate": agg.id,
                "job": stored.job(u["owner"], "release", rel.id).id}
        r = upload(env, moorside_file, as_user="m_owner")
        assert r.status_code == 202, r.get_json()
        job = env.wait(r.get_json()["job"]["id"], as_user="m_owner")
        assert job["status"] == "succeeded", job
        their_ds = r.get_json()["dataset"]["id"]
        their_model = stored.model(u["m_owner"], their_ds).id  # an aggregate build reads only the dataset
        theirs = published_release(env, moorside_file, owner="m_owner", reviewers=("m_rev1", "m_rev2"),
                                   kind="aggregate", model=their_model)
        theirs["dataset"] = their_ds
        yield env, mine, theirs, other
    finally:
        close_env(env)


def _paths(ids: dict) -> list[str]:
    rel, agg = ids["release"], ids.get("aggregate", ids["release"])
    return [f"/api/v1/datasets/{ids['dataset']}", f"/api/v1/models/{ids['model']}", f"/api/v1/jobs/{ids['job']}",
            f"/api/v1/releases/{rel}", f"/api/v1/releases/{rel}/report", f"/api/v1/releases/{rel}/bundle",
            f"/api/v1/releases/{rel}/manifest", f"/api/v1/releases/{rel}/files/map.json",
            f"/api/v1/releases/{agg}/teams"]


def test_no_user_of_one_council_reaches_anothers_objects(two):
    env, mine, theirs, _ = two
    for name in OTHER:
        for path in _paths(mine):
            r = env.client.get(path, headers=env.h(name))
            assert r.status_code in (403, 404), (name, path, r.status_code)
    for name in ("owner", "rev1", "dev", "admin"):
        for path in _paths(theirs)[3:]:
            r = env.client.get(path, headers=env.h(name))
            assert r.status_code in (403, 404), (name, path, r.status_code)
    # Nor can they act on them.
    r = env.client.post(f"/api/v1/releases/{mine['release']}/withdraw", headers=env.h("m_admin"), json={})
    assert r.status_code == 404
    r = env.client.post("/api/v1/models", headers=env.h("m_owner"), json={"dataset_id": mine["dataset"]})
    assert r.status_code == 404


def test_listings_and_the_audit_trail_hold_only_the_councils_own(two):
    env, mine, theirs, _ = two
    listed = {r["id"] for r in env.client.get("/api/v1/releases", headers=env.h("m_dev")).get_json()["releases"]}
    assert listed == {theirs["release"]}
    listed = {r["id"] for r in env.client.get("/api/v1/releases", headers=env.h("dev")).get_json()["releases"]}
    assert theirs["release"] not in listed and mine["release"] in listed
    listed = {r["id"] for r in env.client.get("/api/v1/releases", headers=env.h("m_rev1")).get_json()["releases"]}
    assert listed == {theirs["release"]}
    assert env.client.get("/api/v1/datasets", headers=env.h("m_admin")).get_json()[0]["id"] == theirs["dataset"]
    assert len(env.client.get("/api/v1/datasets", headers=env.h("m_admin")).get_json()) == 1
    assert {m["id"] for m in env.client.get("/api/v1/models", headers=env.h("m_rev1")).get_json()} == {theirs["model"]}
    audit = env.client.get("/api/v1/audit?limit=1000", headers=env.h("m_admin")).get_json()
    ids = {e["object_id"] for e in audit["events"]}
    assert theirs["release"] in ids and mine["release"] not in ids and mine["dataset"] not in ids
    assert audit["chain"]["ok"] and audit["chain"]["events"] == len(audit["events"])


def test_the_pages_show_another_councils_objects_to_nobody(two):
    env, mine, _, _ = two
    client = web_client(env, "m_admin")
    for path in (f"/datasets/{mine['dataset']}", f"/models/{mine['model']}", f"/jobs/{mine['job']}",
                 f"/releases/{mine['release']}", f"/releases/{mine['release']}/bundle.zip"):
        assert client.get(path).status_code == 404, path
    assert mine["release"] not in client.get("/releases").get_data(as_text=True)


def _patch(env, who: str, **body):
    return env.client.patch("/api/v1/council", headers=env.h(who), json=body)


def test_sharing_is_reciprocal_and_a_withdrawal_is_honoured_at_once(two):
    env, mine, theirs, _ = two
    assert _patch(env, "owner", shares_aggregates=True).status_code == 403  # admins decide
    assert _patch(env, "admin", population=-5).status_code == 422
    assert _patch(env, "admin", population=118_000).get_json()["population"] == 118_000
    # Neither shares yet: no comparison for anyone.
    assert env.client.get("/api/v1/comparison", headers=env.h("owner")).status_code == 403
    assert _patch(env, "admin", shares_aggregates=True).get_json()["shares_aggregates"] is True
    alone = env.client.get("/api/v1/comparison", headers=env.h("owner")).get_json()
    assert alone["others"] == [] and alone["pooled"] is None and alone["mine"]["release"] == mine["aggregate"]
    assert env.client.get("/api/v1/comparison", headers=env.h("m_owner")).status_code == 403  # they do not share

    assert _patch(env, "m_admin", shares_aggregates=True).status_code == 200
    both = env.client.get("/api/v1/comparison", headers=env.h("owner")).get_json()
    assert [o["council"] for o in both["others"]] == ["moorside"]
    assert both["others"][0]["release"] == theirs["release"]
    assert both["pooled"]["figures"]["councils"] == ["default", "moorside"]
    contact = both["others"][0]["figures"]["stages"]["contact"]
    assert contact["children"] and contact["per_10k_a_year"] is not None  # Moorside declared its population
    theirs_view = env.client.get("/api/v1/comparison", headers=env.h("m_rev1")).get_json()
    assert [o["council"] for o in theirs_view["others"]] == ["default"]
    assert env.client.get("/api/v1/comparison", headers=env.h("m_dev")).status_code == 403  # council staff only

    assert _patch(env, "m_admin", shares_aggregates=False).status_code == 200
    after = env.client.get("/api/v1/comparison", headers=env.h("owner")).get_json()
    assert after["others"] == [] and after["pooled"] is None
    assert env.client.get("/api/v1/comparison", headers=env.h("m_owner")).status_code == 403
    actions = [e["action"] for e in env.client.get("/api/v1/audit?limit=1000", headers=env.h("m_admin"))
               .get_json()["events"]]
    assert actions.index("council.sharing_started") < actions.index("council.sharing_withdrawn")
    council_events = env.client.get("/api/v1/audit?limit=1000&object_type=council",
                                    headers=env.h("m_admin")).get_json()["events"]
    assert council_events and {e["object_id"] for e in council_events} == {str(two[3])}
    assert _patch(env, "admin", shares_aggregates=False).status_code == 200


def test_teams_side_by_side_from_an_aggregate_release(two):
    env, mine, _, _ = two
    body = env.client.get(f"/api/v1/releases/{mine['aggregate']}/teams", headers=env.h("dev")).get_json()
    assert body["release"] == mine["aggregate"] and len(body["teams"]) >= 2
    assert all("difference" in t for t in body["teams"])
    r = env.client.get(f"/api/v1/releases/{mine['release']}/teams", headers=env.h("dev"))
    assert r.status_code == 409  # synthetic: no real counts to compare teams by


def test_a_system_event_lands_in_its_councils_trail(two):
    env, _, theirs, other = two
    events = env.client.get(f"/api/v1/audit?limit=1000&object_id={theirs['dataset']}",
                            headers=env.h("m_admin")).get_json()["events"]
    assert "dataset.ingested" in {e["action"] for e in events}
    assert env.client.get(f"/api/v1/audit?limit=1000&object_id={theirs['dataset']}",
                          headers=env.h("admin")).get_json()["events"] == []


def _signed_in(env, name: str):
    client = web_client(env, name)
    return client, page_csrf(client)


def test_an_admin_opts_in_on_the_council_page_and_the_comparison_page_shows_both(two):
    env, mine, theirs, _ = two
    admin, csrf = _signed_in(env, "admin")
    page = admin.get("/council").get_data(as_text=True)
    assert "Default council" in page and "Share, and see theirs" in page
    r = admin.post("/council", data={"csrf_token": csrf, "population": "118,000", "shares_aggregates": "yes"})
    assert r.status_code == 302
    page = admin.get("/council").get_data(as_text=True)
    assert "118,000" in page and "Compare with the councils that share" in page
    m_admin, m_csrf = _signed_in(env, "m_admin")
    m_admin.post("/council", data={"csrf_token": m_csrf, "shares_aggregates": "yes"})
    owner, o_csrf = _signed_in(env, "owner")
    page = owner.get("/comparison").get_data(as_text=True)
    assert "Moorside" in page and "per 10,000 children a year" in page and "pts" in page
    refused = owner.post("/council", data={"csrf_token": o_csrf, "shares_aggregates": "no"}, follow_redirects=True)
    assert "may not do this" in refused.get_data(as_text=True)  # a data owner cannot change the settings
    assert "Moorside" in owner.get("/comparison").get_data(as_text=True)
    m_admin.post("/council", data={"csrf_token": m_csrf, "shares_aggregates": "no"})
    page = owner.get("/comparison").get_data(as_text=True)
    assert "Moorside" not in page and "No other council shares" in page
    admin.post("/council", data={"csrf_token": csrf, "shares_aggregates": "no"})
    assert owner.get("/comparison").status_code == 403
    teams = owner.get(f"/releases/{mine['aggregate']}/teams").get_data(as_text=True)
    assert "Whole council" in teams and "pts" in teams


def test_a_shared_aggregate_release_is_readable_by_sharing_councils_only_and_never_actionable(two, tmp_path):
    """While both share, the other council's staff can read a shared aggregate release's record and bundle
    (over real HTTP, as the viewer does, and it is titled with the council's name) and nothing else of it."""
    import threading

    from werkzeug.serving import make_server

    from synth.bundle import read_bundle
    from viewer.data import load_release
    from viewer.state import ViewerError, fetch_from_api

    env, mine, theirs, _ = two
    agg = mine["aggregate"]
    assert env.client.get(f"/api/v1/releases/{agg}", headers=env.h("m_owner")).status_code == 404
    for who in ("admin", "m_admin"):
        assert _patch(env, who, shares_aggregates=True).status_code == 200
    try:
        body = env.client.get(f"/api/v1/releases/{agg}", headers=env.h("m_rev1")).get_json()
        assert body["id"] == agg and "requester" not in body and "purpose" not in body
        assert env.client.get(f"/api/v1/releases/{agg}/files/map.json", headers=env.h("m_owner")).status_code == 200
        for path in (f"/api/v1/releases/{agg}/report", f"/api/v1/releases/{mine['release']}",
                     f"/api/v1/releases/{mine['release']}/bundle"):
            assert env.client.get(path, headers=env.h("m_admin")).status_code == 404, path
        assert env.client.get(f"/api/v1/releases/{agg}", headers=env.h("m_dev")).status_code == 404
        r = env.client.post(f"/api/v1/releases/{agg}/withdraw", headers=env.h("m_admin"), json={})
        assert r.status_code == 404
        server = make_server("127.0.0.1", 0, env.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            api = f"http://127.0.0.1:{server.server_port}/api/v1"
            paths = fetch_from_api(api, env.tokens["m_owner"], [theirs["release"], agg], tmp_path)
            titles = [load_release(read_bundle(p)).title for p in paths]
            assert titles[0].startswith("Moorside:") and titles[1].startswith("Default council:")
            assert _patch(env, "admin", shares_aggregates=False).status_code == 200
            with pytest.raises(ViewerError):  # withdrawn: gone at once
                fetch_from_api(api, env.tokens["m_owner"], [agg], tmp_path)
        finally:
            server.shutdown()
        read = [e for e in env.client.get("/api/v1/audit?limit=1000&action=release.bundle_read",
                                          headers=env.h("m_admin")).get_json()["events"] if e["object_id"] == agg]
        assert read and read[-1]["details"]["shared_by_council"] == 1
    finally:
        for who in ("admin", "m_admin"):
            _patch(env, who, shares_aggregates=False)
