"""Need to know: an instructor sees and grades his own cohorts only; everything else answers 404."""

from __future__ import annotations

import pytest

from legionary.access.roles import Role, ScopeKind
from legionary.training import selectors, services
from legionary.training.models import Assessment, Result
from tests.conftest import MakeStaff, signed_in
from tests.training.conftest import Training, enrol, post


def test_an_instructor_lists_only_his_own_cohorts(training: Training) -> None:
    assert list(selectors.cohorts_visible_to(training.instructor)) == [training.cohort]
    page = signed_in(training.instructor).get("/training/", secure=True).content.decode()
    assert "Spring A" in page and "Spring B" not in page


def test_a_legion_scoped_grant_covers_that_legions_cohorts_only(training: Training, make_staff: MakeStaff) -> None:
    other_legion = services.cohort_create(
        actor=training.admin, course_id=training.course.pk, name="Georgian 1", legion="glu",
        start_date=training.cohort.start_date, site="Site West",
    )  # fmt: skip
    legion_instructor = make_staff("frl-instructor", Role.INSTRUCTOR, scope_kind=ScopeKind.LEGION, scope_ref="frl")
    visible = set(selectors.cohorts_visible_to(legion_instructor))
    assert visible == {training.cohort, training.other_cohort}
    assert other_legion not in visible


@pytest.mark.parametrize(
    "path",
    [
        "/training/cohorts/{other}/",
        "/training/cohorts/{other}/gradebook",
        "/training/cohorts/{other}/gradebook.csv",
        "/training/cohorts/{other}/modules/{module}/results",
        "/training/cohorts/{other}/modules/{module}/attendance",
        "/training/results/{result}/",
        "/training/people/{person}/",
    ],
)
def test_an_instructor_gets_404_for_another_cohorts_pages(training: Training, path: str) -> None:
    other_enrolment = enrol(training, "Zaza", cohort=training.other_cohort)
    written = Assessment.objects.get(code="tactics-written")
    result = services.result_record(
        actor=training.other_instructor, enrolment_id=other_enrolment, assessment_id=written.pk, score=50
    )
    url = path.format(
        other=training.other_cohort.pk, module=written.module_id, result=result.pk, person=result.enrolment.person_id
    )
    assert signed_in(training.instructor).get(url, secure=True).status_code == 404
    assert signed_in(training.other_instructor).get(url, secure=True).status_code == 200


def test_an_instructor_cannot_grade_another_cohort(training: Training) -> None:
    other_enrolment = enrol(training, "Zaza", cohort=training.other_cohort)
    written = Assessment.objects.get(code="tactics-written")
    with pytest.raises(services.NotInScope):
        services.result_record(
            actor=training.instructor, enrolment_id=other_enrolment, assessment_id=written.pk, score=90
        )
    url = f"/training/cohorts/{training.other_cohort.pk}/modules/{written.module_id}/results"
    response = post(signed_in(training.instructor), url, {f"score-{other_enrolment}-{written.pk}": "90"})
    assert response.status_code == 404
    assert not Result.objects.exists()


def test_an_instructor_cannot_correct_or_sign_another_cohorts_result(training: Training) -> None:
    other_enrolment = enrol(training, "Zaza", cohort=training.other_cohort)
    written = Assessment.objects.get(code="tactics-written")
    result = services.result_record(
        actor=training.other_instructor, enrolment_id=other_enrolment, assessment_id=written.pk, score=50
    )
    with pytest.raises(services.NotInScope):
        services.result_correct(actor=training.instructor, result_id=result.pk, score=90, reason="Mine now")
    with pytest.raises(services.NotInScope):
        services.result_sign(actor=training.instructor, result_id=result.pk, as_lead=False)
    response = post(
        signed_in(training.instructor), f"/training/results/{result.pk}/correct", {"score": "90", "reason": "x"}
    )
    assert response.status_code == 404
    assert Result.objects.get().score == 50


def test_a_system_wide_instructor_sees_every_cohort_but_an_auditor_none(
    training: Training, cast: dict[str, object]
) -> None:
    assert set(selectors.cohorts_visible_to(cast[Role.INSTRUCTOR])) == {training.cohort, training.other_cohort}
    assert list(selectors.cohorts_visible_to(cast[Role.AUDITOR])) == []
    assert signed_in(cast[Role.AUDITOR]).get("/training/", secure=True).status_code == 403  # type: ignore[arg-type]


def test_only_an_administrator_edits_the_curriculum(training: Training) -> None:
    module = Assessment.objects.get(code="tccc-scenario")
    assert signed_in(training.lead).get(f"/training/curriculum/assessments/{module.pk}", secure=True).status_code == 403
    with pytest.raises(services.NotInScope):
        services.assessment_update(
            actor=training.lead, assessment_id=module.pk, name="Easy", kind="practical", max_score=100, pass_mark=1
        )
