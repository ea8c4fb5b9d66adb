"""The gradebook page costs the same number of SQL queries for 20 people as for 60 (no N+1)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.training import services
from legionary.training.models import Assessment, Enrolment
from tests.conftest import signed_in
from tests.training.conftest import Training, enrol


def _fill(training: Training, upto: int) -> None:
    written = Assessment.objects.get(code="tactics-written")
    module_id = written.module_id
    start = Enrolment.objects.filter(cohort=training.cohort).count()
    for n in range(start, upto):
        enrolment_id = enrol(training, f"Trainee {n:02d}")
        services.result_record(actor=training.instructor, enrolment_id=enrolment_id, assessment_id=written.pk, score=n)
    services.attendance_record(
        actor=training.instructor,
        cohort_id=training.cohort.pk,
        module_id=module_id,
        day=training.cohort.start_date,
        present={e: e % 2 == 0 for e in Enrolment.objects.filter(cohort=training.cohort).values_list("pk", flat=True)},
    )


def _queries(training: Training) -> tuple[int, int]:
    client = signed_in(training.instructor)
    url = f"/training/cohorts/{training.cohort.pk}/gradebook"
    client.get(url, secure=True)  # warm the session and any per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.count(b'id="person-')


def test_the_gradebook_page_issues_the_same_number_of_queries_for_20_and_60_people(training: Training) -> None:
    _fill(training, 20)
    small, small_rows = _queries(training)
    _fill(training, 60)
    large, large_rows = _queries(training)
    assert (small_rows, large_rows) == (20, 60)
    assert small == large
