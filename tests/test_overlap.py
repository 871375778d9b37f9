"""Overlap and the consensus stage in the task engine, the workflow API, and pinned review comments."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from annotate.errors import Conflict, Forbidden, ValidationFailed
from annotate.extensions import db
from annotate.models import AnnotationRevision, Task, TaskEvent
from annotate.services import accounts, annotations, projects, tasks, workflow
from tests.helpers import add_images, box, document, tag
from workflows import Role

CROWD = {
    "version": 1,
    "stages": [
        {"kind": "annotate", "overlap": 3},
        {"kind": "consensus", "agreement_threshold": 0.6, "extra_labels": 1},
        {"kind": "review", "rate": 0},
        {"kind": "accept"},
    ],
}


@pytest.fixture
def crowd(world):
    """The world's project with a third labeler, no gold draws, and the CROWD workflow."""
    world.users["labeler3"] = accounts.create_user(world.org, "labeler3", "correct horse battery", "labeler")
    db.session.commit()
    projects.set_member(world.project, "labeler3", "labeler")
    world.project.gold_rate = 0.0
    db.session.commit()
    workflow.set_workflow(world.project, CROWD)
    return world


def _answer(world, user: str, shapes=(), tags=()) -> Task:
    """Serve ``user`` their next task, save the document on it and submit it; return the task."""
    person = world.users[user]
    role = Role.MANAGER if user == "manager" else Role.LABELER
    task = tasks.next_task(world.project, person, role)
    assert task is not None, f"{user} was served nothing"
    tasks.save_annotation(task, person, role, document(shapes, tags), annotations.latest_document(task.item_id, task.replica)[1])
    tasks.submit(task, person, role)
    return task


def _tasks_of(item_id: int) -> list[tuple[int, str, str | None]]:
    rows = db.session.scalars(select(Task).where(Task.item_id == item_id).order_by(Task.replica))
    return [(t.replica, t.state, t.assignee.username if t.assignee else None) for t in rows]


def test_items_get_answer_tasks_before_and_after_the_workflow_asks_for_overlap(world):
    (before,) = add_images(world.project, [(64, 48)])
    assert [r for r, *_ in _tasks_of(before.id)] == [0]
    workflow.set_workflow(world.project, CROWD)
    assert _tasks_of(before.id) == [(0, "new", None), (1, "new", None), (2, "new", None), (3, "new", None)]
    after = add_images(world.project, [(40, 30), (32, 32)])[-1]
    assert [r for r, *_ in _tasks_of(after.id)] == [0, 1, 2, 3]
    # Back to one labeler per item: the untouched answer tasks go.
    workflow.set_workflow(world.project, {"version": 1, "stages": [{"kind": "annotate"}, {"kind": "accept"}]})
    assert [r for r, *_ in _tasks_of(before.id)] == [0]
    assert projects.progress(world.project)["new"] == 3  # items, not tasks


def test_three_labelers_disagree_get_a_fourth_and_go_to_review(crowd):
    (item,) = add_images(crowd.project, [(64, 48)])
    first = _answer(crowd, "labeler1", [box("person", 10, 10, 20, 20)])
    assert first.replica == 1
    # The same labeler never gets a second answer of the same item.
    assert tasks.next_task(crowd.project, crowd.users["labeler1"], Role.LABELER) is None
    _answer(crowd, "labeler2", [box("person", 12, 10, 20, 20)])
    _answer(crowd, "labeler3", [box("person", 40, 20, 10, 10)])
    # Agreement (9/11 + 0 + 0) / 3 = 0.27 < 0.6 and one extra label is allowed: a fourth answer task.
    assert _tasks_of(item.id) == [
        (0, "new", None), (1, "submitted", "labeler1"), (2, "submitted", "labeler2"), (3, "submitted", "labeler3"), (4, "new", None),
    ]  # fmt: skip
    assert annotations.latest_document(item.id)[1] == 0  # nothing merged yet
    _answer(crowd, "manager", [box("person", 11, 10, 20, 20)])
    # Four answers: agreement (9/11 + 19/21 + 19/21) / 6 = 0.44, still below: review, whatever the rate.
    assert _tasks_of(item.id) == [
        (0, "submitted", None), (1, "merged", "labeler1"), (2, "merged", "labeler2"), (3, "merged", "labeler3"),
        (4, "merged", "manager"),
    ]  # fmt: skip
    merged, number = annotations.latest_document(item.id)
    assert number == 1
    (shape,) = merged["shapes"]
    assert shape["bbox"] == [11.0, 10.0, 20.0, 20.0]  # the mean of the three close boxes
    assert shape["source"] == {"type": "consensus", "score": 0.75, "labelers": 3}
    revision = db.session.scalar(select(AnnotationRevision).where(AnnotationRevision.item_id == item.id, AnnotationRevision.line == 0))
    assert revision.source == "consensus" and revision.author_id is None
    item_task = db.session.scalar(select(Task).where(Task.item_id == item.id, Task.replica == 0))
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.task_id == item_task.id))
    assert (event.action, event.actor_id) == ("merge", None)
    assert event.comment.startswith("consensus of 4 labelers: agreement 0.44 (threshold 0.6)")
    assert [t.id for t in tasks.review_queue(crowd.project)] == [item_task.id]  # answers are never reviewed
    stages = {s["stage"]: s["items"] for s in workflow.progress_by_stage(crowd.project)}
    assert stages == {"annotate": 0, "consensus": 0, "review": 1, "accept": 0}


def test_agreed_items_are_accepted_with_merged_tags(crowd):
    (item,) = add_images(crowd.project, [(64, 48)])
    for user, x in (("labeler1", 10), ("labeler2", 10.5), ("labeler3", 9.5)):
        _answer(crowd, user, [box("cat", x, 10, 20, 20)], [tag("outdoor")])
    assert _tasks_of(item.id)[0] == (0, "accepted", None)
    merged, _ = annotations.latest_document(item.id)
    assert [s["bbox"] for s in merged["shapes"]] == [[10.0, 10.0, 20.0, 20.0]]
    assert [(t["label"], t["source"]["score"]) for t in merged["tags"]] == [("outdoor", 1.0)]
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.action == "auto_accept"))
    assert "consensus of 3 labelers" in event.comment
    # Exports read the merged annotation, once per item (not once per answer task).
    from annotate.services import exports

    dataset = exports.dataset_document(crowd.project)
    (exported,) = dataset["items"]
    assert [s["bbox"] for s in exported["annotation"]["shapes"]] == [[10.0, 10.0, 20.0, 20.0]]
    all_items = exports.dataset_document(crowd.project, accepted_only=False)["items"]
    assert len(all_items) == 1


def test_labelers_never_see_each_others_answers(crowd, login):
    (item,) = add_images(crowd.project, [(64, 48)])
    first = tasks.next_task(crowd.project, crowd.users["labeler1"], Role.LABELER)
    tasks.save_annotation(first, crowd.users["labeler1"], Role.LABELER, document([box("person", 1, 1, 10, 10)]), 0)
    second = tasks.next_task(crowd.project, crowd.users["labeler2"], Role.LABELER)
    assert second.item_id == first.item_id and second.id != first.id
    labeler2 = login("labeler2")
    assert labeler2.api("GET", f"/api/v1/tasks/{first.id}").status_code == 404
    own = labeler2.api("GET", f"/api/v1/tasks/{second.id}").get_json()
    assert own["annotation"]["shapes"] == [] and own["revision"] == 0 and own["replica"] == second.replica
    assert labeler2.api("GET", f"/media/items/{item.id}/image").status_code == 200  # the image itself, yes
    # The item's own annotation is untouched by answers.
    assert annotations.latest_document(item.id) == (document(), 0)


def test_a_rejected_consensus_result_goes_back_to_the_pool_with_a_pinned_comment(crowd, login):
    (item,) = add_images(crowd.project, [(64, 48)])
    for user in ("labeler1", "labeler2"):
        _answer(crowd, user, [box("person", 10, 10, 20, 20)])
    _answer(crowd, "labeler3", [])
    _answer(crowd, "manager", [])  # the extra label: 2 of 4 drew the box -> agreement 1/6: review
    item_task = db.session.scalar(select(Task).where(Task.item_id == item.id, Task.replica == 0))
    assert item_task.state == "submitted"
    reviewer = login("reviewer")
    bad_pin = reviewer.api(
        "POST", f"/api/v1/tasks/{item_task.id}/review", json={"decision": "reject", "comment": "tail", "pin": {"x": 99, "y": 1}}
    )
    assert bad_pin.status_code == 422 and "pin/x" in bad_pin.get_json()["errors"]
    answer = reviewer.api(
        "POST",
        f"/api/v1/tasks/{item_task.id}/review",
        json={"decision": "reject", "comment": "the tail is cut", "pin": {"x": 20, "y": 15.5}},
    )
    assert answer.status_code == 200 and answer.get_json()["state"] == "rejected"
    served = tasks.next_task(crowd.project, crowd.users["labeler1"], Role.LABELER)
    assert served.id == item_task.id and served.state == "in_progress"
    body = login("labeler1").api("GET", f"/api/v1/tasks/{item_task.id}").get_json()
    assert body["comments"][0]["pin"] == {"x": 20.0, "y": 15.5} and body["comments"][0]["body"] == "the tail is cut"
    assert [s["bbox"] for s in body["annotation"]["shapes"]] == [[10.0, 10.0, 20.0, 20.0]]


def test_item_overlap_override(crowd):
    first, second = add_images(crowd.project, [(64, 48), (64, 48)])
    workflow.set_item_overlap(crowd.project, first, 2)
    assert [r for r, *_ in _tasks_of(first.id)] == [0, 1, 2]
    workflow.set_item_overlap(crowd.project, first, None)
    assert [r for r, *_ in _tasks_of(first.id)] == [0, 1, 2, 3]
    with pytest.raises(ValidationFailed):
        workflow.set_item_overlap(crowd.project, first, 11)
    tasks.next_task(crowd.project, crowd.users["labeler1"], Role.LABELER)  # answer 1 of the first item
    with pytest.raises(Conflict, match="can no longer change"):
        workflow.set_item_overlap(crowd.project, first, 2)  # an answer has started
    single = {"version": 1, "stages": [{"kind": "annotate"}, {"kind": "review"}, {"kind": "accept"}]}
    workflow.set_workflow(crowd.project, single)
    # The started item keeps its three answer tasks; the untouched one loses its answers.
    assert [r for r, *_ in _tasks_of(first.id)] == [0, 1, 2, 3]
    assert [r for r, *_ in _tasks_of(second.id)] == [0]
    with pytest.raises(ValidationFailed, match="needs a consensus stage"):
        workflow.set_item_overlap(crowd.project, second, 2)
    # The answers are still served, and the last one concludes the item by the default rules.
    answer = db.session.scalar(select(Task).where(Task.item_id == first.id, Task.replica == 1))
    tasks.submit(answer, crowd.users["labeler1"], Role.LABELER)
    _answer(crowd, "labeler2", [box("person", 1, 1, 10, 10)])
    _answer(crowd, "labeler3", [box("person", 1, 1, 10, 10)])
    assert _tasks_of(first.id)[0][1] == "submitted"  # the single workflow reviews everything


def test_saving_the_workflow_again_keeps_an_extra_answer_task(crowd):
    (item,) = add_images(crowd.project, [(64, 48)])
    _answer(crowd, "labeler1", [box("person", 10, 10, 20, 20)])
    _answer(crowd, "labeler2", [box("person", 40, 20, 10, 10)])
    _answer(crowd, "labeler3", [])
    assert [(r, state) for r, state, _ in _tasks_of(item.id)][-1] == (4, "new")  # the extra answer
    workflow.set_workflow(crowd.project, crowd.project.flow.to_data())
    lower = {**CROWD, "stages": [{"kind": "annotate", "overlap": 2}, *CROWD["stages"][1:]]}
    workflow.set_workflow(crowd.project, lower)
    assert [(r, state) for r, state, _ in _tasks_of(item.id)][-1] == (4, "new")
    _answer(crowd, "manager", [box("person", 10, 10, 20, 20)])
    assert _tasks_of(item.id)[0][1] == "submitted"  # merged and sent to review, not stranded


def test_extra_answers_are_served_before_newer_items(crowd):
    first, _newer = add_images(crowd.project, [(64, 48), (40, 30)])
    _answer(crowd, "labeler1", [box("person", 10, 10, 20, 20)])
    _answer(crowd, "labeler2", [box("person", 40, 20, 10, 10)])
    _answer(crowd, "labeler3", [])
    served = tasks.next_task(crowd.project, crowd.users["manager"], Role.MANAGER)
    assert (served.item_id, served.replica) == (first.id, 4)


def test_stage_roles_are_enforced(world):
    strict = {
        "version": 1,
        "stages": [{"kind": "annotate", "roles": ["labeler"]}, {"kind": "review", "roles": ["reviewer"]}, {"kind": "accept"}],
    }
    workflow.set_workflow(world.project, strict)
    add_images(world.project, [(64, 48)])
    with pytest.raises(Forbidden, match="may not label"):
        tasks.next_task(world.project, world.users["manager"], Role.MANAGER)
    assert tasks.next_task(world.project, world.users["labeler1"], Role.LABELER) is not None


def test_workflow_api_permissions_and_errors(crowd, login):
    url = f"/api/v1/projects/{crowd.project.id}/workflow"
    got = login("labeler1").api("GET", url)
    assert got.status_code == 200 and got.get_json()["workflow"]["stages"][0]["overlap"] == 3
    assert [s["stage"] for s in got.get_json()["progress"]] == ["annotate", "consensus", "review", "accept"]
    plain = {"version": 1, "stages": [{"kind": "annotate"}, {"kind": "accept"}]}
    assert login("labeler1").api("PUT", url, json=plain).status_code == 403
    assert login("reviewer").api("PUT", url, json=plain).status_code == 403
    assert login("outsider").api("PUT", url, json=plain).status_code == 404
    manager = login("manager")
    bad = manager.api("PUT", url, json={"version": 1, "stages": [{"kind": "annotate", "overlap": 3}, {"kind": "accept"}]})
    assert bad.status_code == 422 and "stages/0/overlap" in bad.get_json()["errors"]
    assert crowd.project.flow.annotate.overlap == 3  # unchanged
    saved = manager.api("PUT", url, json=plain)
    assert saved.status_code == 200 and [s["kind"] for s in saved.get_json()["workflow"]["stages"]] == ["annotate", "accept"]
    no_csrf = login("manager").client.put(url, json=plain)
    assert no_csrf.status_code in (400, 403)
    assert login("labeler1").api("GET", "/api/v1/workflow-schema").get_json()["title"] == "Project workflow"
    (item,) = add_images(crowd.project, [(64, 48)])
    manager.api("PUT", url, json=CROWD)
    overlap_url = f"/api/v1/projects/{crowd.project.id}/items/{item.id}/overlap"
    assert login("labeler1").api("PUT", overlap_url, json={"overlap": 2}).status_code == 403
    set_two = manager.api("PUT", overlap_url, json={"overlap": 2})
    assert set_two.status_code == 200 and set_two.get_json() == {"item_id": item.id, "overlap": 2, "effective_overlap": 2}
    assert manager.api("PUT", overlap_url, json={"overlap": "2"}).status_code == 422


def test_managers_set_the_workflow_on_the_project_page(world, login):
    page_url = f"/projects/{world.project.id}/manage"
    form_url = f"/projects/{world.project.id}/workflow"
    manager = login("manager")
    page = manager.client.get(page_url).get_data(as_text=True)
    assert 'id="workflow"' in page and "3 labelers → consensus → review of disagreements → accept" in page
    saved = manager.form(form_url, {"preset": "consensus"}, follow_redirects=True)
    assert (
        saved.status_code == 200
        and "Workflow saved: annotate (3 labelers) → consensus → review of disagreements (0%) → accept" in saved.get_data(as_text=True)
    )
    db.session.expire_all()
    assert world.project.flow.annotate.overlap == 3 and world.project.flow.review.rate == 0.0
    adaptive = manager.form(form_url, {"preset": "adaptive"}, follow_redirects=True).get_data(as_text=True)
    assert "consensus (until 95% sure, up to 4 more, extra labels to the best 25%)" in adaptive
    db.session.expire_all()
    assert world.project.flow.annotate.overlap == 1 and world.project.flow.consensus.best_share == 0.25
    manager.form(form_url, {"preset": "consensus"})
    db.session.expire_all()
    broken = manager.form(form_url, {"workflow": '{"version": 1, "stages": [}'})
    assert broken.status_code == 422 and "line 1, column 27" in broken.get_data(as_text=True)
    assert "{&#34;version&#34;: 1, &#34;stages&#34;: [}</textarea>" in broken.get_data(as_text=True)  # the edit is kept
    wrong = manager.form(form_url, {"workflow": '{"version": 1, "stages": [{"kind": "accept"}, {"kind": "annotate"}]}'})
    assert wrong.status_code == 422 and "the first stage must be annotate" in wrong.get_data(as_text=True)
    assert login("labeler1").form(form_url, {"preset": "audit"}).status_code == 403
    assert manager.client.post(form_url, data={"preset": "audit"}).status_code in (400, 403)  # no CSRF token
    db.session.expire_all()
    assert world.project.flow.annotate.overlap == 3  # none of the refused posts changed it


def test_quality_figures_score_each_labeler_against_the_consensus(crowd, login):
    from annotate.services import quality

    add_images(crowd.project, [(64, 48)])
    _answer(crowd, "labeler1", [box("person", 10, 10, 20, 20)])
    _answer(crowd, "labeler2", [box("person", 12, 10, 20, 20)])
    _answer(crowd, "labeler3", [box("person", 40, 20, 10, 10)])
    _answer(crowd, "manager", [box("person", 11, 10, 20, 20)])
    # The consensus box is [11, 10, 20, 20]: labeler1's box overlaps it at IoU 380/420, so their
    # box F1 is 1; labeler3's box matches nothing: 0.
    rows = {r["username"]: r for r in quality.labeler_figures(crowd.project)}
    assert (rows["labeler1"]["consensus_agreement"], rows["labeler1"]["consensus_items"]) == (1.0, 1)
    assert (rows["labeler3"]["consensus_agreement"], rows["labeler3"]["consensus_items"]) == (0.0, 1)
    assert rows["manager"]["consensus_agreement"] == 1.0
    csv_text = login("manager").api("GET", f"/api/v1/projects/{crowd.project.id}/quality?format=csv").get_data(as_text=True)
    by_user = {row["username"]: row for row in csv.DictReader(io.StringIO(csv_text))}
    assert (by_user["labeler3"]["consensus_agreement"], by_user["labeler3"]["consensus_items"]) == ("0.0", "1")
    figures = quality.project_figures(crowd.project)
    assert {s["stage"]: s["items"] for s in figures["stages"]} == {"annotate": 0, "consensus": 0, "review": 1, "accept": 0}
    page = login("manager").client.get(f"/projects/{crowd.project.id}/quality").get_data(as_text=True)
    assert 'id="stages"' in page and "agreement with consensus" in page


@pytest.mark.parametrize(
    ("who", "get_workflow", "put_workflow", "put_overlap", "get_schema"),
    [
        ("admin", 200, 200, 200, 200),
        ("manager", 200, 200, 200, 200),
        ("reviewer", 200, 403, 403, 200),
        ("labeler1", 200, 403, 403, 200),
        ("outsider", 404, 404, 404, 200),
    ],
)
def test_every_role_on_the_workflow_endpoints(world, login, who, get_workflow, put_workflow, put_overlap, get_schema):
    (item,) = add_images(world.project, [(64, 48)])
    base = f"/api/v1/projects/{world.project.id}"
    session = login(who)
    assert session.api("GET", f"{base}/workflow").status_code == get_workflow
    assert session.api("PUT", f"{base}/workflow", json=CROWD).status_code == put_workflow
    assert session.api("PUT", f"{base}/items/{item.id}/overlap", json={"overlap": 2}).status_code == put_overlap
    assert session.api("GET", "/api/v1/workflow-schema").status_code == get_schema
    anonymous = session.client.application.test_client()
    assert anonymous.get(f"{base}/workflow").status_code == 401


def test_dawid_skene_weights_learn_who_is_reliable_from_the_answers(crowd):
    from annotate.services import quality

    stages = [dict(s) for s in CROWD["stages"]]
    stages[1] = {"kind": "consensus", "method": "dawid_skene", "extra_labels": 0}
    workflow.set_workflow(crowd.project, {"version": 1, "stages": stages})
    add_images(crowd.project, [(40 + i, 30) for i in range(7)])
    for n in range(6):
        outdoor = n % 2 == 0  # labeler1 and labeler2 agree; labeler3 always says the opposite
        for user, says in (("labeler1", outdoor), ("labeler2", outdoor), ("labeler3", not outdoor)):
            _answer(crowd, user, tags=[tag("outdoor")] if says else [])
    users = [crowd.users[n].id for n in ("labeler1", "labeler2", "labeler3")]
    weights = quality.dawid_skene_weights(crowd.project, users)
    # Three questions per answer class, Laplace prior 1: (1 + 3) / (2 + 3) = 0.8 for the two who
    # agree, (1 + 0) / (2 + 3) = 0.2 for the one who always contradicts them.
    assert weights[users[0]] == pytest.approx(0.8, abs=0.03) and weights[users[1]] == pytest.approx(0.8, abs=0.03)
    assert weights[users[2]] == pytest.approx(0.2, abs=0.03)
    for user, says in (("labeler1", True), ("labeler2", True), ("labeler3", False)):
        task = _answer(crowd, user, tags=[tag("outdoor")] if says else [])
    merged, _ = annotations.latest_document(task.item_id)
    # The merged tag is Dawid-Skene's decision, scored with its posterior. By hand, with the 7 items
    # (4 "outdoor"): P(yes) = (4 + 1) / (7 + 2); labelers 1 and 2 say yes to yes (1 + 4) / (2 + 4)
    # and yes to no (1 + 0) / (2 + 3); labeler 3, who contradicts, says no to yes 5/6 and no to no
    # 1/5. yes: 5/9 * (5/6)^3 = 0.3215; no: 4/9 * (1/5)^3 = 0.0036; posterior 0.989, not 2/3.
    (outdoor,) = merged["tags"]
    assert outdoor["source"]["score"] == pytest.approx(0.989, abs=0.005) and outdoor["source"]["labelers"] == 2


def _rate_labelers_by_dawid_skene(crowd, best_share: float) -> list[int]:
    """Answer 6 items where labeler1 and labeler2 agree and labeler3 contradicts them; return the user ids.

    Dawid-Skene then rates labelers 1 and 2 at (1 + 3) / (2 + 3) = 0.8 and labeler 3 at 0.2
    (see the test above), and the stage keeps the best ``best_share`` of them.
    """
    stages = [dict(s) for s in CROWD["stages"]]
    consensus = {"kind": "consensus", "method": "dawid_skene", "extra_labels": 1, "best_share": best_share}
    stages[1] = {**consensus, "agreement_threshold": 0}  # every item agreed on while rating
    workflow.set_workflow(crowd.project, {"version": 1, "stages": stages})
    add_images(crowd.project, [(40 + i, 30) for i in range(6)])
    for n in range(6):
        outdoor = n % 2 == 0
        for user, says in (("labeler1", outdoor), ("labeler2", outdoor), ("labeler3", not outdoor)):
            _answer(crowd, user, tags=[tag("outdoor")] if says else [])
    stages[1] = consensus
    workflow.set_workflow(crowd.project, {"version": 1, "stages": stages})
    return [crowd.users[n].id for n in ("labeler1", "labeler2", "labeler3")]


def test_the_best_rated_labelers_are_kept_for_routing(crowd):
    from annotate.services import quality

    users = _rate_labelers_by_dawid_skene(crowd, best_share=0.5)
    # 0.5 of 3 rated labelers is 1.5, rounded up to 2: the two rated 0.8 (ties by id), not the one at 0.2.
    assert crowd.project.best_labeler_ids == users[:2]
    figures = {row["username"]: row["best_rated"] for row in quality.labeler_figures(crowd.project)}
    assert figures == {"labeler1": True, "labeler2": True, "labeler3": False}
    assert db.session.scalar(select(func.count()).select_from(Task).where(Task.routed)) == 0  # every item was agreed on
    # Without best_share nobody is routed to, and a stale list is not refreshed.
    stages = crowd.project.flow.to_data()["stages"]
    stages[1]["best_share"] = None
    workflow.set_workflow(crowd.project, {"version": 1, "stages": stages})
    item = add_images(crowd.project, [(64, 48)])[-1]
    _answer(crowd, "labeler1", [box("person", 10, 10, 20, 20)])
    _answer(crowd, "labeler2", [box("person", 40, 20, 10, 10)])
    _answer(crowd, "labeler3", [])
    extra = db.session.scalar(select(Task).where(Task.item_id == item.id, Task.replica == 4))
    assert extra is not None and not extra.routed


def test_extra_labels_are_routed_to_the_best_rated_labelers_first(crowd):
    labeler4 = accounts.create_user(crowd.org, "labeler4", "correct horse battery", "labeler")
    db.session.commit()
    projects.set_member(crowd.project, "labeler4", "labeler")
    users = _rate_labelers_by_dawid_skene(crowd, best_share=0.5)
    disputed = add_images(crowd.project, [(64, 48)])[-1]
    _answer(crowd, "labeler1", [box("person", 10, 10, 20, 20)])
    _answer(crowd, "labeler2", [box("person", 40, 20, 10, 10)])
    _answer(crowd, "labeler3", [])
    extra = db.session.scalar(select(Task).where(Task.item_id == disputed.id, Task.replica == 4))
    assert extra is not None and extra.routed and extra.state == "new"
    newer = add_images(crowd.project, [(32, 32)])[-1]
    # A best-rated labeler who has not answered the disputed item is served its extra label
    # first (the manager, made one of the best here).
    crowd.project.best_labeler_ids = [crowd.users["manager"].id, *users[:2]]
    db.session.commit()
    served = tasks.next_task(crowd.project, crowd.users["manager"], Role.MANAGER)
    assert (served.item_id, served.replica) == (disputed.id, 4)
    following = tasks.skip(served, crowd.users["manager"], Role.MANAGER, "cannot tell")
    assert (following.item_id, following.replica) == (newer.id, 1)
    # labeler4 is not among the best: the newer item first, though the extra label is older.
    served = tasks.next_task(crowd.project, labeler4, Role.LABELER)
    assert (served.item_id, served.replica) == (newer.id, 2)
    # Once nothing else is left for labeler4, the routed label does not wait for the best ones.
    following = tasks.submit(served, labeler4, Role.LABELER)
    assert (following.item_id, following.replica) == (disputed.id, 4)


ADAPTIVE = {
    "version": 1,
    "stages": [
        {"kind": "annotate", "overlap": 1},
        {"kind": "consensus", "method": "dawid_skene", "target_confidence": 0.95, "extra_labels": 2},
        {"kind": "review", "rate": 0},
        {"kind": "accept"},
    ],
}


def test_adaptive_overlap_starts_from_one_label_and_asks_more_while_unsure(crowd):
    workflow.set_workflow(crowd.project, ADAPTIVE)
    (item,) = add_images(crowd.project, [(64, 48)])
    assert [r for r, *_ in _tasks_of(item.id)] == [0, 1]  # one answer task, not the item's own
    _answer(crowd, "labeler1", tags=[tag("outdoor")])
    # One answer on the project's first item: Dawid-Skene has nothing to tell a careful labeler
    # from a coin by, so the posterior is 0.5, far from 0.95: one more label.
    assert _tasks_of(item.id) == [(0, "new", None), (1, "submitted", "labeler1"), (2, "new", None)]
    _answer(crowd, "labeler2", tags=[tag("outdoor")])
    _answer(crowd, "labeler3", tags=[tag("outdoor")])
    # Three agreeing labels and still 0.5 (no record yet, on this one item): no extra label
    # left, so it goes to review, whatever the rate; the event gives the posterior.
    assert _tasks_of(item.id)[0] == (0, "submitted", None)
    item_task = db.session.scalar(select(Task).where(Task.item_id == item.id, Task.replica == 0))
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.task_id == item_task.id))
    assert "; tag posterior 0.500 (target 0.95)" in event.comment
    merged, _ = annotations.latest_document(item.id)
    assert [(t["label"], t["source"]["labelers"]) for t in merged["tags"]] == [("outdoor", 3)]
    # Overlap 1 without a target posterior is a plain single-labeler workflow: no answer tasks.
    plain = {**ADAPTIVE, "stages": [{"kind": "annotate"}, {"kind": "review"}, {"kind": "accept"}]}
    workflow.set_workflow(crowd.project, plain)
    single = add_images(crowd.project, [(10, 10)])[-1]
    assert [r for r, *_ in _tasks_of(single.id)] == [0]


def test_one_label_is_enough_from_a_labeler_with_a_record(crowd):
    _rate_labelers_by_dawid_skene(crowd, best_share=0.5)  # labelers 1 and 2 at 0.8, labeler 3 at 0.2
    stages = [dict(s) for s in ADAPTIVE["stages"]]
    stages[1] = {**stages[1], "target_confidence": 0.75}
    workflow.set_workflow(crowd.project, {"version": 1, "stages": stages})
    item = add_images(crowd.project, [(64, 48)])[-1]
    _answer(crowd, "labeler1", tags=[tag("outdoor")])
    # By hand: P(yes) about 1/2 (3 of 6 items earlier), labeler 1 says yes to yes 4/5 and to no 1/5:
    # 0.8 >= 0.75, so the item is accepted on one label.
    assert _tasks_of(item.id) == [(0, "accepted", None), (1, "merged", "labeler1")]
    merged, _ = annotations.latest_document(item.id)
    (outdoor,) = merged["tags"]
    assert outdoor["label"] == "outdoor" and outdoor["source"]["score"] == pytest.approx(0.8, abs=0.02)
