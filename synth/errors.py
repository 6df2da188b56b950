"""One small hierarchy of errors. Messages say what is wrong, where, and how to fix it.

Messages never carry cell values from the input data (they may name files, sheets, rows and
columns), so they are safe to log, show in the web pages and return from the API.
"""

from __future__ import annotations


class FrontdoorError(Exception):
    """Base class: anything the user can fix by changing their input or command."""

    exit_code = 2

    def __init__(self, message: str, *, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict:
        out: dict = {"error": self.message}
        if self.details:
            out["errors"] = self.details
        return out


class InputFileError(FrontdoorError):
    """A file cannot be read at all (corrupt, wrong encoding, not a workbook, too big)."""


class ValidationError(FrontdoorError):
    """The input was read but holds nothing usable (every row rejected, no Annex A list found)."""


class DateOrderError(ValidationError):
    """Dates written in the other order (month-first where day-first is read): the whole input is refused,
    since reading it would reject some dates and silently swap day and month in the others."""


class DatasetError(FrontdoorError):
    """A dataset directory is missing, incomplete or not ours."""


class ModelError(FrontdoorError):
    """A model cannot be trained, saved, loaded or sampled as asked."""


class DisclosureError(FrontdoorError):
    """A release cannot be checked or bundled as asked."""


class BundleError(FrontdoorError):
    """A release bundle is missing, corrupt or has been tampered with."""
