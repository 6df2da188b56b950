"""Migration 0004 (councils as tenants) on a service that already holds data: everything lands in the
default council, the audit chain written before still verifies and goes on, and it goes back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from service import audit
from service.store import Store
from tests.service.conftest import PG_URL, _fresh_postgres
from tests.service.test_model_window import _alembic

TABLES = ("users", "datasets", "jobs", "models", "releases", "audit_events")


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgres"] if PG_URL else []))
def test_existing_objects_and_audit_chain_move_into_the_default_council(tmp_path, backend):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if backend == "sqlite" else _fresh_postgres()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic(url, conn), "0003")
            conn.execute(sa.text("INSERT INTO users (id, name, role, token_hash, active, created_at) "
                                 "VALUES (1, 'o', 'data_owner', 'h', true, '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO datasets (id, name, owner_id, status, files, created_at) "
                                 "VALUES ('d1', 'd', 1, 'ready', '[]', '2026-01-01')"))
            prev = audit.GENESIS
            for i in range(3):  # the chain as the service wrote it before councils
                at = f"2026-01-01T00:00:0{i}"
                h = audit.event_hash(prev, at, 1, "o", "test.event", "dataset", "d1", {"n": i})
                conn.execute(sa.text("INSERT INTO audit_events (at, actor_id, actor, action, object_type, object_id, "
                                     "details, prev_hash, hash) VALUES (:at, 1, 'o', 'test.event', 'dataset', 'd1', "
                                     ":details, :prev, :h)"), {"at": at, "details": f'{{"n": {i}}}', "prev": prev,
                                                                "h": h})
                prev = h
        store = Store({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url})
        store.init()  # upgrades to head, as the service does when it starts
        try:
            with engine.connect() as conn:
                for table in TABLES:
                    councils = conn.execute(sa.text(f"SELECT DISTINCT council_id FROM {table}")).scalars().all()
                    assert councils in ([1], []), table
            assert audit.verify(store, 1).ok and audit.verify(store, 1).events == 3
            with store.write() as s:
                owner = store.user_by_name(s, "o")
                audit.record(store, s, owner, "test.after", "dataset", "d1", {})
                other = store.add_council(s, "other", "Other")
                audit.record(store, s, None, "test.other", "council", str(other.id), {}, council_id=other.id)
            assert audit.verify(store, 1).ok and audit.verify(store, 1).events == 4
            assert audit.verify(store, other.id).ok and audit.verify(store, other.id).events == 1
        finally:
            store.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_events WHERE council_id <> 1"))
            conn.execute(sa.text("DELETE FROM councils WHERE id <> 1"))
            command.downgrade(_alembic(url, conn), "0003")
        assert "councils" not in sa.inspect(engine).get_table_names()
        assert "council_id" not in {c["name"] for c in sa.inspect(engine).get_columns("datasets")}
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgres"] if PG_URL else []))
def test_processes_starting_together_migrate_one_after_another(tmp_path, backend):
    """Gunicorn's workers (and RQ workers) start at once, each bringing the schema up to date."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if backend == "sqlite" else _fresh_postgres()
    stores = [Store({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url}) for _ in range(4)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda st: st.init(), stores))
        with stores[0].read() as s:
            assert [c.code for c in stores[0].councils(s)] == ["default"]
    finally:
        for st in stores:
            st.dispose()
