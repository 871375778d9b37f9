"""The tool in real headless Chromium: a labeler draws a box and submits; a reviewer accepts.

Uses Debian's ``chromium`` (Playwright's own browser download cannot work offline). Skipped,
with the reason, where no ``chromium`` is installed.
"""

from __future__ import annotations

import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from annotate.extensions import db
from annotate.models import AnnotationRevision, Task
from annotate.services import media
from tests.conftest import PASSWORD, corpus_file

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_label_draw_submit_then_review_accept(app, world, live_server, browser, tmp_path):
    media.ingest(world.project, [("grace_hopper.jpg", corpus_file("media-from-packages/images/grace_hopper.jpg").read_bytes())])
    errors: list[str] = []

    labeler = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    labeler.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(labeler, live_server, "labeler1")
    labeler.click("button.start-labeling")
    labeler.wait_for_selector("#tool[data-ready=true]")
    image = labeler.locator("svg image#item-image").bounding_box()
    labeler.click("button[data-label=person]")
    labeler.click("#mode-box")
    start = (image["x"] + 0.25 * image["width"], image["y"] + 0.25 * image["height"])
    end = (image["x"] + 0.60 * image["width"], image["y"] + 0.70 * image["height"])
    labeler.mouse.move(*start)
    labeler.mouse.down()
    labeler.mouse.move(*end, steps=8)
    labeler.mouse.up()
    labeler.wait_for_selector("#canvas g.shape[data-id] rect.shape-body")
    labeler.check("input[type=checkbox][data-tag=outdoor]")
    labeler.wait_for_function("document.querySelector('#save-status').textContent.includes('Saved')")
    labeler.screenshot(path=str(tmp_path / "tool.png"))
    labeler.click("#submit-btn")
    labeler.wait_for_url(f"{live_server}/?done=1")

    task = db.session.scalar(select(Task))
    assert task.state == "submitted"
    revision = db.session.scalars(select(AnnotationRevision).order_by(AnnotationRevision.number.desc())).first()
    (shape,) = revision.document["shapes"]
    assert shape["label"] == "person" and shape["source"] == {"type": "human"} and shape["author"] == "labeler1"
    # The drag spanned 25-60 % of the width and 25-70 % of the height of the 512x600 image;
    # the mouse lands on whole screen pixels, so allow one screen pixel in image pixels.
    tolerance = 600 / image["height"] + 0.5
    expected = [0.25 * 512, 0.25 * 600, 0.35 * 512, 0.45 * 600]
    assert all(abs(a - b) <= tolerance for a, b in zip(shape["bbox"], expected, strict=True)), shape["bbox"]
    assert [t["label"] for t in revision.document["tags"]] == ["outdoor"]

    reviewer = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    reviewer.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(reviewer, live_server, "reviewer")
    reviewer.click("a.review-queue")
    reviewer.click("a.review-item")
    reviewer.wait_for_selector("#review-canvas rect")
    reviewer.screenshot(path=str(tmp_path / "review.png"))
    reviewer.click("#accept-btn")
    reviewer.wait_for_url(f"{live_server}/projects/{world.project.id}/review")
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == "accepted"
    assert errors == []


def test_prelabels_show_as_machine_made_and_become_human_when_moved(app, world, live_server, browser):
    from annotate.services import annotations, models

    media.ingest(world.project, [("grace_hopper.jpg", corpus_file("media-from-packages/images/grace_hopper.jpg").read_bytes())])
    item = db.session.scalar(select(Task)).item
    version = models.add_version(
        world.project, architecture="fixed", file_format="torchscript", label_names=["person"], data=b"x", origin="registered", user_id=None
    )
    prelabel = {
        "id": "pre-1", "type": "bbox", "label": "person", "bbox": [100, 120, 250, 400],
        "source": {"type": "model", "model_version": version.version, "score": 0.87},
    }  # fmt: skip
    annotations.save_revision(item, world.project, {"version": 1, "tags": [], "shapes": [prelabel]}, 0, model_version_id=version.id)

    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    log_in(page, live_server, "labeler1")
    page.click("button.start-labeling")
    page.wait_for_selector("#tool[data-ready=true]")
    shape = page.locator('#canvas g.shape.model[data-id="pre-1"]')
    assert "person · model v1 · 0.87" in shape.text_content()
    box = shape.locator("rect.shape-body").bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.click("#mode-select")
    page.mouse.move(*centre)
    page.mouse.down()
    page.mouse.move(centre[0] + 30, centre[1] + 20, steps=6)
    page.mouse.up()
    page.wait_for_function("document.querySelector('#save-status').textContent.includes('Saved · rev 2')")
    saved = annotations.latest_document(item.id)[0]["shapes"]
    assert [(s["id"], s["source"]["type"]) for s in saved] == [("pre-1", "human")]
    assert saved[0]["bbox"][0] > 100 and saved[0]["bbox"][2:] == [250, 400]
    assert page.locator('#canvas g.shape.model[data-id="pre-1"]').count() == 0


def test_skip_asks_why_and_opens_the_next_task(app, world, live_server, browser):
    from annotate.models import TaskEvent

    names = ("grace_hopper.jpg", "astronaut.png")
    media.ingest(world.project, [(n, corpus_file(f"media-from-packages/images/{n}").read_bytes()) for n in names])
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.on("dialog", lambda dialog: dialog.accept("the face is cut off"))
    log_in(page, live_server, "labeler1")
    page.click("button.start-labeling")
    page.wait_for_selector("#tool[data-ready=true]")
    first = page.url
    page.click("#skip-btn")
    page.wait_for_url(lambda url: url != first and "/label/tasks/" in url)
    page.wait_for_selector("#tool[data-ready=true]")
    assert "astronaut.png" in page.locator("#task-title").text_content()
    skip = db.session.scalar(select(TaskEvent).where(TaskEvent.action == "skip"))
    assert skip.comment == "the face is cut off" and skip.actor.username == "labeler1"


def test_reviewer_pins_a_comment_and_the_labeler_sees_the_pin(app, world, live_server, browser):
    from annotate.models import TaskEvent
    from annotate.services import tasks
    from tests.helpers import box, document
    from workflows import Role

    media.ingest(world.project, [("grace_hopper.jpg", corpus_file("media-from-packages/images/grace_hopper.jpg").read_bytes())])
    labeler1 = world.users["labeler1"]
    task = tasks.next_task(world.project, labeler1, Role.LABELER)
    tasks.save_annotation(task, labeler1, Role.LABELER, document([box("person", 100, 100, 200, 300)]), 0)
    tasks.submit(task, labeler1, Role.LABELER)
    errors: list[str] = []

    reviewer = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    reviewer.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(reviewer, live_server, "reviewer")
    reviewer.goto(f"{live_server}/review/tasks/{task.id}")
    reviewer.wait_for_selector("#review-canvas rect")
    image = reviewer.locator("#review-canvas image").bounding_box()
    # Click at 50 % of the width and 25 % of the height of the 512x600 image: (256, 150) px.
    reviewer.mouse.click(image["x"] + 0.5 * image["width"], image["y"] + 0.25 * image["height"])
    reviewer.wait_for_selector("#review-canvas g.pin[data-n='1']")
    assert "Pinned at" in reviewer.locator("#pin-status").text_content()
    reviewer.fill("#reject-comment", "the hand is outside the box")
    reviewer.click("#reject-btn")
    reviewer.wait_for_url(f"{live_server}/projects/{world.project.id}/review")
    db.session.expire_all()
    event = db.session.scalar(select(TaskEvent).where(TaskEvent.action == "reject"))
    tolerance = 600 / image["height"] + 0.5  # one screen pixel, in image pixels
    assert abs(event.pin["x"] - 256) <= tolerance and abs(event.pin["y"] - 150) <= tolerance, event.pin

    labeler = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    labeler.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(labeler, live_server, "labeler1")
    labeler.goto(f"{live_server}/label/tasks/{task.id}")
    labeler.wait_for_selector("#tool[data-ready=true]")
    labeler.wait_for_selector("#canvas g.pin[data-n='1']")
    assert "📍1" in labeler.locator("#comments").text_content()
    pin = labeler.locator("#canvas g.pin").bounding_box()
    shown = labeler.locator("svg image#item-image").bounding_box()
    # The marker's center sits on the pinned image point.
    assert abs(pin["x"] + pin["width"] / 2 - (shown["x"] + event.pin["x"] / 512 * shown["width"])) <= 2
    assert abs(pin["y"] + pin["height"] / 2 - (shown["y"] + event.pin["y"] / 600 * shown["height"])) <= 2
    assert errors == []


def test_reviewer_compares_the_labelers_answers_with_the_consensus(app, world, live_server, browser):
    from annotate.services import annotations, tasks, workflow
    from tests.helpers import box, document
    from workflows import Role

    pair = {
        "version": 1,
        "stages": [{"kind": "annotate", "overlap": 2}, {"kind": "consensus", "extra_labels": 0}, {"kind": "review"}, {"kind": "accept"}],
    }
    workflow.set_workflow(world.project, pair)
    world.project.gold_rate = 0.0
    db.session.commit()
    media.ingest(world.project, [("grace_hopper.jpg", corpus_file("media-from-packages/images/grace_hopper.jpg").read_bytes())])
    for name, x in (("labeler1", 100), ("labeler2", 110)):
        task = tasks.next_task(world.project, world.users[name], Role.LABELER)
        tasks.save_annotation(task, world.users[name], Role.LABELER, document([box("person", x, 100, 200, 300)]), 0)
        tasks.submit(task, world.users[name], Role.LABELER)
    item_task = db.session.scalar(select(Task).where(Task.replica == 0))
    assert item_task.state == "submitted" and annotations.latest_document(item_task.item_id)[0]["shapes"][0]["bbox"][0] == 105.0
    errors: list[str] = []
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "reviewer")
    page.goto(f"{live_server}/review/tasks/{item_task.id}")
    page.wait_for_selector("#review-canvas g.shape-bbox text.shape-caption")
    assert page.locator("#review-canvas text.shape-caption").text_content() == "person · consensus 1.00 · 2 labelers"
    assert page.locator(".review-answers h2").text_content() == "Labelers' answers (2)"
    assert page.locator("#review-canvas g.answer").count() == 0
    page.check("input.answer-toggle[data-replica='2']")
    page.wait_for_selector("#review-canvas g.answer[data-replica='2'] rect.shape-body")
    merged = page.locator("#review-canvas g.shapes rect.shape-body").bounding_box()
    answer = page.locator("#review-canvas g.answer[data-replica='2'] rect.shape-body").bounding_box()
    # labeler2's box starts 5 image pixels right of the consensus box (110 vs 105).
    assert answer["x"] > merged["x"] and abs(answer["width"] - merged["width"]) < 1
    page.uncheck("input.answer-toggle[data-replica='2']")
    page.wait_for_selector("#review-canvas g.answer", state="detached")
    assert errors == []
