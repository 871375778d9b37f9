"""Who is calling: session logins for pages, bearer tokens for the API, and CSRF.

Unsafe requests (POST, PUT, PATCH, DELETE) made with a session cookie must carry a CSRF
token (a form field, or the ``X-CSRFToken`` header for the tool's requests). Requests that
authenticate with ``Authorization: Bearer <token>`` carry no cookie to forge, so they are
exempt.
"""

from __future__ import annotations

from flask import Flask, g, jsonify, request

from annotate.extensions import csrf, db, login_manager
from annotate.models import User
from annotate.services.accounts import user_for_token

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def init_app(app: Flask) -> None:
    """Install the user loaders and the authentication/CSRF hook."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to open this page."

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    @login_manager.request_loader
    def load_token_user(_request) -> User | None:
        return g.get("token_user")

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            body = {"code": 401, "status": "Unauthorized", "message": "log in or send 'Authorization: Bearer <token>'", "errors": {}}
            return jsonify(body), 401
        from flask import redirect, url_for

        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))

    @app.before_request
    def authenticate_and_protect():
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = user_for_token(header[len("Bearer ") :].strip())
            if user is None:
                body = {"code": 401, "status": "Unauthorized", "message": "the API token is unknown or revoked", "errors": {}}
                return jsonify(body), 401
            g.token_user = user
            return None
        if request.method in UNSAFE:
            csrf.protect()
        return None
