"""Fault tests on PostgreSQL + RQ: a worker killed in the middle of a training or a release build. The job ends
failed once its heartbeat is stale (nobody has to notice), nothing half-made is visible or downloadable, and
the work can be done again on a fresh worker: the release by `retry`, the model by asking for it again."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from service.orm import Release, TrainedModel
from tests.service.conftest import PG_URL, REDIS_URL, close_env, make_env, published_release

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (PG_URL and REDIS_URL), reason=(
    "needs PostgreSQL and Redis (FRONTDOOR_TEST_DATABASE_URL, FRONTDOOR_TEST_REDIS_URL), as .ci/run sets"))]


@pytest.fixture(scope="module")
def rq(tmp_path_factory, council_file):
    env = make_env(tmp_path_factory.mktemp("faults"), "rq")
    env.store.cfg["JOB_STALE_SECONDS"] = 30  # the service's setting: a killed worker's job is judged after 30 s
    ids = published_release(env, council_file)
    yield env, ids
    close_env(env)


def _new_worker(env) -> subprocess.Popen:
    cfg = env.store.cfg
    worker_env = {**os.environ, "FRONTDOOR_DATA_DIR": cfg["DATA_DIR"], "FRONTDOOR_DATABASE_URL": cfg["DATABASE_URL"],
                  "FRONTDOOR_REDIS_URL": cfg["REDIS_URL"], "FRONTDOOR_PSEUDONYM_KEY": cfg["PSEUDONYM_KEY"],
                  "FRONTDOOR_QUEUE": cfg["QUEUE"]}
    return subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env=worker_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _running(env, job_id: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = env.client.get(f"/api/v1/jobs/{job_id}", headers=env.h("owner")).get_json()
        if job["status"] == "running" and job["progress"] > 0:
            return
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never ran")


def _kill_worker(env) -> None:
    """The worker and the work horse it forked for the job (RQ runs each job in a child), as a machine dying
    would: SIGKILL, no clean-up."""
    import psutil

    parent = psutil.Process(env.worker.pid)
    for proc in [*parent.children(recursive=True), parent]:
        proc.kill()
    env.worker.wait(timeout=30)
    env.worker = _new_worker(env)


def test_a_worker_killed_mid_release_leaves_nothing_and_the_release_can_be_retried(rq):
    env, ids = rq
    body = {"model_id": ids["model"], "profile": "default", "purpose": "tests", "recipients": "tests",
            "kind": "synthetic", "children": 900}
    r = env.client.post("/api/v1/releases", headers=env.h("owner"), json=body)
    assert r.status_code == 202
    rel, job_id = r.get_json()["release"]["id"], r.get_json()["job"]["id"]
    _running(env, job_id)
    _kill_worker(env)
    job = env.wait(job_id, timeout=180)
    assert job["status"] == "failed" and "no heartbeat" in job["error"], job
    state = env.client.get(f"/api/v1/releases/{rel}", headers=env.h("owner")).get_json()
    assert state["state"] == "failed", state
    assert not env.store.bundle_path(rel).exists()
    for what in ("bundle", "manifest"):
        assert env.client.get(f"/api/v1/releases/{rel}/{what}", headers=env.h("owner")).status_code in (404, 409)
    again = env.client.post(f"/api/v1/releases/{rel}/retry", headers=env.h("owner"))
    assert again.status_code == 202, again.get_json()
    assert env.wait(again.get_json()["job"]["id"], timeout=300)["status"] == "succeeded"
    with env.store.read() as s:
        assert env.store.get(s, Release, rel).state == "awaiting_review"


def test_a_worker_killed_mid_training_leaves_no_model_and_training_again_works(rq):
    env, ids = rq
    r = env.client.post("/api/v1/models", headers=env.h("owner"), json={"dataset_id": ids["dataset"]})
    assert r.status_code == 202
    model, job_id = r.get_json()["model"]["id"], r.get_json()["job"]["id"]
    _running(env, job_id)
    _kill_worker(env)
    job = env.wait(job_id, timeout=180)
    assert job["status"] == "failed" and "no heartbeat" in job["error"], job
    with env.store.read() as s:
        assert env.store.get(s, TrainedModel, model).status == "failed"
    assert not env.store.model_path(model).exists()
    refused = env.client.post("/api/v1/releases", headers=env.h("owner"), json={
        "model_id": model, "profile": "default", "purpose": "t", "recipients": "t", "children": 900})
    assert refused.status_code == 409
    r = env.client.post("/api/v1/models", headers=env.h("owner"), json={"dataset_id": ids["dataset"]})
    assert r.status_code == 202
    assert env.wait(r.get_json()["job"]["id"], timeout=300)["status"] == "succeeded"
