"""The curriculum is data: shipped by a migration from the fixture, edited by an administrator, audited."""

from __future__ import annotations

from legionary.audit.models import Entry
from legionary.training import curriculum
from legionary.training.models import Assessment, Course, Module, Qualification
from tests.conftest import signed_in
from tests.training.conftest import Training, post


def test_the_migration_loads_the_basic_course_from_the_fixture(db: None) -> None:
    course = Course.objects.get(code="basic")
    assert course.weeks == 12
    modules = list(Module.objects.filter(course=course).values_list("code", flat=True))
    assert modules == ["tactics", "weapons", "first-aid", "mortar", "uav", "language", "loac"]
    assert Assessment.objects.filter(module__course=course).count() == 13
    assert Qualification.objects.get(code="tccc-cls").validity_months == 12
    mortar = Module.objects.get(code="mortar")
    assert list(mortar.requires.values_list("code", flat=True)) == ["weapons-handling"]
    assert list(mortar.grants.values_list("code", flat=True)) == ["mortar-crew"]


def test_loading_the_fixture_again_changes_nothing(db: None) -> None:
    before = (Module.objects.count(), Assessment.objects.count(), Qualification.objects.count())
    from django.apps import apps

    curriculum.load(curriculum.read_document(), apps.get_model)
    assert (Module.objects.count(), Assessment.objects.count(), Qualification.objects.count()) == before


def test_an_administrator_changes_a_pass_mark_in_the_ui_and_it_is_audited(training: Training) -> None:
    scenario = Assessment.objects.get(code="tccc-scenario")
    url = f"/training/curriculum/assessments/{scenario.pk}"
    client = signed_in(training.admin)
    assert 'id="curriculum-form"' in client.get(url, secure=True).content.decode()
    response = post(
        client,
        url,
        {"name": "TCCC: casualty scenario", "kind": "practical", "max_score": "100", "pass_mark": "85"},
        page=url,
    )
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.pass_mark == 85
    assert Entry.objects.filter(action="training.assessment_updated", subject=f"assessment:{scenario.pk}").exists()


def test_a_pass_mark_above_the_maximum_is_refused(training: Training) -> None:
    scenario = Assessment.objects.get(code="tccc-scenario")
    url = f"/training/curriculum/assessments/{scenario.pk}"
    response = post(
        signed_in(training.admin),
        url,
        {"name": "x", "kind": "practical", "max_score": "50", "pass_mark": "60"},
        page=url,
    )
    assert response.status_code == 400
    scenario.refresh_from_db()
    assert scenario.pass_mark == 80


def test_an_administrator_changes_a_qualifications_validity(training: Training) -> None:
    first_aid = Qualification.objects.get(code="tccc-cls")
    url = f"/training/curriculum/qualifications/{first_aid.pk}"
    post(signed_in(training.admin), url, {"name": first_aid.name, "validity_months": "6"}, page=url)
    first_aid.refresh_from_db()
    assert first_aid.validity_months == 6
