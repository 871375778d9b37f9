"""The consensus stage on whole documents, on cases worked out by hand."""

import pytest

from tests.helpers import box, document, tag
from workflows import ConsensusStage
from workflows.merge import merge_documents

STAGE = ConsensusStage(iou_threshold=0.5, quorum=0.5, agreement_threshold=0.6)


def test_two_close_boxes_merge_and_a_lone_box_is_dropped():
    answers = {
        1: document([box("person", 10, 10, 20, 20)]),
        2: document([box("person", 12, 10, 20, 20)]),
        3: document([box("person", 40, 20, 10, 10)]),
    }
    result = merge_documents(answers, STAGE)
    # Quorum: half of 3 labelers rounds up to 2. IoU(1, 2) = 18*20 / (400 + 400 - 360) = 9/11.
    (shape,) = result.document["shapes"]
    assert shape["bbox"] == [11.0, 10.0, 20.0, 20.0] and shape["label"] == "person"
    assert shape["source"] == {"type": "consensus", "score": round(2 / 3, 6), "labelers": 2}
    # Agreement: pairs (1,2) = 9/11, (1,3) = (2,3) = 0 -> mean 3/11.
    assert result.agreement == pytest.approx(3 / 11)
    assert result.labelers == 3 and result.note == ""


def test_weights_decide_the_label_and_the_mean():
    answers = {1: document([box("cat", 10, 10, 20, 20)]), 2: document([box("person", 12, 10, 20, 20)])}
    result = merge_documents(answers, STAGE, weights={1: 0.9, 2: 0.3})
    (shape,) = result.document["shapes"]
    # Weighted vote: cat 0.9 > person 0.3; weighted x = (0.9 * 10 + 0.3 * 12) / 1.2 = 10.5.
    assert shape["label"] == "cat" and shape["bbox"] == [10.5, 10.0, 20.0, 20.0]
    assert shape["source"]["score"] == 1.0  # both labelers' weight is in the cluster


def test_tags_by_quorum_and_their_agreement():
    answers = {
        1: document(tags=[tag("outdoor")]),
        2: document(tags=[tag("outdoor")]),
        3: document(tags=[tag("outdoor"), tag("night")]),
    }
    result = merge_documents(answers, STAGE)
    assert [(t["label"], t["source"]["score"], t["source"]["labelers"]) for t in result.document["tags"]] == [("outdoor", 1.0, 3)]
    # Tag sets: {o}, {o}, {o, n}: one pair of three agrees.
    assert result.agreement == pytest.approx(1 / 3)


def test_empty_answers_agree_and_one_answer_never_does():
    assert merge_documents({1: document(), 2: document()}, STAGE).agreement == 1.0
    single = merge_documents({1: document([box("person", 1, 1, 5, 5)])}, STAGE)
    assert single.agreement == 0.0 and len(single.document["shapes"]) == 1  # quorum of one labeler is one
    with pytest.raises(ValueError, match="no answers"):
        merge_documents({}, STAGE)


def test_shapes_without_a_merge_rule_come_from_the_most_trusted_labeler():
    line = {"id": "l1", "type": "polyline", "label": "person", "points": [0, 0, 5, 5], "source": {"type": "human"}, "author": "a"}
    other = {**line, "id": "l2", "points": [1, 1, 6, 6]}
    result = merge_documents({1: document([line]), 2: document([other])}, STAGE, weights={1: 0.4, 2: 0.8})
    (carried,) = result.document["shapes"]
    assert carried["points"] == [1, 1, 6, 6] and "author" not in carried
    assert carried["source"] == {"type": "consensus", "score": round(0.8 / 1.2, 6), "labelers": 1}
    assert "1 polyline shape(s) have no merge rule" in result.note


def test_the_merged_document_is_valid():
    import schemas

    answers = {
        1: document([box("person", 10, 10, 20, 20)], [tag("outdoor")]),
        2: document([box("person", 10, 11, 20, 20)], [tag("outdoor")]),
    }
    schemas.validate_annotation(merge_documents(answers, STAGE).document)


def test_a_tag_model_decides_the_tags_and_gives_their_scores():
    answers = {1: document([box("cat", 0, 0, 10, 10)], [tag("cat")]), 2: document([], [tag("dog")]), 3: document([], [tag("cat")])}
    # Dawid-Skene's posteriors replace the vote: "dog" is kept on one labeler's word, "bird"
    # (posterior 0.6 but nobody gave it) is not, and the score is the posterior.
    result = merge_documents(answers, ConsensusStage(), tag_posteriors={"cat": 0.3, "dog": 0.97, "bird": 0.6})
    assert [(t["label"], t["source"]) for t in result.document["tags"]] == [("dog", {"type": "consensus", "score": 0.97, "labelers": 1})]
    # Shapes are merged as before; their agreement is reported apart from the tags'.
    # One box among three labelers: the pairs with it disagree, the two empty answers agree: 1/3.
    assert result.shape_agreement == pytest.approx(1 / 3)
    tags_only = merge_documents({1: document([], [tag("cat")]), 2: document([], [tag("cat")])}, ConsensusStage())
    assert tags_only.shape_agreement is None and tags_only.agreement == 1.0
