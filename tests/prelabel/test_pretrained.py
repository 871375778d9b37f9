"""facenet-pytorch's MTCNN as a built-in face detector, on real photos with known faces."""

import numpy as np
import pytest
from PIL import Image

from tests.conftest import corpus_file

pytest.importorskip("facenet_pytorch")

from prelabel.pretrained import MTCNN_FACES, MtcnnFaceDetector, load_builtin
from workflows.consensus import iou as _iou

#: The astronaut's face in scikit-image's astronaut.png (512x512), read by hand off the photo
#: with a 50-pixel grid drawn on it: cheeks at x 180 and 268, forehead at y 65, chin at y 170.
ASTRONAUT_FACE = (180.0, 65.0, 88.0, 105.0)


def _photo(name: str) -> np.ndarray:
    with Image.open(corpus_file(f"media-from-packages/images/{name}")) as img:
        return np.asarray(img.convert("RGB"))


@pytest.fixture(scope="module")
def detector() -> MtcnnFaceDetector:
    return load_builtin(MTCNN_FACES)


def test_finds_the_astronauts_face_where_it_is(detector):
    (faces,) = detector.predict([_photo("astronaut.png")], score_threshold=0.5)
    assert len(faces) == 1
    face = faces[0]
    assert face.label_index == 0 and detector.label_names == ["face"] and 0.9 <= face.score <= 1.0
    assert _iou(face.bbox, ASTRONAUT_FACE) >= 0.8, face.bbox
    # OpenCV's Haar cascade, an independent detector, puts the face at the same place.
    import cv2

    gray = cv2.cvtColor(_photo("astronaut.png"), cv2.COLOR_RGB2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    (haar,) = cascade.detectMultiScale(gray, 1.1, 5)
    assert _iou(face.bbox, tuple(float(v) for v in haar)) >= 0.7


def test_one_face_in_a_portrait_none_on_a_cat_and_boxes_inside_the_image(detector):
    hopper, cat = _photo("grace_hopper.jpg"), _photo("chelsea.png")
    faces, no_faces = detector.predict([hopper, cat], score_threshold=0.5)
    assert len(faces) == 1 and no_faces == []
    x, y, w, h = faces[0].bbox
    height, width = hopper.shape[:2]
    # The face is in the upper middle of the portrait, about a third of its width.
    assert x >= 0 and y >= 0 and x + w <= width and y + h <= height
    assert width / 5 < w < width / 2 and x < width / 2 < x + w and y + h < height * 0.75
    # Gray images are accepted; a blank one has no face.
    assert detector.predict([np.zeros((64, 64), np.uint8)]) == [[]]
    with pytest.raises(ValueError):
        detector.predict([np.zeros((64, 64, 3), np.float32)])
