"""Signing in through a real browser against a served instance: enrolment, recovery codes, the
keyboard, the Content-Security-Policy and the language switch."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import CspWatch, Instance
from tests.browser.pages import StaffNavigator, totp_from_key
from tests.core.instance import http_get

pytestmark = pytest.mark.browser

# Adds an inline script as an injection would, and resolves with the directive the browser reports.
INJECT_INLINE_SCRIPT = """() => new Promise((resolve) => {
  document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), {once: true});
  const script = document.createElement("script");
  script.textContent = "window.pwned = 1";
  document.body.appendChild(script);
})"""


def test_first_sign_in_enrols_an_authenticator_and_a_recovery_code_signs_in_later(nav: StaffNavigator) -> None:
    # Given: a new account made with `legionary staff add`, never signed in.
    nav.staff_visits_the_login_page()
    # When: the password is given with an empty code.
    nav.staff_submits_credentials("alice")
    # Then: the authenticator is set up from the key on the page, and recovery codes are shown.
    key = nav.staff_is_asked_to_set_up_an_authenticator()
    codes = nav.staff_confirms_the_authenticator(key)
    assert len(codes) == 10 and len(set(codes)) == 10
    nav.staff_continues_to_my_work()
    nav.staff_sees_my_work("alice")
    # When: signing out and in again with the password and a recovery code.
    nav.staff_signs_out()
    nav.staff_submits_credentials("alice", code=codes[0])
    # Then: My work again.
    nav.staff_sees_my_work("alice")


def test_a_wrong_password_shows_the_generic_error(nav: StaffNavigator) -> None:
    # Given: the login page.
    nav.staff_visits_the_login_page()
    # When: a wrong password is given.
    nav.staff_submits_credentials("bob", password="not the password at all", code="123456")
    # Then: the one generic message, and still not signed in.
    nav.staff_sees_the_generic_failure()
    nav.page.goto("/work/")
    assert nav.page.url.endswith("/login/?next=/work/")


def _tab_to(page: Page, element_id: str) -> None:
    """Presses Tab until the element has the focus; fails if it is not in the tab order at all."""
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} cannot be reached with the Tab key")


def test_signing_in_and_enrolling_works_with_the_keyboard_alone(nav: StaffNavigator) -> None:
    page = nav.page
    # Given: the login page, and a staff member who uses no mouse.
    nav.staff_visits_the_login_page()
    # When: tabbing to each field, typing, and pressing Enter.
    _tab_to(page, "id_username")
    page.keyboard.type("carol")
    page.keyboard.press("Tab")
    page.keyboard.type(nav.passwords["carol"])
    page.keyboard.press("Enter")
    # Then: enrolment, done the same way.
    key = nav.staff_is_asked_to_set_up_an_authenticator()
    _tab_to(page, "id_code")
    page.keyboard.type(totp_from_key(key))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    # The button-styled link leads on; Tab reaches it and Enter follows it.
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "continue":
            break
    page.keyboard.press("Enter")
    nav.staff_sees_my_work("carol")


def test_pages_carry_a_strict_csp_header_and_an_inline_script_is_reported(
    page: Page, instance: Instance, csp: CspWatch
) -> None:
    # Given: the login page as served.
    response = page.goto("/login/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    # Then: the page itself loads without any violation.
    page.wait_for_load_state("networkidle")
    assert csp.violations == []
    # When: something injects an inline script (as an XSS would).
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        directive = page.evaluate(INJECT_INLINE_SCRIPT)
    # Then: the browser refused it and our watch saw the report, so a real violation fails a test.
    assert directive == "script-src-elem"
    assert page.evaluate("window.pwned") is None
    assert any("script-src" in v for v in csp.violations)
    csp.violations.clear()


def test_the_served_instance_runs_on_the_database_the_suite_runs_on(instance: Instance) -> None:
    assert http_get(instance.base_url + "/healthz") == (200, b"ok\n")
    embedded = instance.home / "legionary.sqlite3"
    assert embedded.exists() is (instance.database_url is None)


@pytest.mark.parametrize(
    ("language", "heading", "button"),
    [("uk", "Увійти", "Увійти"), ("ru", "Войти", "Войти")],
)
def test_the_language_switch_translates_the_page(nav: StaffNavigator, language: str, heading: str, button: str) -> None:
    # Given: the login page in English.
    nav.staff_visits_the_login_page()
    # When: another language is chosen.
    nav.staff_switches_language(language)
    # Then: the page is in that language, and says so in its markup.
    expect(nav.page.locator("h1")).to_have_text(heading)
    expect(nav.page.locator("main button[type=submit]")).to_have_text(button)
    expect(nav.page.locator("html")).to_have_attribute("lang", language)
    expect(nav.page.locator("label[for=id_password]")).not_to_contain_text("Password")
