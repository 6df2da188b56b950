from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from service import audit, operations
from service.api.context import store, user
from service.api.responses import errors
from service.api.schemas import AuditPageSchema, AuditQuerySchema

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="The audit trail (reviewers, admins)")


@blp.route("")
class AuditLog(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditPageSchema)
    @errors(blp, 403, 422)
    def get(self, q: dict):
        """Your council's audit events, oldest first, filterable; with its hash chain's verification."""
        operations.require(user(), "audit:read")
        with store().read() as s:
            events = store().audit_events(s, user().council_id, limit=q["limit"], offset=q["offset"], action=q.get("action"),
                                          object_type=q.get("object_type"), object_id=q.get("object_id"),
                                          actor=q.get("actor"))
        return {"events": events, "chain": audit.verify(store(), user().council_id)}
