"""The audit trail: append-only, hash-chained events written in the same transaction as the change
they record. Each event's hash covers its content and the previous event's hash, so editing,
deleting or reordering any event breaks the chain from there on, which `verify` reports.

Each council's events are a chain of their own (its auditors verify its trail without seeing another
council's); moving an event from one council to another breaks both chains.

Details hold identifiers, counts and decisions, never cell values or pseudonymised keys.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.orm import AuditEvent, User, now
from service.store import Store

GENESIS = "0" * 64


def event_hash(prev: str, at: str, actor_id, actor: str, action: str, object_type: str, object_id: str,
               details: dict) -> str:
    body = json.dumps({"prev": prev, "at": at, "actor_id": actor_id, "actor": actor, "action": action,
                       "object_type": object_type, "object_id": object_id, "details": details},
                      sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def record(store: Store, s: Session, actor: User | None, action: str, object_type: str, object_id: str,
           details: dict | None = None, council_id: int | None = None) -> AuditEvent:
    """Append an event to its council's chain inside the caller's transaction. The council is the
    actor's, or (for the system's own events) given."""
    if council_id is None:
        if actor is None:
            raise ValueError("a system audit event must say which council it belongs to")
        council_id = actor.council_id
    elif actor is not None and actor.council_id != council_id:
        raise ValueError("an actor cannot write into another council's audit trail")
    store.lock_audit_chain(s, council_id)
    last = store.last_audit(s, council_id)
    prev = last.hash if last else GENESIS
    at = now().replace(microsecond=0)
    details = details or {}
    name = actor.name if actor else "system"
    actor_id = actor.id if actor else None
    h = event_hash(prev, at.isoformat(), actor_id, name, action, object_type, str(object_id), details)
    ev = AuditEvent(council_id=council_id, at=at, actor_id=actor_id, actor=name, action=action, object_type=object_type,
                    object_id=str(object_id), details=details, prev_hash=prev, hash=h)
    s.add(ev)
    s.flush()
    return ev


@dataclass
class Verification:
    ok: bool
    events: int
    first_bad_id: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "first_bad_id": self.first_bad_id, "reason": self.reason}


def verify_all(store: Store) -> dict[str, Verification]:
    """Every council's chain, by council code."""
    with store.read() as s:
        councils = [(c.id, c.code) for c in store.councils(s)]
    return {code: verify(store, cid) for cid, code in councils}


def verify(store: Store, council_id: int) -> Verification:
    """Recompute a council's chain from its first event; report the first event that does not fit."""
    prev = GENESIS
    n = 0
    with store.read() as s:
        for ev in store.audit_events(s, council_id):
            n += 1
            if ev.prev_hash != prev:
                return Verification(False, n, ev.id, "an event is missing or the order was changed before it")
            expected = event_hash(prev, ev.at.replace(microsecond=0).isoformat(), ev.actor_id, ev.actor, ev.action,
                                  ev.object_type, ev.object_id, ev.details or {})
            if expected != ev.hash:
                return Verification(False, n, ev.id, "the event was changed after it was written")
            prev = ev.hash
    return Verification(True, n)
