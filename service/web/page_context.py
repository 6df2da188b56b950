"""The pages' request plumbing: the blueprint, the signed-in user, CSRF, and rendering.

Sign-in exchanges an API token for a session cookie (HttpOnly, SameSite=Strict, Secure over
HTTPS, expiring after SESSION_MINUTES). Every form carries the session's CSRF token and a one-time
form id: a post without the token is refused, and the same form sent twice is done once.
"""

from __future__ import annotations

import secrets
import time
from functools import wraps

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from markupsafe import Markup

from service.api.refusals import status_of
from service.governance import permissions
from service.governance.workflow import WorkflowError

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")
MAX_USED_FORMS = 200


def _store():
    return current_app.extensions["frontdoor"].store


def _runner():
    return current_app.extensions["frontdoor"].runner


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">'
                  f'<input type="hidden" name="form_id" value="{secrets.token_urlsafe(12)}">')


@bp.before_app_request
def _load_user():
    g.web_user = None
    if request.path.startswith("/api/"):
        return None
    uid, started = session.get("uid"), session.get("started", 0)
    minutes = int(current_app.config["FRONTDOOR"]["SESSION_MINUTES"])
    if uid and time.time() - started > minutes * 60:
        session.clear()
        flash("Your session expired. Sign in again.", "error")
        return None
    if uid:
        store = _store()
        with store.read() as s:
            from service.orm import User

            user = s.get(User, uid)
            if user is None or not user.active or _session_ended(user, started):
                session.clear()
                return None
            _ = user.council.name  # loaded now: the header names the user's council
            g.web_user = user
    return None


def _session_ended(user, started: float) -> bool:
    """Whether the user signed out (or their token changed) after this session began."""
    from datetime import UTC

    after = user.sessions_valid_after
    return after is not None and after.replace(tzinfo=UTC).timestamp() >= started


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, else the home page. Browsers drop tabs and
    newlines from addresses and read a backslash as a slash, so "/\t/evil.example" would become
    "//evil.example" (another site): any control character or backslash, or a scheme or host, is refused."""
    from urllib.parse import urlsplit

    home = url_for("web.home")
    if not target or any(ord(c) < 0x21 or c in "\\\x7f" for c in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


@bp.before_request
def _check_csrf():
    if request.method != "POST":
        return None
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        return render_page("message.html", "Form refused", status=400,
                           error="This form could not be accepted (its security token is missing or out of date). "
                                 "Go back, reload the page and try again.")
    form_id = request.form.get("form_id", "")
    used = session.get("used_forms", [])
    if form_id and form_id in used:
        flash("That form had already been sent; it was not done twice.", "notice")
        return redirect(request.referrer or url_for("web.home"))
    if form_id:
        session["used_forms"] = (used + [form_id])[-MAX_USED_FORMS:]
    return None


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.web_user is None:
            return redirect(url_for("web.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


@bp.app_context_processor
def _menu() -> dict:
    """The pages the menu offers the signed-in user (base.html gets booleans, never a role)."""
    user = g.get("web_user")
    return {"menu": permissions.menu(user) if user is not None else {}}


def render_page(template: str, title: str, status: int = 200, **context):
    return render_template(template, title=title, user=g.get("web_user"), csrf_field=csrf_field, **context), status


def _fail_page(exc: WorkflowError, template: str, title: str, **context):
    return render_page(template, title, status=status_of(exc), error=exc.message, **context)
