"""A small world for the reports: people at every stage in two legions, with known timelines.

People are created through ``identity.services.person_create`` and then given a status; their
vetting cases, checks, findings, flags, enrolments and assignments are written as rows with chosen
timestamps (the services stamp "now", and the reports are about elapsed time). Each person's
``Spec`` is kept, so tests compute every expected figure from the specs, not from the database.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

import pytest

from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, person_create
from legionary.training.models import Cohort, Course, Enrolment, EnrolmentState
from legionary.units import services as units
from legionary.units.models import Assignment, Billet, BilletRole, Unit, UnitKind
from legionary.vetting.models import Case, CaseState, Check, CheckResult, CheckType, Finding, ScreeningFlag, Severity
from tests.conftest import MakeStaff

UTC = datetime.UTC
TODAY = datetime.date(2026, 4, 20)
PATH = [
    PersonStatus.RECEIVED,
    PersonStatus.IN_VETTING,
    PersonStatus.DENIED,
    PersonStatus.APPROVED,
    PersonStatus.IN_TRAINING,
    PersonStatus.TRAINED,
    PersonStatus.ASSIGNED,
    PersonStatus.ACTIVE,
]
SERVING = {PersonStatus.ASSIGNED, PersonStatus.ACTIVE}


@dataclass
class Spec:
    """One person's path through the pipeline, as the test knows it."""

    call_sign: str
    legion: str
    received: datetime.datetime
    status: str
    vetting: datetime.datetime | None = None
    decided: datetime.datetime | None = None
    enrolled: datetime.datetime | None = None
    completed: datetime.date | None = None
    assigned: datetime.date | None = None
    guidelines: list[str] = field(default_factory=list)
    open_check_due: datetime.date | None = None
    flagged: bool = False
    flag_resolved: bool = False
    flag_after_denial: bool = False
    cohort: str = ""
    unit: str = ""
    person: Person | None = None

    @property
    def month(self) -> str:
        return self.received.strftime("%Y-%m")

    def reached(self, stage: str) -> bool:
        order = {
            s: i for i, s in enumerate(["received", "in_vetting", "approved", "in_training", "trained", "assigned"])
        }
        if stage == "denied":
            return self.status == PersonStatus.DENIED
        if stage == "in_vetting":
            return self.status != PersonStatus.RECEIVED
        if self.status == PersonStatus.DENIED:
            return stage == "received"
        mine = {
            PersonStatus.RECEIVED: 0,
            PersonStatus.IN_VETTING: 1,
            PersonStatus.APPROVED: 2,
            PersonStatus.IN_TRAINING: 3,
            PersonStatus.TRAINED: 4,
        }.get(self.status, 5)
        return mine >= order[stage]


def _specs() -> list[Spec]:
    rng = random.Random(20260420)  # noqa: S311 -- a fixed seed for repeatable test data, not a secret
    specs: list[Spec] = []
    # Legion, month, how many: frl is large, geo small enough that most of its counts are small.
    batches = [("frl", 1, 14), ("frl", 2, 9), ("frl", 3, 6), ("geo", 1, 4), ("geo", 2, 3)]
    n = 0
    for legion, month, count in batches:
        for _ in range(count):
            n += 1
            received = datetime.datetime(2026, month, rng.randint(1, 27), rng.randint(6, 18), 0, tzinfo=UTC)
            status = rng.choice(PATH)
            spec = Spec(call_sign=f"Rep{n:03d}", legion=legion, received=received, status=status)
            if status != PersonStatus.RECEIVED:
                spec.vetting = received + datetime.timedelta(days=rng.randint(1, 9), hours=rng.randint(0, 20))
            if status == PersonStatus.IN_VETTING:
                spec.open_check_due = TODAY + datetime.timedelta(days=rng.choice([-10, -3, 4, 12]))
            if status not in (PersonStatus.RECEIVED, PersonStatus.IN_VETTING):
                assert spec.vetting is not None
                spec.decided = spec.vetting + datetime.timedelta(days=rng.randint(10, 40), hours=rng.randint(0, 20))
            if status == PersonStatus.DENIED:
                spec.guidelines = rng.sample(["A", "B", "E", "J"], rng.randint(1, 2))
            if status in (PersonStatus.IN_TRAINING, PersonStatus.TRAINED, *SERVING):
                assert spec.decided is not None
                spec.enrolled = spec.decided + datetime.timedelta(days=rng.randint(2, 20))
                spec.cohort = legion
            if status in (PersonStatus.TRAINED, *SERVING):
                assert spec.enrolled is not None
                spec.completed = spec.enrolled.date() + datetime.timedelta(days=rng.randint(80, 95))
            if status in SERVING:
                assert spec.completed is not None
                spec.assigned = spec.completed + datetime.timedelta(days=rng.randint(1, 15))
                spec.unit = f"{legion}-{rng.choice('ab')}" if legion == "frl" else "geo-a"
            if rng.random() < 0.3:
                spec.flagged = True
                spec.flag_resolved = rng.random() < 0.4
                spec.flag_after_denial = rng.random() < 0.5
            specs.append(spec)
    return specs


@dataclass
class World:
    specs: list[Spec]
    admin: Staff
    units: dict[str, Unit]
    billets: dict[str, list[Billet]]
    cohorts: dict[str, Cohort]
    check_types: list[CheckType]
    other: Person


def _person(spec: Spec) -> Person:
    person = person_create(
        identity={
            "given_names": "Quentin",
            "family_name": f"Synthetikov{spec.call_sign}",
            "date_of_birth": "1990-01-01",
        },
        legion=spec.legion,
        actor=Actor("test"),
        preferred_call_sign=spec.call_sign,
    )
    person.status = spec.status
    person.created_at = spec.received
    person.save(update_fields=["status", "created_at"])
    return person


def _case_state(status: str) -> str:
    if status == PersonStatus.RECEIVED:
        return CaseState.RECEIVED
    if status == PersonStatus.IN_VETTING:
        return CaseState.IN_REVIEW
    if status == PersonStatus.DENIED:
        return CaseState.DENIED
    return CaseState.APPROVED


@pytest.fixture
def world(make_staff: MakeStaff) -> World:
    admin = make_staff("admin-reports", Role.ADMINISTRATOR)
    overseer = make_staff("overseer-reports", Role.UNIT_COMMANDER)
    check_types = [
        CheckType.objects.get_or_create(slug=slug, defaults={"name": name, "role": Role.INVESTIGATOR, "due_days": 14})[
            0
        ]
        for slug, name in (("rep-identity", "Identity check"), ("rep-background", "Background check"))
    ]

    def unit(kind: str, name: str, parent: Unit | None, legion: str = "") -> Unit:
        return units.unit_create(
            actor=admin, kind=kind, name=name, overseer=overseer, parent_id=parent.pk if parent else None, legion=legion
        )

    framework = unit(UnitKind.FRAMEWORK, "Framework", None)
    frl = unit(UnitKind.LEGION, "FRL", framework, "frl")
    geo = unit(UnitKind.LEGION, "GEO", framework, "geo")
    found_units = {
        "framework": framework,
        "frl": frl,
        "geo": geo,
        "frl-a": unit(UnitKind.COMPANY, "FRL A Company", frl),
        "frl-b": unit(UnitKind.COMPANY, "FRL B Company", frl),
        "geo-a": unit(UnitKind.COMPANY, "GEO A Company", geo),
    }
    billets: dict[str, list[Billet]] = {}
    for key in ("frl-a", "frl-b", "geo-a"):
        billets[key] = [
            units.billet_create(
                actor=admin, unit_id=found_units[key].pk, role=BilletRole.RIFLEMAN, qualification_codes=[]
            )
            for _ in range(8)
        ]
    course = Course.objects.create(code="rep-basic", name="Basic", weeks=12)
    cohorts = {
        legion: Cohort.objects.create(
            course=course,
            name=f"{legion.upper()} cohort",
            legion=legion,
            start_date=datetime.date(2026, 3, 2),
            site="Site",
            created_at=datetime.datetime(2026, 2, 1, tzinfo=UTC),
        )
        for legion in ("frl", "geo")
    }
    other = person_create(
        identity={"given_names": "Earlier", "family_name": "Applicant", "date_of_birth": "1980-01-01"},
        legion="intl",
        actor=Actor("test"),
        preferred_call_sign="Earlier",
    )
    other.status = PersonStatus.DENIED
    other.created_at = datetime.datetime(2025, 6, 1, tzinfo=UTC)
    other.save(update_fields=["status", "created_at"])
    specs = _specs()
    # The earlier applicant is in every system-wide figure too (no case: he came before this system).
    earlier = Spec(call_sign="Earlier", legion="intl", received=other.created_at, status=PersonStatus.DENIED)
    earlier.person = other
    used: dict[str, int] = {}
    for spec in specs:
        person = _person(spec)
        spec.person = person
        case = Case.objects.create(
            person=person,
            legion=spec.legion,
            state=_case_state(spec.status),
            created_at=spec.received,
            updated_at=spec.received,
            decided_at=spec.decided,
            flagged=spec.flagged,
        )
        if spec.vetting is not None:
            for position, check_type in enumerate(check_types):
                still_open = position == 1 and spec.open_check_due is not None
                Check.objects.create(
                    case=case,
                    check_type=check_type,
                    position=position,
                    due_on=spec.open_check_due if still_open else spec.vetting.date(),
                    result="" if still_open else CheckResult.CLEAR,
                    created_at=spec.vetting + datetime.timedelta(hours=position),
                )
        for letter in spec.guidelines:
            for _ in range(2):  # two findings under one guideline still count the case once
                Finding.objects.create(
                    case=case,
                    guideline=letter,
                    disqualifying_condition="synthetic",
                    severity=Severity.SERIOUS,
                    recorded_by=admin,
                    created_at=spec.received,
                )
        if spec.flagged:
            ScreeningFlag.objects.create(
                case=case,
                matched_person=other,
                reasons=["name+birth_date"],
                matched_status=PersonStatus.DENIED if spec.flag_after_denial else PersonStatus.IN_VETTING,
                created_at=spec.received,
                resolved_at=spec.received if spec.flag_resolved else None,
            )
        if spec.enrolled is not None:
            Enrolment.objects.create(
                cohort=cohorts[spec.cohort],
                person=person,
                state=EnrolmentState.COMPLETED if spec.completed else EnrolmentState.ACTIVE,
                enrolled_at=spec.enrolled,
                completed_on=spec.completed,
            )
        if spec.assigned is not None:
            index = used.get(spec.unit, 0)
            used[spec.unit] = index + 1
            Assignment.objects.create(
                person=person,
                billet=billets[spec.unit][index],
                started_on=spec.assigned,
                assigned_by=admin,
                created_at=datetime.datetime.combine(spec.assigned, datetime.time(9), tzinfo=UTC),
            )
    return World(
        specs=[*specs, earlier],
        admin=admin,
        units=found_units,
        billets=billets,
        cohorts=cohorts,
        check_types=check_types,
        other=other,
    )


@pytest.fixture
def viewers(make_staff: MakeStaff, world: World) -> dict[str, Staff]:
    """Who looks at the reports: exact (may unseal), protected (may not), narrowed to a legion or a unit."""
    return {
        "exact": make_staff("sec-reports", Role.SECURITY_OFFICER),
        "protected": make_staff("intake-reports", Role.INTAKE_OFFICER),
        "geo": make_staff("adj-geo", Role.ADJUDICATOR, scope_kind=ScopeKind.LEGION, scope_ref="geo"),
        "commander": make_staff(
            "cmd-frl-a", Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT, scope_ref=str(world.units["frl-a"].pk)
        ),
    }
