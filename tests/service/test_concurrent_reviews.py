"""Reviews at the same instant: two reviewers approving together make the release approved (each approval
counted once, neither lost), and one reviewer's double submission counts once. On PostgreSQL, without a
lock on the release, both approvals were counted as the first of two and the release stayed in review."""

from __future__ import annotations

import threading

import pytest

from service.orm import Release
from tests.factories import Stored
from tests.service.conftest import BACKENDS, close_env, make_env


@pytest.fixture(scope="module", params=BACKENDS)
def awaiting(request, tmp_path_factory):
    """A service per backend; each try gets its own release awaiting review (made directly, no build)."""
    env = make_env(tmp_path_factory.mktemp(f"reviews_{request.param}"), request.param)
    yield env, Stored(env.store)
    close_env(env)


def _request(env, stored) -> str:
    return stored.release("awaiting_review", env.users["owner"]).id


def _at_once(env, release_id: str, reviewers: list[str]) -> list[int]:
    """Each reviewer approves from a client of their own, all released at the same moment."""
    barrier = threading.Barrier(len(reviewers))
    codes = [0] * len(reviewers)

    def approve(i: int, name: str) -> None:
        client = env.app.test_client()
        barrier.wait()
        codes[i] = client.post(f"/api/v1/releases/{release_id}/reviews", headers=env.h(name),
                               json={"decision": "approve", "comment": "Judged every item to review."}).status_code

    threads = [threading.Thread(target=approve, args=(i, n)) for i, n in enumerate(reviewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return codes


def _approvals(env, release_id: str) -> tuple[str, int]:
    with env.store.read() as s:
        r = env.store.get(s, Release, release_id)
        return r.state, sum(1 for rv in r.reviews if rv.decision == "approve" and rv.release_version == r.version)


def test_two_reviewers_approving_at_once_make_it_approved(awaiting):
    env, stored = awaiting
    for _ in range(10):  # the race is a matter of timing: try it several times
        rel = _request(env, stored)
        assert _at_once(env, rel, ["rev1", "rev2"]) == [201, 201]
        assert _approvals(env, rel) == ("approved", 2)


def test_a_double_submission_counts_once(awaiting):
    env, stored = awaiting
    for _ in range(10):
        rel = _request(env, stored)
        codes = _at_once(env, rel, ["rev1", "rev1"])
        assert sorted(codes) == [201, 409], codes
        assert _approvals(env, rel) == ("awaiting_review", 1)
