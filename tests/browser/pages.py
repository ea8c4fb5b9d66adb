"""Page objects for the staff interface, in the manner of SecureDrop's app navigators.

Each method is one step a staff member takes, written as Given/When/Then where it checks what the
page shows. Tests read as a story and the selectors live here only.
"""

from __future__ import annotations

import base64

from django_otp.oath import totp
from playwright.sync_api import Page, expect


def totp_from_key(key: str) -> str:
    """The current six-digit code for a key as shown on the enrolment page (base32, in groups of 4)."""
    compact = key.replace(" ", "").upper()
    padded = compact + "=" * (-len(compact) % 8)
    return f"{totp(base64.b32decode(padded)):06d}"


class StaffNavigator:
    def __init__(self, page: Page, passwords: dict[str, str]) -> None:
        self.page = page
        self.passwords = passwords

    # Signing in

    def staff_visits_the_login_page(self) -> None:
        self.page.goto("/login/")
        expect(self.page.locator("h1")).to_have_text("Sign in")

    def staff_submits_credentials(self, username: str, password: str | None = None, code: str = "") -> None:
        # When: the staff member fills in the one sign-in form and submits it.
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", self.passwords[username] if password is None else password)
        self.page.fill("#id_code", code)
        self.page.click("main button[type=submit]")

    def staff_sees_the_generic_failure(self) -> None:
        # Then: one message that does not say which part was wrong.
        expect(self.page.locator("#form-errors")).to_have_text(
            "Sign-in failed. Check your username, password and code, and try again."
        )
        expect(self.page.locator("h1")).to_have_text("Sign in")

    # First sign-in: the authenticator

    def staff_is_asked_to_set_up_an_authenticator(self) -> str:
        # Then: the enrolment page, with the QR code and the key written out.
        expect(self.page.locator("h1")).to_have_text("Set up your authenticator")
        expect(self.page.locator("img.qr")).to_be_visible()
        return self.page.inner_text("#totp-secret")

    def staff_confirms_the_authenticator(self, key: str) -> list[str]:
        # When: the code the authenticator would show is entered.
        self.page.fill("#id_code", totp_from_key(key))
        self.page.click("main button[type=submit]")
        # Then: the recovery codes, shown once.
        expect(self.page.locator("h1")).to_have_text("Your recovery codes")
        return [c.strip() for c in self.page.locator("#recovery-codes code").all_inner_texts()]

    def staff_continues_to_the_dashboard(self) -> None:
        self.page.click("text=Continue to the dashboard")

    # Signed in

    def staff_sees_the_dashboard(self, username: str) -> None:
        # Then: the dashboard for the role, and a sign-out button naming the account.
        expect(self.page.locator("h1")).to_have_text("Dashboard")
        expect(self.page.locator("#section-intake")).to_be_visible()
        expect(self.page.locator("header form[action='/logout/'] button")).to_contain_text(username)

    def staff_signs_out(self) -> None:
        self.page.click("header form[action='/logout/'] button")
        expect(self.page.locator("h1")).to_have_text("Sign in")

    # Language

    def staff_switches_language(self, code: str) -> None:
        # When: the language is chosen in the header and the change submitted.
        self.page.select_option("#language", code)
        self.page.click("form.lang button[type=submit]")
        self.page.wait_for_load_state()
