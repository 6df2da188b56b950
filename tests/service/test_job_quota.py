"""A user may have only a few jobs queued or running at once: one account cannot fill the queue (a security
review sent 274 release requests in 2.5 minutes). A refused request keeps nothing."""

from __future__ import annotations

from service.orm import Dataset, Job
from service.store import new_id
from tests.service.conftest import assert_error_shape, upload


def _backlog(env, user: str, n: int, status: str = "queued") -> list[str]:
    """Jobs of `user` waiting behind a busy worker (rows as the queue holds them)."""
    ids = []
    with env.store.write() as s:
        for _ in range(n):
            job = Job(id=new_id(), council_id=1, kind="ingest", target_type="dataset", target_id=new_id(),
                      created_by=env.users[user], backend="inprocess", status=status)
            s.add(job)
            ids.append(job.id)
    return ids


def _finish(env, ids: list[str]) -> None:
    with env.store.write() as s:
        for job_id in ids:
            env.store.get(s, Job, job_id).status = "succeeded"


def test_a_fourth_job_at_once_is_refused_and_keeps_nothing(fresh, council_file):
    env = fresh
    backlog = _backlog(env, "owner", 2) + _backlog(env, "owner", 1, "running")
    before = sorted(p.name for p in (env.data_dir / "uploads").iterdir())
    body = assert_error_shape(upload(env, council_file), 429)
    assert "3 jobs queued or running" in body["error"]
    with env.store.read() as s:
        assert s.query(Dataset).count() == 0
    assert sorted(p.name for p in (env.data_dir / "uploads").iterdir()) == before
    assert list((env.data_dir / "tmp").iterdir()) == []
    # Another user is not held up by this one's queue.
    assert upload(env, council_file, as_user="owner2").status_code == 202
    _finish(env, backlog[:1])
    r = upload(env, council_file)
    assert r.status_code == 202, r.get_json()
    env.wait(r.get_json()["job"]["id"])
