"""Work saved by pre-labels: outcomes on submit, figures per model version, active time, queue order."""

from __future__ import annotations

import csv
import io
import math

import pytest
from sqlalchemy import select

from annotate.extensions import db
from annotate.models import AnnotationRevision, PrelabelOutcome
from annotate.services import annotations, models, work_saved
from annotate.services.work_saved import Outcome, compare_prelabels, iou, uncertainty
from tests.helpers import add_images, box, document


def pre(shape_id: str, label: str, bbox: list[float], score: float = 0.9, version: int = 1) -> dict:
    """A model pre-label."""
    source = {"type": "model", "model_version": version, "score": score}
    return {"id": shape_id, "type": "bbox", "label": label, "bbox": bbox, "source": source}


def human(shape_id: str, label: str, bbox: list[float]) -> dict:
    """A shape as the tool sends it after a person touched it."""
    return {"id": shape_id, "type": "bbox", "label": label, "bbox": bbox, "source": {"type": "human"}}


# ---- the pure comparison ------------------------------------------------------------------


def test_iou_hand_worked():
    # [0,0,10,10] vs [5,0,10,10]: overlap 5x10 = 50, union 100 + 100 - 50 = 150.
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(1 / 3)
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0.0
    assert iou([0, 0, 0, 10], [0, 0, 0, 10]) == 0.0


def test_compare_by_id_kept_edited_relabeled_deleted_added():
    prelabels = [
        pre("a", "person", [10, 10, 20, 20], 0.9),  # moved 0.4 px: still kept, IoU 19.6*20 / (800 - 392) = 392 / 408
        pre("b", "person", [50, 10, 20, 20], 0.8),  # moved 5 px: edited, IoU 300 / 500 = 0.6
        pre("c", "cat", [10, 50, 20, 20], 0.7),  # label changed: relabeled, IoU 1
        pre("d", "cat", [60, 50, 20, 20], 0.6),  # gone: deleted
    ]
    final = [human("a", "person", [10.4, 10, 20, 20]), human("b", "person", [55, 10, 20, 20]), human("c", "person", [10, 50, 20, 20]),
             human("n", "person", [0, 0, 5, 5])]  # fmt: skip
    assert compare_prelabels(prelabels, final) == [
        Outcome("a", "kept", pytest.approx(392 / 408), "person", "person", 0.9, "a"),
        Outcome("b", "edited", pytest.approx(0.6), "person", "person", 0.8, "b"),
        Outcome("c", "relabeled", 1.0, "cat", "person", 0.7, "c"),
        Outcome("d", "deleted", None, "cat", None, 0.6, None),
        Outcome("n", "added", None, None, "person", None, "n"),
    ]


def test_a_move_of_more_than_half_a_pixel_is_an_edit():
    (outcome,) = compare_prelabels([pre("a", "person", [10, 10, 20, 20])], [human("a", "person", [10, 10, 20.6, 20])])
    assert outcome.outcome == "edited"
    assert outcome.iou == pytest.approx(400 / 412)


def test_new_ids_match_greedily_by_iou_with_the_same_label():
    prelabels = [pre("p", "person", [0, 0, 10, 10]), pre("q", "person", [4, 0, 10, 10]), pre("r", "cat", [100, 100, 10, 10])]
    final = [
        human("x", "person", [5, 0, 10, 10]),  # IoU with p = 1/3 (too low), with q = 90/110
        human("y", "person", [0, 0, 10, 10]),  # IoU with p = 1, with q = 60/140
        human("z", "person", [100, 100, 10, 10]),  # same place as r but another label: no match
    ]
    outcomes = compare_prelabels(prelabels, final)
    assert [(o.shape_id, o.outcome, o.final_id) for o in outcomes] == [
        ("p", "kept", "y"), ("q", "edited", "x"), ("r", "deleted", None), ("z", "added", "z"),
    ]  # fmt: skip
    assert outcomes[1].iou == pytest.approx(90 / 110)


def test_greedy_takes_the_best_pair_first():
    # q-x has IoU 1 and wins x, though p is listed first and also overlaps x (IoU 0.6).
    prelabels = [pre("p", "person", [0, 0, 10, 10]), pre("q", "person", [2, 0, 10, 10])]
    final = [human("x", "person", [2, 0, 10, 10])]
    assert [(o.shape_id, o.outcome) for o in compare_prelabels(prelabels, final)] == [("p", "deleted"), ("q", "kept")]


def test_no_prelabels_means_every_shape_is_added_and_no_final_means_all_deleted():
    assert [o.outcome for o in compare_prelabels([], [human("x", "cat", [0, 0, 1, 1])])] == ["added"]
    assert [o.outcome for o in compare_prelabels([pre("p", "cat", [0, 0, 1, 1])], [])] == ["deleted"]


def test_uncertainty_hand_worked():
    assert uncertainty([0.9, 0.6], "least_confidence") == pytest.approx(0.1)
    assert uncertainty([], "least_confidence") == 1.0
    assert uncertainty([], "entropy") == 1.0
    assert uncertainty([0.5], "entropy") == pytest.approx(1.0)
    assert uncertainty([1.0, 0.0], "entropy") == 0.0
    # H(0.9) = -(0.9 log2 0.9 + 0.1 log2 0.1) = 0.9 * 0.152003 + 0.1 * 3.321928 = 0.468996.
    assert uncertainty([0.9], "entropy") == pytest.approx(0.468996, abs=1e-6)
    assert uncertainty([0.9, 0.5], "entropy") == pytest.approx((0.468996 + 1.0) / 2, abs=1e-6)
    assert uncertainty([0.9], "entropy") == pytest.approx(-(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1)))
    with pytest.raises(ValueError, match="unknown uncertainty method"):
        uncertainty([0.5], "margin")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        uncertainty([1.5], "entropy")


# ---- on the platform ----------------------------------------------------------------------


def add_model_version(project):
    """A registered TorchScript version (its bytes are never loaded here)."""
    return models.add_version(
        project, architecture="fixed", file_format="torchscript", label_names=["person", "cat"], data=b"x",
        origin="registered", user_id=None,
    )  # fmt: skip


def prelabel(item, project, version, shapes) -> AnnotationRevision:
    """Write ``shapes`` as the model revision of an untouched item, as the pre-label job does."""
    return annotations.save_revision(item, project, document(shapes), 0, model_version_id=version.id)


def put(session, task_id, base, doc, seconds=None):
    body = {"base_revision": base, "annotation": doc}
    if seconds is not None:
        body["active_seconds"] = seconds
    return session.api("PUT", f"/api/v1/tasks/{task_id}/annotation", json=body)


def outcome_counts(item_id: int) -> dict[str, int]:
    rows = db.session.scalars(select(PrelabelOutcome).where(PrelabelOutcome.item_id == item_id)).all()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    return counts


PRELABELS = [
    pre("a", "person", [10, 10, 20, 20], 0.9),
    pre("b", "person", [50, 10, 20, 20], 0.8),
    pre("c", "cat", [10, 50, 20, 20], 0.7),
    pre("d", "cat", [60, 50, 20, 20], 0.6),
]


@pytest.fixture
def worked(world, login):
    """Item 0 pre-labeled by v1, submitted (30 s), rejected, resubmitted (12.5 s); item 1 without pre-labels (60 s)."""
    project = world.project
    items = add_images(project, [(100, 80), (100, 80), (100, 80)])
    v1 = add_model_version(project)
    add_model_version(project)  # v2: nothing submitted with it yet
    prelabel(items[0], project, v1, PRELABELS)
    labeler, reviewer = login("labeler1"), login("reviewer")
    task = labeler.api("POST", f"/api/v1/tasks/next?project={project.id}").get_json()
    assert task["item"]["id"] == items[0].id and task["revision"] == 1
    assert [s["id"] for s in task["annotation"]["shapes"]] == ["a", "b", "c", "d"]
    first = [PRELABELS[0], human("b", "person", [55, 10, 20, 20]), human("c", "person", [10, 50, 20, 20]), box("person", 0, 0, 5, 5)]
    assert put(labeler, task["id"], 1, document(first), 30).get_json() == {"revision": 2}
    submitted = labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={"base_revision": 2})
    assert submitted.status_code == 200
    assert outcome_counts(items[0].id) == {"kept": 1, "edited": 1, "relabeled": 1, "deleted": 1, "added": 1}
    other_task_id = submitted.get_json()["next_task_id"]
    rejected = reviewer.api("POST", f"/api/v1/tasks/{task['id']}/review", json={"decision": "reject", "comment": "no tiny box"})
    assert rejected.status_code == 200
    assert labeler.api("POST", f"/api/v1/tasks/next?project={project.id}").get_json()["id"] == task["id"]
    assert put(labeler, task["id"], 2, document(first[:3]), 12.5).get_json() == {"revision": 3}
    assert labeler.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={"base_revision": 3}).status_code == 200
    other = labeler.api("GET", f"/api/v1/tasks/{other_task_id}").get_json()
    assert other["item"]["id"] == items[1].id
    assert put(labeler, other_task_id, 0, document([box("cat", 1, 1, 10, 10)]), 60).status_code == 200
    assert labeler.api("POST", f"/api/v1/tasks/{other_task_id}/submit", json={}).status_code == 200
    return items


def test_resubmit_replaces_the_outcomes(world, worked):
    query = select(PrelabelOutcome).where(PrelabelOutcome.item_id == worked[0].id).order_by(PrelabelOutcome.shape_id)
    rows = db.session.scalars(query).all()
    assert [(r.shape_id, r.outcome, r.label_before, r.label_after, r.score) for r in rows] == [
        ("a", "kept", "person", "person", 0.9), ("b", "edited", "person", "person", 0.8),
        ("c", "relabeled", "cat", "person", 0.7), ("d", "deleted", "cat", None, 0.6),
    ]  # fmt: skip
    assert rows[1].iou == pytest.approx(0.6) and rows[2].iou == 1.0 and rows[3].iou is None
    latest = annotations.latest_revision(worked[0].id)
    assert {r.revision_id for r in rows} == {latest.id} and latest.number == 3
    assert outcome_counts(worked[1].id) == {}  # no pre-labels, nothing recorded


def test_active_seconds_are_stored_on_each_revision(world, worked):
    revisions = db.session.scalars(
        select(AnnotationRevision).where(AnnotationRevision.item_id == worked[0].id).order_by(AnnotationRevision.number)
    ).all()
    assert [(r.source, r.active_seconds) for r in revisions] == [("model", 0.0), ("human", 30.0), ("human", 12.5)]


def test_figures_per_version_by_hand(world, worked):
    v1, v2 = work_saved.version_figures(world.project)
    # v1 on item 0: kept a, edited b (IoU 0.6), relabeled c, deleted d; the added box was removed on resubmit.
    # True positives: a and b -> precision 2 / 4 pre-labels, recall 2 / 3 final shapes; edits (b, c, d) = 3 on 1 item.
    # Seconds: item 0 = 30 + 12.5 = 42.5; baseline item 1 = 60; saved 17.5.
    assert v1 == {
        "model_version_id": v1["model_version_id"], "version": 1, "origin": "registered", "items": 1, "prelabels": 4, "final_shapes": 3,
        "kept": 1, "edited": 1, "relabeled": 1, "deleted": 1, "added": 0, "true_positives": 2, "precision": 0.5, "recall": 0.6667,
        "edits_per_item": 3.0, "seconds_per_item": 42.5, "baseline_items": 1, "baseline_seconds_per_item": 60.0,
        "seconds_saved_per_item": 17.5,
    }  # fmt: skip
    assert v2["version"] == 2 and v2["items"] == 0 and v2["precision"] is None and v2["edits_per_item"] is None
    assert v2["seconds_per_item"] is None and v2["seconds_saved_per_item"] is None and v2["baseline_seconds_per_item"] == 60.0
    (day,) = work_saved.project_timeline(world.project)
    assert day["items"] == 2 and day["prelabeled_items"] == 1 and day["edits_per_item"] == 3.0
    assert day["seconds_per_item"] == pytest.approx((42.5 + 60) / 2, abs=0.05)


def test_api_json_and_csv(world, worked, login):
    manager = login("manager")
    body = manager.api("GET", f"/api/v1/projects/{world.project.id}/work-saved").get_json()
    assert body["queue_order"] == "sequential" and [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][0]["precision"] == 0.5 and body["timeline"][0]["items"] == 2
    response = manager.api("GET", f"/api/v1/projects/{world.project.id}/work-saved?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["version"] for r in rows] == ["1", "2"]
    assert rows[0]["precision"] == "0.5" and rows[0]["recall"] == "0.6667" and rows[0]["edits_per_item"] == "3.0"
    assert rows[0]["seconds_per_item"] == "42.5" and rows[0]["seconds_saved_per_item"] == "17.5"
    assert rows[1]["items"] == "0" and rows[1]["precision"] == ""
    assert manager.api("GET", f"/api/v1/projects/{world.project.id}/work-saved?format=xml").status_code == 422


def test_stats_page_shows_the_figures_and_plots(world, worked, login):
    manager = login("manager")
    manage = manager.client.get(f"/projects/{world.project.id}/manage").get_data(as_text=True)
    assert f'href="/projects/{world.project.id}/stats"' in manage
    page = manager.client.get(f"/projects/{world.project.id}/stats")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<svg id="edits-chart"' in html and '<svg id="seconds-chart"' in html
    assert 'class="bar" data-version="1" data-value="3.0"' in html  # edits per item of v1
    assert 'class="bar" data-version="1" data-value="42.5"' in html and 'class="baseline"' in html
    assert 'data-version="2" data-value' not in html  # v2 has no figures, so no bar
    assert "<td>0.50</td><td>0.67</td><td>3.00</td><td>42.5</td><td>17.5</td>" in html


@pytest.mark.parametrize(("who", "status"), [("labeler1", 403), ("reviewer", 403), ("outsider", 404)])
def test_only_managers_see_and_set(world, login, who, status):
    session = login(who)
    pid = world.project.id
    assert session.api("GET", f"/api/v1/projects/{pid}/work-saved").status_code == status
    assert session.api("GET", f"/api/v1/projects/{pid}/work-saved?format=csv").status_code == status
    assert session.api("POST", f"/api/v1/projects/{pid}/queue-order", json={"queue_order": "entropy"}).status_code == status
    assert session.client.get(f"/projects/{pid}/stats").status_code == status
    assert session.form(f"/projects/{pid}/stats/queue-order", {"queue_order": "entropy"}).status_code == status
    db.session.refresh(world.project)
    assert world.project.queue_order == "sequential"


def test_active_seconds_are_checked(world, login):
    items = add_images(world.project, [(40, 30)])
    labeler = login("labeler1")
    task = labeler.api("POST", f"/api/v1/tasks/next?project={world.project.id}").get_json()
    for bad in (-1, 86400.5, "soon"):
        response = put(labeler, task["id"], 0, document(), bad)
        assert response.status_code == 422 and "active_seconds" in response.get_json()["errors"]["json"]
    assert put(labeler, task["id"], 0, document()).get_json() == {"revision": 1}  # optional: 0 when absent
    assert put(labeler, task["id"], 1, document(), 86400).get_json() == {"revision": 2}
    query = select(AnnotationRevision.active_seconds).where(AnnotationRevision.item_id == items[0].id).order_by(AnnotationRevision.number)
    assert list(db.session.scalars(query)) == [0.0, 86400.0]


def test_next_task_follows_uncertainty_when_asked(world, login):
    items = add_images(world.project, [(40, 30)] * 4)
    for item, value in zip(items, [0.1, None, 0.9, 0.5], strict=True):
        item.uncertainty = value
    db.session.commit()
    first, second, manager = login("labeler1"), login("labeler2"), login("manager")
    pid = world.project.id
    # Sequential (the default): oldest first, whatever the uncertainty.
    assert first.api("POST", f"/api/v1/tasks/next?project={pid}").get_json()["item"]["id"] == items[0].id
    bad = manager.api("POST", f"/api/v1/projects/{pid}/queue-order", json={"queue_order": "random"})
    assert bad.status_code == 422 and "queue_order" in bad.get_json()["errors"]["json"]
    ok = manager.api("POST", f"/api/v1/projects/{pid}/queue-order", json={"queue_order": "entropy"})
    assert ok.status_code == 200 and ok.get_json() == {"queue_order": "entropy"}
    served = []
    task = second.api("POST", f"/api/v1/tasks/next?project={pid}").get_json()
    while task is not None:
        served.append(task["item"]["id"])
        next_id = second.api("POST", f"/api/v1/tasks/{task['id']}/submit", json={}).get_json()["next_task_id"]
        task = second.api("GET", f"/api/v1/tasks/{next_id}").get_json() if next_id else None
    assert served == [items[2].id, items[3].id, items[1].id]  # 0.9, 0.5, then the unscored one


def test_the_stats_form_sets_the_queue_order(world, login):
    manager = login("manager")
    response = manager.form(f"/projects/{world.project.id}/stats/queue-order", {"queue_order": "least_confidence"})
    assert response.status_code == 302
    db.session.refresh(world.project)
    assert world.project.queue_order == "least_confidence"
    page = manager.client.get(f"/projects/{world.project.id}/stats").get_data(as_text=True)
    assert '<option value="least_confidence" selected>' in page
    assert manager.form(f"/projects/{world.project.id}/stats/queue-order", {"queue_order": "nope"}).status_code == 422
