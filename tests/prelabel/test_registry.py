"""Tests for prelabel.registry: names, tasks, errors, weights files, lazy torch import."""

import subprocess
import sys

import pytest

from prelabel import registry
from prelabel.registry import (
    ModelFileError,
    UnknownModelError,
    get_model,
    list_models,
    register_model,
)

DETECTORS = ["fasterrcnn_mobilenet_v3_large_320_fpn", "ssdlite320_mobilenet_v3_large"]
CLASSIFIERS = ["mobilenet_v3_small", "resnet18"]


def test_list_models_by_task():
    assert list_models("detection") == DETECTORS
    assert list_models("classification") == CLASSIFIERS
    assert list_models() == sorted(DETECTORS + CLASSIFIERS)
    assert list_models("segmentation") == []


def test_unknown_model_error_lists_known_names():
    with pytest.raises(UnknownModelError) as info:
        get_model("yolo9000", num_classes=3)
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert "yolo9000" in message
    for name in DETECTORS + CLASSIFIERS:
        assert name in message


def test_duplicate_registration_is_rejected(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_model("tiny", task="classification")
    def tiny(*, num_classes):
        return num_classes

    assert "tiny" in list_models("classification")
    assert get_model("tiny", num_classes=4) == 4
    with pytest.raises(ValueError, match="already registered"):
        register_model("tiny")(tiny)


def test_importing_registry_does_not_import_torch():
    code = (
        "import sys, prelabel, prelabel.registry as r\n"
        "assert r.list_models('detection')\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'flask', 'sqlalchemy') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_classifiers_get_requested_number_of_classes():
    assert get_model("resnet18", num_classes=5).fc.out_features == 5
    assert get_model("mobilenet_v3_small", num_classes=7).classifier[-1].out_features == 7


def test_detectors_count_background_in_num_classes():
    frcnn = get_model(DETECTORS[0], num_classes=3, min_size=128, max_size=128)
    assert frcnn.roi_heads.box_predictor.cls_score.out_features == 3
    assert frcnn.transform.min_size == (128,)
    # SSDlite always works at 320x320 and ignores the sizes.
    ssd = get_model(DETECTORS[1], num_classes=3, min_size=128, max_size=128)
    assert ssd.head.classification_head.num_columns == 3


def test_weights_path_round_trip(tmp_path):
    import torch

    torch.manual_seed(0)
    model = get_model("mobilenet_v3_small", num_classes=3)
    path = tmp_path / "weights.pt"
    torch.save(model.state_dict(), path)
    loaded = get_model("mobilenet_v3_small", num_classes=3, weights_path=path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])


def test_weights_path_that_does_not_fit(tmp_path):
    import torch

    path = tmp_path / "weights.pt"
    torch.save(get_model("mobilenet_v3_small", num_classes=3).state_dict(), path)
    with pytest.raises(ModelFileError, match="weights.pt"):
        get_model("mobilenet_v3_small", num_classes=4, weights_path=path)


def test_weights_path_garbage_and_missing(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="garbage.pt"):
        get_model("mobilenet_v3_small", num_classes=3, weights_path=garbage)
    with pytest.raises(ModelFileError, match="missing.pt"):
        get_model("mobilenet_v3_small", num_classes=3, weights_path=tmp_path / "missing.pt")
