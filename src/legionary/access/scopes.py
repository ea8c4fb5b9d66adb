"""Need-to-know: which people and which units a staff member may see, as querysets.

Responsible for the one rule every list, search, count, export, page and API endpoint about people
or units narrows through. A grant gives a role in a scope; a person is visible through a grant
when the role carries the permission asked for, the person lies in the grant's scope, and the
role's own narrowing lets him through:

==========  =====================================================================================
scope       people it covers
==========  =====================================================================================
system      everyone
legion      that legion's people
unit        people whose latest assignment is in that unit or anywhere below it (path prefix)
cohort      people enrolled in that cohort
case        that case's person
==========  =====================================================================================

Role narrowing, inside the scope: a unit commander sees only people with an assignment, an
instructor only people enrolled in a cohort, an investigator or polygraph examiner only the people
of cases (or checks) assigned to him, a counter-intelligence officer only people of flagged cases.
Every other role sees its whole scope.

Out-of-scope objects are answered with 404 (``get_in_scope_or_404``), never 403, so a refusal
leaks nothing about what exists. Must never widen a grant, read a sealed identity, or write.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404

from legionary.access.models import RoleGrant
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.identity.models import Person, PersonStatus
from legionary.training.models import Enrolment
from legionary.units.models import Assignment, Unit
from legionary.vetting.models import Case, Check

M = TypeVar("M", bound=Model)

_NOBODY = Q(pk__in=[])
# Everything; an empty Q() would vanish when OR-ed with others.
_EVERYONE = Q(pk__isnull=False)


def _grants(staff: Any, perm: Perm | None) -> list[tuple[str, str, str]]:
    """The staff member's (role, scope kind, scope ref) whose role carries ``perm`` (any role if None)."""
    if staff is None or not getattr(staff, "is_authenticated", False) or not staff.is_active:
        return []
    rows = RoleGrant.objects.filter(staff=staff).values_list("role", "scope_kind", "scope_ref")
    return [(r, k, ref) for r, k, ref in rows if perm is None or perm in ROLE_PERMISSIONS.get(r, frozenset())]


def _unit_path(ref: str) -> str | None:
    if not ref.isdigit():
        return None
    return Unit.objects.filter(pk=int(ref)).values_list("path", flat=True).first()


def _assigned_within(path: str) -> Q:
    return Q(Exists(Assignment.objects.filter(person=OuterRef("pk"), is_latest=True, billet__unit__path__within=path)))


def _people_in_scope(kind: str, ref: str) -> Q:
    if kind == ScopeKind.SYSTEM:
        return _EVERYONE
    if kind == ScopeKind.LEGION:
        return Q(legion=ref)
    if kind == ScopeKind.UNIT:
        path = _unit_path(ref)
        return _NOBODY if path is None else _assigned_within(path)
    if kind == ScopeKind.COHORT and ref.isdigit():
        return Q(Exists(Enrolment.objects.filter(person=OuterRef("pk"), cohort_id=int(ref))))
    if kind == ScopeKind.CASE and ref.isdigit():
        return Q(Exists(Case.objects.filter(person=OuterRef("pk"), pk=int(ref))))
    return _NOBODY


def _role_narrowing(role: str, staff: Any) -> Q:
    if role == Role.UNIT_COMMANDER:
        return Q(Exists(Assignment.objects.filter(person=OuterRef("pk"), is_latest=True)))
    if role == Role.INSTRUCTOR:
        return Q(Exists(Enrolment.objects.filter(person=OuterRef("pk"))))
    if role in (Role.INVESTIGATOR, Role.POLYGRAPH_EXAMINER):
        return Q(Exists(Case.objects.filter(person=OuterRef("pk"), assigned_to=staff))) | Q(
            Exists(Check.objects.filter(case__person=OuterRef("pk")).filter(Q(assigned_to=staff) | Q(examiner=staff)))
        )
    if role == Role.CI_OFFICER:
        return Q(Exists(Case.objects.filter(person=OuterRef("pk"), flagged=True)))
    return _EVERYONE


def people_visible_to(staff: Any, *, perm: Perm | None = None) -> QuerySet[Person]:
    """Every person ``staff`` may see (through a role carrying ``perm``, or any role if None)."""
    seen = _NOBODY
    for role, kind, ref in _grants(staff, perm):
        seen |= _people_in_scope(kind, ref) & _role_narrowing(role, staff)
    if seen is _NOBODY:
        return Person.objects.none()
    return Person.objects.filter(seen)


def units_visible_to(staff: Any, *, perm: Perm = Perm.VIEW_UNITS) -> QuerySet[Unit]:
    """Every unit ``staff`` holds ``perm`` for: all, a legion's, or a unit's subtree."""
    seen = _NOBODY
    for _role, kind, ref in _grants(staff, perm):
        if kind == ScopeKind.SYSTEM:
            return Unit.objects.all()
        if kind == ScopeKind.LEGION:
            seen |= Q(legion=ref)
        elif kind == ScopeKind.UNIT:
            path = _unit_path(ref)
            if path is not None:
                seen |= Q(path__within=path)
    if seen is _NOBODY:
        return Unit.objects.none()
    return Unit.objects.filter(seen)


def people_awaiting_assignment(staff: Any) -> QuerySet[Person]:
    """Trained people not yet assigned, of the legions of the units ``staff`` may assign billets in.

    A commander fills his own vacant billets from them, so he sees them (by call sign) before they
    are his: the trained people of his units' legions, never anyone of another legion.
    """
    legions: set[str] = set()
    for _role, kind, ref in _grants(staff, Perm.ASSIGN_BILLETS):
        if kind == ScopeKind.SYSTEM:
            return Person.objects.filter(status=PersonStatus.TRAINED)
        if kind == ScopeKind.LEGION:
            legions.add(ref)
        elif kind == ScopeKind.UNIT and ref.isdigit():
            legions.update(Unit.objects.filter(pk=int(ref)).values_list("legion", flat=True))
    if not legions:
        return Person.objects.none()
    return Person.objects.filter(status=PersonStatus.TRAINED, legion__in=sorted(legions))


def person_in_scope(staff: Any, person: Person, *, perm: Perm) -> bool:
    """Whether ``staff`` may act on ``person`` through a role carrying ``perm``."""
    return people_visible_to(staff, perm=perm).filter(pk=person.pk).exists()


def get_in_scope_or_404(queryset: QuerySet[M], **lookup: Any) -> M:
    """The one object of an already scoped queryset matching ``lookup``, else 404 (as if it did not exist)."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404
    return found
