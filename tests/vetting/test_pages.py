"""The vetting pages: who sees which case, the queues, overdue checks, actions and unsealing."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from legionary.audit.models import Entry
from legionary.vetting import services
from legionary.vetting.models import Case, Check, CheckResult
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import RATIONALE, Cast, Submit, browser_post, finish_checks, start

pytestmark = pytest.mark.django_db


def _case_url(case: Case) -> str:
    return reverse("vetting:case", args=[case.pk])


def test_an_investigator_sees_only_cases_assigned_to_him(submit: Submit, vetting_cast: Cast, make_staff) -> None:  # type: ignore[no-untyped-def]
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=vetting_cast.investigator, actor=vetting_cast.intake)
    assert signed_in(vetting_cast.investigator).get(_case_url(case), secure=True).status_code == 200
    stranger = make_staff("other-investigator", "investigator")
    assert signed_in(stranger).get(_case_url(case), secure=True).status_code == 404


def test_a_polygraph_examiner_sees_only_cases_assigned_to_him(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    case = start(submit(), vetting_cast)
    # Starting vetting gave the polygraph to the one examiner there is; a second one sees nothing.
    other = make_staff("pia-polygraph", "polygraph_examiner")
    client = signed_in(other)
    assert client.get(_case_url(case), secure=True).status_code == 404
    services.check_assign(
        check_id=case.checks.get(check_type_id="polygraph").pk,
        assignee=other,
        actor=vetting_cast.intake,
    )
    assert client.get(_case_url(case), secure=True).status_code == 200


def test_a_legion_scoped_adjudicator_does_not_see_other_legions(submit: Submit, make_staff) -> None:  # type: ignore[no-untyped-def]
    case = submit(legion="geo")
    scoped = make_staff("ada-frl", "adjudicator", scope_kind="legion", scope_ref="frl")
    assert signed_in(scoped).get(_case_url(case), secure=True).status_code == 404


def test_the_case_page_shows_call_sign_and_id_never_the_name(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    page = signed_in(vetting_cast.adjudicators[0]).get(_case_url(case), secure=True).content.decode()
    assert case.person.call_sign in page and case.person_id in page
    assert "Xylographov" not in page and "Vorkutograd" not in page
    assert 'id="decide-form"' in page
    # History as sentences; the raw event names stay in the audit log viewer.
    assert "Vetting started with 9 checks" in page and "case.started" not in page


def test_overdue_checks_stand_out_in_the_queue(submit: Submit, vetting_cast: Cast) -> None:
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=vetting_cast.investigator, actor=vetting_cast.intake)
    Check.objects.filter(pk=check.pk).update(due_on=datetime.date(2000, 1, 1))
    page = signed_in(vetting_cast.investigator).get(reverse("vetting:queue"), secure=True).content.decode()
    row = page.split(f'id="work-my-checks-check-{check.pk}"')[0].rsplit("<tr", 1)[1]
    assert 'class="govuk-table__row overdue"' in row


def test_adjudicators_see_the_decision_queue_and_ci_officers_flagged_cases(submit: Submit, vetting_cast: Cast) -> None:
    ready = finish_checks(start(submit(), vetting_cast), vetting_cast)
    page = signed_in(vetting_cast.adjudicators[0]).get(reverse("vetting:queue"), secure=True).content.decode()
    assert f'id="work-to-decide-case-{ready.pk}"' in page
    flagged = start(submit(), vetting_cast)  # the same person again: flagged
    page = signed_in(vetting_cast.ci).get(reverse("vetting:queue"), secure=True).content.decode()
    assert f'id="work-flags-case-{flagged.pk}"' in page


def test_a_decision_posted_through_the_page_is_recorded(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    client = signed_in(vetting_cast.adjudicators[0])
    response = browser_post(
        client,
        reverse("vetting:decide", args=[case.pk]),
        {"outcome": "approve", "rationale": RATIONALE, "version": case.version, "factor_nature": "Nothing of concern."},
    )
    assert response.status_code == 302
    assert case.decisions.get().factors == {"nature": "Nothing of concern."}


def test_a_stale_form_is_answered_with_409_and_the_reason(submit: Submit, vetting_cast: Cast) -> None:
    case = finish_checks(start(submit(), vetting_cast), vetting_cast)
    client = signed_in(vetting_cast.adjudicators[0])
    response = browser_post(
        client,
        reverse("vetting:decide", args=[case.pk]),
        {"outcome": "approve", "rationale": RATIONALE, "version": case.version - 1},
    )
    assert response.status_code == 409 and "Someone else changed this case" in response.content.decode()


def test_a_checker_posting_a_decision_is_refused(submit: Submit, vetting_cast: Cast, make_staff) -> None:  # type: ignore[no-untyped-def]
    both = make_staff("two-hats", "investigator", "adjudicator")
    case = start(submit(), vetting_cast)
    check = case.checks.get(check_type_id="identity")
    services.check_assign(check_id=check.pk, assignee=both, actor=vetting_cast.intake)
    services.check_record(check_id=check.pk, actor=both, result=CheckResult.CLEAR)
    case = finish_checks(case, vetting_cast)
    response = browser_post(
        signed_in(both), reverse("vetting:decide", args=[case.pk]), {"outcome": "approve", "rationale": RATIONALE}
    )
    assert response.status_code == 403 and not case.decisions.exists()


# unseal_identity commits its audit entry before decrypting, so it refuses to run inside the
# transaction a plain django_db test wraps around everything.
@pytest.mark.django_db(transaction=True)
def test_unsealing_needs_a_reason_is_audited_and_shows_the_identity_once(submit: Submit, vetting_cast: Cast) -> None:
    case = submit(legion="frl")
    case = start(case, vetting_cast)  # frl: every case gets a CI review
    # Starting vetting hands the CI review to the legion's CI officer; who holds it is this test's to
    # set, so it starts as nobody's.
    Check.objects.filter(case=case, check_type__is_ci_review=True).update(assigned_to=None)
    client = signed_in(vetting_cast.ci)
    url = reverse("vetting:unseal", args=[case.pk])
    # Need-to-know (issue 20): not his until the CI review is assigned to him.
    assert browser_post(client, url, {"reason": "CI review: confirm the passport"}).status_code == 404
    review = case.checks.get(check_type__is_ci_review=True)
    services.check_assign(check_id=review.pk, assignee=vetting_cast.ci, actor=vetting_cast.intake)
    refused = browser_post(client, url, {"reason": ""})
    assert refused.status_code == 400 and "Xylographov" not in refused.content.decode()
    shown = browser_post(client, url, {"reason": "CI review: confirm the passport"})
    assert shown.status_code == 200 and "Xylographov" in shown.content.decode()
    assert "no-store" in shown["Cache-Control"] or "max-age=0" in shown["Cache-Control"]
    assert Entry.objects.filter(action="identity.unsealed", subject=case.person_id).count() == 1
    again = client.get(_case_url(case), secure=True).content.decode()
    assert "Xylographov" not in again


def test_an_adjudicator_cannot_unseal(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    response = browser_post(
        signed_in(vetting_cast.adjudicators[0]), reverse("vetting:unseal", args=[case.pk]), {"reason": "Just curious"}
    )
    assert response.status_code == 403
