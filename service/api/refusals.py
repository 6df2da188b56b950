"""Which HTTP status answers each kind of refusal: the one table, used by the API's error shape and by the
pages (governance raises refusals by kind and knows nothing of HTTP)."""

from __future__ import annotations

from service.governance.errors import (
    Conflict,
    Gone,
    Invalid,
    NotAllowed,
    NotFound,
    OverQuota,
    UnsupportedType,
    WorkflowError,
)

STATUS: dict[type[WorkflowError], int] = {
    Conflict: 409,
    NotAllowed: 403,
    Invalid: 422,
    NotFound: 404,
    Gone: 410,
    UnsupportedType: 415,
    OverQuota: 429,
}


def status_of(refusal: WorkflowError) -> int:
    """The status for this refusal: its own kind's, or the nearest kind it derives from's (409, a conflict
    with the state, for a bare WorkflowError, as before the kinds)."""
    for kind in type(refusal).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 409
