from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from service.api.context import store
from service.api.schemas import HealthSchema

blp = Blueprint("system", __name__, url_prefix="/api/v1", description="Service health")


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """Is the service up, and can it reach its database?"""
        from sqlalchemy import text

        with store().read() as s:
            s.execute(text("SELECT 1"))
        return {"ok": True, "status": "up"}
