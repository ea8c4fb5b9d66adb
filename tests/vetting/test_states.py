"""The state machine table: what each transition leads to, and what it refuses."""

from __future__ import annotations

import pytest

from legionary.identity.models import PersonStatus
from legionary.vetting.models import CaseState
from legionary.vetting.states import PERSON_STATUS, Transition, TransitionRefused, allowed_from, next_state


def test_the_happy_path_runs_from_received_to_approved() -> None:
    state = next_state(CaseState.RECEIVED, Transition.START)
    state = next_state(state, Transition.SUBMIT)
    assert next_state(state, Transition.APPROVE) == CaseState.APPROVED


def test_a_closed_case_cannot_be_decided_again() -> None:
    for closed in (CaseState.APPROVED, CaseState.DENIED):
        for outcome in (Transition.APPROVE, Transition.DENY, Transition.DEFER):
            with pytest.raises(TransitionRefused):
                next_state(closed, outcome)


def test_only_a_denied_case_can_be_appealed() -> None:
    assert next_state(CaseState.DENIED, Transition.APPEAL) == CaseState.APPEALED
    assert Transition.APPEAL not in allowed_from(CaseState.APPROVED)


def test_a_received_case_cannot_skip_vetting() -> None:
    assert allowed_from(CaseState.RECEIVED) == [Transition.START]


def test_person_status_follows_the_case() -> None:
    assert PERSON_STATUS[CaseState.IN_REVIEW] == PersonStatus.IN_VETTING
    assert PERSON_STATUS[CaseState.APPROVED] == PersonStatus.APPROVED
    assert PERSON_STATUS[CaseState.DENIED] == PersonStatus.DENIED
