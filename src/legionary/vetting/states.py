"""The vetting case's state machine: every state, every allowed transition, in one table.

Responsible for saying which transition is allowed from which state and what the person's status
becomes. The service functions in ``vetting.services`` are the only callers; they check the
actor, lock the case and write the audit entry. Must never change the database itself, so that
the whole machine can be read (and tested) here at a glance.
"""

from __future__ import annotations

from enum import StrEnum

from legionary.identity.models import PersonStatus
from legionary.vetting.models import CaseState


class Transition(StrEnum):
    START = "start"  # vetting begins: the legion's checks are created
    SUBMIT = "submit"  # every check has a result: the case goes to the adjudicators
    REOPEN = "reopen"  # a check was added while waiting for a decision (a screening hit, a deferral)
    APPROVE = "approve"
    DENY = "deny"
    DEFER = "defer"  # the adjudicators ask for more: back to checks
    ESCALATE = "escalate"  # the two adjudicators disagree
    APPEAL = "appeal"  # a denied applicant appeals: a new pair decides


# States in which adjudicators may vote (a senior adjudicator only in ESCALATED).
DECIDABLE = frozenset({CaseState.AWAITING_DECISION, CaseState.APPEALED, CaseState.ESCALATED})
CLOSED = frozenset({CaseState.APPROVED, CaseState.DENIED})

TRANSITIONS: dict[tuple[CaseState, Transition], CaseState] = {
    (CaseState.RECEIVED, Transition.START): CaseState.IN_REVIEW,
    (CaseState.IN_REVIEW, Transition.SUBMIT): CaseState.AWAITING_DECISION,
    (CaseState.AWAITING_DECISION, Transition.REOPEN): CaseState.IN_REVIEW,
    (CaseState.APPEALED, Transition.REOPEN): CaseState.IN_REVIEW,
    (CaseState.DEFERRED, Transition.REOPEN): CaseState.IN_REVIEW,
    (CaseState.ESCALATED, Transition.REOPEN): CaseState.IN_REVIEW,
    **{
        (state, outcome): target
        for state in DECIDABLE
        for outcome, target in (
            (Transition.APPROVE, CaseState.APPROVED),
            (Transition.DENY, CaseState.DENIED),
            (Transition.DEFER, CaseState.DEFERRED),
        )
    },
    (CaseState.AWAITING_DECISION, Transition.ESCALATE): CaseState.ESCALATED,
    (CaseState.APPEALED, Transition.ESCALATE): CaseState.ESCALATED,
    (CaseState.DENIED, Transition.APPEAL): CaseState.APPEALED,
}

# What the person's status becomes on entering a case state (others leave it unchanged).
PERSON_STATUS: dict[CaseState, PersonStatus] = {
    CaseState.IN_REVIEW: PersonStatus.IN_VETTING,
    CaseState.APPROVED: PersonStatus.APPROVED,
    CaseState.DENIED: PersonStatus.DENIED,
    CaseState.APPEALED: PersonStatus.IN_VETTING,
}


class VettingError(Exception):
    """A vetting action was refused; the message is a sentence for the person who asked."""


class TransitionRefused(VettingError):
    """The case is not in a state that allows this step; the message says what state it is in."""


def next_state(current: str, transition: Transition) -> CaseState:
    """The state ``transition`` leads to from ``current``; ``TransitionRefused`` if it is not allowed."""
    try:
        return TRANSITIONS[(CaseState(current), transition)]
    except (KeyError, ValueError):
        label = CaseState(current).label if current in CaseState.values else current
        raise TransitionRefused(f"This case is {str(label).lower()}; it cannot be moved by '{transition}'.") from None


def allowed_from(current: str) -> list[Transition]:
    """Transitions allowed from ``current``, in declaration order (for pages that offer actions)."""
    return [t for (state, t) in TRANSITIONS if state == current]
