"""Configuration: defaults in code, overrides from ``ANNOTATE_*`` environment variables.

``ANNOTATE_DATABASE_URL``, ``ANNOTATE_REDIS_URL``, ``ANNOTATE_MEDIA_ROOT`` and
``ANNOTATE_SECRET_KEY`` are the ones most deployments set. With none of them set, the app
uses SQLite in ``instance/``, media on local disk under ``instance/media`` and runs jobs
in-process.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    "REDIS_URL": None,  # None: jobs run in-process, in a background thread
    "MEDIA_ROOT": None,  # None: <instance>/media
    "SECRET_KEY": None,  # None: a random key kept in <instance>/secret_key
    "IMPORT_ROOTS": "",  # os.pathsep-separated server folders managers may import from
    "MAX_CONTENT_LENGTH": 2 * 1024**3,
    "MAX_IMAGE_PIXELS": 178_956_970,  # Pillow's own default bomb limit
    "THUMBNAIL_SIZE": 256,
    "JOB_TIMEOUT": 3600,
    "LEASE_SECONDS": 1800,  # how long a served task stays the labeler's without a heartbeat
    "TRAIN_EPOCHS": 12,
    "TRAIN_MIN_SIZE": 320,  # pixels: images are resized so the shorter side is this long
    "TRAIN_MAX_SIZE": 640,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_CHECK_DEFAULT": False,  # checked in one before_request hook; tokens are exempt
    "WTF_CSRF_TIME_LIMIT": None,
    "API_TITLE": "annotate",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, ``ANNOTATE_*`` variables, then ``overrides``.

    Args:
        app: the application being built.
        overrides: settings from the caller (tests pass a dict); applied last.
    """
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("ANNOTATE")
    if overrides:
        app.config.update(overrides)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'annotate.sqlite3'}"
    if not app.config["MEDIA_ROOT"]:
        app.config["MEDIA_ROOT"] = str(instance / "media")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance)
    app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(app.config["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})


def _sqlalchemy_url(url: str) -> str:
    # psycopg2 (written in C) serves plain postgresql:// URLs: per labeling request it costs
    # about a fifth less CPU than psycopg 3 (bench/api_cpu.py: 11.9 against 14.6 ms on 2 cores).
    # A URL that names its driver, such as postgresql+psycopg://, is kept as it is.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()
