"""What every action shares: the role gate, before any object is looked at, and queueing a job within
the user's quota."""

from __future__ import annotations

from service.governance import permissions
from service.governance.errors import OverQuota
from service.orm import Job, User
from service.store import Store, new_id

# The role gate, before any object is looked at (every rule is in service.governance.permissions).
require = permissions.check_allowed


def new_job(store: Store, s, runner, kind: str, target_type: str, target_id: str, user: User) -> Job:
    """A queued job for this user, within their quota of jobs queued or running at once (one person cannot
    fill the queue: a security review sent 274 release requests in 2.5 minutes)."""
    from sqlalchemy import func, select

    limit = int(store.cfg.get("MAX_ACTIVE_JOBS_PER_USER", 3))
    active = s.scalar(select(func.count()).select_from(Job).where(
        Job.created_by == user.id, Job.status.in_(("queued", "running"))))
    if active >= limit:
        raise OverQuota(f"you already have {active} jobs queued or running (at most {limit} at once); wait "
                        "for one to finish, then try again.")
    job = Job(id=new_id(), council_id=user.council_id, kind=kind, target_type=target_type, target_id=target_id,
              created_by=user.id, backend=runner.backend)
    s.add(job)
    s.flush()
    return job
