"""Gold items mixed into queues, their scores, Wilson intervals, pausing, and the quality API."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from annotate.extensions import db
from annotate.models import GoldAnswer, GoldItem, Item, Task
from annotate.services import quality, tasks
from annotate.services.quality import box_f1, score_documents, wilson_interval
from tests.helpers import add_images, box, document, tag
from tests.test_exports import accept_with
from workflows import Role

# ---- pure figures ---------------------------------------------------------------------------


def test_score_hand_worked():
    # Gold: two persons. Answer: one box [0,0,9,9] over the gold [0,0,10,10]: IoU 81/100 = 0.81,
    # matched; the second gold box is missed. F1 = 2 * 1 / (2 + 1) = 2/3.
    gold = document([box("person", 0, 0, 10, 10), box("person", 50, 50, 10, 10)])
    answer = document([box("person", 0, 0, 9, 9)])
    assert score_documents(gold, answer) == pytest.approx(2 / 3)
    # The same box with another label does not match.
    assert box_f1([("person", [0, 0, 10, 10])], [("cat", [0, 0, 10, 10])]) == 0.0
    # IoU below 0.5 does not match: [0,0,10,10] vs [5,0,10,10] is 1/3.
    assert box_f1([("person", [0, 0, 10, 10])], [("person", [5, 0, 10, 10])]) == 0.0
    # Tags: Jaccard {outdoor} vs {outdoor, night} = 1/2; mean with box F1 1 -> 3/4.
    gold = document([box("person", 0, 0, 10, 10)], [tag("outdoor")])
    answer = document([box("person", 0, 0, 10, 10)], [tag("outdoor"), tag("night")])
    assert score_documents(gold, answer) == pytest.approx(0.75)
    assert score_documents(document(), document()) == 1.0


def test_wilson_hand_worked():
    # 8 of 10, z = 1.96: center (0.8 + 0.19208) / 1.38416 = 0.71681,
    # margin 1.96 * sqrt(0.016 + 0.009604) / 1.38416 = 0.22658.
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490, abs=5e-4)
    assert high == pytest.approx(0.943, abs=5e-4)
    # 0 of 5: upper bound z^2 / (n + z^2) = 3.8415 / 8.8415 = 0.4345.
    assert wilson_interval(0, 5)[1] == pytest.approx(0.4345, abs=5e-4)
    assert wilson_interval(0, 0) is None


def test_gold_draw_rate():
    draws = [quality.gold_rng(1, 2, n).random() < 0.1 for n in range(4000)]
    assert 0.08 < sum(draws) / len(draws) < 0.12
    assert [quality.gold_rng(1, 2, n).random() for n in range(5)] == [quality.gold_rng(1, 2, n).random() for n in range(5)]


# ---- serving gold ---------------------------------------------------------------------------


def _gold_world(world, n_gold: int, n_plain: int, rate: float) -> list[Item]:
    project = world.project
    quality.update_settings(project, gold_rate=0.0)
    items = add_images(project, [(32, 24)] * (n_gold + n_plain))
    for item in items[:n_gold]:
        accept_with(world, item, document([box("person", 2, 2, 10, 10)]))
        quality.mark_gold(project, item.id, world.users["manager"])
    # accept_with's submit served labeler1 a next task: hand it back so the pool is whole.
    db.session.execute(update(Task).where(Task.state == "in_progress").values(state="new", assignee_id=None, lease_expires_at=None))
    db.session.commit()
    quality.update_settings(project, gold_rate=rate)
    return items


def test_gold_mixed_at_the_seeded_rate_never_repeated_and_not_revealed(world, login):
    project, user = world.project, world.users["labeler2"]
    items = _gold_world(world, 3, 6, 0.5)
    gold_ids = {i.id for i in items[:3]}
    served_gold, served_plain = [], []
    expected = quality.gold_rng(project.id, user.id, quality.serve_count(project, user)).random() < 0.5
    task = tasks.next_task(project, user, Role.LABELER)
    while task is not None:
        answer = quality.gold_copy_answer(task.item_id)
        left = gold_ids - {db.session.get(GoldItem, a).item_id for a in served_gold}
        assert (answer is not None) == (expected and bool(left)), f"serve {len(served_gold) + len(served_plain)}"
        if answer is not None:
            served_gold.append(answer.gold_item_id)
            body = login("labeler2").api("GET", f"/api/v1/tasks/{task.id}").get_json()
            plain = db.session.get(Item, db.session.get(GoldItem, answer.gold_item_id).item_id)
            assert body["item"]["name"] == plain.name and body["annotation"]["shapes"] == [] and "gold" not in str(body).lower()
            doc = document([box("person", 2, 2, 10, 10)])
        else:
            assert task.item_id not in gold_ids  # gold items are never served from the pool
            served_plain.append(task.item_id)
            doc = document()
        tasks.save_annotation(task, user, Role.LABELER, doc, 0)
        expected = quality.gold_rng(project.id, user.id, quality.serve_count(project, user)).random() < 0.5
        task = tasks.submit(task, user, Role.LABELER)
    assert len(served_gold) == len(set(served_gold)) and served_gold
    assert sorted(served_plain) == [i.id for i in items[3:]]
    scores = db.session.scalars(select(GoldAnswer.score).where(GoldAnswer.labeler_id == user.id)).all()
    assert scores == [1.0] * len(served_gold)
    # The copies are gone: nothing extra in review, progress or the item list.
    assert db.session.scalar(select(db.func.count()).select_from(Item)) == 9
    assert {t.item_id for t in tasks.review_queue(project)} == set(served_plain)


def test_skipped_gold_is_dropped_and_not_served_again(world):
    project, user = world.project, world.users["labeler2"]
    _gold_world(world, 1, 1, 1.0)
    task = tasks.next_task(project, user, Role.LABELER)
    copy_id = task.item_id
    assert quality.gold_copy_answer(copy_id) is not None
    following = tasks.skip(task, user, Role.LABELER, "cannot tell")
    assert db.session.get(Item, copy_id) is None
    assert quality.gold_copy_answer(following.item_id) is None
    assert db.session.scalar(select(GoldAnswer.status)) == "skipped"


def test_pause_after_poor_gold_answers_and_unpause(world, login):
    project, user = world.project, world.users["labeler2"]
    _gold_world(world, 6, 1, 1.0)
    task = tasks.next_task(project, user, Role.LABELER)
    for n in range(5):
        assert quality.gold_copy_answer(task.item_id) is not None
        task = tasks.submit(task, user, Role.LABELER)  # nothing drawn: score 0
        if n < 4:
            assert task is not None
    assert task is None  # paused after the fifth: 0 of 5, upper bound 0.434 < 0.6
    labeler = login("labeler2")
    response = labeler.api("POST", f"/api/v1/tasks/next?project={project.id}")
    assert response.status_code == 403 and "paused" in response.get_json()["message"]
    manager = login("manager")
    body = manager.api("GET", f"/api/v1/projects/{project.id}/quality").get_json()
    row = next(r for r in body["labelers"] if r["username"] == "labeler2")
    assert (row["gold_answers"], row["gold_accuracy"], row["flagged"], row["paused"]) == (5, 0.0, True, True)
    assert row["gold_pass_high"] == pytest.approx(0.4345, abs=5e-4)
    assert manager.api("POST", f"/api/v1/projects/{project.id}/labelers/{user.id}/unpause").status_code == 200
    assert labeler.api("POST", f"/api/v1/tasks/next?project={project.id}").status_code == 200


def test_auto_pause_off_only_flags(world):
    project, user = world.project, world.users["labeler2"]
    _gold_world(world, 5, 1, 1.0)
    quality.update_settings(project, auto_pause=False)
    task = tasks.next_task(project, user, Role.LABELER)
    for _ in range(5):
        task = tasks.submit(task, user, Role.LABELER)
    assert task is not None and quality.gold_copy_answer(task.item_id) is None
    row = next(r for r in quality.labeler_figures(project) if r["username"] == "labeler2")
    assert row["flagged"] and not row["paused"]


# ---- the API and the page -------------------------------------------------------------------


def test_mark_and_unmark_gold(world, login):
    project = world.project
    items = add_images(project, [(32, 24)] * 2)
    accept_with(world, items[0], document([box("person", 1, 1, 5, 5)]))
    manager = login("manager")
    url = f"/api/v1/projects/{project.id}/gold"
    response = manager.api("POST", url, json={"item_id": items[0].id})
    assert response.status_code == 201 and response.get_json()["annotation"]["shapes"][0]["label"] == "person"
    assert manager.api("POST", url, json={"item_id": items[1].id}).status_code == 409  # not accepted
    given = document([box("cat", 1, 1, 5, 5)])
    not_finite = document([box("cat", float("nan"), 1, 5, 5)])
    refused = manager.api("POST", url, json={"item_id": items[1].id, "annotation": not_finite})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"shapes/0/bbox/0": "NaN is not a finite number (JSON has no NaN or infinity)"}
    assert manager.api("POST", url, json={"item_id": items[1].id, "annotation": given}).status_code == 201
    assert [g["item_id"] for g in manager.api("GET", url).get_json()] == [items[0].id, items[1].id]
    assert manager.api("DELETE", f"{url}/{items[1].id}").status_code == 204
    assert manager.api("DELETE", f"{url}/{items[1].id}").status_code == 404
    patch = manager.api("PATCH", f"/api/v1/projects/{project.id}/quality", json={"gold_rate": 0.25, "auto_pause": False})
    assert patch.get_json() == {"gold_rate": 0.25, "quality_threshold": 0.6, "auto_pause": False}


def test_quality_figures_csv_and_page(world, login):
    project = world.project
    items = add_images(project, [(32, 24)] * 2)
    accept_with(world, items[0], document([box("person", 1, 1, 5, 5)], [tag("outdoor")]))
    manager = login("manager")
    body = manager.api("GET", f"/api/v1/projects/{project.id}/quality").get_json()
    row = next(r for r in body["labelers"] if r["username"] == "labeler1")
    assert (row["submitted"], row["accepted"], row["rejected"], row["acceptance_rate"]) == (1, 1, 0, 1.0)
    assert body["progress"]["accepted"] == 1 and body["throughput"][0]["submitted"] == 1
    assert {r["label"]: r["count"] for r in body["labels"]} == {"person": 1, "cat": 0, "outdoor": 1}
    csv_text = manager.api("GET", f"/api/v1/projects/{project.id}/quality?format=csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("username,gold_answers,gold_accuracy") and "labeler1" in csv_text
    page = manager.client.get(f"/projects/{project.id}/quality")
    assert page.status_code == 200 and b'id="gold-accuracy"' in page.data


@pytest.mark.parametrize(("who", "status"), [("labeler1", 403), ("reviewer", 403), ("outsider", 404)])
def test_quality_permissions(world, login, who, status):
    project = world.project
    session = login(who)
    assert session.api("GET", f"/api/v1/projects/{project.id}/quality").status_code == status
    assert session.api("POST", f"/api/v1/projects/{project.id}/gold", json={"item_id": 1}).status_code == status
    assert session.api("DELETE", f"/api/v1/projects/{project.id}/gold/1").status_code == status
    assert session.api("PATCH", f"/api/v1/projects/{project.id}/quality", json={"gold_rate": 1}).status_code == status
    assert session.client.get(f"/projects/{project.id}/quality").status_code == status


def test_gold_tasks_are_tasks(world):
    # A gold copy is an ordinary Task row while it is served, so the task endpoints work on it.
    project, user = world.project, world.users["labeler2"]
    _gold_world(world, 1, 0, 1.0)
    task = tasks.next_task(project, user, Role.LABELER)
    assert isinstance(task, Task) and task.assignee_id == user.id and task.state == "in_progress"
