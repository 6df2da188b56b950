"""Objects in any state, made directly: no upload, no training, no build.

Two kinds, the same shapes:
- plain ORM objects held in memory (`user`, `dataset`, `model`, `job`, `release`, `review`), for the rules in
  service.governance, which read only the objects' fields: thousands of cases a second;
- rows of a real store (`Stored`), for service tests that need "a release in state X requested by Y" behind
  the API or the pages without taking a council through the whole pipeline (seconds per release).
A release's requester may hold any role, so a rule that rests on the requester (never review your own) can be
tested apart from the role rules.

A stored dataset or release can carry real files: `Built` is what the real pipeline made once (a council uploaded,
ingested, trained, built, reviewed and published, see the `built` fixture in tests/service/conftest.py), and
`Stored` copies its canonical tables or a release's folder (bundle, disclosure reports, synthetic tables) into
another store, with the row fields the build wrote (checksum, size, verdict). The API there serves, and jobs there
read, files the real build wrote.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

from service.governance.states import STATES
from service.orm import DEFAULT_COUNCIL_ID, Dataset, Job, Release, Review, TrainedModel, User, now
from service.store import new_id

_user_ids = itertools.count(10_000)


# -- in memory -----------------------------------------------------------------------------------
def user(role: str = "data_owner", council_id: int = DEFAULT_COUNCIL_ID, name: str | None = None) -> User:
    uid = next(_user_ids)
    return User(id=uid, name=name or f"{role}-{uid}", role=role, council_id=council_id, active=True, token_hash="")


def dataset(owner: User, status: str = "ready", council_id: int | None = None) -> Dataset:
    return Dataset(id=new_id(), council_id=owner.council_id if council_id is None else council_id, name="Test",
                   owner_id=owner.id, status=status, files=[])


def model(owner: User, status: str = "ready", council_id: int | None = None, ds: Dataset | None = None) -> TrainedModel:
    return TrainedModel(id=new_id(), council_id=owner.council_id if council_id is None else council_id,
                        dataset_id=ds.id if ds else new_id(), owner_id=owner.id, generator="journey", status=status)


def job(creator: User, target_type: str = "release", council_id: int | None = None, kind: str | None = None) -> Job:
    kinds = {"dataset": "ingest", "model": "train", "release": "build_release"}
    return Job(id=new_id(), council_id=creator.council_id if council_id is None else council_id,
               kind=kind or kinds[target_type], target_type=target_type, target_id=new_id(), created_by=creator.id,
               status="succeeded", progress=100, stage="done", backend="inprocess")


def release(state: str = "awaiting_review", requester: User | None = None, council_id: int | None = None,
            kind: str = "synthetic", version: int = 1) -> Release:
    """A release in `state`, requested by `requester` (a new data owner unless given), of the requester's council
    unless `council_id` says otherwise."""
    if state not in STATES:
        raise ValueError(f"unknown release state {state!r}; one of {', '.join(STATES)}")
    requester = requester or user("data_owner")
    r = Release(id=new_id(), council_id=requester.council_id if council_id is None else council_id,
                model_id=new_id(), requester_id=requester.id, kind=kind, children=0 if kind == "aggregate" else 500,
                profile="default", purpose="tests", recipients="the test suite", state=state, version=version)
    r.requester = requester
    return r


def review(r: Release, reviewer: User, decision: str = "approve", version: int | None = None) -> Review:
    """`reviewer`'s decision on `r` (on its current version unless given), added to r.reviews."""
    rv = Review(release_id=r.id, reviewer_id=reviewer.id, decision=decision, comment="",
                release_version=r.version if version is None else version)
    r.reviews.append(rv)
    return rv


# -- in a real store -----------------------------------------------------------------------------
_DATASET_FIELDS = ("report", "counts", "lineage_hash", "files")
_RELEASE_FIELDS = ("id", "kind", "children", "profile", "verdict", "bundle_sha256", "bundle_bytes")


@dataclass(frozen=True)
class Built:
    """What the real pipeline wrote in one store: a dataset (its row's fields, its canonical tables) and one
    published release of each kind made from it (the row's fields, the release's folder), by kind."""

    tables: Path
    dataset: dict
    releases: dict[str, tuple[dict, Path]]

    @classmethod
    def of(cls, store, dataset_id: str, release_ids: list[str]) -> Built:
        with store.read() as s:
            ds = s.get(Dataset, dataset_id)
            dataset = {f: getattr(ds, f) for f in _DATASET_FIELDS}
            releases = {}
            for rid in release_ids:
                r = s.get(Release, rid)
                assert r.state == "published" and r.bundle_sha256, (rid, r.state)
                releases[r.kind] = ({f: getattr(r, f) for f in _RELEASE_FIELDS}, store.release_dir(rid))
        return cls(store.dataset_dir(dataset_id), dataset, releases)

    def save(self, path: Path) -> None:
        """Written as JSON, for another test process to `load`."""
        import json

        path.write_text(json.dumps({"tables": str(self.tables), "dataset": self.dataset, "releases": {
            kind: [fields, str(folder)] for kind, (fields, folder) in self.releases.items()}}))

    @classmethod
    def load(cls, path: Path) -> Built:
        import json

        d = json.loads(path.read_text())
        return cls(Path(d["tables"]), d["dataset"],
                   {kind: (fields, Path(folder)) for kind, (fields, folder) in d["releases"].items()})


class Stored:
    """Users, datasets, models, releases and jobs as rows of `store` (SQLite or PostgreSQL), in one transaction
    each. A release's audit trail holds its request only: its state is set, not walked to."""

    def __init__(self, store):
        self.store = store

    def user(self, name: str, role: str, council_id: int = DEFAULT_COUNCIL_ID) -> tuple[User, str]:
        """A new user and their API token."""
        with self.store.write() as s:
            return self.store.add_user(s, name, role, council_id)

    def dataset(self, owner_id: int, built: Built | None = None) -> Dataset:
        """A ready dataset of the user `owner_id`'s. With `built`, the built dataset's report, counts and lineage,
        and a copy of its canonical tables, so that jobs on it read real data; without, no tables (a job that
        reads them fails)."""
        with self.store.write() as s:
            who = s.get(User, owner_id)
            ds = Dataset(id=new_id(), council_id=who.council_id, name="Stored", owner_id=who.id, status="ready",
                         **{"files": [], **(built.dataset if built else {})})
            s.add(ds)
        if built:
            shutil.copytree(built.tables, self.store.dataset_dir(ds.id))
        return ds

    def model(self, owner_id: int, dataset_id: str) -> TrainedModel:
        """A ready journey model of the user `owner_id`'s on `dataset_id`: a row, no model file (a job that samples
        from it fails; an aggregate build reads only its dataset)."""
        with self.store.write() as s:
            who = s.get(User, owner_id)
            m = TrainedModel(id=new_id(), council_id=who.council_id, dataset_id=dataset_id, owner_id=who.id,
                             generator="journey", status="ready")
            s.add(m)
        return m

    def release(self, state: str, requester_id: int, kind: str = "synthetic",
                reviewers: tuple[int, ...] = (), model_id: str | None = None, built: Built | None = None) -> Release:
        """A release in `state` requested by the user `requester_id` (of any role), on `model_id` or else on a
        ready model of a ready dataset of theirs, with an approval of its version from each of `reviewers`;
        published (or withdrawn) ones have a publication time.

        With `built`, the built published release of `kind`: its id (the id its bundle and reports name, so one
        such release per store), its request, verdict, bundle checksum and size, and a copy of its folder (bundle,
        disclosure reports, synthetic tables), which the API serves."""
        from service import audit

        if state not in STATES:
            raise ValueError(f"unknown release state {state!r}; one of {', '.join(STATES)}")
        if built and state in ("draft", "checking", "failed"):
            raise ValueError(f"a built release has passed its gate and has a bundle: not {state!r}")
        fields, folder = built.releases[kind] if built else ({}, None)
        with self.store.write() as s:
            who = s.get(User, requester_id)
            if model_id is None:
                ds = Dataset(id=new_id(), council_id=who.council_id, name="Stored", owner_id=who.id, status="ready",
                             files=[])
                m = TrainedModel(id=new_id(), council_id=who.council_id, dataset_id=ds.id, owner_id=who.id,
                                 generator="journey", status="ready")
                s.add_all([ds, m])
                s.flush()
                model_id = m.id
            if fields and s.get(Release, fields["id"]) is not None:
                raise ValueError(f"this store already has the built {kind} release {fields['id']}")
            r = Release(**{"id": new_id(), "kind": kind, "children": 0 if kind == "aggregate" else 500,
                           "profile": "default",
                           "verdict": "pass" if state not in ("draft", "checking", "failed") else None, **fields},
                        council_id=who.council_id, model_id=model_id, requester_id=who.id, purpose="tests",
                        recipients="the test suite", state=state,
                        published_at=now() if state in ("published", "withdrawn") else None)
            s.add(r)
            s.flush()
            for rid in reviewers:
                s.add(Review(release_id=r.id, reviewer_id=rid, decision="approve", comment="ok", release_version=1))
            audit.record(self.store, s, who, "release.requested", "release", r.id, {"model": model_id, "kind": kind})
        if folder is not None:
            shutil.copytree(folder, self.store.release_dir(r.id))
        return r

    def job(self, creator_id: int, target_type: str, target_id: str | None = None) -> Job:
        """A finished job of `creator_id`'s on a `target_type` ("dataset", "model" or "release")."""
        with self.store.write() as s:
            who = s.get(User, creator_id)
            j = job(who, target_type)
            if target_id is not None:
                j.target_id = target_id
            s.add(j)
        return j
