"""The design system's two bases and the shared staff pages, in a real browser: axe-core finds no
serious or critical violation, nothing is wider than a phone's screen, the language switches set
``<html lang>``, "Exit this page" works with and without JavaScript, and nothing breaks the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.axe import assert_accessible, assert_fits, shoot
from tests.browser.conftest import CspWatch, Instance
from tests.browser.pages import StaffNavigator

pytestmark = pytest.mark.browser

NEUTRAL = "https://www.bbc.com/weather"


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {
        "alice": ["intake_officer"],
        "bob": ["intake_officer"],
        "carol": ["intake_officer"],
        "sofia": ["security_officer"],
    }


def test_the_sign_in_page_is_accessible_and_fits_a_phone(nav: StaffNavigator) -> None:
    nav.staff_visits_the_login_page()
    shoot(nav.page, "sign-in")
    # When: the form is sent empty.
    nav.page.click("#sign-in")
    # Then: the error summary at the top links to the field, and the message is at the field.
    summary = nav.page.locator("#form-errors")
    expect(summary).to_be_visible()
    expect(summary.locator("a[href='#id_username']")).to_be_visible()
    expect(nav.page.locator("#id_username_error")).to_be_visible()
    shoot(nav.page, "sign-in-errors")


def test_first_sign_in_pages_are_accessible(nav: StaffNavigator) -> None:
    nav.staff_visits_the_login_page()
    nav.staff_submits_credentials("carol")
    key = nav.staff_is_asked_to_set_up_an_authenticator()
    shoot(nav.page, "enrol")
    nav.staff_confirms_the_authenticator(key)
    shoot(nav.page, "recovery-codes")
    nav.staff_continues_to_my_work()
    nav.staff_sees_my_work("carol")
    shoot(nav.page, "my-work")
    nav.staff_opens_the_dashboard()
    nav.staff_sees_the_dashboard("carol")
    shoot(nav.page, "dashboard")


def test_the_public_form_carries_exit_this_page_and_five_languages(page: Page, clean_browser: CspWatch) -> None:
    page.goto("/apply/?lang=ka")
    expect(page.locator("html")).to_have_attribute("lang", "ka")
    links = page.locator("#language-switch [lang]")
    expect(links).to_have_count(5)
    exit_link = page.locator("#exit-this-page")
    expect(exit_link).to_have_attribute("href", NEUTRAL)
    expect(page.locator("#staff-sign-in")).to_have_attribute("href", "/login/")
    shoot(page, "apply-ka")


def test_exit_this_page_with_javascript_leaves_on_three_shift_presses(page: Page, clean_browser: CspWatch) -> None:
    left: list[str] = []

    def neutral(route: Route) -> None:
        left.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>Weather</title>")

    page.route(NEUTRAL + "*", neutral)
    page.goto("/apply/")
    expect(page.locator("body.govuk-frontend-supported")).to_have_count(1)
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(NEUTRAL + "*")
    assert left and left[0].startswith(NEUTRAL)


def test_exit_this_page_without_javascript_is_a_plain_link(browser: Browser, instance: Instance) -> None:
    context = browser.new_context(base_url=instance.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        left: list[str] = []
        page.route(NEUTRAL + "*", lambda route: (left.append(route.request.url), route.fulfill(status=200, body="ok")))
        page.goto("/apply/?lang=uk")
        expect(page.locator("body.govuk-frontend-supported")).to_have_count(0)
        page.click("#exit-this-page")
        page.wait_for_url(NEUTRAL + "*")
        assert left
    finally:
        context.close()


def test_the_staff_language_switch_is_links_and_sets_html_lang(nav: StaffNavigator) -> None:
    nav.staff_visits_the_login_page()
    switch = nav.page.locator("#language-switch")
    expect(switch.locator("a[hreflang=uk][lang=uk]")).to_have_count(1)
    expect(switch.locator("[aria-current=true]")).to_have_attribute("lang", "en")
    # When: "Українська" is chosen with the keyboard.
    nav.page.locator("#language-switch a[hreflang=uk]").focus()
    nav.page.keyboard.press("Enter")
    # Then: the same page, in Ukrainian, and it says so to the browser.
    expect(nav.page.locator("html")).to_have_attribute("lang", "uk")
    assert nav.page.url.endswith("/login/")
    expect(nav.page.locator("h1")).to_have_text("Увійти")
    assert_accessible(nav.page)
    assert_fits(nav.page)


def test_my_work_for_the_security_officer_lists_openings_and_checkpoints(nav: StaffNavigator) -> None:
    nav.staff_signs_in_for_the_first_time("sofia", "audit")
    expect(nav.page.locator("#work-audit-openings h2")).to_have_text("Recent openings of sealed data")
    expect(nav.page.locator("#work-audit-checkpoints td").first).to_contain_text("checkpoint")
    # The navigation names the account's role and leads to the audit log.
    expect(nav.page.locator("#account-roles")).to_have_text("Security officer")
    shoot(nav.page, "my-work-security-officer")
    nav.page.click("#nav-audit")
    expect(nav.page.locator("#nav-audit")).to_have_attribute("aria-current", "true")


def test_error_pages_fit_and_are_accessible_for_both_audiences(page: Page, csp: CspWatch) -> None:
    # (The browser logs each 404 answer as a failed load, so only CSP violations are checked here.)
    response = page.goto("/no-such-page/?lang=ka")
    assert response is not None and response.status == 404
    expect(page.locator("html")).to_have_attribute("lang", "ka")
    expect(page.locator("#exit-this-page")).to_be_visible()
    shoot(page, "error-404-public-ka")
    response = page.goto("/cases/no-such-case/")
    assert response is not None and response.status == 404
    expect(page.locator("#exit-this-page")).to_have_count(0)
    shoot(page, "error-404-staff")
    assert csp.violations == []
