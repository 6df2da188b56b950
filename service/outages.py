"""The database out of reach for a moment (restarting, failing over, the network between): requests say so
with 503 and Retry-After instead of "internal error", and the service recovers by itself once it is back
(connections are checked before use: `pool_pre_ping`). A full disk is told apart first (service.disk)."""

from __future__ import annotations

DATABASE_UNAVAILABLE_MESSAGE = ("the service's database cannot be reached just now, so nothing was read or changed; "
                                "try again in a moment. If it lasts, tell the service's operator.")
RETRY_AFTER_SECONDS = 5


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` is the database refusing, dropping or timing out connections (or, on SQLite, busy)."""
    from sqlalchemy import exc as sa

    return isinstance(exc, sa.OperationalError | sa.TimeoutError) or (
        isinstance(exc, sa.DBAPIError) and bool(getattr(exc, "connection_invalidated", False)))
