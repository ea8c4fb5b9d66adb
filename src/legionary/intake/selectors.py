"""Reads for the intake queue: new cases by call sign and pseudonymous id, keyset-paginated.

Never returns or joins anything sealed; a page is ordered by (created_at, id) descending, a keyset
page of ``legionary.pagination``, so deep pages cost the same as the first (no OFFSET).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.pagination import KeysetPage, keyset_page
from legionary.vetting.models import Case, CaseState

PAGE_SIZE = 50


QUEUE_ORDER = ("-created_at", "-id")


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


def intake_queue(
    *,
    staff: Any,
    after: str | None = None,
    before: str | None = None,
    page_size: int = PAGE_SIZE,
    legion: str = "",
    flagged: bool = False,
) -> KeysetPage[Case]:
    """New (received) cases the staff member may see, newest first, with their screening flags.

    One keyset page (``BadCursor`` if a cursor is not ours); ``legion`` and ``flagged`` (a possible
    match only) narrow the viewer's legions, never widen them.
    """
    query: QuerySet[Case] = (
        Case.objects.filter(state=CaseState.RECEIVED).select_related("person", "assigned_to").prefetch_related("flags")
    )
    legions = _legions_for(staff, Perm.VIEW_INTAKE_QUEUE)
    if legions is not None:
        query = query.filter(legion__in=sorted(legions))
    if legion:
        query = query.filter(legion=legion)
    if flagged:
        query = query.filter(flagged=True)
    return keyset_page(query, QUEUE_ORDER, after=after, before=before, limit=page_size)


def investigators() -> list[Staff]:
    """Active staff holding the investigator role (the choices for an assignment)."""
    return list(Staff.objects.filter(is_active=True, grants__role=Role.INVESTIGATOR).distinct().order_by("username"))
