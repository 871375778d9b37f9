"""Imports and exports run with the cyclic collector off, and leave it as they found it."""

from __future__ import annotations

import gc

import pytest

from annotate.converters import coco, export_dataset, import_dataset
from annotate.converters._gc import gc_paused
from annotate.converters.errors import FormatError


def test_gc_paused_restores_the_previous_state():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block found it off and leaves it off
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_conversion_runs_without_the_collector_and_turns_it_back_on(tmp_path, monkeypatch, dataset):
    seen = []
    write = coco.CocoFormat.write

    def spy(self, *args, **kwargs):
        seen.append(gc.isenabled())
        return write(self, *args, **kwargs)

    monkeypatch.setattr(coco.CocoFormat, "write", spy)
    export_dataset("coco", dataset, tmp_path / "out")
    assert seen == [False] and gc.isenabled()
    imported, _ = import_dataset("coco", tmp_path / "out")
    assert gc.isenabled() and len(imported["items"]) == len(dataset["items"])


def test_the_collector_is_back_on_after_a_failed_import(tmp_path):
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_x.json").write_text("{not json")
    with pytest.raises(FormatError, match="not a readable JSON file"):
        import_dataset("coco", tmp_path)
    assert gc.isenabled()


def test_objects_made_while_paused_end_in_the_oldest_generation():
    # Left young, the first allocation after the block would walk all of them in one collection.
    with gc_paused():
        made = [{"bbox": [float(number)]} for number in range(5000)]
    assert gc.get_count()[0] < 100
    oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    assert id(made) in oldest and id(made[0]) in oldest and id(made[-1]["bbox"]) in oldest


def test_objects_the_process_froze_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            made = [[number] for number in range(100)]
        assert gc.get_freeze_count() == frozen
        assert id(made) not in {id(obj) for obj in gc.get_objects(generation=2)}
    finally:
        gc.unfreeze()
