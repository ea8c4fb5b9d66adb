"""Reads for units: the tree in scope, rosters, the people list and a person's service record.

Responsible for what the units pages, the export and the API show, always narrowed through
``access.scopes`` (so a list, a search, a count or an export can only hold what is in scope). A
roster page costs a fixed number of queries whatever the unit's size (the export: a few per
thousand billets), each reading only the page's rows.

Must never: read a sealed identity (people appear by call sign and pseudonymous id only), or write.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import BooleanField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from legionary.access.roles import ROLE_PERMISSIONS, Perm, ScopeKind
from legionary.access.scopes import (
    get_in_scope_or_404,
    grant_rows,
    people_awaiting_assignment,
    people_visible_to,
    unit_path,
    units_visible_to,
)
from legionary.identity.callsigns import call_sign_key
from legionary.identity.models import Person
from legionary.pagination import KeysetPage, decode_cursor, keyset_page
from legionary.training.models import PersonQualification
from legionary.units.models import Assignment, Billet, BilletRole, OverrideRequest, StatusChange, Unit

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
    """A page of a unit's roster; the figures count the lines of this page (all of a unit of up to
    ``ROSTER_PAGE`` billets)."""

    unit: Unit
    lines: list[RosterLine]
    next: str | None = None
    """Cursor of the next page of billets (``after``); None on the last page."""
    previous: str | None = None
    """Cursor of the previous page (``before``); None on the first page."""

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


ROSTER_PAGE = 200
ROSTER_SCREEN = 50
"""Billets per page of the roster page (the API and the export take ``ROSTER_PAGE``): a page a reader can take in."""
ROSTER_ORDER = ("unit_path", "id")
"""The roster's order: the billet's unit in tree order (its path), then the billet."""
_EXPORT_CHUNK = 1000
"""Billets read at a time by the export, so that no query names more ids than the database accepts."""


def _roster_billets(unit: Unit) -> QuerySet[Any]:
    """The billets of the unit's subtree as plain rows (no model instances: a page has hundreds), in
    ``ROSTER_ORDER``: a range of the unit path index, then each unit's billets by id."""
    return (
        Billet.objects.filter(unit__path__within=unit.path)
        .annotate(unit_path=F("unit__path"), unit_name=F("unit__name"))
        .values_list("id", "unit_id", "unit_name", "unit_path", "role", "title", named=True)
        .order_by(*ROSTER_ORDER)
    )


def _roster_lines(*, staff: Any, billets: list[Any], today: date) -> list[RosterLine]:
    """The lines of these billets: three queries (requirements, holders in scope, what they hold)."""
    ids = [b.id for b in billets]
    required: dict[int, list[str]] = defaultdict(list)
    for billet_id, code in (
        Billet.qualifications.through.objects.filter(billet_id__in=ids)
        .order_by("qualification__code")
        .values_list("billet_id", "qualification__code")
    ):
        required[billet_id].append(code)
    # Each holder is tested against the scope on its own (EXISTS by primary key), not matched
    # against the list of everyone in scope, which the database would build whole on every view.
    in_scope = people_visible_to(staff, perm=Perm.VIEW_UNITS).filter(pk=OuterRef("person_id"))
    holders = {
        billet_id: (person_id, call_sign, status)
        for billet_id, person_id, call_sign, status in Assignment.objects.filter(billet__in=ids, ended_on__isnull=True)
        .filter(Exists(in_scope))
        .order_by()
        .values_list("billet_id", "person_id", "person__call_sign", "person__status")
    }
    held = held_codes(person_ids=[person_id for person_id, _c, _s in holders.values()], on=today)
    # Labels looked up once, not by ``get_role_display`` per line (it rebuilds the choices each time).
    labels = {value: str(label) for value, label in BilletRole.choices}
    lines = []
    for billet in billets:
        needs = required.get(billet.id, [])
        person_id, call_sign, status = holders.get(billet.id, ("", "", ""))
        lines.append(
            RosterLine(
                unit_id=billet.unit_id,
                unit_name=billet.unit_name,
                billet_id=billet.id,
                role=billet.role,
                role_label=labels.get(billet.role, billet.role),
                title=billet.title,
                required=needs,
                person_id=person_id,
                call_sign=call_sign,
                status=status,
                lacking=[code for code in needs if code not in held[person_id]] if person_id else [],
            )
        )
    return lines


def roster(
    *,
    staff: Any,
    unit: Unit,
    today: date | None = None,
    after: str | None = None,
    limit: int | None = None,
    vacant_only: bool = False,
    before: str | None = None,
    role: str = "",
    holder_status: str = "",
) -> Roster:
    """A page of the billets in the unit's subtree (all of them with ``limit=None``, for the export), each with its
    holder (if any, and in scope) and what he lacks: four queries a page whatever the unit's size (the
    export: four per thousand billets).

    Keyset-paginated on (unit path, billet id), forwards (``after``) or back (``before``); ``BadCursor``
    if a cursor is not one of ours. ``vacant_only``, ``role`` (the billet's) and ``holder_status`` (of
    its current holder) narrow the unit's billets.
    """
    today = today or timezone.localdate()
    billets = _roster_billets(unit)
    if vacant_only:
        billets = billets.filter(vacant_condition())  # (the few vacant ones, through ``billet_vacant``)
    if role:
        billets = billets.filter(role=role)
    if holder_status:
        held = Assignment.objects.filter(billet=OuterRef("pk"), ended_on__isnull=True, person__status=holder_status)
        billets = billets.filter(Exists(held))
    if limit is not None:
        if after:
            # The cursor's unit path as a lower bound too: the page starts inside the index range
            # rather than at the subtree's first billet (the keyset's OR alone does not bound it).
            billets = billets.filter(unit_path__gte=decode_cursor(ROSTER_ORDER, after)[0])
        elif before:
            billets = billets.filter(unit_path__lte=decode_cursor(ROSTER_ORDER, before)[0])
        page = keyset_page(billets, ROSTER_ORDER, after=after, before=before, limit=limit)
        shown = _roster_lines(staff=staff, billets=page.rows, today=today)
        return Roster(unit=unit, lines=shown, next=page.next, previous=page.previous)
    lines: list[RosterLine] = []
    cursor = None
    while True:
        chunk = keyset_page(billets, ROSTER_ORDER, after=cursor, limit=_EXPORT_CHUNK)
        lines.extend(_roster_lines(staff=staff, billets=chunk.rows, today=today))
        if chunk.next is None:
            return Roster(unit=unit, lines=lines)
        cursor = chunk.next


UNITS_PAGE = 300
UNITS_ORDER = ("path",)
"""The tree's order: the materialised path (unique and indexed), so a page is an index range."""


def units_page(*, staff: Any, after: str | None = None) -> KeysetPage[Unit]:
    """One page of the units in scope, in tree order (``BadCursor`` if ``after`` is not ours)."""
    units = units_visible_to(staff).select_related("overseer")
    return keyset_page(units, UNITS_ORDER, after=after, limit=UNITS_PAGE)


PERSON_ID = re.compile(r"^p[a-z2-7]{20}$")
PEOPLE_ORDER = ("call_sign_key",)
"""The people list's order: the folded call sign, unique, so it is a total order served by its index."""


def person_search(query: str) -> Q:
    """People whose call sign starts with ``query`` (folded as call signs are), or whose id it is.

    A prefix, not a substring: a prefix is a range of the unique ``call_sign_key`` index, in page
    order, on both databases (the key compares byte by byte, see ``ByteOrderCharField``; written
    as an explicit range because SQLite's LIKE cannot use an index), where a substring would read
    every row in scope.
    """
    query = " ".join(query.split())
    by_id = Q(pk=query.lower()) if PERSON_ID.match(query.lower()) else Q(pk__in=[])
    key = call_sign_key(query)
    if not key:
        return by_id
    return by_id | Q(call_sign_key__gte=key, call_sign_key__lt=key + "\U0010ffff")


def _unit_paths_only(staff: Any) -> list[str] | None:
    """The unit paths of the staff member's VIEW_UNITS grants when all of them are unit-scoped, else None."""
    paths: list[str] = []
    for role, kind, ref in grant_rows(staff):
        if Perm.VIEW_UNITS not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if kind != ScopeKind.UNIT:
            return None
        path = unit_path(ref)
        paths.extend([path] if path is not None else [])
    return paths


def people_search(
    *, staff: Any, query: str = "", status: str = "", legion: str = "", unit_path: str | None = None
) -> QuerySet[Person]:
    """People in the staff member's units scope, optionally by call sign prefix or id, status, legion
    and unit (whose latest assignment is in that unit's subtree), by call sign. The filters only narrow."""
    people = people_visible_to(staff, perm=Perm.VIEW_UNITS)
    paths = _unit_paths_only(staff)
    if paths is not None:
        # A commander of a company sees a hundred people among a million: start from the
        # assignments in his subtrees (an index range on the unit path) rather than walk every
        # person in call-sign order testing each one. The same set as the scope, so only faster.
        within = Q(pk__in=[])
        for path in paths:
            within |= Q(billet__unit__path__within=path)
        people = people.filter(pk__in=Assignment.objects.filter(within, is_latest=True).values("person_id"))
    if query.strip():
        people = people.filter(person_search(query))
    if status:
        people = people.filter(status=status)
    if legion:
        people = people.filter(legion=legion)
    if unit_path is not None:
        serving = Assignment.objects.filter(is_latest=True, ended_on__isnull=True, billet__unit__path__within=unit_path)
        people = people.filter(pk__in=serving.values("person_id"))
    return people.only("id", "call_sign", "call_sign_key", "status", "legion").order_by(*PEOPLE_ORDER)


def people_page(
    *,
    staff: Any,
    query: str = "",
    after: str | None = None,
    before: str | None = None,
    status: str = "",
    legion: str = "",
    unit_path: str | None = None,
) -> KeysetPage[Person]:
    """One page of ``people_search``, keyset on the folded call sign; ``BadCursor`` if a cursor is not ours."""
    people = people_search(staff=staff, query=query, status=status, legion=legion, unit_path=unit_path)
    return keyset_page(people, PEOPLE_ORDER, after=after, before=before, limit=PEOPLE_PAGE)


def latest_assignments(people: list[Person]) -> dict[str, Assignment]:
    return {
        a.person_id: a
        for a in Assignment.objects.filter(person__in=people, is_latest=True).select_related("billet__unit")
    }


def latest_unit_names(people: list[Person]) -> dict[str, str]:
    """The unit name of each person's latest assignment (people with none are absent): one query,
    plain values (the people list shows nothing else of the assignment)."""
    return dict(
        Assignment.objects.filter(person__in=people, is_latest=True).values_list("person_id", "billet__unit__name")
    )


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
    """The undecided override requests for billets of ``units``.

    Found from the pending requests (a few, through a partial index) to their units, not from every
    billet of the units to its requests: a legion has tens of thousands of billets.
    """
    return list(
        OverrideRequest.objects.filter(decided_at__isnull=True)
        .filter(Exists(units.filter(pk=OuterRef("billet__unit_id"))))
        .select_related("person", "billet__unit", "requested_by")
    )


# --- filling billets -----------------------------------------------------------------------------

VACANT_PAGE = 50
VACANT_ORDER = ("unit_path", "id")
COUNT_CAP = 100
"""Counts on "My work" stop here ("100 or more"): a bounded count costs the same at any size."""


def capped_count(queryset: QuerySet[Any]) -> int:
    """How many rows, up to ``COUNT_CAP + 1`` (read as "more than ``COUNT_CAP``")."""
    return queryset.order_by()[: COUNT_CAP + 1].count()


def vacant_condition() -> RawSQL:
    """``vacant = true`` written out in the SQL, as the partial index ``billet_vacant`` states it:
    SQLite uses a partial index only for a query that states its condition with the values (a bound
    parameter would not do; ``vetting.selectors.flagged_open`` says more)."""
    table = Billet._meta.db_table
    return RawSQL(f'"{table}"."vacant"', (), output_field=BooleanField())  # noqa: S611 — constants of ours, no input


def vacant_billets(*, staff: Any, legion: str = "") -> QuerySet[Any]:
    """The billets of the units ``staff`` may fill that nobody holds, in tree order, as plain rows
    (id, unit_id, unit_name, unit_path, role, title); only the ``legion``'s units when given.

    Read from the vacant billets (``Billet.vacant``, partial index ``billet_vacant``: a few among
    tens of thousands), each tested for the scope, not from every billet of the scope tested for a
    holder."""
    billets = Billet.objects.filter(vacant_condition(), unit__in=units_visible_to(staff, perm=Perm.ASSIGN_BILLETS))
    if legion:
        billets = billets.filter(unit__legion=legion)
    return (
        billets.annotate(unit_path=F("unit__path"), unit_name=F("unit__name"))
        .values_list("id", "unit_id", "unit_name", "unit_path", "role", "title", named=True)
        .order_by(*VACANT_ORDER)
    )


def assignment_candidate(*, staff: Any, person_id: str) -> Person:
    """A person ``staff`` may put into a billet: serving in his scope, or trained and awaiting
    assignment in his units' legions (else 404)."""
    candidates = people_visible_to(staff, perm=Perm.ASSIGN_BILLETS) | people_awaiting_assignment(staff)
    return get_in_scope_or_404(candidates.only("id", "call_sign", "status", "legion"), pk=person_id)


@dataclass(frozen=True)
class VacantLine:
    billet_id: int
    unit_id: int
    unit_name: str
    role_label: str
    title: str
    lacking: list[str]
    """Codes the billet requires that the candidate does not hold today (assigning needs an override)."""


@dataclass(frozen=True)
class VacantPage:
    rows: list[VacantLine]
    next: str | None
    """The cursor of the next page (``after``); None on the last page."""


def vacant_for(*, staff: Any, person: Person, after: str | None = None, today: date | None = None) -> VacantPage:
    """One page of the vacant billets of ``person``'s legion that ``staff`` may fill, each with what
    the person lacks for it: three queries a page whatever the number of billets."""
    today = today or timezone.localdate()
    page = keyset_page(vacant_billets(staff=staff, legion=person.legion), VACANT_ORDER, after=after, limit=VACANT_PAGE)
    ids = [b.id for b in page.rows]
    required: dict[int, list[str]] = defaultdict(list)
    for billet_id, code in (
        Billet.qualifications.through.objects.filter(billet_id__in=ids)
        .order_by("qualification__code")
        .values_list("billet_id", "qualification__code")
    ):
        required[billet_id].append(code)
    held = held_codes(person_ids=[person.pk], on=today)[person.pk]
    labels = {value: str(label) for value, label in BilletRole.choices}
    lines = [
        VacantLine(
            billet_id=b.id,
            unit_id=b.unit_id,
            unit_name=b.unit_name,
            role_label=labels.get(b.role, b.role),
            title=b.title,
            lacking=[code for code in required.get(b.id, []) if code not in held],
        )
        for b in page.rows
    ]
    return VacantPage(rows=lines, next=page.next)


@dataclass(frozen=True)
class CandidateLine:
    person_id: str
    call_sign: str
    waiting_since: Any
    lacking: list[str]
    """Codes the billet requires that this person does not hold today (assigning needs an override)."""


@dataclass(frozen=True)
class CandidatePage:
    rows: list[CandidateLine]
    next: str | None


CANDIDATE_PAGE = 20
CANDIDATE_ORDER = ("created_at", "id")


def candidates_for(*, staff: Any, billet: Billet, after: str | None = None, today: date | None = None) -> CandidatePage:
    """One page of the trained people awaiting assignment in ``billet``'s legion whom ``staff`` may
    assign (longest waiting first), each with what he lacks for the billet: three queries a page."""
    today = today or timezone.localdate()
    waiting = people_awaiting_assignment(staff).filter(legion=billet.unit.legion).only("id", "call_sign", "created_at")
    page = keyset_page(waiting, CANDIDATE_ORDER, after=after, limit=CANDIDATE_PAGE)
    required = list(billet.qualifications.order_by("code").values_list("code", flat=True))
    held = held_codes(person_ids=[p.pk for p in page.rows], on=today)
    rows = [
        CandidateLine(
            person_id=p.pk,
            call_sign=p.call_sign,
            waiting_since=p.created_at,
            lacking=[code for code in required if code not in held[p.pk]],
        )
        for p in page.rows
    ]
    return CandidatePage(rows=rows, next=page.next)


EXPIRY_DAYS = 30


def expiring_in_units(*, staff: Any, today: date | None = None) -> QuerySet[PersonQualification]:
    """Newest grants expiring within ``EXPIRY_DAYS`` (from tomorrow on) of people serving in ``staff``'s
    units, soonest first."""
    today = today or timezone.localdate()
    newer = PersonQualification.objects.filter(
        person=OuterRef("person"), qualification=OuterRef("qualification"), granted_on__gt=OuterRef("granted_on")
    )
    in_scope = people_visible_to(staff, perm=Perm.VIEW_UNITS).filter(pk=OuterRef("person_id"))
    return (
        PersonQualification.objects.filter(expires_on__gt=today, expires_on__lte=today + timedelta(days=EXPIRY_DAYS))
        .exclude(Exists(newer))
        .filter(Exists(in_scope))
        .select_related("person", "qualification")
        .order_by("expires_on", "person__call_sign_key", "id")
    )
