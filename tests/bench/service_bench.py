"""Issue 5 benchmark: 50 concurrent developer clients listing and downloading a published
150,000-children release for 60 s, against the service on its embedded defaults (gunicorn,
SQLite, the local job process), over loopback. Target: p95 <= 100 ms for listing; downloads stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from tests.bench.councils import council_files

CLIENTS = 50
SECONDS = 60
DOWNLOADERS = 5  # of the clients, these download the whole bundle again and again; the others list
PORT = 8791


def _cli(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def _wait(base: str, token: str, job: str) -> None:
    while True:
        j = requests.get(f"{base}/jobs/{job}", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        if j["status"] == "succeeded":
            return
        if j["status"] == "failed":
            raise RuntimeError(j["error"])
        time.sleep(2)


def _rss_mib(pid: int) -> float:
    """Resident memory of the server: gunicorn's master and its worker processes."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except psutil.Error:
        return float("nan")


def _published_release(work: Path, env: dict, base: str) -> tuple[str, str]:
    tokens = {}
    for name, role in (("owner", "data_owner"), ("r1", "reviewer"), ("r2", "reviewer"), ("dev", "developer")):
        tokens[name] = _cli(env, "users", "add", name, "--role", role).strip().splitlines()[-1]
    owner = {"Authorization": f"Bearer {tokens['owner']}"}
    files = council_files(work, 150_000, 7, "csv")
    handles = [open(f, "rb") for f in files]
    try:
        r = requests.post(f"{base}/datasets", headers=owner, data={"name": "Kent-like"},
                          files=[("file", (f.name, h)) for f, h in zip(files, handles)], timeout=600)
    finally:
        for h in handles:
            h.close()
    r.raise_for_status()
    _wait(base, tokens["owner"], r.json()["job"]["id"])
    dataset_id = r.json()["dataset"]["id"]
    r = requests.post(f"{base}/models", headers=owner, json={"dataset_id": dataset_id}, timeout=60)
    _wait(base, tokens["owner"], r.json()["job"]["id"])
    r = requests.post(f"{base}/releases", headers=owner, timeout=60, json={
        "model_id": r.json()["model"]["id"], "children": 150_000, "profile": "default", "purpose": "benchmark",
        "recipients": "benchmark"})
    rid = r.json()["release"]["id"]
    _wait(base, tokens["owner"], r.json()["job"]["id"])
    for rev in ("r1", "r2"):
        requests.post(f"{base}/releases/{rid}/reviews", headers={"Authorization": f"Bearer {tokens[rev]}"},
                      json={"decision": "approve", "comment": "Judged the items to review."}, timeout=60).raise_for_status()
    requests.post(f"{base}/releases/{rid}/publish", headers=owner, timeout=60).raise_for_status()
    return rid, tokens["dev"], tokens["owner"], dataset_id


def run(work: Path) -> str:
    import shutil

    if shutil.which("wrk") is None:
        raise SystemExit("the service benchmark needs wrk: apt-get install wrk")
    data = work / "service_bench_data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    data.mkdir(parents=True)
    env = {**os.environ, "FRONTDOOR_DATA_DIR": str(data)}
    env.pop("FRONTDOOR_REDIS_URL", None)
    base = f"http://127.0.0.1:{PORT}/api/v1"
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(PORT)], env=env,
                              stdout=open(data / "server.log", "w"), stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/health", timeout=3).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        rid, token, owner_token, dataset_id = _published_release(work, env, base)
        bundle_mb = requests.get(f"{base}/releases/{rid}", headers={"Authorization": f"Bearer {token}"},
                                 timeout=30).json()["bundle_bytes"] / 1e6
        rss_before = _rss_mib(server.pid)  # after the jobs this server ran, before the load
        peak_rss = [rss_before]
        stop = time.perf_counter() + SECONDS + 5

        def watch() -> None:
            while time.perf_counter() < stop:
                peak_rss[0] = max(peak_rss[0], _rss_mib(server.pid))
                time.sleep(0.5)

        threading.Thread(target=watch, daemon=True).start()
        runs = {"list": (f"{base}/releases", CLIENTS - DOWNLOADERS), "download": (f"{base}/releases/{rid}/bundle",
                                                                                  DOWNLOADERS)}
        procs = {}
        for kind, (url, conns) in runs.items():
            script = data / f"{kind}.lua"
            script.write_text(WRK_SCRIPT.replace("TOKEN", token))
            procs[kind] = subprocess.Popen(["wrk", "-t", "1", "-c", str(conns), "-d", f"{SECONDS}s", "--timeout", "30s",
                                            "-s", str(script), url], stdout=subprocess.PIPE, text=True)
        results = {}
        for kind, p in procs.items():
            out = p.communicate()[0]
            line = [x for x in out.splitlines() if x.startswith("JSON ")][-1]
            results[kind] = json.loads(line[5:])
        during = _listing_during_training(base, data, token, owner_token, dataset_id)
    finally:
        server.terminate()
        server.wait(timeout=30)

    rows = []
    for kind, label in (("list", "GET /releases"), ("download", "GET /releases/{id}/bundle")):
        r = results[kind]
        rows.append(f"| {label} | {runs[kind][1]} | {r['requests']:,} | {r['requests'] / r['seconds']:.1f} | "
                    f"{r['p50'] / 1000:.0f} | {r['p95'] / 1000:.0f} | {r['errors']} |")
    mbps = results["download"]["bytes"] / 1e6 / results["download"]["seconds"]
    ok = results["list"]["p95"] / 1000 <= 100
    return f"""## Developer API under load (issue 5)

Command: `python -m tests.bench.run service` (`frontdoor serve` on the embedded defaults: gunicorn, 2 processes x 8
threads, SQLite, the local job process; the 150,000-children council uploaded, trained, released with 150,000
synthetic children, approved twice and published through the API; then {CLIENTS} concurrent clients for
{SECONDS} s over loopback with `wrk` (Debian): {CLIENTS - DOWNLOADERS} connections listing releases and
{DOWNLOADERS} downloading the whole bundle, each as fast as it can). Client and server share the 2 cores.
Each gunicorn worker listens on its own SO_REUSEPORT socket (connections spread evenly over the processes),
and each process keeps the developers' release list serialised until a release changes
(`service/api/published_catalogue.py`); every bundle download reads the release's state and writes an
audit event.

| request | connections | completed | per second | p50 ms | p95 ms | errors |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Bundle size {bundle_mb:.1f} MB; {mbps:.1f} MB/s of bundles served. Server resident memory (master and
workers): {rss_before:.0f} MiB before the load (after running the ingest, training and gate jobs in its job process),
{peak_rss[0]:.0f} MiB at most during it; bundles are streamed from disk, not loaded.
Listing p95 <= 100 ms: {'yes' if ok else 'NO'}.

**Listing while a 150,000-children training runs** (issue 17: jobs run in the service's local job process,
not in the web workers): a second model trained on the same dataset; {TRAINING_CLIENTS} connections list
releases for the {during['seconds']:.0f} s the training was running (`wrk`, started once the job was running).

| request | connections | completed | per second | p50 ms | p95 ms | errors | training job |
|---|---|---|---|---|---|---|---|
| GET /releases | {TRAINING_CLIENTS} | {during['requests']:,} | {during['requests'] / during['seconds']:.1f} | {during['p50'] / 1000:.0f} | {during['p95'] / 1000:.0f} | {during['errors']} | {during['job']} |

Listing p95 <= 100 ms during the training: {'yes' if during['p95'] / 1000 <= 100 else 'NO'}."""


TRAINING_CLIENTS = 20


def _listing_during_training(base: str, data: Path, token: str, owner_token: str, dataset_id: str) -> dict:
    """Start a training, wait until it runs, list releases under load while it does."""
    owner = {"Authorization": f"Bearer {owner_token}"}
    r = requests.post(f"{base}/models", headers=owner, json={"dataset_id": dataset_id}, timeout=60)
    r.raise_for_status()
    job = r.json()["job"]["id"]
    while requests.get(f"{base}/jobs/{job}", headers=owner, timeout=30).json()["status"] == "queued":
        time.sleep(0.2)
    started = time.perf_counter()
    script = data / "during.lua"
    script.write_text(WRK_SCRIPT.replace("TOKEN", token))
    # As long as the training takes on this machine (fit about 20 s, plus reading and saving): the load stops
    # when the job ends, so every measured request overlaps it.
    wrk = subprocess.Popen(["wrk", "-t", "1", "-c", str(TRAINING_CLIENTS), "-d", "120s", "--timeout", "30s", "-s",
                            str(script), f"{base}/releases"], stdout=subprocess.PIPE, text=True)
    status = "running"
    while status == "running":
        time.sleep(0.5)
        status = requests.get(f"{base}/jobs/{job}", headers=owner, timeout=30).json()["status"]
    elapsed = time.perf_counter() - started
    wrk.send_signal(2)  # SIGINT: wrk stops and prints its summary
    out = wrk.communicate(timeout=60)[0]
    line = [x for x in out.splitlines() if x.startswith("JSON ")][-1]
    return {**json.loads(line[5:]), "seconds_training": elapsed, "job": f"{status}, {elapsed:.0f} s"}


WRK_SCRIPT = """
wrk.headers["Authorization"] = "Bearer TOKEN"
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout
  io.write(string.format('JSON {"requests": %d, "seconds": %f, "bytes": %d, "p50": %d, "p95": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, summary.bytes, latency:percentile(50), latency:percentile(95), errors))
end
"""
