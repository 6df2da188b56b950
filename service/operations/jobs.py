"""Jobs: see one (queueing is in common.new_job, with the user's quota)."""

from __future__ import annotations

from service.governance import permissions
from service.operations.common import require
from service.orm import Job, User
from service.store import Store


def get_job(store: Store, s, user: User, job_id: str) -> Job:
    """A job of the user's council they may see (permissions.check_view_job)."""
    require(user, "job:read")
    job = store.get(s, Job, job_id)
    permissions.check_view_job(user, job)
    return job
