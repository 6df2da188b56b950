"""Storage: the database and the data directory. Nothing else in the service touches SQL or paths.

Data directory layout:
    frontdoor.db                 SQLite (unless DATABASE_URL points elsewhere)
    pseudonym.key                the service's secret (pseudonyms, model signing), created on first use
    secret.key                   signs session cookies, created on first use
    uploads/<dataset>/           the files a data owner uploaded (raw data: never served)
    datasets/<dataset>/          canonical tables (Parquet)
    models/<model>.fdm           signed model files
    releases/<release>/          synthetic/, disclosure report, bundle.zip
    tmp/                         work in progress; moved into place by rename only when complete

Writes to the database go through `write()`, one transaction per call; on SQLite it begins
IMMEDIATE so that concurrent writers queue rather than fail, and the audit chain stays linear.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.orm import DEFAULT_COUNCIL_ID, AuditEvent, Council, Dataset, Job, Release, TrainedModel, User, now

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
TMP_KEEP_HOURS = 24  # work in tmp/ untouched this long belongs to a job that died (Store.sweep_tmp)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.data_dir = Path(cfg["DATA_DIR"])
        url = cfg["DATABASE_URL"]
        self.is_sqlite = url.startswith("sqlite")
        kwargs = {"connect_args": {"timeout": 30, "check_same_thread": False}} if self.is_sqlite else \
            {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
        self.engine = create_engine(url, **kwargs)
        self.write_engine = create_engine(url, **kwargs) if self.is_sqlite else self.engine
        if self.is_sqlite:
            _sqlite_setup(self.engine, immediate=False)
            _sqlite_setup(self.write_engine, immediate=True)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        event.listen(self._write, "before_flush", _note_release_changes)

    # -- lifecycle -----------------------------------------------------------------------------
    def init(self) -> None:
        """Create the data directory and bring the database schema up to date (Alembic)."""
        # Raw uploads, canonical tables, models and keys: readable by the service's own user only.
        os.umask(0o077)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        for sub in ("uploads", "datasets", "models", "releases", "tmp"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
            (self.data_dir / sub).chmod(0o700)
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.cfg["DATABASE_URL"].replace("%", "%%"))
        with self.write_engine.connect() as conn:
            raw = conn.connection.driver_connection  # outside any transaction (we issue BEGIN ourselves)
            if self.is_sqlite:  # table copies in batch migrations: foreign keys off, checked after (SQLite 12 steps)
                raw.execute("PRAGMA foreign_keys=OFF")
            with conn.begin():
                if not self.is_sqlite:  # processes starting together migrate one after another
                    from sqlalchemy import text

                    conn.execute(text("SELECT pg_advisory_xact_lock(4242420)"))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            if self.is_sqlite:
                broken = raw.execute("PRAGMA foreign_key_check").fetchall()
                raw.execute("PRAGMA foreign_keys=ON")
                if broken:
                    raise RuntimeError(f"the database's foreign keys do not hold after migrating: {broken[:5]}")
        self._stamp_release_catalogue()  # lists kept by processes of an earlier run are not trusted
        self._stamp("users")

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as s:
            with s.begin():
                yield s
            if s.info.pop("releases_changed", False):
                self._stamp_release_catalogue()
            if s.info.pop("users_changed", False):
                self._stamp("users")

    # -- the release catalogue's version -------------------------------------------------------
    def _release_stamp_path(self) -> Path:
        return self._stamp_path("catalogue")

    def _stamp_release_catalogue(self) -> None:
        """Mark that some release changed, after its transaction committed: every serving process (on
        this machine or another sharing the data directory) sees the new version with one small read."""
        self._stamp("catalogue")

    def _stamp_path(self, name: str) -> Path:
        return self.data_dir / "releases" / f".{name}-version"

    def _stamp(self, name: str) -> None:
        path = self._stamp_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}-version-{uuid.uuid4().hex[:8]}")
        tmp.write_text(uuid.uuid4().hex)
        os.replace(tmp, path)

    def users_version(self) -> str | None:
        """Changes whenever a user changes (a token revoked, rotated, a user deactivated): processes keeping
        recently seen tokens drop them when it moves, so a revoked token stops working at once."""
        try:
            return self._stamp_path("users").read_text()
        except FileNotFoundError:
            return None

    def release_catalogue_version(self) -> str | None:
        """Changes whenever a release is created or changes state (see `_stamp_release_catalogue`): a
        random token, read afresh each time (file times and inode numbers can repeat within milliseconds)."""
        try:
            return self._release_stamp_path().read_text()
        except FileNotFoundError:
            return None

    # -- secrets -------------------------------------------------------------------------------
    def secret(self, name: str, configured: str | None) -> bytes:
        """A secret from configuration, else from a file in the data directory made on first use."""
        if configured:
            return configured.encode()
        path = self.data_dir / f"{name}.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        except FileExistsError:
            pass
        return path.read_text().strip().encode()

    def pseudonym_key(self) -> bytes:
        return self.secret("pseudonym", self.cfg.get("PSEUDONYM_KEY") or os.environ.get("FRONTDOOR_PSEUDONYM_KEY"))

    def signing_key(self) -> bytes:
        from synth.models import signing_key_from

        return signing_key_from(self.pseudonym_key())

    # -- paths ---------------------------------------------------------------------------------
    def tmp_path(self, prefix: str) -> Path:
        return self.data_dir / "tmp" / f"{prefix}-{uuid.uuid4().hex[:8]}"

    def upload_dir(self, dataset_id: str) -> Path:
        return self.data_dir / "uploads" / dataset_id

    def dataset_dir(self, dataset_id: str) -> Path:
        return self.data_dir / "datasets" / dataset_id

    def model_path(self, model_id: str) -> Path:
        return self.data_dir / "models" / f"{model_id}.fdm"

    def release_dir(self, release_id: str) -> Path:
        return self.data_dir / "releases" / release_id

    def bundle_path(self, release_id: str) -> Path:
        return self.release_dir(release_id) / "bundle.zip"

    def report_path(self, release_id: str, kind: str = "html") -> Path:
        return self.release_dir(release_id) / f"disclosure_report.{kind}"

    def place(self, tmp: Path, final: Path) -> Path:
        """Move finished work into place by rename (replacing what was there, atomically for files)."""
        final.parent.mkdir(parents=True, exist_ok=True)
        if tmp.is_dir() and final.exists():
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:6]}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        return final

    def remove(self, path: Path) -> None:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def sweep_tmp(self, older_than_hours: float = TMP_KEEP_HOURS) -> int:
        """Remove work left in `tmp/` by jobs that died mid-way (a killed release build leaves a release-*
        folder with synthetic tables in it). Only entries untouched for `older_than_hours` go: a job running
        now, in this process or a worker elsewhere on the shared data directory, is younger. Returns how many."""
        import time

        folder = self.data_dir / "tmp"
        if not folder.is_dir():
            return 0
        limit = time.time() - older_than_hours * 3600
        removed = 0
        for entry in folder.iterdir():
            try:
                newest = max([entry.stat().st_mtime, *(p.stat().st_mtime for p in entry.rglob("*"))]
                             if entry.is_dir() else [entry.stat().st_mtime])
            except FileNotFoundError:  # another process removed it first
                continue
            if newest < limit:
                self.remove(entry)
                removed += 1
        return removed

    # -- councils ------------------------------------------------------------------------------
    def add_council(self, s: Session, code: str, name: str, population: int | None = None) -> Council:
        council = Council(code=code, name=name, population=population, shares_aggregates=False)
        s.add(council)
        s.flush()
        return council

    def council_by_code(self, s: Session, code: str) -> Council | None:
        return s.scalar(select(Council).where(Council.code == code))

    def councils(self, s: Session, sharing: bool | None = None) -> list[Council]:
        q = select(Council).order_by(Council.id)
        if sharing is not None:
            q = q.where(Council.shares_aggregates.is_(sharing))
        return list(s.scalars(q))

    # -- users ---------------------------------------------------------------------------------
    def add_user(self, s: Session, name: str, role: str, council_id: int = DEFAULT_COUNCIL_ID) -> tuple[User, str]:
        user = User(name=name, role=role, council_id=council_id, token_hash="")
        token = self.new_token(user)
        s.add(user)
        s.flush()
        return user, token

    def new_token(self, user: User) -> str:
        """Give the user a new token (the old one stops working) and return it: shown once, stored hashed."""
        token = "fd_" + secrets.token_urlsafe(32)
        days = int(self.cfg.get("TOKEN_DAYS") or 0)
        user.token_hash = hash_token(token)
        user.token_expires_at = now() + timedelta(days=days) if days else None
        return token

    def revoke_token(self, user: User) -> None:
        """The user's token stops working; no token hashes to this (it is not a hex digest)."""
        user.token_hash = "revoked:" + secrets.token_hex(16)

    def user_by_token(self, s: Session, token: str) -> User | None:
        user = s.scalar(select(User).where(User.token_hash == hash_token(token), User.active.is_(True)))
        if user is None or (user.token_expires_at and user.token_expires_at < now()):
            return None
        return user

    def user_by_name(self, s: Session, name: str) -> User | None:
        return s.scalar(select(User).where(User.name == name))

    def users(self, s: Session, council_id: int | None = None) -> list[User]:
        q = select(User).order_by(User.id)
        if council_id is not None:
            q = q.where(User.council_id == council_id)
        return list(s.scalars(q))

    # -- datasets, models, jobs ----------------------------------------------------------------
    def get(self, s: Session, cls, object_id, *, lock: bool = False):
        q = select(cls).where(cls.id == object_id)
        if lock and not self.is_sqlite:
            q = q.with_for_update()
        return s.scalar(q)

    def datasets(self, s: Session, council_id: int, owner_id: int | None = None) -> list[Dataset]:
        q = (select(Dataset).where(Dataset.council_id == council_id, Dataset.status != "deleted")
             .order_by(Dataset.created_at.desc()))
        if owner_id is not None:
            q = q.where(Dataset.owner_id == owner_id)
        return list(s.scalars(q))

    def models(self, s: Session, council_id: int, owner_id: int | None = None) -> list[TrainedModel]:
        q = select(TrainedModel).where(TrainedModel.council_id == council_id).order_by(TrainedModel.created_at.desc())
        if owner_id is not None:
            q = q.where(TrainedModel.owner_id == owner_id)
        return list(s.scalars(q))

    def models_of_dataset(self, s: Session, dataset_id: str, *, lock: bool = False) -> list[TrainedModel]:
        q = select(TrainedModel).where(TrainedModel.dataset_id == dataset_id)
        if lock and not self.is_sqlite:
            q = q.with_for_update()
        return list(s.scalars(q))

    def stale_jobs(self, s: Session, older_than: datetime) -> list[Job]:
        return list(s.scalars(select(Job).where(Job.status == "running",
                                                func.coalesce(Job.heartbeat_at, Job.started_at) < older_than)))

    def queued_jobs(self, s: Session, backend: str) -> list[Job]:
        return list(s.scalars(select(Job).where(Job.status == "queued", Job.backend == backend)
                              .order_by(Job.created_at)))

    def touch_job(self, job_id: str, **values) -> None:
        with self.write() as s:
            s.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=now(), **values))

    # -- releases ------------------------------------------------------------------------------
    def releases(self, s: Session, council_id: int, states: list[str] | None = None, requester_id: int | None = None,
                 include_published: bool = False) -> list[Release]:
        q = select(Release).where(Release.council_id == council_id).order_by(Release.created_at.desc())
        if states is not None and requester_id is not None and include_published:
            q = q.where((Release.requester_id == requester_id) | (Release.state == "published"))
        elif requester_id is not None:
            q = q.where(Release.requester_id == requester_id)
        if states is not None:
            q = q.where(Release.state.in_(states))
        return list(s.scalars(q))

    def releases_of_models(self, s: Session, model_ids: list[str]) -> list[Release]:
        if not model_ids:
            return []
        return list(s.scalars(select(Release).where(Release.model_id.in_(model_ids)).order_by(Release.created_at)))

    def published_releases_of_dataset(self, s: Session, dataset_id: str, kind: str | None = None,
                                      exclude: str | None = None) -> list[Release]:
        """Every release of a dataset (through its models) that was ever published, withdrawn ones too:
        what was once served has been seen. Oldest first."""
        q = (select(Release).join(TrainedModel, Release.model_id == TrainedModel.id)
             .where(TrainedModel.dataset_id == dataset_id, Release.published_at.is_not(None))
             .order_by(Release.published_at))
        if kind is not None:
            q = q.where(Release.kind == kind)
        if exclude is not None:
            q = q.where(Release.id != exclude)
        return list(s.scalars(q))

    def shared_aggregate_releases(self, s: Session) -> dict[int, Release]:
        """The aggregate release each sharing council shares now: its latest published one that is still
        published (a withdrawn release is no longer served, to anyone). Keyed by council id."""
        q = (select(Release).join(Council, Release.council_id == Council.id)
             .where(Council.shares_aggregates.is_(True), Release.kind == "aggregate", Release.state == "published")
             .order_by(Release.published_at))
        return {r.council_id: r for r in s.scalars(q)}

    def release_map(self, release_id: str) -> dict | None:
        """The map.json of a release's stored bundle (None when it has none)."""
        import json
        import zipfile

        path = self.bundle_path(release_id)
        if not path.exists():
            return None
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("map.json"))

    # -- audit ---------------------------------------------------------------------------------
    def last_audit(self, s: Session, council_id: int) -> AuditEvent | None:
        q = select(AuditEvent).where(AuditEvent.council_id == council_id).order_by(AuditEvent.id.desc()).limit(1)
        if not self.is_sqlite:
            q = q.with_for_update()
        return s.scalar(q)

    def audit_events(self, s: Session, council_id: int, limit: int | None = None, offset: int = 0,
                     **filters) -> list[AuditEvent]:
        q = select(AuditEvent).where(AuditEvent.council_id == council_id).order_by(AuditEvent.id)
        for key, value in filters.items():
            if value is not None:
                q = q.where(getattr(AuditEvent, key) == value)
        if limit is not None:
            q = q.offset(offset).limit(limit)
        return list(s.scalars(q))

    def lock_audit_chain(self, s: Session, council_id: int) -> None:
        """Serialise appends to a council's audit chain (Postgres; SQLite writers are already serialised)."""
        if not self.is_sqlite:
            from sqlalchemy import text

            s.execute(text("SELECT pg_advisory_xact_lock(424242, :c)"), {"c": council_id})


def _note_release_changes(session: Session, flush_context, instances) -> None:
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(o, Release) for o in changed):
        session.info["releases_changed"] = True
    if any(isinstance(o, User) for o in changed):
        session.info["users_changed"] = True


def _sqlite_setup(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
