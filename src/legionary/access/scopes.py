"""Need-to-know: which people, cases, checks and units a staff member may see, as querysets.

Responsible for the one rule per role and object kind that every list, page, search, count,
export, unsealing and API endpoint narrows through. A grant gives a role in a scope; an object is
visible through a grant when the role carries the permission asked for, the object lies in the
grant's scope, and the role's own narrowing (``NARROWING``) lets it through:

==========  =====================================================================================
scope       people it covers                                      cases it covers
==========  =====================================================================================
system      everyone                                              every case
legion      that legion's people                                  that legion's cases
unit        people whose latest assignment is in that unit or     none
            anywhere below it (path prefix)
cohort      people enrolled in that cohort                        none
case        that case's person                                    that case
==========  =====================================================================================

Role narrowing, inside the scope, is written once in ``NARROWING``: a unit commander sees only
people with an assignment, an instructor only people enrolled in a cohort, an investigator or
polygraph examiner only the cases assigned to him or holding a check assigned to or examined by him
(and their people), a counter-intelligence officer only flagged cases and cases with a
counter-intelligence review assigned to him (and their people). Every other role sees its whole
scope. Checks are visible with their case. ``legionary.access.matrix`` describes the same table
from ``NARROWING`` for ``docs/access-matrix.md``.

Out-of-scope objects are answered with 404 (``get_in_scope_or_404``), never 403, so a refusal
leaks nothing about what exists. Must never widen a grant, read a sealed identity, or write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404

from legionary.access.memo import remembered
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


def grant_rows(staff: Any) -> list[tuple[str, str, str]]:
    """Every (role, scope kind, scope ref) the staff member holds: one query, or none inside
    ``memo.remembering()`` once read (My work asks it of every section)."""
    if staff is None or not getattr(staff, "is_authenticated", False) or not staff.is_active:
        return []
    return remembered(
        ("grants", staff.pk),
        lambda: list(RoleGrant.objects.filter(staff=staff).values_list("role", "scope_kind", "scope_ref")),
    )


def roles_of(staff: Any) -> set[str]:
    """The role codes the staff member holds (``grant_rows``: no query of its own)."""
    return {role for role, _kind, _ref in grant_rows(staff)}


def _grants(staff: Any, perm: Perm | None) -> list[tuple[str, str, str]]:
    """The staff member's (role, scope kind, scope ref) whose role carries ``perm`` (any role if None)."""
    return [
        (r, k, ref) for r, k, ref in grant_rows(staff) if perm is None or perm in ROLE_PERMISSIONS.get(r, frozenset())
    ]


def unit_path(ref: str) -> str | None:
    """The tree path of the unit a grant's scope ref names (None for a ref that names none)."""
    if not ref.isdigit():
        return None
    return remembered(
        ("unit-path", ref), lambda: Unit.objects.filter(pk=int(ref)).values_list("path", flat=True).first()
    )


_unit_path = unit_path


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


def _cases_assigned(staff: Any) -> Q:
    """Cases assigned to ``staff`` or holding a check assigned to or examined by him (over Case)."""
    mine = Check.objects.filter(Q(assigned_to=staff) | Q(examiner=staff)).values("case_id")
    # A semi-join on the assignee's index, not a walk over every case of the scope.
    return Q(assigned_to=staff) | Q(pk__in=mine)


def _cases_for_counter_intelligence(staff: Any) -> Q:
    """Flagged cases, cases with a possible-tier pair to review, and cases with a counter-intelligence
    review assigned to ``staff`` (over Case)."""
    reviews = Check.objects.filter(check_type__is_ci_review=True, assigned_to=staff).values("case_id")
    return Q(flagged=True) | Q(possible__in=("open", "concluded")) | Q(pk__in=reviews)


def _cases_assigned_per_row(staff: Any) -> Q:
    """``_cases_assigned`` tested case by case on the checks' case index (for a few candidate cases)."""
    mine = Check.objects.filter(case_id=OuterRef("pk")).filter(Q(assigned_to=staff) | Q(examiner=staff))
    return Q(assigned_to=staff) | Q(Exists(mine))


def _counter_intelligence_per_row(staff: Any) -> Q:
    """``_cases_for_counter_intelligence`` tested case by case."""
    review = Check.objects.filter(case_id=OuterRef("pk"), check_type__is_ci_review=True, assigned_to=staff)
    return Q(flagged=True) | Q(possible__in=("open", "concluded")) | Q(Exists(review))


def _held_by_assignment(staff: Any) -> Q:
    """A check assigned to ``staff`` is itself what puts its case in his narrowing (over Check)."""
    return _EVERYONE


def _held_for_counter_intelligence(staff: Any) -> Q:
    """``_cases_for_counter_intelligence`` over a check assigned to ``staff``: its case flagged, with a
    possible pair, or holding a counter-intelligence review assigned to him (looked up per case on the
    case's index, not as a list of all his reviews)."""
    reviews = Check.objects.filter(case_id=OuterRef("case_id"), check_type__is_ci_review=True, assigned_to=staff)
    return Q(case__flagged=True) | Q(case__possible__in=("open", "concluded")) | Q(Exists(reviews))


def _people_with_cases(cases: Callable[[Any], Q]) -> Callable[[Any], Q]:
    def people(staff: Any) -> Q:
        return Q(Exists(Case.objects.filter(cases(staff), person=OuterRef("pk"))))

    return people


@dataclass(frozen=True)
class Narrowing:
    """What part of its grant's scope a role sees: people and cases (as Q over each), and in words."""

    people: Callable[[Any], Q]
    cases: Callable[[Any], Q] | None  # None: the role sees no case, whatever its scope
    says: str
    # Over Check: for a check assigned to the staff member, the same test as ``cases`` on its case
    # (``checks_assigned_to``), written so that no list of all his cases is built. None: ``cases``
    # itself, through the check's case.
    held: Callable[[Any], Q] | None = None
    # Over Case, the same as ``cases`` but tested row by row (correlated on the case's own indexes):
    # for a few candidate cases (My work's open hits), where ``cases`` would first list all of his.
    per_row: Callable[[Any], Q] | None = None

    @property
    def covers_cases(self) -> bool:
        return self.cases is not None


NARROWING: dict[str, Narrowing] = {
    Role.UNIT_COMMANDER: Narrowing(
        people=lambda staff: Q(Exists(Assignment.objects.filter(person=OuterRef("pk"), is_latest=True))),
        cases=None,
        says="people with an assignment in his unit's subtree",
    ),
    Role.INSTRUCTOR: Narrowing(
        people=lambda staff: Q(Exists(Enrolment.objects.filter(person=OuterRef("pk")))),
        cases=None,
        says="people enrolled in his cohort",
    ),
    Role.INVESTIGATOR: Narrowing(
        people=_people_with_cases(_cases_assigned),
        cases=_cases_assigned,
        says="cases assigned to him or holding a check assigned to or examined by him, and their people",
        held=_held_by_assignment,
        per_row=_cases_assigned_per_row,
    ),
    Role.POLYGRAPH_EXAMINER: Narrowing(
        people=_people_with_cases(_cases_assigned),
        cases=_cases_assigned,
        says="cases assigned to him or holding a check assigned to or examined by him, and their people",
        held=_held_by_assignment,
        per_row=_cases_assigned_per_row,
    ),
    Role.CI_OFFICER: Narrowing(
        people=_people_with_cases(_cases_for_counter_intelligence),
        cases=_cases_for_counter_intelligence,
        held=_held_for_counter_intelligence,
        per_row=_counter_intelligence_per_row,
        says=(
            "flagged cases, cases with a possible duplicate to review and cases with a counter-intelligence"
            " review assigned to him, and their people"
        ),
    ),
}
"""Roles that see only part of their scope. Every role not listed sees its whole scope."""


def people_visible_to(staff: Any, *, perm: Perm | None = None) -> QuerySet[Person]:
    """Every person ``staff`` may see (through a role carrying ``perm``, or any role if None)."""
    seen = _NOBODY
    for role, kind, ref in _grants(staff, perm):
        narrowing = NARROWING.get(role)
        where = _people_in_scope(kind, ref)
        seen |= where if narrowing is None else where & narrowing.people(staff)
    if seen is _NOBODY:
        return Person.objects.none()
    return Person.objects.filter(seen)


def _cases_in_scope(kind: str, ref: str) -> Q | None:
    if kind == ScopeKind.SYSTEM:
        return _EVERYONE
    if kind == ScopeKind.LEGION:
        return Q(legion=ref)
    if kind == ScopeKind.CASE and ref.isdigit():
        return Q(pk=int(ref))
    return None  # unit and cohort scopes cover no vetting case


def cases_visible_to(staff: Any, *, perm: Perm = Perm.VIEW_CASES, per_row: bool = False) -> QuerySet[Case]:
    """Every case ``staff`` may see (or act on) through a role carrying ``perm``: case pages and
    queues (``VIEW_CASES``), unsealing from a case (``UNSEAL_IDENTITY``), the vetting API.

    ``per_row``: the same cases, with each narrowing tested case by case (``Narrowing.per_row``), for
    a correlated ``Exists`` over a few candidate rows; lists over the whole scope keep the default."""
    grants = [
        (role, kind, ref, where) for role, kind, ref in _grants(staff, perm) if (where := _cases_in_scope(kind, ref))
    ]
    whole = {(kind, ref) for role, kind, ref, _where in grants if role not in NARROWING}
    if (ScopeKind.SYSTEM, "") in whole:
        # Everything: no narrower grant can add to it, and an OR with their subqueries would make
        # the database build their lists on every page view.
        return Case.objects.all()
    seen = _NOBODY
    for role, kind, ref, where in grants:
        narrowing = NARROWING.get(role)
        if narrowing is None:
            seen |= where
        elif narrowing.cases is not None and (kind, ref) not in whole:
            # (the same scope already seen whole needs no narrower test)
            narrow = narrowing.per_row if per_row and narrowing.per_row is not None else narrowing.cases
            seen |= where & narrow(staff)
    if seen is _NOBODY:
        return Case.objects.none()
    return Case.objects.filter(seen)


def _checks_in_scope(kind: str, ref: str) -> Q | None:
    """``_cases_in_scope`` over Check (through its case)."""
    if kind == ScopeKind.SYSTEM:
        return _EVERYONE
    if kind == ScopeKind.LEGION:
        return Q(case__legion=ref)
    if kind == ScopeKind.CASE and ref.isdigit():
        return Q(case_id=int(ref))
    return None


def checks_assigned_to(staff: Any, *, perm: Perm = Perm.VIEW_CASES) -> QuerySet[Check]:
    """The checks assigned to ``staff`` whose case he may see through ``perm``: the same rows as
    ``Check.objects.filter(assigned_to=staff, case__in=cases_visible_to(staff, perm=perm))``, but
    read from the assignee's index row by row (My work's "My checks" wants the ten most overdue of a
    hundred thousand), with each narrowing's ``held`` instead of the list of all his cases."""
    seen = _NOBODY
    for role, kind, ref in _grants(staff, perm):
        where = _checks_in_scope(kind, ref)
        if where is None:
            continue
        narrowing = NARROWING.get(role)
        if narrowing is None:
            seen |= where
        elif narrowing.cases is not None:
            if narrowing.held is not None:
                seen |= where & narrowing.held(staff)
            else:
                seen |= where & Q(Exists(Case.objects.filter(narrowing.cases(staff), pk=OuterRef("case_id"))))
    if seen is _NOBODY:
        return Check.objects.none()
    return Check.objects.filter(seen, assigned_to=staff)


def checks_visible_to(staff: Any, *, perm: Perm = Perm.VIEW_CASES) -> QuerySet[Check]:
    """Every check ``staff`` may see through ``perm``: the checks of the cases he may see."""
    return Check.objects.filter(case__in=cases_visible_to(staff, perm=perm))


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
