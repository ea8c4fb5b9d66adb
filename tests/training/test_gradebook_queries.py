"""The gradebook page costs the same number of SQL queries for 20 people as for 60 (no N+1)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.training import services
from legionary.training.models import Assessment, Enrolment, Module
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


def test_each_gradebook_cell_shows_its_state_its_score_linking_to_the_result_and_a_retakes_attempt(
    training: Training,
) -> None:
    written = Assessment.objects.get(code="tactics-written")  # pass mark 60
    failed_id, retaken_id, signed_id = (enrol(training, name) for name in ("Alpha", "Bravo", "Charlie"))
    failed = services.result_record(
        actor=training.instructor, enrolment_id=failed_id, assessment_id=written.pk, score=12
    )
    services.result_record(actor=training.instructor, enrolment_id=retaken_id, assessment_id=written.pk, score=30)
    retake = services.result_record(
        actor=training.instructor, enrolment_id=retaken_id, assessment_id=written.pk, score=75
    )
    signed = services.result_record(
        actor=training.instructor, enrolment_id=signed_id, assessment_id=written.pk, score=95
    )
    services.result_sign(actor=training.instructor, result_id=signed.pk, as_lead=False)

    body = signed_in(training.instructor).get(f"/training/cohorts/{training.cohort.pk}/gradebook", secure=True)
    html = body.content.decode()

    td = '<td class="govuk-table__cell"'
    assert (
        f'{td} id="cell-{failed_id}-{written.pk}" data-state="failed">'
        f'<a class="govuk-link" href="/training/results/{failed.pk}/">12</a> '
        '<strong class="govuk-tag govuk-tag--red">failed</strong></td>'
    ) in html
    assert (
        f'{td} id="cell-{retaken_id}-{written.pk}" data-state="entered">'
        f'<a class="govuk-link" href="/training/results/{retake.pk}/">75</a> passed, awaiting sign-off'
        ' <span class="govuk-hint govuk-!-display-inline">(attempt 2)</span></td>'
    ) in html
    assert (
        f'{td} id="cell-{signed_id}-{written.pk}" data-state="instructor-signed">'
        f'<a class="govuk-link" href="/training/results/{signed.pk}/">95</a> passed, awaiting the lead</td>'
    ) in html
    other = Assessment.objects.exclude(pk=written.pk).filter(module__course=training.course).first()
    assert other is not None
    assert f'{td} id="cell-{failed_id}-{other.pk}" data-state="empty">—</td>' in html
    # The row's head: the person by call sign (a link, isolated), no attendance yet, modules passed, risks.
    person = Enrolment.objects.get(pk=failed_id).person_id
    modules = Module.objects.filter(course=training.course).count()
    head = '<th scope="row" class="govuk-table__header">'
    assert (
        f'<tr class="govuk-table__row" id="person-{failed_id}">{head}'
        f'<a class="govuk-link" href="/training/people/{person}/"><bdi>Alpha</bdi></a></th>'
        f"{td}>—</td>{td}>0/{modules}</td>"
        f'{td}><strong class="govuk-tag govuk-tag--orange">failed assessment</strong></td>'
    ) in html
    retaker = Enrolment.objects.get(pk=retaken_id).person_id
    assert (  # a failed attempt passed on the retake is no longer a risk
        f'<tr class="govuk-table__row" id="person-{retaken_id}">{head}'
        f'<a class="govuk-link" href="/training/people/{retaker}/"><bdi>Bravo</bdi></a></th>'
        f"{td}>—</td>{td}>0/{modules}</td>{td}>—</td>"
    ) in html
