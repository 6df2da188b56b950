"""The council's users and their tokens (admins): rotate, revoke, deactivate, activate; all audited."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from service import operations
from service.api.context import store, user
from service.api.responses import errors
from service.api.schemas import TokenActionResultSchema, TokenActionSchema, UserSchema

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users of your council (admins)")


@blp.route("")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    @errors(blp, 403)
    def get(self):
        """Your council's users."""
        with store().read() as s:
            return operations.list_users(store(), s, user())


@blp.route("/<name>/token")
class UserToken(MethodView):
    @blp.arguments(TokenActionSchema)
    @blp.response(200, TokenActionResultSchema)
    @errors(blp, 400, 403, 404, 409, 422, 507)
    def post(self, body: dict, name: str):
        """Rotate or revoke a user's token, or deactivate or activate the user: at once, for every process."""
        changed, token = operations.change_user_token(store(), user(), name, body["action"])
        return {"user": changed, "token": token}
