"""The audit trail is hash-chained: `frontdoor audit verify` finds an edited or deleted event."""

from sqlalchemy import text

from service import audit


def test_chain_verifies_and_detects_an_edited_row(fresh, monkeypatch, cli):
    env = fresh
    with env.store.write() as s:
        for i in range(5):
            audit.record(env.store, s, None, "test.event", "thing", str(i), {"n": i})
    assert audit.verify(env.store).ok
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(env.data_dir))
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", "p" * 40)
    assert cli("audit", "verify").exit_code == 0
    with env.store.write() as s:
        s.execute(text("UPDATE audit_events SET details = '{\"n\": 99}' WHERE object_id = '3'"))
    v = audit.verify(env.store)
    assert not v.ok and "changed" in v.reason
    result = cli("audit", "verify")
    assert result.exit_code == 1


def test_chain_detects_a_deleted_row(fresh):
    env = fresh
    with env.store.write() as s:
        for i in range(4):
            audit.record(env.store, s, None, "test.event", "thing", str(i), {})
    with env.store.write() as s:
        s.execute(text("DELETE FROM audit_events WHERE object_id = '1' AND action = 'test.event'"))
    v = audit.verify(env.store)
    assert not v.ok and "missing" in v.reason
