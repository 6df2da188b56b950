"""Background jobs: ingest, train and build-release, with progress, heartbeat and a final status.

Jobs run in a thread pool inside the service by default, or on RQ workers (`frontdoor worker`)
when FRONTDOOR_REDIS_URL is set, so that work spreads over machines sharing the database and
the data directory. A job writes its output under tmp/ and moves it into place only when it has
succeeded; a job that raises ends `failed` with its reason; a job whose worker died (no heartbeat
for JOB_STALE_SECONDS) is marked failed by `reap_stale_jobs`. Nothing half-made becomes visible.
"""

from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from service import audit, retention
from service.governance import workflow
from service.orm import Dataset, Job, Release, TrainedModel, now
from service.store import Store

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10


class JobFailed(Exception):
    """A job ended with a reason to show the user."""


class Progress:
    def __init__(self, store: Store, job_id: str):
        self.store, self.job_id = store, job_id

    def __call__(self, percent: int, stage: str) -> None:
        self.store.touch_job(self.job_id, progress=int(percent), stage=stage[:200])


def execute(store: Store, job_id: str) -> None:
    """Run one job to its end. Safe to call in any process that has the store."""
    with store.write() as s:
        job = store.get(s, Job, job_id, lock=True)
        if job is None or job.status != "queued":
            return
        job.status, job.started_at, job.heartbeat_at, job.stage = "running", now(), now(), "started"
        kind, target = job.kind, job.target_id
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            store.touch_job(job_id)

    threading.Thread(target=beat, daemon=True).start()
    progress = Progress(store, job_id)
    try:
        {"ingest": run_ingest, "train": run_train, "build_release": run_build_release}[kind](store, target, progress)
    except Exception as exc:  # every failure ends the job with a reason; nothing is left in place
        reason = _reason(exc)
        log.warning("job %s (%s) failed: %s", job_id, kind, type(exc).__name__)
        if not isinstance(exc, JobFailed | _user_errors()):
            log.debug("job %s traceback:\n%s", job_id, traceback.format_exc())
        fail_job(store, job_id, reason)
        if kind == "ingest":  # the raw upload is kept only as long as RAW_UPLOAD_KEEP_HOURS says
            retention.after_ingest(store, target, succeeded=False)
        return
    finally:  # whatever ends the job (even an interrupt) stops its heartbeat, so a dead job goes stale
        stop.set()
    with store.write() as s:
        job = store.get(s, Job, job_id)
        job.status, job.progress, job.stage, job.finished_at = "succeeded", 100, "done", now()
    if kind == "ingest":
        retention.after_ingest(store, target, succeeded=True)


def _user_errors():
    from synth.errors import FrontdoorError

    return FrontdoorError


def _reason(exc: Exception) -> str:
    from synth.errors import FrontdoorError

    if isinstance(exc, FrontdoorError):
        return exc.message
    if isinstance(exc, JobFailed):
        return str(exc)
    from service.disk import DISK_FULL_MESSAGE, is_disk_full

    if is_disk_full(exc):
        return DISK_FULL_MESSAGE
    return f"internal error ({type(exc).__name__}); the job was stopped and nothing it made was kept."


def fail_job(store: Store, job_id: str, reason: str) -> None:
    """Mark a job and its target failed (targets keep their record; their files were never placed)."""
    with store.write() as s:
        job = store.get(s, Job, job_id)
        if job is None or job.status in ("succeeded", "failed"):
            return
        job.status, job.error, job.finished_at = "failed", reason, now()
        if job.target_type == "dataset":
            ds = store.get(s, Dataset, job.target_id)
            if ds and ds.status == "ingesting":
                ds.status, ds.error = "failed", reason
        elif job.target_type == "model":
            m = store.get(s, TrainedModel, job.target_id)
            if m and m.status == "training":
                m.status, m.error = "failed", reason
        elif job.target_type == "release":
            r = store.get(s, Release, job.target_id)
            if r and r.state == "checking":
                r.error = reason
                workflow.transition(store, s, r, "build_failed", None, {"job": job_id})
        audit.record(store, s, None, "job.failed", job.target_type, job.target_id, {"job": job_id, "kind": job.kind},
                     council_id=job.council_id)


def reap_stale_jobs(store: Store) -> int:
    """Running jobs whose worker stopped sending heartbeats end failed. Returns how many. A queued job is
    never judged by its age: it may wait behind a long training for as long as that takes."""
    limit = now() - timedelta(seconds=int(store.cfg.get("JOB_STALE_SECONDS", 120)))
    with store.read() as s:
        stale = [j.id for j in store.stale_jobs(s, limit)]
    for job_id in stale:
        fail_job(store, job_id, "the worker running this job stopped (no heartbeat); start it again.")
    return len(stale)


def resubmit_queued(store: Store, runner) -> int:
    """Queue again the jobs an in-process runner of an earlier run had not started (they were in its
    memory only). Returns how many."""
    with store.read() as s:
        queued = [j.id for j in store.queued_jobs(s, runner.backend)]
    for job_id in queued:
        runner.submit(job_id)
    return len(queued)


# ----------------------------------------------------------------------------------------------
# The jobs.
def run_ingest(store: Store, dataset_id: str, progress: Progress) -> None:
    from synth.dataset import Dataset as DatasetTables
    from synth.dataset import write_dataset
    from synth.errors import ValidationError
    from synth.ingest import ingest

    files = sorted(p for p in store.upload_dir(dataset_id).iterdir() if p.is_file())
    with store.read() as s:  # what the uploader asked for (operations.upload_dataset), kept in the report
        options = dict((store.get(s, Dataset, dataset_id).report or {}).get("options") or {})
    progress(10, f"reading and validating {len(files)} file(s)")
    try:
        result = ingest(files, store.pseudonym_key(), month_first=options.get("dates") == "month-first")
    except ValidationError as exc:
        with store.write() as s:
            ds = store.get(s, Dataset, dataset_id)
            ds.report = {"errors": exc.details[:100], "message": exc.message, "options": options}
        raise
    progress(70, "writing the canonical tables")
    report = {**result.report.to_dict(), "options": options}
    tmp = store.tmp_path("dataset")
    write_dataset(tmp, DatasetTables(result.children, result.events, result.episodes,
                                     {**result.manifest, "report": report}, result.report.issue_table()))
    store.place(tmp, store.dataset_dir(dataset_id))
    with store.write() as s:
        ds = store.get(s, Dataset, dataset_id)
        ds.status, ds.report, ds.lineage_hash = "ready", report, result.manifest["lineage_hash"]
        ds.counts = {"children": report["children"], "events": report["events"], "episodes": report["episodes"],
                     "rows_read": report["rows_read"], "rows_rejected": report["rows_rejected"]}
        audit.record(store, s, None, "dataset.ingested", "dataset", dataset_id,
                     {"rows_read": report["rows_read"], "rows_rejected": report["rows_rejected"],
                      "children": report["children"]}, council_id=ds.council_id)


def _iso(d) -> str | None:
    return None if d is None else d.isoformat()


def run_train(store: Store, model_id: str, progress: Progress) -> None:
    from synth.dataset import read_dataset
    from synth.models import TrainingSpec, fit_model

    with store.read() as s:
        m = store.get(s, TrainedModel, model_id)
        dataset_id, generator, epsilon = m.dataset_id, m.generator, m.epsilon
        spec = TrainingSpec(generator=generator, epsilon=epsilon, window_start=_iso(m.window_start),
                            window_end=_iso(m.window_end))
    progress(10, "reading the dataset")
    dataset = read_dataset(store.dataset_dir(dataset_id))
    from synth.readiness import check_trainable  # a clear reason, not "internal error", for a dataset that cannot

    check_trainable(dataset.children, dataset.events, dataset.episodes, dataset.lineage_hash, generator)
    progress(20, f"training {generator}")
    model = fit_model(dataset, spec)
    progress(90, "saving the model")
    tmp = store.tmp_path("model")
    model.save(tmp, store.signing_key())
    store.place(tmp, store.model_path(model_id))
    with store.write() as s:
        m = store.get(s, TrainedModel, model_id)
        m.status, m.privacy, m.training_children = "ready", model.generator.privacy(), model.training_children
        audit.record(store, s, None, "model.trained", "model", model_id,
                     {"generator": generator, "epsilon": epsilon, "training_children": model.training_children},
                     council_id=m.council_id)


def run_build_release(store: Store, release_id: str, progress: Progress) -> None:
    with store.read() as s:
        kind = store.get(s, Release, release_id).kind or "synthetic"
    (run_build_aggregate if kind == "aggregate" else run_build_synthetic)(store, release_id, progress)


def earlier_maps(store: Store, dataset_id: str, release_id: str) -> list[dict]:
    """The map.json of every earlier published aggregate release of the dataset, withdrawn ones included
    (what was served once has been seen), read from their stored bundles."""
    with store.read() as s:
        ids = [x.id for x in store.published_releases_of_dataset(s, dataset_id, "aggregate", exclude=release_id)]
    maps = [store.release_map(i) for i in ids]
    missing = [i for i, mp in zip(ids, maps) if mp is None]
    if missing:
        raise JobFailed(f"the bundle of published release {missing[0]} is missing, so this release cannot be "
                        "checked against it; restore the data directory.")
    return maps


def _finish_release(store: Store, release_id: str, version: int, verdict: str, bundle_path: Path | None) -> None:
    bundle_sha, bundle_bytes = None, None
    if bundle_path is not None:
        from synth.readers import file_sha256

        final = store.bundle_path(release_id)
        bundle_sha, bundle_bytes = file_sha256(final), final.stat().st_size  # hashed in chunks, not loaded
    with store.write() as s:
        r = store.get(s, Release, release_id, lock=True)
        if r.version != version or r.state != "checking":
            return  # the request changed while this ran: a newer build job decides
        r.verdict, r.bundle_sha256, r.bundle_bytes = verdict, bundle_sha, bundle_bytes
        action = "gate_failed" if verdict == "fail" else "gate_passed"
        workflow.transition(store, s, r, action, None, {"verdict": verdict})


def run_build_aggregate(store: Store, release_id: str, progress: Progress) -> None:
    """An aggregate release: the dataset's real counts under the profile's disclosure control (no sampling,
    no records), checked against every earlier published release of the same dataset."""
    from synth.bundle import write_bundle
    from synth.dataset import read_dataset
    from synth.disclosure import run_aggregate_gate

    with store.read() as s:
        r = store.get(s, Release, release_id)
        m = store.get(s, TrainedModel, r.model_id)
        profile, version, dataset_id = r.profile, r.version, m.dataset_id
    progress(10, "reading the earlier published releases of the dataset")
    earlier = earlier_maps(store, dataset_id, release_id)
    progress(25, "counting the real children under disclosure control")
    real = read_dataset(store.dataset_dir(dataset_id))
    result = run_aggregate_gate(real, profile, earlier, release={"release_id": release_id, "version": version})
    work = store.tmp_path("release")
    work.mkdir(parents=True)
    wrote = None
    try:
        (work / "disclosure_report.html").write_text(result.report.to_html())
        (work / "disclosure_report.json").write_text(result.report.to_json())
        if result.verdict != "fail":
            progress(85, "writing the release bundle")
            wrote = write_bundle(work / "bundle.zip", None, result.map_json, result.report, release_id,
                                 real.lineage_hash, kind="aggregate", publisher=_council_name(store, release_id))
        store.place(work, store.release_dir(release_id))
    except BaseException:
        store.remove(work)
        raise
    _finish_release(store, release_id, version, result.verdict, wrote)


def _council_name(store: Store, release_id: str) -> str:
    from service.orm import Council

    with store.read() as s:
        return store.get(s, Council, store.get(s, Release, release_id).council_id).name


def run_build_synthetic(store: Store, release_id: str, progress: Progress) -> None:
    from synth.bundle import write_bundle
    from synth.dataset import read_dataset
    from synth.disclosure import run_gate
    from synth.models import load_model
    from synth.synthetic import write_synthetic

    with store.read() as s:
        r = store.get(s, Release, release_id)
        m = store.get(s, TrainedModel, r.model_id)
        n, profile, version, model_id, dataset_id = r.children, r.profile, r.version, m.id, m.dataset_id
    progress(5, "loading the model")
    model = load_model(store.model_path(model_id), store.signing_key())
    progress(15, f"sampling {n} synthetic children")
    tables = model.sample(n, seed=version)
    work = store.tmp_path("release")
    work.mkdir(parents=True)
    wrote = None
    try:
        write_synthetic(work / "synthetic", tables, model, version)
        synth = read_dataset(work / "synthetic")
        progress(40, "running the disclosure checks")
        real = read_dataset(store.dataset_dir(dataset_id))
        result = run_gate(real, synth, profile, release={"release_id": release_id, "version": version})
        (work / "disclosure_report.html").write_text(result.report.to_html())
        (work / "disclosure_report.json").write_text(result.report.to_json())
        if result.verdict != "fail":
            progress(85, "writing the release bundle")
            wrote = write_bundle(work / "bundle.zip", synth, result.map_json, result.report, release_id,
                                 real.lineage_hash, publisher=_council_name(store, release_id))
        store.place(work, store.release_dir(release_id))
    except BaseException:
        store.remove(work)
        raise
    _finish_release(store, release_id, version, result.verdict, wrote)


# ----------------------------------------------------------------------------------------------
# Runners.
def _execute_and_release_memory(store: Store, job_id: str) -> None:
    """Jobs here run inside a web worker: once one ends, hand the memory its tables used back to the
    system (glibc keeps freed blocks otherwise; measured on a 150,000-children train-and-sample job:
    898 MiB resident after the job, 611 MiB after the trim, most of the rest being imported libraries)."""
    try:
        execute(store, job_id)
    finally:
        import ctypes
        import gc

        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: nothing to trim
            pass


class InProcessRunner:
    backend = "inprocess"

    def __init__(self, store: Store, workers: int = 1):
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="frontdoor-job")

    def submit(self, job_id: str) -> None:
        self.pool.submit(_execute_and_release_memory, self.store, job_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class LocalQueueRunner:
    """Jobs wait in the database for the service's local job process (`frontdoor worker --local`, which
    `frontdoor serve` starts beside gunicorn): web processes only queue them, so a 150,000-children training
    never shares a web worker's cores, memory or lifetime with requests."""

    backend = "local"

    def __init__(self, store: Store):
        self.store = store

    def submit(self, job_id: str) -> None:
        pass  # the job's row is queued; the local job process takes it (`run_local_jobs`)

    def shutdown(self) -> None:
        pass


def next_local_job(store: Store) -> str | None:
    with store.read() as s:
        queued = store.queued_jobs(s, LocalQueueRunner.backend)
    return queued[0].id if queued else None


def run_local_jobs(store: Store, stop: threading.Event, poll_seconds: float = 0.5) -> None:
    """The local job process's loop: take the oldest queued job, run it, repeat, until `stop`. Several loops
    (threads or processes) may run together: `execute` lets only one of them take a queued job."""
    while not stop.is_set():
        job_id = next_local_job(store)
        if job_id is None:
            stop.wait(poll_seconds)
            continue
        _execute_and_release_memory(store, job_id)


class RQRunner:
    backend = "rq"

    def __init__(self, store: Store, redis_url: str):
        from redis import Redis
        from rq import Queue

        self.store = store
        self.queue = Queue(store.cfg.get("QUEUE") or "frontdoor", connection=Redis.from_url(redis_url),
                           default_timeout=3600)

    def submit(self, job_id: str) -> None:
        from rq import Callback

        self.queue.enqueue("service.jobs.rq_execute", job_id, job_id=f"fd-{job_id}", job_timeout=3600,
                           on_failure=Callback(rq_on_failure))

    def shutdown(self) -> None:
        pass


def _store_from_env() -> Store:
    from service.config import load_config

    return Store(load_config())


def rq_execute(job_id: str) -> None:
    """Entry point on RQ workers: the same job function, with configuration from the environment."""
    store = _store_from_env()
    try:
        execute(store, job_id)
    finally:
        store.dispose()


def rq_on_failure(job, connection, exc_type, exc_value, tb) -> None:
    store = _store_from_env()
    try:
        fail_job(store, job.id.removeprefix("fd-"), f"the worker failed ({exc_type.__name__}); start it again.")
    finally:
        store.dispose()


def make_runner(store: Store):
    """RQ when Redis is configured; else the local job process when JOB_BACKEND says so (`frontdoor serve`
    does); else threads in this process (tests, the CLI's own use)."""
    url = store.cfg.get("REDIS_URL")
    if url:
        return RQRunner(store, url)
    if store.cfg.get("JOB_BACKEND") == LocalQueueRunner.backend:
        return LocalQueueRunner(store)
    return InProcessRunner(store, int(store.cfg.get("JOB_WORKERS", 1)))
