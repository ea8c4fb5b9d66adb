"""Assignment that flows: a case officer, checks that go to their checkers, several cases at once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from legionary.audit.models import Entry
from legionary.vetting import services
from legionary.vetting.models import Case, CaseState
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import NOW, Cast, Submit, browser_post

pytestmark = pytest.mark.django_db


def _assignees(case: Case) -> dict[str, str | None]:
    return {
        c.check_type_id: (c.assigned_to.get_username() if c.assigned_to else None)
        for c in case.checks.select_related("assigned_to")
        if not c.result
    }


def test_assigning_a_new_case_makes_a_case_officer_and_starts_vetting(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(
        case_id=submit(legion="frl").pk, officer=vetting_cast.investigator, actor=vetting_cast.intake
    )
    assert case.state == CaseState.IN_REVIEW
    assert case.assigned_to == vetting_cast.investigator
    assigned = _assignees(case)
    # The investigator's checks go to the case officer, the polygraph to the examiner, the CI review to CI.
    assert assigned["identity"] == assigned["background"] == assigned["medical"] == "ian-investigator"
    assert assigned["polygraph"] == "pat-polygraph"
    assert assigned["ci_review"] == "cid-ci"
    assert "sanctions" not in assigned  # completed by the screening itself
    actions = list(Entry.objects.filter(subject=case.person_id).values_list("action", flat=True))
    steps = [a for a in actions if a in ("case.assigned", "case.started", "checks.assigned")]
    assert steps == ["case.assigned", "case.started", "checks.assigned"]


def test_a_check_goes_to_the_least_busy_checker_of_its_role(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    busy = vetting_cast.examiner
    services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    idle = make_staff("zed-polygraph", "polygraph_examiner")
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    assert _assignees(case)["polygraph"] == idle.get_username() != busy.get_username()


def test_a_legion_scoped_checker_gets_no_check_of_another_legion(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    vetting_cast.examiner.grants.all().delete()
    make_staff("geo-polygraph", "polygraph_examiner", scope_kind="legion", scope_ref="geo")
    case = services.case_assign(
        case_id=submit(legion="frl").pk, officer=vetting_cast.investigator, actor=vetting_cast.intake
    )
    assert _assignees(case)["polygraph"] is None


def test_the_case_officer_must_be_an_investigator(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    with pytest.raises(services.VettingError):
        services.case_assign(case_id=case.pk, officer=vetting_cast.examiner, actor=vetting_cast.intake)
    case.refresh_from_db()
    assert case.state == CaseState.RECEIVED and case.assigned_to is None


def test_several_cases_are_assigned_together_or_not_at_all(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    ours, theirs = submit(legion="frl"), submit(legion="geo")
    scoped = make_staff("frl-intake", "intake_officer", scope_kind="legion", scope_ref="frl")
    with pytest.raises(services.NotInScope):
        services.cases_assign(case_ids=[ours.pk, theirs.pk], officer=vetting_cast.investigator, actor=scoped)
    ours.refresh_from_db()
    assert ours.state == CaseState.RECEIVED and ours.assigned_to is None
    assert not Entry.objects.filter(subject=ours.person_id, action="case.assigned").exists()
    done = services.cases_assign(
        case_ids=[ours.pk, theirs.pk], officer=vetting_cast.investigator, actor=vetting_cast.intake
    )
    assert [c.state for c in done] == [CaseState.IN_REVIEW, CaseState.IN_REVIEW]


def test_every_check_is_reassigned_in_one_step(submit: Submit, vetting_cast: Cast, make_staff: MakeStaff) -> None:
    other = make_staff("ina-investigator", "investigator")
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    mine = case.checks.filter(check_type__role="investigator")
    changed = services.checks_assign(
        case_id=case.pk, assignments={c.pk: other for c in mine}, actor=vetting_cast.intake, now=NOW
    )
    assert len(changed) == mine.count() and set(_assignees(case).values()) >= {"ina-investigator"}
    assert "ian-investigator" not in _assignees(case).values()


def test_reassigning_checks_refuses_a_wrong_role_and_changes_nothing(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    before = _assignees(case)
    identity = case.checks.get(check_type_id="identity")
    polygraph = case.checks.get(check_type_id="polygraph")
    with pytest.raises(services.VettingError):
        services.checks_assign(
            case_id=case.pk,
            assignments={identity.pk: vetting_cast.ci, polygraph.pk: vetting_cast.examiner},
            actor=vetting_cast.intake,
        )
    assert _assignees(case) == before


def test_the_intake_queue_assigns_ticked_rows_and_says_so(submit: Submit, vetting_cast: Cast) -> None:
    first, second, left = submit(), submit(), submit()
    client = signed_in(vetting_cast.intake)
    page = client.get("/intake/", secure=True).content.decode()
    # Every row links to its case, and each checkbox has its own label.
    for case in (first, second, left):
        assert f'href="{reverse("vetting:case", args=[case.pk])}"' in page
    assert page.count('class="govuk-label govuk-checkboxes__label" for="select-') == 3
    answer = browser_post(
        client,
        reverse("intake-queue:assign-many"),
        {"case": [first.pk, second.pk], "investigator": vetting_cast.investigator.pk},
        page="/intake/",
    )
    assert answer.status_code == 302
    after = client.get(answer["Location"], secure=True).content.decode()
    assert "2 cases assigned to ian-investigator" in after
    # The assigned rows left "new"; the other stays.
    assert f'id="case-{first.pk}"' not in after and f'id="case-{second.pk}"' not in after
    assert f'id="case-{left.pk}"' in after


def test_the_intake_queue_keeps_the_ticks_when_nothing_could_be_assigned(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    client = signed_in(vetting_cast.intake)
    answer = browser_post(
        client,
        reverse("intake-queue:assign-many"),
        {"case": [case.pk], "investigator": vetting_cast.examiner.pk},
        page="/intake/",
    )
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "govuk-error-summary" in body and f'value="{case.pk}" checked' in body


def test_an_investigator_may_not_assign_from_the_intake_queue(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    answer = browser_post(
        signed_in(vetting_cast.investigator),
        reverse("intake-queue:assign-many"),
        {"case": [case.pk], "investigator": vetting_cast.investigator.pk},
    )
    assert answer.status_code == 403
    case.refresh_from_db()
    assert case.assigned_to is None
