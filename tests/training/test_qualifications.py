"""Qualifications expire on the right day, warn 30 days ahead, and renew; tested on a fixed calendar."""

from __future__ import annotations

from datetime import date

import pytest

from legionary.identity.models import Person
from legionary.training import selectors, services
from legionary.training.models import Module, PersonQualification, Qualification
from tests.conftest import signed_in
from tests.training.conftest import Training, approved_person, enrol

GRANTED = date(2025, 5, 26)


def _grant(training: Training, call_sign: str, code: str, on: date) -> PersonQualification:
    enrol(training, call_sign)
    person_id = Person.objects.get(call_sign=call_sign).pk
    return services.qualification_grant(
        actor=training.admin,
        person_id=person_id,
        qualification_id=Qualification.objects.get(code=code).pk,
        granted_on=on,
    )


def test_a_yearly_qualification_is_held_until_the_day_before_its_anniversary_and_expired_on_it(
    training: Training,
) -> None:
    grant = _grant(training, "Zaza", "tccc-cls", GRANTED)
    assert grant.expires_on == date(2026, 5, 26)
    person_id = grant.person_id
    assert selectors.person_holds(person_id=person_id, qualification_code="tccc-cls", on=date(2026, 5, 25))
    assert not selectors.person_holds(person_id=person_id, qualification_code="tccc-cls", on=date(2026, 5, 26))
    assert not selectors.person_holds(person_id=person_id, qualification_code="tccc-cls", on=date(2025, 5, 25))
    states = {
        day: selectors.qualification_record(person=grant.person, today=day)[0].state
        for day in (date(2026, 4, 25), date(2026, 4, 26), date(2026, 5, 25), date(2026, 5, 26))
    }
    assert states == {
        date(2026, 4, 25): "valid",  # 31 days left
        date(2026, 4, 26): "expiring",  # 30 days left: the warning starts
        date(2026, 5, 25): "expiring",  # last day held
        date(2026, 5, 26): "expired",
    }


def test_a_grant_on_29_february_expires_on_28_february_a_year_later() -> None:
    assert selectors.expiry_date(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert selectors.expiry_date(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert selectors.expiry_date(date(2025, 11, 15), 24) == date(2027, 11, 15)
    assert selectors.expiry_date(date(2025, 11, 15), None) is None


def test_a_qualification_without_validity_never_expires(training: Training) -> None:
    grant = _grant(training, "Zaza", "language-basic", GRANTED)
    assert grant.expires_on is None
    assert selectors.person_holds(person_id=grant.person_id, qualification_code="language-basic", on=date(2090, 1, 1))


def test_the_expiry_warnings_list_the_next_30_days_and_forget_renewed_grants(training: Training) -> None:
    soon = _grant(training, "Zaza", "tccc-cls", GRANTED)
    renewed = _grant(training, "Caesar", "tccc-cls", GRANTED)
    services.qualification_grant(
        actor=training.admin,
        person_id=renewed.person_id,
        qualification_id=renewed.qualification_id,
        granted_on=date(2026, 5, 1),
    )
    on_day = [w.call_sign for w in selectors.expiring_qualifications(staff=training.admin, today=date(2026, 4, 26))]
    assert on_day == ["Zaza"]
    assert selectors.expiring_qualifications(staff=training.admin, today=date(2026, 4, 25)) == []
    assert (
        selectors.expiring_qualifications(staff=training.admin, today=soon.expires_on) == []
    )  # expired, no longer a warning


def test_expiry_warnings_cover_only_people_in_the_staff_members_cohorts(training: Training) -> None:
    _grant(training, "Zaza", "tccc-cls", GRANTED)
    assert selectors.expiring_qualifications(staff=training.other_instructor, today=date(2026, 5, 1)) == []
    assert [
        w.call_sign for w in selectors.expiring_qualifications(staff=training.instructor, today=date(2026, 5, 1))
    ] == ["Zaza"]


def test_the_person_record_page_shows_qualifications_by_call_sign(training: Training) -> None:
    grant = _grant(training, "Zaza", "tccc-cls", GRANTED)
    page = signed_in(training.instructor).get(f"/training/people/{grant.person_id}/", secure=True).content.decode()
    assert "Zaza" in page and 'id="qualification-tccc-cls"' in page
    assert "Synthetikov" not in page and "Quentin" not in page


def test_a_course_prerequisite_not_taught_by_the_course_must_be_held_on_the_start_date(training: Training) -> None:
    # Make the mortar module also require a qualification that the basic course does not teach.
    outside = Qualification.objects.create(code="driver", name="Driver", validity_months=12)
    Module.objects.get(code="mortar").requires.add(outside)
    approved_person("Falcon")
    with pytest.raises(services.TrainingError, match="lacks a qualification this course requires: Driver"):
        services.cohort_enrol(actor=training.admin, cohort_id=training.cohort.pk, call_sign="Falcon")
    driver_holder = approved_person("Heron")
    PersonQualification.objects.create(
        person=driver_holder, qualification=outside, granted_on=date(2025, 1, 10), expires_on=date(2026, 1, 10)
    )
    services.cohort_enrol(actor=training.admin, cohort_id=training.cohort.pk, call_sign="Heron")
