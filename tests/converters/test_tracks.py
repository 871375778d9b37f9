"""Track interpolation, worked out by hand, and the schema's rules for tracks.

Also holds ``video_sample`` and ``track_summary``, shared by the cvat-video and mot tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from annotate.converters._tracks import interpolate_track, track_frames
from schemas import SchemaError, validate_dataset

HUMAN = {"type": "human"}


def box_track(*shapes):
    return {"id": "t", "item": "v", "label": "car", "type": "bbox", "source": HUMAN, "shapes": list(shapes)}


def key(frame, bbox=None, outside=False, keyframe=True, **extra):
    geometry = {"bbox": bbox} if bbox is not None else {}
    return {"frame": frame, "keyframe": keyframe, "outside": outside, **geometry, **extra}


def video_sample(path_of, *, frames: int = 6, width: int = 40, height: int = 30) -> dict[str, Any]:
    """Frames 0..frames-1 of video "clip"; box tracks with gaps, an end and a run to the end."""
    items = [
        {
            "id": f"f{n}",
            "name": path_of(n).rsplit("/", 1)[-1],
            "path": path_of(n),
            "media": "video_frame",
            "width": width,
            "height": height,
            "video": "clip",
            "frame": n,
            "annotation": {"version": 1, "tags": [], "shapes": []},
        }
        for n in range(frames)
    ]
    return {
        "version": 1,
        "labels": [{"id": 1, "name": "car", "kind": "shape"}, {"id": 2, "name": "person walking", "kind": "shape"}],
        "items": items,
        "tracks": [
            # Moves right 2 px a frame from 0 to 2, then stands still, ends after frame 3.
            {"id": "1", "item": "clip", "label": "car", "type": "bbox", "source": HUMAN, "shapes": [
                key(0, bbox=[0, 0, 4, 4]), key(2, bbox=[4, 0, 4, 4]), key(4, outside=True, bbox=[4, 0, 4, 4]),
            ]},
            # Visible on 1, hidden on 2..3, back on 4 and on to the end of the video.
            {"id": "7", "item": "clip", "label": "person walking", "type": "bbox", "source": HUMAN, "shapes": [
                key(1, bbox=[10, 10, 5, 8]), key(2, outside=True, bbox=[10, 10, 5, 8]), key(4, bbox=[20, 10, 5, 8]),
            ]},
        ],
    }  # fmt: skip


def track_summary(dataset: dict[str, Any], *, outside_geometry: bool = True) -> list[Any]:
    """Tracks without ids: label, type, and per shape frame, keyframe, outside, geometry."""

    def shape(s: dict[str, Any]) -> tuple[Any, ...]:
        geometry = {k: s[k] for k in ("bbox", "rings", "points", "keypoints", "center", "radii", "angle") if k in s}
        if s["outside"] and not outside_geometry:
            geometry = {}
        return (s["frame"], s["keyframe"], s["outside"], bool(s.get("occluded")), repr(_floats(geometry)), repr(s.get("attributes", {})))

    return sorted(
        (t["label"], t["type"], t["item"], repr(t.get("attributes", {})), [shape(s) for s in t["shapes"]])
        for t in dataset.get("tracks", [])
    )


def _floats(value: Any) -> Any:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in sorted(value.items())}
    return [_floats(v) for v in value]


# -- interpolation ------------------------------------------------------------------


def test_halfway_between_two_keyframes():
    track = box_track(key(0, [0, 0, 10, 10]), key(10, [10, 0, 10, 20]))
    assert interpolate_track(track, 5)["bbox"] == [5, 0, 10, 15]
    assert interpolate_track(track, 5)["keyframe"] is False
    # 3/10 of the way: x = 3, h = 10 + 3 = 13.
    assert interpolate_track(track, 3)["bbox"] == pytest.approx([3, 0, 10, 13])
    assert interpolate_track(track, 10) == key(10, [10, 0, 10, 20])


def test_before_the_first_shape_and_after_outside_nothing_is_visible():
    track = box_track(key(2, [0, 0, 4, 4]), key(4, [2, 2, 4, 4], outside=True), key(7, [8, 8, 2, 2]))
    assert interpolate_track(track, 1) is None
    # Towards an outside shape CVAT still interpolates: frame 3 is halfway to [2, 2, 4, 4].
    assert interpolate_track(track, 3)["bbox"] == [1, 1, 4, 4]
    assert interpolate_track(track, 4) is None
    assert interpolate_track(track, 6) is None
    # After the last shape the track runs on unchanged.
    assert interpolate_track(track, 50)["bbox"] == [8, 8, 2, 2]
    assert track_frames(track, 10) == [2, 3, 7, 8, 9]


def test_track_frames_never_passes_the_end_of_the_video_or_the_outside_shape():
    track = box_track(key(0, [0, 0, 1, 1]), key(3, [0, 0, 1, 1], outside=True))
    assert track_frames(track, 100) == [0, 1, 2]
    assert track_frames(track, 2) == [0, 1]
    assert track_frames(box_track(key(5, [0, 0, 1, 1])), 8) == [5, 6, 7]


def test_flags_and_attributes_come_from_the_earlier_shape():
    track = box_track(key(0, [0, 0, 2, 2], occluded=True, attributes={"a": 1}), key(4, [4, 0, 2, 2], attributes={"a": 2}))
    middle = interpolate_track(track, 1)
    assert (middle["occluded"], middle["attributes"], middle["bbox"]) == (True, {"a": 1}, [1, 0, 2, 2])


def test_polygons_need_the_same_vertex_count_else_the_earlier_is_held():
    same = {"id": "p", "item": "v", "label": "car", "type": "polygon", "source": HUMAN, "shapes": [
        {"frame": 0, "keyframe": True, "outside": False, "rings": [[0, 0, 4, 0, 4, 4]]},
        {"frame": 2, "keyframe": True, "outside": False, "rings": [[2, 0, 6, 0, 6, 8]]},
    ]}  # fmt: skip
    assert interpolate_track(same, 1)["rings"] == [[1, 0, 5, 0, 5, 6]]
    same["shapes"][1]["rings"] = [[2, 0, 6, 0, 6, 8, 2, 8]]
    assert interpolate_track(same, 1)["rings"] == [[0, 0, 4, 0, 4, 4]]


def test_angles_take_the_shorter_way_and_keypoints_are_held():
    rotated = {"id": "r", "item": "v", "label": "car", "type": "rotated_bbox", "source": HUMAN, "shapes": [
        {"frame": 0, "keyframe": True, "outside": False, "bbox": [0, 0, 2, 2], "angle": 350},
        {"frame": 4, "keyframe": True, "outside": False, "bbox": [0, 0, 2, 2], "angle": 10},
    ]}  # fmt: skip
    assert interpolate_track(rotated, 2)["angle"] == 0
    assert interpolate_track(rotated, 1)["angle"] == 355
    keypoints = {"id": "k", "item": "v", "label": "car", "type": "keypoints", "source": HUMAN, "shapes": [
        {"frame": 0, "keyframe": True, "outside": False, "keypoints": [0, 0, 2]},
        {"frame": 4, "keyframe": True, "outside": False, "keypoints": [8, 8, 2]},
    ]}  # fmt: skip
    assert interpolate_track(keypoints, 3)["keypoints"] == [0, 0, 2]


def video_dataset():
    frame = {"name": "f", "media": "video_frame", "width": 8, "height": 8, "video": "v",
             "annotation": {"version": 1, "tags": [], "shapes": []}}  # fmt: skip
    return {
        "version": 1,
        "labels": [{"id": 1, "name": "car", "kind": "shape"}],
        "items": [{**frame, "id": str(n), "path": f"f{n}.png", "frame": n} for n in range(3)],
        "tracks": [box_track(key(0, [0, 0, 1, 1]), key(2, [1, 1, 1, 1], outside=True))],
    }


def test_a_valid_track_passes():
    validate_dataset(video_dataset())


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: d["tracks"][0].update(item="w"), "tracks/0/item", "no video or video_frame item has video 'w'"),
        (lambda d: d["tracks"][0].update(label="bus"), "tracks/0/label", "unknown label 'bus'"),
        (lambda d: d["tracks"][0]["shapes"][1].update(frame=0), "tracks/0/shapes/1/frame", "is not after the previous shape's frame 0"),
        (lambda d: d["tracks"].append(dict(d["tracks"][0])), "tracks/1/id", "duplicate track id 't'"),
        (lambda d: d["tracks"][0]["shapes"][0].pop("bbox"), "tracks/0/shapes/0/bbox", "is required"),
        (lambda d: d["tracks"][0]["shapes"][0].update(points=[1, 2]), "tracks/0/shapes/0/points", "is not allowed for this type"),
        (lambda d: d["tracks"][0]["shapes"][0].update(frame=-1), "tracks/0/shapes/0/frame", "less than the minimum of 0"),
        (lambda d: d["tracks"][0].update(type="spline"), "tracks/0/type", "is not one of"),
    ],
)
def test_track_mistakes_are_reported_at_their_path(change, path, message):
    doc = video_dataset()
    change(doc)
    with pytest.raises(SchemaError) as caught:
        validate_dataset(doc)
    assert [error["path"] for error in caught.value.errors] == [path]
    assert message in caught.value.errors[0]["message"]


def test_a_video_item_bounds_the_frames():
    doc = video_dataset()
    doc["items"] = [{"id": "v", "name": "v.mp4", "path": "v.mp4", "media": "video", "video": "v", "width": 8, "height": 8,
                     "frame_count": 2, "fps": 25, "annotation": {"version": 1, "tags": [], "shapes": []}}]  # fmt: skip
    with pytest.raises(SchemaError) as caught:
        validate_dataset(doc)
    assert caught.value.errors == [{"path": "tracks/0/shapes/1/frame", "message": "frame 2 is past the video's last frame 1"}]
    doc["items"][0]["frame_count"] = 3
    validate_dataset(doc)
    del doc["items"][0]["fps"]
    with pytest.raises(SchemaError) as caught:
        validate_dataset(doc)
    assert caught.value.errors[0]["path"] == "items/0/fps"


def test_image_formats_write_tracks_as_frame_shapes_and_track_formats_keep_them(tmp_path):
    from annotate.converters import export_dataset

    dataset = video_sample(lambda n: f"clip/frame_{n:06d}.jpg")
    report = export_dataset("coco", dataset, tmp_path / "coco")
    # tests/converters/test_tracks_to_images.py checks the boxes; 4 + 3 visible frames here.
    assert "2 tracks written as 7 per-frame boxes: COCO has no tracks" in report.lines()[0], report.lines()
    assert not any("has no tracks" in line for line in export_dataset("native", dataset, tmp_path / "native").lines())
