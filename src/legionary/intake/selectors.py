"""Reads for the intake queue: new cases by call sign and pseudonymous id, keyset-paginated.

Never returns or joins anything sealed; a page is ordered by (created_at, id) descending and the
next page starts after the last row's key, so deep pages cost the same as the first (no OFFSET).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.vetting.models import Case, CaseState

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    next_after: str | None


def _legions_for(staff: Any, perm: Perm) -> set[str] | None:
    """Legions ``staff`` holds ``perm`` for; None means every legion (a system-wide grant)."""
    legions: set[str] = set()
    for role, kind, ref in RoleGrant.objects.filter(staff=staff).values_list("role", "scope_kind", "scope_ref"):
        if perm not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if kind == ScopeKind.SYSTEM:
            return None
        if kind == ScopeKind.LEGION:
            legions.add(ref)
    return legions


def _cursor(case: Case) -> str:
    # Microseconds since the epoch: exact, and safe in a query string (an ISO "+00:00" is not).
    delta = case.created_at - EPOCH
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}_{case.pk}"


def _parse_cursor(raw: str) -> tuple[datetime, int] | None:
    micros, _sep, pk = raw.partition("_")
    try:
        return EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def intake_queue(*, staff: Any, after: str | None = None, page_size: int = PAGE_SIZE) -> QueuePage:
    """New (received) cases the staff member may see, newest first, with their screening flags."""
    query: QuerySet[Case] = (
        Case.objects.filter(state=CaseState.RECEIVED)
        .select_related("person", "assigned_to")
        .prefetch_related("flags")
        .order_by("-created_at", "-pk")
    )
    legions = _legions_for(staff, Perm.VIEW_INTAKE_QUEUE)
    if legions is not None:
        query = query.filter(legion__in=sorted(legions))
    key = _parse_cursor(after) if after else None
    if key is not None:
        moment, pk = key
        query = query.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    rows = list(query[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return QueuePage(cases=rows, next_after=_cursor(rows[-1]) if more and rows else None)


def investigators() -> list[Staff]:
    """Active staff holding the investigator role (the choices for an assignment)."""
    return list(Staff.objects.filter(is_active=True, grants__role=Role.INVESTIGATOR).distinct().order_by("username"))
