"""Issue 14 benchmark: a national hub. Twenty fake councils (2,000 to 150,000 children, spaced
geometrically, shire and moorside alternating) are tenants of ONE service on PostgreSQL + Redis:
`frontdoor serve` (gunicorn) and two `frontdoor worker` processes (RQ) sharing one data directory and
one fresh database. Each council is added with its data owner and reviewer through the command line;
then every council's pipeline runs at once over HTTP, a thread per council: upload -> ingest job ->
train (journey model) -> synthetic release of as many children as the council has (profile default)
-> gate job -> awaiting_review. Afterwards the largest council refreshes once more alone (the other
worker idle). From the measured job times: all 153 English councils (~4,000,000 children over six
years) projected on 1 to 16 workers. Target: a 150,000-children council refreshed (ingest + train +
release) in <= 10 minutes on one worker.

`python -m tests.bench.run hub` (or `python -m tests.bench.hub_bench` to print the section only);
smaller: `--councils N --max-children M` (or FRONTDOOR_HUB_COUNCILS / FRONTDOOR_HUB_MAX_CHILDREN).
PostgreSQL and Redis come from FRONTDOOR_BENCH_DATABASE_URL / FRONTDOOR_BENCH_REDIS_URL.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

from tests.bench.councils import KEY_ENV, council_files

COUNCILS, MIN_CHILDREN, MAX_CHILDREN = 20, 2_000, 150_000
WORKERS = 2
SEED = 7  # with the largest council a shire, 150,000 children reuse the ingest and service benchmarks' files
ENGLAND_COUNCILS, ENGLAND_CHILDREN = 153, 4_000_000
TARGET_CHILDREN, TARGET_S = 150_000, 600.0
PROJECT_WORKERS = (1, 2, 4, 8, 16)
POLL_S = 1.0
STEP_TIMEOUT_S = 3 * 3600
DEFAULT_DB = "postgresql+psycopg://frontdoor:frontdoor@localhost:5432/postgres"
DEFAULT_REDIS = "redis://localhost:6390/0"


def _shown(url: str) -> str:
    """A URL fit to print: without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


class Skipped(Exception):
    """The benchmark cannot run here (no PostgreSQL or no Redis); the message says why."""


# ----------------------------------------------------------------------------------------------
# The councils.
def _two_figures(x: float) -> int:
    m = 10 ** max(0, math.floor(math.log10(x)) - 1)
    return int(round(x / m) * m)


def council_sizes(n: int, hi: int, lo: int = MIN_CHILDREN) -> list[int]:
    """n sizes spaced geometrically from lo to hi, to two significant figures."""
    lo = min(lo, hi)
    if n == 1:
        return [hi]
    return [_two_figures(lo * (hi / lo) ** (i / (n - 1))) for i in range(n)]


def plan(n: int, hi: int) -> list[dict]:
    sizes = council_sizes(n, hi)
    out = []
    for i, children in enumerate(sizes):
        kind = "shire" if (n - 1 - i) % 2 == 0 else "moorside"  # alternate, the largest a shire
        code = f"HUB{i + 1:02d}"
        out.append({"code": code, "name": f"Hub council {i + 1:02d} ({kind})", "kind": kind, "children": children,
                    # declared population of 0-17s: about three times the children seen over the window
                    "population": 3 * children})
    return out


def settings() -> tuple[int, int]:
    n = int(os.environ.get("FRONTDOOR_HUB_COUNCILS") or COUNCILS)
    m = int(os.environ.get("FRONTDOOR_HUB_MAX_CHILDREN") or MAX_CHILDREN)
    if n < 1 or m < 50:
        raise SystemExit("--councils must be at least 1 and --max-children at least 50")
    return n, m


# ----------------------------------------------------------------------------------------------
# The service: one fresh PostgreSQL database, one Redis queue, gunicorn and the RQ workers.
def _set_parent_death_signal() -> None:
    """In the child before exec: if the benchmark dies without cleaning up, the child gets SIGTERM."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    def __init__(self, work: Path):
        self.db_url = os.environ.get("FRONTDOOR_BENCH_DATABASE_URL") or DEFAULT_DB
        self.redis_url = os.environ.get("FRONTDOOR_BENCH_REDIS_URL") or DEFAULT_REDIS
        self.data = work / "hub_bench_data"
        self.logs = work / "hub_bench_logs"
        self.db_name = f"frontdoor_hub_{uuid.uuid4().hex[:10]}"
        self.queue = f"frontdoor-hub-{uuid.uuid4().hex[:8]}"
        self.procs: list[subprocess.Popen] = []
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.db_created = False
        self.base = ""
        self.env: dict = {}

    def _admin_url(self) -> str:
        return self.db_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def check(self) -> None:
        import psycopg
        import redis

        try:
            with psycopg.connect(self._admin_url(), connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise Skipped(f"PostgreSQL at {_shown(self.db_url)} is unreachable ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0] if str(exc).strip() else 'no message'}); set "
                          "FRONTDOOR_BENCH_DATABASE_URL to a server where this user may create databases") from None
        try:
            redis.Redis.from_url(self.redis_url, socket_connect_timeout=5).ping()
        except redis.RedisError as exc:
            raise Skipped(f"Redis at {_shown(self.redis_url)} is unreachable ({type(exc).__name__}: {exc}); set "
                          "FRONTDOOR_BENCH_REDIS_URL") from None

    def start(self) -> None:
        import psycopg

        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.logs, ignore_errors=True)
        self.data.mkdir(parents=True)
        self.logs.mkdir(parents=True)
        with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        env = {**os.environ, **KEY_ENV, "FRONTDOOR_DATA_DIR": str(self.data),
               "FRONTDOOR_DATABASE_URL": f"{self.db_url.rsplit('/', 1)[0]}/{self.db_name}",
               "FRONTDOOR_REDIS_URL": self.redis_url, "FRONTDOOR_QUEUE": self.queue}
        env.pop("DATABASE_URL", None)
        self.env = env
        self.cli("councils", "list")  # migrates the empty database once, before the processes start
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.server = self._spawn("server", "serve", "--host", "127.0.0.1", "--port", str(port))
        self.workers = [self._spawn(f"worker{i + 1}", "worker") for i in range(WORKERS)]
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"the server exited ({self.server.returncode}); see {self.logs / 'server.log'}")
            try:
                if requests.get(f"{self.base}/health", timeout=3).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the server did not answer /health within 120 s; see {self.logs / 'server.log'}")
        deadline = time.time() + 120
        while len(self.rq_workers()) < WORKERS:  # both workers listening on the queue
            dead = [w for w in self.workers if w.poll() is not None]
            if dead or time.time() > deadline:
                raise RuntimeError(f"the RQ workers did not start; see {self.logs}/worker*.log")
            time.sleep(0.3)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        try:
            p = subprocess.Popen([sys.executable, "-m", "service.cli", *args], env=self.env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_set_parent_death_signal)
        finally:
            log.close()
        self.procs.append(p)
        return p

    def cli(self, *args: str) -> str:
        r = subprocess.run([sys.executable, "-m", "service.cli", *args], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"`frontdoor {' '.join(args)}` failed ({r.returncode}): {r.stderr.strip()[-500:]}")
        return r.stdout

    def rq_workers(self) -> list:
        from redis import Redis
        from rq import Queue, Worker

        return Worker.all(queue=Queue(self.queue, connection=Redis.from_url(self.redis_url)))

    def close(self) -> None:
        """Stop every process this benchmark started (and their children: gunicorn's workers, RQ's work
        horses, which run in a process group of their own), drop the database and the queue."""
        import psutil

        procs = []
        for p in self.procs:
            try:
                root = psutil.Process(p.pid)
                procs += [root, *root.children(recursive=True)]
            except psutil.Error:
                pass
        for p in procs:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=15)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=10)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            from redis import Redis
            from rq import Queue

            conn = Redis.from_url(self.redis_url)
            Queue(self.queue, connection=conn).delete(delete_jobs=True)
            for key in conn.scan_iter(f"rq:*:{self.queue}"):  # its registries (finished, failed, ...): this run's
                conn.delete(key)
        except Exception as exc:  # the queue is named for this run only; say so and go on
            print(f"hub benchmark: could not delete RQ queue {self.queue}: {exc}", file=sys.stderr)
        if self.db_created:
            import psycopg

            try:
                with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
                self.db_created = False
            except psycopg.Error as exc:
                print(f"hub benchmark: could not drop database {self.db_name}: {exc}", file=sys.stderr)


class MemoryWatch:
    """Peak resident memory of each RQ worker: the worker process itself, and the work horse it forks
    for each job (where the job runs)."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.peak_worker = dict.fromkeys(pids, 0.0)
        self.peak_job = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for pid in self.pids:
                try:
                    proc = psutil.Process(pid)
                    self.peak_worker[pid] = max(self.peak_worker[pid], proc.memory_info().rss / 2**20)
                    for child in proc.children(recursive=True):
                        try:
                            self.peak_job[pid] = max(self.peak_job[pid], child.memory_info().rss / 2**20)
                        except psutil.Error:
                            pass
                except psutil.Error:
                    pass
            self._stop.wait(0.5)


# ----------------------------------------------------------------------------------------------
# One council's refresh, over HTTP.
def _when(s: str | None) -> float | None:
    """An API time (UTC, no zone) as epoch seconds."""
    return None if s is None else datetime.fromisoformat(s).replace(tzinfo=timezone.utc).timestamp()


def _wait(base: str, token: str, job: dict) -> dict:
    h = {"Authorization": f"Bearer {token}"}
    deadline = time.time() + STEP_TIMEOUT_S
    while time.time() < deadline:
        j = requests.get(f"{base}/jobs/{job['id']}", headers=h, timeout=60).json()
        if j.get("status") == "succeeded":
            return j
        if j.get("status") == "failed":
            raise RuntimeError(f"{job['kind']} job failed: {j.get('error')}")
        if "status" not in j:
            raise RuntimeError(f"GET /jobs/{job['id']}: {j}")
        time.sleep(POLL_S)
    raise RuntimeError(f"{job['kind']} job {job['id']} did not end within {STEP_TIMEOUT_S} s")


def _ok(r: requests.Response, what: str) -> dict:
    if r.status_code >= 400:
        raise RuntimeError(f"{what}: HTTP {r.status_code}: {r.text[:300]}")
    return r.json()


def _failed_checks(base: str, council: dict, rid: str, keep: Path | None) -> str:
    """A release whose gate failed: its report is kept (in `keep`, the run's log folder, which outlives the
    run's data) and the failing checks named, with their measure and threshold, for the council's row."""
    r = requests.get(f"{base}/releases/{rid}/report", params={"format": "json"}, timeout=60,
                     headers={"Authorization": f"Bearer {council['owner']}"})
    if r.status_code != 200:
        return f"its report could not be read (HTTP {r.status_code})"
    if keep is not None:
        (keep / f"{council['code']}_report.json").write_bytes(r.content)
    failing = [c for c in r.json().get("checks", []) if c.get("status") == "fail"]
    return "; ".join(f"{c['name']} {c.get('metric')} (threshold {c.get('threshold')})" for c in failing) or "none"


def refresh(base: str, council: dict, files: list[Path], keep: Path | None = None) -> dict:
    """Upload -> ingest -> train -> release request -> gate -> awaiting_review, timing each step."""
    owner = {"Authorization": f"Bearer {council['owner']}"}
    out: dict = {"jobs": {}}
    t0 = time.time()
    handles = [open(f, "rb") for f in files]
    try:
        body = _ok(requests.post(f"{base}/datasets", headers=owner, data={"name": f"{council['code']} Annex A"},
                                 files=[("file", (f.name, h, "text/csv")) for f, h in zip(files, handles)],
                                 timeout=1800), "upload")
    finally:
        for h in handles:
            h.close()
    out["upload_s"] = time.time() - t0
    out["jobs"]["ingest"] = _wait(base, council["owner"], body["job"])
    body = _ok(requests.post(f"{base}/models", headers=owner, json={"dataset_id": body["dataset"]["id"]},
                             timeout=300), "train request")
    out["jobs"]["train"] = _wait(base, council["owner"], body["job"])
    body = _ok(requests.post(f"{base}/releases", headers=owner, timeout=300, json={
        "model_id": body["model"]["id"], "children": council["children"], "profile": "default",
        "purpose": "national hub benchmark", "recipients": "benchmark"}), "release request")
    rid = body["release"]["id"]
    out["jobs"]["release"] = _wait(base, council["owner"], body["job"])
    # the council's reviewer finds it in review (and it is that council's: see the isolation check)
    r = _ok(requests.get(f"{base}/releases/{rid}", headers={"Authorization": f"Bearer {council['reviewer']}"},
                         timeout=60), "release read")
    out["end"] = time.time()
    out["start"], out["wall_s"], out["state"], out["release_id"] = t0, out["end"] - t0, r["state"], rid
    if r["state"] == "failed":
        out["failed_checks"] = _failed_checks(base, council, rid, keep)
    for j in out["jobs"].values():
        j["t_created"], j["t_started"], j["t_finished"] = (_when(j["created_at"]), _when(j["started_at"]),
                                                           _when(j["finished_at"]))
        j["run_s"] = j["t_finished"] - j["t_started"]
        j["wait_s"] = j["t_started"] - j["t_created"]
    out["service_s"] = sum(j["run_s"] for j in out["jobs"].values())
    return out


def _concurrently(base: str, councils: list[dict], files: dict, keep: Path | None = None) -> None:
    def drive(c: dict) -> None:
        try:
            c["result"] = refresh(base, c, files[c["code"]], keep)
        except Exception as exc:  # one council's failure is reported in its row; the others go on
            c["error"] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=drive, args=(c,), name=c["code"]) for c in councils]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _overlap(job: dict, others: list[dict]) -> float:
    """Seconds of `job`'s run during which some other job ran (with two workers: the other worker)."""
    spans = sorted((max(o["t_started"], job["t_started"]), min(o["t_finished"], job["t_finished"])) for o in others)
    busy, end = 0.0, job["t_started"]
    for a, b in spans:
        a = max(a, end)
        if b > a:
            busy, end = busy + b - a, b
    return busy


# ----------------------------------------------------------------------------------------------
# The projection to England.
def england_sizes(n: int = ENGLAND_COUNCILS, total: int = ENGLAND_CHILDREN, hi: int = TARGET_CHILDREN) -> list[int]:
    """n council sizes spaced geometrically up to hi, the smallest chosen so that they add up to total."""
    def sizes(lo: float) -> list[float]:
        return [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]

    a, b = 1.0, float(hi)
    for _ in range(100):
        mid = (a + b) / 2
        a, b = (mid, b) if sum(sizes(mid)) < total else (a, mid)
    return [round(x) for x in sizes(a)]


def project(points: list[tuple[int, float]]) -> dict:
    import numpy as np

    n = np.array([p[0] for p in points], float)
    t = np.array([p[1] for p in points], float)
    clipped = False
    if len(set(n)) >= 2:
        b, a = np.polyfit(n, t, 1)
    else:
        a, b = 0.0, float(t.mean() / n.mean())
    if b < 0 or a < 0:  # least squares with a, b >= 0: the best line through the origin, or a flat one
        clipped = True
        through_origin = float(np.sum(n * t) / np.sum(n * n))
        flat = float(t.mean())
        a, b = min(((0.0, through_origin), (flat, 0.0)), key=lambda ab: float(np.sum((ab[0] + ab[1] * n - t) ** 2)))
    sizes = np.array(england_sizes(), float)
    order = np.argsort(n)
    rate = np.interp(np.log(sizes), np.log(n[order]), (t / n)[order])  # clamped to the measured ends
    largest = sizes.max()
    fit_total, fit_floor = float(np.sum(a + b * sizes)), float(a + b * largest)
    rate_total = float(np.sum(rate * sizes))
    rate_floor = float(np.interp(np.log(largest), np.log(n[order]), (t / n)[order]) * largest)
    return {"a": float(a), "b": float(b), "clipped": clipped, "sizes": sizes, "fit": (fit_total, fit_floor),
            "rate": (rate_total, rate_floor)}


# ----------------------------------------------------------------------------------------------
def _h(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "/").split())[:300]


def _row(c: dict, label: str | None = None) -> str:
    name = label or f"{c['code']} ({c['kind']})"
    if "result" not in c:
        return f"| {name} | {c['children']:,} |{' |' * 7} failed: {_cell(c.get('error', '?'))} |"
    r = c["result"]
    j = r["jobs"]
    steps = " | ".join(f"{j[k]['run_s']:.1f} ({j[k]['wait_s']:.0f})" for k in ("ingest", "train", "release"))
    return (f"| {name} | {c['children']:,} | {r['upload_s']:.1f} | {steps} | {r['service_s']:.1f} | "
            f"{1000 * r['service_s'] / c['children']:.2f} | {r['wall_s']:.1f} | {r['state']}"
            + (f" (failing: {_cell(r['failed_checks'])})" if "failed_checks" in r else "") + " |")


def run(work: Path) -> str:
    n_councils, max_children = settings()
    councils = plan(n_councils, max_children)
    hub = Hub(work)
    hub.check()  # raises Skipped with the reason

    print(f"hub benchmark: {n_councils} councils of {councils[0]['children']:,} to {councils[-1]['children']:,} "
          "children; generating (or reusing) their files", flush=True)
    files = {c["code"]: council_files(work, c["children"], SEED, "csv", c["kind"]) for c in councils}

    def _terminated(signum, frame):
        raise SystemExit(f"hub benchmark: stopped by signal {signum}")

    old_term = signal.signal(signal.SIGTERM, _terminated)  # so that `finally` cleans up on kill too
    try:
        hub.start()
        t_setup = time.time()
        for c in councils:
            hub.cli("councils", "add", c["code"], "--name", c["name"], "--population", str(c["population"]))
            for role in ("data_owner", "reviewer"):
                token = hub.cli("users", "add", f"{c['code']}-{role}", "--role", role, "--council",
                                c["code"]).strip().splitlines()[-1]
                c["owner" if role == "data_owner" else "reviewer"] = token
        setup_s = time.time() - t_setup
        pids = [w.pid for w in hub.workers]
        print(f"hub benchmark: service up ({hub.base}, queue {hub.queue}, database {hub.db_name}); "
              f"{n_councils} pipelines starting", flush=True)
        with MemoryWatch(pids) as mem:
            _concurrently(hub.base, councils, files, hub.logs)
            rq_stats = {w.pid: (w.successful_job_count, w.failed_job_count, w.total_working_time)
                        for w in hub.rq_workers()}
            largest = councils[-1]
            solo = None
            if "result" in largest:
                print(f"hub benchmark: {largest['code']} refreshing alone", flush=True)
                solo = dict(largest)
                del solo["result"]
                try:
                    solo["result"] = refresh(hub.base, solo, files[largest["code"]], hub.logs)
                except Exception as exc:
                    solo["error"] = f"{type(exc).__name__}: {exc}"
        isolation = _isolation(hub.base, councils)
        data_gib = sum(f.stat().st_size for f in hub.data.rglob("*") if f.is_file()) / 2**30
    finally:
        hub.close()
        signal.signal(signal.SIGTERM, old_term)
    return _report(councils, solo, mem, rq_stats, pids, setup_s, isolation, data_gib, n_councils, max_children)


def _isolation(base: str, councils: list[dict]) -> str:
    """Each council's data owner asks for the next council's release: it must not exist for them (404)."""
    done = [c for c in councils if "result" in c]
    if len(done) < 2:
        return "not checked (fewer than two councils reached review)"
    codes = []
    for c, other in zip(done, done[1:] + done[:1]):
        r = requests.get(f"{base}/releases/{other['result']['release_id']}",
                         headers={"Authorization": f"Bearer {c['owner']}"}, timeout=60)
        codes.append(r.status_code)
    return (f"each council's data owner asked for another council's release: {codes.count(404)} of {len(codes)} "
            f"answered 404" + ("" if set(codes) == {404} else f" (status codes: {sorted(set(codes))})"))


def _report(councils, solo, mem, rq_stats, pids, setup_s, isolation, data_gib, n_councils, max_children) -> str:
    done = [c for c in councils if "result" in c]
    failed = [c for c in councils if "result" not in c]
    rows = [_row(c) for c in councils]
    if solo is not None:
        rows.append(_row(solo, f"{solo['code']} again, alone"))
    command = "python -m tests.bench.run hub" + ("" if (n_councils, max_children) == (COUNCILS, MAX_CHILDREN)
                                                 else f" --councils {n_councils} --max-children {max_children}")
    sizes = ", ".join(f"{c['children']:,}" for c in councils)
    text = [f"""## National hub: {n_councils} councils on one service (issue 14)

Command: `{command}`. Councils of {sizes} children (`frontdoor fixtures --seed {SEED}`,
shire and moorside alternating, the largest a shire). One service on PostgreSQL + Redis: `frontdoor serve` (gunicorn, 2
processes x 8 threads) and {WORKERS} `frontdoor worker` processes (RQ) sharing one data directory, one fresh
database and one queue, all on this machine. Each council added with its data owner and reviewer by
`frontdoor councils add` / `frontdoor users add --council` ({setup_s:.0f} s for all, not counted below);
then all {n_councils} councils at once over HTTP, a thread per council: upload, ingest job, train (journey
model), a synthetic release of as many children as the council has (profile default), its gate job,
until the council's reviewer sees it awaiting review; jobs polled every {POLL_S:.0f} s. Afterwards the largest
council refreshes once more with the other worker idle. Everything else on the service's defaults.

Seconds per step are the job's own run time on its worker (`finished_at - started_at` from
`GET /jobs/{{id}}`), in brackets its wait in the queue (`started_at - created_at`); "jobs s" is the three
run times added up; "total wall s" is from the start of the upload to awaiting review, as the council's
data owner waited.

| council | children | upload s | ingest s (queued) | train s (queued) | release s (queued) | jobs s | ms per child | total wall s | state |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}"""]
    if not done:
        text.append("\nNo council reached review; nothing to total or project.")
        return "\n".join(text)
    start = min(c["result"]["start"] for c in done)
    end = max(c["result"]["end"] for c in done)
    wall = end - start
    children = sum(c["children"] for c in done)
    job_s = sum(c["result"]["service_s"] for c in done)
    waits = [j["wait_s"] for c in done for j in c["result"]["jobs"].values()]
    worker_rows = []
    for i, pid in enumerate(pids):
        ok, bad, working = (f"{x:.0f}" for x in rq_stats.get(pid, (math.nan,) * 3))
        worker_rows.append(f"| worker {i + 1} | {ok} | {bad} | {working} | {mem.peak_worker[pid]:.0f} | "
                           f"{mem.peak_job[pid]:.0f} |")
    states = ", ".join(sorted({c["result"]["state"] for c in done}))
    failures = f"; failed: {', '.join(c['code'] for c in failed)}" if failed else ""
    text.append(f"""
Totals of the concurrent run: {len(done)} of {len(councils)} councils reached review ({states}){failures}.
{children:,} children in {_h(wall)} wall ({wall:.0f} s from the first upload to the last release in review):
**{children / wall * 3600:,.0f} children per hour**. Job run time {job_s:.0f} s in all: the {WORKERS} workers were
busy {job_s / wall:.2f} workers' worth on average (the 2 cores also ran the server and the uploads). Queue
waits: median {sorted(waits)[len(waits) // 2]:.0f} s, longest {max(waits):.0f} s. Data directory after the
run (uploads, datasets, models, releases, the largest council twice): {data_gib:.2f} GiB.
Isolation: {isolation}.

| worker | jobs done | jobs failed | working s (RQ) | peak RSS MiB, worker process | peak RSS MiB, job process (work horse) |
|---|---|---|---|---|---|
{chr(10).join(worker_rows)}

RSS sampled every 0.5 s with psutil; RQ forks a work horse per job, which shares the worker's pages
until it writes them, so the two columns overlap.""")
    text.append(_target(councils[-1], solo, done))
    text.append(_projection(done, max(mem.peak_job.values())))
    text.append(SHARING)
    return "\n".join(text)


def _target(largest: dict, solo: dict | None, done: list[dict]) -> str:
    if "result" not in largest:
        return f"\nTarget (150,000 children in <= 10 min on one worker): not measured, {largest['code']} failed."
    lines = []
    for label, c, others in (("with the other councils", largest,
                              [j for o in done if o is not largest for j in o["result"]["jobs"].values()]),
                             ("alone", solo, [])):
        if c is None or "result" not in c:
            lines.append(f"- {label}: failed ({_cell((c or {}).get('error', 'not run'))})")
            continue
        j = c["result"]["jobs"]
        busy = sum(_overlap(x, others) for x in j.values()) if others else 0.0
        total = c["result"]["service_s"]
        lines.append(f"- {label}: ingest {j['ingest']['run_s']:.0f} s + train {j['train']['run_s']:.0f} s + release "
                     f"{j['release']['run_s']:.0f} s = {total:.0f} s of jobs ({_h(total)}; {c['result']['wall_s']:.0f} s "
                     f"from upload to review); the other worker was running another council's job for "
                     f"{busy:.0f} s of it ({100 * busy / total:.0f}%): "
                     f"{'contended' if busy > 0.05 * total else 'effectively alone'}.")
    measured = largest["children"] >= TARGET_CHILDREN
    head = (f"\nTarget: a {TARGET_CHILDREN:,}-children council refreshed (ingest + train + release) in <= "
            f"{TARGET_S / 60:.0f} min on one worker. The {largest['children']:,}-children council ({largest['code']}):")
    if measured and solo is not None and "result" in solo:
        met = solo["result"]["service_s"] <= TARGET_S
        verdict = f"Met (alone): {'yes' if met else 'NO'}."
    elif measured:
        met = largest["result"]["service_s"] <= TARGET_S
        verdict = f"Met (contended run only): {'yes' if met else 'NO'}."
    else:
        verdict = (f"Not measured at {TARGET_CHILDREN:,} children in this run (largest {largest['children']:,}); "
                   "see the fitted line below for an extrapolation.")
    return "\n".join([head, *lines, verdict])


def _projection(done: list[dict], peak_job_mib: float) -> str:
    points = [(c["children"], c["result"]["service_s"]) for c in done]
    p = project(points)
    sizes = p["sizes"]
    rows = []
    for k in PROJECT_WORKERS:
        cells = []
        for total, floor in (p["fit"], p["rate"]):
            w = max(total / k, floor)
            cells.append(f"{_h(w)}{' (largest council)' if floor >= total / k else ''}")
        rows.append(f"| {k} | {cells[0]} | {cells[1]} | {k * peak_job_mib / 1024:.1f} |")
    extrapolated = max(c["children"] for c in done) < TARGET_CHILDREN
    at_target = p["a"] + p["b"] * TARGET_CHILDREN
    clipped = (", the best line with neither term negative: these councils' times do not grow with their size, so "
               "they cannot separate the cost per child from the fixed cost" if p["clipped"] else "")
    return f"""
Projection to England: {ENGLAND_COUNCILS} councils, {int(sizes.sum()):,} children over six years, sizes spaced
geometrically from {int(sizes.min()):,} to {int(sizes.max()):,} (the smallest chosen so that they add up to
~{ENGLAND_CHILDREN:,}). Fitted to the {len(points)} measured councils: jobs s = {p['a']:.1f} + {1000 * p['b']:.3f}
ms x children{clipped} (a {TARGET_CHILDREN:,}-children council: {at_target:.0f} s{', extrapolated beyond the largest measured'
 if extrapolated else ''}). "Fit" applies that line to every council ({_h(p['fit'][0])} of jobs in all); "per
child" scales each council by the measured milliseconds per child at the nearest measured sizes
(interpolated on log size, the end values beyond them; {_h(p['rate'][0])} in all). Wall time on K workers =
max(all jobs / K, the largest council's own refresh), as if the queue keeps the K workers busy; each
worker needs a core of its own (these job times were measured with {WORKERS} workers sharing 2 cores with
the server) and its job process's memory (peak {peak_job_mib:.0f} MiB here).

| workers K | wall, fit | wall, per child | memory for K job processes GiB |
|---|---|---|---|
{chr(10).join(rows)}"""


SHARING = """
How workers on several machines share the data: every `frontdoor serve` and `frontdoor worker`, on any
machine, is given the same three things: `FRONTDOOR_DATABASE_URL` (or `DATABASE_URL`), one PostgreSQL
database, the only record of councils, users, datasets, models, releases, jobs and audit chains (the
SQLite default lives in the data directory and its WAL needs shared memory on one machine: not for
several); `FRONTDOOR_REDIS_URL` with the same `FRONTDOOR_QUEUE`, the one queue (a job row is taken by
`SELECT ... FOR UPDATE` and run only while `queued`, so a job enqueued twice runs once); and
`FRONTDOOR_DATA_DIR`, which must be one shared filesystem (NFS, EFS, SMB) mounted at the same path
everywhere, since the web process writes uploads that a worker elsewhere ingests, workers write
datasets, models and releases that other workers and the web processes read (bundles are streamed from
it), and the RQ job carries only the job id. Work is written under `DATA_DIR/tmp/` and moved into place by
`Store.place()`: a file by `os.replace`, a new directory (a fresh id: every upload, dataset and release
directory) by one `rename`, both atomic on one filesystem and kept so by NFSv4, so `tmp/` must be on the
same mount (a rename across filesystems fails). Replacing an existing directory (a release rebuilt after
its request is amended) takes two renames, the old one aside then the new one in, so a reader in between
finds no directory for a moment (the release is then being checked, not published). The database row
says `ready` only after the files are placed. The developers' release list is cached per process and
keyed by `DATA_DIR/releases/.catalogue-version`, a random token that whoever commits a release change
rewrites (temporary file + `os.replace`); each request reads it afresh, and a kept list is rebuilt after
10 s whatever it says, so an NFS client that caches attributes serves a list at most that old. Tokens
seen lately are kept per process for 30 s under `DATA_DIR/releases/.users-version`, rewritten the same way
whenever a user changes: on NFS a token revoked on one machine may still open another's API until its
client sees the new file, 30 s at most. Set
`FRONTDOOR_PSEUDONYM_KEY` and `FRONTDOOR_SECRET_KEY` the same on every machine (else they are files
created once in the data directory, with an exclusive create). An object store instead of a filesystem
would need `Store` rewritten: it has no rename, so each file would be written to its final key in one
put, a directory's files would need the database row (or a manifest written last) as the point where
they become visible, the catalogue token would become an object read per request, and the ingest,
training and gate code, which read and write local paths, would need a local copy."""


def main(argv: list[str]) -> None:
    """`python -m tests.bench.hub_bench [--councils N] [--max-children M]`: print the section only."""
    apply_args(argv)
    from tests.bench.run import WORK

    WORK.mkdir(exist_ok=True)
    try:
        print(run(WORK))
    except Skipped as exc:
        sys.exit(f"hub benchmark skipped: {exc}")


def apply_args(argv: list[str]) -> list[str]:
    """Take `--councils N` and `--max-children M` out of argv into the environment; return the rest."""
    rest, it = [], iter(argv)
    for a in it:
        key, _, value = a.partition("=")
        if key in ("--councils", "--max-children"):
            value = value or next(it, "")
            if not value.isdigit():
                raise SystemExit(f"{key} needs a whole number")
            os.environ["FRONTDOOR_HUB_COUNCILS" if key == "--councils" else "FRONTDOOR_HUB_MAX_CHILDREN"] = value
        else:
            rest.append(a)
    return rest


if __name__ == "__main__":
    main(sys.argv[1:])
