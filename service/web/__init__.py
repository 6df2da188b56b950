"""Server-rendered pages for data owners, reviewers, admins and developers (same Flask app), by job:
`page_context` (the blueprint, the signed-in user, CSRF, rendering), `headers` (security headers), the pages
(`data_pages`, `release_pages`, `council_pages`, `dataset_pages`, `viewer_pages`, and signing in and the
audit trail here) and `map_picture` (the reviewer's picture of a map). Views stay thin: each calls one
function in service.operations and renders a template.
"""

from __future__ import annotations

import secrets
import time

from flask import Flask, current_app, flash, g, redirect, request, session, url_for

from service import audit, operations
from service.governance import permissions
from service.governance.workflow import WorkflowError
from service.web.page_context import (  # noqa: F401  (the pages' shared plumbing, imported from here by the page modules)
    _fail_page,
    _runner,
    _store,
    bp,
    csrf_field,
    csrf_token,
    render_page,
    safe_next,
    signed_in,
)


# -- signing in -------------------------------------------------------------------------------
@bp.route("/")
def home():
    if g.web_user is None:
        return redirect(url_for("web.login"))
    if permissions.may(g.web_user, "dataset:create"):  # data owners start from their datasets
        return redirect(url_for("web.datasets"))
    if permissions.may(g.web_user, "release:review"):  # reviewers from what awaits them
        return redirect(url_for("web.review_queue"))
    return redirect(url_for("web.releases"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_page("login.html", "Sign in")
    token = request.form.get("token", "").strip()
    store = _store()
    signins = current_app.extensions["frontdoor_signins"]
    wait = signins.retry_after(request.remote_addr or "")
    if wait is not None:
        resp = render_page("login.html", "Sign in", status=429,
                           error=f"Too many failed sign-ins from your address. Try again in {wait} seconds.")
        return resp[0], resp[1], {"Retry-After": str(wait)}
    with store.read() as s:
        user = store.user_by_token(s, token) if token else None
    if user is None:
        signins.failed(request.remote_addr or "", "web")
        return render_page("login.html", "Sign in", status=401,
                           error="That token is not valid or has expired. Check it, or ask an administrator for a "
                                 "new one.")
    session.clear()
    session.update(uid=user.id, started=time.time(), csrf=secrets.token_urlsafe(32))
    session.permanent = True
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    if g.web_user is not None:
        operations.end_sessions(_store(), g.web_user)
    session.clear()
    flash("You have signed out.", "notice")
    return redirect(url_for("web.login"))


# -- audit ------------------------------------------------------------------------------------
@bp.route("/audit")
@signed_in
def audit_page():
    store = _store()
    try:
        permissions.check_allowed(g.web_user, "audit:read")
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Audit trail")
    filters = {k: request.args.get(k) or None for k in ("action", "object_type", "object_id", "actor")}
    with store.read() as s:
        events = store.audit_events(s, g.web_user.council_id, limit=500, **filters)
    return render_page("audit.html", "Audit trail", events=events, filters=filters,
                       chain=audit.verify(store, g.web_user.council_id))


def init_app(app: Flask) -> None:
    cfg = app.config["FRONTDOOR"]
    public = cfg.get("PUBLIC_URL") or ""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=public.startswith("https://"),
        SESSION_COOKIE_NAME="frontdoor_session",
        PERMANENT_SESSION_LIFETIME=int(cfg["SESSION_MINUTES"]) * 60,
    )
    from service.web import (  # noqa: F401  (their routes are on bp)
        council_pages,
        data_pages,
        dataset_pages,
        release_pages,
        viewer_pages,
    )
    from service.web.headers import add_security_headers

    app.register_blueprint(bp)
    add_security_headers(app, public)
