"""Realistic staff data for the API fuzzer, built through the services as the pages and the API do.

``seed_staff_data(cast)`` fills the database with cases in every state a case passes through
(received, in review with open and recorded checks, awaiting decision, approved, denied, escalated
after a split vote, deferred), a cohort of the basic course with enrolments, recorded, corrected
and signed results, and a small unit tree with billets and assigned legionnaires. It returns the
ids the API takes (``case_id``, ``check_id``, ``cohort_id``, ``result_id``, ``unit_id``,
``person_id``) and the values its bodies name (``call_sign``, ``enrolment_id``, ``assessment_id``,
``version``), so that the fuzzer can draw real rows instead of guessing integers.

Checks are assigned to the cast's investigator, polygraph examiner and CI officer and the votes are
cast by the cast's adjudicators, so every role the fuzzer signs in as owns some of the work.
Identities are obviously synthetic.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, person_create
from legionary.intake.schema import validate_application
from legionary.intake.services import Channel, application_submit
from legionary.training import services as training
from legionary.training.models import Assessment, Course, Enrolment, Result
from legionary.units import services as units
from legionary.units.models import BilletRole, Unit, UnitKind
from legionary.vetting import services as vetting
from legionary.vetting.models import Case, Check, CheckResult, Outcome, PolygraphOutcome
from tests.conftest import MakeStaff
from tests.intake.helpers import application
from tests.reliability.fuzzing import OMIT

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
START = datetime.date(2026, 3, 9)
RATIONALE = "Weighed every check and finding under the whole-person concept."


@dataclass
class Seeded:
    """The ids and body values of the seeded rows, by the name the OpenAPI document gives them."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    # Scoped staff: an instructor of one cohort, a commander of one company (for out-of-scope 404s),
    # and the cohort or unit each one's scope names.
    scoped: dict[str, Staff] = field(default_factory=dict)
    in_scope: dict[str, dict[str, set[Any]]] = field(default_factory=dict)

    def add(self, name: str, *items: Any) -> None:
        pool = self.values.setdefault(name, [])
        pool.extend(item for item in items if item not in pool)

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in sorted(self.values.items())}


def seed_staff_data(cast: dict[str, Staff], make_staff: MakeStaff) -> Seeded:
    """``cast``: one system-wide account per role (``tests.conftest.cast``); ``make_staff`` adds the
    second adjudicator and the scoped accounts."""
    seeded = Seeded()
    # A page cursor comes only from a previous page: mostly ask for the first page.
    seeded.add("after", OMIT)
    _seed_vetting(cast, make_staff, seeded)
    _seed_training(cast, make_staff, seeded)
    _seed_units(cast, make_staff, seeded)
    return seeded


# Vetting ------------------------------------------------------------------------------------------


def _submit(ref: str, n: int) -> Case:
    data = application(
        external_ref=ref,
        identity__given_names=f"Fuzzanov{_letters(n)}",
        identity__family_name=f"Seedovich{_letters(n * 5 + 2)}",
        identity__date_of_birth=f"19{80 + n % 20}-0{1 + n % 9}-1{n % 10}",
        identity__documents=[{"kind": "passport", "country": "RU", "number": f"FZ {n:07d}"}],
        identity__phone=f"+7 913 {n:03d} {n:04d}",
        identity__email=f"fuzz{n}@example.org",
        identity__next_of_kin=[],
    )
    return application_submit(application=validate_application(data), channel=Channel.IMPORT).case


def _checker(cast: dict[str, Staff], role: str) -> Staff:
    return {"investigator": cast[Role.INVESTIGATOR], "polygraph_examiner": cast[Role.POLYGRAPH_EXAMINER]}.get(
        role, cast[Role.CI_OFFICER]
    )


def _finish_checks(case: Case, cast: dict[str, Staff], *, leave_open: int = 0, adverse: bool = False) -> None:
    """Assigns every open check and records its result, except the last ``leave_open``: clear, or
    with ``adverse`` a concern on the first check that is not the polygraph (a denial must rest on one)."""
    checks = list(case.checks.select_related("check_type").filter(result="").order_by("position"))
    for index, check in enumerate(checks):
        who = _checker(cast, check.check_type.role)
        vetting.check_assign(check_id=check.pk, assignee=who, actor=cast[Role.INTAKE_OFFICER], now=NOW)
        if index >= len(checks) - leave_open:
            continue
        polygraph = None
        if check.check_type.is_polygraph:
            polygraph = vetting.PolygraphRecord(
                examined_on=NOW.date(), question_areas=["contacts with foreign services"], outcome=PolygraphOutcome.NDI
            )
        vetting.check_record(
            check_id=check.pk,
            actor=who,
            result=CheckResult.CONCERN if adverse and index == 0 and polygraph is None else CheckResult.CLEAR,
            note="Spoke with the referee in Vorkutograd.",
            polygraph=polygraph,
            now=NOW,
        )


def _seed_vetting(cast: dict[str, Staff], make_staff: MakeStaff, seeded: Seeded) -> None:
    intake = cast[Role.INTAKE_OFFICER]
    first = cast[Role.ADJUDICATOR]
    # A second ordinary adjudicator, so that two votes can disagree and escalate to the senior one.
    other = make_staff("fuzz-adjudicator-2", Role.ADJUDICATOR)
    plan = ["received", "received", "open_checks", "awaiting", "awaiting", "approved", "denied", "split", "deferred"]
    for n, state in enumerate(plan):
        case = _submit(f"fuzz-{n:03d}", n)
        if state != "received":
            vetting.vetting_start(case_id=case.pk, actor=intake, now=NOW)
            _finish_checks(
                case, cast, leave_open=1 if state == "open_checks" else 0, adverse=state in ("denied", "split")
            )
        votes = {
            "approved": [(first, Outcome.APPROVE), (other, Outcome.APPROVE)],
            "denied": [(first, Outcome.DENY), (other, Outcome.DENY)],
            "split": [(first, Outcome.APPROVE), (other, Outcome.DENY)],
            "deferred": [(first, Outcome.DEFER), (other, Outcome.DEFER)],
            "awaiting": [(first, Outcome.APPROVE)] if n % 2 else [],
        }.get(state, [])
        for adjudicator, outcome in votes:
            vetting.case_decide(case_id=case.pk, actor=adjudicator, outcome=outcome, rationale=RATIONALE, now=NOW)
        case.refresh_from_db()
        seeded.add("case_id", case.pk)
        seeded.add("version", case.version)
        seeded.add("person_id", case.person_id)
        seeded.add("call_sign", case.person.call_sign)
    seeded.add("check_id", *Check.objects.values_list("pk", flat=True))
    seeded.add("outcome", *Outcome.values)
    seeded.add("result", *CheckResult.values)
    seeded.add("polygraph_outcome", *PolygraphOutcome.values)


# Training -----------------------------------------------------------------------------------------


def _person(call_sign: str, legion: str, status: str) -> Person:
    person = person_create(
        identity={
            "given_names": "Quentin",
            "family_name": f"Synthetikov{_letters(len(call_sign) * 31 + ord(call_sign[0]))}",
            "date_of_birth": "1990-01-01",
            "next_of_kin": [{"name": "Synthetic Relative", "relation": "mother", "phone": "+380000000000"}],
        },
        legion=legion,
        actor=Actor("test"),
        preferred_call_sign=call_sign,
    )
    person.status = status
    person.save(update_fields=["status"])
    return person


def _seed_training(cast: dict[str, Staff], make_staff: MakeStaff, seeded: Seeded) -> None:
    admin = cast[Role.ADMINISTRATOR]
    instructor = cast[Role.INSTRUCTOR]
    course = Course.objects.get(code="basic")
    cohort = training.cohort_create(
        actor=admin, course_id=course.pk, name="Fuzz A", legion="frl", start_date=START, site="Site North"
    )
    other = training.cohort_create(
        actor=admin, course_id=course.pk, name="Fuzz B", legion="frl", start_date=START, site="Site South"
    )
    training.cohort_update(
        actor=admin, cohort_id=cohort.pk, name=cohort.name, start_date=START, site=cohort.site, lead_id=instructor.pk
    )

    assessments = list(Assessment.objects.filter(module__course=course).order_by("pk")[:4])
    for n, wanted in enumerate(["Kestrel", "Osprey", "Harrier", "Merlin"]):
        # The preferred call sign may be taken already (vetting cases draw theirs from a word list).
        call_sign = _person(wanted, "frl", PersonStatus.APPROVED).call_sign
        enrolment = training.cohort_enrol(actor=admin, cohort_id=cohort.pk if n < 3 else other.pk, call_sign=call_sign)
        seeded.add("enrolment_id", enrolment.pk)
        seeded.add("call_sign", call_sign)
        for assessment in assessments[: n + 1]:
            training.result_record(
                actor=instructor, enrolment_id=enrolment.pk, assessment_id=assessment.pk, score=60 + 10 * n
            )
    # Not yet enrolled: the fuzzer's enrolments can succeed.
    for wanted in ["Peregrine", "Goshawk"]:
        seeded.add("call_sign", _person(wanted, "frl", PersonStatus.APPROVED).call_sign)
    results = list(Result.objects.filter(is_current=True).order_by("pk"))
    training.result_correct(actor=instructor, result_id=results[0].pk, score=75, reason="Re-marked the sheet.")
    training.result_sign(actor=instructor, result_id=results[-1].pk, as_lead=False)
    seeded.scoped["instructor_one_cohort"] = make_staff(
        "fuzz-instructor-b", Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(other.pk)
    )
    seeded.in_scope["instructor_one_cohort"] = {"cohort_id": {other.pk}}
    seeded.add("cohort_id", cohort.pk, other.pk)
    seeded.add("result_id", *Result.objects.values_list("pk", flat=True))
    seeded.add("assessment_id", *Assessment.objects.filter(module__course=course).values_list("pk", flat=True)[:12])
    seeded.add("enrolment_id", *Enrolment.objects.values_list("pk", flat=True))
    seeded.add("score", 0, 55, 90, 100)


# Units --------------------------------------------------------------------------------------------


def _seed_units(cast: dict[str, Staff], make_staff: MakeStaff, seeded: Seeded) -> None:
    admin = cast[Role.ADMINISTRATOR]
    overseer = cast[Role.UNIT_COMMANDER]

    def unit(kind: str, name: str, parent: Unit | None, legion: str = "") -> Unit:
        return units.unit_create(
            actor=admin, kind=kind, name=name, overseer=overseer, parent_id=parent.pk if parent else None, legion=legion
        )

    framework = unit(UnitKind.FRAMEWORK, "International Legion", None)
    frl = unit(UnitKind.LEGION, "Freedom of Russia Legion", framework, "frl")
    battalion = unit(UnitKind.BATTALION, "1st Battalion", frl)
    company = unit(UnitKind.COMPANY, "A Company", battalion)
    platoon = unit(UnitKind.PLATOON, "1st Platoon", company)
    other_company = unit(UnitKind.COMPANY, "B Company", battalion)
    billets = [
        units.billet_create(actor=admin, unit_id=platoon.pk, role=BilletRole.RIFLEMAN, qualification_codes=[]),
        units.billet_create(actor=admin, unit_id=platoon.pk, role=BilletRole.UAV_OPERATOR, qualification_codes=[]),
        units.billet_create(actor=admin, unit_id=other_company.pk, role=BilletRole.MEDIC, qualification_codes=[]),
        units.billet_create(actor=admin, unit_id=company.pk, role=BilletRole.RIFLEMAN, qualification_codes=[]),
    ]
    for n, wanted in enumerate(["Zaza", "Caesar", "Miami"]):
        person = _person(wanted, "frl", PersonStatus.TRAINED)
        call_sign = person.call_sign
        units.billet_assign(actor=admin, person_id=person.pk, billet_id=billets[n].pk)
        seeded.add("person_id", person.pk)
        seeded.add("call_sign", call_sign)
        seeded.add("q", call_sign, call_sign[:2].lower())
    seeded.scoped["commander_one_company"] = make_staff(
        "fuzz-commander-b", Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT, scope_ref=str(other_company.pk)
    )
    seeded.in_scope["commander_one_company"] = {"unit_id": {other_company.pk}}
    seeded.add("unit_id", *(u.pk for u in (framework, frl, battalion, company, platoon, other_company)))


def _letters(n: int) -> str:
    word = ""
    for _ in range(4):
        word += "abcdefghiklmnoprstuvz"[n % 21]
        n //= 21
    return word
