"""Pages: one blueprint per area."""

from flask import Flask


def register(app: Flask) -> None:
    """Register every page blueprint on ``app``."""
    from annotate.web import admin, auth, home, label, media, quality, review, stats

    for module in (auth, home, label, review, admin, media, stats, quality):
        app.register_blueprint(module.bp)


def read_uploads(files) -> list[tuple[str, bytes]]:
    """Read uploaded files into ``(name, bytes)`` pairs and close their temporary files."""
    uploads = []
    for upload in files:
        if upload.filename:
            uploads.append((upload.filename, upload.read()))
        upload.close()
    return uploads
