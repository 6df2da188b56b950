"""The refusals of the rules: one small hierarchy shared by the workflow, the permissions and operations."""

from __future__ import annotations


class WorkflowError(Exception):
    """A request the rules refuse. `status` is the HTTP status the web layer answers with."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(WorkflowError):
    """An object the user may not see is one that does not exist, for them (404, whatever the reason)."""

    def __init__(self, what: str):
        super().__init__(f"no {what} with that id (or you may not see it).", 404)
