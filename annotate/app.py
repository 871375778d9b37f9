"""The application factory: reads like a table of contents."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from annotate import queue, storage
from annotate.config import load_config
from annotate.extensions import api, csrf, db, login_manager, migrate

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app.

    Args:
        config: settings applied after the defaults and ``ANNOTATE_*`` environment variables
            (tests pass a dict).

    Returns:
        The configured Flask application. Nothing connects until a request or command needs it.
    """
    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("ANNOTATE_INSTANCE_PATH")
    app = Flask(__name__, instance_path=str(Path(instance).resolve()) if instance else None)
    load_config(app, config)
    if not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the extension objects and our own per-app services."""
    from annotate import auth

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    api.init_app(app)
    auth.init_app(app)
    storage.init_app(app)
    queue.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Register the pages and the REST API."""
    from annotate.api import register as register_api
    from annotate.web import register as register_pages

    register_pages(app)
    register_api(api)


def register_errorhandlers(app: Flask) -> None:
    """Map our exception tree to HTTP in one place."""
    from annotate.web.errors import init_app as init_errors

    init_errors(app)


def register_commands(app: Flask) -> None:
    """Add ``demo``, ``worker``, ``user`` and ``export`` to the ``annotate`` CLI."""
    from annotate.cli import register

    register(app)
