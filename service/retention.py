"""How long raw uploads are kept. An uploaded workbook holds child ids, names and dates of birth; once its
ingest has ended, the service needs only the canonical (pseudonymised) tables, so the raw files are deleted
RAW_UPLOAD_KEEP_HOURS after the ingest ended, whether it succeeded or failed (0, the default: at once).

Deletion is a rename out of `uploads/` (atomic: the files are either in place or gone) followed by removal,
audited as `dataset.upload_deleted` with the number of files (never their names' contents or any value).
Two processes sweeping together cannot delete twice: only the one whose rename succeeds records it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from service import audit
from service.orm import Dataset, Job, now
from service.store import Store

log = logging.getLogger(__name__)
SWEEP_SECONDS = 600  # with a retention of hours, expired uploads are looked for this often (and at start)


def keep_hours(store: Store) -> int:
    return int(store.cfg.get("RAW_UPLOAD_KEEP_HOURS") or 0)


def discard_upload(store: Store, dataset_id: str, why: str) -> bool:
    """Delete a dataset's raw uploaded files now. Returns False when there were none (or another process
    took them first)."""
    folder = store.upload_dir(dataset_id)
    if not folder.exists():
        return False
    trash = store.tmp_path(f"upload-deleted-{dataset_id}")
    try:
        folder.rename(trash)
    except FileNotFoundError:
        return False
    files = sum(1 for p in trash.rglob("*") if p.is_file())
    store.remove(trash)
    with store.write() as s:
        ds = store.get(s, Dataset, dataset_id)
        if ds is not None:
            audit.record(store, s, None, "dataset.upload_deleted", "dataset", dataset_id,
                         {"files": files, "why": why}, council_id=ds.council_id)
    return True


def after_ingest(store: Store, dataset_id: str, succeeded: bool) -> None:
    """Called when an ingest job ends: with no retention the raw files go now."""
    if keep_hours(store) == 0:
        discard_upload(store, dataset_id, "ingest succeeded" if succeeded else "ingest failed")


def purge_expired_uploads(store: Store) -> int:
    """Delete the raw uploads of every dataset whose ingest ended more than RAW_UPLOAD_KEEP_HOURS ago (any
    left by a process stopped mid-way too). Returns how many datasets' files were deleted."""
    limit = now() - timedelta(hours=keep_hours(store))
    with store.read() as s:
        ended = s.execute(select(Job.target_id, Job.finished_at)
                          .where(Job.kind == "ingest", Job.status.in_(("succeeded", "failed")))).all()
    done = 0
    for dataset_id, finished in ended:
        if finished is not None and finished <= limit and store.upload_dir(dataset_id).exists():
            done += discard_upload(store, dataset_id, f"kept {keep_hours(store)} hours after the ingest")
    for left in (store.data_dir / "tmp").glob("upload-deleted-*"):  # renamed away by a process that then stopped
        store.remove(left)
    return done


def start(store: Store) -> threading.Thread | None:
    """Sweep once now and, when uploads are kept for hours, every SWEEP_SECONDS in the background."""
    try:
        purge_expired_uploads(store)
    except Exception:  # noqa: BLE001 - a sweep that fails must not stop the service starting; it is retried
        log.exception("could not delete expired raw uploads")
    if keep_hours(store) == 0:
        return None
    stop = threading.Event()

    def sweep() -> None:
        while not stop.wait(SWEEP_SECONDS):
            try:
                purge_expired_uploads(store)
            except Exception:  # noqa: BLE001
                log.exception("could not delete expired raw uploads")

    thread = threading.Thread(target=sweep, name="frontdoor-upload-retention", daemon=True)
    thread.start()
    return thread
