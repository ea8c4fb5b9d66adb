""" "My work" for the vetting side: what waits for this staff member, one selector per kind of work.

Each selector takes the staff member and his permissions and returns a ``WorkSection`` (or None
when the kind of work is not his): a title, up to ``SECTION_ROWS`` rows oldest or most overdue
first, a count capped at ``COUNT_CAP`` (so a count is one bounded index read, never a scan of a
million rows), and where to see the rest. Every selector makes a fixed number of queries whatever
the number of cases (pinned in tests/vetting/test_my_work.py).

The "My work" page gathers these; a new kind of work is one more function in ``SECTIONS``.
Rows carry call signs and pseudonymous ids only, never a sealed value; never writes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from legionary.access.memo import remembering
from legionary.access.roles import Perm, Role
from legionary.access.scopes import checks_assigned_to, roles_of
from legionary.vetting.catalogue import check_type_name
from legionary.vetting.models import (
    TO_DECIDE,
    Case,
    CaseState,
    Check,
    Decision,
    HitState,
    HitVia,
    ScreeningFlag,
    ScreeningHit,
)
from legionary.vetting.selectors import flagged_open, possible_open, screening_untaken, visible_cases

SECTION_ROWS = 20
OVERDUE = _("Overdue")
FLAGGED = _("Flagged")
SEE_ALL = _("See all")
COUNT_CAP = 100
"""Counts stop here ("100+"): the navigation needs "how much, roughly", not an exact scan."""


@dataclass(frozen=True)
class WorkItem:
    """One row of work: the case it is about, what to do, since or until when."""

    case_id: int
    call_sign: str
    person_id: str
    what: str
    when: datetime.date | datetime.datetime
    overdue: bool = False
    note: str = ""
    url: str = ""
    row: str = ""
    """What the row is, unique in its section: "case-<id>" or "check-<id>" (the link's id ends with it)."""

    @property
    def row_id(self) -> str:
        return self.row or f"case-{self.case_id}"


@dataclass(frozen=True)
class WorkSection:
    key: str
    title: str | Promise
    items: list[WorkItem]
    count: int
    more_url: str = ""
    empty: str | Promise = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def count_text(self) -> str:
        return f"{COUNT_CAP}+" if self.count >= COUNT_CAP else str(self.count)


def _case_url(case_id: int) -> str:
    return reverse("vetting:case", args=[case_id])


def _capped_count(rows: QuerySet[Any]) -> int:
    """How many rows, reading at most ``COUNT_CAP`` of them (one query, bounded by the cap)."""
    return len(rows.order_by().values_list("pk", flat=True)[:COUNT_CAP])  # any COUNT_CAP rows: no sort to wait for


def _holds(staff: Any, role: str) -> bool:
    # The grants as scopes read them: inside My work's gathering, one query for every section.
    return role in roles_of(staff)


# --- intake officer -------------------------------------------------------------------------------


def new_applications(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """Intake officer: applications received and not yet given to a case officer, oldest first."""
    if Perm.ASSIGN_CHECKS not in perms or Perm.VIEW_INTAKE_QUEUE not in perms:
        return None
    rows = visible_cases(staff).filter(state=CaseState.RECEIVED)
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    page = list(rows.select_related("person").order_by("created_at", "id")[:SECTION_ROWS])
    return WorkSection(
        key="new-applications",
        title=_("New applications to assign"),
        items=[
            WorkItem(
                case_id=c.pk,
                call_sign=c.person.call_sign,
                person_id=c.person_id,
                what=str(_("Possible match: assign, the CI officer reviews it")) if c.flagged else str(_("Assign")),
                when=c.created_at,
                note="flagged" if c.flagged else "",
                url=_case_url(c.pk),
            )
            for c in page
        ],
        count=_capped_count(rows),
        more_url=reverse("intake-queue:queue"),
        empty=_("No new applications."),
    )


def _oldest_cases(rows: QuerySet[Case], *, note: str) -> list[WorkItem]:
    """The first ``SECTION_ROWS`` of ``rows``, oldest first, each by its state and opening the case's
    flags (the flagged and the possible-duplicate sections)."""
    labels = dict(CaseState.choices)
    return [
        WorkItem(
            case_id=c.pk,
            call_sign=c.person.call_sign,
            person_id=c.person_id,
            what=str(labels.get(c.state, c.state)),
            when=c.created_at,
            note=note,
            url=_case_url(c.pk) + "#flags",
        )
        for c in rows.select_related("person").order_by("created_at", "id")[:SECTION_ROWS]
    ]


def flagged_cases(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """Intake and CI officers: open cases screening flagged as a possible duplicate, oldest first."""
    if Perm.VIEW_CASES not in perms or not (_holds(staff, Role.INTAKE_OFFICER) or _holds(staff, Role.CI_OFFICER)):
        return None
    unresolved = ScreeningFlag.objects.filter(case=OuterRef("pk"), resolved_at__isnull=True)
    rows = visible_cases(staff).filter(flagged_open()).filter(Exists(unresolved))
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    return WorkSection(
        key="flags",
        title=_("Possible duplicates to resolve"),
        items=_oldest_cases(rows, note="flagged"),
        count=_capped_count(rows),
        more_url=reverse("vetting:cases") + "?flagged=1",
        empty=_("No open flags."),
    )


POSSIBLE_TO_REVIEW = _("Possible duplicate, to review")


def possible_duplicates(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """CI officer: open cases whose only link to another record may be screening's possible tier (a pair
    no one has concluded on), oldest first; a case leaves once its last pair is concluded."""
    if Perm.RESOLVE_SCREENING not in perms or not _holds(staff, Role.CI_OFFICER):
        return None
    rows = visible_cases(staff).filter(possible_open())
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    return WorkSection(
        key="possible-duplicates",
        title=_("Possible duplicates to review"),
        items=_oldest_cases(rows, note="possible"),
        count=_capped_count(rows),
        empty=_("No possible duplicate to review."),
    )


# --- checkers: investigator, polygraph examiner, CI officer ----------------------------------------


def my_checks(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """Investigator, polygraph examiner, CI officer: his open checks, the most overdue first."""
    if Perm.RECORD_CHECK not in perms:
        return None
    today = timezone.localdate()
    rows = checks_assigned_to(staff).filter(result="")
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    page = list(
        rows.select_related("case__person", "check_type")
        .only("id", "case_id", "due_on", "check_type", "case__person__call_sign", "case__person__id")
        .order_by("due_on", "id")[:SECTION_ROWS]
    )
    return WorkSection(
        key="my-checks",
        title=_("My checks"),
        items=[
            WorkItem(
                case_id=c.case_id,
                call_sign=c.case.person.call_sign,
                person_id=c.case.person_id,
                what=check_type_name(c.check_type),
                when=c.due_on,
                overdue=c.due_on < today,
                url=_case_url(c.case_id) + f"#check-{c.pk}",
                row=f"check-{c.pk}",
            )
            for c in page
        ],
        count=_capped_count(rows),
        more_url=reverse("vetting:cases") + "?assignee=me",
        empty=_("No open checks."),
    )


def screening_hits(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """CI officer: list hits (a review opened by the screening) nobody has taken yet, oldest first."""
    if Perm.RECORD_CHECK not in perms or not _holds(staff, Role.CI_OFFICER):
        return None
    rows = Check.objects.filter(screening_untaken()).filter(
        Exists(visible_cases(staff, per_row=True).filter(pk=OuterRef("case_id")))
    )
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    page = list(rows.select_related("case__person", "screening_entry").order_by("created_at", "id")[:SECTION_ROWS])
    return WorkSection(
        key="screening-hits",
        title=_("Screening hits nobody has taken"),
        items=[
            WorkItem(
                case_id=c.case_id,
                call_sign=c.case.person.call_sign,
                person_id=c.case.person_id,
                what=c.screening_entry.caption if c.screening_entry else str(_("List entry removed")),
                when=c.created_at,
                overdue=c.due_on < timezone.localdate(),
                url=_case_url(c.case_id) + f"#check-{c.pk}",
                row=f"check-{c.pk}",
            )
            for c in page
        ],
        count=_capped_count(rows),
        empty=_("No screening hits waiting."),
    )


LIST_MATCH = _("Match")
LIST_POSSIBLE = _("Possible — check by hand")


def list_hits(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """CI officer: open hits of designation and sanctions lists on people whose case he may see.

    Each row: the list, the entry, via whom (applicant or next of kin) and the strength; the case
    page's hits table resolves it. The applicant is never told.
    """
    if Perm.RECORD_CHECK not in perms or not _holds(staff, Role.CI_OFFICER):
        return None
    cases = visible_cases(staff, per_row=True).filter(person_id=OuterRef("person_id"))
    rows = ScreeningHit.objects.filter(state=HitState.OPEN).filter(Exists(cases))
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    page = list(rows.select_related("person", "entry__screening_list").order_by("created_at", "id")[:SECTION_ROWS])
    case_ids = dict(Case.objects.filter(person_id__in=[h.person_id for h in page]).values_list("person_id", "pk"))
    vias = dict(HitVia.choices)
    items = []
    for hit in page:
        case_id = case_ids.get(hit.person_id)
        if case_id is None:
            continue
        items.append(
            WorkItem(
                case_id=case_id,
                call_sign=hit.person.call_sign,
                person_id=hit.person_id,
                what=str(_("%(list)s, entry %(entry)s, via %(via)s"))
                % {
                    "list": hit.entry.screening_list.name,
                    "entry": hit.entry.entry_id,
                    "via": vias.get(hit.via, hit.via),
                },
                when=hit.created_at,
                note=f"list-{hit.strength}",
                url=_case_url(case_id) + f"#hit-{hit.pk}",
                row=f"hit-{hit.pk}",
            )
        )
    return WorkSection(
        key="list-hits",
        title=_("Designation and sanctions list hits to resolve"),
        items=items,
        count=_capped_count(rows),
        empty=_("No list hits to resolve."),
    )


# --- adjudicators -----------------------------------------------------------------------------------


def to_decide(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """Adjudicator: cases waiting for his vote, oldest change first; which already have one vote."""
    if Perm.ADJUDICATE not in perms:
        return None
    voted = Decision.objects.filter(case=OuterRef("pk"), adjudicator=staff, round=OuterRef("decision_round"))
    # He may not decide a case he worked on (as case officer or checker): not his work either.
    worked = Check.objects.filter(case=OuterRef("pk")).filter(
        Q(assigned_to=staff) | Q(completed_by=staff) | Q(examiner=staff)
    )
    rows = (
        visible_cases(staff).filter(TO_DECIDE).exclude(Exists(voted)).exclude(Exists(worked)).exclude(assigned_to=staff)
    )
    first_vote = Decision.objects.filter(case=OuterRef("pk"), round=OuterRef("decision_round"))
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    page = list(
        rows.select_related("person").annotate(has_vote=Exists(first_vote)).order_by("updated_at", "id")[:SECTION_ROWS]
    )
    return WorkSection(
        key="to-decide",
        title=_("Cases waiting for your decision"),
        items=[
            WorkItem(
                case_id=c.pk,
                call_sign=c.person.call_sign,
                person_id=c.person_id,
                what=str(_("Second decision: another adjudicator has voted"))
                if c.has_vote
                else str(_("First decision")),
                when=c.updated_at,
                note="second" if c.has_vote else "first",
                url=_case_url(c.pk) + "#decisions",
            )
            for c in page
        ],
        count=_capped_count(rows),
        more_url=reverse("vetting:cases") + "?state=awaiting_decision",
        empty=_("No case is waiting for your decision."),
    )


def escalated(staff: Any, perms: frozenset[Perm], *, count_only: bool = False) -> WorkSection | None:
    """Senior adjudicator: cases on which the two adjudicators disagreed, oldest first."""
    if Perm.ADJUDICATE_SENIOR not in perms:
        return None
    rows = visible_cases(staff).filter(state=CaseState.ESCALATED)
    if count_only:
        return WorkSection(key="", title="", items=[], count=_capped_count(rows))
    page = list(rows.select_related("person").order_by("updated_at", "id")[:SECTION_ROWS])
    return WorkSection(
        key="escalated",
        title=_("Escalated: the adjudicators disagreed"),
        items=[
            WorkItem(
                case_id=c.pk,
                call_sign=c.person.call_sign,
                person_id=c.person_id,
                what=str(_("Senior decision")),
                when=c.updated_at,
                url=_case_url(c.pk) + "#decisions",
            )
            for c in page
        ],
        count=_capped_count(rows),
        more_url=reverse("vetting:cases") + "?state=escalated",
        empty=_("No escalated case."),
    )


Section = Callable[..., WorkSection | None]
SECTIONS: tuple[Section, ...] = (
    new_applications,
    flagged_cases,
    possible_duplicates,
    screening_hits,
    list_hits,
    my_checks,
    to_decide,
    escalated,
)
"""The vetting side's kinds of work, in the order "My work" shows them."""


def my_work(staff: Any, perms: frozenset[Perm]) -> list[WorkSection]:
    """Every vetting section that is this staff member's work (empty ones included: "nothing waits").
    His grants are read once for all of them (``access.memo``)."""
    with remembering():
        return [section for selector in SECTIONS if (section := selector(staff, perms)) is not None]
