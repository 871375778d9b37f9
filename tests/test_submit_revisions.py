"""A submit names the revision it was based on and is refused as a save would be."""

from annotate.extensions import db
from annotate.models import Task
from tests.helpers import add_images, box, document


def test_submit_from_a_wrong_base_revision_answers_like_save(world, login):
    add_images(world.project, [(100, 80)])
    labeler = login("labeler1")
    task = labeler.api("POST", f"/api/v1/tasks/next?project={world.project.id}").get_json()
    save_url, submit_url = f"/api/v1/tasks/{task['id']}/annotation", f"/api/v1/tasks/{task['id']}/submit"
    assert labeler.api("PUT", save_url, json={"base_revision": 0, "annotation": document([box("cat", 1, 2, 3, 4)])}).status_code == 200

    # Revision 5 does not exist (the latest is 1): a mistake in the request, 422 for both.
    saved_ahead = labeler.api("PUT", save_url, json={"base_revision": 5, "annotation": document()})
    submitted_ahead = labeler.api("POST", submit_url, json={"base_revision": 5})
    assert saved_ahead.status_code == submitted_ahead.status_code == 422
    assert submitted_ahead.get_json() == saved_ahead.get_json() == {
        "code": 422, "status": "Unprocessable Entity", "message": "base_revision 5 does not exist: the latest revision is 1",
        "errors": {"base_revision": "ahead of the latest"},
    }  # fmt: skip

    # Revision 0 is older than the latest: someone saved since, 409 for both, with the latest.
    saved_stale = labeler.api("PUT", save_url, json={"base_revision": 0, "annotation": document()})
    submitted_stale = labeler.api("POST", submit_url, json={"base_revision": 0})
    assert saved_stale.status_code == submitted_stale.status_code == 409
    assert submitted_stale.get_json() == saved_stale.get_json()
    assert submitted_stale.get_json()["errors"] == {"latest_revision": 1, "base_revision": 0}

    assert db.session.get(Task, task["id"]).state == "in_progress"  # nothing moved
    assert labeler.api("POST", submit_url, json={"base_revision": 1}).status_code == 200
    assert db.session.get(Task, task["id"]).state != "in_progress"
