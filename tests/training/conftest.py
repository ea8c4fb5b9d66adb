"""The training cast: an administrator, two cohorts of the basic course, their instructors and trainees.

Everything is built through the services (as the pages and the API do), on the curriculum the data
migration loaded from fixtures/basic_course.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, person_create
from legionary.training import services
from legionary.training.models import Assessment, Cohort, Course, Module
from tests.conftest import MakeStaff

START = date(2025, 3, 3)


def approved_person(call_sign: str, *, legion: str = "frl", status: str = PersonStatus.APPROVED) -> Person:
    """A person whose vetting is approved (or who has ``status``), with an obviously synthetic identity."""
    person = person_create(
        identity={"given_names": "Quentin", "family_name": "Synthetikov", "date_of_birth": "1990-01-01"},
        legion=legion,
        actor=Actor("test"),
        preferred_call_sign=call_sign,
    )
    assert person.call_sign == call_sign
    person.status = status
    person.save(update_fields=["status"])
    return person


@dataclass
class Training:
    admin: Staff
    lead: Staff
    instructor: Staff
    other_instructor: Staff
    cohort: Cohort
    other_cohort: Cohort
    course: Course


@pytest.fixture
def training(make_staff: MakeStaff) -> Training:
    admin = make_staff("admin-a", Role.ADMINISTRATOR)
    course = Course.objects.get(code="basic")
    cohort = services.cohort_create(
        actor=admin, course_id=course.pk, name="Spring A", legion="frl", start_date=START, site="Site North"
    )
    other = services.cohort_create(
        actor=admin, course_id=course.pk, name="Spring B", legion="frl", start_date=START, site="Site South"
    )
    lead = make_staff("lead-a", Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort.pk))
    instructor = make_staff("instructor-a", Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort.pk))
    other_instructor = make_staff("instructor-b", Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(other.pk))
    services.cohort_update(
        actor=admin, cohort_id=cohort.pk, name=cohort.name, start_date=START, site=cohort.site, lead_id=lead.pk
    )
    cohort.refresh_from_db()
    return Training(admin, lead, instructor, other_instructor, cohort, other, course)


def enrol(training: Training, call_sign: str, cohort: Cohort | None = None) -> int:
    """Enrols a new approved person; returns the enrolment id."""
    approved_person(call_sign)
    target = cohort or training.cohort
    return services.cohort_enrol(actor=training.admin, cohort_id=target.pk, call_sign=call_sign).pk


def post(client: Client, url: str, data: dict[str, str], *, page: str = "/training/", follow: bool = False) -> Any:
    """Posts like a browser: opens a page first for the CSRF cookie, then sends its token and origin."""
    client.get(page, secure=True)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post(
        url, {**data, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver", follow=follow
    )


def record_all(training: Training, enrolment_id: int, *, score: int = 90, by: Staff | None = None) -> None:
    """The instructor records ``score`` in every assessment of the course for one enrolment."""
    for assessment in Assessment.objects.filter(module__course=training.course):
        services.result_record(
            actor=by or training.instructor, enrolment_id=enrolment_id, assessment_id=assessment.pk, score=score
        )


def sign_everything(training: Training, *, now: datetime | None = None) -> None:
    """Instructor sign-off of his results, then the lead's, module by module."""
    for module in Module.objects.filter(course=training.course):
        services.results_sign_off(
            actor=training.instructor, cohort_id=training.cohort.pk, module_id=module.pk, as_lead=False, now=now
        )
        services.results_sign_off(
            actor=training.lead, cohort_id=training.cohort.pk, module_id=module.pk, as_lead=True, now=now
        )
