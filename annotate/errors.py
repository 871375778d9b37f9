"""The app's exception tree, and its one mapping to HTTP.

::

    AnnotateError                 400  base; ``message`` for people, ``errors`` by field
    ├── ValidationFailed          422  input that breaks a rule (schema, label, bounds)
    ├── BadUpload                 400  a file that cannot be taken (corrupt, unsupported, unsafe)
    ├── NotFound                  404  missing, or not visible to the caller (other tenants)
    ├── Forbidden                 403  visible, but the caller's role may not do this
    ├── Conflict                  409  a save based on an older revision; a duplicate name
    └── ServiceUnavailable        503  e.g. the ML extra is not installed

API responses use one body shape: ``{"code", "status", "message", "errors"}``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class AnnotateError(Exception):
    """Base of every error the app reports to people.

    Args:
        message: one sentence a person can act on.
        errors: details by field or file name, e.g. ``{"files": {"a.jpg": "not an image"}}``.
    """

    status_code = 400

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def to_body(self) -> dict[str, Any]:
        """Return the JSON error body."""
        return {
            "code": self.status_code,
            "status": HTTPStatus(self.status_code).phrase,
            "message": self.message,
            "errors": self.errors,
        }


class ValidationFailed(AnnotateError):
    """Input that breaks a rule: the schema, a label not in the project, a box off the image."""

    status_code = 422


class BadUpload(AnnotateError):
    """An uploaded file that cannot be taken."""

    status_code = 400


class NotFound(AnnotateError):
    """Missing, or belonging to another organization or project (we do not say which)."""

    status_code = 404


class Forbidden(AnnotateError):
    """The caller may see this but their role may not do it."""

    status_code = 403


class Conflict(AnnotateError):
    """The request is based on stale data (an older revision) or clashes with existing data."""

    status_code = 409


class ServiceUnavailable(AnnotateError):
    """A needed part is missing, such as the ``ml`` extra for training."""

    status_code = 503
