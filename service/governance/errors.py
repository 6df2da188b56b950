"""The refusals of the rules: one small hierarchy shared by the workflow, the permissions and operations.

Each kind of refusal is a class, named for why the rules refuse; governance knows nothing of HTTP. The web
layer says which status each kind is answered with (service/api/refusals.py, one table for the API and the
pages). Raise a subclass, never WorkflowError itself."""

from __future__ import annotations


class WorkflowError(Exception):
    """A request the rules refuse; `message` says why, and how to put it right."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Conflict(WorkflowError):
    """The object's state (or the service's) does not allow it now: it may later, or after another step."""


class NotAllowed(WorkflowError):
    """This user may not do this: their role, or their part in the object (a requester reviewing their own)."""


class Invalid(WorkflowError):
    """Some value given is missing or wrong (a field, a file's contents, a choice not on the list)."""


class NotFound(WorkflowError):
    """An object the user may not see is one that does not exist, for them (whatever the reason)."""

    def __init__(self, what: str = "object", message: str | None = None):
        super().__init__(message or f"no {what} with that id (or you may not see it).")


class Gone(WorkflowError):
    """The object was there and has been taken away for good (a withdrawn release's files)."""


class UnsupportedType(WorkflowError):
    """A file or body of a type this does not accept."""


class OverQuota(WorkflowError):
    """The user already has as much under way as one person may (jobs queued or running at once)."""


REFUSALS = (Conflict, NotAllowed, Invalid, NotFound, Gone, UnsupportedType, OverQuota)
