"""The Alembic migrations build exactly the schema the models describe, up and down."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from annotate.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_server_default": False}), db.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(tmp_path):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import make_app, migrate

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    migrate(url, tmp_path)
    app = make_app(url, tmp_path)
    with app.app_context():
        directory = app.extensions["migrate"].directory
        downgrade(directory=directory, revision="base")
        upgrade(directory=directory)
        assert "prelabel_outcomes" in db.inspect(db.engine).get_table_names()
        db.engine.dispose()
