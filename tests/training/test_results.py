"""The gradebook's results: retakes, corrections that keep history, two-step sign-off, completion."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from legionary.audit.models import Entry
from legionary.identity.models import Person, PersonStatus
from legionary.training import selectors, services
from legionary.training.models import Assessment, Enrolment, EnrolmentState, PersonQualification, Result
from tests.conftest import signed_in
from tests.training.conftest import Training, enrol, post, record_all, sign_everything

FINISH = datetime(2025, 5, 26, 15, 0, tzinfo=UTC)


def _assessment(code: str) -> Assessment:
    return Assessment.objects.get(code=code)


def test_a_correction_keeps_the_original_in_history_and_is_audited(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    written = _assessment("tccc-written")
    original = services.result_record(
        actor=training.instructor, enrolment_id=enrolment_id, assessment_id=written.pk, score=55
    )
    corrected = services.result_correct(
        actor=training.instructor, result_id=original.pk, score=85, reason="Marked against the wrong key."
    )
    original.refresh_from_db()
    assert (original.score, original.is_current, original.passed) == (55, False, False)
    assert (corrected.score, corrected.is_current, corrected.passed, corrected.version) == (85, True, True, 2)
    assert [r.score for r in selectors.result_history(result=corrected)] == [55, 85]
    entry = Entry.objects.get(action="training.result_corrected")
    body = bytes(entry.body)
    assert b'"score_from":55' in body and b'"score_to":85' in body and b"wrong key" in body


def test_a_correction_needs_a_reason_and_only_corrects_the_current_version(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    first = services.result_record(
        actor=training.instructor, enrolment_id=enrolment_id, assessment_id=_assessment("loac-written").pk, score=70
    )
    with pytest.raises(services.TrainingError, match="Say why"):
        services.result_correct(actor=training.instructor, result_id=first.pk, score=80, reason="  ")
    services.result_correct(actor=training.instructor, result_id=first.pk, score=80, reason="Typo")
    with pytest.raises(services.TrainingError, match="already been corrected"):
        services.result_correct(actor=training.instructor, result_id=first.pk, score=90, reason="Again")
    assert Result.objects.filter(enrolment_id=enrolment_id).count() == 2


def test_a_score_after_a_failed_attempt_is_a_retake_and_a_passed_result_cannot_be_re_entered(
    training: Training,
) -> None:
    enrolment_id = enrol(training, "Zaza")
    drill = _assessment("withdrawal-drill")
    services.result_record(actor=training.instructor, enrolment_id=enrolment_id, assessment_id=drill.pk, score=40)
    retake = services.result_record(
        actor=training.instructor, enrolment_id=enrolment_id, assessment_id=drill.pk, score=75
    )
    assert (retake.attempt, retake.passed) == (2, True)
    with pytest.raises(services.TrainingError, match="already passed"):
        services.result_record(actor=training.instructor, enrolment_id=enrolment_id, assessment_id=drill.pk, score=80)


def test_a_score_above_the_maximum_is_refused(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    with pytest.raises(services.TrainingError, match="between 0 and 100"):
        services.result_record(
            actor=training.instructor, enrolment_id=enrolment_id, assessment_id=_assessment("uav-flight").pk, score=101
        )


def test_sign_off_goes_first_to_the_instructor_who_entered_it_then_to_the_lead(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    result = services.result_record(
        actor=training.instructor, enrolment_id=enrolment_id, assessment_id=_assessment("uav-written").pk, score=88
    )
    with pytest.raises(services.TrainingError, match="must sign it off first"):
        services.result_sign(actor=training.lead, result_id=result.pk, as_lead=True)
    with pytest.raises(services.TrainingError, match="Only the instructor who entered"):
        services.result_sign(actor=training.lead, result_id=result.pk, as_lead=False)
    services.result_sign(actor=training.instructor, result_id=result.pk, as_lead=False)
    with pytest.raises(services.TrainingError, match="Only the cohort's lead"):
        services.result_sign(actor=training.instructor, result_id=result.pk, as_lead=True)
    services.result_sign(actor=training.lead, result_id=result.pk, as_lead=True)
    result.refresh_from_db()
    assert result.instructor_signed_at is not None
    assert result.lead_signed_by_id == training.lead.pk
    actions = list(Entry.objects.filter(action__startswith="training.result_signed").values_list("action", flat=True))
    assert actions == ["training.result_signed_instructor", "training.result_signed_lead"]


def test_a_corrected_result_must_be_signed_off_again(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    result = services.result_record(
        actor=training.instructor, enrolment_id=enrolment_id, assessment_id=_assessment("uav-written").pk, score=88
    )
    services.result_sign(actor=training.instructor, result_id=result.pk, as_lead=False)
    services.result_sign(actor=training.lead, result_id=result.pk, as_lead=True)
    corrected = services.result_correct(actor=training.lead, result_id=result.pk, score=78, reason="Recount")
    assert corrected.instructor_signed_at is None and corrected.lead_signed_at is None
    result.refresh_from_db()
    assert result.lead_signed_at is not None  # the old version keeps its sign-offs as history


def test_completing_every_module_makes_the_person_trained_and_grants_the_qualifications(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    record_all(training, enrolment_id)
    assert Person.objects.get(call_sign="Zaza").status == PersonStatus.IN_TRAINING
    sign_everything(training, now=FINISH)
    enrolment = Enrolment.objects.select_related("person").get(pk=enrolment_id)
    assert enrolment.state == EnrolmentState.COMPLETED
    assert enrolment.completed_on == date(2025, 5, 26)
    assert enrolment.person.status == PersonStatus.TRAINED
    grants = {g.qualification.code: g.expires_on for g in PersonQualification.objects.filter(person=enrolment.person)}
    assert grants == {
        "tactics-basic": None,
        "weapons-handling": date(2027, 5, 26),
        "mortar-crew": date(2027, 5, 26),
        "tccc-cls": date(2026, 5, 26),
        "uav-observer": date(2027, 5, 26),
        "language-basic": None,
        "loac": date(2026, 5, 26),
    }
    assert Entry.objects.filter(action="training.course_completed", subject=enrolment.person_id).count() == 1


def test_the_course_is_not_completed_while_one_result_lacks_the_lead_sign_off(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    record_all(training, enrolment_id)
    sign_everything(training, now=FINISH)
    # Undo nothing: a second trainee with one module left unsigned by the lead.
    second = enrol(training, "Caesar")
    record_all(training, second)
    loac = _assessment("loac-written")
    for module in training.course.modules.exclude(pk=loac.module_id):
        services.results_sign_off(
            actor=training.instructor, cohort_id=training.cohort.pk, module_id=module.pk, as_lead=False
        )
        services.results_sign_off(actor=training.lead, cohort_id=training.cohort.pk, module_id=module.pk, as_lead=True)
    assert Enrolment.objects.get(pk=second).state == EnrolmentState.ACTIVE
    assert Person.objects.get(call_sign="Caesar").status == PersonStatus.IN_TRAINING


def test_a_completed_enrolments_results_are_closed(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    record_all(training, enrolment_id)
    sign_everything(training, now=FINISH)
    current = Result.objects.filter(enrolment_id=enrolment_id, is_current=True).first()
    assert current is not None
    with pytest.raises(services.TrainingError, match="completed the course"):
        services.result_correct(actor=training.instructor, result_id=current.pk, score=50, reason="Late change")


def test_a_failed_assessment_not_retaken_or_low_attendance_puts_a_trainee_at_risk(training: Training) -> None:
    failed = enrol(training, "Zaza")
    absent = enrol(training, "Caesar")
    retaken = enrol(training, "Miami")
    tactics = _assessment("tactics-written")
    for enrolment_id, score in ((failed, 10), (retaken, 10), (retaken, 90), (absent, 90)):
        services.result_record(
            actor=training.instructor, enrolment_id=enrolment_id, assessment_id=tactics.pk, score=score
        )
    for day in range(1, 6):
        services.attendance_record(
            actor=training.instructor,
            cohort_id=training.cohort.pk,
            module_id=tactics.module_id,
            day=date(2025, 3, day + 2),
            # Caesar misses 2 of 5 sessions (60% < 80%); Miami misses 1 (80%, not below).
            present={failed: True, absent: day > 2, retaken: day > 1},
        )
    rows = {row.enrolment.person.call_sign: row for row in selectors.gradebook(cohort=training.cohort).rows}
    assert rows["Zaza"].risks == ["failed-assessment"]
    assert rows["Caesar"].risks == ["low-attendance"]
    assert rows["Caesar"].attendance_percent == 60
    assert rows["Miami"].risks == []


def test_re_recording_a_day_changes_only_what_differs_and_audits_it(training: Training) -> None:
    enrolment_id = enrol(training, "Zaza")
    module_id = _assessment("tactics-written").module_id
    args = {
        "actor": training.instructor,
        "cohort_id": training.cohort.pk,
        "module_id": module_id,
        "day": date(2025, 3, 4),
    }
    assert services.attendance_record(**args, present={enrolment_id: True}) == 1
    assert services.attendance_record(**args, present={enrolment_id: True}) == 0
    assert services.attendance_record(**args, present={enrolment_id: False}) == 1
    assert Entry.objects.filter(action="training.attendance_recorded").count() == 2


def test_an_instructor_records_a_modules_results_through_the_grid(training: Training) -> None:
    zaza, caesar = enrol(training, "Zaza"), enrol(training, "Caesar")
    written, drill = _assessment("tactics-written"), _assessment("withdrawal-drill")
    client = signed_in(training.instructor)
    url = f"/training/cohorts/{training.cohort.pk}/modules/{written.module_id}/results"
    page = client.get(url, secure=True).content.decode()
    for element in ("results-form", f"score-{zaza}-{written.pk}", "results-submit", "sign-instructor"):
        assert f'id="{element}"' in page
    response = post(
        client,
        url,
        {f"score-{zaza}-{written.pk}": "75", f"score-{zaza}-{drill.pk}": "40", f"score-{caesar}-{written.pk}": ""},
        page=url,
    )
    assert response.status_code == 302
    scores = dict(Result.objects.filter(enrolment_id=zaza).values_list("assessment__code", "score"))
    assert scores == {"tactics-written": 75, "withdrawal-drill": 40}
    assert not Result.objects.filter(enrolment_id=caesar).exists()
    post(
        client,
        f"/training/cohorts/{training.cohort.pk}/modules/{written.module_id}/sign-off",
        {"as": "instructor"},
        page=url,
    )
    assert Result.objects.filter(enrolment_id=zaza, instructor_signed_at__isnull=False).count() == 2


def test_the_grid_refuses_a_score_for_a_passed_cell(training: Training) -> None:
    zaza = enrol(training, "Zaza")
    written = _assessment("tactics-written")
    services.result_record(actor=training.instructor, enrolment_id=zaza, assessment_id=written.pk, score=75)
    client = signed_in(training.instructor)
    url = f"/training/cohorts/{training.cohort.pk}/modules/{written.module_id}/results"
    response = post(client, url, {f"score-{zaza}-{written.pk}": "99"}, page=url)
    assert response.status_code == 400
    assert 'id="form-errors"' in response.content.decode()
    assert Result.objects.get(enrolment_id=zaza).score == 75


def test_a_bad_score_keeps_every_value_typed_and_marks_only_the_bad_cell(training: Training) -> None:
    zaza, caesar, miami = enrol(training, "Zaza"), enrol(training, "Caesar"), enrol(training, "Miami")
    written, drill = _assessment("tactics-written"), _assessment("withdrawal-drill")
    client = signed_in(training.instructor)
    url = f"/training/cohorts/{training.cohort.pk}/modules/{written.module_id}/results"
    typed = {
        f"score-{zaza}-{written.pk}": "75",
        f"score-{zaza}-{drill.pk}": "150",
        f"score-{caesar}-{written.pk}": "62",
        f"score-{miami}-{drill.pk}": "seventy",
    }
    response = post(client, url, typed, page=url)
    assert response.status_code == 400
    page = response.content.decode()
    assert not Result.objects.exists(), "nothing is recorded while one cell is bad"
    # Every value typed is back in its input, the bad ones too (to be corrected, not retyped).
    for name, value in typed.items():
        assert f'id="{name}" name="{name}" value="{value}"' in page
    # Only the two bad cells are marked, each linked from the error summary.
    assert page.count("govuk-input--error") == 2
    assert f'href="#score-{zaza}-{drill.pk}"' in page and f'href="#score-{miami}-{drill.pk}"' in page
    assert f'id="score-{zaza}-{drill.pk}-error"' in page
    assert f'id="score-{zaza}-{written.pk}-error"' not in page
    # Corrected, the grid records all four.
    fixed = {**typed, f"score-{zaza}-{drill.pk}": "50", f"score-{miami}-{drill.pk}": "70"}
    assert post(client, url, fixed, page=url).status_code == 302
    assert Result.objects.count() == 4


def test_a_score_outside_the_assessments_range_is_refused_by_the_grid_before_the_service() -> None:
    from legionary.training.forms import parse_scores
    from legionary.training.models import Assessment as Model

    drill = Model(pk=7, name="Drill", max_score=100, pass_mark=70)
    cells = {(1, 7): ("Zaza", drill), (2, 7): ("Caesar", drill)}
    grid = parse_scores({"score-1-7": "100", "score-2-7": "101", "other": "x"}, cells=cells)
    assert grid.scores == {(1, 7): 100}
    assert list(grid.errors) == ["score-2-7"] and "Caesar" in grid.errors["score-2-7"]
    assert not grid.stale
    assert parse_scores({"score-3-7": "5"}, cells=cells).stale
    assert set(parse_scores({"score-1-7": "-1", "score-2-7": "٣"}, cells=cells).errors) == {"score-1-7", "score-2-7"}
