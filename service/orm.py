"""The service's tables (SQLAlchemy 2). Migrations: service/migrations (Alembic)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false as sa_false


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


DEFAULT_COUNCIL_ID = 1  # the council made by migration 0004: every object from before councils were tenants


class Council(Base):
    """A tenant: one local authority. Its datasets, models, releases, jobs, users and audit trail are its
    own; another council sees none of them, except aggregate releases both councils share (`sharing`)."""

    __tablename__ = "councils"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Children aged 0-17 living in the council's area, as the council declares it (ONS mid-year
    # estimates): the denominator of rates per 10,000 children. Public, not a figure from the records.
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shares_aggregates: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    sharing_changed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)


def _council_column() -> Mapped[int]:
    """No default: every object is given its council where it is made, so none can land in another's."""
    return mapped_column(ForeignKey("councils.id"), index=True)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    council_id: Mapped[int] = _council_column()
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    # A web session begun before this time is over (signing out, or the token revoked, rotated or deactivated).
    sessions_valid_after: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    council: Mapped[Council] = relationship()


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    council_id: Mapped[int] = _council_column()
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="ingesting")  # ingesting | ready | failed | deleted
    files: Mapped[list] = mapped_column(JSON, default=list)
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    counts: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    lineage_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    owner: Mapped[User] = relationship()


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    council_id: Mapped[int] = _council_column()
    kind: Mapped[str] = mapped_column(String(20))  # ingest | train | build_release
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | running | succeeded | failed
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(200), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    backend: Mapped[str] = mapped_column(String(20), default="inprocess")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TrainedModel(Base):
    __tablename__ = "models"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    council_id: Mapped[int] = _council_column()
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    generator: Mapped[str] = mapped_column(String(20))
    epsilon: Mapped[float | None] = mapped_column(nullable=True)
    # The extract window the council declared (both days included); required with epsilon, because a
    # window read off the records would reveal real dates. None: not declared, read from the data.
    window_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    window_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="training")  # training | ready | failed
    privacy: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    training_children: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class Release(Base):
    __tablename__ = "releases"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    council_id: Mapped[int] = _council_column()
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # synthetic: records sampled from the model, and a map computed from them; aggregate: the model's
    # dataset's real counts under the profile's disclosure control, no records (children is 0).
    kind: Mapped[str] = mapped_column(String(20), default="synthetic", server_default="synthetic")
    children: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)  # any change to the request bumps it
    verdict: Mapped[str | None] = mapped_column(String(10), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    bundle_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bundle_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Loaded with the release (selectin): the API serialises a release after its session has closed.
    requester: Mapped[User] = relationship(lazy="selectin")
    reviews: Mapped[list[Review]] = relationship(back_populates="release", order_by="Review.id", lazy="selectin")


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(10))  # approve | return | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    release_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    release: Mapped[Release] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship(lazy="selectin")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Each council's events form their own hash chain (prev_hash is the council's previous event).
    council_id: Mapped[int] = _council_column()
    at: Mapped[datetime] = mapped_column(DateTime, default=now)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
