"""How the `frontdoor` commands fail: one line on stderr, or the one JSON error shape with --json."""

from __future__ import annotations

import json
import sys
from functools import wraps

import click


def fail(message: str, as_json: bool, code: int = 2, details: list | None = None) -> None:
    if as_json:
        out = {"ok": False, "status": code, "error": message}
        if details:  # the one error shape: `errors` is an object; the input files' problems are under "input"
            out["errors"] = {"input": details}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handles_errors(fn):
    """Turn the library's errors into a one-line message (or the JSON error shape) and exit 2."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        from synth.errors import FrontdoorError

        try:
            return fn(*args, **kwargs)
        except FrontdoorError as exc:
            fail(exc.message, kwargs.get("as_json", False), exc.exit_code, exc.details[:100])

    return wrapper
