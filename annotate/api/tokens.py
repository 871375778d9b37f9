"""API tokens of the calling user."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from annotate.api.common import api_blueprint
from annotate.api.schemas import TokenCreateSchema, TokenSchema
from annotate.extensions import db
from annotate.models import ApiToken
from annotate.services import accounts

blp = api_blueprint("tokens", __name__, "Your API tokens (hashed at rest, revocable).")


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """List your tokens (never their secrets)."""
        return db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)).all()

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenSchema)
    def post(self, data):
        """Create a token; the secret is in this response only."""
        secret, token = accounts.create_api_token(current_user, data["name"])
        return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": token.created_at, "token": secret}


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke(token_id: int):
    """Revoke one of your tokens; 404 for a missing id or another user's token."""
    accounts.revoke_api_token(current_user, token_id)
