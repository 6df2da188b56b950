"""Who may see or do what to a dataset, model, release or job: the one place that decides.

In pairs, in the style of OpenSAFELY Airlock's permissions: `check_x(user, obj, ...)` raises the refusal
(the kind of WorkflowError that says why: NotAllowed, Conflict, Gone, or NotFound for what the user may not even
see) and `can_x(...)` says whether `check_x` would pass, so the two cannot disagree. Operations call `check_x`
before acting; the API and the pages ask `can_x` what to show (templates get booleans from the view, never a
role). Which HTTP status answers each kind is the web layer's (service/api/refusals.py).

Deny unless allowed. Above every rule is the council: an object of another council does not exist for a user
(`in_council`), whatever the role, except the published aggregate releases both councils share. Who may make
each state change of a release is the state table's (`states.TRANSITIONS`); `check_transition` applies it.
"""

from __future__ import annotations

from collections.abc import Callable

from service.governance.errors import Conflict, Gone, NotAllowed, NotFound, WorkflowError
from service.governance.states import TABLE

ROLES = ("data_owner", "reviewer", "developer", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "dataset:create": frozenset({"data_owner"}),
    "dataset:read": frozenset({"data_owner", "admin"}),
    "dataset:delete": frozenset({"data_owner", "admin"}),
    "model:create": frozenset({"data_owner"}),
    "model:read": frozenset({"data_owner", "admin", "reviewer"}),
    "release:create": frozenset({"data_owner"}),
    "release:list": frozenset(ROLES),
    "release:read": frozenset(ROLES),
    "release:amend": frozenset({"data_owner"}),
    "release:review": frozenset({"reviewer"}),
    "release:publish": frozenset({"data_owner"}),
    "release:withdraw": frozenset({"data_owner", "admin"}),
    "release:report": frozenset({"data_owner", "reviewer", "admin"}),
    "release:download": frozenset(ROLES),
    "job:read": frozenset({"data_owner", "reviewer", "admin"}),
    "audit:read": frozenset({"reviewer", "admin"}),
    # The council's users: their tokens rotated or revoked, users deactivated or activated.
    "user:manage": frozenset({"admin"}),
    # The council's settings: its declared population, and whether it shares its aggregate releases.
    "council:manage": frozenset({"admin"}),
    # Another sharing council's shared aggregates, and the pooled figures (only while one's own council shares).
    "comparison:read": frozenset({"data_owner", "reviewer", "admin"}),
}
# Roles that see every object of a kind in their council. Everyone else sees their own (the datasets and models
# they own, the releases they requested, the jobs they started) and the releases in PUBLIC_STATES. A job is seen
# by whoever sees every object of its target's kind: a reviewer sees release builds, not a dataset's ingest.
SEES_EVERY: dict[str, frozenset[str]] = {
    "dataset": frozenset({"admin"}),
    "model": frozenset({"reviewer", "admin"}),
    "release": frozenset({"reviewer", "admin"}),
}
PUBLIC_STATES = frozenset({"published"})
# A release in one of these states still rests on its dataset: being built or reviewed, or served.
RELEASES_KEEPING_A_DATASET = ("draft", "checking", "awaiting_review", "returned", "approved", "published")

_PAST = {"submit": "submitted", "approve": "approved", "approve_final": "approved", "return": "returned",
         "reject": "rejected", "amend": "changed", "publish": "published", "withdraw": "withdrawn",
         "gate_failed": "marked failed", "gate_passed": "sent for review", "build_failed": "marked failed",
         "retry": "retried"}


# -- roles and councils ------------------------------------------------------------------------
def in_council(user, obj) -> bool:
    """True when the object (dataset, model, release, job, audit event, user) is of the user's council."""
    return obj is not None and obj.council_id == user.council_id


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, frozenset())


def check_allowed(user, permission: str) -> None:
    """The role gate, before any object is looked at."""
    if not allowed(user.role, permission):
        raise NotAllowed(f"your role ({user.role.replace('_', ' ')}) may not do this.")


def may(user, permission: str) -> bool:
    return allowed(user.role, permission)


def sees_every(user, kind: str) -> bool:
    """Whether the user sees every object of this kind in their council (else only their own)."""
    return user.role in SEES_EVERY.get(kind, frozenset())


def menu(user) -> dict[str, bool]:
    """The pages the menu offers this user."""
    return {"datasets": may(user, "dataset:read"), "reviews": may(user, "release:review"),
            "audit": may(user, "audit:read"), "users": may(user, "user:manage"),
            "council": may(user, "comparison:read") or may(user, "council:manage")}


def _passes(check: Callable, *args) -> bool:
    try:
        check(*args)
    except WorkflowError:
        return False
    return True


# -- datasets ----------------------------------------------------------------------------------
def check_view_dataset(user, ds) -> None:
    """Its owner and the council's admins, until it is deleted."""
    check_allowed(user, "dataset:read")
    if (not in_council(user, ds) or ds.status == "deleted"
            or not (ds.owner_id == user.id or sees_every(user, "dataset"))):
        raise NotFound("dataset")


def can_view_dataset(user, ds) -> bool:
    return _passes(check_view_dataset, user, ds)


def check_delete_dataset(user, ds, models=(), releases=()) -> None:
    """Its owner or an admin of its council, when nothing rests on it: not while it is ingested or a model of it
    (`models`) trained, nor while a release of it (`releases`) is in progress, in review, approved or published."""
    check_allowed(user, "dataset:delete")
    check_view_dataset(user, ds)
    if ds.status == "ingesting":
        raise Conflict("the dataset is still being ingested; delete it when its job has finished.")
    if any(m.status == "training" for m in models):
        raise Conflict("a model is being trained on this dataset; delete it when the training job has "
                       "finished.")
    live = [r for r in releases if r.state in RELEASES_KEEPING_A_DATASET]
    if live:
        named = ", ".join(f"{r.id} ({r.state.replace('_', ' ')})" for r in live[:5])
        raise Conflict(f"releases made from this dataset are in progress or published ({named}); "
                       "withdraw them, or wait for their review to end, before deleting it.")


def can_delete_dataset(user, ds, models=(), releases=()) -> bool:
    return _passes(check_delete_dataset, user, ds, models, releases)


def check_train(user, ds) -> None:
    """A data owner, on their own dataset once it is ingested."""
    check_allowed(user, "model:create")
    check_view_dataset(user, ds)
    if ds.status != "ready":
        raise Conflict(f"the dataset is '{ds.status}'; train on a dataset that has been ingested.")


def can_train(user, ds) -> bool:
    return _passes(check_train, user, ds)


# -- models ------------------------------------------------------------------------------------
def check_view_model(user, m) -> None:
    """Its owner, and the council's reviewers and admins."""
    check_allowed(user, "model:read")
    if not in_council(user, m) or not (m.owner_id == user.id or sees_every(user, "model")):
        raise NotFound("model")


def can_view_model(user, m) -> bool:
    return _passes(check_view_model, user, m)


def check_request_release(user, m) -> None:
    """A data owner, from their own trained model."""
    check_allowed(user, "release:create")
    check_view_model(user, m)
    if m.status != "ready":
        raise Conflict(f"the model is '{m.status}'; request a release from a trained model.")


def can_request_release(user, m) -> bool:
    return _passes(check_request_release, user, m)


# -- jobs --------------------------------------------------------------------------------------
def check_view_job(user, job) -> None:
    """The user who started it, and whoever sees every object of its target's kind (admins any job; reviewers
    the builds of releases and the training of models, as they see those, but no dataset's ingest)."""
    check_allowed(user, "job:read")
    if not in_council(user, job) or not (job.created_by == user.id or sees_every(user, job.target_type)):
        raise NotFound("job")


def can_view_job(user, job) -> bool:
    return _passes(check_view_job, user, job)


# -- releases: seeing them ---------------------------------------------------------------------
def release_scope(user) -> tuple[frozenset[str] | None, bool]:
    """What releases of their council a user sees: (states in which they see every one, None for all states;
    whether they also see those they requested, in any state)."""
    if sees_every(user, "release"):
        return None, False
    return PUBLIC_STATES, may(user, "release:create")


def sees_public_releases_only(user) -> bool:
    """Whether the user's list of releases is the council's published catalogue (the same for all of them)."""
    states, own = release_scope(user)
    return states == PUBLIC_STATES and not own


def shares_with(user, r, councils=None) -> bool:
    """Whether `r`, another council's release, is one it shares with the user's council now: a published
    aggregate release, both councils sharing (`councils`: the user's and the release's, as rows), and the user
    one of the council's staff who may compare."""
    if councils is None or r.kind != "aggregate" or r.state != "published" or not may(user, "comparison:read"):
        return False
    mine, theirs = councils
    return bool(mine and theirs and mine.shares_aggregates and theirs.shares_aggregates)


def check_view_release(user, r, councils=None) -> None:
    """Its record (what it is, its state): reviewers and admins see every release of their council, a requester
    their own, everyone published ones. With `councils` (reading only, never acting on it), also a published
    aggregate release another council shares with the user's."""
    check_allowed(user, "release:read")
    if r is None:
        raise NotFound("release")
    if in_council(user, r):
        states, _ = release_scope(user)
        if states is None or r.state in states or user.id == r.requester_id:
            return
    if shares_with(user, r, councils):
        return
    raise NotFound("release")


def can_view_release(user, r, councils=None) -> bool:
    return _passes(check_view_release, user, r, councils)


def check_read_report(user, r) -> None:
    """Its disclosure report, and the request in full (who asked, why, for whom, its reviews, its history and the
    map it would publish) are for those who decide on it: its requester and the council's reviewers and admins."""
    check_view_release(user, r)
    check_allowed(user, "release:report")
    if not (user.id == r.requester_id or sees_every(user, "release")):
        raise NotFound("release")


def can_read_report(user, r) -> bool:
    return _passes(check_read_report, user, r)


def check_download(user, r, councils=None) -> None:
    """The bundle (and the map viewer on it) once published, for anyone who sees the release: no file of a
    release leaves the service before it is published, whoever asks (sign-off is the gate); those who decide
    on it read its report and see its map on the release page."""
    check_view_release(user, r, councils)
    check_allowed(user, "release:download")
    if r.state == "withdrawn":
        raise Gone("this release has been withdrawn; its files are no longer served.")
    if r.state != "published":
        raise Conflict("this release is not published, so its files cannot be downloaded; the "
                       "reviewers read its disclosure report and map on the release page.")


def can_download(user, r, councils=None) -> bool:
    return _passes(check_download, user, r, councils)


# -- releases: changing them -------------------------------------------------------------------
def actor_kinds(user, r) -> set[str]:
    """Who the user is to this release, in the state table's terms: their role, "requester", or "system"."""
    if user is None:
        return {"system"}
    kinds = {user.role}
    if user.id == r.requester_id:
        kinds.add("requester")
    return kinds


def check_transition(user, r, action: str) -> None:
    """The state table allows `action` from the release's state, by this actor (`user` None: a job)."""
    t = TABLE.get((r.state, action))
    if t is None:
        raise Conflict(f"a release that is '{r.state}' cannot be {_PAST.get(action, action)}.")
    if not (actor_kinds(user, r) & t.actors):
        raise NotAllowed(f"only the {' or '.join(sorted(t.actors))} may do this to a release.")


def check_review(user, r) -> None:
    """A reviewer of its council, while it awaits review, once per version, and never its requester (whatever
    their role: the rule does not rest on requesters being data owners)."""
    check_allowed(user, "release:review")
    check_view_release(user, r)
    if user.id == r.requester_id:
        raise NotAllowed("you requested this release, so you cannot review it: another reviewer must.")
    if r.state != "awaiting_review":
        raise Conflict(f"this release is '{r.state}', not awaiting review.")
    if any(rv.reviewer_id == user.id and rv.release_version == r.version for rv in r.reviews):
        raise Conflict("you have already reviewed this version of the release; a different reviewer must.")


def can_review(user, r) -> bool:
    return _passes(check_review, user, r)


def check_publish(user, r) -> None:
    """Its requester, once it is approved."""
    check_allowed(user, "release:publish")
    check_view_release(user, r)
    check_transition(user, r, "publish")


def can_publish(user, r) -> bool:
    return _passes(check_publish, user, r)


def check_withdraw(user, r) -> None:
    """Its requester or an admin of its council, once it is approved or published."""
    check_allowed(user, "release:withdraw")
    check_view_release(user, r)
    check_transition(user, r, "withdraw")


def can_withdraw(user, r) -> bool:
    return _passes(check_withdraw, user, r)


def check_amend(user, r) -> None:
    """Its requester, while it is returned or in review."""
    check_allowed(user, "release:amend")
    check_view_release(user, r)
    if user.id != r.requester_id:
        raise NotAllowed("only the requester may change a release request.")
    check_transition(user, r, "amend")


def can_amend(user, r) -> bool:
    return _passes(check_amend, user, r)


def check_retry(user, r, build_crashed: bool) -> None:
    """Its requester, when its build stopped before the gate decided (`build_crashed`): a release the gate
    failed would fail again."""
    check_allowed(user, "release:amend")
    check_view_release(user, r)
    if r.state == "failed" and not build_crashed:
        raise Conflict("the automated checks failed this release, so running them again would fail "
                       "again; request a new release instead.")
    check_transition(user, r, "retry")


def can_retry(user, r, build_crashed: bool) -> bool:
    return _passes(check_retry, user, r, build_crashed)
