"""Enrolment: approved people only, by call sign, moving them into training, audited."""

from __future__ import annotations

import pytest

from legionary.audit.models import Entry
from legionary.identity.models import Person, PersonStatus
from legionary.training import services
from legionary.training.models import Enrolment, TimetableEntry
from tests.conftest import signed_in
from tests.training.conftest import Training, approved_person, post


def test_enrolling_an_approved_person_moves_him_into_training_and_is_audited(training: Training) -> None:
    person = approved_person("Zaza")
    enrolment = services.cohort_enrol(actor=training.admin, cohort_id=training.cohort.pk, call_sign="zaza")
    person.refresh_from_db()
    assert enrolment.person_id == person.pk
    assert person.status == PersonStatus.IN_TRAINING
    entry = Entry.objects.get(action="training.enrolled")
    assert entry.subject == person.pk
    assert b'"status_to":"in_training"' in bytes(entry.body)


@pytest.mark.parametrize("status", [PersonStatus.RECEIVED, PersonStatus.IN_VETTING, PersonStatus.DENIED])
def test_a_person_whose_vetting_is_not_approved_cannot_be_enrolled(training: Training, status: str) -> None:
    person = approved_person("Caesar", status=status)
    with pytest.raises(services.TrainingError, match="only people whose vetting is approved"):
        services.cohort_enrol(actor=training.admin, cohort_id=training.cohort.pk, call_sign="Caesar")
    person.refresh_from_db()
    assert person.status == status
    assert not Enrolment.objects.filter(person=person).exists()


def test_the_enrol_form_shows_the_refusal_as_a_clear_message(training: Training) -> None:
    approved_person("Miami", status=PersonStatus.IN_VETTING)
    client = signed_in(training.admin)
    url = f"/training/cohorts/{training.cohort.pk}/enrol"
    response = post(client, url, {"call_sign": "Miami"}, follow=True)
    assert (
        "Miami cannot be enrolled: only people whose vetting is approved can start training"
        in response.content.decode()
    )
    assert Person.objects.get(call_sign="Miami").status == PersonStatus.IN_VETTING


def test_the_lead_instructor_may_enrol_but_another_instructor_may_not(training: Training) -> None:
    approved_person("Falcon")
    approved_person("Heron")
    services.cohort_enrol(actor=training.lead, cohort_id=training.cohort.pk, call_sign="Falcon")
    with pytest.raises(services.NotInScope):
        services.cohort_enrol(actor=training.instructor, cohort_id=training.cohort.pk, call_sign="Heron")


def test_a_person_cannot_be_enrolled_twice_in_one_cohort(training: Training) -> None:
    approved_person("Osprey")
    services.cohort_enrol(actor=training.admin, cohort_id=training.cohort.pk, call_sign="Osprey")
    with pytest.raises(services.TrainingError, match="already enrolled"):
        services.cohort_enrol(actor=training.admin, cohort_id=training.cohort.pk, call_sign="Osprey")


def test_a_new_cohort_gets_a_timetable_of_every_module_in_its_default_week(training: Training) -> None:
    weeks = dict(TimetableEntry.objects.filter(cohort=training.cohort).values_list("module__code", "week"))
    assert weeks == {
        "tactics": 1, "language": 1, "weapons": 2, "first-aid": 3, "mortar": 5, "uav": 7, "loac": 10,
    }  # fmt: skip
