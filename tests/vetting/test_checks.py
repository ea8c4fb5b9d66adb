"""Starting vetting and recording checks: configuration as data, roles, sealed notes, polygraph fields."""

from __future__ import annotations

import pytest

from legionary.audit.models import Entry
from legionary.identity.models import PersonStatus, SealedRecord
from legionary.identity.services import Actor, NotPermitted, record_open
from legionary.vetting import services
from legionary.vetting.models import CaseState, Check, CheckResult, CheckType, PolygraphOutcome
from tests.vetting.conftest import NOW, Cast, Submit, finish_checks, start

pytestmark = pytest.mark.django_db


def test_the_shipped_catalogue_is_loaded_by_migrate() -> None:
    assert set(CheckType.objects.values_list("slug", flat=True)) >= {
        "identity",
        "background",
        "references",
        "interview",
        "psychologist",
        "polygraph",
        "medical",
        "ci_review",
        "sanctions",
    }


def test_starting_vetting_creates_the_legions_checks_in_order(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(legion="geo"), vetting_cast)
    assert case.state == CaseState.IN_REVIEW
    case.person.refresh_from_db()
    assert case.person.status == PersonStatus.IN_VETTING
    slugs = list(case.checks.values_list("check_type_id", flat=True))
    assert slugs == [
        "identity",
        "sanctions",
        "background",
        "references",
        "interview",
        "psychologist",
        "polygraph",
        "medical",
    ]
    assert Entry.objects.filter(action="case.started", subject=case.person_id).exists()


def test_a_legion_with_ci_review_always_gets_it(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(legion="frl"), vetting_cast)
    assert case.checks.filter(check_type__is_ci_review=True).count() == 1


def test_a_flagged_case_always_gets_the_ci_review(submit: Submit, vetting_cast: Cast) -> None:
    submit(legion="geo")
    again = submit(legion="geo")  # the same person applying again is flagged by intake
    assert again.flagged
    case = start(again, vetting_cast)
    assert case.checks.filter(check_type__is_ci_review=True, opened_by="flagged").count() == 1


def test_an_administrator_changes_a_legions_policy(submit: Submit, vetting_cast: Cast, make_staff) -> None:  # type: ignore[no-untyped-def]
    admin = make_staff("adm", "administrator")
    services.legion_policy_set(
        actor=admin, legion="geo", checks=["identity", "polygraph"], ci_review="always", retention_days=30
    )
    case = start(submit(legion="geo"), vetting_cast)
    assert list(case.checks.values_list("check_type_id", flat=True)) == ["identity", "polygraph", "ci_review"]


def test_only_an_administrator_changes_a_policy(vetting_cast: Cast) -> None:
    with pytest.raises(services.NotAllowed):
        services.legion_policy_set(
            actor=vetting_cast.intake, legion="geo", checks=["identity"], ci_review="always", retention_days=30
        )


def test_starting_needs_the_assign_permission(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    with pytest.raises(services.NotAllowed):
        services.vetting_start(case_id=case.pk, actor=vetting_cast.adjudicators[0])


def test_starting_twice_is_refused(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    with pytest.raises(services.TransitionRefused):
        services.vetting_start(case_id=case.pk, actor=vetting_cast.intake)


def test_a_check_goes_only_to_staff_of_its_role(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    polygraph = case.checks.get(check_type_id="polygraph")
    with pytest.raises(services.VettingError):
        services.check_assign(check_id=polygraph.pk, assignee=vetting_cast.investigator, actor=vetting_cast.intake)
    services.check_assign(check_id=polygraph.pk, assignee=vetting_cast.examiner, actor=vetting_cast.intake)


def test_only_the_assigned_staff_member_records_a_check(submit: Submit, vetting_cast: Cast, make_staff) -> None:  # type: ignore[no-untyped-def]
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=vetting_cast.investigator, actor=vetting_cast.intake)
    other = make_staff("other-investigator", "investigator")
    # The other investigator is not assigned anything on this case: he cannot even see it.
    with pytest.raises(services.NotInScope):
        services.check_record(check_id=check.pk, actor=other, result=CheckResult.CLEAR)


def test_notes_are_sealed_and_open_only_with_a_reason(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    # Starting vetting hands each check to a checker of the legion (the CI review to cid-ci): who
    # holds the CI review is this test's to set, so it starts as nobody's.
    review = case.checks.get(check_type__is_ci_review=True)
    Check.objects.filter(pk=review.pk).update(assigned_to=None)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=vetting_cast.investigator, actor=vetting_cast.intake)
    services.check_record(
        check_id=check.pk,
        actor=vetting_cast.investigator,
        result=CheckResult.CONCERN,
        note="Passport issued in Vorkutograd looks altered.",
    )
    check.refresh_from_db()
    assert check.note is not None
    record = SealedRecord.objects.get(pk=check.note.pk)
    assert b"Vorkutograd" not in bytes(record.ciphertext)
    # Need-to-know (issue 20): the CI officer opens it once the case's CI review is his.
    with pytest.raises(NotPermitted):
        record_open(record=record, actor=Actor("cid-ci", vetting_cast.ci), reason="CI review of the passport")
    services.check_assign(check_id=review.pk, assignee=vetting_cast.ci, actor=vetting_cast.intake)
    text = record_open(record=record, actor=Actor("cid-ci", vetting_cast.ci), reason="CI review of the passport")
    assert "Vorkutograd" in text


def test_a_polygraph_result_needs_its_examination_details(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="polygraph")
    services.check_assign(check_id=check.pk, assignee=vetting_cast.examiner, actor=vetting_cast.intake)
    with pytest.raises(services.VettingError):
        services.check_record(check_id=check.pk, actor=vetting_cast.examiner, result=CheckResult.CLEAR)
    services.check_record(
        check_id=check.pk,
        actor=vetting_cast.examiner,
        result=CheckResult.CONCERN,
        polygraph=services.PolygraphRecord(
            examined_on=NOW.date(), question_areas=["foreign contacts"], outcome=PolygraphOutcome.DI
        ),
    )
    check.refresh_from_db()
    assert check.examiner == vetting_cast.examiner and check.polygraph_outcome == PolygraphOutcome.DI
    assert check.question_areas == ["foreign contacts"]


def test_the_last_result_sends_the_case_to_the_adjudicators(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    assert case.state == CaseState.AWAITING_DECISION
    assert case.checks.get(check_type_id="sanctions").result == CheckResult.CLEAR


def test_a_stale_version_is_refused_with_a_clear_message(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    with pytest.raises(services.StaleCase, match="Someone else changed this case"):
        services.check_assign(
            check_id=check.pk,
            assignee=vetting_cast.investigator,
            actor=vetting_cast.intake,
            expected_version=case.version - 1,
        )


def test_a_check_added_after_deferral_reopens_the_case(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    services.check_add(case_id=case.pk, check_type="interview", actor=vetting_cast.intake)
    case.refresh_from_db()
    assert case.state == CaseState.IN_REVIEW


def test_starting_costs_as_many_queries_whatever_the_number_of_checks_the_legion_requires(
    submit: Submit,
    vetting_cast: Cast,
    make_staff,  # type: ignore[no-untyped-def]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin = make_staff("adm", "administrator")

    def start_queries(checks: list[str]) -> tuple[int, int]:
        services.legion_policy_set(actor=admin, legion="geo", checks=checks, ci_review="always", retention_days=30)
        case = submit(legion="geo")
        with CaptureQueriesContext(connection) as captured:
            start(case, vetting_cast)
        return len(captured.captured_queries), case.checks.count()

    few, few_checks = start_queries(["identity"])
    many, many_checks = start_queries(["identity", "background", "polygraph", "medical"])
    assert many_checks == few_checks + 3  # every check was made, and assigned (below) ...
    assert many == few  # ... in as many statements
    assert not Check.objects.filter(case__legion="geo", result="", assigned_to__isnull=True).exists()
