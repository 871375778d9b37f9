"""Helpers shared by API blueprints."""

from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user
from flask_smorest import Blueprint


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """Make an API blueprint under ``/api/v1`` whose every view requires a logged-in caller."""
    blp = Blueprint(name, import_name, url_prefix="/api/v1", description=description)

    @blp.before_request
    def require_login():
        if not current_user.is_authenticated:
            body = {"code": 401, "status": "Unauthorized", "message": "log in or send 'Authorization: Bearer <token>'", "errors": {}}
            return jsonify(body), 401
        return None

    return blp


def csv_response(text: str, filename: str) -> Response:
    """Return ``text`` as a CSV download named ``filename``."""
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
