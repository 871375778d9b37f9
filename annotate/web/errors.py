"""Turning errors into responses: JSON for the API, a page with a flash for people."""

from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from annotate.errors import AnnotateError


def wants_json() -> bool:
    """Whether the caller is the API or the browser tool rather than a page."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(AnnotateError)
    def handle_annotate_error(exc: AnnotateError):
        if wants_json():
            return jsonify(exc.to_body()), exc.status_code
        if request.method == "POST" and exc.status_code in (400, 403, 409, 422) and request.referrer:
            flash(_page_message(exc), "error")
            return redirect(request.referrer)
        return render_template("error.html", code=exc.status_code, message=exc.message), exc.status_code

    @app.errorhandler(CSRFError)
    def handle_csrf_error(exc: CSRFError):
        message = f"missing or invalid CSRF token: {exc.description}"
        if wants_json():
            return jsonify({"code": 400, "status": "Bad Request", "message": message, "errors": {"csrf_token": exc.description}}), 400
        return render_template("error.html", code=400, message=message + " Reload the page and try again."), 400

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if wants_json():
            body = {"code": exc.code, "status": exc.name, "message": exc.description, "errors": {}}
            data = getattr(exc, "data", None) or {}
            if "messages" in data:  # webargs validation errors from flask-smorest
                body["errors"] = data["messages"]
                body["message"] = "the request has invalid fields"
            return jsonify(body), exc.code
        return render_template("error.html", code=exc.code, message=exc.description), exc.code


def _page_message(exc: AnnotateError) -> str:
    details = exc.errors.get("files") if isinstance(exc.errors.get("files"), dict) else None
    if details:
        return exc.message + ": " + "; ".join(f"{name}: {why}" for name, why in list(details.items())[:10])
    return exc.message
