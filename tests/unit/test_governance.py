"""Who may see or do what, state x action x actor, against service.governance.permissions directly.

Each expectation below is the rule written out again in plain terms (DESIGN.md section 7, the role table, the
state table); the test runs every release state, every role, requester or not, same council or another, and
fails on the first combination where the permission functions say otherwise. No database: the rules read only
the objects' fields (tests/factories.py makes them in memory), so the whole matrix runs in milliseconds.
"""

from __future__ import annotations

import itertools

import pytest

from service.governance import permissions as p
from service.governance.errors import NotAllowed, NotFound, WorkflowError
from service.governance.states import STATES, TRANSITIONS
from tests import factories as f

ROLES = ("data_owner", "reviewer", "developer", "admin")
OVERSEERS = {"reviewer", "admin"}  # see every release of their council, in every state, in full
HERE, ELSEWHERE = 1, 2


def expected(action: str, role: str, requester: bool, same_council: bool, state: str) -> bool:
    """The rule, written out."""
    if not same_council:
        return False  # another council's release does not exist for the user (sharing: tested below)
    sees = role in OVERSEERS or requester or state == "published"
    if action == "view":
        return sees
    if action == "read_report":  # and the request in full: those who decide on it
        return sees and (role in OVERSEERS or (requester and role == "data_owner"))
    if action == "download":  # no file leaves before publication, whoever asks
        return sees and state == "published"
    if action == "review":  # a reviewer, never the requester
        return role == "reviewer" and not requester and state == "awaiting_review"
    if action == "publish":
        return role == "data_owner" and requester and state == "approved"
    if action == "withdraw":
        return (role == "admin" or (role == "data_owner" and requester)) and state in ("approved", "published")
    if action == "amend":
        return role == "data_owner" and requester and state in ("returned", "awaiting_review")
    if action == "retry":  # a build that crashed (a gate that failed is never retried)
        return role == "data_owner" and requester and state == "failed"
    raise AssertionError(action)


ACTIONS = {
    "view": p.can_view_release, "read_report": p.can_read_report, "download": p.can_download,
    "review": p.can_review, "publish": p.can_publish, "withdraw": p.can_withdraw, "amend": p.can_amend,
    "retry": lambda u, r: p.can_retry(u, r, True),
}
CHECKS = {
    "view": p.check_view_release, "read_report": p.check_read_report, "download": p.check_download,
    "review": p.check_review, "publish": p.check_publish, "withdraw": p.check_withdraw, "amend": p.check_amend,
    "retry": lambda u, r: p.check_retry(u, r, True),
}
CASES = list(itertools.product(STATES, ROLES, (True, False), (True, False)))


def _actor_and_release(state: str, role: str, requester: bool, same_council: bool):
    """A user of `role` and a release in `state`: requested by them or by another data owner, of their council
    or of another (a requester's own release moved to another council is not theirs to see either)."""
    actor = f.user(role, council_id=HERE)
    r = f.release(state, requester=actor if requester else f.user("data_owner", council_id=HERE),
                  council_id=HERE if same_council else ELSEWHERE)
    return actor, r


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_state_role_and_actor(action):
    wrong = []
    for state, role, requester, same_council in CASES:
        actor, r = _actor_and_release(state, role, requester, same_council)
        assert p.in_council(actor, r) == same_council
        got = ACTIONS[action](actor, r)
        if got != expected(action, role, requester, same_council, state):
            wrong.append((state, role, "requester" if requester else "other", "same" if same_council else "other"))
    assert not wrong, f"{action}: permissions disagree with the rule for {wrong}"


@pytest.mark.parametrize("action", list(CHECKS))
def test_check_refuses_exactly_when_can_says_no_and_another_council_gets_404(action):
    for state, role, requester, same_council in CASES:
        actor, r = _actor_and_release(state, role, requester, same_council)
        try:
            CHECKS[action](actor, r)
            refused = None
        except WorkflowError as exc:
            refused = exc
        assert (refused is None) == ACTIONS[action](actor, r)
        if not same_council and not p.allowed(role, {"review": "release:review", "publish": "release:publish",
                                                     "withdraw": "release:withdraw", "amend": "release:amend",
                                                     "retry": "release:amend"}.get(action, "release:read")):
            assert isinstance(refused, NotAllowed)  # the role gate comes first, before anything is looked up
        elif not same_council:
            assert isinstance(refused, NotFound), (action, state, role, requester)


def test_a_requester_can_never_review_their_own_release_whatever_their_role():
    """The rule on its own: a reviewer who requested the release passes the role check, sees the release and
    finds it awaiting review, so only the requester rule can refuse them."""
    rita = f.user("reviewer")
    mine = f.release("awaiting_review", requester=rita)
    assert p.can_review(f.user("reviewer"), mine)  # another reviewer may
    assert not p.can_review(rita, mine)
    with pytest.raises(WorkflowError, match="you requested this release, so you cannot review it") as exc:
        p.check_review(rita, mine)
    assert isinstance(exc.value, NotAllowed)


def test_one_review_per_reviewer_per_version():
    rev = f.user("reviewer")
    r = f.release("awaiting_review")
    f.review(r, rev, version=1)
    assert not p.can_review(rev, r)
    r.version = 2  # the request changed: approvals so far no longer count, and each reviewer decides again
    assert p.can_review(rev, r)


def test_a_retry_is_for_a_build_that_crashed_not_for_a_gate_that_failed():
    owner = f.user("data_owner")
    r = f.release("failed", requester=owner)
    assert p.can_retry(owner, r, build_crashed=True)
    with pytest.raises(WorkflowError, match="request a new release instead"):
        p.check_retry(owner, r, build_crashed=False)


def test_every_transition_a_person_makes_has_a_permission_and_system_ones_are_for_jobs_only():
    person_actions = {t.action for t in TRANSITIONS if t.actors != {"system"}}
    checked = {"submit"} | {"approve", "approve_final", "return", "reject"} | set(ACTIONS)  # submit: request_release
    assert person_actions <= checked, person_actions - checked
    for t in TRANSITIONS:
        r = f.release(t.source)
        if t.actors == {"system"}:
            p.check_transition(None, r, t.action)
            for role in ROLES:
                with pytest.raises(WorkflowError):
                    p.check_transition(f.user(role), r, t.action)
        else:
            with pytest.raises(WorkflowError):
                p.check_transition(None, r, t.action)


def test_a_shared_aggregate_release_is_seen_and_downloaded_from_another_sharing_council_only():
    class Council:
        def __init__(self, shares):
            self.shares_aggregates = shares

    theirs = f.release("published", requester=f.user("data_owner", council_id=ELSEWHERE), kind="aggregate")
    for role in ROLES:
        me = f.user(role, council_id=HERE)
        both = (Council(True), Council(True))
        may_compare = role != "developer"
        assert p.can_view_release(me, theirs, both) == may_compare
        assert p.can_download(me, theirs, both) == may_compare
        assert not p.can_read_report(me, theirs)  # never another council's report or request
        assert not p.can_view_release(me, theirs)  # without the councils' sharing: not there
        assert not p.can_view_release(me, theirs, (Council(True), Council(False)))
        assert not p.can_view_release(me, theirs, (Council(False), Council(True)))
    synthetic = f.release("published", requester=f.user("data_owner", council_id=ELSEWHERE))
    assert not p.can_view_release(f.user("reviewer"), synthetic, (Council(True), Council(True)))


# -- datasets, models, jobs ----------------------------------------------------------------------
@pytest.mark.parametrize("status", ["ingesting", "ready", "failed", "deleted"])
def test_datasets_are_seen_by_their_owner_and_admins_and_deleted_when_nothing_rests_on_them(status):
    for role, owns, same_council in itertools.product(ROLES, (True, False), (True, False)):
        actor = f.user(role)
        ds = f.dataset(actor if owns else f.user("data_owner"), status, council_id=HERE if same_council else ELSEWHERE)
        sees = same_council and status != "deleted" and (role == "admin" or (role == "data_owner" and owns))
        assert p.can_view_dataset(actor, ds) == sees, (role, owns, same_council, status)
        assert p.can_delete_dataset(actor, ds) == (sees and status != "ingesting"), (role, owns, status)
        assert p.can_train(actor, ds) == (sees and role == "data_owner" and status == "ready")
    owner = f.user("data_owner")
    ds = f.dataset(owner)
    assert not p.can_delete_dataset(owner, ds, models=[f.model(owner, "training")])
    for state in STATES:
        kept = state in p.RELEASES_KEEPING_A_DATASET
        assert p.can_delete_dataset(owner, ds, releases=[f.release(state, owner)]) == (not kept), state


def test_models_are_seen_by_their_owner_reviewers_and_admins():
    for role, owns, same_council, status in itertools.product(ROLES, (True, False), (True, False),
                                                              ("training", "ready", "failed")):
        actor = f.user(role)
        m = f.model(actor if owns else f.user("data_owner"), status, council_id=HERE if same_council else ELSEWHERE)
        sees = same_council and (role in OVERSEERS or (role == "data_owner" and owns))
        assert p.can_view_model(actor, m) == sees, (role, owns, same_council)
        assert p.can_request_release(actor, m) == (sees and role == "data_owner" and status == "ready")


def test_a_job_is_seen_by_its_creator_and_by_those_who_see_every_object_of_its_kind():
    """Settled (issue 16): reviewers see release builds and trainings, as they see every release and model,
    but not a dataset's ingest, whose dataset they may not open."""
    for target, role, created, same_council in itertools.product(("dataset", "model", "release"), ROLES,
                                                                 (True, False), (True, False)):
        actor = f.user(role)
        j = f.job(actor if created else f.user("data_owner"), target, council_id=HERE if same_council else ELSEWHERE)
        sees_all = role == "admin" or (role == "reviewer" and target != "dataset")
        want = same_council and role != "developer" and (created or sees_all)
        assert p.can_view_job(actor, j) == want, (target, role, created, same_council)
    with pytest.raises(NotFound, match="no job"):
        p.check_view_job(f.user("reviewer"), f.job(f.user("data_owner"), "dataset"))


def test_listing_scopes_match_the_object_rules():
    assert p.release_scope(f.user("reviewer")) == (None, False)
    assert p.release_scope(f.user("data_owner")) == (p.PUBLIC_STATES, True)
    assert p.release_scope(f.user("developer")) == (p.PUBLIC_STATES, False)
    assert [p.sees_public_releases_only(f.user(r)) for r in ROLES] == [False, False, True, False]
    assert [p.sees_every(f.user(r), "dataset") for r in ROLES] == [False, False, False, True]
    assert [p.sees_every(f.user(r), "model") for r in ROLES] == [False, True, False, True]
    assert p.menu(f.user("developer")) == {"datasets": False, "reviews": False, "audit": False, "users": False,
                                           "council": False}
    assert p.menu(f.user("admin")) == {"datasets": True, "reviews": False, "audit": True, "users": True,
                                       "council": True}
