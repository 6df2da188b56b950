"""A dataset directory: the canonical tables of one council as Parquet, plus `dataset.json`.

Written whole or not at all: files go to a hidden temporary directory beside the target, which
is renamed into place at the end, so a failure never leaves a half-written dataset and never
touches the one already there (unless `overwrite`, which swaps the new one in by rename).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from synth.errors import DatasetError

FORMAT = "frontdoor-dataset"
FORMAT_VERSION = 1
TABLES = ("children", "events", "episodes")
ISSUES = "issues.parquet"


@dataclass
class Dataset:
    children: pd.DataFrame
    events: pd.DataFrame
    episodes: pd.DataFrame
    manifest: dict
    # Every problem the ingest found, row by row (file, sheet, row, column, message, severity; never a cell
    # value): the manifest's report keeps the groups and the first rows, this keeps them all.
    issues: pd.DataFrame | None = None

    @property
    def lineage_hash(self) -> str:
        return self.manifest["lineage_hash"]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_dataset(out: Path, dataset: Dataset, *, overwrite: bool = False) -> Path:
    """Write the tables and manifest to `out` atomically."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DatasetError(f"{out} already exists and is not empty; choose a new directory or pass --overwrite.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for name in TABLES:
            getattr(dataset, name).to_parquet(tmp / f"{name}.parquet", index=False)
        if dataset.issues is not None:
            issues = dataset.issues.astype({"row": "Int64"}).astype(
                {c: "string" for c in ("file", "sheet", "column", "message", "severity")})
            issues.to_parquet(tmp / ISSUES, index=False)
        manifest = {"format": FORMAT, "version": FORMAT_VERSION,
                    "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **dataset.manifest}
        (tmp / "dataset.json").write_text(json.dumps(manifest, indent=2, default=str))
        _fsync_dir(tmp)
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_manifest(path: Path) -> dict:
    path = Path(path)
    meta = path / "dataset.json"
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset directory; run `frontdoor ingest ... --out {path}` first.")
    if not meta.exists():
        raise DatasetError(f"{path}: not a Frontdoor dataset (no dataset.json); run `frontdoor ingest` to make one.")
    try:
        manifest = json.loads(meta.read_text())
    except json.JSONDecodeError:
        raise DatasetError(f"{meta}: damaged (not JSON); ingest the data again.") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise DatasetError(f"{path}: not a dataset this version of Frontdoor can read; ingest the data again.")
    return manifest


def read_dataset(path: Path) -> Dataset:
    """Load a dataset directory written by `write_dataset`."""
    path = Path(path)
    manifest = read_manifest(path)
    tables = {}
    for name in TABLES:
        f = path / f"{name}.parquet"
        if not f.exists():
            raise DatasetError(f"{path}: {f.name} is missing; the dataset is incomplete, ingest the data again.")
        try:
            tables[name] = pd.read_parquet(f)
        except Exception:
            raise DatasetError(f"{f}: damaged; ingest the data again.") from None
    return Dataset(tables["children"], tables["events"], tables["episodes"], manifest)


def read_issues(path: Path) -> pd.DataFrame | None:
    """Every problem the ingest of a dataset directory found, row by row, in the report's order; None for a
    dataset written without them."""
    f = Path(path) / ISSUES
    if not f.exists():
        return None
    try:
        issues = pd.read_parquet(f)
    except Exception:
        raise DatasetError(f"{f}: damaged; ingest the data again.") from None
    return issues.sort_values(["severity", "file", "sheet", "row"], kind="mergesort", na_position="first")
