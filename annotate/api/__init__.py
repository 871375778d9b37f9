"""The REST API, ``/api/v1``, built with flask-smorest; its OpenAPI document is at
``/api/v1/openapi.json``. Every error has the body ``{"code", "status", "message", "errors"}``.

Authenticate with a session cookie (plus ``X-CSRFToken`` on writes) or with
``Authorization: Bearer <token>`` (tokens are made under ``/api/v1/tokens``).
"""

from flask_smorest import Api


def register(api: Api) -> None:
    """Register every API blueprint."""
    from annotate.api import jobs, models, projects, quality, tasks, tokens, work_saved, workflow

    for module in (projects, tasks, jobs, models, tokens, work_saved, quality, workflow):
        api.register_blueprint(module.blp)
