"""An instructor's work: results due in his cohorts' modules (overdue first) and results waiting
for his sign-off, first as the instructor who entered them, then as the cohort's lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.access.mywork import Who, sections_for
from legionary.access.policy import permissions_of
from legionary.access.roles import Role
from legionary.identity.models import Person, PersonStatus
from legionary.training import mywork, services
from legionary.training.models import Assessment
from tests.conftest import signed_in
from tests.training.conftest import START, Training, approved_person, enrol, post

pytestmark = pytest.mark.django_db

INSTRUCTOR = permissions_of({Role.INSTRUCTOR})
WEEK_TWO = START + timedelta(days=9)  # tactics (week 1) is overdue, weapons (week 2) under way


def _sections(staff, today=WEEK_TWO):  # type: ignore[no-untyped-def]
    who = Who(staff=staff, perms=INSTRUCTOR)
    return {
        "results-to-enter": mywork.results_to_enter.provide(who, today=today),  # type: ignore[call-arg]
        "results-to-sign": mywork.results_to_sign.provide(who),
    }


def test_results_due_are_listed_per_module_overdue_first_and_only_for_his_cohorts(training: Training) -> None:
    enrol(training, "Zaza"), enrol(training, "Caesar")
    enrol(training, "Miami", cohort=training.other_cohort)
    due = _sections(training.instructor)["results-to-enter"]
    assert due.items, "week 1 and 2 modules are due"
    first = due.items[0]
    assert first.overdue and first.due == START + timedelta(days=6)
    assert first.label.startswith("Spring A, Tactics and movement") and first.state_label == "4 results to enter"
    tactics = Assessment.objects.get(code="tactics-written").module_id
    assert first.url == f"/training/cohorts/{training.cohort.pk}/modules/{tactics}/results"
    assert all(not i.label.startswith("Spring B") for i in due.items)
    assert all(not i.overdue for i in due.items if i.due and i.due >= WEEK_TWO)
    # Before the course starts nothing is due.
    assert _sections(training.instructor, today=START - timedelta(days=1))["results-to-enter"].count == 0


def test_entered_results_wait_for_their_instructor_then_for_the_lead(training: Training) -> None:
    zaza = enrol(training, "Zaza")
    tactics = Assessment.objects.filter(module__code="tactics")
    for assessment in tactics:
        services.result_record(actor=training.instructor, enrolment_id=zaza, assessment_id=assessment.pk, score=90)
    entered = _sections(training.instructor)
    to_sign = entered["results-to-sign"]
    assert to_sign.count == 2 and to_sign.items[0].state_label == "2 results you entered to sign off"
    assert "Tactics" not in " ".join(i.label for i in entered["results-to-enter"].items)
    assert _sections(training.lead)["results-to-sign"].count == 0
    module = tactics[0].module_id
    services.results_sign_off(actor=training.instructor, cohort_id=training.cohort.pk, module_id=module, as_lead=False)
    assert _sections(training.instructor)["results-to-sign"].count == 0
    lead = _sections(training.lead)["results-to-sign"]
    assert lead.count == 2 and "final sign-off as lead" in lead.items[0].state_label


def test_the_instructor_opens_a_due_module_from_his_work_and_grades_it(training: Training) -> None:
    zaza = enrol(training, "Zaza")
    item = _sections(training.instructor)["results-to-enter"].items[0]
    work = signed_in(training.instructor).get("/work/", secure=True).content.decode()
    assert 'id="work-training-results-to-enter"' in work and f'href="{item.url}"' in work
    page = signed_in(training.instructor).get(item.url, secure=True)
    assert page.status_code == 200 and f'id="score-{zaza}-' in page.content.decode()


def test_someone_who_may_not_grade_sees_no_instructor_section(training: Training) -> None:
    keys = {s.key for s in sections_for(Who(staff=training.admin, perms=permissions_of({Role.UNIT_COMMANDER})))}
    assert not keys & {"training-results-to-enter", "training-results-to-sign"}


def test_the_instructors_sections_cost_the_same_queries_with_more_trainees_and_results(training: Training) -> None:
    enrol(training, "Zaza")

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured:
            _sections(training.instructor)
        return len(captured)

    before = measure()
    for n in range(6):
        enrolment = enrol(training, f"More{n}")
        for assessment in Assessment.objects.filter(module__code="tactics"):
            services.result_record(
                actor=training.instructor, enrolment_id=enrolment, assessment_id=assessment.pk, score=40 + 10 * n
            )
    assert measure() == before


def _to_enrol(staff, role=Role.INSTRUCTOR):  # type: ignore[no-untyped-def]
    return mywork.people_to_enrol.provide(Who(staff=staff, perms=permissions_of({role})))


def test_the_lead_sees_approved_people_of_his_cohorts_legion_to_enrol_longest_waiting_first(
    training: Training,
) -> None:
    second, first = approved_person("Xray"), approved_person("Yankee")
    # Yankee has waited longer (his application came first).
    Person.objects.filter(pk=first.pk).update(created_at=second.created_at - timedelta(days=3))
    approved_person("Whiskey", legion="brl")  # another legion
    approved_person("Victor", status=PersonStatus.IN_VETTING)  # not yet approved
    section = _to_enrol(training.lead)
    assert section is not None and section.count == 2
    assert [i.label for i in section.items] == [first.call_sign, second.call_sign]
    assert section.items[0].url == f"/training/cohorts/{training.cohort.pk}/#to-enrol-{first.pk}"
    assert section.items[0].detail == "to enrol in Spring A"
    assert mywork.count_people_to_enrol(Who(staff=training.lead, perms=INSTRUCTOR)) == 2
    # Once enrolled he is in training, and leaves the list.
    services.cohort_enrol(actor=training.lead, cohort_id=training.cohort.pk, call_sign=first.call_sign)
    assert [i.label for i in _to_enrol(training.lead).items] == [second.call_sign]  # type: ignore[union-attr]


def test_an_instructor_who_leads_no_cohort_has_nobody_to_enrol(training: Training) -> None:
    approved_person("Yankee")
    assert _to_enrol(training.instructor) is None
    assert mywork.count_people_to_enrol(Who(staff=training.instructor, perms=INSTRUCTOR)) == 0


def test_the_people_to_enrol_cost_the_same_queries_whatever_their_number(training: Training) -> None:
    approved_person("Yankee")
    with CaptureQueriesContext(connection) as few:
        _to_enrol(training.lead)
    for call_sign in ("Xray", "Whiskey", "Victor", "Uniform"):
        approved_person(call_sign)
    with CaptureQueriesContext(connection) as many:
        _to_enrol(training.lead)
    assert len(many) == len(few)


def test_the_cohort_page_enrols_a_waiting_person_with_one_button(training: Training) -> None:
    person = approved_person("Yankee")
    client = signed_in(training.lead)
    page = client.get(f"/training/cohorts/{training.cohort.pk}/", secure=True).content.decode()
    assert f'id="to-enrol-{person.pk}"' in page and f'id="enrol-{person.pk}"' in page
    response = post(
        client,
        f"/training/cohorts/{training.cohort.pk}/enrol",
        {"call_sign": person.call_sign},
        page=f"/training/cohorts/{training.cohort.pk}/",
        follow=True,
    )
    text = response.content.decode()
    assert "Yankee enrolled." in text and f'id="to-enrol-{person.pk}"' not in text
    person.refresh_from_db()
    assert person.status == PersonStatus.IN_TRAINING


def test_an_instructor_who_does_not_lead_the_cohort_is_offered_no_enrolment_and_is_refused_it(
    training: Training,
) -> None:
    person = approved_person("Yankee")
    client = signed_in(training.instructor)
    page = client.get(f"/training/cohorts/{training.cohort.pk}/", secure=True).content.decode()
    assert 'id="to-enrol"' not in page and 'id="enrol-form"' not in page
    response = post(
        client,
        f"/training/cohorts/{training.cohort.pk}/enrol",
        {"call_sign": person.call_sign},
        page=f"/training/cohorts/{training.cohort.pk}/",
    )
    assert response.status_code == 404
    person.refresh_from_db()
    assert person.status == PersonStatus.APPROVED
