"""Who may do what: deny unless a role is listed. Ownership (a data owner's own datasets, a
requester's own release) is checked by the workflow on top of these, and above all of them the
council: an object of another council does not exist for a user (`in_council`), whatever the role."""

from __future__ import annotations

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
# States in which each role may see a release at all (a requester also sees their own, in any state).
VISIBLE_STATES: dict[str, frozenset[str] | None] = {
    "developer": frozenset({"published"}),
    "data_owner": frozenset({"published"}),
    "reviewer": None,  # all
    "admin": None,
}


def in_council(user, obj) -> bool:
    """True when the object (dataset, model, release, job, audit event, user) is of the user's council."""
    return obj is not None and obj.council_id == user.council_id


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, frozenset())


def can_see_release(role: str, user_id: int, requester_id: int, state: str) -> bool:
    if role == "data_owner" and user_id == requester_id:
        return True
    visible = VISIBLE_STATES.get(role, frozenset())
    return visible is None or state in visible
