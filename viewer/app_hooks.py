"""Bokeh server lifecycle: releases are loaded once, when the server starts, not per session."""

from viewer import state


def on_server_loaded(server_context) -> None:
    state.load_all()
