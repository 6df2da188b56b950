"""Datasets: upload (checked before anything is kept), see, list and delete."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service import audit
from service.governance import permissions
from service.governance.errors import Invalid, UnsupportedType
from service.operations.common import new_job, require
from service.orm import Dataset, Job, User
from service.store import Store, new_id

UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass
class Upload:
    filename: str
    stream: BinaryIO


def upload_dataset(store: Store, runner, user: User, name: str, uploads: list[Upload],
                   dates: str = "day-first") -> tuple[Dataset, Job]:
    """Save uploaded Annex A files, check they can be read and hold Annex A lists, and start the ingest.
    Refuses (and keeps nothing) when a file is not a readable Annex A workbook or CSV. `dates`:
    'day-first' (dd/mm/yyyy, the default) or 'month-first' (text dates written mm/dd/yyyy)."""
    from synth.errors import InputFileError, ValidationError
    from synth.ingest import check_one_standard, identify_list, why_unrecognised
    from synth.readers import read_headers

    require(user, "dataset:create")
    if dates not in ("day-first", "month-first"):
        raise Invalid("dates must be 'day-first' (dd/mm/yyyy, the default) or 'month-first' (mm/dd/yyyy).")
    name = (name or "").strip()
    if not name:
        raise Invalid("give the dataset a name.")
    if not uploads:
        raise Invalid("attach at least one Annex A file (field 'file').")
    tmp = store.tmp_path("upload")
    tmp.mkdir(parents=True)
    try:
        files = []
        for up in uploads:
            fname = _SAFE_NAME.sub("_", Path(up.filename or "").name).strip() or "upload"
            if not fname.lower().endswith(UPLOAD_SUFFIXES):
                raise UnsupportedType(f"{fname}: not an Annex A file type; upload .xlsx workbooks or .csv files.")
            dest = tmp / fname
            if dest.exists():
                raise Invalid(f"{fname} was attached twice; attach each file once.")
            with open(dest, "wb") as out:
                shutil.copyfileobj(up.stream, out, length=1 << 20)
            files.append(dest)
        found, why, recognised = [], [], []
        for f in files:
            try:
                tables = read_headers(f)
            except InputFileError as exc:
                raise Invalid(exc.message) from None
            for table in tables:
                annex = identify_list(table)
                if annex is None:
                    why.append(f"{table.where}: {why_unrecognised(table)}")
                else:
                    found.append(annex.number)
                    recognised.append((table, annex))
        try:  # Annex A lists or SSD tables, not both; SSD tables with the persons table
            check_one_standard(recognised)
            from synth.ssd import require_person_table
            from synth.ssd_schema import SsdTable

            require_person_table({spec.name for _, spec in recognised if isinstance(spec, SsdTable)})
        except ValidationError as exc:
            raise Invalid(exc.message) from None
        if not found:
            raise Invalid("none of the files holds an Annex A list (Lists 1-8) recognisable by its headers ("
                          + "; ".join(why[:5]) + ").")
        dataset_id = new_id()
        store.place(tmp, store.upload_dir(dataset_id))
    except BaseException:
        store.remove(tmp)
        raise
    try:
        with store.write() as s:
            ds = Dataset(id=dataset_id, council_id=user.council_id, name=name[:200], owner_id=user.id,
                         status="ingesting", report={"options": {"dates": dates}},
                         files=[{"name": f.name, "bytes": (store.upload_dir(dataset_id) / f.name).stat().st_size}
                                for f in files])
            s.add(ds)
            job = new_job(store, s, runner, "ingest", "dataset", dataset_id, user)
            audit.record(store, s, user, "dataset.uploaded", "dataset", dataset_id,
                         {"files": len(files), "lists": sorted(set(found), key=str)})
    except BaseException:
        store.remove(store.upload_dir(dataset_id))
        raise
    runner.submit(job.id)
    return ds, job


def get_dataset(store: Store, s, user: User, dataset_id: str) -> Dataset:
    ds = store.get(s, Dataset, dataset_id)
    permissions.check_view_dataset(user, ds)
    return ds


def list_datasets(store: Store, s, user: User) -> list[Dataset]:
    require(user, "dataset:read")
    return store.datasets(s, user.council_id, None if permissions.sees_every(user, "dataset") else user.id)


@dataclass
class Deleted:
    dataset: Dataset
    models: int
    files: int


def delete_dataset(store: Store, user: User, dataset_id: str) -> Deleted:
    """Delete a dataset (its owner, or an admin of its council): its raw uploads, its canonical tables and the
    models trained on it (they derive from the raw records). Its record stays, emptied of its report and
    counts and marked deleted, with its audit trail; releases made from it keep their record and report.

    Refused (a Conflict, from permissions.check_delete_dataset) while the dataset is being ingested or a model of
    it trained, and while a release of it is in progress, in review, approved or published (withdraw it first):
    those rest on the dataset. Nothing is
    half-done: the files are moved out of place by rename inside the database transaction and moved back if
    it fails; they are removed once it has committed."""
    require(user, "dataset:delete")
    trash = store.tmp_path(f"deleted-{dataset_id}")
    moved: list[tuple[Path, Path]] = []
    try:
        with store.write() as s:
            # Rows locked first (PostgreSQL), so that a training or release requested meanwhile waits for this
            # and then finds the dataset or model deleted, or is seen below.
            store.get(s, Dataset, dataset_id, lock=True)
            ds = get_dataset(store, s, user, dataset_id)  # owner or admin of its council, else 404
            permissions.check_delete_dataset(user, ds)  # not while it is ingested
            models = store.models_of_dataset(s, ds.id, lock=True)
            permissions.check_delete_dataset(user, ds, models, store.releases_of_models(s, [m.id for m in models]))
            trash.mkdir(parents=True)
            for src in (store.upload_dir(ds.id), store.dataset_dir(ds.id), *(store.model_path(m.id) for m in models)):
                if src.exists():
                    dest = trash / f"{len(moved)}-{src.name}"
                    src.rename(dest)
                    moved.append((dest, src))
            files = sum(1 for p in trash.rglob("*") if p.is_file())
            ds.status, ds.report, ds.counts, ds.files, ds.error = "deleted", None, None, [], None
            for m in models:
                m.status = "deleted"
            audit.record(store, s, user, "dataset.deleted", "dataset", dataset_id,
                         {"models": len(models), "files": files})
    except BaseException:
        for dest, src in reversed(moved):
            dest.rename(src)
        store.remove(trash)
        raise
    store.remove(trash)
    return Deleted(ds, len(models), files)
