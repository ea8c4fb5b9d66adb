"""Break-glass end to end with two staff accounts, each in his own browser (issue 21).

An investigator whose check of a case is done (the case is another investigator's) asks to open its
identity with a reason: the opening is held. The security officer finds the request on his "My work"
by clicking, approves it; the investigator finds the approval on his "My work", opens the identity
once and sees it marked with his account. The server asks for the authenticator code before every
opening and approval (``LEGIONARY_STEP_UP_MINUTES=0``), so each of those goes through the step-up
page; a wrong code there opens nothing. The next opening is held again, and once that request has
expired it opens nothing and is gone from the officer's "My work". axe-core runs on every page of
the story. (That an officer cannot approve his own request is proved in
tests/vetting/test_openings.py::test_the_approver_can_never_be_the_requester.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible, shoot
from tests.browser.conftest import Instance, OpenPage
from tests.browser.pages import OpeningNavigator
from tests.browser.setup_helpers import applicants_import, shell
from tests.intake.helpers import application

pytestmark = pytest.mark.browser

INTAKE = "olga-intake"
CASE_OFFICER = "anna-investigator"
REQUESTER = "ivan-investigator"
SECURITY = "sofia-security"
REASON = "Referee named a second passport; compare the numbers"


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {
        INTAKE: ["intake_officer"],
        CASE_OFFICER: ["investigator"],
        REQUESTER: ["investigator"],
        SECURITY: ["security_officer"],
    }


@pytest.fixture(scope="module")
def server_settings() -> dict[str, str]:
    return {"LEGIONARY_STEP_UP_MINUTES": "0"}  # the code before every opening and approval


def case_not_assigned_to_the_requester(instance: Instance, folder: Path) -> tuple[int, str]:
    """A case in review that is the case officer's, with an identity check the requester has done:
    in his scope (he held a check), but no longer his to open. Returns (case id, call sign)."""
    applicants_import(
        instance,
        [application(external_ref="bg-1", legion="frl", identity__family_name="Prokhorenko")],
        folder,
    )
    found = shell(
        instance,
        "from legionary.access.models import Staff\n"
        "from legionary.vetting import services\n"
        "from legionary.vetting.models import Case\n"
        f"intake = Staff.objects.get(username={INTAKE!r})\n"
        f"officer = Staff.objects.get(username={CASE_OFFICER!r})\n"
        f"requester = Staff.objects.get(username={REQUESTER!r})\n"
        "case = Case.objects.get(person__external_ref='bg-1')\n"
        "services.vetting_start(case_id=case.pk, actor=intake)\n"
        "services.case_assign(case_id=case.pk, officer=officer, actor=intake)\n"
        "check = case.checks.get(check_type_id='identity')\n"
        "services.check_assign(check_id=check.pk, assignee=requester, actor=intake)\n"
        "services.check_record(check_id=check.pk, actor=requester, result='clear', note='Documents agree.')\n"
        "result([case.pk, case.person.call_sign])\n",
    )
    return int(found[0]), str(found[1])


def test_an_unassigned_opening_waits_for_the_security_officer_and_then_opens_once(
    open_page: OpenPage, instance: Instance, clean_browser: object, tmp_path: Path
) -> None:
    case_id, call_sign = case_not_assigned_to_the_requester(instance, tmp_path)
    requester = OpeningNavigator(open_page(), instance.passwords)
    officer = OpeningNavigator(open_page(), instance.passwords)

    # Given: the investigator, signed in, on the case whose check he finished.
    requester.staff_signs_in_for_the_first_time(REQUESTER, "cases")
    requester.page.goto(f"/cases/{case_id}/")
    expect(requester.page.locator("#case-state")).to_be_visible()
    assert_accessible(requester.page, "the case page")
    # When: he asks to open the identity with a reason; the code is asked first.
    requester.requester_asks_to_open_the_identity(REASON)
    requester.staff_is_asked_for_the_code_again("Open the identity", REASON)
    assert_accessible(requester.page, "the step-up page")
    shoot(requester.page, "break-glass-step-up")
    # A wrong code opens nothing and keeps the reason.
    requester.staff_enters_a_wrong_code()
    requester.staff_is_asked_for_the_code_again("Open the identity", REASON)
    assert_accessible(requester.page, "the step-up page with its error")
    requester.staff_enters_the_code_again()
    # Then: the opening is held for a security officer; nothing is shown.
    requester.requester_sees_his_opening_held(REASON)
    assert_accessible(requester.page, "the held page")
    shoot(requester.page, "break-glass-held")

    # The security officer, in his own browser: the request is on his My work; he clicks to it.
    officer.staff_signs_in_for_the_first_time(SECURITY, "audit")
    assert_accessible(officer.page, "the security officer's My work")
    officer.security_officer_opens_the_request_from_my_work(call_sign, REQUESTER)
    expect(officer.page.locator("#opening-request")).to_contain_text(REASON)
    assert_accessible(officer.page, "the request's page")
    shoot(officer.page, "break-glass-review")
    officer.security_officer_approves()
    officer.staff_is_asked_for_the_code_again("Approve a break-glass request")
    assert_accessible(officer.page, "the step-up page of an approval")
    officer.staff_enters_the_code_again()
    expect(officer.page.locator("#messages")).to_contain_text("Approved: the requester may open it once.")
    assert_accessible(officer.page, "the requests list")

    # The investigator finds the approval on his My work and opens the identity once, code first.
    requester.requester_finds_the_approval_on_my_work(call_sign)
    assert_accessible(requester.page, "the investigator's My work with the approval")
    requester.requester_opens_the_approval(call_sign)
    expect(requester.page.locator("#decided-by")).to_have_text(SECURITY)
    assert_accessible(requester.page, "the approved request")
    requester.requester_goes_to_the_opening()
    assert_accessible(requester.page, "the case page after approval")
    requester.requester_asks_to_open_the_identity(REASON)
    requester.staff_is_asked_for_the_code_again("Open the identity", REASON)
    requester.staff_enters_the_code_again()
    requester.requester_sees_the_identity_marked_with_his_account(REQUESTER)
    assert_accessible(requester.page, "the opened identity")
    shoot(requester.page, "break-glass-opened")

    # The approval was for one opening: the next one is held again.
    requester.page.goto(f"/cases/{case_id}/")
    requester.requester_asks_to_open_the_identity("A second look at the scan")
    requester.staff_is_asked_for_the_code_again("Open the identity", "A second look at the scan")
    requester.staff_enters_the_code_again()
    requester.requester_sees_his_opening_held("A second look at the scan")
    held_url = requester.page.url
    # When: the request expires before anyone decides it.
    shell(
        instance,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from legionary.identity.models import OpeningRequest\n"
        "n = OpeningRequest.objects.filter(state='pending').update(expires_at=timezone.now() - timedelta(seconds=1))\n"
        "result(n)\n",
    )
    # Then: the investigator's page says it expired and nothing was opened ...
    requester.page.goto(held_url)
    expect(requester.page.locator("#request-state")).to_have_attribute("data-state", "expired")
    expect(requester.page.locator("main")).to_contain_text("This request expired. Nothing was opened")
    expect(requester.page.locator("#open-approved")).to_have_count(0)
    assert_accessible(requester.page, "the expired request")
    # ... and it is gone from the officer's My work, where nothing is left to approve.
    officer.staff_opens_my_work()
    expect(officer.page.locator("#work-openings-pending a").filter(has_text=call_sign)).to_have_count(0)
    assert_accessible(officer.page, "the security officer's My work after the expiry")
    # And going to the case again opens nothing: a new request is held.
    requester.page.goto(f"/cases/{case_id}/")
    requester.requester_asks_to_open_the_identity(REASON)
    requester.staff_enters_the_code_again()
    requester.requester_sees_his_opening_held(REASON)
