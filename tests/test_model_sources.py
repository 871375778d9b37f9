"""A person may save a model source only on a pre-label the model gave: task saves and gold answers."""

from __future__ import annotations

import pytest

from tests.helpers import add_images, document, tag
from tests.test_work_saved import PRELABELS, add_model_version, human, pre, prelabel, put


@pytest.fixture
def started(world, login):
    """Item 0 pre-labeled by v1 with shapes a-d (revision 1) and its task taken by labeler1; item 1 untouched."""
    items = add_images(world.project, [(100, 80), (100, 80)])
    prelabel(items[0], world.project, add_model_version(world.project), PRELABELS)
    labeler = login("labeler1")
    task = labeler.api("POST", f"/api/v1/tasks/next?project={world.project.id}").get_json()
    assert task["item"]["id"] == items[0].id and task["revision"] == 1
    return labeler, task, items


def refused_fields(response) -> dict:
    assert response.status_code == 422, response.get_json()
    return response.get_json()["errors"]


def test_the_tool_sending_pre_labels_back_unchanged_is_accepted(started):
    labeler, task, _ = started
    # As the tool does: the loaded document with its stamps, one pre-label edited (now human), one kept.
    shapes = task["annotation"]["shapes"]
    assert [s["source"] for s in shapes] == [p["source"] for p in PRELABELS]
    edited = {**shapes[1], "bbox": [55, 10, 20, 20], "source": {"type": "human"}}
    assert put(labeler, task["id"], 1, document([shapes[0], edited, *shapes[2:]])).get_json() == {"revision": 2}
    # Kept pre-labels stay the model's in the next save too.
    assert put(labeler, task["id"], 2, document([shapes[0], edited])).get_json() == {"revision": 3}


def test_a_new_shape_with_a_model_source_is_refused_naming_the_field(started):
    labeler, task, _ = started
    forged = pre("z", "person", [0, 0, 5, 5], 0.99)
    shapes = [PRELABELS[0], human("b", "person", [55, 10, 20, 20]), human("c", "person", [10, 50, 20, 20]), forged]
    response = put(labeler, task["id"], 1, document(shapes))
    assert list(refused_fields(response)) == ["shapes/3/source"]
    assert response.get_json()["message"].startswith("shapes/3/source: 'z' has a model source but is not that model's shape in revision 1")


@pytest.mark.parametrize(
    "source",
    [{"type": "model", "model_version": 1, "score": 0.99}, {"type": "model", "model_version": 2, "score": 0.9}],
    ids=["other-score", "other-version"],
)
def test_a_pre_label_id_under_another_model_source_is_refused(started, source):
    labeler, task, _ = started
    claimed = {**PRELABELS[1], "source": source}
    assert list(refused_fields(put(labeler, task["id"], 1, document([PRELABELS[0], claimed])))) == ["shapes/1/source"]


def test_a_moved_pre_label_that_keeps_its_source_is_accepted(started):
    # The rule compares id and source only; work_saved counts this shape as edited by its box.
    labeler, task, _ = started
    moved = {**PRELABELS[0], "bbox": [12, 10, 20, 20]}
    assert put(labeler, task["id"], 1, document([moved])).get_json() == {"revision": 2}


def test_a_model_tag_on_an_item_without_pre_labels_is_refused(started):
    labeler, task, _ = started
    assert put(labeler, task["id"], 1, document(PRELABELS)).status_code == 200
    other = labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={"base_revision": 2}).get_json()["next_task_id"]
    model_tag = {**tag("outdoor"), "source": {"type": "model", "model_version": 1, "score": 0.8}}
    assert list(refused_fields(put(labeler, other, 0, document([], [model_tag])))) == ["tags/0/source"]


def test_a_stale_save_is_a_conflict_before_the_source_check(started):
    labeler, task, _ = started
    assert put(labeler, task["id"], 1, document([])).get_json() == {"revision": 2}
    # Based on revision 1, where "a" was the model's; revision 2 deleted it: the answer is 409, reload.
    assert put(labeler, task["id"], 1, document([PRELABELS[0]])).status_code == 409


def test_gold_answers_follow_the_same_rule(world, started, login):
    _, _, items = started
    manager = login("manager")
    url = f"/api/v1/projects/{world.project.id}/gold"
    forged = manager.api("POST", url, json={"item_id": items[1].id, "annotation": document([pre("z", "cat", [1, 1, 5, 5])])})
    assert list(refused_fields(forged)) == ["shapes/0/source"]
    kept = manager.api("POST", url, json={"item_id": items[0].id, "annotation": document([PRELABELS[2]])})
    assert kept.status_code == 201
