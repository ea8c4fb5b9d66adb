"""An instructor's work: results due in his cohorts' modules (overdue first) and results waiting
for his sign-off, first as the instructor who entered them, then as the cohort's lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.access.policy import permissions_of
from legionary.access.roles import Role
from legionary.training import mywork, services
from legionary.training.models import Assessment
from tests.conftest import signed_in
from tests.training.conftest import START, Training, enrol

pytestmark = pytest.mark.django_db

INSTRUCTOR = permissions_of({Role.INSTRUCTOR})
WEEK_TWO = START + timedelta(days=9)  # tactics (week 1) is overdue, weapons (week 2) under way


def _sections(staff, today=WEEK_TWO):  # type: ignore[no-untyped-def]
    return {s.key: s for s in mywork.instructor_sections(staff, perms=INSTRUCTOR, today=today)}


def test_results_due_are_listed_per_module_overdue_first_and_only_for_his_cohorts(training: Training) -> None:
    enrol(training, "Zaza"), enrol(training, "Caesar")
    enrol(training, "Miami", cohort=training.other_cohort)
    due = _sections(training.instructor)["results-to-enter"]
    assert due.items, "week 1 and 2 modules are due"
    first = due.items[0]
    assert first.overdue and first.when == START + timedelta(days=6)
    assert first.text.startswith("Spring A, Tactics and movement") and "4 results to enter" in first.text
    tactics = Assessment.objects.get(code="tactics-written").module_id
    assert first.href == f"/training/cohorts/{training.cohort.pk}/modules/{tactics}/results"
    assert all(not i.text.startswith("Spring B") for i in due.items)
    assert all(not i.overdue for i in due.items[1:] if i.when and i.when >= WEEK_TWO)
    # Before the course starts nothing is due.
    assert _sections(training.instructor, today=START - timedelta(days=1))["results-to-enter"].count == 0


def test_entered_results_wait_for_their_instructor_then_for_the_lead(training: Training) -> None:
    zaza = enrol(training, "Zaza")
    tactics = Assessment.objects.filter(module__code="tactics")
    for assessment in tactics:
        services.result_record(actor=training.instructor, enrolment_id=zaza, assessment_id=assessment.pk, score=90)
    entered = _sections(training.instructor)
    assert (
        entered["results-to-sign"].count == 2
        and "2 results you entered to sign off" in entered["results-to-sign"].items[0].text
    )
    assert "Tactics" not in " ".join(i.text for i in entered["results-to-enter"].items)
    assert _sections(training.lead)["results-to-sign"].count == 0
    module = tactics[0].module_id
    services.results_sign_off(actor=training.instructor, cohort_id=training.cohort.pk, module_id=module, as_lead=False)
    assert _sections(training.instructor)["results-to-sign"].count == 0
    lead = _sections(training.lead)["results-to-sign"]
    assert lead.count == 2 and "final sign-off as lead" in lead.items[0].text


def test_the_instructor_opens_a_due_module_from_his_work_and_grades_it(training: Training) -> None:
    zaza = enrol(training, "Zaza")
    item = _sections(training.instructor)["results-to-enter"].items[0]
    page = signed_in(training.instructor).get(item.href, secure=True)
    assert page.status_code == 200 and f'id="score-{zaza}-' in page.content.decode()


def test_an_instructor_without_grading_sees_no_instructor_section(training: Training) -> None:
    assert mywork.instructor_sections(training.admin, perms=permissions_of({Role.UNIT_COMMANDER})) == []


def test_the_instructors_sections_cost_the_same_queries_with_more_trainees_and_results(training: Training) -> None:
    enrol(training, "Zaza")

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured:
            mywork.instructor_sections(training.instructor, perms=INSTRUCTOR, today=WEEK_TWO)
        return len(captured)

    before = measure()
    for n in range(6):
        enrolment = enrol(training, f"More{n}")
        for assessment in Assessment.objects.filter(module__code="tactics"):
            services.result_record(
                actor=training.instructor, enrolment_id=enrolment, assessment_id=assessment.pk, score=40 + 10 * n
            )
    assert measure() == before
