"""Service fixtures: an app per backend (SQLite + in-process jobs always; PostgreSQL and RQ + Redis
when FRONTDOOR_TEST_DATABASE_URL / FRONTDOOR_TEST_REDIS_URL are set, as .ci/run does), users of
every role, and a council taken through the workflow to a published release."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from service import create_app

PG_URL = os.environ.get("FRONTDOOR_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("FRONTDOOR_TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else []) + (["rq"] if REDIS_URL and PG_URL else [])
ROLES = ("data_owner", "reviewer", "developer", "admin")


def _fresh_postgres() -> str:
    """A new, empty database on the test server (one per app, so parallel tests never share)."""
    import psycopg

    name = f"frontdoor_test_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@dataclass
class Env:
    app: object
    client: object
    tokens: dict
    users: dict
    data_dir: Path
    backend: str
    worker: subprocess.Popen | None = None

    def h(self, name: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    @property
    def store(self):
        return self.app.extensions["frontdoor"].store

    def wait(self, job_id: str, as_user: str = "owner", timeout: float = 240) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.client.get(f"/api/v1/jobs/{job_id}", headers=self.h(as_user)).get_json()
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} did not finish: {job}")


def make_env(tmp_path: Path, backend: str) -> Env:
    cfg = {"DATA_DIR": str(tmp_path / "data"), "PSEUDONYM_KEY": "p" * 40, "TESTING": True, "JOB_WORKERS": 2}
    worker = None
    if backend in ("postgres", "rq"):
        cfg["DATABASE_URL"] = _fresh_postgres()
    if backend == "rq":
        cfg["REDIS_URL"] = REDIS_URL
        cfg["QUEUE"] = f"frontdoor-test-{uuid.uuid4().hex[:8]}"  # parallel test services never share a queue
    app = create_app(cfg)
    if backend == "rq":
        env = {**os.environ, "FRONTDOOR_DATA_DIR": cfg["DATA_DIR"], "FRONTDOOR_DATABASE_URL": cfg["DATABASE_URL"],
               "FRONTDOOR_REDIS_URL": REDIS_URL, "FRONTDOOR_PSEUDONYM_KEY": cfg["PSEUDONYM_KEY"],
               "FRONTDOOR_QUEUE": cfg["QUEUE"]}
        worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = app.extensions["frontdoor"].store
    tokens, users = {}, {}
    with store.write() as s:
        for name, role in (("owner", "data_owner"), ("owner2", "data_owner"), ("rev1", "reviewer"),
                           ("rev2", "reviewer"), ("rev3", "reviewer"), ("dev", "developer"), ("admin", "admin")):
            user, token = store.add_user(s, name, role)
            tokens[name], users[name] = token, user.id
    return Env(app, app.test_client(), tokens, users, Path(cfg["DATA_DIR"]), backend, worker)


def close_env(env: Env) -> None:
    if env.worker is not None:
        env.worker.terminate()  # a warm shutdown waits for the job in hand; do not wait for long
        try:
            env.worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            env.worker.kill()
            env.worker.wait(timeout=10)
    runner = env.app.extensions["frontdoor"].runner
    runner.shutdown()
    env.store.dispose()


@pytest.fixture(scope="session")
def council_file(tmp_path_factory) -> Path:
    from tests.conftest import Cli

    out = tmp_path_factory.mktemp("svc_council")
    assert Cli()("fixtures", "--children", "900", "--seed", "21", "--out", out).exit_code == 0
    return out / "annex_a.xlsx"


def upload(env: Env, path: Path, as_user: str = "owner", name: str = "Test council"):
    with open(path, "rb") as f:
        return env.client.post("/api/v1/datasets", headers=env.h(as_user), data={"name": name, "file": (f, path.name)},
                               content_type="multipart/form-data")


def published_release(env: Env, council_file: Path, children: int = 900, owner: str = "owner",
                      reviewers: tuple[str, str] = ("rev1", "rev2"), kind: str = "synthetic",
                      model: str | None = None) -> dict:
    """Upload, train, request (`children` synthetic children, or an aggregate release), two approvals, publish:
    the ids along the way. With `model`, request from that model instead of uploading and training."""
    ds = None
    if model is None:
        r = upload(env, council_file, as_user=owner)
        assert r.status_code == 202, r.get_json()
        ds = r.get_json()["dataset"]["id"]
        job = env.wait(r.get_json()["job"]["id"], as_user=owner)
        assert job["status"] == "succeeded", job
        r = env.client.post("/api/v1/models", headers=env.h(owner), json={"dataset_id": ds})
        assert r.status_code == 202, r.get_json()
        model = r.get_json()["model"]["id"]
        job = env.wait(r.get_json()["job"]["id"], as_user=owner)
        assert job["status"] == "succeeded", job
    body = {"model_id": model, "profile": "default", "purpose": "tests", "recipients": "the test suite", "kind": kind}
    if kind == "synthetic":
        body["children"] = children
    r = env.client.post("/api/v1/releases", headers=env.h(owner), json=body)
    assert r.status_code == 202, r.get_json()
    rel = r.get_json()["release"]["id"]
    job = env.wait(r.get_json()["job"]["id"], as_user=owner)
    assert job["status"] == "succeeded", job
    state = env.client.get(f"/api/v1/releases/{rel}", headers=env.h(owner)).get_json()
    assert state["state"] == "awaiting_review", state
    for reviewer in reviewers:
        r = env.client.post(f"/api/v1/releases/{rel}/reviews", headers=env.h(reviewer), json={"decision": "approve", "comment": "Judged the items to review."})
        assert r.status_code == 201, r.get_json()
    r = env.client.post(f"/api/v1/releases/{rel}/publish", headers=env.h(owner))
    assert r.status_code == 200 and r.get_json()["state"] == "published"
    return {"dataset": ds, "model": model, "release": rel, "job": job["id"]}


def add_council(env: Env, code: str, name: str, prefix: str, population: int | None = None) -> int:
    """A second council in the same service, with a user of every role named `prefix` + owner, rev1, rev2, dev,
    admin (tokens in env.tokens). Returns its id."""
    with env.store.write() as s:
        council = env.store.add_council(s, code, name, population)
        for suffix, role in (("owner", "data_owner"), ("rev1", "reviewer"), ("rev2", "reviewer"),
                             ("dev", "developer"), ("admin", "admin")):
            user, token = env.store.add_user(s, prefix + suffix, role, council.id)
            env.tokens[prefix + suffix], env.users[prefix + suffix] = token, user.id
        return council.id


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory, council_file):
    """A service with one release published, per backend; shared by the tests of a module."""
    env = make_env(tmp_path_factory.mktemp(f"svc_{request.param}"), request.param)
    ids = published_release(env, council_file)
    yield env, ids
    close_env(env)


@pytest.fixture(scope="session")
def built(request, tmp_path_factory):
    """The real pipeline, once per test run: the fake council uploaded, ingested and trained on, a synthetic
    release of it and then an aggregate one built, approved twice and published (SQLite, in-process jobs).
    tests.factories.Stored copies its files into the service a test runs, so tests that only need "a published
    release" serve real bundles and reports without building their own. Under xdist the first worker to ask
    builds it and the others wait for it and read what it wrote (a lock on the run's shared temporary folder)."""
    import fcntl

    from tests.factories import Built

    def build(where: Path) -> Built:
        env = make_env(where, "sqlite")
        try:
            council = request.getfixturevalue("council_file")
            ids = published_release(env, council)
            agg = published_release(env, council, kind="aggregate", model=ids["model"])
            return Built.of(env.store, ids["dataset"], [ids["release"], agg["release"]])
        finally:
            close_env(env)

    if not hasattr(request.config, "workerinput"):  # not under xdist
        return build(tmp_path_factory.mktemp("built"))
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "built.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "built.json"
        if saved.exists():
            return Built.load(saved)
        b = build(tmp_path_factory.mktemp("built"))
        b.save(saved)
        return b


@pytest.fixture
def fresh(tmp_path):
    """A service of its own (SQLite, in-process jobs) for tests that change things."""
    env = make_env(tmp_path, "sqlite")
    yield env
    close_env(env)


def assert_error_shape(resp, status: int) -> dict:
    body = resp.get_json()
    assert resp.status_code == status, body
    assert body["ok"] is False and body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert set(body) <= {"ok", "status", "error", "errors"}
    return body


def web_client(env: Env, name: str):
    """A browser-like client signed in to the pages as `name`."""
    import re

    client = env.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"csrf_token": csrf, "token": env.tokens[name]}).status_code == 302
    return client


def page_csrf(client) -> str:
    """The form token of a signed-in client's session (signing in starts a new one)."""
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/releases").get_data(as_text=True)).group(1)
