"""Configurable review (issue #5): the audit rate and escalation after too many review rounds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotate.errors import ValidationFailed
from annotate.extensions import db
from annotate.models import GoldAnswer, Item, Task, TaskEvent
from annotate.services import projects, tasks
from tests.helpers import add_images, box, document
from tests.test_quality import _gold_world
from workflows import Role


def _events(task_id: int) -> list[tuple[str, str, str, str | None]]:
    rows = db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id))
    return [(e.action, e.from_state, e.to_state, e.actor.username if e.actor else None) for e in rows]


def _label_all(world, user: str = "labeler1") -> list[Task]:
    """Serve and submit every task of the project as ``user``; return the tasks in item order."""
    project, labeler = world.project, world.users[user]
    task = tasks.next_task(project, labeler, Role.LABELER)
    while task is not None:
        task = tasks.submit(task, labeler, Role.LABELER)
    return list(db.session.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.item_id)))


@pytest.fixture
def plain(world):
    """The world's project without gold draws (gold_rate 0)."""
    world.project.gold_rate = 0.0
    db.session.commit()
    return world


# ---- audit ----------------------------------------------------------------------------------


def test_review_draw_is_seeded_and_hand_checked():
    # random.Random("review:1:k:0").random() for items k = 1..6, worked out once by hand:
    # 0.275, 0.473, 0.711, 0.523, 0.488, 0.995 -> below 0.5 for items 1, 2 and 5.
    draws = [tasks.review_rng(1, k, 0).random() for k in range(1, 7)]
    assert [round(d, 3) for d in draws] == [0.275, 0.473, 0.711, 0.523, 0.488, 0.995]
    assert [tasks.review_rng(1, k, 0).random() for k in range(1, 7)] == draws
    # The submit count is part of the seed: a second submit draws anew.
    assert tasks.review_rng(1, 1, 1).random() != draws[0]


def test_review_rate_zero_accepts_every_submit_for_the_system(plain):
    add_images(plain.project, [(32, 24)] * 3)
    projects.update_settings(plain.project, review_rate=0.0)
    done = _label_all(plain)
    assert [t.state for t in done] == ["accepted"] * 3
    for task in done:
        assert _events(task.id) == [("start", "new", "in_progress", "labeler1"), ("auto_accept", "in_progress", "accepted", None)]
        auto = db.session.scalar(select(TaskEvent).where(TaskEvent.task_id == task.id, TaskEvent.action == "auto_accept"))
        assert auto.comment == "submitted by labeler1; not drawn for review (review rate 0)"
        assert task.lease_expires_at is None
    assert tasks.review_queue(plain.project) == []
    assert projects.progress(plain.project)["accepted"] == 3
    # Quality figures count auto-accepted work as submitted and accepted, but not as reviewed.
    from annotate.services import quality

    (day,) = quality.project_figures(plain.project)["throughput"]
    assert (day["submitted"], day["accepted"]) == (3, 3)
    (labeler,) = [row for row in quality.labeler_figures(plain.project) if row["username"] == "labeler1"]
    assert labeler["submitted"] == 3


def test_review_rate_half_sends_the_drawn_items_to_review(plain):
    items = add_images(plain.project, [(32, 24)] * 6)
    # Identities restart per test, so the draw is the hand-checked one above.
    assert plain.project.id == 1 and [i.id for i in items] == [1, 2, 3, 4, 5, 6]
    projects.update_settings(plain.project, review_rate=0.5)
    done = _label_all(plain)
    assert {t.item_id: t.state for t in done} == {
        1: "submitted", 2: "submitted", 3: "accepted", 4: "accepted", 5: "submitted", 6: "accepted",
    }  # fmt: skip
    assert [t.item_id for t in tasks.review_queue(plain.project)] == [1, 2, 5]


def test_a_task_sent_back_is_always_reviewed_again(plain):
    add_images(plain.project, [(32, 24)])
    labeler, reviewer = plain.users["labeler1"], plain.users["reviewer"]
    (task,) = _label_all(plain)
    tasks.review(task, reviewer, Role.REVIEWER, "reject", "box the cat")
    projects.update_settings(plain.project, review_rate=0.0)
    task = tasks.next_task(plain.project, labeler, Role.LABELER)
    tasks.submit(task, labeler, Role.LABELER)
    assert task.state == "submitted"


def test_gold_copies_are_scored_not_auto_accepted(world):
    # One gold item, always drawn while unseen; everything else is accepted by the system.
    items = _gold_world(world, 1, 1, 1.0)
    projects.update_settings(world.project, review_rate=0.0)
    user = world.users["labeler2"]
    task = tasks.next_task(world.project, user, Role.LABELER)
    assert quality_copy(task)
    tasks.save_annotation(task, user, Role.LABELER, document([box("person", 2, 2, 10, 10)]), 0)
    task = tasks.submit(task, user, Role.LABELER)
    answer = db.session.scalar(select(GoldAnswer).where(GoldAnswer.labeler_id == user.id))
    assert answer.status == "scored" and answer.score == 1.0
    assert db.session.scalar(select(db.func.count()).select_from(Item)) == 2  # the copy is gone
    assert task.item_id == items[1].id  # then ordinary work, which the audit rate applies to
    tasks.submit(task, user, Role.LABELER)
    assert task.state == "accepted" and _events(task.id)[-1] == ("auto_accept", "in_progress", "accepted", None)
    assert db.session.scalar(select(db.func.count()).where(TaskEvent.action == "auto_accept")) == 1


def quality_copy(task: Task) -> bool:
    """Whether ``task`` is a gold copy."""
    from annotate.services import quality

    return quality.gold_copy_answer(task.item_id) is not None


# ---- escalation -----------------------------------------------------------------------------


def _reject_rounds(session_labeler, session_reviewer, task_id: int, rounds: int) -> list[dict]:
    """Submit and reject ``rounds`` times over the API; return each review answer."""
    answers = []
    for n in range(rounds):
        # In progress it resumes; rejected, it starts again.
        assert session_labeler.api("POST", "/api/v1/tasks/next?project=1").get_json()["id"] == task_id
        assert session_labeler.api("POST", f"/api/v1/tasks/{task_id}/submit", json={}).status_code == 200
        answer = session_reviewer.api("POST", f"/api/v1/tasks/{task_id}/review", json={"decision": "reject", "comment": f"fix {n + 1}"})
        assert answer.status_code == 200, answer.get_json()
        answers.append(answer.get_json())
    return answers


def test_third_rejection_escalates_and_a_manager_accepts(plain, login):
    add_images(plain.project, [(32, 24)])
    labeler, reviewer, manager = login("labeler1"), login("reviewer"), login("manager")
    task = labeler.api("POST", f"/api/v1/tasks/next?project={plain.project.id}").get_json()
    answers = _reject_rounds(labeler, reviewer, task["id"], 3)
    assert [a["state"] for a in answers] == ["rejected", "rejected", "escalated"]
    assert [e[0] for e in _events(task["id"])][-2:] == ["submit", "escalate"]
    assert projects.progress(plain.project)["escalated"] == 1
    # Nobody but a manager decides now: not the labeler, not the reviewer, not by resubmitting.
    assert labeler.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "accept"}).status_code == 403
    assert labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={}).status_code == 409
    assert labeler.api("POST", f"/api/v1/tasks/next?project={plain.project.id}").status_code == 204
    assert reviewer.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "accept"}).status_code == 409
    assert reviewer.api("GET", f"/api/v1/projects/{plain.project.id}/review-queue").get_json() == []
    accepted = manager.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "accept"})
    assert accepted.status_code == 200 and accepted.get_json()["state"] == "accepted"
    assert _events(task["id"])[-1] == ("accept", "escalated", "accepted", "manager")


def test_a_manager_reopens_an_escalated_task_with_fresh_rounds(plain, login):
    add_images(plain.project, [(32, 24)])
    projects.update_settings(plain.project, max_review_rounds=2)
    labeler, reviewer, manager = login("labeler1"), login("reviewer"), login("manager")
    task = labeler.api("POST", "/api/v1/tasks/next?project=1").get_json()
    assert [a["state"] for a in _reject_rounds(labeler, reviewer, task["id"], 2)] == ["rejected", "escalated"]
    url = f"/api/v1/tasks/{task['id']}/review"
    assert manager.api("POST", url, json={"decision": "reject"}).status_code == 422  # sending it back needs a reason
    # "reject" on an escalated task sends it back to its labeler: a reopen.
    reopened = manager.api("POST", url, json={"decision": "reject", "comment": "the reviewer is right: box the cat"})
    assert reopened.get_json()["state"] == "rejected"
    assert _events(task["id"])[-1] == ("reopen", "escalated", "rejected", "manager")
    again = labeler.api("POST", "/api/v1/tasks/next?project=1").get_json()
    assert again["id"] == task["id"] and again["comments"][0]["body"] == "the reviewer is right: box the cat"
    # The count starts over: the next rejection returns the task, the one after escalates again.
    assert [a["state"] for a in _reject_rounds(labeler, reviewer, task["id"], 1)] == ["rejected"]
    assert [a["state"] for a in _reject_rounds(labeler, reviewer, task["id"], 1)] == ["escalated"]


@pytest.mark.parametrize(("limit", "states"), [(0, ["rejected"] * 4), (1, ["escalated"])])
def test_review_round_limits(plain, limit, states):
    add_images(plain.project, [(32, 24)])
    projects.update_settings(plain.project, max_review_rounds=limit)
    labeler, reviewer = plain.users["labeler1"], plain.users["reviewer"]
    seen = []
    task = tasks.next_task(plain.project, labeler, Role.LABELER)
    for n in range(len(states)):
        if n:
            task = tasks.next_task(plain.project, labeler, Role.LABELER)
        tasks.submit(task, labeler, Role.LABELER)
        event = tasks.review(task, reviewer, Role.REVIEWER, "reject", "again")
        seen.append(event.to_state)
    assert seen == states


def test_review_pages_show_escalated_items_to_managers(plain, login):
    items = add_images(plain.project, [(32, 24), (32, 24)])
    projects.update_settings(plain.project, max_review_rounds=1)
    first, second = _label_all(plain)
    tasks.review(first, plain.users["reviewer"], Role.REVIEWER, "reject", "wrong label")
    assert first.state == "escalated" and second.state == "submitted"
    manager, reviewer = login("manager"), login("reviewer")
    page = manager.client.get("/projects/1/review").get_data(as_text=True)
    assert f'data-task-id="{first.id}" data-state="escalated"' in page and 'class="badge state-escalated"' in page
    assert page.index(f'data-task-id="{first.id}"') < page.index(f'data-task-id="{second.id}"')  # escalated first
    page = reviewer.client.get("/projects/1/review").get_data(as_text=True)
    assert f'data-task-id="{first.id}"' not in page and f'data-task-id="{second.id}"' in page
    # The manager's "reject" form on an escalated task reopens it.
    detail = manager.client.get(f"/review/tasks/{first.id}").get_data(as_text=True)
    assert f"/review/tasks/{first.id}/reopen" in detail
    answer = manager.form(f"/review/tasks/{first.id}/reopen", {"comment": "label it as a cat"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/review/tasks/{second.id}")
    assert db.session.get(Task, first.id).state == "rejected"
    admin = manager.client.get(f"/projects/{plain.project.id}/manage").get_data(as_text=True)
    assert len(items) == 2 and 'data-state="escalated"' in admin


# ---- settings -------------------------------------------------------------------------------


def test_settings_api_validates_and_saves(plain, login):
    manager, labeler = login("manager"), login("labeler1")
    url = f"/api/v1/projects/{plain.project.id}"
    before = manager.api("GET", url).get_json()
    assert (before["review_rate"], before["max_review_rounds"]) == (1.0, 3)
    assert before["progress"]["escalated"] == 0
    for bad in (
        {"review_rate": 1.5},
        {"review_rate": -0.1},
        {"max_review_rounds": 21},
        {"max_review_rounds": -1},
        {"max_review_rounds": 2.5},
    ):
        answer = manager.api("PATCH", url, json=bad)
        assert answer.status_code == 422 and set(bad) <= set(str(answer.get_json()["errors"]).split("'")), bad
    assert labeler.api("PATCH", url, json={"review_rate": 0.1}).status_code == 403
    saved = manager.api("PATCH", url, json={"review_rate": 0.1, "max_review_rounds": 0})
    assert saved.status_code == 200 and (saved.get_json()["review_rate"], saved.get_json()["max_review_rounds"]) == (0.1, 0)
    db.session.refresh(plain.project)
    assert (plain.project.review_rate, plain.project.max_review_rounds) == (0.1, 0)


def test_settings_service_refuses_out_of_range_values(plain):
    with pytest.raises(ValidationFailed) as info:
        projects.update_settings(plain.project, review_rate=2.0, max_review_rounds=True)
    assert set(info.value.errors) == {"review_rate", "max_review_rounds"}
    assert (plain.project.review_rate, plain.project.max_review_rounds) == (1.0, 3)
