"""Pipeline figures for the reports dashboard, its exports and ``legionary report pipeline``.

Responsible for counting, always inside a ``ReportScope``: for staff it is built from
``access.scopes.people_visible_to`` and ``units_visible_to`` with ``Perm.VIEW_REPORTS`` (the one
need-to-know rule), for the command line it is the whole system. Every figure here is exact; small
numbers are hidden later, in one place (``reports.tables``), before anything is shown or exported.

The figures:

* **funnel**, per legion and per month of application: how many people *reached* each stage
  (received, in vetting, approved, denied, in training, trained, assigned) and how many are
  *at* it now. Reached is read from the person's status, which only moves forward along the path;
  everyone in a service status (active, on leave, wounded, ...) has been assigned.
* **time in each stage** (median and 90th percentile, in days), per legion, per month of
  application and overall: days computed in SQL (``reports.aggregates.DaysBetween``), one row per
  person, percentiles over those rows (see ``durations``). Stage entry times come from
  the model timestamps, not the audit log: received = ``Person.created_at``; vetting started = the
  first ``Check.created_at`` of the case (``vetting_start`` creates the checks); decided =
  ``Case.decided_at`` of a case now approved or denied; training = the first
  ``Enrolment.enrolled_at``; trained = the first ``Enrolment.completed_on``; assigned = the first
  ``Assignment.started_on``. The audit log holds the same instants, but its details live inside
  the hashed entry body (not indexed), reading it would scan the whole log, and it is the security
  record, not a statistics source. Only completed stages count (both ends known).
* **overdue checks** (no result, due before today, on a case not yet decided), per legion and check.
* **screening flags** (possible duplicates and re-applications), per legion and month of application.
* **denial reasons**: denied cases with a SEAD 4 finding, per guideline and legion (a case counts
  once per guideline however many findings it has).
* **cohort progress** and **unit strength against billets**: the state now.

The period (``since``/``until``) selects people by the date their application was received; the
sections that describe the state now (overdue checks, cohorts, unit strength) ignore it. A
dashboard costs a fixed number of queries whatever the number of people.

Two ways to the same figures (``pipeline_dashboard``): counted **live** from the records, as
described above, or read from the **rollup** that ``legionary report refresh`` pre-counts
(``reports.rollup``), whose cost does not grow with the people. The rollup is read when the
viewer's scope is whole legions or the whole system (``ReportScope.whole``) and a finished rollup
exists; narrower scopes (a unit, cohort or case grant, or a role that narrows what it sees) are
small by construction and always counted live. Both give the same numbers on the same records,
except the medians and 90th percentiles, which the rollup reads from tenths of a day (within
0.05 day of the live figure). ``Dashboard.source`` says which way was taken, and as of when.

Must never: read a sealed identity, count anyone outside the scope, or write anything.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, Max, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from legionary.access.models import RoleGrant
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind, permissions_of
from legionary.access.scopes import people_visible_to, units_visible_to
from legionary.identity.models import Person, PersonStatus
from legionary.reports.aggregates import DaysBetween, MonthOf, histogram_percentile, percentile_of
from legionary.training.models import Enrolment, EnrolmentState
from legionary.units.models import Assignment, Billet, Unit
from legionary.vetting.models import CaseState, Check, Finding, ScreeningFlag

SERVICE_STATUSES = frozenset(
    {
        PersonStatus.ASSIGNED,
        PersonStatus.ACTIVE,
        PersonStatus.ON_LEAVE,
        PersonStatus.WOUNDED,
        PersonStatus.MISSING,
        PersonStatus.DISCHARGED,
        PersonStatus.DECEASED,
    }
)
_TRAINED_ON = SERVICE_STATUSES | {PersonStatus.TRAINED}
_IN_TRAINING_ON = _TRAINED_ON | {PersonStatus.IN_TRAINING}
_APPROVED_ON = _IN_TRAINING_ON | {PersonStatus.APPROVED}

FUNNEL_STAGES: tuple[str, ...] = ("received", "in_vetting", "approved", "denied", "in_training", "trained", "assigned")

# Which statuses mean a person has reached a stage, and which mean he is at it now.
REACHED: dict[str, Q] = {
    "received": Q(pk__isnull=False),
    "in_vetting": ~Q(status=PersonStatus.RECEIVED),
    "approved": Q(status__in=_APPROVED_ON),
    "denied": Q(status=PersonStatus.DENIED),
    "in_training": Q(status__in=_IN_TRAINING_ON),
    "trained": Q(status__in=_TRAINED_ON),
    "assigned": Q(status__in=SERVICE_STATUSES),
}
AT_NOW: dict[str, Q] = {
    "received": Q(status=PersonStatus.RECEIVED),
    "in_vetting": Q(status=PersonStatus.IN_VETTING),
    "approved": Q(status=PersonStatus.APPROVED),
    "denied": Q(status=PersonStatus.DENIED),
    "in_training": Q(status=PersonStatus.IN_TRAINING),
    "trained": Q(status=PersonStatus.TRAINED),
    "assigned": Q(status__in=SERVICE_STATUSES),
}

# Stages a person spends time in, in order: (stage, entered, left) as annotation names below.
DURATION_STAGES: tuple[tuple[str, str, str], ...] = (
    ("received", "t_received", "t_vetting"),
    ("in_vetting", "t_vetting", "t_decided"),
    ("approved", "t_decided", "t_enrolled"),
    ("in_training", "t_enrolled", "t_trained"),
    ("trained", "t_trained", "t_assigned"),
)
OPEN_CASE_STATES = [s for s in CaseState.values if s not in (CaseState.APPROVED, CaseState.DENIED)]


# --- scope and period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WholeLegions:
    """A scope that is exactly every person and unit of some legions; ``legions`` None: of all, the whole system."""

    legions: frozenset[str] | None


@dataclass(frozen=True)
class ReportScope:
    """Whose people and units a report counts, and whether small numbers may be shown exactly.

    ``whole`` is set when ``people`` and ``units`` are exactly those of whole legions (or of the
    whole system): then the figures may be read from the rollup, which is counted per legion.
    """

    people: QuerySet[Person]
    units: QuerySet[Unit]
    exact: bool
    label: str
    whole: WholeLegions | None = None


# Roles that see the whole of their grant's scope (``access.scopes`` narrows every other one: unit
# commanders to assigned people, instructors to enrolled ones, investigators and polygraph examiners
# to their own cases, counter-intelligence officers to flagged cases). A list of those known to see
# everything, so that a role added later is counted live until it is known to be whole here too.
WHOLE_SCOPE_ROLES = frozenset(
    {Role.ADMINISTRATOR, Role.INTAKE_OFFICER, Role.ADJUDICATOR, Role.SENIOR_ADJUDICATOR, Role.SECURITY_OFFICER}
)


def whole_legions(grants: list[tuple[str, str, str]]) -> WholeLegions | None:
    """Whether the report grants among ``grants`` (role, scope kind, ref) add up to whole legions.

    A system grant of a whole-scope role is everyone, whatever else is held. Otherwise every grant
    carrying ``Perm.VIEW_REPORTS`` must be a legion grant of a whole-scope role; any other one
    (unit, cohort, case, or a narrowing role) makes a scope that is not whole legions.
    """
    reporting = [(r, k, ref) for r, k, ref in grants if Perm.VIEW_REPORTS in ROLE_PERMISSIONS.get(r, frozenset())]
    if not reporting:
        return None
    if any(k == ScopeKind.SYSTEM and r in WHOLE_SCOPE_ROLES for r, k, _ref in reporting):
        return WholeLegions(None)
    if all(k == ScopeKind.LEGION and r in WHOLE_SCOPE_ROLES for r, k, _ref in reporting):
        return WholeLegions(frozenset(ref for _r, _k, ref in reporting))
    return None


def scope_for_staff(staff: Any) -> ReportScope:
    """The people and units ``staff`` may see through ``Perm.VIEW_REPORTS``; exact only with unseal rights."""
    grants = (
        list(RoleGrant.objects.filter(staff=staff).values_list("role", "scope_kind", "scope_ref"))
        if staff.is_active
        else []
    )
    return ReportScope(
        people=people_visible_to(staff, perm=Perm.VIEW_REPORTS),
        units=units_visible_to(staff, perm=Perm.VIEW_REPORTS),
        exact=Perm.UNSEAL_IDENTITY in permissions_of({role for role, _kind, _ref in grants}),
        label=staff.get_username(),
        whole=whole_legions(grants),
    )


def system_scope(*, exact: bool) -> ReportScope:
    """Everyone, for the command line (an operator on the machine); small numbers hidden unless ``exact``."""
    return ReportScope(
        people=Person.objects.all(), units=Unit.objects.all(), exact=exact, label="system", whole=WholeLegions(None)
    )


@dataclass(frozen=True)
class Period:
    """Which applications a report covers: a legion (or all) and received dates, both ends inclusive."""

    legion: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None

    def people(self, scope: ReportScope) -> QuerySet[Person]:
        people = scope.people
        if self.legion:
            people = people.filter(legion=self.legion)
        # Day bounds as instants in the current time zone (what ``__date`` compares), so that the
        # comparison is on the indexed column itself rather than on a function of it.
        if self.since is not None:
            people = people.filter(created_at__gte=_day_start(self.since))
        if self.until is not None:
            people = people.filter(created_at__lt=_day_start(self.until + datetime.timedelta(days=1)))
        return people


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _month(value: str | None) -> str:
    return value or ""


# --- the figures -----------------------------------------------------------------------------------


@dataclass
class FunnelRow:
    legion: str
    month: str
    reached: dict[str, int]
    now: dict[str, int]


def funnel(scope: ReportScope, period: Period) -> list[FunnelRow]:
    """Reached and current counts per stage, per legion and month of application (one query)."""
    counts: dict[str, Any] = {}
    for stage in FUNNEL_STAGES:
        counts[f"reached_{stage}"] = Count("pk", filter=REACHED[stage])
        counts[f"now_{stage}"] = Count("pk", filter=AT_NOW[stage])
    rows: Any = (
        period.people(scope)
        .annotate(month=MonthOf("created_at"))
        .values("legion", "month")
        .annotate(**counts)
        .order_by("legion", "month")
    )
    return [
        FunnelRow(
            legion=row["legion"],
            month=_month(row["month"]),
            reached={s: row[f"reached_{s}"] for s in FUNNEL_STAGES},
            now={s: row[f"now_{s}"] for s in FUNNEL_STAGES},
        )
        for row in rows
    ]


@dataclass
class DurationRow:
    """Days spent in one stage by the people of one group (legion or month; "" for all)."""

    stage: str
    legion: str
    month: str
    people: int
    median: float | None
    p90: float | None


def stage_days(people: QuerySet[Person]) -> Any:
    """Per person: legion, month received, and the days spent in each completed stage (NULL if not).

    One row per person, with each stage's entry instant found once (an indexed subquery).
    """
    first_check = Check.objects.filter(case__person=OuterRef("pk")).order_by("created_at").values("created_at")
    first_enrolment = Enrolment.objects.filter(person=OuterRef("pk")).order_by("enrolled_at").values("enrolled_at")
    first_completion = (
        Enrolment.objects.filter(person=OuterRef("pk"), state=EnrolmentState.COMPLETED, completed_on__isnull=False)
        .order_by("completed_on")
        .values("completed_on")
    )
    first_assignment = Assignment.objects.filter(person=OuterRef("pk")).order_by("started_on").values("started_on")
    timed = people.annotate(
        t_received=F("created_at"),
        t_vetting=Subquery(first_check[:1]),
        # A decision counts only while it stands: an appealed case is back in vetting.
        t_decided=Case(
            When(case__state__in=[CaseState.APPROVED, CaseState.DENIED], then=F("case__decided_at")), default=None
        ),
        t_enrolled=Subquery(first_enrolment[:1]),
        t_trained=Subquery(first_completion[:1]),
        t_assigned=Subquery(first_assignment[:1]),
    )
    spans = {f"d_{stage}": DaysBetween(F(left), F(entered)) for stage, entered, left in DURATION_STAGES}
    return timed.annotate(month=MonthOf("created_at"), **spans).values("legion", "month", *spans)


def durations(scope: ReportScope, period: Period) -> list[DurationRow]:
    """Median and 90th percentile of days per stage: overall, per legion, per month (one query).

    The days are computed in SQL, one row per person; the percentiles in Python over those rows
    (``percentile_of``, linear interpolation like PostgreSQL's ``percentile_cont``). Percentile
    aggregates in SQL were measured slower: grouped three ways, the database recomputes each
    person's stage subqueries once per aggregate and grouping.
    """
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for row in stage_days(period.people(scope)).iterator(chunk_size=5000):
        month = _month(row["month"])
        for stage, _entered, _left in DURATION_STAGES:
            days = row[f"d_{stage}"]
            if days is not None:
                groups[(stage, "", "")].append(days)
                groups[(stage, row["legion"], "")].append(days)
                groups[(stage, "", month)].append(days)
    return duration_rows(
        {key: (len(values), percentile_of(values, 0.5), percentile_of(values, 0.9)) for key, values in groups.items()}
    )


def histogram_durations(groups: dict[tuple[str, str, str], list[tuple[int, int]]]) -> list[DurationRow]:
    """``durations`` from histograms of tenths of a day per (stage, legion, month), each sorted by bucket."""
    return duration_rows(
        {
            key: (sum(n for _b, n in counts), histogram_percentile(counts, 0.5), histogram_percentile(counts, 0.9))
            for key, counts in groups.items()
        }
    )


def duration_rows(figures: dict[tuple[str, str, str], tuple[int, float | None, float | None]]) -> list[DurationRow]:
    """The rows of ``durations`` from (people, median, p90) per (stage, legion, month) with anyone in it."""
    keys = {(legion, month) for _stage, legion, month in figures} | {("", "")}
    # Overall first, then each legion, then each month.
    ordered = sorted(keys, key=lambda k: (bool(k[0]) + 2 * bool(k[1]), k))
    nobody = (0, None, None)
    return [
        DurationRow(stage, legion, month, *figures.get((stage, legion, month), nobody))
        for legion, month in ordered
        for stage, _entered, _left in DURATION_STAGES
    ]


@dataclass
class OverdueRow:
    legion: str
    check_type: str
    check_name: str
    open: int
    overdue: int


def overdue_checks(scope: ReportScope, period: Period, *, today: datetime.date) -> list[OverdueRow]:
    """Checks without a result on undecided cases, and how many of them are past due (one query)."""
    checks = Check.objects.filter(case__person__in=scope.people, result="", case__state__in=OPEN_CASE_STATES)
    if period.legion:
        checks = checks.filter(case__legion=period.legion)
    rows = (
        checks.values("case__legion", "check_type_id", "check_type__name")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=today)))
        .order_by("case__legion", "check_type_id")
    )
    return [
        OverdueRow(
            legion=r["case__legion"],
            check_type=r["check_type_id"],
            check_name=r["check_type__name"],
            open=r["open"],
            overdue=r["overdue"],
        )
        for r in rows
    ]


@dataclass
class FlagRow:
    legion: str
    month: str
    flagged: int
    unresolved: int
    after_denial: int


def flag_counts() -> dict[str, Count]:
    """What ``screening_flags`` counts over screening flags (each case once)."""
    return {
        "flagged": Count("case", distinct=True),
        "unresolved": Count("case", distinct=True, filter=Q(resolved_at__isnull=True)),
        "after_denial": Count("case", distinct=True, filter=Q(matched_status=PersonStatus.DENIED)),
    }


def screening_flags(scope: ReportScope, period: Period) -> list[FlagRow]:
    """Cases flagged as possible duplicates, still unresolved, and re-applications after a denial (one query)."""
    flags = ScreeningFlag.objects.filter(case__person__in=period.people(scope))
    rows: Any = (
        flags.annotate(month=MonthOf("case__person__created_at"))
        .values("case__legion", "month")
        .annotate(**flag_counts())
        .order_by("case__legion", "month")
    )
    return [
        FlagRow(
            legion=r["case__legion"],
            month=_month(r["month"]),
            flagged=r["flagged"],
            unresolved=r["unresolved"],
            after_denial=r["after_denial"],
        )
        for r in rows
    ]


@dataclass
class DenialRow:
    guideline: str
    legion: str
    cases: int


def denial_reasons(scope: ReportScope, period: Period) -> list[DenialRow]:
    """Denied cases with a finding under each SEAD 4 guideline, per legion (one query)."""
    findings = Finding.objects.filter(case__state=CaseState.DENIED, case__person__in=period.people(scope))
    rows = (
        findings.values("guideline", "case__legion")
        .annotate(cases=Count("case", distinct=True))
        .order_by("guideline", "case__legion")
    )
    return [DenialRow(guideline=r["guideline"], legion=r["case__legion"], cases=r["cases"]) for r in rows]


@dataclass
class CohortRow:
    cohort_id: int
    name: str
    legion: str
    course: str
    start_date: datetime.date
    weeks: int
    week_now: int
    enrolled: int
    in_training: int
    completed: int


def cohort_progress(scope: ReportScope, period: Period, *, today: datetime.date) -> list[CohortRow]:
    """Each cohort with a trainee in scope: the course week it is in, and its trainees by state (one query)."""
    enrolments = Enrolment.objects.filter(person__in=scope.people)
    if period.legion:
        enrolments = enrolments.filter(cohort__legion=period.legion)
    rows = (
        enrolments.values("cohort_id", "cohort__name", "cohort__legion", "cohort__course__code", "cohort__start_date")
        .annotate(
            weeks=Max("cohort__course__weeks"),
            enrolled=Count("pk"),
            in_training=Count("pk", filter=Q(state=EnrolmentState.ACTIVE)),
            completed=Count("pk", filter=Q(state=EnrolmentState.COMPLETED)),
        )
        .order_by("-cohort__start_date", "cohort_id")
    )
    return [
        CohortRow(
            cohort_id=r["cohort_id"],
            name=r["cohort__name"],
            legion=r["cohort__legion"],
            course=r["cohort__course__code"],
            start_date=r["cohort__start_date"],
            weeks=r["weeks"],
            week_now=course_week(r["cohort__start_date"], r["weeks"], today),
            enrolled=r["enrolled"],
            in_training=r["in_training"],
            completed=r["completed"],
        )
        for r in rows
    ]


def course_week(start_date: datetime.date, weeks: int, today: datetime.date) -> int:
    """The week of the course a cohort is in today: 0 before it starts, ``weeks`` once it has ended."""
    elapsed = (today - start_date).days
    return 0 if elapsed < 0 else min(weeks, elapsed // 7 + 1)


@dataclass
class StrengthRow:
    unit_id: int
    name: str
    kind: str
    legion: str
    depth: int
    billets: int
    filled: int


def unit_strength(scope: ReportScope, period: Period) -> list[StrengthRow]:
    """Billets and filled billets of each unit's subtree, for the top two levels in scope (three queries).

    A billet is filled when its current holder (an assignment not ended) is a person in scope.
    """
    units = scope.units
    if period.legion:
        units = units.filter(legion=period.legion)
    found = list(units.values_list("pk", "path", "name", "kind", "legion").order_by("path"))
    if not found:
        return []
    billets = dict(
        Billet.objects.filter(unit__in=units).values("unit_id").annotate(n=Count("pk")).values_list("unit_id", "n")
    )
    filled = dict(
        Assignment.objects.filter(ended_on__isnull=True, billet__unit__in=units, person__in=scope.people)
        .values("billet__unit_id")
        .annotate(n=Count("pk"))
        .values_list("billet__unit_id", "n")
    )
    by_path = {path: pk for pk, path, _name, _kind, _legion in found}
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for pk, path, _name, _kind, _legion in found:
        # Add the unit's own billets to itself and to every ancestor that is in scope too.
        for ancestor_path in ancestor_paths(path):
            ancestor = by_path.get(ancestor_path)
            if ancestor is not None:
                totals[ancestor][0] += billets.get(pk, 0)
                totals[ancestor][1] += filled.get(pk, 0)
    return top_two_levels(
        [(pk, path, name, kind, legion, totals[pk][0], totals[pk][1]) for pk, path, name, kind, legion in found]
    )


def ancestor_paths(path: str) -> list[str]:
    """The paths of a unit and of every unit above it, from the top."""
    segments = path.split(".")[:-1]
    return [".".join(segments[: depth + 1]) + "." for depth in range(len(segments))]


def top_two_levels(units: list[tuple[int, str, str, str, str, int, int]]) -> list[StrengthRow]:
    """Of (id, path, name, kind, legion, billets, filled) in scope, by path: the top level and the one below."""
    if not units:
        return []
    top = min(path.count(".") for _pk, path, *_rest in units)
    return [
        StrengthRow(
            unit_id=pk,
            name=name,
            kind=kind,
            legion=legion,
            depth=path.count(".") - top,
            billets=billets,
            filled=filled,
        )
        for pk, path, name, kind, legion, billets, filled in units
        if path.count(".") - top <= 1
    ]


LIVE = "live"
ROLLUP = "rollup"


@dataclass
class Dashboard:
    """Every exact figure of the dashboard for one scope and period, and where it was read from.

    ``source`` is ``LIVE`` (counted from the records now) or ``ROLLUP`` (pre-counted by the refresh
    that started at ``as_of``).
    """

    scope: ReportScope
    period: Period
    today: datetime.date
    funnel: list[FunnelRow] = field(default_factory=list)
    durations: list[DurationRow] = field(default_factory=list)
    overdue: list[OverdueRow] = field(default_factory=list)
    flags: list[FlagRow] = field(default_factory=list)
    denials: list[DenialRow] = field(default_factory=list)
    cohorts: list[CohortRow] = field(default_factory=list)
    strength: list[StrengthRow] = field(default_factory=list)
    source: str = LIVE
    as_of: datetime.datetime | None = None


def pipeline_dashboard(
    scope: ReportScope, period: Period, *, today: datetime.date | None = None, live: bool = False
) -> Dashboard:
    """All figures of the dashboard, in a fixed number of queries whatever the number of people.

    Read from the newest finished rollup when the scope is whole legions (and ``live`` is not
    asked for), else counted live.
    """
    today = today or timezone.localdate()
    if not live and scope.whole is not None:
        # The rollup is built from this module's definitions, so it is imported here, not above.
        from legionary.reports import rollup

        found = rollup.dashboard(scope, period, today=today)
        if found is not None:
            return found
    return live_dashboard(scope, period, today=today)


def live_dashboard(scope: ReportScope, period: Period, *, today: datetime.date) -> Dashboard:
    """All figures counted from the records now."""
    return Dashboard(
        scope=scope,
        period=period,
        today=today,
        funnel=funnel(scope, period),
        durations=durations(scope, period),
        overdue=overdue_checks(scope, period, today=today),
        flags=screening_flags(scope, period),
        denials=denial_reasons(scope, period),
        cohorts=cohort_progress(scope, period, today=today),
        strength=unit_strength(scope, period),
        source=LIVE,
    )


# --- the people list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeopleFilter:
    """The filters of the people list: those of ``Period`` plus a status."""

    period: Period
    status: str = ""


def people_list(scope: ReportScope, filters: PeopleFilter) -> QuerySet[Person]:
    """The people in scope matching the filters, by call sign: only pseudonymous columns are read."""
    people = filters.period.people(scope)
    if filters.status:
        people = people.filter(status=filters.status)
    return people.only("id", "call_sign", "call_sign_key", "legion", "status", "created_at").order_by(*PEOPLE_ORDER)


PEOPLE_ORDER = ("call_sign_key",)
"""The people list's order: the folded call sign, unique, served by its index (keyset pages)."""
