"""`frontdoor serve` without Redis runs jobs in a local job process of their own, not in the web workers:
a real gunicorn over HTTP, a real job process; killed, it is started again and the job it held ends failed
(and can be retried) rather than staying `running`; stopping the service stops it too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.viewer.conftest import free_port


def _cli(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _cmdline(p: psutil.Process) -> list[str]:
    """A live process's command line; none for one that has ended (a killed job process is a zombie until the
    supervisor reaps it)."""
    try:
        return [] if p.status() == psutil.STATUS_ZOMBIE else p.cmdline()
    except psutil.Error:
        return []


def _job_processes(serve: psutil.Process) -> list[psutil.Process]:
    return [p for p in serve.children(recursive=True) if "--local" in _cmdline(p) and "worker" in _cmdline(p)]


def _web_workers(serve: psutil.Process) -> list[psutil.Process]:
    return [p for p in serve.children(recursive=True) if _cmdline(p) and "worker" not in _cmdline(p)]


def _wait_job(base: str, headers: dict, job_id: str, timeout: float = 180) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = requests.get(f"{base}/jobs/{job_id}", headers=headers, timeout=30).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end: {job}")


def _until(predicate, timeout: float = 30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
def service(tmp_path):
    port = free_port()
    env = {**os.environ, "FRONTDOOR_DATA_DIR": str(tmp_path / "data"), "FRONTDOOR_PSEUDONYM_KEY": "k" * 40,
           "FRONTDOOR_JOB_STALE_SECONDS": "30"}
    for k in ("FRONTDOOR_REDIS_URL", "FRONTDOOR_DATABASE_URL", "DATABASE_URL", "FRONTDOOR_JOB_BACKEND"):
        env.pop(k, None)
    token = _cli(env, "users", "add", "owner", "--role", "data_owner").strip().splitlines()[-1]
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    _until(lambda: _ok(f"{base}/health"), timeout=90)
    yield base, {"Authorization": f"Bearer {token}"}, psutil.Process(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _upload(base: str, headers: dict, path: Path) -> dict:
    with open(path, "rb") as f:
        r = requests.post(f"{base}/datasets", headers=headers, data={"name": "Council"},
                          files={"file": (path.name, f)}, timeout=60)
    assert r.status_code == 202, r.text
    return r.json()


@pytest.mark.slow
def test_jobs_run_in_the_job_process_not_in_the_web_workers(service, council_file):
    base, headers, serve = service
    (job_process,) = _until(lambda: _job_processes(serve))
    web = _web_workers(serve)
    assert len(web) == 2
    body = _upload(base, headers, council_file)
    ds = body["dataset"]["id"]
    assert _wait_job(base, headers, body["job"]["id"])["status"] == "succeeded"
    web_cpu = sum(p.cpu_times().user + p.cpu_times().system for p in web)
    job_cpu = job_process.cpu_times().user + job_process.cpu_times().system
    r = requests.post(f"{base}/models", headers=headers, json={"dataset_id": ds}, timeout=60)
    assert r.status_code == 202, r.text
    assert _wait_job(base, headers, r.json()["job"]["id"])["status"] == "succeeded"
    web_used = sum(p.cpu_times().user + p.cpu_times().system for p in web) - web_cpu
    job_used = job_process.cpu_times().user + job_process.cpu_times().system - job_cpu
    assert job_used > 1.0 and web_used < job_used / 3, (job_used, web_used)


@pytest.mark.slow
def test_a_killed_job_process_is_started_again_and_its_job_ends_failed(service, council_file):
    base, headers, serve = service
    (first,) = _until(lambda: _job_processes(serve))
    ds = _upload(base, headers, council_file)
    job_id = ds["job"]["id"]
    _until(lambda: requests.get(f"{base}/jobs/{job_id}", headers=headers, timeout=30).json()["status"] == "running",
           timeout=60)
    first.kill()
    second = _until(lambda: [p for p in _job_processes(serve) if p.pid != first.pid], timeout=30)[0]
    job = _wait_job(base, headers, job_id, timeout=180)  # stale after 30 s without a heartbeat
    assert job["status"] == "failed" and "no heartbeat" in job["error"], job
    # The new job process runs the next job.
    again = _upload(base, headers, council_file)
    assert _wait_job(base, headers, again["job"]["id"])["status"] == "succeeded"
    assert second.is_running()


@pytest.mark.slow
def test_stopping_the_service_stops_its_job_process(service):
    _, _, serve = service
    (job_process,) = _until(lambda: _job_processes(serve))
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=60)
    job_process.wait(timeout=60)
    assert not job_process.is_running()


@pytest.mark.slow
def test_a_service_killed_mid_job_fails_that_job_after_its_restart(tmp_path, council_file):
    """The whole service (gunicorn and its job process) killed, as a machine dying would, then started again:
    the job it was running ends failed by itself (no one polls it), and the same upload can be made again."""
    port = free_port()
    env = {**os.environ, "FRONTDOOR_DATA_DIR": str(tmp_path / "data"), "FRONTDOOR_PSEUDONYM_KEY": "k" * 40,
           "FRONTDOOR_JOB_STALE_SECONDS": "30"}
    for k in ("FRONTDOOR_REDIS_URL", "FRONTDOOR_DATABASE_URL", "DATABASE_URL", "FRONTDOOR_JOB_BACKEND"):
        env.pop(k, None)
    token = _cli(env, "users", "add", "owner", "--role", "data_owner").strip().splitlines()[-1]
    headers, base = {"Authorization": f"Bearer {token}"}, f"http://127.0.0.1:{port}/api/v1"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _until(lambda: _ok(f"{base}/health"), timeout=90)
        return proc

    first = start()
    job_id = _upload(base, headers, council_file)["job"]["id"]
    _until(lambda: requests.get(f"{base}/jobs/{job_id}", headers=headers, timeout=30).json()["status"] == "running",
           timeout=60)
    tree = psutil.Process(first.pid)
    for proc in [*tree.children(recursive=True), tree]:
        proc.kill()
    first.wait(timeout=30)
    second = start()
    try:
        deadline = time.time() + 150  # stale after 30 s; the job process looks every minute
        while time.time() < deadline:
            with __import__("sqlite3").connect(tmp_path / "data" / "frontdoor.db") as db:
                status, error = db.execute("SELECT status, error FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if status != "running":
                break
            time.sleep(1)
        assert status == "failed" and "no heartbeat" in error, (status, error)
        again = _upload(base, headers, council_file)
        assert _wait_job(base, headers, again["job"]["id"])["status"] == "succeeded"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
