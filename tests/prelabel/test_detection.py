"""Tests for prelabel.detection on tiny synthetic images (CPU, a few seconds each)."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from prelabel.detection import (
    FORMAT,
    Detection,
    LoadedDetector,
    ModelFileError,
    TrainingCancelled,
    TrainResult,
    TrainSample,
    load_detector,
    save_model_file,
    train_detector,
)

LABELS = ["white", "red"]
SIZE = 96
FAST = {"min_size": 128, "max_size": 128}

# torch deprecates TorchScript in favour of torch.export, but users still have TorchScript
# detectors, so the tests that make such files allow exactly these two warnings.
allow_jit_script = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.script` is deprecated:FutureWarning")
allow_jit_save = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.save` is deprecated:FutureWarning")


def test_detection_imports_neither_flask_nor_the_database():
    code = "import sys, prelabel.detection\nprint(','.join(m for m in ('flask', 'sqlalchemy', 'annotate') if m in sys.modules))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def make_samples(count: int = 8, seed: int = 0) -> list[TrainSample]:
    """One bright rectangle per image (white = label 0, red = label 1); the last image has none."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        image = np.full((SIZE, SIZE, 3), 30, dtype=np.uint8)
        if i == count - 1:
            samples.append(TrainSample(image=image, boxes=[], labels=[]))
            continue
        x, y = (int(v) for v in rng.integers(4, 40, size=2))
        w, h = (int(v) for v in rng.integers(20, 50, size=2))
        label = i % 2
        image[y : y + h, x : x + w] = (255, 255, 255) if label == 0 else (255, 0, 0)
        samples.append(TrainSample(image=image, boxes=[(x, y, w, h)], labels=[label]))
    return samples


@pytest.fixture(scope="module")
def progress_calls() -> list[tuple[float, str]]:
    return []


@pytest.fixture(scope="module")
def trained(progress_calls) -> TrainResult:
    return train_detector(
        make_samples(),
        LABELS,
        epochs=3,
        batch_size=2,
        device="cpu",
        progress=lambda fraction, message: progress_calls.append((fraction, message)),
        **FAST,
    )


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "detector.pt"
    save_model_file(path, trained)
    return path


def assert_valid(detections: list[Detection], height: int, width: int, max_detections: int = 100) -> None:
    assert len(detections) <= max_detections
    scores = [d.score for d in detections]
    assert scores == sorted(scores, reverse=True)
    for d in detections:
        assert isinstance(d, Detection)
        assert 0 <= d.label_index < len(LABELS)
        x, y, w, h = d.bbox
        assert all(isinstance(v, float) for v in d.bbox)
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert x + w <= width + 1e-3 and y + h <= height + 1e-3


def test_training_lowers_the_loss(trained, progress_calls):
    assert trained.architecture == "fasterrcnn_mobilenet_v3_large_320_fpn"
    assert trained.label_names == LABELS
    assert trained.device == "cpu"
    assert len(trained.losses) == 3
    assert trained.losses[-1] < trained.losses[0]
    assert [fraction for fraction, _ in progress_calls] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert all(t.device.type == "cpu" for t in trained.state_dict.values())


def test_training_is_deterministic():
    samples = make_samples(count=2)
    first = train_detector(samples, LABELS, epochs=1, device="cpu", seed=3, **FAST)
    second = train_detector(samples, LABELS, epochs=1, device="cpu", seed=3, **FAST)
    assert first.losses == second.losses
    for key, value in first.state_dict.items():
        assert torch.equal(value, second.state_dict[key]), key


def test_should_stop_cancels_training():
    with pytest.raises(TrainingCancelled):
        train_detector(
            make_samples(count=2),
            LABELS,
            epochs=1,
            device="cpu",
            should_stop=lambda: True,
            **FAST,
        )


@pytest.mark.parametrize(
    "sample, message",
    [
        (
            TrainSample(np.zeros((8, 8, 3), np.uint8), [(0, 0, 4, 4)], [2]),
            "out of range",
        ),
        (
            TrainSample(np.zeros((8, 8, 3), np.uint8), [(0, 0, 4, 4)], []),
            "1 boxes but 0 labels",
        ),
        (TrainSample(np.zeros((8, 8), np.float32), [], []), "uint8"),
    ],
)
def test_malformed_samples_are_rejected(sample, message):
    with pytest.raises(ValueError, match=message):
        train_detector([sample], LABELS, epochs=1, device="cpu", **FAST)


def test_non_detection_architecture_is_rejected():
    with pytest.raises(ValueError, match="not a detection model"):
        train_detector(
            make_samples(count=2),
            LABELS,
            architecture="resnet18",
            epochs=1,
            device="cpu",
        )


def test_save_load_predict_round_trip(model_file, trained):
    payload = torch.load(model_file, weights_only=True)
    assert payload["format"] == FORMAT
    assert payload["label_names"] == LABELS
    assert (payload["min_size"], payload["max_size"]) == (128, 128)

    detector = load_detector(model_file, device="cpu")
    assert isinstance(detector, LoadedDetector)
    assert detector.label_names == LABELS
    assert not detector.model.training

    images = [s.image for s in make_samples(count=3, seed=1)] + [np.zeros((50, 70, 3), np.uint8)]
    results = detector.predict(images, score_threshold=0.0, max_detections=20, batch_size=3)
    assert len(results) == len(images)
    assert results[0], "an untrained model still scores some boxes above 0"
    for image, detections in zip(images, results, strict=True):
        assert_valid(detections, *image.shape[:2], max_detections=20)
    assert detector.predict(images[:1], score_threshold=1.01) == [[]]


def test_load_checks_label_names_against_file(model_file):
    assert load_detector(model_file, label_names=LABELS, device="cpu").label_names == LABELS
    with pytest.raises(ModelFileError, match="detector.pt"):
        load_detector(model_file, label_names=["white"], device="cpu")
    with pytest.raises(ModelFileError, match="ssdlite"):
        load_detector(model_file, architecture="ssdlite320_mobilenet_v3_large", device="cpu")


def test_load_plain_state_dict(trained, tmp_path):
    path = tmp_path / "plain.pt"
    torch.save(trained.state_dict, path)
    detector = load_detector(path, architecture=trained.architecture, label_names=LABELS, device="cpu")
    image = make_samples(count=1)[0].image
    assert_valid(detector.predict([image], score_threshold=0.0)[0], SIZE, SIZE)

    with pytest.raises(ModelFileError, match="plain.pt.*architecture"):
        load_detector(path, device="cpu")
    with pytest.raises(ModelFileError, match=r"plain.pt: weights were trained for 2 labels but 3"):
        load_detector(
            path,
            architecture=trained.architecture,
            label_names=[*LABELS, "blue"],
            device="cpu",
        )
    with pytest.raises(ModelFileError, match="plain.pt.*unknown model 'nope'"):
        load_detector(path, architecture="nope", label_names=LABELS, device="cpu")


def test_load_rejects_garbage_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 definitely not a model")
    with pytest.raises(ModelFileError, match="garbage.bin"):
        load_detector(garbage, architecture="ssdlite320_mobilenet_v3_large", label_names=LABELS)
    not_weights = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_weights)
    with pytest.raises(ModelFileError, match="list.pt: not a detector file"):
        load_detector(not_weights)
    with pytest.raises(ModelFileError, match="missing.pt"):
        load_detector(tmp_path / "missing.pt")


class FixedDetector(torch.nn.Module):
    """Returns the same three boxes for every image, in torchvision's output convention."""

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        outputs: list[dict[str, torch.Tensor]] = []
        for _ in images:
            outputs.append(
                {
                    # An overlapping duplicate (NMS drops it) and a box hanging off the image.
                    "boxes": torch.tensor(
                        [
                            [10.0, 10.0, 40.0, 40.0],
                            [11.0, 11.0, 41.0, 41.0],
                            [60.0, 50.0, 500.0, 90.0],
                        ]
                    ),
                    "labels": torch.tensor([1, 1, 2]),
                    "scores": torch.tensor([0.9, 0.8, 0.7]),
                }
            )
        return outputs


@allow_jit_script
@allow_jit_save
def test_torchscript_file(tmp_path):
    path = tmp_path / "fixed.torchscript"
    torch.jit.save(torch.jit.script(FixedDetector()), path)
    with pytest.raises(ModelFileError, match="fixed.torchscript.*label_names"):
        load_detector(path)

    detector = load_detector(path, label_names=LABELS, device="cpu")
    assert detector.architecture == "torchscript"
    [detections] = detector.predict([np.zeros((80, 100, 3), np.uint8)], score_threshold=0.5)
    assert [d.label_index for d in detections] == [0, 1]
    assert detections[0].bbox == pytest.approx((10.0, 10.0, 30.0, 30.0))
    assert detections[1].bbox == pytest.approx((60.0, 50.0, 40.0, 30.0))  # clipped at x=100
    assert detections[0].score == pytest.approx(0.9)

    with pytest.raises(ModelFileError, match="fixed.torchscript.*label 2 but only 1"):
        load_detector(path, label_names=["only"], device="cpu").predict([np.zeros((80, 100, 3), np.uint8)])


@allow_jit_script
@allow_jit_save
def test_scripted_torchvision_detector(trained, tmp_path):
    """A scripted torchvision detector returns (losses, detections); predict unpacks it."""
    from prelabel.registry import get_model

    model = get_model(trained.architecture, num_classes=len(LABELS) + 1, box_score_thresh=0.0, **FAST)
    model.load_state_dict(trained.state_dict)
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(model.eval()), path)

    detector = load_detector(path, label_names=LABELS, device="cpu")
    results = detector.predict([s.image for s in make_samples(count=2)], score_threshold=0.0)
    assert len(results) == 2
    assert results[0]
    for detections in results:
        assert_valid(detections, SIZE, SIZE)


def test_ssdlite_trains_and_round_trips(tmp_path):
    result = train_detector(
        make_samples(count=2),
        LABELS,
        architecture="ssdlite320_mobilenet_v3_large",
        epochs=1,
        device="cpu",
    )
    path = tmp_path / "ssd.pt"
    save_model_file(path, result)
    detector = load_detector(path, device="cpu")
    [detections] = detector.predict([make_samples(count=1)[0].image], score_threshold=0.0)
    assert_valid(detections, SIZE, SIZE)


def test_a_read_only_pillow_array_becomes_a_tensor_without_a_warning():
    from PIL import Image

    from prelabel.detection import _image_to_tensor

    array = np.asarray(Image.new("RGB", (4, 3), (255, 0, 51)))
    assert not array.flags.writeable  # as the pre-label job's decoder gives it
    tensor = _image_to_tensor(array)  # pytest turns a warning into an error
    assert tuple(tensor.shape) == (3, 3, 4)
    assert tensor[:, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])
