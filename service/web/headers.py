"""Security headers on every answer, pages and API alike."""

from __future__ import annotations

from flask import Flask, g, request

# Pages: everything from this site only, no scripts at all (none of the pages has one); inline styles for
# the progress bar; images as data: URIs (the map picture is inline SVG).
PAGE_CSP = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def add_security_headers(app: Flask, public_url: str) -> None:
    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        if public_url.startswith("https://"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Whatever a signed-in person (or a token) was shown is kept by no cache, shared or local; files
        # with ETags say "private, no-cache" themselves (revalidated each time).
        if request.headers.get("Authorization") or g.get("web_user") is not None:
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
