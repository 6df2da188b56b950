"""A full disk, said as such. When the data directory's disk (or the database's) fills, writes fail deep
inside SQLite, PostgreSQL or a file write; the person in front of the service should read that the disk is
full and that its operator must free space, not "internal error (OSError)". Nothing half-written is kept:
every write that failed was inside a transaction or a tmp folder."""

from __future__ import annotations

import errno

DISK_FULL_MESSAGE = ("the service's disk is full, so it cannot record or store anything now; nothing was changed. "
                     "Tell the service's operator (they must free space on the data directory's or the "
                     "database's disk), then try again.")
_SQL_DISK_FULL = ("database or disk is full", "no space left on device", "could not extend file",
                  "could not write to file")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) is a disk that is full or over quota."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlstate", None) == "53100":  # PostgreSQL disk_full
            return True
        text = str(exc).lower()
        if type(exc).__name__ in ("OperationalError", "DiskFull") and any(s in text for s in _SQL_DISK_FULL):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False
