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
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Exists, F, OuterRef, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from legionary.access.models import RoleGrant
from legionary.access.roles import Perm, Role
from legionary.access.scopes import cases_visible_to
from legionary.audit.models import Entry
from legionary.identity.models import Person
from legionary.identity.services import possible_pairs_for
from legionary.pagination import KeysetPage, after_keys, decode_cursor, encode_cursor, flipped, keyset_page
from legionary.vetting.models import DECIDED_STATES, Case, CaseState, Check, Decision, Outcome, ScreeningFlag
from legionary.vetting.states import VettingError


class NotInScope(VettingError):
    """No such case for this viewer (answered as 404, so nothing leaks about what exists)."""


def visible_cases(staff: Any, *, per_row: bool = False) -> QuerySet[Case]:
    """Every case ``staff`` may see: the one need-to-know rule of ``access.scopes`` (``per_row`` for
    an ``Exists`` correlated with a few candidate rows)."""
    return cases_visible_to(staff, perm=Perm.VIEW_CASES, per_row=per_row)


def case_get(*, staff: Any, case_id: int) -> Case:
    """The case if ``staff`` may see it, else ``NotInScope``."""
    case = visible_cases(staff).select_related("person", "assigned_to").filter(pk=case_id).first()
    if case is None:
        raise NotInScope("There is no such case.")
    return case


def case_checks(case: Case) -> list[Check]:
    return list(case.checks.select_related("check_type", "assigned_to", "completed_by", "examiner", "screening_entry"))


def case_checks_shown(case: Case) -> list[Check]:
    """The case's checks as its pages show them: with their type, list entry and the assignee's name
    (``assignee_name``), not three staff rows per check (the page of every opening reads them)."""
    return list(
        case.checks.select_related("check_type", "screening_entry").annotate(assignee_name=F("assigned_to__username"))
    )


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


def flagged_open() -> RawSQL:
    """``models.FLAGGED_OPEN`` as a condition written out with its values, for the queue.

    SQLite uses a partial index only for a query that states the index's condition, values and
    all, in its SQL; the ORM would send the two states as bound parameters, and SQLite would then
    walk every case in date order instead (tested in tests/vetting/test_queue_plans.py).
    """
    # Nothing from outside: the table's name and two state names, constants of ours made of letters.
    states = ", ".join(f"'{state}'" for state in DECIDED_STATES)
    table = Case._meta.db_table
    sql = f'"{table}"."flagged" AND NOT ("{table}"."state" IN ({states}))'
    return RawSQL(sql, (), output_field=BooleanField())  # noqa: S611 — constants of ours, no input


def possible_open() -> RawSQL:
    """``models.POSSIBLE_OPEN`` written out with its values, for the same reason as ``flagged_open``."""
    states = ", ".join(f"'{state}'" for state in DECIDED_STATES)
    table = Case._meta.db_table
    sql = f'"{table}"."possible" = \'open\' AND NOT ("{table}"."state" IN ({states}))'
    return RawSQL(sql, (), output_field=BooleanField())  # noqa: S611 — constants of ours, no input


QUEUE_PAGE = 50
QUEUE_SECTIONS = ("checks", "start", "decide", "escalated", "flagged")
"""The queue's sections; each is keyset-paginated on its own, with the parameter ``<section>_after``."""
_ORDERS: dict[str, tuple[str, ...]] = {
    "checks": ("due_on", "id"),
    "start": ("created_at", "id"),
    "decide": ("updated_at", "id"),
    "escalated": ("updated_at", "id"),
    "flagged": ("created_at", "id"),
}


_QUEUE_CASE_FIELDS = ("id", "legion", "state", "created_at", "updated_at", "person__id", "person__call_sign")


@dataclass(frozen=True)
class Queue:
    my_checks: list[Check]
    to_start: list[Case]
    to_decide: list[Case]
    escalated: list[Case]
    flagged: list[Case]
    next: dict[str, str] = field(default_factory=dict)
    """Section name → cursor of its next page, for the sections that have one."""


def _merged_page(
    querysets: list[QuerySet[Case]], order: tuple[str, ...], *, after: str | None, limit: int
) -> KeysetPage[Case]:
    """One keyset page of the union of ``querysets`` (disjoint, all in the ascending ``order``):
    a page of each, merged. The cursor is a position in ``order``, so it is valid for each part."""
    if any(key.startswith("-") for key in order):
        raise ValueError("merged pages are in ascending order only")
    parts = [keyset_page(rows, order, after=after, limit=limit) for rows in querysets]
    rows = sorted((row for part in parts for row in part.rows), key=lambda row: [getattr(row, k) for k in order])
    if len(rows) <= limit and not any(part.next for part in parts):
        return KeysetPage(rows, None)
    rows = rows[:limit]
    return KeysetPage(rows, encode_cursor(order, [getattr(rows[-1], key) for key in order]))


def work_queue(*, staff: Any, perms: frozenset[Perm], after: dict[str, str] | None = None) -> Queue:
    """What ``staff`` has to do now: his open checks, cases to start, to decide, flagged cases.

    Each section is one keyset page of ``QUEUE_PAGE`` rows (``after`` maps a section to its cursor;
    ``BadCursor`` if one is not ours), so the queue costs the same at any number of cases.
    """
    after = after or {}
    # What the queue shows and orders by, not every column (a case's JSON profile, say): up to 250 rows.
    cases = visible_cases(staff).select_related("person").only(*_QUEUE_CASE_FIELDS)
    pages: dict[str, KeysetPage[Any]] = {}

    def page(section: str, rows: QuerySet[Any]) -> list[Any]:
        pages[section] = keyset_page(rows, _ORDERS[section], after=after.get(section), limit=QUEUE_PAGE)
        return pages[section].rows

    my_checks = page(
        "checks",
        # EXISTS per open check (a handful), not ``case IN (every visible case)``.
        Check.objects.filter(assigned_to=staff, result="")
        .filter(Exists(visible_cases(staff, per_row=True).filter(pk=OuterRef("case_id"))))
        .select_related("case__person", "check_type")
        .only("id", "case_id", "check_type", "due_on", "result", *(f"case__{f}" for f in _QUEUE_CASE_FIELDS)),
    )
    to_start = page("start", cases.filter(state=CaseState.RECEIVED)) if Perm.ASSIGN_CHECKS in perms else []
    to_decide: list[Case] = []
    escalated: list[Case] = []
    if Perm.ADJUDICATE in perms:
        # A vote already cast this round takes the case off the adjudicator's queue.
        voted = Decision.objects.filter(case=OuterRef("pk"), adjudicator=staff, round=OuterRef("decision_round"))
        waiting = cases.exclude(Exists(voted))
        # One page per state, merged: ``state IN (a, b)`` ordered by time is two ranges of the
        # (state, updated_at) index that the database can only read whole and sort.
        pages["decide"] = _merged_page(
            [waiting.filter(state=state) for state in (CaseState.AWAITING_DECISION, CaseState.APPEALED)],
            _ORDERS["decide"],
            after=after.get("decide"),
            limit=QUEUE_PAGE,
        )
        to_decide = pages["decide"].rows
    if Perm.ADJUDICATE_SENIOR in perms:
        escalated = page("escalated", cases.filter(state=CaseState.ESCALATED))
    flagged: list[Case] = []
    if RoleGrant.objects.filter(staff=staff, role=Role.CI_OFFICER).exists():
        flagged = page("flagged", cases.filter(flagged_open()))
    return Queue(
        my_checks=my_checks,
        to_start=to_start,
        to_decide=to_decide,
        escalated=escalated,
        flagged=flagged,
        next={name: p.next for name, p in pages.items() if p.next},
    )


CASES_ORDER = ("-created_at", "-id")
CASES_PAGE = 100


def cases_page(*, staff: Any, after: str | None = None, limit: int | None = None) -> KeysetPage[Case]:
    """The cases ``staff`` may see, newest first, one keyset page (``BadCursor`` if ``after`` is not ours)."""
    cases = visible_cases(staff).select_related("person")
    return keyset_page(cases, CASES_ORDER, after=after, limit=limit or CASES_PAGE)


def is_overdue(check: Check, today: datetime.date) -> bool:
    return not check.result and check.due_on < today


@dataclass(frozen=True)
class CaseFilter:
    """The filters of the case list; empty strings mean "any"."""

    state: str = ""
    legion: str = ""
    assignee: int | None = None
    unassigned: bool = False
    """No case officer yet."""
    overdue: bool = False
    flagged: bool = False


FILTERED_ORDER = ("created_at", "id")


def open_check() -> RawSQL:
    """``models.OPEN_CHECK`` written out with its value, for the same reason as ``flagged_open``
    (the partial index ``check_assignee_case``)."""
    table = Check._meta.db_table
    return RawSQL(f'"{table}"."result" = \'\'', (), output_field=BooleanField())  # noqa: S611 — constants of ours, no input


def screening_untaken() -> RawSQL:
    """``models.SCREENING_UNTAKEN`` written out with its values (the partial index
    ``check_screening_untaken``; SQLite uses a partial index only for a query that holds its
    literals, and PostgreSQL misjudges the columns' correlation without it: at a million people it
    took the 161 such checks for 700,000 and planned for them)."""
    t = f'"{Check._meta.db_table}"'
    sql = f'({t}."opened_by" = \'screening\' AND {t}."result" = \'\' AND {t}."assigned_to_id" IS NULL)'
    return RawSQL(sql, (), output_field=BooleanField())  # noqa: S611 — constants of ours, no input


def _assigned_page(
    rows: QuerySet[Case], assignee: int | None, *, after: str | None, before: str | None, limit: int
) -> KeysetPage[Case]:
    """One page of ``rows`` (already narrowed by the viewer's scope and the other filters) limited
    to the cases ``assignee`` is officer of or holds an open check on, in ``FILTERED_ORDER``.

    Two ordered reads of ``limit + 1`` keys, each from its own index and each key tested on its case
    (scope and filters, row by row), merged: the cases he is officer of (``case_officer_created``)
    and the cases of his open checks in their cases' order (``check_assignee_case``, the case's
    ``created_at`` copied onto the check). Then the page's cases in one query. The cost follows the
    page, not his workload nor the instance's history (the examiner's checks on the newest cases no
    longer make the list walk every older case first). ``BadCursor`` for a cursor not ours.

    ``assignee`` None: the cases with an overdue check, from the late open checks alone, in their
    cases' order (``check_open_case``); the oldest cases, long closed, are never walked.
    """
    backwards = bool(before) and not after
    cursor = before if backwards else after
    key = decode_cursor(FILTERED_ORDER, cursor) if cursor else None
    # Each read's own key names, in the page's direction (descending when going back).
    officer_order = flipped(FILTERED_ORDER) if backwards else list(FILTERED_ORDER)
    check_order = flipped(("case_created_at", "case_id")) if backwards else ["case_created_at", "case_id"]
    officer_keys: list[tuple[datetime.datetime, int]] = []
    if assignee is not None:
        as_officer = rows.filter(assigned_to_id=assignee)
        if key is not None:
            as_officer = as_officer.filter(after_keys(officer_order, key))
        officer_keys = list(as_officer.order_by(*officer_order).values_list("created_at", "id")[: limit + 1])
    # His open checks in their cases' order, each probing its case (by primary key) for the scope and
    # the filters; DISTINCT over the ordered index keeps a case with several of his checks once.
    # (``case_created_at`` is set on every open check by migration 0007 and ``services._new_check``;
    # the null test only keeps a check written by older code from breaking the merge below.)
    # (The due date's null test, always true, states the condition of ``check_open_case``.)
    late = {"due_on__isnull": False, "due_on__lt": timezone.localdate()}
    mine = {"assigned_to_id": assignee} if assignee is not None else late
    checks = Check.objects.filter(open_check(), case_created_at__isnull=False, **mine).filter(
        Exists(rows.filter(pk=OuterRef("case_id")))
    )
    if key is not None:
        checks = checks.filter(after_keys(check_order, key))
    check_keys = list(checks.order_by(*check_order).values_list("case_created_at", "case_id").distinct()[: limit + 1])
    keys = sorted(set(officer_keys) | set(check_keys), reverse=backwards)
    more = len(keys) > limit
    keys = keys[:limit]
    if backwards:
        keys.reverse()
    found = rows.in_bulk([pk for _at, pk in keys]) if keys else {}
    page = [found[pk] for _at, pk in keys if pk in found]
    if not page:
        return KeysetPage([], None)

    def cursor_of(row: Case) -> str:
        return encode_cursor(FILTERED_ORDER, [row.created_at, row.pk])

    if backwards:
        return KeysetPage(page, cursor_of(page[-1]), cursor_of(page[0]) if more else None)
    return KeysetPage(page, cursor_of(page[-1]) if more else None, cursor_of(page[0]) if after else None)


def cases_filtered(
    *, staff: Any, filters: CaseFilter, after: str | None = None, limit: int = QUEUE_PAGE, before: str | None = None
) -> KeysetPage[Case]:
    """The cases ``staff`` may see that pass ``filters``, oldest first, one keyset page.

    Overdue: an open check past its due date. Assignee: the case officer or the assignee of one
    of its open checks (``_assigned_page``: read from the assignee's side, a page at a time);
    unassigned: no case officer yet. The filters only narrow ``visible_cases``. ``BadCursor`` if
    ``after`` or ``before`` is not ours.
    """
    assigned = filters.assignee is not None or filters.overdue
    # For "assigned to" and "overdue", each candidate case is tested on its own (``per_row``): a few pages' worth.
    rows = visible_cases(staff, per_row=assigned).select_related("person", "assigned_to")
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.legion:
        rows = rows.filter(legion=filters.legion)
    if filters.flagged:
        rows = rows.filter(flagged_open())
    if filters.unassigned:
        rows = rows.filter(assigned_to__isnull=True)
    if filters.overdue:
        late = Check.objects.filter(case=OuterRef("pk"), result="", due_on__lt=timezone.localdate())
        rows = rows.filter(Exists(late))
    if filters.assignee is not None:
        return _assigned_page(rows, filters.assignee, after=after, before=before, limit=limit)
    if filters.overdue:
        # Read from the late checks' side, a page at a time (the filter above is kept, so each
        # case found is also tested as the other filters test it).
        return _assigned_page(rows, None, after=after, before=before, limit=limit)
    return keyset_page(rows, FILTERED_ORDER, after=after, limit=limit, before=before)


# --- possible duplicates, side by side ------------------------------------------------------------

MATCH_REASONS = {
    "document": _("Document number"),
    "phone": _("Phone number"),
    "email": _("Email address"),
    "name+birth_date": _("Name and date of birth"),
}
"""The blind indexes that can link two records (``identity.matching.link_reasons``), as a reader names them."""

POSSIBLE_REASONS = {
    "name_typo+birth_date": _("same date of birth and given name, the name one letter different"),
    "family_two_edits+birth_date": _("same date of birth and given name, a long family name two letters different"),
    "patronymic+birth_date": _("same date of birth and patronymic, different name"),
    "birthplace+birth_date": _("same date of birth and place of birth, different name"),
    "name+birth_year": _("same name, and only a year of birth on one record where the other has the full date"),
}
"""The "possible" tier's reasons (``identity.matching.POSSIBLE_REASONS``) in plain words."""

MATCH, POSSIBLE = "match", "possible"


@dataclass(frozen=True)
class Side:
    """One of the two records of a flag: call sign, id, legion, case state and latest decision."""

    person_id: str
    call_sign: str
    legion: str
    state: str
    received: datetime.datetime | None
    decision: str
    case_id: int | None


@dataclass(frozen=True)
class FlagView:
    flag: ScreeningFlag
    this: Side
    other: Side
    agreed: list[str]
    resolution: str
    tier: str = MATCH
    """"match" (the indexes link the two records) or "possible" (a pair a person should check by hand)."""


@dataclass(frozen=True)
class PossibleView:
    """A possible-tier pair nobody has concluded on yet: the other record and why it is worth a look."""

    this: Side
    other: Side
    agreed: list[str]
    tier: str = POSSIBLE


def _tier(reasons: list[str]) -> str:
    return POSSIBLE if reasons and all(r in POSSIBLE_REASONS for r in reasons) else MATCH


def _worded(reasons: list[str]) -> list[str]:
    return [str(MATCH_REASONS.get(r) or POSSIBLE_REASONS.get(r) or r) for r in reasons]


def _decisions(case_ids: list[int]) -> dict[int, str]:
    """The latest vote of each case's latest round, labelled: what was decided (or is being decided)."""
    decisions: dict[int, str] = {}
    for d in Decision.objects.filter(case_id__in=case_ids).order_by("case_id", "round", "seat"):
        decisions[d.case_id] = d.outcome
    labels = dict(Outcome.choices)
    return {k: str(labels.get(v, v)) for k, v in decisions.items()}


def _side(person: Person, case: Case | None, decisions: dict[int, str]) -> Side:
    return Side(
        person_id=person.id,
        call_sign=person.call_sign,
        legion=case.legion if case else person.legion,
        state=case.state if case else "",
        received=case.created_at if case else None,
        decision=decisions.get(case.pk, "") if case else "",
        case_id=case.pk if case else None,
    )


def case_flags(case: Case) -> list[FlagView]:
    """The case's screening flags with both records side by side; three queries for any number of flags.

    The other record is shown by call sign, state and decision even when the viewer may not open
    its case: the flag itself is his reason to know that much, and no more.

    A possible-tier pair a CI officer concluded on is a flag too (``services.possible_pair_resolve``
    records one), shown here with ``tier="possible"``; the pairs nobody concluded on yet come from
    ``case_possible``.
    """
    flags = list(case.flags.select_related("matched_person", "resolved_by").order_by("created_at", "id"))
    if not flags:
        return []
    others = {c.person_id: c for c in Case.objects.filter(person_id__in=[f.matched_person_id for f in flags])}
    decisions = _decisions([case.pk, *(c.pk for c in others.values())])
    this = _side(case.person, case, decisions)
    return [
        FlagView(
            flag=f,
            this=this,
            other=_side(f.matched_person, others.get(f.matched_person_id), decisions),
            agreed=_worded(list(f.reasons)),
            resolution=f.resolution,
            tier=_tier(list(f.reasons)),
        )
        for f in flags
    ]


def open_possible_pairs(person_id: str) -> list[tuple[str, list[str]]]:
    """The possible-tier pairs of ``person_id`` that no flag joins yet, from either side (four queries)."""
    pairs = possible_pairs_for(person_id)
    if not pairs:
        return []
    ids = [other for other, _reasons in pairs]
    flagged = set(
        ScreeningFlag.objects.filter(case__person_id=person_id, matched_person_id__in=ids).values_list(
            "matched_person_id", flat=True
        )
    ) | set(
        ScreeningFlag.objects.filter(case__person_id__in=ids, matched_person_id=person_id).values_list(
            "case__person_id", flat=True
        )
    )
    return [(other, reasons) for other, reasons in pairs if other not in flagged]


def case_possible(case: Case) -> list[PossibleView]:
    """The possible-tier pairs of the case's person nobody has concluded on: for the CI officer.

    From ``identity.services.possible_pairs_for`` (blind indexes only). A pair leaves this list once
    a flag joins the two records, from either side: a conclusion, or a match-tier flag. Never merged
    into anything by itself.
    """
    open_pairs = open_possible_pairs(case.person_id)
    if not open_pairs:
        return []
    people = Person.objects.in_bulk([other for other, _reasons in open_pairs])
    others = {c.person_id: c for c in Case.objects.filter(person_id__in=list(people))}
    decisions = _decisions([case.pk, *(c.pk for c in others.values())])
    this = _side(case.person, case, decisions)
    return [
        PossibleView(this=this, other=_side(people[other], others.get(other), decisions), agreed=_worded(reasons))
        for other, reasons in open_pairs
        if other in people
    ]
