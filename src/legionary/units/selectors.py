"""Reads for units: the tree in scope, rosters, the people list and a person's service record.

Responsible for what the units pages, the export and the API show, always narrowed through
``access.scopes`` (so a list, a search, a count or an export can only hold what is in scope). A
roster costs a fixed number of queries whatever the unit's size.

Must never: read a sealed identity (people appear by call sign and pseudonymous id only), or write.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from legionary.access.roles import Perm
from legionary.access.scopes import get_in_scope_or_404, people_visible_to
from legionary.identity.models import Person
from legionary.training.models import PersonQualification, Qualification
from legionary.units.models import Assignment, Billet, OverrideRequest, StatusChange, Unit

PEOPLE_PAGE = 100


def held_codes(*, person_ids: list[str], on: date) -> dict[str, set[str]]:
    """The qualification codes each person holds on ``on`` (granted by then, not yet expired)."""
    held: dict[str, set[str]] = defaultdict(set)
    rows = (
        PersonQualification.objects.filter(person_id__in=person_ids, granted_on__lte=on)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=on))
        .values_list("person_id", "qualification__code")
    )
    for person_id, code in rows:
        held[person_id].add(code)
    return held


def missing_qualifications(*, person_id: str, billet: Billet, on: date) -> list[str]:
    """Codes the billet requires that the person does not hold on ``on`` (an expired one counts as missing)."""
    required = set(billet.qualifications.values_list("code", flat=True))
    return sorted(required - held_codes(person_ids=[person_id], on=on)[person_id])


@dataclass(frozen=True)
class RosterLine:
    unit_id: int
    unit_name: str
    billet_id: int
    role: str
    role_label: str
    title: str
    required: list[str]
    person_id: str
    call_sign: str
    status: str
    lacking: list[str]

    @property
    def filled(self) -> bool:
        return bool(self.person_id)


@dataclass(frozen=True)
class Roster:
    unit: Unit
    units: list[Unit]
    lines: list[RosterLine]

    @property
    def billets(self) -> int:
        return len(self.lines)

    @property
    def filled(self) -> int:
        return sum(1 for line in self.lines if line.filled)

    @property
    def vacant(self) -> int:
        return self.billets - self.filled

    @property
    def lacking(self) -> int:
        return sum(1 for line in self.lines if line.lacking)


def roster(*, staff: Any, unit: Unit, today: date | None = None) -> Roster:
    """Every billet in the unit's subtree, its holder (if any, and in scope) and what he lacks; five queries."""
    today = today or timezone.localdate()
    units = list(Unit.objects.filter(path__within=unit.path).order_by("path"))
    names = {u.pk: u.name for u in units}
    billets = list(
        Billet.objects.filter(unit__path__within=unit.path)
        .prefetch_related(Prefetch("qualifications", queryset=Qualification.objects.only("id", "code")))
        .order_by("unit__path", "id")
    )
    holders = {
        a.billet_id: a.person
        for a in Assignment.objects.filter(
            billet__unit__path__within=unit.path,
            ended_on__isnull=True,
            person__in=people_visible_to(staff, perm=Perm.VIEW_UNITS),
        ).select_related("person")
    }
    held = held_codes(person_ids=[p.pk for p in holders.values()], on=today)
    lines = []
    for billet in billets:
        required = sorted(q.code for q in billet.qualifications.all())
        person = holders.get(billet.pk)
        lines.append(
            RosterLine(
                unit_id=billet.unit_id,
                unit_name=names[billet.unit_id],
                billet_id=billet.pk,
                role=billet.role,
                role_label=str(billet.get_role_display()),
                title=billet.title,
                required=required,
                person_id=person.pk if person else "",
                call_sign=person.call_sign if person else "",
                status=person.status if person else "",
                lacking=sorted(set(required) - held[person.pk]) if person else [],
            )
        )
    return Roster(unit=unit, units=units, lines=lines)


def people_search(*, staff: Any, query: str = "") -> QuerySet[Person]:
    """People in the staff member's units scope, optionally by call sign (part of it), by call sign."""
    people = people_visible_to(staff, perm=Perm.VIEW_UNITS)
    query = " ".join(query.split())
    if query:
        people = people.filter(call_sign__icontains=query)
    return people.only("id", "call_sign", "status", "legion").order_by("call_sign", "id")


def latest_assignments(people: list[Person]) -> dict[str, Assignment]:
    return {
        a.person_id: a
        for a in Assignment.objects.filter(person__in=people, is_latest=True).select_related("billet__unit")
    }


@dataclass(frozen=True)
class ServiceRecord:
    person: Person
    assignment: Assignment | None
    history: list[StatusChange]
    lacking: list[str]


def service_record(*, staff: Any, person_id: str) -> ServiceRecord:
    """One person's unit, billet and status history, if he is in the staff member's scope (else 404)."""
    person = get_in_scope_or_404(people_visible_to(staff, perm=Perm.VIEW_UNITS), pk=person_id)
    assignment = (
        Assignment.objects.filter(person=person, is_latest=True)
        .select_related("billet__unit", "override_approved_by", "assigned_by")
        .first()
    )
    lacking = (
        missing_qualifications(person_id=person.pk, billet=assignment.billet, on=timezone.localdate())
        if assignment and assignment.ended_on is None
        else []
    )
    history = list(StatusChange.objects.filter(person=person).select_related("changed_by"))
    return ServiceRecord(person=person, assignment=assignment, history=history, lacking=lacking)


def pending_overrides(*, units: QuerySet[Unit]) -> list[OverrideRequest]:
    return list(
        OverrideRequest.objects.filter(billet__unit__in=units, decided_at__isnull=True).select_related(
            "person", "billet__unit", "requested_by"
        )
    )
