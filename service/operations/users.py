"""Users and their tokens: list, add, rotate, revoke, (de)activate, and signing out."""

from __future__ import annotations

from service import audit
from service.governance.errors import Conflict, Invalid, NotFound
from service.operations.common import require
from service.orm import User
from service.store import Store

TOKEN_AUDIT = {"rotate": "user.token_rotated", "revoke": "user.token_revoked", "deactivate": "user.deactivated",
               "activate": "user.activated"}
TOKEN_ACTIONS = tuple(TOKEN_AUDIT)


def list_users(store: Store, s, admin: User) -> list[User]:
    require(admin, "user:manage")
    return store.users(s, admin.council_id)


def add_user(store: Store, actor: User | None, name: str, role: str, council_id: int | None = None) -> tuple[User, str]:
    """An admin adds a user to their council (or the command line, `actor` None, to the council it names): the
    token is returned once, stored hashed. Names are unique across the service (they sign audit rows)."""
    from service.governance.permissions import ROLES

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid("give the user a name of 1 to 120 characters.")
    if role not in ROLES:
        raise Invalid(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}.")
    if actor is not None:
        require(actor, "user:manage")
        council_id = actor.council_id
    with store.write() as s:
        if store.user_by_name(s, name):
            raise Conflict(f"a user called '{name}' already exists; choose another name.")
        added, token = store.add_user(s, name, role, council_id)
        audit.record(store, s, actor, "user.added", "user", str(added.id), {"role": role}, council_id=council_id)
    return added, token


def change_user_token(store: Store, actor: User | None, name: str, action: str,
                      council_id: int | None = None) -> tuple[User, str | None]:
    """An admin (or the command line, `actor` None, naming the council) rotates a user's token (a new one,
    returned once; the old one stops working), revokes it (no token until rotated), deactivates or activates
    the user. Every change ends the user's web sessions and is audited; kept tokens are dropped at once."""
    from service.orm import now

    if action not in TOKEN_ACTIONS:
        raise Invalid(f"unknown action '{action}'; choose one of: {', '.join(TOKEN_ACTIONS)}.")
    if actor is not None:
        require(actor, "user:manage")
        council_id = actor.council_id
    with store.write() as s:
        user = store.user_by_name(s, name)
        if user is None or user.council_id != council_id:
            raise NotFound("user")
        token = None
        if action == "rotate":
            token = store.new_token(user)
            user.active = True
        elif action == "revoke":
            store.revoke_token(user)
        else:
            user.active = action == "activate"
        user.sessions_valid_after = now()
        audit.record(store, s, actor, TOKEN_AUDIT[action], "user", str(user.id), {"role": user.role},
                     council_id=council_id)
    return user, token


def end_sessions(store: Store, user: User) -> None:
    """Signing out: every web session of this user begun before now is over (a copied cookie too)."""
    from service.orm import now

    with store.write() as s:
        u = store.get(s, User, user.id)
        u.sessions_valid_after = now()
        audit.record(store, s, u, "user.signed_out", "user", str(u.id), {})
