"""Reads of vetting data, filtered by who is asking (need-to-know).

Responsible for which cases a staff member may see and for the queues and history shown to him:
intake officers and adjudicators see their legions' cases; counter-intelligence officers flagged
cases and those with a counter-intelligence review; investigators and polygraph examiners only the
cases assigned to them. Must never return a case outside the viewer's scope (callers answer 404),
never read a sealed value, and never write.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from legionary.access.models import RoleGrant
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.audit.models import Entry
from legionary.vetting.models import Case, CaseState, Check, Decision
from legionary.vetting.states import VettingError

# Roles that see every case of the legions their grant covers.
WHOLE_LEGION_ROLES = frozenset({Role.INTAKE_OFFICER, Role.ADJUDICATOR, Role.SENIOR_ADJUDICATOR})


class NotInScope(VettingError):
    """No such case for this viewer (answered as 404, so nothing leaks about what exists)."""


def _where(kind: str, ref: str) -> Q | None:
    if kind == ScopeKind.SYSTEM:
        return Q(pk__isnull=False)  # everything; an empty Q() would vanish when OR-ed
    if kind == ScopeKind.LEGION:
        return Q(legion=ref)
    if kind == ScopeKind.CASE and ref.isdigit():
        return Q(pk=int(ref))
    return None  # unit and cohort scopes cover no vetting case


def visible_cases(staff: Any) -> QuerySet[Case]:
    """Every case ``staff`` may see, by the rules in the module docstring."""
    if staff is None or not staff.is_active:
        return Case.objects.none()
    seen = Q(pk__in=[])
    for role, kind, ref in RoleGrant.objects.filter(staff=staff).values_list("role", "scope_kind", "scope_ref"):
        if Perm.VIEW_CASES not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        where = _where(kind, ref)
        if where is None:
            continue
        if role in WHOLE_LEGION_ROLES:
            seen |= where
        elif role == Role.CI_OFFICER:
            seen |= where & (Q(flagged=True) | Q(checks__check_type__is_ci_review=True))
        else:
            seen |= where & (Q(assigned_to=staff) | Q(checks__assigned_to=staff) | Q(checks__examiner=staff))
    return Case.objects.filter(pk__in=Case.objects.filter(seen).values("pk"))


def case_get(*, staff: Any, case_id: int) -> Case:
    """The case if ``staff`` may see it, else ``NotInScope``."""
    case = visible_cases(staff).select_related("person", "assigned_to").filter(pk=case_id).first()
    if case is None:
        raise NotInScope("There is no such case.")
    return case


def case_checks(case: Case) -> list[Check]:
    return list(case.checks.select_related("check_type", "assigned_to", "completed_by", "examiner", "screening_entry"))


def case_decisions(case: Case) -> list[Decision]:
    return list(case.decisions.select_related("adjudicator"))


@dataclass(frozen=True)
class HistoryItem:
    at: datetime.datetime
    actor: str
    action: str
    details: dict[str, Any]


# Details shown on the case page; others (an unseal's reason, for instance) stay in the audit log.
_SHOWN_DETAILS = ("case", "check", "type", "result", "outcome", "seat", "round", "state", "assignee", "guideline")


def case_history(case: Case) -> list[HistoryItem]:
    """The audit entries about the case's person, oldest first, by pseudonymous id only."""
    items = []
    for entry in Entry.objects.filter(subject=case.person_id).order_by("index"):
        body = json.loads(bytes(entry.body))
        details = {k: v for k, v in body.get("details", {}).items() if k in _SHOWN_DETAILS}
        items.append(HistoryItem(at=entry.created_at, actor=entry.actor, action=entry.action, details=details))
    return items


@dataclass(frozen=True)
class Queue:
    my_checks: list[Check]
    to_start: list[Case]
    to_decide: list[Case]
    escalated: list[Case]
    flagged: list[Case]


def work_queue(*, staff: Any, perms: frozenset[Perm]) -> Queue:
    """What ``staff`` has to do now: his open checks, cases to start, to decide, flagged cases."""
    cases = visible_cases(staff).select_related("person")
    my_checks = list(
        Check.objects.filter(case__in=cases, assigned_to=staff, result="")
        .select_related("case__person", "check_type")
        .order_by("due_on", "id")
    )
    to_start = (
        list(cases.filter(state=CaseState.RECEIVED).order_by("created_at")) if Perm.ASSIGN_CHECKS in perms else []
    )
    to_decide: list[Case] = []
    escalated: list[Case] = []
    if Perm.ADJUDICATE in perms:
        # A vote already cast this round takes the case off the adjudicator's queue.
        voted = Decision.objects.filter(adjudicator=staff).values_list("case_id", "round")
        done = set(voted)
        waiting = cases.filter(state__in=[CaseState.AWAITING_DECISION, CaseState.APPEALED]).order_by("updated_at")
        to_decide = [c for c in waiting if (c.pk, c.decision_round) not in done]
    if Perm.ADJUDICATE_SENIOR in perms:
        escalated = list(cases.filter(state=CaseState.ESCALATED).order_by("updated_at"))
    flagged: list[Case] = []
    if RoleGrant.objects.filter(staff=staff, role=Role.CI_OFFICER).exists():
        flagged = list(cases.filter(flagged=True).exclude(state__in=[CaseState.APPROVED, CaseState.DENIED]))
    return Queue(my_checks=my_checks, to_start=to_start, to_decide=to_decide, escalated=escalated, flagged=flagged)


def is_overdue(check: Check, today: datetime.date) -> bool:
    return not check.result and check.due_on < today
