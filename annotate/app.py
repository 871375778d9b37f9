"""The application factory: reads like a table of contents."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from annotate import queue, storage
from annotate.config import load_config
from annotate.extensions import api, csrf, db, login_manager, migrate

MIGRATIONS = Path(__file__).parent / "migrations"
#: The largest id a URL may name: a signed 64-bit integer, the widest id column a database
#: holds. Larger numbers crash the database driver (SQLite's OverflowError) instead of
#: finding nothing.
MAX_URL_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter with :data:`MAX_URL_ID` as its default ``max``.

    Registered as ``int``, so every ``<int:...>`` route answers 404 for a larger number
    without reaching a view or the database; the OpenAPI document states the bound
    (``maximum``) for each such path parameter.
    """

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_URL_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


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
    register_url_converters(app)
    if not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_url_converters(app: Flask) -> None:
    """Replace ``int`` in routes with :class:`IdConverter`; done before any route is added."""
    app.url_map.converters["int"] = IdConverter


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
