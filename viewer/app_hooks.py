"""Bokeh server lifecycle: releases are loaded once, when the server starts, not per session."""

from viewer import state


def on_server_loaded(server_context) -> None:
    if not state.LOADED:  # `frontdoor view` loads (and warms up) before it opens the port
        state.load_all()
        warm_up()


def warm_up() -> None:
    """Build and serialise one page, unseen, so that the first visitor's page is as quick as the rest
    (first-time imports, caches and code paths otherwise cost that visitor a second or more)."""
    from bokeh.document import Document

    from viewer.page import build

    doc = Document()
    build(doc)
    doc.to_json()
