"""Units' API endpoints (a django-ninja ``Router``): units in scope, a roster, people by call sign.

Mounted by the project API (``api.add_router("/units", legionary.units.api.router)``). Read-only
and thin: every answer goes through ``units.selectors`` and ``access.scopes``, so the API can show
no more than the pages; out of scope is a 404 RFC 7807 problem, as if the object did not exist.
Every endpoint carries one access mark (``staff_required``).

Must never: return or accept a name (people by call sign and pseudonymous id only).
"""

# No ``from __future__ import annotations``: ninja reads the endpoint signatures through the access
# decorator's wrapper, whose module globals cannot resolve string annotations.
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from pydantic import BaseModel, Field

from legionary.access.policy import request_staff, staff_required
from legionary.access.roles import Perm
from legionary.access.scopes import get_in_scope_or_404, units_visible_to
from legionary.api.problems import Problem, problem
from legionary.units import selectors

router = Router(tags=["units"])


def _not_found() -> Any:
    return problem(404, "not-found", "Not found", "There is no such object in your units.")


class UnitOut(Schema):
    id: int
    parent: int | None
    kind: str
    name: str
    legion: str
    overseer: str
    commander_call_sign: str


# A plain pydantic model, not a ninja ``Schema``: a page has 200 lines, and a ``Schema`` reads each
# field through its Django attribute getter twice (when built, and again when the response is
# checked), which cost more than the roster's queries. Built from our own values: no getter needed.
class RosterLineOut(BaseModel):
    unit: int
    billet: int
    role: str
    required: list[str]
    call_sign: str
    person_id: str
    status: str
    lacking: list[str]


class RosterOut(Schema):
    unit: UnitOut
    billets: int
    filled: int
    vacant: int
    lacking: int
    lines: list[RosterLineOut]
    next: str | None = Field(description="Pass as ``after`` for the next page of billets; null on the last page.")


class UnitsOut(Schema):
    units: list[UnitOut]
    next: str | None = Field(description="Pass as ``after`` for the next page; null on the last page.")


class PersonOut(Schema):
    id: str
    call_sign: str
    status: str
    unit: int | None


class PeopleOut(Schema):
    people: list[PersonOut]
    next: str | None = Field(description="Pass as ``after`` for the next page; null on the last page.")


def _unit_out(unit: Any) -> UnitOut:
    return UnitOut(
        id=unit.pk,
        parent=unit.parent_id,
        kind=unit.kind,
        name=unit.name,
        legion=unit.legion,
        overseer=unit.overseer.username,
        commander_call_sign=unit.commander_call_sign,
    )


@router.get("/", response=UnitsOut, url_name="units-list", summary="Units in your scope, in tree order (pages)")
@staff_required(Perm.VIEW_UNITS)
def units_list(request: HttpRequest, after: str = "") -> Any:
    page = selectors.units_page(staff=request_staff(request), after=after or None)
    return UnitsOut(units=[_unit_out(u) for u in page.rows], next=page.next)


@router.get(
    "/{unit_id}/roster",
    response={200: RosterOut, 404: Problem},
    url_name="units-roster",
    summary="A unit's roster: billets, holders by call sign, what they lack",
)
@staff_required(Perm.VIEW_UNITS)
def unit_roster(request: HttpRequest, unit_id: int, after: str = "") -> Any:
    staff = request_staff(request)
    try:
        unit = get_in_scope_or_404(units_visible_to(staff).select_related("overseer"), pk=unit_id)
    except Http404:
        return _not_found()
    roster = selectors.roster(staff=staff, unit=unit, after=after or None, limit=selectors.ROSTER_PAGE)
    return RosterOut(
        unit=_unit_out(unit),
        billets=roster.billets,
        filled=roster.filled,
        vacant=roster.vacant,
        lacking=roster.lacking,
        lines=[
            RosterLineOut(
                unit=line.unit_id,
                billet=line.billet_id,
                role=line.role,
                required=line.required,
                call_sign=line.call_sign,
                person_id=line.person_id,
                status=line.status,
                lacking=line.lacking,
            )
            for line in roster.lines
        ],
        next=roster.next,
    )


@router.get(
    "/people",
    response=PeopleOut,
    url_name="units-people",
    summary="People in your scope, by call sign (prefix search on call sign or id; keyset pages)",
)
@staff_required(Perm.VIEW_UNITS)
def people_list(request: HttpRequest, q: str = "", after: str = "") -> Any:
    page = selectors.people_page(staff=request_staff(request), query=q[:40], after=after or None)
    latest = selectors.latest_assignments(page.rows)
    return PeopleOut(
        people=[
            PersonOut(
                id=p.pk,
                call_sign=p.call_sign,
                status=p.status,
                unit=latest[p.pk].billet.unit_id if p.pk in latest else None,
            )
            for p in page.rows
        ],
        next=page.next,
    )


@router.get(
    "/people/{person_id}",
    response={200: PersonOut, 404: Problem},
    url_name="units-person",
    summary="One person in your scope",
)
@staff_required(Perm.VIEW_UNITS)
def person_detail(request: HttpRequest, person_id: str) -> Any:
    try:
        record = selectors.service_record(staff=request_staff(request), person_id=person_id)
    except Http404:
        return _not_found()
    assignment = record.assignment
    return PersonOut(
        id=record.person.pk,
        call_sign=record.person.call_sign,
        status=record.person.status,
        unit=assignment.billet.unit_id if assignment else None,
    )
