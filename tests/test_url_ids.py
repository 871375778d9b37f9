"""Ids in URLs beyond the signed 64-bit range are 404, on every ``<int:...>`` route, API and pages.

On SQLite such a number used to reach the database driver and fail with OverflowError (a
500); the routes now refuse it before any view runs.
"""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound

from tests.conftest import PASSWORD, Session, make_app, migrate

LARGEST = 2**63 - 1
TOO_LARGE = [2**63, 10**23]
# (method, URL with {n} for the id, whether the answer is the API's JSON body)
ROUTES = [
    ("GET", "/api/v1/projects/{n}", True),
    ("GET", "/api/v1/tasks/{n}", True),
    ("DELETE", "/api/v1/tokens/{n}", True),
    ("GET", "/api/v1/projects/{n}/work-saved", True),
    ("PUT", "/api/v1/projects/1/items/{n}/overlap", True),
    ("GET", "/projects/{n}/manage", False),
    ("GET", "/label/tasks/{n}", False),
    ("GET", "/media/items/{n}/image", False),
    ("POST", "/review/tasks/{n}/accept", False),
]


@pytest.fixture(scope="module")
def sqlite_admin(tmp_path_factory):
    """An app on a SQLite file with one admin logged in: the database where big ids crashed."""
    from annotate.extensions import db
    from annotate.services import accounts, projects

    tmp = tmp_path_factory.mktemp("sqlite")
    url = f"sqlite:///{tmp / 'ids.sqlite3'}"
    migrate(url, tmp)
    app = make_app(url, tmp)
    with app.app_context():
        org = accounts.create_organization("Acme")
        accounts.create_user(org, "admin", PASSWORD, "admin")
        db.session.commit()
        projects.create_project(org.id, "Street", "", [{"name": "person"}])
        db.session.remove()
    yield Session(app.test_client(), "admin")
    with app.app_context():
        db.engine.dispose()


def call(session: Session, method: str, url: str):
    if method == "GET":
        return session.client.get(url)
    if url.startswith("/api/"):
        return session.api(method, url, json={"overlap": None})
    return session.form(url)


@pytest.mark.parametrize(("method", "url", "is_api"), ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
@pytest.mark.parametrize("number", [*TOO_LARGE, LARGEST], ids=["2**63", "10**23", "2**63-1"])
def test_ids_past_the_64_bit_range_are_not_found(sqlite_admin, method, url, is_api, number):
    response = call(sqlite_admin, method, url.format(n=number))
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    if is_api:
        assert response.get_json()["code"] == 404


def test_the_routes_refuse_them_before_any_view(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path)  # no query is made
    urls = app.url_map.bind("localhost")
    assert urls.match(f"/api/v1/projects/{LARGEST}") == ("projects.ProjectById", {"project_id": LARGEST})
    for number in TOO_LARGE:
        with pytest.raises(NotFound):
            urls.match(f"/api/v1/projects/{number}")
        with pytest.raises(NotFound):
            urls.match(f"/projects/1/quality/unpause/{number}", method="POST")


def test_the_openapi_document_states_the_bound(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    (parameter,) = spec["paths"]["/api/v1/projects/{project_id}"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": LARGEST}


# (method, URL, JSON body with {n} for the id, the field the 422 names)
BODY_AND_QUERY_IDS = [
    ("POST", "/api/v1/tasks/next?project={n}", None, "project"),
    ("POST", "/api/v1/projects/1/gold", {"item_id": "{n}"}, "item_id"),
    ("POST", "/api/v1/projects/1/prelabel", {"model_version_id": "{n}"}, "model_version_id"),
    ("POST", "/api/v1/projects/1/prelabel", {"item_ids": ["{n}"]}, "item_ids"),
]


def _with_number(body, number):
    if isinstance(body, dict):
        return {key: _with_number(value, number) for key, value in body.items()}
    if isinstance(body, list):
        return [_with_number(value, number) for value in body]
    return number if body == "{n}" else body


@pytest.mark.parametrize(("method", "url", "body", "field"), BODY_AND_QUERY_IDS, ids=[f"{m} {u} {f}" for m, u, _, f in BODY_AND_QUERY_IDS])
@pytest.mark.parametrize("number", TOO_LARGE, ids=["2**63", "10**23"])
def test_ids_past_the_64_bit_range_in_bodies_and_queries_are_refused_naming_the_field(sqlite_admin, method, url, body, field, number):
    response = sqlite_admin.api(method, url.format(n=number), json=_with_number(body, number))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert field in str(response.get_json()["errors"])
