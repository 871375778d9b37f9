"""Image classification: metrics worked by hand, training on tiny images, the train and pre-label jobs."""

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from annotate.extensions import db
from annotate.models import AnnotationRevision, Item, ModelVersion, PrelabelRecord
from prelabel.classification import classification_metrics, confusion_matrix, load_classifier, save_classifier, train_classifier
from tests.conftest import run_jobs
from tests.helpers import document, tag
from tests.test_exports import accept_with


def test_f1_from_the_confusion_matrix_worked_by_hand():
    # truth:     a a a a b b b c c c
    # predicted: a a b c b b a c c b
    truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    predicted = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]
    assert confusion_matrix(truth, predicted, 3) == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    m = classification_metrics(truth, predicted, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(6 / 10)
    # a: TP 2, FP 1 (a b), FN 2 -> P 2/3, R 1/2, F1 4/7
    # b: TP 2, FP 2, FN 1       -> P 1/2, R 2/3, F1 4/7
    # c: TP 2, FP 1, FN 1       -> P 2/3, R 2/3, F1 2/3
    assert m["per_class"]["a"] == pytest.approx({"precision": 2 / 3, "recall": 0.5, "f1": 4 / 7, "support": 4})
    assert m["per_class"]["b"] == pytest.approx({"precision": 0.5, "recall": 2 / 3, "f1": 4 / 7, "support": 3})
    assert m["per_class"]["c"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((4 / 7 + 4 / 7 + 2 / 3) / 3)
    # A class never present nor predicted scores 0 and stays out of the macro mean.
    none = classification_metrics([0, 1], [0, 1], ["a", "b", "c"])
    assert none["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert none["macro_f1"] == 1.0 and none["accuracy"] == 1.0
    assert classification_metrics([], [], ["a", "b"])["accuracy"] is None
    with pytest.raises(ValueError, match="out of range"):
        confusion_matrix([0], [3], 2)


def _image(bright: bool, rng, size: int = 32) -> np.ndarray:
    return np.clip(rng.normal(200 if bright else 40, 20, (size, size, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("architecture", ["resnet18", "mobilenet_v3_small"])
def test_classifier_learns_bright_from_dark_and_reports_held_out_metrics(tmp_path, architecture):
    rng = np.random.default_rng(0)
    train = [(_image(i % 2 == 0, rng), i % 2) for i in range(16)]
    val = [(_image(i % 2 == 0, rng), i % 2) for i in range(6)]
    result = train_classifier(train, ["bright", "dark"], architecture, 3, input_size=64, batch_size=8, seed=1, val_samples=val)
    assert len(result.losses) == 3 and result.losses[-1] < result.losses[0]
    assert result.metrics["count"] == 6 and 0.0 <= result.metrics["accuracy"] <= 1.0
    assert set(result.metrics["per_class"]) == {"bright", "dark"}
    # Same seed, same losses.
    again = train_classifier(train, ["bright", "dark"], architecture, 3, input_size=64, batch_size=8, seed=1)
    assert again.losses == pytest.approx(result.losses)
    save_classifier(tmp_path / "c.pt", result)
    loaded = load_classifier(tmp_path / "c.pt")
    assert loaded.label_names == ["bright", "dark"] and loaded.input_size == 64
    predictions = loaded.predict([image for image, _ in val])
    assert len(predictions) == 6 and all(0 <= label < 2 and 0.0 <= score <= 1.0 for label, score in predictions)
    with pytest.raises(ValueError, match="unknown classifier"):
        train_classifier(train, ["bright", "dark"], "resnet999", 1)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def test_classification_training_job_registers_a_version_that_prelabels_tags(app, redis_connection, world, login):
    from annotate.services import media, projects

    projects.add_label(world.project, {"name": "indoor", "kind": "tag"})
    rng = np.random.default_rng(3)
    data = [(f"c{i}.png", _png(_image(i % 2 == 0, rng)), "outdoor" if i % 2 == 0 else "indoor") for i in range(14)]
    media.ingest(world.project, [(name, content) for name, content, _ in data])
    items = {i.name: i for i in db.session.scalars(select(Item))}
    for name, _, label in data[:10]:
        accept_with(world, items[name], document(tags=[tag(label)]))
    manager = login("manager")
    url = f"/api/v1/projects/{world.project.id}/train"
    assert (
        manager.api("POST", url, json={"task": "classification", "architecture": "fasterrcnn_mobilenet_v3_large_320_fpn"}).status_code
        == 422
    )
    assert manager.api("POST", url, json={"task": "segmentation"}).status_code == 422
    app.config["CLASSIFIER_INPUT_SIZE"] = 64
    job = manager.api("POST", url, json={"task": "classification", "architecture": "resnet18", "epochs": 3})
    assert job.status_code == 202, job.get_json()
    run_jobs(app, redis_connection)
    trained = manager.api("GET", f"/api/v1/jobs/{job.get_json()['id']}").get_json()
    assert trained["status"] == "finished", trained
    losses = trained["result"]["losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert 0.0 <= trained["result"]["accuracy"] <= 1.0 and "held-out items" in trained["message"]
    version = db.session.scalar(select(ModelVersion))
    assert (version.task_type, version.architecture, version.label_names) == ("classification", "resnet18", ["outdoor", "indoor"])
    assert version.metrics["val_items"] == 2 and set(version.metrics["per_class"]) == {"outdoor", "indoor"}
    follow = manager.api("GET", f"/api/v1/jobs/{trained['result']['prelabel_job_id']}").get_json()
    assert follow["status"] == "finished" and follow["result"]["items"] == 4, follow
    for name, _, _ in data[10:]:
        item = items[name]
        assert db.session.scalar(select(PrelabelRecord).where(PrelabelRecord.item_id == item.id)) is not None
        for revision in db.session.scalars(select(AnnotationRevision).where(AnnotationRevision.item_id == item.id)):
            assert revision.document["shapes"] == []
            (model_tag,) = revision.document["tags"]
            assert model_tag["label"] in {"outdoor", "indoor"} and set(model_tag) >= {"id", "label", "source"}
            assert model_tag["source"]["type"] == "model" and model_tag["source"]["model_version"] == 1
            assert model_tag["source"]["score"] >= world.project.prelabel_threshold
