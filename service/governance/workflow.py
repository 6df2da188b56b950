"""The release workflow's rules, as functions over the store (no Flask).

Every state change goes through `transition()`, which reads the table in `states`, refuses what
it does not allow, and writes the audit event in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service import audit
from service.governance.errors import Invalid, WorkflowError
from service.governance.permissions import check_amend, check_review, check_transition
from service.governance.states import TABLE
from service.orm import Release, Review, User, now
from service.store import Store

DECISIONS = ("approve", "return", "reject")  # a reviewer's decisions on a release (the API validates against these)

__all__ = ["DECISIONS", "WorkflowError", "amend", "approvals", "review", "transition"]


def transition(store: Store, s: Session, release: Release, action: str, user: User | None,
               details: dict | None = None) -> Release:
    """The one function that changes a release's state: the table allows the change from this state by this
    actor (permissions.check_transition), and the audit event is written in the same transaction."""
    check_transition(user, release, action)
    t = TABLE[(release.state, action)]
    before = release.state
    release.state = t.target
    release.updated_at = now()
    audit.record(store, s, user, f"release.{action}", "release", release.id,
                 {"from": before, "to": t.target, "version": release.version, **(details or {})},
                 council_id=release.council_id)
    return release


def approvals(release: Release) -> list[Review]:
    """Approvals of the release as it is now (a change to the request resets them)."""
    return [r for r in release.reviews if r.decision == "approve" and r.release_version == release.version]


def review(store: Store, s: Session, release: Release, reviewer: User, decision: str, comment: str,
           required: int, review_items: tuple[str, ...] = ()) -> Review:
    """One reviewer's decision on the release as it is now. `review_items` are the titles of the checks that
    need a person's judgement (the gate's "review" verdicts): approving such a release needs a comment
    saying how the reviewer judged them, as do returning and rejecting."""
    check_review(reviewer, release)
    if decision not in DECISIONS:
        raise Invalid("decision must be approve, return or reject.")
    if decision in ("return", "reject") and not comment.strip():
        raise Invalid("say why in a comment when returning or rejecting a release.")
    if decision == "approve" and not comment.strip() and (review_items or release.verdict == "review"):
        named = f" ({'; '.join(review_items)})" if review_items else ""
        raise Invalid(f"this release has checks that need your judgement{named}: say in a comment how you "
                      "judged each of them before approving it.")
    rv = Review(release_id=release.id, reviewer_id=reviewer.id, decision=decision, comment=comment,
                release_version=release.version)
    s.add(rv)
    release.reviews.append(rv)
    s.flush()
    if decision == "approve":
        n = len(approvals(release))
        action = "approve_final" if n >= required else "approve"
        transition(store, s, release, action, reviewer, {"approvals": n, "required": required})
    else:
        transition(store, s, release, decision, reviewer, {"comment_chars": len(comment)})
    return rv


def amend(store: Store, s: Session, release: Release, user: User, changes: dict) -> Release:
    """Change a returned (or in-review) request; approvals so far no longer count."""
    check_amend(user, release)
    fields = {k: v for k, v in changes.items() if k in ("children", "profile", "purpose", "recipients")
              and v is not None and getattr(release, k) != v}
    if not fields:
        raise Invalid("nothing to change: give at least one new value.")
    for k, v in fields.items():
        setattr(release, k, v)
    release.version += 1
    release.verdict = None
    release.bundle_sha256 = None
    return transition(store, s, release, "amend", user, {"changed": sorted(fields)})
