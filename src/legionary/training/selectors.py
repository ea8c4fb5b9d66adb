"""Reads for training: the cohort scope, the gradebook, progress, risk and qualification records.

The need-to-know rule lives here once: ``cohorts_visible_to(staff, perm=...)`` is the queryset of
cohorts a staff member may see (or grade, or manage), and every list, page, export, API endpoint
and service narrows through it. An object outside it is reported as ``NotInScope`` and answered
with 404, so a refusal leaks nothing about what exists.

Who is at risk of failing (shown on the gradebook, in the API and the export):

* an assessment whose latest attempt failed and has not been retaken (a failed first attempt
  followed by a passing retake is not a risk), or
* attendance below the course's ``min_attendance_percent`` (80 in the shipped course) over the
  sessions recorded so far, once at least one session is recorded.

The gradebook costs a fixed number of queries whatever the cohort's size (no N+1): people, results
and attendance are each fetched in one query and joined in Python.

Must never: read a sealed identity (people appear by call sign and pseudonymous id only), or
write anything.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from legionary.access.models import RoleGrant
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.access.scopes import grant_rows
from legionary.identity.models import Person, PersonStatus
from legionary.pagination import KeysetPage, keyset_page
from legionary.training.models import (
    Assessment,
    Attendance,
    Cohort,
    Course,
    Enrolment,
    EnrolmentState,
    Module,
    PersonQualification,
    Result,
)

EXPIRY_WARNING_DAYS = 30


class NotInScope(Exception):
    """The object does not exist or lies outside the staff member's cohorts (answered with 404)."""


# --- scope ---------------------------------------------------------------------------------------


def cohorts_visible_to(staff: Any, *, perm: Perm = Perm.VIEW_TRAINING) -> QuerySet[Cohort]:
    """Cohorts ``staff`` holds ``perm`` for: all of them (system grant), a legion's, or single cohorts."""
    if staff is None or not staff.is_authenticated or not staff.is_active:
        return Cohort.objects.none()
    scope = Q(pk__in=[])
    for role, kind, ref in grant_rows(staff):
        if perm not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if kind == ScopeKind.SYSTEM:
            return Cohort.objects.all()
        if kind == ScopeKind.LEGION:
            scope |= Q(legion=ref)
        elif kind == ScopeKind.COHORT and ref.isdigit():
            scope |= Q(pk=int(ref))
    return Cohort.objects.filter(scope)


COHORT_ORDER = ("-start_date", "-id")
COHORT_PAGE = 50


def cohorts_enrollable_by(staff: Any) -> QuerySet[Cohort]:
    """Cohorts ``staff`` may enrol people into: those he manages, and those he leads as instructor."""
    managed = cohorts_visible_to(staff, perm=Perm.MANAGE_TRAINING)
    led = cohorts_visible_to(staff, perm=Perm.GRADE).filter(lead=staff) if staff is not None else Cohort.objects.none()
    return Cohort.objects.filter(Q(pk__in=managed.values("pk")) | Q(pk__in=led.values("pk")))


ENROL_LIST = 20


def people_to_enrol(*, legions: list[str]) -> QuerySet[Person]:
    """People of ``legions`` whose vetting is approved and who are not yet in training, longest waiting
    first (enrolment moves a person to ``in_training``, so an approved person is in no course)."""
    if not legions:
        return Person.objects.none()
    return Person.objects.filter(status=PersonStatus.APPROVED, legion__in=sorted(set(legions))).order_by(
        "created_at", "id"
    )


def cohorts_page(
    *,
    staff: Any,
    after: str | None = None,
    limit: int | None = None,
    before: str | None = None,
    legion: str = "",
    lead: Any = None,
    no_lead: bool = False,
) -> KeysetPage[Cohort]:
    """The cohorts ``staff`` may see, newest first, one keyset page (``BadCursor`` if a cursor is not ours).

    ``legion``, ``lead`` (a staff member) and ``no_lead`` narrow the cohorts in scope, never widen them.
    """
    cohorts = cohorts_visible_to(staff).select_related("course", "lead")
    if legion:
        cohorts = cohorts.filter(legion=legion)
    if lead is not None:
        cohorts = cohorts.filter(lead=lead)
    if no_lead:
        cohorts = cohorts.filter(lead__isnull=True)
    return keyset_page(cohorts, COHORT_ORDER, after=after, before=before, limit=limit or COHORT_PAGE)


def cohort_for(staff: Any, cohort_id: int, *, perm: Perm = Perm.VIEW_TRAINING) -> Cohort:
    cohort = cohorts_visible_to(staff, perm=perm).select_related("course", "lead").filter(pk=cohort_id).first()
    if cohort is None:
        raise NotInScope
    return cohort


def enrolment_for(staff: Any, enrolment_id: int, *, perm: Perm = Perm.VIEW_TRAINING) -> Enrolment:
    enrolment = (
        Enrolment.objects.filter(pk=enrolment_id, cohort__in=cohorts_visible_to(staff, perm=perm))
        .select_related("cohort__course", "cohort__lead", "person")
        .first()
    )
    if enrolment is None:
        raise NotInScope
    return enrolment


def result_for(staff: Any, result_id: int, *, perm: Perm = Perm.VIEW_TRAINING) -> Result:
    result = (
        Result.objects.filter(pk=result_id, enrolment__cohort__in=cohorts_visible_to(staff, perm=perm))
        .select_related("enrolment__cohort__lead", "enrolment__person", "assessment__module", "entered_by")
        .first()
    )
    if result is None:
        raise NotInScope
    return result


def person_for(staff: Any, person_id: str) -> Person:
    """A person enrolled in one of the staff member's cohorts (the only people training may show)."""
    visible = Enrolment.objects.filter(person=OuterRef("pk"), cohort__in=cohorts_visible_to(staff))
    person = Person.objects.filter(pk=person_id).filter(Exists(visible)).only("id", "call_sign", "status").first()
    if person is None:
        raise NotInScope
    return person


def cohort_instructors(cohort: Cohort) -> list[str]:
    """Usernames of the instructors granted this cohort."""
    return list(
        RoleGrant.objects.filter(role=Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort.pk))
        .order_by("staff__username")
        .values_list("staff__username", flat=True)
    )


def course_modules(course: Course) -> list[Module]:
    return list(
        Module.objects.filter(course=course).prefetch_related("assessments", "grants", "requires").order_by("position")
    )


# --- qualifications ------------------------------------------------------------------------------


def expiry_date(granted_on: date, validity_months: int | None) -> date | None:
    """The first day a qualification is no longer held: the same day of the month, months later.

    A grant on the 31st (or 29 February) whose month of expiry is shorter expires on that
    month's last day, so "valid for 12 months" never runs into the 13th month.
    """
    if validity_months is None:
        return None
    months = granted_on.month - 1 + validity_months
    year, month = granted_on.year + months // 12, months % 12 + 1
    return date(year, month, min(granted_on.day, calendar.monthrange(year, month)[1]))


def is_held(grant: PersonQualification, on: date) -> bool:
    """Held from ``granted_on`` through the day before ``expires_on``; expired on ``expires_on`` itself."""
    return grant.granted_on <= on and (grant.expires_on is None or on < grant.expires_on)


@dataclass(frozen=True)
class QualificationLine:
    code: str
    name: str
    granted_on: date
    expires_on: date | None
    state: str  # "valid", "expiring" (within EXPIRY_WARNING_DAYS) or "expired"
    days_left: int | None


def _line(grant: PersonQualification, today: date) -> QualificationLine:
    days_left = None if grant.expires_on is None else (grant.expires_on - today).days
    if not is_held(grant, today):
        state = "expired"
    elif days_left is not None and days_left <= EXPIRY_WARNING_DAYS:
        state = "expiring"
    else:
        state = "valid"
    return QualificationLine(
        code=grant.qualification.code,
        name=grant.qualification.name,
        granted_on=grant.granted_on,
        expires_on=grant.expires_on,
        state=state,
        days_left=days_left,
    )


def _latest_grants() -> QuerySet[PersonQualification]:
    """Each person's newest grant of each qualification (a renewal hides the grant it renews)."""
    newer = PersonQualification.objects.filter(
        person=OuterRef("person"), qualification=OuterRef("qualification"), granted_on__gt=OuterRef("granted_on")
    )
    return PersonQualification.objects.exclude(Exists(newer)).select_related("qualification")


def qualification_record(*, person: Person, today: date | None = None) -> list[QualificationLine]:
    """A person's qualifications, newest grant of each, with its state on ``today``."""
    today = today or timezone.localdate()
    return [_line(g, today) for g in _latest_grants().filter(person=person).order_by("qualification__code")]


def person_holds(*, person_id: str, qualification_code: str, on: date | None = None) -> bool:
    """Whether the person holds the qualification on that day (for assignment rules in other apps)."""
    on = on or timezone.localdate()
    return (
        PersonQualification.objects.filter(
            person_id=person_id, qualification__code=qualification_code, granted_on__lte=on
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=on))
        .exists()
    )


@dataclass(frozen=True)
class ExpiryWarning:
    person_id: str
    call_sign: str
    line: QualificationLine


EXPIRING_ORDER = ("expires_on", "person__call_sign_key", "id")
EXPIRING_PAGE = 100


def _warning(grant: PersonQualification, today: date) -> ExpiryWarning:
    return ExpiryWarning(person_id=grant.person_id, call_sign=grant.person.call_sign, line=_line(grant, today))


def _expiring(staff: Any, today: date) -> QuerySet[PersonQualification]:
    visible = Enrolment.objects.filter(person=OuterRef("person"), cohort__in=cohorts_visible_to(staff))
    return (
        _latest_grants()
        .filter(expires_on__gt=today, expires_on__lte=today + timedelta(days=EXPIRY_WARNING_DAYS))
        .filter(Exists(visible))
        .select_related("person")
    )


def expiring_qualifications(*, staff: Any, today: date | None = None) -> list[ExpiryWarning]:
    """Newest grants expiring within ``EXPIRY_WARNING_DAYS`` (from tomorrow on), of people in the staff's cohorts."""
    today = today or timezone.localdate()
    grants = _expiring(staff, today).order_by("expires_on", "person__call_sign")
    return [_warning(g, today) for g in grants]


def expiring_page(
    *, staff: Any, today: date | None = None, after: str | None = None, limit: int | None = None
) -> tuple[list[ExpiryWarning], str | None]:
    """One keyset page of ``expiring_qualifications`` (soonest first) and the next page's cursor."""
    today = today or timezone.localdate()
    page = keyset_page(_expiring(staff, today), EXPIRING_ORDER, after=after, limit=limit or EXPIRING_PAGE)
    warnings = [
        ExpiryWarning(person_id=g.person_id, call_sign=g.person.call_sign, line=_line(g, today)) for g in page.rows
    ]
    return warnings, page.next


# --- gradebook -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellResult:
    """What a gradebook cell shows of a result (its current version): read as plain values, not as
    ``Result`` models, since a cohort has up to 1,560 of them on one page."""

    pk: int
    attempt: int
    score: int
    passed: bool
    instructor_signed_at: datetime | None
    lead_signed_at: datetime | None


@dataclass
class Cell:
    assessment: Assessment
    result: CellResult | None  # the current version of the latest attempt
    attempts: int = 0

    @property
    def state(self) -> str:
        """empty, failed, entered, instructor-signed or signed-off."""
        if self.result is None:
            return "empty"
        if not self.result.passed:
            return "failed"
        if self.result.lead_signed_at is not None:
            return "signed-off"
        if self.result.instructor_signed_at is not None:
            return "instructor-signed"
        return "entered"


@dataclass
class Row:
    enrolment: Enrolment
    cells: list[Cell]
    sessions: int = 0
    present: int = 0
    modules_passed: int = 0
    risks: list[str] = field(default_factory=list)

    @property
    def attendance_percent(self) -> int | None:
        return None if self.sessions == 0 else round(100 * self.present / self.sessions)

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)


@dataclass
class ModuleColumns:
    module: Module
    week: int | None
    assessments: list[Assessment]


@dataclass
class Gradebook:
    cohort: Cohort
    modules: list[ModuleColumns]
    rows: list[Row]
    next: str | None = None
    """With a ``limit``: the cursor of the next page of enrolments; None on the last page."""

    @property
    def assessments(self) -> list[Assessment]:
        return [a for m in self.modules for a in m.assessments]

    @property
    def at_risk_count(self) -> int:
        return sum(1 for r in self.rows if r.at_risk)

    @property
    def completed_count(self) -> int:
        return sum(1 for r in self.rows if r.enrolment.state == EnrolmentState.COMPLETED)

    @property
    def progress_percent(self) -> int:
        total = len(self.rows) * len(self.modules)
        return 0 if total == 0 else round(100 * sum(r.modules_passed for r in self.rows) / total)


RISK_FAILED = "failed-assessment"
RISK_ATTENDANCE = "low-attendance"


def module_columns(cohort: Cohort) -> list[ModuleColumns]:
    """The course's modules in timetable order (week, then position), each with its assessments."""
    weeks = dict(cohort.timetable.values_list("module_id", "week"))
    modules = {m.pk: m for m in Module.objects.filter(course_id=cohort.course_id)}
    by_module: dict[int, list[Assessment]] = defaultdict(list)
    for assessment in Assessment.objects.filter(module__course_id=cohort.course_id).order_by("position", "code"):
        assessment.module = modules[assessment.module_id]  # already fetched: saves a query per column
        by_module[assessment.module_id].append(assessment)
    ordered = sorted(modules.values(), key=lambda m: (weeks.get(m.pk, 10_000), m.position, m.code))
    return [ModuleColumns(module=m, week=weeks.get(m.pk), assessments=by_module[m.pk]) for m in ordered]


ENROLMENT_ORDER = ("person__call_sign_key", "id")


def gradebook(
    *,
    cohort: Cohort,
    module_id: int | None = None,
    enrolment_id: int | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> Gradebook:
    """Every enrolled person's latest results, attendance, modules passed and risks, in five queries.

    With ``module_id`` the columns are that module's only (risks and progress still cover all);
    with ``enrolment_id`` the rows are that enrolment's only; with ``limit`` the rows are one keyset
    page of enrolments by call sign, starting after the cursor ``after`` (``BadCursor`` if not ours).
    """
    columns = module_columns(cohort)
    people = Enrolment.objects.filter(cohort=cohort)
    if enrolment_id is not None:
        people = people.filter(pk=enrolment_id)
    wanted = people.select_related("person").only(
        "id",
        "state",
        "cohort_id",
        "completed_on",
        "person__id",
        "person__call_sign",
        "person__status",
        "person__call_sign_key",
    )
    next_cursor = None
    if limit is None:
        enrolments = list(wanted.order_by("person__call_sign"))
    else:
        page = keyset_page(wanted, ENROLMENT_ORDER, after=after, limit=limit)
        enrolments, next_cursor = page.rows, page.next
        people = Enrolment.objects.filter(pk__in=[e.pk for e in enrolments])
    latest: dict[tuple[int, int], CellResult] = {}
    attempts: dict[tuple[int, int], int] = {}
    current = (
        Result.objects.filter(enrolment__in=people, is_current=True)
        .order_by()
        .values_list(
            "enrolment_id",
            "assessment_id",
            "id",
            "attempt",
            "score",
            "passed",
            "instructor_signed_at",
            "lead_signed_at",
        )
    )
    for enrolment_id, assessment_id, pk, attempt, score, passed, instructor_signed_at, lead_signed_at in current:
        result = CellResult(pk, attempt, score, passed, instructor_signed_at, lead_signed_at)
        key = (enrolment_id, assessment_id)
        attempts[key] = max(attempts.get(key, 0), result.attempt)
        if key not in latest or latest[key].attempt < result.attempt:
            latest[key] = result
    attendance = {
        row["enrolment_id"]: (row["sessions"], row["present"])
        for row in Attendance.objects.filter(enrolment__in=people)
        .values("enrolment_id")
        .annotate(sessions=Count("id"), present=Count("id", filter=Q(present=True)))
    }
    threshold = cohort.course.min_attendance_percent
    rows = []
    for enrolment in enrolments:
        cells_by_module = {
            c.module.pk: [
                Cell(a, latest.get((enrolment.pk, a.pk)), attempts.get((enrolment.pk, a.pk), 0)) for a in c.assessments
            ]
            for c in columns
        }
        row = Row(enrolment=enrolment, cells=[])
        row.sessions, row.present = attendance.get(enrolment.pk, (0, 0))
        row.modules_passed = sum(
            1 for cells in cells_by_module.values() if cells and all(c.state == "signed-off" for c in cells)
        )
        if any(c.state == "failed" for cells in cells_by_module.values() for c in cells):
            row.risks.append(RISK_FAILED)
        if row.sessions and 100 * row.present < threshold * row.sessions:
            row.risks.append(RISK_ATTENDANCE)
        shown = [c for c in columns if module_id is None or c.module.pk == module_id]
        row.cells = [cell for c in shown for cell in cells_by_module[c.module.pk]]
        rows.append(row)
    if module_id is not None:
        columns = [c for c in columns if c.module.pk == module_id]
    return Gradebook(cohort=cohort, modules=columns, rows=rows, next=next_cursor)


def result_history(*, result: Result) -> list[Result]:
    """Every version of every attempt at this assessment by this person, oldest first."""
    return list(
        Result.objects.filter(enrolment_id=result.enrolment_id, assessment_id=result.assessment_id)
        .select_related("entered_by", "lead_signed_by")
        .order_by("attempt", "version")
    )


def person_progress(*, staff: Any, person: Person) -> list[tuple[Enrolment, Row]]:
    """The person's rows in the gradebooks of the staff member's cohorts."""
    out: list[tuple[Enrolment, Row]] = []
    for enrolment in Enrolment.objects.filter(person=person, cohort__in=cohorts_visible_to(staff)).select_related(
        "cohort__course"
    ):
        out.extend((enrolment, row) for row in gradebook(cohort=enrolment.cohort, enrolment_id=enrolment.pk).rows)
    return out
