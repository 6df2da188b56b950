"""The JSON API under /api/v1: authentication, the one error shape, and the resources.

Views are thin: parse with a schema, call one function in service.operations, serialise.
Every error, whatever raised it, is `{"ok": false, "status": N, "error": "...", "errors": {...}}` (schemas.ErrorSchema;
`errors`, when present, is always an object), and each operation declares the statuses it answers (responses.py).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from service.api.refusals import status_of
from service.api.schemas import ErrorSchema
from service.governance.workflow import WorkflowError

log = logging.getLogger(__name__)
PUBLIC_PATHS = ("/api/v1/health", "/api/v1/openapi.json")


def error_response(status: int, message: str, errors: dict | None = None):
    body = {"ok": False, "status": status, "error": message}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    return resp


class FrontdoorApi(Api):
    """flask-smorest's Api with our error shape for every HTTP error it raises. No catch-all `default` response
    in the document: each operation lists its own statuses, so an undeclared one is found, not hidden."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        message = {
            400: "the request could not be read; send JSON (or multipart for uploads) as documented.",
            401: "sign in: send 'Authorization: Bearer <token>' with a valid token.",
            403: "your role may not do this.",
            404: "nothing here: check the address and the id.",
            405: "this address does not accept that method.",
            413: "the upload is larger than the limit.",
            415: "unsupported content type.",
            422: "some fields are missing or wrong; see 'errors'.",
        }.get(error.code or 500, error.description or "error")
        if error.code == 400 and isinstance(error.description, str) and "JSON" in error.description:
            message = "the body is not valid JSON."
        if isinstance(error, RequestEntityTooLarge):
            limit = current_app.config["FRONTDOOR"]["MAX_UPLOAD_MB"]
            message = f"the upload is larger than the {limit} MB limit; split it into smaller files."
        errors = None
        if messages:
            errors = {loc: m for loc, m in messages.items()} if isinstance(messages, dict) else {"body": messages}
            if len(errors) == 1 and isinstance(next(iter(errors.values())), dict):
                errors = next(iter(errors.values()))
        return error_response(error.code or 500, message, errors)


class _TokenCache:
    """Recently seen tokens, for TOKEN_CACHE_SECONDS, so that busy clients do not cost a database query
    each. Kept under the store's users version: when any user changes (a token revoked or rotated, a user
    deactivated; in this process or another sharing the data directory) every kept token is dropped, so a
    revoked token stops working at the next request. Expiry is checked on every hit."""

    TOKEN_CACHE_SECONDS = 30

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, object]] = {}
        self._version: str | None = None
        self._lock = threading.Lock()

    def get(self, token: str, version: str | None):
        from service.orm import now

        with self._lock:
            if version != self._version:
                self._items.clear()
                self._version = version
            hit = self._items.get(token)
        if hit is None or hit[0] < time.monotonic():
            return None
        user = hit[1]
        return None if user.token_expires_at and user.token_expires_at < now() else user

    def put(self, token: str, user, version: str | None) -> None:
        with self._lock:
            if version != self._version:
                return
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[token] = (time.monotonic() + self.TOKEN_CACHE_SECONDS, user)


_token_cache = _TokenCache()


def _authenticate():
    path = request.path
    if not path.startswith("/api/v1") or path in PUBLIC_PATHS:
        return None
    store = current_app.extensions["frontdoor"].store
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error_response(401, "sign in: send 'Authorization: Bearer <token>' (tokens come from "
                                   "`frontdoor users add`).")
    signins = current_app.extensions["frontdoor_signins"]
    wait = signins.retry_after(request.remote_addr or "")
    if wait is not None:
        resp = error_response(429, f"too many failed sign-ins from your address; try again in {wait} seconds.")
        resp.headers["Retry-After"] = str(wait)
        return resp
    version = store.users_version()
    user = _token_cache.get(token.strip(), version)
    if user is None:
        with store.read() as s:
            user = store.user_by_token(s, token.strip())
        if user is not None:
            _token_cache.put(token.strip(), user, version)
    if user is None:
        signins.failed(request.remote_addr or "", "api")
        return error_response(401, "that token is not valid or has expired; ask an administrator for a new one.")
    g.user = user
    return None


def _refuse_nul():
    """No text the API reads may hold a NUL character: PostgreSQL's text cannot store one, and a query with one was
    a 500 (found by fuzzing). No id holds one (404); a query or form field with one is a 422. JSON bodies: the
    request schemas' Text fields."""
    if not request.path.startswith("/api/v1"):
        return None
    if "\x00" in request.path:
        return error_response(404, "nothing here: check the address and the id.")
    fields = list(request.args.items(multi=True))
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields += list(request.form.items(multi=True))
    bad = sorted({str(k) for k, v in fields if any(isinstance(t, str) and "\x00" in t for t in (k, v))})
    if bad:
        return error_response(422, "some fields are missing or wrong; see 'errors'.",
                              {k: ["must not contain NUL characters."] for k in bad})
    return None


def init_app(app: Flask) -> FrontdoorApi:
    app.config.setdefault("API_TITLE", "Frontdoor")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Synthetic journeys through children's social care, released under governance."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    })
    api = FrontdoorApi(app)
    app.before_request(_authenticate)
    app.before_request(_refuse_nul)

    @app.errorhandler(WorkflowError)
    def _workflow_error(exc: WorkflowError):
        return error_response(status_of(exc), exc.message)

    from synth.errors import FrontdoorError

    @app.errorhandler(FrontdoorError)
    def _frontdoor_error(exc: FrontdoorError):
        return error_response(422, exc.message, {"input": exc.details[:100]} if exc.details else None)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return api.handle_http_exception(exc)
        from service.disk import DISK_FULL_MESSAGE, is_disk_full

        if is_disk_full(exc):
            log.error("disk full on %s %s: %s", request.method, request.path, exc)
            return error_response(507, DISK_FULL_MESSAGE)
        from service.outages import DATABASE_UNAVAILABLE_MESSAGE, RETRY_AFTER_SECONDS, is_database_unavailable

        if is_database_unavailable(exc):
            log.error("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
            resp = error_response(503, DATABASE_UNAVAILABLE_MESSAGE)
            resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return resp
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; it has been logged. Try again, or tell the service's "
                                   "administrator what you were doing.")

    from service.api import audit_log, councils, datasets, jobs, releases, system, trained_models, users

    for module in (system, datasets, trained_models, releases, jobs, audit_log, councils, users):
        api.register_blueprint(module.blp)
    return api
