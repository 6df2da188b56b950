"""The council's settings, and comparison with other councils that share their aggregate releases."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from service import operations
from service.api.context import store, user
from service.api.responses import errors
from service.api.schemas import ComparisonSchema, CouncilSchema, CouncilUpdateSchema, TeamsSchema

blp = Blueprint("councils", __name__, url_prefix="/api/v1",
                description="Your council, sharing aggregates with other councils, and comparisons")


@blp.route("/council")
class CouncilItem(MethodView):
    @blp.response(200, CouncilSchema)
    @errors(blp)
    def get(self):
        """Your council: its declared population and whether it shares its aggregate releases."""
        with store().read() as s:
            return operations.get_council(store(), s, user())

    @blp.arguments(CouncilUpdateSchema)
    @blp.response(200, CouncilSchema)
    @errors(blp, 400, 403, 422, 507)
    def patch(self, body: dict):
        """Admins: declare the population of children, opt in to sharing (`shares_aggregates` true) or withdraw
        (false; at once, audited)."""
        return operations.update_council(store(), user(), body.get("population"), body.get("shares_aggregates"))


@blp.route("/comparison")
class Comparison(MethodView):
    @blp.response(200, ComparisonSchema)
    @errors(blp, 403, 409)
    def get(self):
        """Your council against each council that shares and against the pooled group (only while yours shares)."""
        return operations.compare_councils(store(), user())


@blp.route("/releases/<release_id>/teams")
class Teams(MethodView):
    @blp.response(200, TeamsSchema)
    @errors(blp, 403, 404, 409)
    def get(self, release_id: str):
        """The teams of an aggregate release side by side with the whole council."""
        return operations.compare_teams(store(), user(), release_id)
