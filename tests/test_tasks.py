"""Serving, saving, submitting and reviewing tasks over the API, with revisions and tenancy."""

import json
import threading

import pytest
from sqlalchemy import func, select

from annotate.extensions import db
from annotate.models import AnnotationRevision, Task, TaskEvent
from tests.helpers import add_images, box, document, tag


@pytest.fixture
def items(world):
    return add_images(world.project, [(100, 80), (60, 40), (30, 30)])


def next_task(session, project_id):
    return session.api("POST", f"/api/v1/tasks/next?project={project_id}")


def test_labelers_get_different_tasks_in_order(world, items, login):
    first, second = login("labeler1"), login("labeler2")
    a = next_task(first, world.project.id).get_json()
    b = next_task(second, world.project.id).get_json()
    assert a["item"]["id"] == items[0].id and b["item"]["id"] == items[1].id
    assert a["state"] == "in_progress" and a["revision"] == 0 and a["annotation"] == {"version": 1, "tags": [], "shapes": []}
    assert [label["name"] for label in a["labels"]] == ["person", "cat", "outdoor"]
    # Asking again resumes the same task rather than taking another one.
    assert next_task(first, world.project.id).get_json()["id"] == a["id"]
    # A labeler cannot open someone else's task: it does not exist for them.
    assert first.api("GET", f"/api/v1/tasks/{b['id']}").status_code == 404


def test_save_creates_revisions_and_refuses_stale_saves(world, items, login):
    session = login("labeler1")
    task = next_task(session, world.project.id).get_json()
    url = f"/api/v1/tasks/{task['id']}/annotation"
    doc = document([box("person", 10, 10, 20, 30)], [tag("outdoor")])
    first = session.api("PUT", url, json={"base_revision": 0, "annotation": doc})
    assert first.status_code == 200 and first.get_json() == {"revision": 1}
    doc["shapes"][0]["bbox"] = [12, 10, 20, 30]
    assert session.api("PUT", url, json={"base_revision": 1, "annotation": doc}).get_json() == {"revision": 2}
    ahead = session.api("PUT", url, json={"base_revision": 7, "annotation": document()})
    assert ahead.status_code == 422 and "base_revision" in ahead.get_json()["errors"]
    stale = session.api("PUT", url, json={"base_revision": 1, "annotation": document()})
    assert stale.status_code == 409
    assert stale.get_json()["errors"]["latest_revision"] == 2
    saved = session.api("GET", url).get_json()
    assert saved["revision"] == 2 and saved["annotation"]["shapes"][0]["bbox"] == [12, 10, 20, 30]
    assert saved["annotation"]["shapes"][0]["author"] == "labeler1"
    # Revision 1 is still there, untouched.
    numbers = db.session.scalars(select(AnnotationRevision.number).where(AnnotationRevision.item_id == items[0].id)).all()
    assert sorted(numbers) == [1, 2]


def test_concurrent_saves_from_one_base_keep_exactly_one(app, world, items, login):
    session = login("labeler1")
    task = next_task(session, world.project.id).get_json()
    url = f"/api/v1/tasks/{task['id']}/annotation"
    results = []
    sessions = [login("labeler1") for _ in range(6)]  # one browser tab each
    barrier = threading.Barrier(6)

    def save(n):
        barrier.wait()
        response = sessions[n].api("PUT", url, json={"base_revision": 0, "annotation": document([box("person", n, 0, 5, 5)])})
        results.append(response.status_code)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count(200) == 1 and sorted(results).count(409) == 5
    assert db.session.scalar(select(func.count()).select_from(AnnotationRevision)) == 1


@pytest.mark.parametrize(
    ("shape", "field", "needle"),
    [
        (box("dog", 1, 1, 5, 5), "shapes/0/label", "'dog' is not in project"),
        (box("outdoor", 1, 1, 5, 5), "shapes/0/label", "is a tag label"),
        (box("person", 90, 10, 20, 10), "shapes/0/bbox", "outside the 100x80 image"),
        (box("person", -5, 10, 20, 10), "shapes/0/bbox", "outside"),
        ({"id": "x", "type": "bbox", "label": "person", "source": {"type": "human"}}, "shapes/0/bbox", "required"),
        (box("person", 1, 1, -3, 5), "shapes/0/bbox", ""),
        # Python's json reads NaN and Infinity; stored, they would come back as text JSON.parse refuses.
        (box("person", float("nan"), 1, 5, 5), "shapes/0/bbox/0", "NaN is not a finite number"),
        (box("person", 1, 1, 5, float("inf")), "shapes/0/bbox/3", "Infinity is not a finite number"),
    ],
)
def test_invalid_annotations_are_refused_naming_the_field(world, items, login, shape, field, needle):
    session = login("labeler1")
    task = next_task(session, world.project.id).get_json()
    response = session.api("PUT", f"/api/v1/tasks/{task['id']}/annotation", json={"base_revision": 0, "annotation": document([shape])})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert any(key.startswith(field) for key in errors), errors
    assert needle in " ".join(errors.values())
    assert db.session.scalar(select(func.count()).select_from(AnnotationRevision)) == 0


def test_tag_with_shape_label_is_refused(world, items, login):
    session = login("labeler1")
    task = next_task(session, world.project.id).get_json()
    response = session.api(
        "PUT", f"/api/v1/tasks/{task['id']}/annotation", json={"base_revision": 0, "annotation": document([], [tag("cat")])}
    )
    assert response.status_code == 422 and "tags/0/label" in response.get_json()["errors"]


def test_submit_review_reject_and_resubmit(world, items, login):
    labeler, reviewer = login("labeler1"), login("reviewer")
    task = next_task(labeler, world.project.id).get_json()
    labeler.api(
        "PUT", f"/api/v1/tasks/{task['id']}/annotation", json={"base_revision": 0, "annotation": document([box("cat", 1, 2, 3, 4)])}
    )
    assert labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={"base_revision": 0}).status_code == 409
    submitted = labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={"base_revision": 1}).get_json()
    assert submitted["state"] == "submitted" and submitted["next_task_id"] is not None
    # The labeler can no longer edit a submitted task.
    late = labeler.api("PUT", f"/api/v1/tasks/{task['id']}/annotation", json={"base_revision": 1, "annotation": document()})
    assert late.status_code == 409
    # A labeler cannot review; a reviewer must say why they reject.
    assert labeler.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "accept"}).status_code == 403
    queue = reviewer.api("GET", f"/api/v1/projects/{world.project.id}/review-queue").get_json()
    assert [t["id"] for t in queue] == [task["id"]]
    no_comment = reviewer.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "reject"})
    assert no_comment.status_code == 422 and "comment" in no_comment.get_json()["errors"]
    rejected = reviewer.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "reject", "comment": "the cat is a person"})
    assert rejected.get_json()["state"] == "rejected"
    # The same labeler gets it back first, with the comment.
    again = next_task(labeler, world.project.id).get_json()
    assert again["id"] == task["id"] and again["state"] == "in_progress"
    assert again["comments"][0]["body"] == "the cat is a person" and again["comments"][0]["author"] == "reviewer"
    assert again["annotation"]["shapes"][0]["label"] == "cat" and again["revision"] == 1
    fixed = document([box("person", 1, 2, 3, 4)])
    labeler.api("PUT", f"/api/v1/tasks/{task['id']}/annotation", json={"base_revision": 1, "annotation": fixed})
    labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={"base_revision": 2})
    accepted = reviewer.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "accept"})
    assert accepted.get_json()["state"] == "accepted"
    events = db.session.scalars(select(TaskEvent).where(TaskEvent.task_id == task["id"]).order_by(TaskEvent.id)).all()
    assert [(e.action, e.from_state, e.to_state) for e in events] == [
        ("start", "new", "in_progress"),
        ("save", "in_progress", "in_progress"),
        ("submit", "in_progress", "submitted"),
        ("reject", "submitted", "rejected"),
        ("start", "rejected", "in_progress"),
        ("save", "in_progress", "in_progress"),
        ("submit", "in_progress", "submitted"),
        ("accept", "submitted", "accepted"),
    ]
    assert events[3].comment == "the cat is a person" and events[3].actor.username == "reviewer"


def test_other_organizations_see_nothing(world, items, login):
    labeler, outsider = login("labeler1"), login("outsider")
    task = next_task(labeler, world.project.id).get_json()
    for method, url in [
        ("GET", f"/api/v1/projects/{world.project.id}"),
        ("GET", f"/api/v1/tasks/{task['id']}"),
        ("GET", f"/media/items/{items[0].id}/image"),
        ("POST", f"/api/v1/tasks/next?project={world.project.id}"),
        ("GET", f"/api/v1/projects/{world.project.id}/items"),
        ("GET", f"/review/tasks/{task['id']}"),
    ]:
        assert outsider.api(method, url).status_code == 404, url
    assert outsider.api("GET", "/api/v1/projects").get_json() == []


def test_labelers_see_only_served_items(world, items, login):
    labeler = login("labeler1")
    next_task(labeler, world.project.id)
    assert labeler.client.get(f"/media/items/{items[0].id}/image").status_code == 200
    assert labeler.client.get(f"/media/items/{items[1].id}/image").status_code == 404
    assert labeler.api("GET", f"/api/v1/projects/{world.project.id}/items").status_code == 403


def test_no_task_left_is_204(world, login):
    assert next_task(login("labeler1"), world.project.id).status_code == 204


def test_task_rows_match_items(world, items):
    assert db.session.scalar(select(func.count()).select_from(Task)) == 3


def test_concurrent_labelers_never_share_a_task(app, world, login):
    from annotate.extensions import db as _db
    from annotate.services import accounts, projects

    add_images(world.project, [(20 + i, 20) for i in range(10)])
    names = [f"crowd{i}" for i in range(8)]
    for name in names:
        accounts.create_user(world.org, name, "correct horse battery", "labeler")
    _db.session.commit()
    for name in names:
        projects.set_member(world.project, name, "labeler")
    sessions = [login(name) for name in names]
    project_id = world.project.id
    served: list[int | None] = []
    barrier = threading.Barrier(len(sessions))

    def ask(session):
        barrier.wait()
        response = next_task(session, project_id)
        served.append(json.loads(response.data)["id"] if response.status_code == 200 else None)

    threads = [threading.Thread(target=ask, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = [task_id for task_id in served if task_id is not None]
    assert len(got) == 8 and len(set(got)) == 8
    owners = _db.session.execute(select(Task.id, Task.assignee_id).where(Task.assignee_id.is_not(None))).all()
    assert len(owners) == 8 and len({owner for _, owner in owners}) == 8
