"""A project's workflow as data: its stages, checked against ``schemas/workflow/v1.json``.

A workflow is a list of stages that every item passes through, in this order::

    annotate [-> consensus] [-> review] -> accept

* ``annotate`` (required, first): who may label (``roles``) and how many labelers answer each
  item independently (``overlap``; an item may override it).
* ``consensus`` (only right after ``annotate``, and required when ``overlap`` > 1): how the
  overlapping answers are merged, which items are agreed on, how many extra labels the others
  get and who is served them; see :class:`ConsensusStage`.
* ``review`` (optional, before ``accept``): who reviews, the share of items drawn for review
  (``rate``; an audit when below 1) and the rejection that escalates to a manager
  (``max_rounds``). With a consensus stage, items below the agreement threshold always go
  to review, whatever ``rate`` says ("review of disagreements" is ``rate: 0``).
* ``accept`` (required, last).

Examples: ``annotate -> review -> accept`` (the default), ``annotate (overlap 3) -> consensus
-> review (rate 0) -> accept``, ``annotate -> review (rate 0.1) -> accept``, and adaptive
overlap: ``annotate (overlap 1) -> consensus (dawid_skene, target_confidence 0.95, extra_labels
4, best_share 0.25) -> review (rate 0) -> accept`` (one label first, more only while the
posterior is below 0.95, the extra ones from the best-rated quarter of the labelers).

:func:`parse` checks a document against the JSON Schema, then the order rules above that JSON
Schema cannot say, and reports every problem at once by path (``stages/1/overlap``).
:meth:`Workflow.to_data` writes the document back with every default filled in, so what a
manager sees is what runs. :mod:`workflows.engine` decides the routes; :mod:`workflows.tasks`
holds the one transition table.

Exceptions::

    ValueError
     └── WorkflowError    a workflow document is invalid; ``.errors`` maps paths to messages
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from workflows.tasks import Role

__all__ = [
    "AcceptStage",
    "AnnotateStage",
    "ConsensusStage",
    "ReviewStage",
    "Workflow",
    "WorkflowError",
    "parse",
]

#: The most labelers one item may ask for, overlap and extra labels together.
MAX_OVERLAP = 10


class WorkflowError(ValueError):
    """A workflow document is invalid.

    Attributes:
        errors: ``{path: message}``, e.g. ``{"stages/1": "a consensus stage must follow ..."}``;
            the path is made of keys and list indices from the document root joined with ``/``.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(sorted(errors.items()))
        first = "; ".join(f"{path or 'workflow'}: {message}" for path, message in list(self.errors.items())[:3])
        super().__init__(f"invalid workflow: {first}")


@dataclass(frozen=True)
class AnnotateStage:
    """Labelers draw and tag.

    Attributes:
        name: shown to people.
        roles: the project roles that may label.
        overlap: how many different labelers answer each item (1 to 10).
    """

    name: str = "annotate"
    roles: tuple[str, ...] = (Role.LABELER, Role.MANAGER, Role.ADMIN)
    overlap: int = 1
    kind: str = field(default="annotate", init=False)


@dataclass(frozen=True)
class ConsensusStage:
    """Merge an item's overlapping answers into one (see :mod:`workflows.consensus`).

    Attributes:
        name: shown to people.
        method: ``majority`` (one vote per labeler), ``weighted`` (each labeler's vote weighs
            their gold accuracy; labelers without gold answers weigh the mean), or
            ``dawid_skene`` (each labeler weighs their accuracy as Dawid-Skene's EM estimates
            it from all their tag answers in the project, anchored by gold answers).
        iou_threshold: the least IoU (OKS for keypoints) for two labelers' shapes to be the
            same object.
        quorum: the share (0, 1] of the item's labelers that must have drawn an object for
            it to be kept (0.5 of 3 labelers: 2).
        agreement_threshold: items whose agreement (:func:`workflows.consensus.agreement`, the
            mean over pairs of labelers) is below this are not agreed on.
        extra_labels: how many more labelers (one at a time) an item that is not agreed on
            gets before it goes to review.
        target_confidence: adaptive overlap by posterior (``dawid_skene`` only), or None. When
            set, an item's tags are agreed on once Dawid-Skene's posterior of every one of
            its tag decisions ("has tag L" or "has not") reaches this, however many answers it
            has, so the annotate stage's overlap may be 1; shapes still need two or more
            answers that reach ``agreement_threshold``. Extra labels are asked one at a time
            until then.
        best_share: route extra labels to the best-rated labelers, or None (anyone, in queue
            order). The share (0, 1] of the project's rated labelers, best first by their
            weight in ``method`` (Dawid-Skene or gold accuracy), who are served extra labels
            first; the other labelers get one only when nothing else is left for them, so an
            item never waits for an absent labeler once the pool is empty.
    """

    name: str = "consensus"
    method: str = "weighted"
    iou_threshold: float = 0.5
    quorum: float = 0.5
    agreement_threshold: float = 0.6
    extra_labels: int = 2
    target_confidence: float | None = None
    best_share: float | None = None
    kind: str = field(default="consensus", init=False)

    def quorum_count(self, labelers: int) -> int:
        """Return the least number of labelers (>= 1) out of ``labelers`` that keep an object."""
        needed = self.quorum * labelers
        whole = int(needed)
        return max(1, whole if whole == needed else whole + 1)


@dataclass(frozen=True)
class ReviewStage:
    """Reviewers accept items or send them back.

    Attributes:
        name: shown to people.
        roles: the project roles that may review.
        rate: the share (0..1) of submitted items drawn for review; the rest are accepted by
            the system. Items sent back once are always reviewed again.
        max_rounds: the rejection that escalates an item to a manager (0: never).
    """

    name: str = "review"
    roles: tuple[str, ...] = (Role.REVIEWER, Role.MANAGER, Role.ADMIN)
    rate: float = 1.0
    max_rounds: int = 3
    kind: str = field(default="review", init=False)


@dataclass(frozen=True)
class AcceptStage:
    """The end: accepted items are what exports and training read."""

    name: str = "accept"
    kind: str = field(default="accept", init=False)


_STAGE_TYPES = {"annotate": AnnotateStage, "consensus": ConsensusStage, "review": ReviewStage, "accept": AcceptStage}
_ORDER = ("annotate", "consensus", "review", "accept")


@dataclass(frozen=True)
class Workflow:
    """A validated workflow; build it with :func:`parse` or :meth:`default`.

    Attributes:
        annotate: the annotate stage.
        consensus: the consensus stage, or None.
        review: the review stage, or None (everything submitted is accepted).
        accept: the accept stage.
    """

    annotate: AnnotateStage = field(default_factory=AnnotateStage)
    consensus: ConsensusStage | None = None
    review: ReviewStage | None = field(default_factory=ReviewStage)
    accept: AcceptStage = field(default_factory=AcceptStage)

    @classmethod
    def default(cls) -> Workflow:
        """Return ``annotate -> review (every item, 3 rounds) -> accept``."""
        return cls()

    @property
    def stages(self) -> list[AnnotateStage | ConsensusStage | ReviewStage | AcceptStage]:
        """The stages in order."""
        return [s for s in (self.annotate, self.consensus, self.review, self.accept) if s is not None]

    @property
    def review_rate(self) -> float:
        """The share of submits drawn for review (0 when there is no review stage)."""
        return self.review.rate if self.review else 0.0

    @property
    def max_review_rounds(self) -> int:
        """The rejection that escalates to a manager (0 = never, also without a review stage)."""
        return self.review.max_rounds if self.review else 0

    def answer_tasks_for(self, item_overlap: int | None) -> int:
        """Return how many answer tasks (replicas 1..N) an item whose own setting is ``item_overlap`` starts with.

        0 means the item is labeled on its own task, with no consensus: no consensus stage, or
        an overlap of 1 that the stage cannot conclude on (a single answer is only ever agreed
        on by ``target_confidence``).
        """
        overlap = self.overlap_for(item_overlap)
        if self.consensus is None or (overlap < 2 and self.consensus.target_confidence is None):
            return 0
        return overlap

    def overlap_for(self, item_overlap: int | None) -> int:
        """Return how many labelers answer an item whose own setting is ``item_overlap``.

        Without a consensus stage there is nothing to merge answers with, so it is always 1.
        """
        if self.consensus is None:
            return 1
        return item_overlap if item_overlap is not None else self.annotate.overlap

    def may_label(self, role: Role | str) -> bool:
        """Whether ``role`` may label (start, save, submit, skip) in this workflow."""
        return str(role) in self.annotate.roles

    def may_review(self, role: Role | str) -> bool:
        """Whether ``role`` may accept or reject submitted items (the review stage's ``roles``).

        Escalated items are not reviews: the transition table gives them to managers and
        admins whatever this says.
        """
        roles = self.review.roles if self.review else ()
        return str(role) in roles

    def to_data(self) -> dict[str, Any]:
        """Return the workflow document with every default written out (schema v1)."""
        stages = []
        for stage in self.stages:
            data = asdict(stage)
            data = {"kind": data.pop("kind"), **data}
            if "roles" in data:
                data["roles"] = [str(r) for r in data["roles"]]
            stages.append(data)
        return {"version": 1, "stages": stages}

    def replace(self, **changes: Any) -> Workflow:
        """Return a copy with some stages replaced (``None`` removes consensus or review), re-checked.

        Raises:
            WorkflowError: the result breaks a rule.
        """
        data = {"annotate": self.annotate, "consensus": self.consensus, "review": self.review, "accept": self.accept, **changes}
        workflow = Workflow(**data)
        return parse(workflow.to_data())


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("schemas").joinpath("workflow/v1.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def schema() -> dict[str, Any]:
    """Return the workflow JSON Schema (``schemas/workflow/v1.json``)."""
    return _validator().schema


def parse(data: Any) -> Workflow:
    """Check a workflow document and build the :class:`Workflow`.

    Args:
        data: the document, ``{"version": 1, "stages": [{"kind": "annotate", ...}, ...]}``;
            omitted stage fields take the defaults of the stage classes.

    Returns:
        The workflow.

    Raises:
        WorkflowError: every schema and order problem, by path.
    """
    errors = _non_finite(data)
    if errors:
        raise WorkflowError(errors)
    for error in _validator().iter_errors(data):
        path = "/".join(str(p) for p in error.absolute_path)
        errors.setdefault(path, error.message)
    if errors:
        raise WorkflowError(errors)
    stages = data["stages"]
    kinds = [stage["kind"] for stage in stages]
    for i, kind in enumerate(kinds):
        if kinds.count(kind) > 1 and kinds.index(kind) != i:
            errors[f"stages/{i}"] = f"a workflow has at most one {kind} stage"
    if not errors:
        if kinds[0] != "annotate":
            errors["stages/0"] = "the first stage must be annotate"
        if kinds[-1] != "accept":
            errors[f"stages/{len(kinds) - 1}"] = "the last stage must be accept"
        expected = [k for k in _ORDER if k in kinds]
        if not errors and kinds != expected:
            wrong = next(i for i, (a, b) in enumerate(zip(kinds, expected, strict=True)) if a != b)
            errors[f"stages/{wrong}"] = "stages go in this order: annotate, consensus, review, accept"
    names = [stage.get("name", stage["kind"]) for stage in stages]
    for i, name in enumerate(names):
        if names.index(name) != i:
            errors[f"stages/{i}/name"] = f"the name {name!r} is used twice"
    if errors:
        raise WorkflowError(errors)
    built = {stage["kind"]: _STAGE_TYPES[stage["kind"]](**_fields(stage)) for stage in stages}
    annotate, consensus = built["annotate"], built.get("consensus")
    position = {kind: i for i, kind in enumerate(kinds)}
    if annotate.overlap > 1 and consensus is None:
        errors[f"stages/{position['annotate']}/overlap"] = "an overlap above 1 needs a consensus stage to merge the answers"
    if consensus is not None and annotate.overlap < 2 and (consensus.target_confidence is None or consensus.extra_labels < 1):
        errors[f"stages/{position['consensus']}"] = (
            "a consensus stage needs an overlap of at least 2 in the annotate stage, "
            "or a target_confidence and extra_labels to start from 1"
        )
    if consensus is not None and consensus.target_confidence is not None and consensus.method != "dawid_skene":
        errors[f"stages/{position['consensus']}/target_confidence"] = (
            "target_confidence needs the dawid_skene method: only it gives a posterior"
        )
    if consensus is not None and annotate.overlap + consensus.extra_labels > MAX_OVERLAP:
        errors[f"stages/{position['consensus']}/extra_labels"] = f"overlap plus extra labels may be at most {MAX_OVERLAP}"
    if errors:
        raise WorkflowError(errors)
    return Workflow(annotate=annotate, consensus=consensus, review=built.get("review"), accept=built["accept"])


def _fields(stage: dict[str, Any]) -> dict[str, Any]:
    values = {key: value for key, value in stage.items() if key != "kind"}
    if "roles" in values:
        values["roles"] = tuple(values["roles"])
    for key in ("iou_threshold", "quorum", "agreement_threshold", "rate", "target_confidence", "best_share"):
        if values.get(key) is not None:
            values[key] = float(values[key])
    for key in ("overlap", "extra_labels", "max_rounds"):
        if key in values:
            values[key] = int(values[key])  # JSON Schema counts 2.0 as an integer
    return values


def _non_finite(data: Any, path: str = "") -> dict[str, str]:
    """Paths of NaN and infinite numbers (Python's JSON reader accepts ``NaN``; JSON has none)."""
    if isinstance(data, float) and not math.isfinite(data):
        return {path: f"{data} is not a number JSON allows"}
    found: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            found |= _non_finite(value, f"{path}/{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found |= _non_finite(value, f"{path}/{i}" if path else str(i))
    return found
