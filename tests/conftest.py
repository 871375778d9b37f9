"""Shared fixtures: a real database and Redis per test run, an app per test, and people.

The suite runs on PostgreSQL and Redis when they answer (``ANNOTATE_TEST_DATABASE_URL``,
default ``postgresql://postgres@127.0.0.1:5432/test``; ``ANNOTATE_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/0``). Each run creates its own PostgreSQL database and drops it at
the end. Where a service does not answer, the suite falls back to SQLite or fakeredis and
says so, unless ``ANNOTATE_TEST_REQUIRE_SERVICES=1`` (as in ``.ci/run``), which makes that
an error.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("ANNOTATE_CORPUS", REPO.parent / "shared" / "corpus"))
MEDIA = CORPUS / "media-from-packages"
REQUIRE_SERVICES = os.environ.get("ANNOTATE_TEST_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("ANNOTATE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ANNOTATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_sessionstart(session):
    """In CI the shared corpus must be there: a missing corpus would silently skip real-data tests."""
    if REQUIRE_SERVICES and not CORPUS.is_dir():
        pytest.exit(f"the test corpus {CORPUS} is missing (set ANNOTATE_CORPUS) and ANNOTATE_TEST_REQUIRE_SERVICES=1", returncode=3)


def corpus_file(relative: str) -> Path:
    """Return a corpus path, skipping the test (with the reason) when the corpus is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"corpus file {path} is absent (set ANNOTATE_CORPUS to the shared corpus)")
    return path


def _fallback(what: str, why: str) -> None:
    message = f"{what} is not reachable ({why})"
    if REQUIRE_SERVICES:
        pytest.exit(f"{message} and ANNOTATE_TEST_REQUIRE_SERVICES=1", returncode=3)
    print(f"\nWARNING: {message}: falling back for this run.")


def _create_pg_database() -> str | None:
    import psycopg

    name = f"annotate_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        _fallback("PostgreSQL", str(exc).strip().splitlines()[0])
        return None
    return re.sub(r"/[^/]*$", f"/{name}", PG_URL)


def _drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str, tmp: Path) -> None:
    """Create the schema at ``url`` by running the Alembic migrations, as production does."""
    from flask_migrate import upgrade

    from annotate import create_app

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        from annotate.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The run's database: a fresh PostgreSQL database, or a SQLite file as the fallback."""
    tmp = tmp_path_factory.mktemp("db")
    url = _create_pg_database()
    if url is None:
        url = f"sqlite:///{tmp / 'test.sqlite3'}"
    migrate(url, tmp)
    yield url
    if url.startswith("postgresql"):
        _drop_pg_database(url)


@pytest.fixture(scope="session")
def redis_connection():
    """A Redis connection on a database of its own, flushed before and after; fakeredis as fallback."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
        connection = redis.Redis.from_url(re.sub(r"/\d*$", "", REDIS_URL) + "/13")
        connection.flushdb()
    except redis.RedisError as exc:
        _fallback("Redis", str(exc))
        import fakeredis

        connection = fakeredis.FakeRedis()
    yield connection
    connection.flushdb()


def _clear(database_url: str) -> None:
    from annotate.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if database_url.startswith("postgresql"):
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as in production.

    Without this a request would reuse the test's app context, and with it ``g`` (the
    logged-in user) and the database session, hiding bugs.
    """

    def open(self, *args, **kwargs):
        from annotate.extensions import db

        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # werkzeug's test client spools big multipart bodies to a temp file it never closes.
        response.request.environ["wsgi.input"].close()
        if has_app_context():
            db.session.expire_all()  # the test's own objects may be stale now
        return response


def make_app(database_url: str, tmp: Path, **extra):
    """Build an app for tests on ``database_url`` with media under ``tmp``."""
    from annotate import create_app

    config = {
        "TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp / "instance"),
        "MEDIA_ROOT": str(tmp / "media"), "SECRET_KEY": "test-secret", "TRAIN_EPOCHS": 2,
        "TRAIN_MIN_SIZE": 128, "TRAIN_MAX_SIZE": 128,
    }  # fmt: skip
    config.update(extra)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app(database_url, redis_connection, tmp_path):
    """An app on the run's database (emptied first) with jobs on Redis."""
    from annotate.extensions import db

    app = make_app(database_url, tmp_path, REDIS_URL="redis://test", REDIS_CONNECTION=redis_connection)
    with app.app_context():
        _clear(database_url)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A test client that keeps cookies (a browser session)."""
    return app.test_client()


def run_jobs(app, redis_connection) -> None:
    """Run every queued job with a real RQ worker (burst mode) in this process."""
    from rq import SimpleWorker

    from annotate.queue import QUEUES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        SimpleWorker(list(QUEUES), connection=redis_connection).work(burst=True, with_scheduler=False)


@dataclass
class World:
    """An organization with every role and a project, plus a second organization."""

    org: object
    other_org: object
    users: dict
    passwords: dict
    project: object


PASSWORD = "correct horse battery"


@pytest.fixture
def world(app):
    """Make two organizations, five people in the first, one admin in the second, and a project."""
    from annotate.extensions import db
    from annotate.services import accounts, projects

    org = accounts.create_organization("Acme")
    other = accounts.create_organization("Other Inc")
    users = {}
    for name, role in [
        ("admin", "admin"),
        ("manager", "manager"),
        ("labeler1", "labeler"),
        ("labeler2", "labeler"),
        ("reviewer", "reviewer"),
    ]:
        users[name] = accounts.create_user(org, name, PASSWORD, role)
    users["outsider"] = accounts.create_user(other, "outsider", PASSWORD, "admin")
    db.session.commit()
    project = projects.create_project(org.id, "Street", "", [{"name": "person"}, {"name": "cat"}, {"name": "outdoor", "kind": "tag"}])
    for name in ("manager", "labeler1", "labeler2", "reviewer"):
        projects.set_member(project, name, users[name].role)
    return World(org, other, users, {n: PASSWORD for n in users}, project)


def csrf_from(html: str) -> str:
    """Return the CSRF token in a page's ``<meta name="csrf-token">``."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Session:
    """A logged-in browser session over the test client, with its CSRF token."""

    def __init__(self, client, username: str, password: str = PASSWORD):
        self.client = client
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.csrf = csrf_from(client.get("/").get_data(as_text=True))

    def api(self, method: str, url: str, **kwargs):
        """Call the API as the tool does: session cookie plus ``X-CSRFToken``."""
        headers = kwargs.pop("headers", {})
        headers["X-CSRFToken"] = self.csrf
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def form(self, url: str, data: dict | None = None, **kwargs):
        """Post a page form with its CSRF token."""
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)


@pytest.fixture
def login(app):
    """``login("labeler1")`` returns a :class:`Session` on a fresh client."""

    def _login(username: str) -> Session:
        return Session(app.test_client(), username)

    return _login
