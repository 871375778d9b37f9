"""Workflows as data: the schema, the order rules, the defaults, and the engine's routes."""

import pytest

from workflows import Action, Route, Workflow, WorkflowError, parse
from workflows.engine import consensus_route, drawn_for_review, rejection_action, stage_name, submit_action

CROWD = {
    "version": 1,
    "stages": [
        {"kind": "annotate", "overlap": 3},
        {"kind": "consensus", "agreement_threshold": 0.7, "extra_labels": 2},
        {"kind": "review", "name": "disagreements", "rate": 0},
        {"kind": "accept"},
    ],
}


def test_the_three_workflows_of_the_issue_parse_with_defaults_filled_in():
    crowd = parse(CROWD)
    assert crowd.annotate.overlap == 3 and crowd.consensus.agreement_threshold == 0.7
    assert crowd.review.name == "disagreements" and crowd.review.rate == 0.0 and crowd.review.max_rounds == 3
    audit = parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "review", "rate": 0.1}, {"kind": "accept"}]})
    assert audit.review_rate == 0.1 and audit.consensus is None
    plain = parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "accept"}]})
    assert plain.review is None and plain.review_rate == 0.0 and plain.max_review_rounds == 0
    data = crowd.to_data()
    assert [s["kind"] for s in data["stages"]] == ["annotate", "consensus", "review", "accept"]
    assert data["stages"][0] == {"kind": "annotate", "name": "annotate", "roles": ["labeler", "manager", "admin"], "overlap": 3}
    assert data["stages"][1]["quorum"] == 0.5 and data["stages"][1]["method"] == "weighted"
    assert parse(data) == crowd  # what a manager sees is what runs


def test_the_default_is_annotate_review_accept():
    default = Workflow.default()
    assert [s.kind for s in default.stages] == ["annotate", "review", "accept"]
    assert default.review_rate == 1.0 and default.max_review_rounds == 3
    assert parse(default.to_data()) == default


@pytest.mark.parametrize(
    ("stages", "path", "message"),
    [
        ([{"kind": "review"}, {"kind": "annotate"}, {"kind": "accept"}], "stages/0", "the first stage must be annotate"),
        ([{"kind": "annotate"}, {"kind": "review"}], "stages/1", "the last stage must be accept"),
        ([{"kind": "annotate"}, {"kind": "review"}, {"kind": "consensus"}, {"kind": "accept"}], "stages/1", "in this order"),
        ([{"kind": "annotate"}, {"kind": "review"}, {"kind": "review", "name": "b"}, {"kind": "accept"}], "stages/2", "at most one"),
        ([{"kind": "annotate", "overlap": 3}, {"kind": "accept"}], "stages/0/overlap", "needs a consensus stage"),
        ([{"kind": "annotate"}, {"kind": "consensus"}, {"kind": "accept"}], "stages/1", "overlap of at least 2"),
        (
            [{"kind": "annotate", "overlap": 9}, {"kind": "consensus", "extra_labels": 2}, {"kind": "accept"}],
            "stages/1/extra_labels",
            "at most 10",
        ),
        ([{"kind": "annotate", "name": "x"}, {"kind": "accept", "name": "x"}], "stages/1/name", "used twice"),
        ([{"kind": "annotate", "overlap": 0}, {"kind": "accept"}], "stages/0/overlap", "less than the minimum"),
        ([{"kind": "annotate", "roles": ["reviewer"]}, {"kind": "accept"}], "stages/0/roles/0", "is not one of"),
        ([{"kind": "annotate"}, {"kind": "review", "rate": 1.5}, {"kind": "accept"}], "stages/1/rate", "maximum"),
        ([{"kind": "annotate", "colour": "red"}, {"kind": "accept"}], "stages/0", "colour"),
        ([{"kind": "vote"}, {"kind": "accept"}], "stages/0/kind", "is not one of"),
        (
            [
                {"kind": "annotate"},
                {"kind": "consensus", "method": "dawid_skene", "target_confidence": 0.9, "extra_labels": 0},
                {"kind": "accept"},
            ],
            "stages/1",
            "or a target_confidence and extra_labels to start from 1",
        ),
        (
            [{"kind": "annotate", "overlap": 2}, {"kind": "consensus", "target_confidence": 0.9}, {"kind": "accept"}],
            "stages/1/target_confidence",
            "needs the dawid_skene method",
        ),
        (
            [{"kind": "annotate", "overlap": 2}, {"kind": "consensus", "target_confidence": 1}, {"kind": "accept"}],
            "stages/1/target_confidence",
            "",
        ),
        ([{"kind": "annotate", "overlap": 2}, {"kind": "consensus", "best_share": 0}, {"kind": "accept"}], "stages/1/best_share", ""),
    ],
)
def test_bad_workflows_are_refused_with_the_path_of_the_problem(stages, path, message):
    with pytest.raises(WorkflowError) as info:
        parse({"version": 1, "stages": stages})
    assert path in info.value.errors, info.value.errors
    assert message in info.value.errors[path]
    assert path in str(info.value)


def test_not_a_workflow_at_all():
    with pytest.raises(WorkflowError) as info:
        parse([1, 2])
    assert "" in info.value.errors
    with pytest.raises(WorkflowError) as info:
        parse({"version": 2, "stages": [{"kind": "annotate"}, {"kind": "accept"}]})
    assert "version" in info.value.errors


def test_quorum_counts_round_up():
    stage = parse(CROWD).consensus
    assert [stage.quorum_count(n) for n in (1, 2, 3, 4, 5)] == [1, 1, 2, 2, 3]


def test_overlap_needs_a_consensus_stage_and_items_may_override_it():
    crowd = parse(CROWD)
    assert crowd.overlap_for(None) == 3 and crowd.overlap_for(5) == 5 and crowd.overlap_for(1) == 1
    assert Workflow.default().overlap_for(5) == 1


def test_roles_per_stage():
    strict = parse(
        {
            "version": 1,
            "stages": [{"kind": "annotate", "roles": ["labeler"]}, {"kind": "review", "roles": ["reviewer"]}, {"kind": "accept"}],
        }
    )
    assert strict.may_label("labeler") and not strict.may_label("manager")
    assert strict.may_review("reviewer") and not strict.may_review("manager") and not strict.may_review("labeler")
    assert not Workflow.default().replace(review=None).may_review("admin")


def test_nan_and_whole_floats():
    with pytest.raises(WorkflowError) as info:
        parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "review", "rate": float("nan")}, {"kind": "accept"}]})
    assert list(info.value.errors) == ["stages/1/rate"]
    with pytest.raises(WorkflowError):
        parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "review", "rate": float("inf")}, {"kind": "accept"}]})
    two = parse(
        {"version": 1, "stages": [{"kind": "annotate", "overlap": 2.0}, {"kind": "consensus", "extra_labels": 1.0}, {"kind": "accept"}]}
    )
    assert type(two.annotate.overlap) is int and two.annotate.overlap == 2 and type(two.consensus.extra_labels) is int


def test_submit_routes():
    audit = parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "review", "rate": 0.1}, {"kind": "accept"}]})
    assert submit_action(audit, sent_back_before=False, draw=0.05) == Action.SUBMIT
    assert submit_action(audit, sent_back_before=False, draw=0.1) == Action.AUTO_ACCEPT
    assert submit_action(audit, sent_back_before=True, draw=0.99) == Action.SUBMIT
    plain = parse({"version": 1, "stages": [{"kind": "annotate"}, {"kind": "accept"}]})
    assert submit_action(plain, sent_back_before=True, draw=0.0) == Action.AUTO_ACCEPT
    assert drawn_for_review(Workflow.default(), sent_back_before=False, draw=0.999)


ADAPTIVE = {
    "version": 1,
    "stages": [
        {"kind": "annotate"},
        {"kind": "consensus", "method": "dawid_skene", "target_confidence": 0.95, "extra_labels": 4, "best_share": 0.25},
        {"kind": "review", "rate": 0},
        {"kind": "accept"},
    ],
}


def test_adaptive_overlap_starts_from_one_answer_task():
    adaptive = parse(ADAPTIVE)
    assert adaptive.consensus.target_confidence == 0.95 and adaptive.consensus.best_share == 0.25
    assert parse(adaptive.to_data()) == adaptive
    assert adaptive.answer_tasks_for(None) == 1 and adaptive.answer_tasks_for(3) == 3
    crowd = parse(CROWD)  # no target posterior: one answer could never be agreed on
    assert crowd.answer_tasks_for(None) == 3 and crowd.answer_tasks_for(1) == 0
    assert Workflow.default().answer_tasks_for(None) == 0 and Workflow.default().answer_tasks_for(4) == 0
    assert crowd.consensus.target_confidence is None and crowd.consensus.best_share is None  # off by default


def test_adaptive_routes_by_the_tag_posterior_and_the_shapes_agreement():
    adaptive = parse(ADAPTIVE)  # target 0.95, overlap 1, 4 extra labels, agreement threshold 0.6
    # Tags only (no shapes): the posterior alone decides, from a single answer on.
    assert consensus_route(adaptive, agreement=0.0, answers=1, overlap=1, draw=0.0, tag_confidence=0.96) == Route.ACCEPT
    assert consensus_route(adaptive, agreement=1.0, answers=2, overlap=1, draw=0.0, tag_confidence=0.94) == Route.MORE_LABELS
    assert consensus_route(adaptive, agreement=1.0, answers=5, overlap=1, draw=0.0, tag_confidence=0.94) == Route.REVIEW
    # Shapes need two or more answers that agree, however sure the tags are.
    sure = {"draw": 0.0, "tag_confidence": 0.99, "overlap": 1, "agreement": 0.0}
    assert consensus_route(adaptive, answers=1, shape_agreement=1.0, **sure) == Route.MORE_LABELS
    assert consensus_route(adaptive, answers=2, shape_agreement=0.59, **sure) == Route.MORE_LABELS
    assert consensus_route(adaptive, answers=2, shape_agreement=0.6, **sure) == Route.ACCEPT
    with pytest.raises(ValueError, match="needs the item's tag_confidence"):
        consensus_route(adaptive, agreement=1.0, answers=2, overlap=1, draw=0.0)


def test_best_labelers_round_the_share_up_and_break_ties_by_id():
    from workflows.engine import best_labelers

    weights = {7: 0.9, 3: 0.6, 5: 0.9, 1: 0.2}
    assert best_labelers(weights, 0.25) == {5}  # 0.25 of 4 is one; 5 and 7 tie, the lower id wins
    assert best_labelers(weights, 0.3) == {5, 7}  # 1.2 rounds up to 2
    assert best_labelers(weights, 0.5) == {5, 7}
    assert best_labelers(weights, 1.0) == {1, 3, 5, 7}
    assert best_labelers({}, 0.5) == set()


def test_consensus_routes():
    crowd = parse(CROWD)  # threshold 0.7, overlap 3, 2 extra labels, review rate 0
    assert consensus_route(crowd, agreement=0.9, answers=3, overlap=3, draw=0.0) == Route.ACCEPT
    assert consensus_route(crowd, agreement=0.69, answers=3, overlap=3, draw=0.0) == Route.MORE_LABELS
    assert consensus_route(crowd, agreement=0.69, answers=4, overlap=3, draw=0.0) == Route.MORE_LABELS
    assert consensus_route(crowd, agreement=0.69, answers=5, overlap=3, draw=0.0) == Route.REVIEW
    audited = crowd.replace(review=crowd.review.__class__(rate=0.5))
    assert consensus_route(audited, agreement=1.0, answers=3, overlap=3, draw=0.4) == Route.REVIEW
    assert consensus_route(audited, agreement=1.0, answers=3, overlap=3, draw=0.6) == Route.ACCEPT
    with pytest.raises(ValueError, match="no consensus stage"):
        consensus_route(Workflow.default(), agreement=1.0, answers=1, overlap=1, draw=0.0)


def test_rejections_escalate_on_the_last_round():
    default = Workflow.default()  # three rounds
    assert [rejection_action(default, rejects_this_round=n) for n in range(4)] == [
        Action.REJECT,
        Action.REJECT,
        Action.ESCALATE,
        Action.ESCALATE,
    ]
    never = default.replace(review=default.review.__class__(max_rounds=0))
    assert rejection_action(never, rejects_this_round=10) == Action.REJECT


def test_stage_names_for_progress():
    crowd = parse(CROWD)
    assert [stage_name(crowd, s) for s in ("new", "in_progress", "rejected", "submitted", "escalated", "accepted")] == [
        "annotate", "annotate", "annotate", "disagreements", "disagreements", "accept",
    ]  # fmt: skip
