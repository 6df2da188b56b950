from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from service import operations
from service.api.context import store, user
from service.api.responses import errors
from service.api.schemas import JobSchema
from service.governance import permissions
from service.jobs import reap_stale_jobs

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Background jobs and their progress")


@blp.route("/<job_id>")
class JobItem(MethodView):
    @blp.response(200, JobSchema)
    @errors(blp, 403, 404)
    def get(self, job_id: str):
        """Status (queued | running | succeeded | failed), percent and stage."""
        permissions.check_allowed(user(), "job:read")
        reap_stale_jobs(store())
        with store().read() as s:
            return operations.get_job(store(), s, user(), job_id)
