"""The contract every format meets. Each format's test module subclasses :class:`FormatContract`.

A subclass names the format and gives a dataset the format holds completely; the base class
then checks detect, export, import and the round trip, refusing invalid datasets, and
rejecting an empty folder. ``test_every_format_has_a_contract`` (in
``test_converter_registry.py``) fails for a registered format without a subclass.
"""

from __future__ import annotations

from typing import Any

import pytest

from annotate.converters import FormatError, detect_format, export_dataset, get_format, import_dataset
from schemas import SchemaError, validate_dataset

CONTRACTS: dict[str, type[FormatContract]] = {}


def box_dataset() -> dict[str, Any]:
    """Boxes only, integer pixels, inside the images: every detection format holds it exactly."""

    def item(item_id, path, subset, boxes):
        return {
            "id": item_id,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "media": "image",
            "width": 32,
            "height": 24,
            "subset": subset,
            "annotation": {
                "version": 1,
                "tags": [],
                "shapes": [
                    {"id": f"{item_id}-{n}", "type": "bbox", "label": label, "bbox": bbox, "source": {"type": "human"}}
                    for n, (label, bbox) in enumerate(boxes)
                ],
            },
        }

    return {
        "version": 1,
        "labels": [{"id": 1, "name": "car", "kind": "shape"}, {"id": 2, "name": "person", "kind": "shape"}],
        "items": [
            item("1", "street/one.jpg", "train", [("car", [0, 0, 32, 24]), ("person", [3, 4, 5, 6])]),
            item("2", "two.jpg", "val", [("person", [10, 11, 1, 1])]),
            item("3", "three.jpg", "train", []),
        ],
    }


def _numbers_as_floats(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in sorted(value.items())}
    return [_numbers_as_floats(v) for v in value]


def shape_geometry(shape: dict[str, Any]) -> Any:
    """The coordinates of a shape, whatever its type, with every number as a float."""
    keys = ("bbox", "angle", "rings", "points", "keypoints", "rle", "center", "radii")
    return _numbers_as_floats({key: shape[key] for key in keys if key in shape})


class FormatContract:
    """Subclass with ``name = "<format>"`` and, when boxes are not the format's thing, ``sample``.

    Override :meth:`geometry` when the format keeps less than (path, subset, shapes) exactly,
    e.g. when it has no subsets.
    """

    name: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            CONTRACTS[cls.name] = cls

    def sample(self) -> dict[str, Any]:
        """A dataset this format holds completely."""
        return box_dataset()

    def geometry(self, dataset: dict[str, Any]) -> Any:
        """What must survive export then import, independent of ids."""
        result = {}
        for item in dataset["items"]:
            shapes = sorted(
                ((s["label"], s["type"], repr(shape_geometry(s))) for s in item["annotation"]["shapes"]),
            )
            tags = sorted(t["label"] for t in item["annotation"]["tags"])
            result[item["path"]] = (item.get("subset", "default"), shapes, tags)
        return result

    def test_export_detect_import(self, tmp_path):
        dataset = self.sample()
        report = export_dataset(self.name, dataset, tmp_path / "out")
        assert report.lines() == []
        assert detect_format(tmp_path / "out") == self.name
        assert get_format(self.name).detect(tmp_path / "out")
        again, import_report = import_dataset(self.name, tmp_path / "out")
        validate_dataset(again)
        assert import_report.lines() == []
        assert self.geometry(again) == self.geometry(dataset)
        used = {s["label"] for i in dataset["items"] for s in i["annotation"]["shapes"] + i["annotation"]["tags"]}
        assert used <= {label["name"] for label in again["labels"]}

    def test_refuses_invalid_dataset(self, tmp_path):
        dataset = self.sample()
        dataset["items"][0]["width"] = 0
        with pytest.raises(SchemaError) as caught:
            export_dataset(self.name, dataset, tmp_path / "out")
        assert caught.value.errors[0]["path"] == "items/0/width"

    def test_rejects_an_empty_folder(self, tmp_path):
        assert not get_format(self.name).detect(tmp_path)
        with pytest.raises(FormatError):
            import_dataset(self.name, tmp_path)
