"""One rule, one answer (issue 16): the API, the pages and the templates ask service.governance.permissions, so
they agree. Releases and jobs are made in any state directly in the store (tests/factories.py), no training."""

from __future__ import annotations

import json

import pytest

from service import audit
from service.governance import permissions
from service.orm import Release, User
from tests.factories import Stored
from tests.service.conftest import assert_error_shape, close_env, make_env, page_csrf, web_client

PEOPLE = ("owner", "owner2", "rev1", "dev", "admin")
MINIMAL_REPORT = {"verdict": "pass", "counts": {"pass": 0, "review": 0, "fail": 0}, "checks": [],
                  "threshold_set": {"name": "default", "version": "1"}}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = make_env(tmp_path_factory.mktemp("one_rule"), "sqlite")
    yield e
    close_env(e)


def _user(env, name):
    with env.store.read() as s:
        return s.get(User, env.users[name])


def _release(env, rid):
    with env.store.read() as s:
        r = env.store.get(s, Release, rid)
        _ = list(r.reviews)
        return r


def test_a_reviewer_who_requested_a_release_cannot_review_it_through_the_api_or_the_pages(env):
    """Not refused by the role check first: the requester holds the reviewer role, sees the release and finds
    it awaiting review, so only the requester rule stands between them and an approval."""
    stored = Stored(env.store)
    rita, token = stored.user("rita-requester", "reviewer")
    env.tokens["rita-requester"], env.users["rita-requester"] = token, rita.id
    rel = stored.release("awaiting_review", rita.id).id
    body = {"decision": "approve", "comment": "Judged the items to review."}
    refused = assert_error_shape(env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h("rita-requester"),
                                                 json=body), 403)
    assert "you requested this release" in refused["error"]
    page = web_client(env, "rita-requester")
    assert 'id="review-form"' not in page.get(f"/releases/{rel}").get_data(as_text=True)
    resp = page.post(f"/releases/{rel}/review", data={**body, "csrf_token": page_csrf(page)})
    assert resp.status_code == 403 and "you requested this release" in resp.get_data(as_text=True)
    assert _release(env, rel).reviews == []
    # Another reviewer may (the case is real: the refusal above is the rule, not a broken release).
    other = web_client(env, "rev1")
    assert 'id="review-form"' in other.get(f"/releases/{rel}").get_data(as_text=True)
    assert env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h("rev1"), json=body).status_code == 201


def test_a_job_is_seen_alike_through_the_api_and_its_page(env):
    """Settled: a job is seen by its creator and by those who see every object of its target's kind, on both
    ways in; a reviewer no longer gets a dataset's ingest job from the API that its page (the dataset) refuses."""
    stored = Stored(env.store)
    jobs = {kind: stored.job(env.users["owner"], kind) for kind in ("dataset", "model", "release")}
    seen = {}
    for name in PEOPLE:
        client = web_client(env, name)
        for kind, job in jobs.items():
            api = env.client.get(f"/api/v1/jobs/{job.id}", headers=env.h(name)).status_code
            page = client.get(f"/jobs/{job.id}").status_code
            assert api == page or (api == 403 and page == 403), (name, kind, api, page)
            seen[name, kind] = api == 200
            assert seen[name, kind] == permissions.can_view_job(_user(env, name), job)
    assert not seen["rev1", "dataset"] and seen["rev1", "model"] and seen["rev1", "release"]
    assert all(seen["admin", k] for k in jobs) and all(seen["owner", k] for k in jobs)
    assert not any(seen[n, k] for n in ("owner2", "dev") for k in jobs)


def test_every_read_of_a_disclosure_report_is_one_audit_action(env):
    """Settled: the API's JSON and HTML, the release page's findings and the report page were audited as
    release.report_json_read, release.report_html_read and release.report_viewed; now release.report_read,
    saying in what form and through what."""
    rel = Stored(env.store).release("awaiting_review", env.users["owner"]).id
    env.store.release_dir(rel).mkdir(parents=True, exist_ok=True)
    env.store.report_path(rel, "json").write_text(json.dumps(MINIMAL_REPORT))
    env.store.report_path(rel, "html").write_text("<p>report</p>")
    page = web_client(env, "rev1")
    assert env.client.get(f"/api/v1/releases/{rel}/report?format=json", headers=env.h("rev1")).status_code == 200
    assert env.client.get(f"/api/v1/releases/{rel}/report", headers=env.h("rev1")).status_code == 200
    assert page.get(f"/releases/{rel}").status_code == 200
    assert page.get(f"/releases/{rel}/report.html").status_code == 200
    assert env.client.get(f"/api/v1/releases/{rel}/report", headers=env.h("owner2")).status_code == 404
    with env.store.read() as s:
        reads = [(e.action, e.details) for e in env.store.audit_events(s, 1, object_type="release", object_id=rel)
                 if "report" in e.action]
    assert reads == [("release.report_read", {"format": "json", "via": "api"}),
                     ("release.report_read", {"format": "html", "via": "api"}),
                     ("release.report_read", {"format": "page", "via": "web"}),
                     ("release.report_read", {"format": "html", "via": "web"})]


FORMS = {  # what the release page offers -> the permission that decides it
    "review": ('id="review-form"', permissions.can_review),
    "publish": ('id="publish"', permissions.can_publish),
    "withdraw": ("Withdraw the release", permissions.can_withdraw),
    "download": ("Download the release bundle", permissions.can_download),
    "request in full": ("Requested by", permissions.can_read_report),
    "change": ("Change the request", lambda u, r: r.state == "returned" and permissions.can_amend(u, r)),
    "retry": ('id="retry"', lambda u, r: permissions.can_retry(u, r, True)),
}


@pytest.mark.parametrize("state", ["awaiting_review", "returned", "approved", "published", "withdrawn", "failed",
                                   "rejected"])
def test_the_release_page_offers_exactly_what_the_rules_allow(env, state):
    rid = Stored(env.store).release(state, env.users["owner"]).id
    if state == "failed":  # its build crashed, so its requester may run it again
        with env.store.write() as s:
            audit.record(env.store, s, None, "release.build_failed", "release", rid, {}, council_id=1)
    r = _release(env, rid)
    for name in PEOPLE:
        u = _user(env, name)
        resp = web_client(env, name).get(f"/releases/{rid}")
        if not permissions.can_view_release(u, r):
            assert resp.status_code == 404, (name, state)
            continue
        html = resp.get_data(as_text=True)
        for what, (marker, rule) in FORMS.items():
            assert (marker in html) == rule(u, r), (state, name, what)
