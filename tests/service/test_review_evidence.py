"""Reviewers see the evidence before they decide (issue 18.4): the release page names every check that needs
judgement, with what it protects against and what to look for, before the decision form; approving a release
with such items needs a comment (API and pages); viewing the page is one audit row."""

from __future__ import annotations

import json
import re

import pytest

from synth.disclosure.guidance import GUIDANCE, UNKNOWN
from tests.factories import Stored
from tests.service.conftest import assert_error_shape, close_env, make_env, page_csrf, web_client


@pytest.fixture(scope="module")
def review_env(tmp_path_factory, built):
    """A service with one release of owner's awaiting review whose report has items to review: rows written by
    tests.factories.Stored, carrying the built release's real disclosure reports (the gate's real verdicts:
    if a change of the model ever lets every check pass, one real check is marked review in this service's
    copy of the report and in the release, so that the rules below still have their case)."""
    env = make_env(tmp_path_factory.mktemp("review_evidence"), "sqlite")
    rel = Stored(env.store).release("awaiting_review", env.users["owner"], built=built).id
    path = env.store.report_path(rel, "json")
    report = json.loads(path.read_text())
    if not any(c["status"] == "review" for c in report["checks"]):
        report["checks"][0]["status"], report["verdict"] = "review", "review"
        report["counts"] = {s: sum(c["status"] == s for c in report["checks"]) for s in ("pass", "review", "fail")}
        path.write_text(json.dumps(report))
        from service.orm import Release

        with env.store.write() as s:
            env.store.get(s, Release, rel).verdict = "review"
    assert env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()["state"] == "awaiting_review"
    yield env, rel, report
    close_env(env)


def review_titles(report: dict) -> list[str]:
    return [c["title"] for c in report["checks"] if c["status"] == "review"]


def test_every_check_of_a_real_report_carries_guidance(review_env):
    _, _, report = review_env
    for c in report["checks"]:
        g = c["guidance"]
        assert g == GUIDANCE[c["name"]] and g != UNKNOWN, c["name"]
        assert g["protects_against"].strip() and g["look_for"].strip()


def test_guidance_names_no_figure_of_a_release():
    """The same text for every report: no digits that could be taken for a release's figures."""
    for name, g in GUIDANCE.items():
        assert not re.search(r"\d", g["protects_against"] + g["look_for"]), name


def test_the_page_names_each_review_item_with_its_guidance_before_the_decision_form(review_env):
    env, rel, report = review_env
    page = web_client(env, "rev1").get(f"/releases/{rel}").get_data(as_text=True)
    form_at = page.index('id="review-form"')
    assert "<iframe" not in page
    for c in report["checks"]:
        if c["status"] != "review":
            continue
        item = page.index(f'id="review-{c["name"]}"')
        assert item < form_at, c["name"]
        block = page[item:page.index("</li>", item)]
        assert c["title"] in block
        for text in (c["guidance"]["protects_against"], c["guidance"]["look_for"]):
            assert text.replace("'", "&#39;") in block
    assert page.index('id="findings"') < page.index("<h2>The request</h2>")


def test_approving_a_release_with_review_items_needs_a_comment_in_the_api(review_env):
    env, rel, report = review_env
    url = f"/api/v1/releases/{rel}/reviews"
    for comment in (None, "", "   \n"):
        body = {"decision": "approve"} | ({} if comment is None else {"comment": comment})
        err = assert_error_shape(env.client.post(url, headers=env.h("rev2"), json=body), 422)
        assert "comment" in err["error"] and all(t in err["error"] for t in review_titles(report)), err
    state = env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()
    assert state["approvals"] == 0 and state["reviews"] == []


def test_approving_a_release_with_review_items_needs_a_comment_on_the_pages(review_env):
    env, rel, report = review_env
    client = web_client(env, "rev3")
    resp = client.post(f"/releases/{rel}/review", data={"csrf_token": page_csrf(client), "decision": "approve",
                                                        "comment": " "})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "judgement" in page and 'id="review-form"' in page
    assert env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()["approvals"] == 0


def test_viewing_the_release_page_is_one_audit_row(review_env):
    env, rel, _ = review_env
    client = web_client(env, "rev1")
    with env.store.read() as s:
        before = len(env.store.audit_events(s, 1, object_type="release", object_id=rel))
    assert client.get(f"/releases/{rel}").status_code == 200
    with env.store.read() as s:
        after = env.store.audit_events(s, 1, object_type="release", object_id=rel)
    assert [e.action for e in after[before:]] == ["release.report_read"]
    assert after[-1].details == {"format": "page", "via": "web"}


def test_a_comment_lets_the_approval_through(review_env):
    env, rel, _ = review_env
    r = env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h("rev1"),
                        json={"decision": "approve", "comment": "Both anonymeter risks are undetermined for want of "
                                                                "attacks; the record checks pass. Accepted."})
    assert r.status_code == 201 and r.get_json()["approvals"] == 1, r.get_json()
