"""The transition table, checked for every (state, action, role) triple."""

import itertools
import subprocess
import sys

import pytest

from workflows import TRANSITIONS, Action, Role, TaskState, TransitionError, allowed_actions, next_state

S, A, R = TaskState, Action, Role
LABELING = {R.LABELER, R.MANAGER, R.ADMIN}
REVIEWING = {R.REVIEWER, R.MANAGER, R.ADMIN}

# The expected table, written out by hand: (state, action) -> (roles allowed, new state).
EXPECTED = {
    (S.NEW, A.START): (LABELING, S.IN_PROGRESS),
    (S.REJECTED, A.START): (LABELING, S.IN_PROGRESS),
    (S.IN_PROGRESS, A.START): (LABELING, S.IN_PROGRESS),
    (S.IN_PROGRESS, A.SAVE): (LABELING, S.IN_PROGRESS),
    (S.IN_PROGRESS, A.SUBMIT): (LABELING, S.SUBMITTED),
    (S.SUBMITTED, A.ACCEPT): (REVIEWING, S.ACCEPTED),
    (S.SUBMITTED, A.REJECT): (REVIEWING, S.REJECTED),
    (S.ACCEPTED, A.REOPEN): ({R.MANAGER, R.ADMIN}, S.REJECTED),
    (S.IN_PROGRESS, A.SKIP): (LABELING, S.NEW),
    (S.IN_PROGRESS, A.EXPIRE): ({R.ADMIN}, S.NEW),  # the system, acting as admin
    (S.IN_PROGRESS, A.AUTO_ACCEPT): ({R.ADMIN}, S.ACCEPTED),  # the system: not drawn for review
    (S.SUBMITTED, A.ESCALATE): (REVIEWING, S.ESCALATED),
    (S.ESCALATED, A.ACCEPT): ({R.MANAGER, R.ADMIN}, S.ACCEPTED),
    (S.ESCALATED, A.REOPEN): ({R.MANAGER, R.ADMIN}, S.REJECTED),
    (S.SUBMITTED, A.MERGE): ({R.ADMIN}, S.MERGED),  # the system: an answer went into consensus
    (S.NEW, A.MERGE): ({R.ADMIN}, S.SUBMITTED),  # the system: a merged result goes to review
    (S.NEW, A.AUTO_ACCEPT): ({R.ADMIN}, S.ACCEPTED),  # the system: a merged result agreed on
}


@pytest.mark.parametrize(("state", "action", "role"), list(itertools.product(S, A, R)))
def test_every_triple(state, action, role):
    roles, new = EXPECTED.get((state, action), (set(), None))
    if role in roles:
        assert next_state(state, action, role) == new
    else:
        with pytest.raises(TransitionError) as info:
            next_state(state, action, role)
        assert info.value.state == state and info.value.role == role


def test_table_has_no_rows_beyond_the_expected_ones():
    assert len(TRANSITIONS) == sum(len(roles) for roles, _ in EXPECTED.values()) == 38


def test_allowed_actions_and_messages():
    assert allowed_actions("submitted", "reviewer") == [A.ACCEPT, A.REJECT, A.ESCALATE]
    assert allowed_actions("submitted", "labeler") == []
    assert allowed_actions("escalated", "manager") == [A.ACCEPT, A.REOPEN]
    assert allowed_actions("escalated", "reviewer") == allowed_actions("escalated", "labeler") == []
    assert allowed_actions("in_progress", "labeler") == [A.START, A.SAVE, A.SUBMIT, A.SKIP]
    with pytest.raises(TransitionError, match="a labeler cannot accept a task that is submitted"):
        next_state("submitted", "accept", "labeler")
    with pytest.raises(ValueError):
        next_state("finished", "accept", "labeler")


def test_workflows_imports_neither_flask_nor_the_database():
    code = "import sys, workflows; print(sorted(m for m in ('flask', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
