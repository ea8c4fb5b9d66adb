"""The training API: same scope and rules as the pages, CSRF on every change, in the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from legionary.identity.models import Person, PersonStatus
from legionary.training.models import Assessment, Result
from tests.conftest import signed_in
from tests.training.conftest import Training, approved_person, enrol

pytestmark = pytest.mark.urls("tests.training.api_urls")
BASE = "/api/test/training"


def _send(client: Client, path: str, body: dict[str, Any], *, csrf: bool = True) -> Any:
    client.get("/training/", secure=True)  # a page sets the CSRF cookie, as in a browser session
    headers = {"HTTP_X_CSRFTOKEN": client.cookies[settings.CSRF_COOKIE_NAME].value} if csrf else {}
    return client.post(
        BASE + path,
        json.dumps(body),
        content_type="application/json",
        secure=True,
        HTTP_ORIGIN="https://testserver",
        **headers,
    )


def test_the_courses_endpoint_lists_the_basic_course_with_modules_and_pass_marks(training: Training) -> None:
    body = signed_in(training.instructor).get(f"{BASE}/courses", secure=True).json()
    basic = next(c for c in body if c["code"] == "basic")
    mortar = next(m for m in basic["modules"] if m["code"] == "mortar")
    assert mortar["requires"] == ["weapons-handling"]
    assert {a["code"]: a["pass_mark"] for a in mortar["assessments"]} == {"mortar-written": 70, "mortar-crew-drill": 70}


def test_an_instructor_lists_only_his_cohorts_and_gets_404_for_another(training: Training) -> None:
    client = signed_in(training.instructor)
    assert [c["name"] for c in client.get(f"{BASE}/cohorts", secure=True).json()["cohorts"]] == ["Spring A"]
    response = client.get(f"{BASE}/cohorts/{training.other_cohort.pk}/enrolments", secure=True)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_enrolment_through_the_api_refuses_an_unapproved_person_with_a_problem(training: Training) -> None:
    approved_person("Zaza", status=PersonStatus.RECEIVED)
    response = _send(signed_in(training.admin), f"/cohorts/{training.cohort.pk}/enrolments", {"call_sign": "Zaza"})
    assert response.status_code == 422
    assert "only people whose vetting is approved" in response.json()["detail"]
    approved_person("Caesar")
    created = _send(signed_in(training.admin), f"/cohorts/{training.cohort.pk}/enrolments", {"call_sign": "Caesar"})
    assert created.status_code == 201
    assert created.json()["call_sign"] == "Caesar"
    assert Person.objects.get(call_sign="Caesar").status == PersonStatus.IN_TRAINING


def test_results_are_recorded_corrected_and_signed_off_through_the_api(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    written = Assessment.objects.get(code="loac-written")
    instructor = signed_in(training.instructor)
    made = _send(
        instructor,
        f"/cohorts/{training.cohort.pk}/results",
        {"enrolment_id": enrolment_id, "assessment_id": written.pk, "score": 70},
    )
    assert made.status_code == 201 and made.json()["passed"] is False
    fixed = _send(instructor, f"/results/{made.json()['id']}/versions", {"score": 80, "reason": "Miscounted"})
    assert fixed.status_code == 201 and fixed.json()["version"] == 2
    assert _send(instructor, f"/results/{fixed.json()['id']}/sign-offs", {"role": "instructor"}).status_code == 200
    lead = _send(signed_in(training.lead), f"/results/{fixed.json()['id']}/sign-offs", {"role": "lead"})
    assert lead.status_code == 200 and lead.json()["lead_signed_at"] is not None
    listed = instructor.get(f"{BASE}/cohorts/{training.cohort.pk}/results", secure=True).json()
    assert [(r["score"], r["version"]) for r in listed] == [(80, 2)]
    history = instructor.get(f"{BASE}/results/{fixed.json()['id']}/versions", secure=True).json()
    assert [(r["score"], r["version"]) for r in history] == [(70, 1), (80, 2)]


def test_an_instructor_cannot_record_a_result_in_another_cohort_through_the_api(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza", cohort=training.other_cohort)
    written = Assessment.objects.get(code="loac-written")
    response = _send(
        signed_in(training.instructor),
        f"/cohorts/{training.cohort.pk}/results",
        {"enrolment_id": enrolment_id, "assessment_id": written.pk, "score": 90},
    )
    assert response.status_code == 404
    assert not Result.objects.exists()


def test_a_change_without_the_csrf_token_is_refused(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    written = Assessment.objects.get(code="loac-written")
    response = _send(
        signed_in(training.instructor),
        f"/cohorts/{training.cohort.pk}/results",
        {"enrolment_id": enrolment_id, "assessment_id": written.pk, "score": 90},
        csrf=False,
    )
    assert response.status_code == 403
    assert not Result.objects.exists()


def test_the_training_endpoints_are_in_the_openapi_document(db: None) -> None:
    from tests.training.api_urls import api

    paths = api.get_openapi_schema()["paths"]
    for expected in (
        "courses",
        "cohorts",
        "cohorts/{cohort_id}/enrolments",
        "cohorts/{cohort_id}/results",
        "results/{result_id}/versions",
        "results/{result_id}/sign-offs",
    ):
        assert f"/api/test/training/{expected}" in paths
