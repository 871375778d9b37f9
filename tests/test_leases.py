"""The leased pull queue: leases on served tasks, heartbeats, expiry, skipping, and no double serving."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from annotate.extensions import db
from annotate.models import Task, TaskEvent
from tests.helpers import add_images, box, document

LEASE = 1800


@pytest.fixture
def items(world):
    return add_images(world.project, [(40, 30), (30, 30), (20, 30)])


def next_task(session, project_id):
    return session.api("POST", f"/api/v1/tasks/next?project={project_id}")


def lease_of(task_id: int) -> datetime | None:
    moment = db.session.scalar(select(Task.lease_expires_at).where(Task.id == task_id))
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def expire(task_id: int) -> None:
    """Move a task's lease into the past, as if its labeler walked away an hour ago."""
    task = db.session.get(Task, task_id)
    task.lease_expires_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()


def events(task_id: int) -> list[tuple[str, str | None, str, str]]:
    rows = db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)).all()
    return [(e.action, e.actor.username if e.actor else None, e.from_state, e.to_state) for e in rows]


def assert_near(moment: datetime | None, expected: datetime, seconds: float = 30) -> None:
    assert moment is not None and abs((moment - expected).total_seconds()) < seconds, (moment, expected)


def test_served_task_is_leased_for_the_configured_time(app, world, items, login):
    labeler = login("labeler1")
    served = next_task(labeler, world.project.id).get_json()
    assert_near(lease_of(served["id"]), datetime.now(UTC) + timedelta(seconds=LEASE))
    assert datetime.fromisoformat(served["lease_expires_at"]).tzinfo is not None
    app.config["LEASE_SECONDS"] = 60
    # Asking again resumes the same task and renews its lease (now for the shorter time).
    assert next_task(labeler, world.project.id).get_json()["id"] == served["id"]
    assert_near(lease_of(served["id"]), datetime.now(UTC) + timedelta(seconds=60))


def test_expired_lease_without_saved_work_goes_to_the_next_asker(world, items, login):
    first, second = login("labeler1"), login("labeler2")
    task_id = next_task(first, world.project.id).get_json()["id"]
    expire(task_id)
    taken = next_task(second, world.project.id).get_json()
    assert taken["id"] == task_id and taken["assignee"] == "labeler2"
    assert_near(lease_of(task_id), datetime.now(UTC) + timedelta(seconds=LEASE))
    assert events(task_id) == [
        ("start", "labeler1", "new", "in_progress"),
        ("expire", None, "in_progress", "new"),
        ("start", "labeler2", "new", "in_progress"),
    ]
    expired = db.session.scalar(select(TaskEvent).where(TaskEvent.task_id == task_id, TaskEvent.action == "expire"))
    assert "labeler1" in expired.comment
    # The first labeler lost it: they cannot open it, and their next task is another one.
    assert first.api("GET", f"/api/v1/tasks/{task_id}").status_code == 404
    assert first.api("POST", f"/api/v1/tasks/{task_id}/heartbeat").status_code == 404
    assert next_task(first, world.project.id).get_json()["id"] != task_id


def test_expired_lease_with_saved_work_stays_with_its_labeler(world, items, login):
    first, second = login("labeler1"), login("labeler2")
    task_id = next_task(first, world.project.id).get_json()["id"]
    saved = first.api(
        "PUT", f"/api/v1/tasks/{task_id}/annotation", json={"base_revision": 0, "annotation": document([box("cat", 1, 1, 5, 5)])}
    )
    assert saved.status_code == 200
    expire(task_id)
    assert next_task(second, world.project.id).get_json()["id"] != task_id
    assert db.session.get(Task, task_id).assignee.username == "labeler1"
    assert [e[0] for e in events(task_id)] == ["start", "save"]
    # Its labeler gets it back, with a fresh lease, and can still submit.
    back = next_task(first, world.project.id).get_json()
    assert back["id"] == task_id and back["revision"] == 1
    assert_near(lease_of(task_id), datetime.now(UTC) + timedelta(seconds=LEASE))
    assert first.api("POST", f"/api/v1/tasks/{task_id}/submit", json={"base_revision": 1}).status_code == 200
    assert lease_of(task_id) is None


def test_an_expired_lease_is_still_the_labelers_until_someone_asks(world, items, login):
    labeler = login("labeler1")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    expire(task_id)
    beat = labeler.api("POST", f"/api/v1/tasks/{task_id}/heartbeat")
    assert beat.status_code == 200
    assert_near(lease_of(task_id), datetime.now(UTC) + timedelta(seconds=LEASE))
    expire(task_id)
    assert next_task(labeler, world.project.id).get_json()["id"] == task_id
    assert [e[0] for e in events(task_id)] == ["start"]


def test_heartbeat_extends_the_lease_and_only_for_its_holder(world, items, login):
    labeler, other = login("labeler1"), login("labeler2")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    task = db.session.get(Task, task_id)
    task.lease_expires_at = datetime.now(UTC) + timedelta(seconds=10)
    db.session.commit()
    response = labeler.api("POST", f"/api/v1/tasks/{task_id}/heartbeat")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    expires = datetime.fromisoformat(body["lease_expires_at"])
    assert body["task_id"] == task_id and body["lease_seconds"] == LEASE
    assert_near(expires, datetime.now(UTC) + timedelta(seconds=LEASE))
    assert lease_of(task_id) == expires
    # Someone else's task does not exist for a labeler; managers see it but may not hold it.
    assert other.api("POST", f"/api/v1/tasks/{task_id}/heartbeat").status_code == 404
    assert login("manager").api("POST", f"/api/v1/tasks/{task_id}/heartbeat").status_code == 403
    assert login("reviewer").api("POST", f"/api/v1/tasks/{task_id}/heartbeat").status_code == 403
    assert login("outsider").api("POST", f"/api/v1/tasks/{task_id}/heartbeat").status_code == 404
    assert labeler.api("POST", "/api/v1/tasks/999999/heartbeat").status_code == 404
    # A submitted task holds no lease.
    labeler.api("POST", f"/api/v1/tasks/{task_id}/submit", json={})
    submitted = labeler.api("POST", f"/api/v1/tasks/{task_id}/heartbeat")
    assert submitted.status_code == 409 and submitted.get_json()["code"] == 409


def test_heartbeat_needs_the_csrf_token_in_a_browser_session(world, items, login):
    labeler = login("labeler1")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    assert labeler.client.post(f"/api/v1/tasks/{task_id}/heartbeat").status_code in (400, 403)


def test_skip_needs_a_reason(world, items, login):
    labeler = login("labeler1")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    missing = labeler.api("POST", f"/api/v1/tasks/{task_id}/skip", json={})
    assert missing.status_code == 422 and "reason" in json.dumps(missing.get_json()["errors"])
    blank = labeler.api("POST", f"/api/v1/tasks/{task_id}/skip", json={"reason": "   "})
    assert blank.status_code == 422 and blank.get_json()["errors"] == {"reason": "required"}
    assert db.session.get(Task, task_id).assignee.username == "labeler1"


def test_skip_returns_the_task_to_the_pool_but_never_to_the_skipper(world, items, login):
    first, second = login("labeler1"), login("labeler2")
    a = next_task(first, world.project.id).get_json()["id"]
    skipped = first.api("POST", f"/api/v1/tasks/{a}/skip", json={"reason": "too blurry to tell"})
    assert skipped.status_code == 200, skipped.get_json()
    b = skipped.get_json()["next_task_id"]
    assert skipped.get_json()["state"] == "new" and b not in (None, a)
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.task_id == a, TaskEvent.action == "skip"))
    assert (event.actor.username, event.comment, event.from_state, event.to_state) == (
        "labeler1",
        "too blurry to tell",
        "in_progress",
        "new",
    )
    assert db.session.get(Task, a).assignee_id is None and lease_of(a) is None
    assert first.api("GET", f"/api/v1/tasks/{a}").status_code == 404
    # The other labeler gets it (it is the oldest new task) ...
    assert next_task(second, world.project.id).get_json()["id"] == a
    # ... and the skipper works through the rest without ever seeing it again.
    seen = [b]
    while (following := first.api("POST", f"/api/v1/tasks/{seen[-1]}/submit", json={}).get_json()["next_task_id"]) is not None:
        seen.append(following)
    assert a not in seen and len(seen) == 2
    assert next_task(first, world.project.id).status_code == 204


def test_skip_is_not_served_back_even_when_it_is_the_only_task(world, login):
    add_images(world.project, [(20, 20)])
    labeler = login("labeler1")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    skipped = labeler.api("POST", f"/api/v1/tasks/{task_id}/skip", json={"reason": "not my language"})
    assert skipped.get_json() == {"state": "new", "next_task_id": None}
    assert next_task(labeler, world.project.id).status_code == 204
    assert next_task(login("labeler2"), world.project.id).get_json()["id"] == task_id


def test_skip_permissions(world, items, login):
    labeler = login("labeler1")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    reason = {"reason": "no"}
    assert login("labeler2").api("POST", f"/api/v1/tasks/{task_id}/skip", json=reason).status_code == 404
    assert login("reviewer").api("POST", f"/api/v1/tasks/{task_id}/skip", json=reason).status_code == 403
    assert login("manager").api("POST", f"/api/v1/tasks/{task_id}/skip", json=reason).status_code == 403
    assert login("outsider").api("POST", f"/api/v1/tasks/{task_id}/skip", json=reason).status_code == 404
    labeler.api("POST", f"/api/v1/tasks/{task_id}/submit", json={})
    assert labeler.api("POST", f"/api/v1/tasks/{task_id}/skip", json=reason).status_code == 409
    assert [e[0] for e in events(task_id)] == ["start", "submit"]


def test_a_manager_labeling_may_skip_their_own_task(world, items, login):
    manager = login("manager")
    task_id = next_task(manager, world.project.id).get_json()["id"]
    assert manager.api("POST", f"/api/v1/tasks/{task_id}/skip", json={"reason": "conflict of interest"}).status_code == 200
    assert events(task_id)[-1] == ("skip", "manager", "in_progress", "new")


def test_the_tool_page_has_a_skip_button(world, items, login):
    labeler = login("labeler1")
    task_id = next_task(labeler, world.project.id).get_json()["id"]
    page = labeler.client.get(f"/label/tasks/{task_id}").get_data(as_text=True)
    assert 'id="skip-btn"' in page


# ---- many labelers at once ------------------------------------------------------------


def crowd(world, login, monkeypatch, count: int) -> tuple[list, list[int]]:
    """Make ``count`` labelers in the project, each logged in on its own client."""
    from werkzeug.security import generate_password_hash

    from annotate.services import accounts, projects

    # scrypt for 50 people would take most of the test's time; the login path is the same.
    monkeypatch.setattr(accounts, "generate_password_hash", lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    names = [f"crowd{i}" for i in range(count)]
    users = [accounts.create_user(world.org, name, "correct horse battery", "labeler") for name in names]
    db.session.commit()
    for name in names:
        projects.set_member(world.project, name, "labeler")
    user_ids = [user.id for user in users]  # read before the threads: the objects belong to this thread's session
    return [login(name) for name in names], user_ids


def at_once(calls: list) -> list:
    """Run every call in its own thread, released together; return their results in order."""
    results: list = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def ask(session, project_id: int):
    def call() -> int | None:
        response = next_task(session, project_id)
        assert response.status_code in (200, 204), response.data
        return json.loads(response.data)["id"] if response.status_code == 200 else None

    return call


def act(session, task_id: int, skip: bool):
    def call() -> int | None:
        if skip:
            response = session.api("POST", f"/api/v1/tasks/{task_id}/skip", json={"reason": "crowd test"})
        else:
            response = session.api("POST", f"/api/v1/tasks/{task_id}/submit", json={})
        assert response.status_code == 200, response.data
        return json.loads(response.data)["next_task_id"]

    return call


def check_holders(held: list[int | None], user_ids: list[int]) -> None:
    """Each task is held by at most one client, and the database agrees on who holds it."""
    ids = [task_id for task_id in held if task_id is not None]
    assert len(ids) == len(set(ids)), "a task was served to two labelers at once"
    owners = dict(db.session.execute(select(Task.id, Task.assignee_id).where(Task.state == "in_progress")).all())
    assert owners == {task_id: user_ids[i] for i, task_id in enumerate(held) if task_id is not None}


def crowd_labels(world, login, monkeypatch, clients: int, items: int) -> None:
    """``clients`` labelers ask at once, then three rounds of submit-or-skip + next, all at once."""
    add_images(world.project, [(8 + i % 40, 8 + i // 40) for i in range(items)])
    sessions, user_ids = crowd(world, login, monkeypatch, clients)
    project_id = world.project.id
    held = at_once([ask(s, project_id) for s in sessions])
    assert sum(task_id is not None for task_id in held) == min(clients, items)
    check_holders(held, user_ids)
    servings = sum(task_id is not None for task_id in held)
    skipped_by: dict[int, set[int]] = {i: set() for i in range(clients)}
    for round_ in range(3):
        # In the first round every fifth holder skips (the task goes back to the pool) instead of submitting.
        plan = [(i, held[i] is not None and round_ == 0 and i % 5 == 0) for i in range(clients)]
        for i, skipping in plan:
            if skipping:
                skipped_by[i].add(held[i])
        calls = [act(sessions[i], held[i], skipping) if held[i] is not None else ask(sessions[i], project_id) for i, skipping in plan]
        held = at_once(calls)
        db.session.expire_all()
        check_holders(held, user_ids)
        for i, task_id in enumerate(held):
            assert task_id not in skipped_by[i], "a task came back to the labeler who skipped it"
        servings += sum(task_id is not None for task_id in held)
    # One start per serving, each of a task in the pool: never one taken from someone who held it.
    starts = db.session.scalars(select(TaskEvent.from_state).where(TaskEvent.action == "start")).all()
    assert len(starts) == servings and set(starts) == {"new"}
    skips = db.session.scalar(select(func.count()).select_from(TaskEvent).where(TaskEvent.action == "skip"))
    assert skips == len([i for i in range(clients) if i % 5 == 0])
    # Every item was served once, and every skipped one once more, to someone else.
    assert servings == items + skips


def test_eight_labelers_at_once_never_share_a_task(app, world, login, monkeypatch):
    crowd_labels(world, login, monkeypatch, clients=8, items=10)


def test_fifty_labelers_at_once_never_share_a_task(app, world, login, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite serializes writers, so 50 clients would only test its lock queue (the 8-client test runs there)"
        )
    crowd_labels(world, login, monkeypatch, clients=50, items=60)


def test_concurrent_askers_release_an_expired_task_once(app, world, login, monkeypatch):
    add_images(world.project, [(20, 20), (21, 20)])
    holder = login("labeler1")
    task_id = next_task(holder, world.project.id).get_json()["id"]
    expire(task_id)
    sessions, _ = crowd(world, login, monkeypatch, 6)
    project_id = world.project.id
    served = at_once([ask(s, project_id) for s in sessions])
    got = [t for t in served if t is not None]
    assert len(got) == len(set(got)) == 2 and task_id in got
    db.session.expire_all()
    assert [e[0] for e in events(task_id)] == ["start", "expire", "start"]
