"""annotate: a self-hosted, crowdsourced data-annotation platform.

``create_app`` is imported lazily so that pure modules (``annotate.converters``) can be used
as a library without importing Flask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application; see :func:`annotate.app.create_app`."""
    from annotate.app import create_app as _create_app

    return _create_app(config)
