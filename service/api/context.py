"""The request's user and the service's store and job runner, for views."""

from __future__ import annotations

from flask import current_app, g


def store():
    return current_app.extensions["frontdoor"].store


def runner():
    return current_app.extensions["frontdoor"].runner


def user():
    return g.user
