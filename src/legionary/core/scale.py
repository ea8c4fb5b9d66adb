"""The scale fixture: grows an initialised instance to N obviously synthetic people at every stage.

Used by ``legionary demo --people N`` and by the benchmarks (``bench/bench_reports.py``,
``bench/bench_pages.py``). Every person gets what the real paths would have left behind:

* a sealed identity, blind indexes, a call sign and a ``person.created`` audit entry, all made by
  the identity service (``identity.services.people_create_batch``); names come from
  ``core.demo`` ("Demov-123", documents "DEMO000000123" of country ZZ);
* a status spread over the pipeline (received, in vetting, denied, approved, in training, trained,
  assigned, active), legions and the last ~18 months, with a consistent timeline: application,
  vetting started, decision, cohort start, course completed, assignment;
* a vetting case in the matching state with the legion policy's checks (open ones on cases in
  vetting, some overdue, assigned to the instance's investigator, polygraph examiner and
  counter-intelligence officer when there are such staff), findings on denied cases, and
  screening flags on re-applications (a few people apply again with a denied person's identity,
  so the blind indexes really match);
* for people in or past training, an enrolment in a cohort of the basic course (cohorts start
  every two weeks in every legion, a further one for every ``COHORT_SEATS`` trainees) and, for
  some, assessment results; for assigned and active people, an assignment to a billet in a unit
  tree per legion (legion, battalions, companies, platoons) that grows as needed.

Rows other than the identity's are bulk-inserted, not written through the domain services one
action at a time (which would take hours at a million people): units get the rows and the
``units.unit_created`` audit entry ``units.services.unit_create`` would write, and each batch
appends one ``demo.filled`` audit entry with its counts, so the audit log holds about one entry
per person and still verifies.

Each batch of people is one transaction: an interruption leaves whole batches, and the next run
counts the fixture people already there (by their ``demo-NNNNNNN`` reference) and adds only the
difference. Must never: write a plaintext identity anywhere but through the identity service, or
touch rows it did not create.

Where there is more than one CPU, a forked worker process seals and indexes the next batch's
identities (``identity.services.people_seal``: AES-GCM, key wrapping, blind-index HMACs) while
this process writes the current one; the worker needs only the keys and never opens the
database. The rows are the same as with sealing inline (``fill(sealer=False)``); at a million
people on PostgreSQL the database server, not sealing, is the larger cost, so this takes a
fifth or so off the Python side, not half of the wall time (docs/benchmarks.md).
"""

from __future__ import annotations

import datetime
import itertools
import os
import random
import time
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from tqdm import tqdm

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.audit.models import LogHead
from legionary.audit.services import AuditItem, audit_record_many
from legionary.core.demo import BIRTHPLACE, PATRONYMIC, REF_PREFIX, demo_ref, renamed_identity, synthetic_identity
from legionary.db import insert_rows
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, NewPerson, SealedPerson, people_create_batch, people_seal
from legionary.training.models import Assessment, Cohort, Course, Enrolment, EnrolmentState, Result
from legionary.units.models import Assignment, Billet, BilletRole, Unit, UnitKind, path_segment
from legionary.vetting.catalogue import policy_for
from legionary.vetting.models import (
    Case,
    CaseState,
    Check,
    CheckResult,
    CheckType,
    CiReview,
    Finding,
    PolygraphOutcome,
    ScreeningFlag,
    Severity,
)

UTC = datetime.UTC
BATCH = 1000
ACTOR = "demo"
# The account that stands for the staff of the past in the rows the fixture writes (assigned by,
# recorded by) when the instance has nobody in that role. It has no role, no usable password and
# no second factor: nobody can sign in as it, and it sees nothing.
CLERK = "demo-fixture"

# (legion, weight): the Freedom of Russia Legion and the International Legion are the largest.
LEGION_WEIGHTS = (("frl", 30), ("intl", 25), ("bel", 12), ("geo", 12), ("usa", 8), ("gbr", 8), ("pol", 5))
# (status, weight): a pipeline with a vetting backlog and most of the admitted now serving.
STATUS_WEIGHTS = (
    (PersonStatus.RECEIVED, 8),
    (PersonStatus.IN_VETTING, 22),
    (PersonStatus.DENIED, 15),
    (PersonStatus.APPROVED, 5),
    (PersonStatus.IN_TRAINING, 10),
    (PersonStatus.TRAINED, 5),
    (PersonStatus.ASSIGNED, 5),
    (PersonStatus.ACTIVE, 30),
)
# Days since the cohort started, per status of people who reached training (the course is 12 weeks).
COURSE_DAYS = 84
SINCE_COHORT_START = {
    PersonStatus.IN_TRAINING: (0, COURSE_DAYS - 1),
    PersonStatus.TRAINED: (COURSE_DAYS, COURSE_DAYS + 20),
    PersonStatus.ASSIGNED: (COURSE_DAYS + 26, COURSE_DAYS + 46),
    PersonStatus.ACTIVE: (COURSE_DAYS + 31, COURSE_DAYS + 400),
}
TRAINING_STATUSES = frozenset(SINCE_COHORT_START)
REAPPLYING = frozenset({PersonStatus.RECEIVED, PersonStatus.IN_VETTING, PersonStatus.DENIED})
SERVING_STATUSES = frozenset({PersonStatus.ASSIGNED, PersonStatus.ACTIVE})
# Cohorts of the basic course start every two weeks in every legion, on Mondays from this date.
COHORT_EPOCH = datetime.date(2024, 1, 1)
COHORT_EVERY = 14
# Seats in one cohort (a training company); more trainees starting together fill further cohorts, so a
# gradebook holds as many people at 1M as at 10k.
COHORT_SEATS = 120
# Share of people (among those received, in vetting or denied) who re-apply under a denied
# person's identity, and share of enrolments with assessment results entered.
REAPPLY_SHARE = 0.08
RESULTS_SHARE = 0.25
# The unit tree grows by companies of three platoons; a battalion holds four companies.
PLATOON_BILLETS = (
    (BilletRole.COMMANDER, 1),
    (BilletRole.RIFLEMAN, 10),
    (BilletRole.MORTAR_CREW, 6),
    (BilletRole.UAV_OPERATOR, 4),
    (BilletRole.ARTILLERY_OBSERVER, 3),
    (BilletRole.MEDIC, 2),
    (BilletRole.SIGNALS, 2),
    (BilletRole.DRIVER, 2),
)
PLATOONS_PER_COMPANY = 3
COMPANIES_PER_BATTALION = 4
GUIDELINES = "ABCDEFGHIJKLM"
_STATUSES = [s for s, _w in STATUS_WEIGHTS]
_STATUS_CUM = list(itertools.accumulate(w for _s, w in STATUS_WEIGHTS))
_LEGIONS = [legion for legion, _w in LEGION_WEIGHTS]
_LEGION_CUM = list(itertools.accumulate(w for _l, w in LEGION_WEIGHTS))


class ScaleError(Exception):
    """The instance cannot take the fixture (not initialised); the message says what to do."""


@dataclass
class _Batch:
    """One batch, planned: the people to create and the random stream for the rest of its rows."""

    first: int
    plans: list[_Plan]
    items: list[NewPerson]
    rng: random.Random


@dataclass
class FillReport:
    """What a fill did: the fixture's people before and after, and the rows it added."""

    people: int = 0
    added: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    cases: int = 0
    checks: int = 0
    findings: int = 0
    flags: int = 0
    cohorts: int = 0
    enrolments: int = 0
    results: int = 0
    units: int = 0
    billets: int = 0
    assignments: int = 0
    audit_entries: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this process only (with SQLite, the database's work too)

    @property
    def people_per_second(self) -> float:
        return self.added / self.seconds if self.seconds > 0 else 0.0


def check_ready() -> Course:
    """The basic course the fixture enrols people in; ``ScaleError`` when the instance lacks it."""
    course = Course.objects.filter(code="basic").first()
    if course is None:
        raise ScaleError("The basic course is missing; run `legionary init` first.")
    return course


def fixture_people() -> int:
    """How many fixture people the instance holds (references ``demo-...``, an indexed range)."""
    upper = REF_PREFIX[:-1] + chr(ord(REF_PREFIX[-1]) + 1)
    return Person.objects.filter(external_ref__gte=REF_PREFIX, external_ref__lt=upper).count()


def _audit_size() -> int:
    return LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0


@dataclass
class _Plan:
    """One synthetic person's path through the pipeline, before anything is stored."""

    n: int
    status: str
    legion: str
    identity: dict[str, Any]
    received: datetime.datetime
    vetting: datetime.datetime | None = None
    decided: datetime.datetime | None = None
    cohort_start: datetime.date | None = None
    completed: datetime.date | None = None
    assigned: datetime.date | None = None
    reapplies_as: int | None = None  # the index in the batch of the denied person he re-applies as
    renamed_from: int | None = None  # the index in the batch of the person he re-applies as under another name


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class _Filler:
    """The state one fill needs across batches: staff, check policies, cohorts, the unit tree."""

    def __init__(self, *, seed: int, report: FillReport) -> None:
        self.seed = seed
        self.report = report
        self.now = timezone.now()
        self.today = self.now.date()
        self.clerk = self._clerk()
        self.pending_audit: list[AuditItem] = []
        self.by_role: dict[str, Staff] = {
            role: self._staff_with(role) or self.clerk
            for role in (Role.INVESTIGATOR, Role.POLYGRAPH_EXAMINER, Role.CI_OFFICER, Role.INSTRUCTOR)
        }
        self.investigator = self._staff_with(Role.INVESTIGATOR)
        self.instructor = self._staff_with(Role.INSTRUCTOR)
        self.overseer = self._staff_with(Role.UNIT_COMMANDER) or self.clerk
        self.ci_type = CheckType.objects.filter(is_ci_review=True).order_by("slug").first()
        self.policies: dict[str, tuple[list[CheckType], bool]] = {}
        self.course = course = check_ready()
        self.assessments = list(
            Assessment.objects.filter(module__course=course).select_related("module").order_by("module__position")
        )
        # Per (legion, start): the cohort now filling, its seats taken, and how many cohorts start then.
        self.cohorts: dict[tuple[str, datetime.date], list[int]] = {}
        started = (
            Cohort.objects.filter(course=course, name__startswith="Demo ")
            .annotate(seats=Count("enrolments"))
            .order_by("pk")
            .values_list("pk", "legion", "start_date", "seats")
        )
        for pk, legion, start, seats in started:
            sections = self.cohorts.get((legion, start), [0, 0, 0])[2]
            self.cohorts[(legion, start)] = [pk, seats, sections + 1]
        self.framework: Unit | None = Unit.objects.filter(kind=UnitKind.FRAMEWORK, name="Demo framework").first()
        self.legion_units: dict[str, Unit] = {}
        self.battalions: dict[str, list[tuple[Unit, int]]] = {}
        self.free_billets: dict[str, list[int]] = {}
        if self.framework is not None:
            self._load_tree(self.framework)

    # --- staff ---------------------------------------------------------------------------------

    def _clerk(self) -> Staff:
        clerk = Staff.objects.filter(username=CLERK).first()
        if clerk is not None:
            return clerk
        with transaction.atomic():
            clerk = Staff.objects.create_user(username=CLERK, password=None)  # unusable: nobody signs in as it
            audit_record_many(
                [AuditItem(actor=ACTOR, action="staff.created", details={"username": CLERK, "roles": [], "scope": ""})]
            )
        return clerk

    def _staff_with(self, role: str) -> Staff | None:
        grant = (
            RoleGrant.objects.filter(role=role, scope_kind=ScopeKind.SYSTEM, staff__is_active=True)
            .exclude(staff__username=CLERK)
            .select_related("staff")
            .order_by("staff_id")
            .first()
        )
        return grant.staff if grant is not None else None

    # --- the unit tree -------------------------------------------------------------------------

    def _load_tree(self, framework: Unit) -> None:
        found = list(Unit.objects.filter(path__within=framework.path).exclude(pk=framework.pk))
        children: Counter[int] = Counter(u.parent_id for u in found if u.parent_id is not None)
        for unit in found:
            if unit.kind == UnitKind.LEGION:
                self.legion_units[unit.legion] = unit
            elif unit.kind == UnitKind.BATTALION:
                self.battalions.setdefault(unit.legion, []).append((unit, children[unit.pk]))
        for legion_battalions in self.battalions.values():
            legion_battalions.sort(key=lambda item: item[0].pk)
        held = Assignment.objects.filter(ended_on__isnull=True).values("billet_id")
        vacant = (
            Billet.objects.filter(unit__path__within=framework.path)
            .exclude(pk__in=held)
            .values_list("pk", "unit__legion")
            .order_by("-pk")
        )
        for pk, legion in vacant:
            self.free_billets.setdefault(legion, []).append(pk)

    def _unit(self, kind: str, name: str, parent: Unit | None, legion: str = "") -> Unit:
        """A unit with the rows and audit entry ``units.services.unit_create`` would write."""
        legion = legion if kind == UnitKind.LEGION else (parent.legion if parent is not None else "")
        unit = Unit.objects.create(
            parent=parent,
            kind=kind,
            name=name,
            legion=legion,
            path=f"new-{name}",  # digits and dots only in real paths: no collision
            overseer=self.overseer,
            created_at=self.now,
        )
        unit.path = (parent.path if parent is not None else "") + path_segment(unit.pk)
        unit.save(update_fields=["path"])
        self.report.units += 1
        self.pending_audit.append(
            AuditItem(
                actor=CLERK,
                action="units.unit_created",
                details={
                    "unit": unit.pk,
                    "parent": parent.pk if parent is not None else None,
                    "kind": kind,
                    "legion": legion,
                    "overseer": self.overseer.username,
                },
            )
        )
        return unit

    def _add_company(self, legion: str) -> None:
        if self.framework is None:
            self.framework = self._unit(UnitKind.FRAMEWORK, "Demo framework", None)
        top = self.legion_units.get(legion)
        if top is None:
            top = self.legion_units[legion] = self._unit(
                UnitKind.LEGION, f"Demo legion {legion}", self.framework, legion
            )
        battalions = self.battalions.setdefault(legion, [])
        if not battalions or battalions[-1][1] >= COMPANIES_PER_BATTALION:
            battalions.append(
                (self._unit(UnitKind.BATTALION, f"Demo battalion {legion}-{len(battalions) + 1}", top), 0)
            )
        battalion, companies = battalions[-1]
        battalions[-1] = (battalion, companies + 1)
        number = (len(battalions) - 1) * COMPANIES_PER_BATTALION + companies + 1
        company = self._unit(UnitKind.COMPANY, f"Demo company {legion}-{number}", battalion)
        platoons = [
            self._unit(UnitKind.PLATOON, f"Demo platoon {legion}-{number}-{p + 1}", company)
            for p in range(PLATOONS_PER_COMPANY)
        ]
        billets = [Billet(unit=company, role=BilletRole.COMMANDER, created_at=self.now)]
        billets += [
            Billet(unit=platoon, role=role, created_at=self.now)
            for platoon in platoons
            for role, count in PLATOON_BILLETS
            for _ in range(count)
        ]
        made = Billet.objects.bulk_create(billets)
        self.report.billets += len(made)
        # Filled from the front, commanders first.
        self.free_billets.setdefault(legion, [])[:0] = [b.pk for b in reversed(made)]

    def _billet(self, legion: str) -> int:
        free = self.free_billets.setdefault(legion, [])
        if not free:
            self._add_company(legion)
        return free.pop()

    # --- checks and cohorts --------------------------------------------------------------------

    def _checks_for(self, legion: str) -> tuple[list[CheckType], bool]:
        if legion not in self.policies:
            policy = policy_for(legion)
            types = [pc.check_type for pc in policy.checks.select_related("check_type")]
            self.policies[legion] = (types, policy.ci_review == CiReview.ALWAYS)
        return self.policies[legion]

    def _cohort(self, legion: str, start: datetime.date) -> int:
        """A seat in a cohort of ``legion`` starting on ``start``: a new cohort once one holds COHORT_SEATS."""
        filling = self.cohorts.get((legion, start))
        if filling is None or filling[1] >= COHORT_SEATS:
            section = 1 if filling is None else filling[2] + 1
            cohort = Cohort.objects.create(
                course=self.course,
                name=f"Demo {legion} {start.isoformat()} #{section}",
                legion=legion,
                start_date=start,
                site="Demo training site",
                lead=self.instructor,
                created_at=_at(start - datetime.timedelta(days=30), 9),
            )
            filling = self.cohorts[(legion, start)] = [cohort.pk, 0, section]
            self.report.cohorts += 1
        filling[1] += 1
        return filling[0]

    # --- planning ------------------------------------------------------------------------------

    def _plan(self, rng: random.Random, n: int) -> _Plan:
        status = rng.choices(_STATUSES, cum_weights=_STATUS_CUM)[0]
        legion = rng.choices(_LEGIONS, cum_weights=_LEGION_CUM)[0]
        now, today = self.now, self.today

        def before(moment: datetime.datetime, low: float, high: float) -> datetime.datetime:
            return moment - datetime.timedelta(days=rng.uniform(low, high))

        plan = _Plan(n=n, status=status, legion=legion, identity=synthetic_identity(rng, n, legion), received=now)
        if status == PersonStatus.RECEIVED:
            plan.received = before(now, 0, 14)
            return plan
        if status == PersonStatus.IN_VETTING:
            plan.vetting = before(now, 0, 45)
        elif status == PersonStatus.DENIED:
            plan.decided = before(now, 1, 420)
        elif status == PersonStatus.APPROVED:
            plan.decided = before(now, 0, 17)
        else:
            low, high = SINCE_COHORT_START[status]
            first = today - datetime.timedelta(days=high)
            first += datetime.timedelta(days=-(first - COHORT_EPOCH).days % COHORT_EVERY)
            starts = [first + datetime.timedelta(days=d) for d in range(0, high - low + 1, COHORT_EVERY)]
            plan.cohort_start = start = rng.choice([s for s in starts if (today - s).days >= low])
            plan.decided = before(_at(start, 8), 3, 17)
            if status != PersonStatus.IN_TRAINING:
                plan.completed = completed = start + datetime.timedelta(days=COURSE_DAYS)
                if status in SERVING_STATUSES:
                    latest = max(1, min(20, (today - completed).days))
                    plan.assigned = completed + datetime.timedelta(days=rng.randint(1, latest))
        vetting = plan.vetting or before(plan.decided or now, 15, 60)
        plan.vetting = vetting
        plan.received = before(vetting, 1, 10)
        return plan

    def _plans(self, first: int, count: int) -> list[_Plan]:
        rng = random.Random(f"{self.seed}:{first}")  # noqa: S311 — synthetic data, not security
        plans: list[_Plan] = []
        denied: list[int] = []

        def denied_before(plan: _Plan) -> list[int]:
            """The people of the batch denied before ``plan`` applied: whom he may re-apply as."""
            return [i for i in denied if (plans[i].decided or plan.received) < plan.received]

        for n in range(first, first + count):
            plan = self._plan(rng, n)
            if plan.status in REAPPLYING and rng.random() < REAPPLY_SHARE and (earlier := denied_before(plan)):
                self._reapply(plan, rng.choice(earlier), plans)
            elif plan.status == PersonStatus.DENIED:
                denied.append(len(plans))
            plans.append(plan)
        if not any(plan.reapplies_as is not None for plan in plans):
            # Every batch shows screening at work at least once, however small it is.
            for plan in plans:
                if (
                    plan.status in REAPPLYING
                    and plan.status != PersonStatus.DENIED
                    and (earlier := denied_before(plan))
                ):
                    self._reapply(plan, earlier[0], plans)
                    break
        self._rename_once(plans)
        return plans

    @staticmethod
    def _rename_once(plans: list[_Plan]) -> None:
        """Someone of the batch applies again under another name (``core.demo.renamed_identity``):
        screening's possible tier, for a counter-intelligence officer to look at. Once a batch: the
        first applicant not yet decided who arrived after someone neither re-applying nor re-applied
        as (that one gets the patronymic and birthplace they share)."""
        taken = {plan.reapplies_as for plan in plans if plan.reapplies_as is not None}
        free = [i for i, plan in enumerate(plans) if plan.reapplies_as is None and i not in taken]
        for later in free:
            plan = plans[later]
            if plan.status not in (PersonStatus.RECEIVED, PersonStatus.IN_VETTING):
                continue
            earlier = next((i for i in free if plans[i].received < plan.received), None)
            if earlier is None:
                continue
            first = plans[earlier]
            first.identity = {**first.identity, "patronymic": PATRONYMIC, "place_of_birth": BIRTHPLACE}
            plan.identity = renamed_identity(first.identity, plan.n)
            plan.renamed_from = earlier
            return

    @staticmethod
    def _reapply(plan: _Plan, denied: int, plans: list[_Plan]) -> None:
        """A denied applicant tries again under the same identity: screening flags him."""
        plan.reapplies_as = denied
        plan.identity = dict(plans[denied].identity)

    # --- one batch -----------------------------------------------------------------------------

    def prepare(self, first: int, count: int) -> _Batch:
        """The plans and new people of one batch; needs no database, so it can run ahead of writing."""
        plans = self._plans(first, count)
        rng = random.Random(f"{self.seed}:{first}:rows")  # noqa: S311 — synthetic data, not security
        items = [
            NewPerson(
                identity=plan.identity,
                legion=plan.legion,
                language=rng.choice(("en", "ru", "uk")),
                external_ref=demo_ref(plan.n),
            )
            for plan in plans
        ]
        return _Batch(first=first, plans=plans, items=items, rng=rng)

    def write(self, batch: _Batch, sealed: list[SealedPerson] | None = None) -> None:
        """Writes one prepared batch in one transaction; ``sealed``: ``people_seal(batch.items)`` if done already."""
        first, plans, rng = batch.first, batch.plans, batch.rng
        report = self.report
        with transaction.atomic():
            people = people_create_batch(items=batch.items, actor=Actor(ACTOR), sealed=sealed)
            ids = [person.pk for person in people]
            self._set_status(ids, plans)
            cases = self._cases(ids, plans)
            checks, findings = self._checks(rng, cases, plans)
            flags = self._flags(cases, ids, plans)
            enrolments, results, assignments = self._training_and_units(rng, ids, plans)
            audit_record_many(
                [
                    *self.pending_audit,
                    AuditItem(
                        actor=ACTOR,
                        action="demo.filled",
                        details={
                            "first": demo_ref(first),
                            "people": len(ids),
                            "checks": checks,
                            "findings": findings,
                            "flags": flags,
                            "enrolments": enrolments,
                            "results": results,
                            "assignments": assignments,
                        },
                    ),
                ]
            )
            self.pending_audit = []
        report.added += len(ids)
        report.cases += len(cases)
        report.checks += checks
        report.findings += findings
        report.flags += flags
        report.enrolments += enrolments
        report.results += results
        report.assignments += assignments
        for plan in plans:
            report.statuses[str(plan.status)] = report.statuses.get(str(plan.status), 0) + 1

    def _set_status(self, ids: list[str], plans: list[_Plan]) -> None:
        """Moves each new person to his planned status and application date (one executemany)."""
        table = connection.ops.quote_name(Person._meta.db_table)
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET status = %s, created_at = %s WHERE id = %s",  # noqa: S608 — quoted model table
                [(str(plan.status), adapt(plan.received), pk) for pk, plan in zip(ids, plans, strict=True)],
            )

    def _cases(self, ids: list[str], plans: list[_Plan]) -> list[int]:
        """One case per person in the state his status implies; returns their ids, in order."""
        rows: list[tuple[Any, ...]] = []
        investigator = self.investigator.pk if self.investigator is not None else None
        for pk, plan in zip(ids, plans, strict=True):
            state = CASE_STATE.get(plan.status, CaseState.APPROVED)
            decided = state in (CaseState.APPROVED, CaseState.DENIED)
            rows.append(
                (
                    pk,
                    plan.legion,
                    str(state),
                    investigator if plan.status == PersonStatus.IN_VETTING else None,
                    plan.reapplies_as is not None,
                    plan.received,
                    plan.decided or plan.vetting or plan.received,
                    0,
                    {},
                    "import",
                    1,
                    plan.decided if decided else None,
                )
            )
        insert_rows(
            Case,
            (
                "person",
                "legion",
                "state",
                "assigned_to",
                "flagged",
                "created_at",
                "updated_at",
                "version",
                "profile",
                "channel",
                "decision_round",
                "decided_at",
            ),
            rows,
        )
        case_of = dict(Case.objects.filter(person_id__in=ids).values_list("person_id", "pk"))
        return [case_of[pk] for pk in ids]

    def _checks(self, rng: random.Random, cases: list[int], plans: list[_Plan]) -> tuple[int, int]:
        """The policy's checks of every vetted case; returns (checks, findings) added."""
        rows: list[tuple[Any, ...]] = []
        awaiting: list[int] = []
        denied: dict[int, int] = {}  # case id -> position of the adverse check
        for case, plan in zip(cases, plans, strict=True):
            if plan.vetting is None:
                continue
            types, ci_always = self._checks_for(plan.legion)
            flagged = plan.reapplies_as is not None
            if (flagged or ci_always) and self.ci_type and not any(t.is_ci_review for t in types):
                types = [*types, self.ci_type]
            end = plan.decided or self.now
            span = max((end - plan.vetting).total_seconds(), 3600.0)
            # In vetting, the share of checks done grows with the days since vetting started.
            done_share = 1.0 if plan.decided else min(0.95, span / (40 * 86400))
            bad = rng.randrange(len(types)) if plan.status == PersonStatus.DENIED else -1
            if bad >= 0:
                denied[case] = bad
            open_checks = 0
            for position, check_type in enumerate(types):
                staff = self.by_role.get(check_type.role, self.clerk).pk
                due = plan.vetting.date() + datetime.timedelta(days=check_type.due_days)
                opened_by = "flagged" if check_type.is_ci_review and flagged else "policy"
                if position == bad or rng.random() < done_share:
                    completed = plan.vetting + datetime.timedelta(seconds=rng.uniform(0, span))
                    result = str(CheckResult.CLEAR)
                    if position == bad:
                        result = rng.choice((CheckResult.DISQUALIFYING, CheckResult.CONCERN)).value
                    outcome = ""
                    if check_type.is_polygraph:
                        outcome = (PolygraphOutcome.DI if position == bad else PolygraphOutcome.NDI).value
                    examiner, examined = (staff, completed.date()) if check_type.is_polygraph else (None, None)
                    rows.append(
                        (
                            case,
                            check_type.slug,
                            position,
                            None,
                            due,
                            result,
                            staff,
                            completed,
                            opened_by,
                            examiner,
                            examined,
                            [],
                            outcome,
                            plan.vetting,
                            plan.received,
                        )
                    )
                else:
                    open_checks += 1
                    rows.append(
                        (
                            case,
                            check_type.slug,
                            position,
                            staff,
                            due,
                            "",
                            None,
                            None,
                            opened_by,
                            None,
                            None,
                            [],
                            "",
                            plan.vetting,
                            plan.received,
                        )
                    )
            if plan.status == PersonStatus.IN_VETTING and not open_checks:
                awaiting.append(case)
        insert_rows(
            Check,
            (
                "case",
                "check_type",
                "position",
                "assigned_to",
                "due_on",
                "result",
                "completed_by",
                "completed_at",
                "opened_by",
                "examiner",
                "examined_on",
                "question_areas",
                "polygraph_outcome",
                "created_at",
                "case_created_at",
            ),
            rows,
        )
        if awaiting:
            Case.objects.filter(pk__in=awaiting).update(state=CaseState.AWAITING_DECISION)
        if not denied:
            return len(rows), 0
        adverse = Check.objects.filter(case_id__in=list(denied)).values_list(
            "case_id", "position", "pk", "completed_at"
        )
        investigator = self.by_role[Role.INVESTIGATOR].pk
        findings = [
            (
                case,
                rng.choice(GUIDELINES),
                "Synthetic finding of the demo data.",
                "",
                rng.choice((Severity.MODERATE, Severity.SERIOUS)).value,
                pk,
                investigator,
                completed,
            )
            for case, position, pk, completed in adverse
            if denied[case] == position
        ]
        insert_rows(
            Finding,
            (
                "case",
                "guideline",
                "disqualifying_condition",
                "mitigating_conditions",
                "severity",
                "source_check",
                "recorded_by",
                "created_at",
            ),
            findings,
        )
        return len(rows), len(findings)

    def _flags(self, cases: list[int], ids: list[str], plans: list[_Plan]) -> int:
        rows = [
            (case, ids[again], ["document", "name+birth_date"], str(PersonStatus.DENIED), plan.received, plan.decided)
            for case, plan in zip(cases, plans, strict=True)
            if (again := plan.reapplies_as) is not None
        ]
        insert_rows(
            ScreeningFlag, ("case", "matched_person", "reasons", "matched_status", "created_at", "resolved_at"), rows
        )
        return len(rows)

    def _training_and_units(self, rng: random.Random, ids: list[str], plans: list[_Plan]) -> tuple[int, int, int]:
        """Enrolments, some results and assignments; returns how many of each were added."""
        enrolments: list[tuple[Any, ...]] = []
        graded: dict[str, _Plan] = {}
        assignments: list[tuple[Any, ...]] = []
        clerk = self.clerk.pk
        for pk, plan in zip(ids, plans, strict=True):
            if plan.cohort_start is None:
                continue
            state = EnrolmentState.COMPLETED if plan.completed else EnrolmentState.ACTIVE
            cohort = self._cohort(plan.legion, plan.cohort_start)
            enrolments.append((cohort, pk, state.value, _at(plan.cohort_start, 8), plan.completed))
            if rng.random() < RESULTS_SHARE:
                graded[pk] = plan
            if plan.assigned is not None:
                billet = self._billet(plan.legion)
                assignments.append((pk, billet, plan.assigned, None, True, clerk, "", None, [], _at(plan.assigned, 10)))
        insert_rows(Enrolment, ("cohort", "person", "state", "enrolled_at", "completed_on"), enrolments)
        results: list[tuple[Any, ...]] = []
        instructor = self.by_role[Role.INSTRUCTOR].pk
        if graded:
            enrolment_of = Enrolment.objects.filter(person_id__in=list(graded)).values_list("person_id", "pk")
            for person, enrolment in enrolment_of:
                plan = graded[person]
                start = plan.cohort_start or self.today
                week_now = (self.today - start).days // 7 + 1
                for assessment in self.assessments:
                    week = assessment.module.default_week
                    if week >= week_now and not plan.completed:
                        continue
                    entered = _at(start + datetime.timedelta(weeks=week), 16)
                    score = rng.randint(assessment.pass_mark, assessment.max_score)
                    results.append(
                        (enrolment, assessment.pk, 1, 1, True, score, True, "", instructor, entered, entered)
                    )
        insert_rows(
            Result,
            (
                "enrolment",
                "assessment",
                "attempt",
                "version",
                "is_current",
                "score",
                "passed",
                "reason",
                "entered_by",
                "entered_at",
                "instructor_signed_at",
            ),
            results,
        )
        insert_rows(
            Assignment,
            (
                "person",
                "billet",
                "started_on",
                "ended_on",
                "is_latest",
                "assigned_by",
                "override_reason",
                "override_approved_by",
                "missing_qualifications",
                "created_at",
            ),
            assignments,
        )
        # The billets just filled are no longer vacant (units.services._vacancy does it for one).
        filled = [row[1] for row in assignments]
        for first in range(0, len(filled), 500):
            Billet.objects.filter(pk__in=filled[first : first + 500]).update(vacant=False)
        return len(enrolments), len(results), len(assignments)


CASE_STATE: dict[str, CaseState] = {
    PersonStatus.RECEIVED: CaseState.RECEIVED,
    PersonStatus.IN_VETTING: CaseState.IN_REVIEW,
    PersonStatus.DENIED: CaseState.DENIED,
}


def fill(people: int, *, progress_to: IO[str] | None = None, seed: int = 7, sealer: bool | None = None) -> FillReport:
    """Grows the instance to ``people`` fixture people (adds ``people - k`` when ``k`` are there).

    The instance must be initialised (schema, keyring, audit signing key, curriculum: ``legionary
    init``), else ``ScaleError``. With ``progress_to``, draws a progress bar there. Raises
    ``ValueError`` for a negative count. ``sealer``: seal and index each batch's identities in a
    second process while the previous batch is written (``None``: when there are several CPUs and
    batches, outside a transaction); the rows are the same either way.
    """
    if people < 0:
        raise ValueError("The number of people must be zero or more.")
    started, cpu_started = time.perf_counter(), time.process_time()
    existing = fixture_people()
    report = FillReport(people=max(existing, people))
    if existing >= people:
        return report
    audit_before = _audit_size()
    filler = _Filler(seed=seed, report=report)
    starts = range(existing, people, BATCH)
    if sealer is None:
        sealer = (os.cpu_count() or 1) > 1 and len(starts) > 1 and not connection.in_atomic_block
    bar = tqdm(
        total=people,
        initial=existing,
        desc="people",
        unit="person",
        file=progress_to,
        disable=progress_to is None,
        dynamic_ncols=True,
    )
    # Forked, so the worker has the settings and the keyring already; it never touches the
    # database (sealing needs only the keys), so the parent's connection is not shared in use.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork")) if sealer else None
    # Batches planned and handed to the worker but not yet written: with a worker, one is kept
    # being sealed while the one before it is written; without, each is written at once.
    ahead: deque[tuple[_Batch, Future[list[SealedPerson]] | None]] = deque()
    keep_ahead = 1 if pool is not None else 0

    def write_oldest() -> None:
        batch, sealing = ahead.popleft()
        filler.write(batch, sealing.result() if sealing is not None else None)
        bar.update(len(batch.items))

    try:
        for first in starts:
            batch = filler.prepare(first, min(BATCH, people - first))
            ahead.append((batch, pool.submit(people_seal, batch.items) if pool is not None else None))
            if len(ahead) > keep_ahead:
                write_oldest()
        while ahead:
            write_oldest()
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    report.audit_entries = _audit_size() - audit_before
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    return report
