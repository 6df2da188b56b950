"""The way from the service's pages into the map viewer. In a deployment the viewer runs with
`frontdoor view --sign-sessions`: it opens a page only for a session id signed with the secret the
service shares (VIEWER_SECRET_KEY), so only people signed in to the service, allowed to have the
release, reach it. Thin view: the rule is `operations.open_release_viewer`."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, redirect

from service import operations
from service.governance.errors import NotFound
from service.governance.workflow import WorkflowError
from service.web import _fail_page, _store, bp, signed_in


def viewer_configured() -> bool:
    cfg = current_app.config["FRONTDOOR"]
    return bool(cfg.get("VIEWER_URL") and cfg.get("VIEWER_SECRET_KEY"))


def signed_viewer_url(viewer_url: str, secret_key: str) -> str:
    """The viewer's address with a fresh session id signed for it (Bokeh's external-signed sessions)."""
    from bokeh.util.token import generate_session_id

    session_id = generate_session_id(secret_key=secret_key.encode(), signed=True)
    return f"{viewer_url}{'&' if '?' in viewer_url else '?'}{urlencode({'bokeh-session-id': session_id})}"


@bp.route("/releases/<release_id>/viewer")
@signed_in
def release_viewer(release_id: str):
    if not viewer_configured():
        return _fail_page(NotFound(message="this service has no map viewer configured (FRONTDOOR_VIEWER_URL and "
                                            "FRONTDOOR_VIEWER_SECRET_KEY); download the bundle and run `frontdoor "
                                            "view --bundle` instead."), "message.html", "Map viewer")
    try:
        operations.open_release_viewer(_store(), g.web_user, release_id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Map viewer")
    cfg = current_app.config["FRONTDOOR"]
    return redirect(signed_viewer_url(cfg["VIEWER_URL"], cfg["VIEWER_SECRET_KEY"]))
