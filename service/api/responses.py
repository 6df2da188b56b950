"""The error responses each operation declares in the OpenAPI document, all in the one error shape.

`@errors(blp, 404, 409)` documents those statuses for the operation, with the ones any signed-in request can
get (401: no token, a wrong or expired one; 429: too many failed sign-ins from the address). A status the
service answers that its operation does not declare is a bug in one or the other (tests/service/test_api_fuzz.py
finds them).
"""

from __future__ import annotations

from service.api.schemas import ErrorSchema

SIGNED_IN = (401, 429)
WHY = {
    400: "the body could not be read (not valid JSON)",
    401: "sign in: no token, or a wrong, revoked or expired one",
    403: "your role may not do this (or not to this object)",
    404: "no such object, or one you may not see",
    409: "the object's state does not allow it now",
    410: "withdrawn: its files are no longer served",
    413: "the upload is larger than the limit",
    415: "not a content type or file type this accepts",
    422: "some fields are missing or wrong (see errors)",
    429: "too many failed sign-ins from your address (see Retry-After), or too many of your jobs queued or running",
    507: "the service's disk is full: tell the operator",
}


def errors(blp, *codes: int, signed_in: bool = True):
    """Declare the operation's error responses (and SIGNED_IN's unless `signed_in` is False)."""
    declared = sorted(set(codes) | (set(SIGNED_IN) if signed_in else set()))

    def decorate(fn):
        for code in reversed(declared):
            fn = blp.alt_response(code, schema=ErrorSchema, description=WHY[code])(fn)
        return fn

    return decorate
