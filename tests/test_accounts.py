"""Login, passwords, CSRF and API tokens."""

from sqlalchemy import select

from annotate.extensions import db
from annotate.models import ApiToken, User
from tests.conftest import PASSWORD, Session, csrf_from


def test_password_is_hashed_and_login_works(client, world):
    user = db.session.scalar(select(User).where(User.username == "labeler1"))
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")
    Session(client, "labeler1")
    assert "Your projects" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused(client, world):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "labeler1", "password": "nope", "csrf_token": csrf_from(page)})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, world):
    response = client.post("/login", data={"username": "labeler1", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_open_redirect_is_not_followed(client, world):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login?next=https://evil.example/", data={"username": "labeler1", "password": PASSWORD, "csrf_token": csrf_from(page)}
    )
    assert response.headers["Location"] == "/"


def test_pages_need_login(client, world):
    for url in ("/", f"/projects/{world.project.id}/manage", f"/projects/{world.project.id}/review"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_api_needs_auth_and_session_writes_need_csrf(client, world, login):
    assert client.get("/api/v1/projects").status_code == 401
    assert client.get("/api/v1/projects").get_json()["code"] == 401
    session = login("manager")
    response = session.client.post("/api/v1/projects", json={"name": "No token"})
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"csrf_token": "The CSRF token is missing."}
    assert session.api("POST", "/api/v1/projects", json={"name": "With token"}).status_code == 201


def test_api_token_lifecycle(client, world, login):
    session = login("manager")
    created = session.api("POST", "/api/v1/tokens", json={"name": "laptop"})
    assert created.status_code == 201
    secret = created.get_json()["token"]
    row = db.session.get(ApiToken, created.get_json()["id"])
    assert secret not in row.token_hash and len(row.token_hash) == 64
    bearer = {"Authorization": f"Bearer {secret}"}
    # Tokens need no CSRF header: there is no cookie to forge.
    fresh = client.application.test_client()
    assert fresh.post("/api/v1/projects", json={"name": "Via token"}, headers=bearer).status_code == 201
    listing = session.api("GET", "/api/v1/tokens").get_json()
    assert listing[0]["prefix"] == secret[:12] and "token" not in listing[0]
    assert session.api("DELETE", f"/api/v1/tokens/{row.id}").status_code == 204
    refused = fresh.get("/api/v1/projects", headers=bearer)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["message"]


def test_cli_user_create(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "newbie", "--role", "labeler", "--org", "Acme", "--password", "longenough1"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.username == "newbie")).role == "labeler"
    result = runner.invoke(args=["user", "create", "newbie", "--role", "labeler", "--org", "Acme", "--password", "longenough1"])
    assert result.exit_code != 0 and "taken" in result.output


def test_token_use_is_recorded_at_most_once_a_minute(client, world, login):
    from datetime import timedelta

    secret = login("manager").api("POST", "/api/v1/tokens", json={"name": "ci"}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200
    token = db.session.scalar(select(ApiToken))
    first = token.last_used_at
    assert first is not None
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == first  # no write on every call
    token.last_used_at = first - timedelta(minutes=5)
    db.session.commit()
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at > first - timedelta(minutes=5)


def test_token_of_a_deactivated_user_is_refused_on_the_next_call(client, world, login):
    secret = login("labeler1").api("POST", "/api/v1/tokens", json={"name": "ci"}).get_json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/projects", headers=bearer).get_json()[0]["name"] == world.project.name
    user = db.session.scalar(select(User).where(User.username == "labeler1"))
    user.active = False
    db.session.commit()
    refused = client.get("/api/v1/projects", headers=bearer)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["message"]
    user.active = True
    db.session.commit()
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200


def test_revoking_a_missing_or_another_users_token_is_404(client, world, login):
    owner, other = login("manager"), login("labeler1")
    created = owner.api("POST", "/api/v1/tokens", json={"name": "laptop"}).get_json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    for session, token_id in ((other, created["id"]), (owner, created["id"] + 1000)):
        refused = session.api("DELETE", f"/api/v1/tokens/{token_id}")
        assert refused.status_code == 404
        assert refused.get_json() == {
            "code": 404, "status": "Not Found", "message": f"token {token_id} not found", "errors": {"token_id": "not one of your tokens"},
        }  # fmt: skip
    # Nothing was revoked: the token still works, until its owner revokes it (twice is fine).
    assert client.application.test_client().get("/api/v1/projects", headers=bearer).status_code == 200
    assert owner.api("DELETE", f"/api/v1/tokens/{created['id']}").status_code == 204
    assert owner.api("DELETE", f"/api/v1/tokens/{created['id']}").status_code == 204
    assert client.application.test_client().get("/api/v1/projects", headers=bearer).status_code == 401
