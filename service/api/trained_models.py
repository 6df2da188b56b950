from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from service import operations
from service.api.context import runner, store, user
from service.api.responses import errors
from service.api.schemas import ModelAcceptedSchema, ModelCreateSchema, ModelSchema

blp = Blueprint("models", __name__, url_prefix="/api/v1/models", description="Trained generators (data owners)")


@blp.route("")
class Models(MethodView):
    @blp.response(200, ModelSchema(many=True))
    @errors(blp, 403)
    def get(self):
        """Your models (all for reviewers and admins)."""
        with store().read() as s:
            return operations.list_models(store(), s, user())

    @blp.arguments(ModelCreateSchema)
    @blp.response(202, ModelAcceptedSchema)
    @errors(blp, 400, 403, 404, 409, 422, 429, 507)
    def post(self, body: dict):
        """Train a generator on a dataset; the training runs as a job (202). With epsilon, declare the
        extract window (window_start, window_end)."""
        m, job = operations.request_model(store(), runner(), user(), body["dataset_id"], body["generator"],
                                          body.get("epsilon"), body.get("window_start"), body.get("window_end"))
        return {"model": m, "job": job}


@blp.route("/<model_id>")
class ModelItem(MethodView):
    @blp.response(200, ModelSchema)
    @errors(blp, 403, 404)
    def get(self, model_id: str):
        with store().read() as s:
            return operations.get_model(store(), s, user(), model_id)
