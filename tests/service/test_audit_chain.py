"""The audit trail is hash-chained: `frontdoor audit verify` finds an edited or deleted event."""

from sqlalchemy import text

from service import audit


def test_chain_verifies_and_detects_an_edited_row(fresh, monkeypatch, cli):
    env = fresh
    with env.store.write() as s:
        for i in range(5):
            audit.record(env.store, s, None, "test.event", "thing", str(i), {"n": i}, council_id=1)
    assert audit.verify(env.store, 1).ok
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(env.data_dir))
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", "p" * 40)
    assert cli("audit", "verify").exit_code == 0
    with env.store.write() as s:
        s.execute(text("UPDATE audit_events SET details = '{\"n\": 99}' WHERE object_id = '3'"))
    v = audit.verify(env.store, 1)
    assert not v.ok and "changed" in v.reason
    result = cli("audit", "verify")
    assert result.exit_code == 1


def test_chain_detects_a_deleted_row(fresh):
    env = fresh
    with env.store.write() as s:
        for i in range(4):
            audit.record(env.store, s, None, "test.event", "thing", str(i), {}, council_id=1)
    with env.store.write() as s:
        s.execute(text("DELETE FROM audit_events WHERE object_id = '1' AND action = 'test.event'"))
    v = audit.verify(env.store, 1)
    assert not v.ok and "missing" in v.reason


def test_each_council_has_its_own_chain_and_moving_an_event_breaks_both(fresh):
    """A council's auditors verify its own trail; an event moved from one council to another (to hide it
    from one trail) breaks the chain it left and the chain it joined."""
    env = fresh
    with env.store.write() as s:
        other = env.store.add_council(s, "other", "Other council").id
        for i in range(3):
            audit.record(env.store, s, None, "test.event", "thing", f"a{i}", {}, council_id=1)
            audit.record(env.store, s, None, "test.event", "thing", f"b{i}", {}, council_id=other)
    assert audit.verify(env.store, 1).ok and audit.verify(env.store, other).ok
    assert audit.verify(env.store, other).events == 3
    with env.store.write() as s:
        s.execute(text("UPDATE audit_events SET council_id = :c WHERE object_id = 'a1'"), {"c": other})
    assert not audit.verify(env.store, 1).ok
    assert not audit.verify(env.store, other).ok


def test_an_actor_cannot_write_into_another_councils_trail(fresh):
    import pytest

    env = fresh
    with env.store.write() as s:
        other = env.store.add_council(s, "other2", "Other council").id
        owner = env.store.user_by_name(s, "owner")
        with pytest.raises(ValueError):
            audit.record(env.store, s, owner, "test.event", "thing", "x", {}, council_id=other)
