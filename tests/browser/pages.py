"""Page objects for the public pages and the staff interface, in the manner of SecureDrop's app navigators.

Each method is one step an applicant or a staff member takes, written as Given/When/Then where it
checks what the page shows. Tests read as a story and the selectors live here only.
"""

from __future__ import annotations

import base64
import re
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_otp.oath import hotp, totp
from playwright.sync_api import Locator, Page, expect

# A bound on Tab presses to reach one element, so an element outside the tab order fails the test.
MAX_TABS = 60


def _key_bytes(key: str) -> bytes:
    """A key as shown on the enrolment page (base32, in groups of 4) as bytes."""
    compact = key.replace(" ", "").upper()
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def totp_from_key(key: str) -> str:
    """The current six-digit code for a key as shown on the enrolment page."""
    return f"{totp(_key_bytes(key)):06d}"


def totp_of_step(key: str, step: int) -> str:
    """The six-digit code of a given 30-second step (RFC 6238: HOTP of the step number)."""
    return f"{hotp(_key_bytes(key), step):06d}"


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
        # Then: one message that does not say which part was wrong, in the error summary.
        expect(self.page.locator("#form-errors .govuk-error-summary__list li")).to_have_text(
            ["Sign-in failed. Check your username, password and code, and try again."]
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

    def staff_continues_to_my_work(self) -> None:
        self.page.click("#continue")

    # Signed in

    def staff_sees_my_work(self, username: str, section: str = "intake") -> None:
        # Then: "My work", where every role lands; the header names the account, the navigation
        # offers the role's section, and sign out.
        expect(self.page.locator("h1")).to_have_text("My work")
        assert self.page.url.endswith("/work/")
        expect(self.page.locator(f"#navigation a[data-sections~={section}]")).to_be_visible()
        expect(self.page.locator("header #account-name")).to_have_text(username)
        expect(self.page.locator("header form[action='/logout/'] button")).to_be_visible()

    def staff_opens_the_dashboard(self) -> None:
        self.page.goto("/dashboard/")

    def staff_sees_the_dashboard(self, username: str, section: str = "intake") -> None:
        # Then: the dashboard for the role; the header names the account and offers to sign out.
        expect(self.page.locator("h1")).to_have_text("Dashboard")
        expect(self.page.locator(f"#section-{section}")).to_be_visible()
        expect(self.page.locator("header #account-name")).to_have_text(username)
        expect(self.page.locator("header form[action='/logout/'] button")).to_be_visible()

    def staff_signs_in_for_the_first_time(self, username: str, section: str) -> None:
        """Password, then the authenticator set up and confirmed with its first code: both factors."""
        self.staff_visits_the_login_page()
        self.staff_submits_credentials(username)
        key = self.staff_is_asked_to_set_up_an_authenticator()
        self.staff_confirms_the_authenticator(key)
        self.staff_continues_to_my_work()
        self.staff_sees_my_work(username, section)

    def staff_signs_out(self) -> None:
        self.page.click("header form[action='/logout/'] button")
        expect(self.page.locator("h1")).to_have_text("Sign in")

    # Language

    def staff_switches_language(self, code: str) -> None:
        # When: the language is chosen in the language navigation (a link per language).
        self.page.click(f"#language-switch a[hreflang={code}]")
        self.page.wait_for_load_state()


# --- the keyboard ---------------------------------------------------------------------------------


def focused(page: Page, selector: str) -> bool:
    return bool(page.evaluate("(s) => document.activeElement === document.querySelector(s)", selector))


def tab_to(page: Page, selector: str) -> None:
    """Presses Tab until the element has the focus; fails if it is not in the tab order after the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def arrow_to(page: Page, selector: str, value: str, most: int = 30) -> None:
    """Moves a focused, closed <select> to ``value`` with the down arrow, as a keyboard user does."""
    assert focused(page, selector)
    for _ in range(most):
        if page.eval_on_selector(selector, "(e) => e.value") == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{selector} has no option {value!r} reachable with the arrow keys")


# --- the public side: applying and checking the status --------------------------------------------


def tiny_png(path: Path, text: str) -> Path:
    """Writes a valid 1x1 PNG whose tEXt chunk holds ``text``, as a scan shows a document's number."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + text.encode("latin-1"))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


@dataclass(frozen=True)
class Applicant:
    """What an applicant types into the public form, as he would type it."""

    legion: str
    given_names: str
    family_name: str
    patronymic: str
    date_of_birth: str  # YYYY-MM-DD
    place_of_birth: str
    citizenship: str
    document_number: str
    phone: str
    email: str
    document_kind: str = "passport"
    skill_index: int = 2  # id_skills_2 is "uav_operator": kept in the plain operational profile

    def identity(self) -> dict[str, Any]:
        """The identity in the contract's shape, for ``tests.plaintext.identity_needles``."""
        return {
            "given_names": self.given_names,
            "family_name": self.family_name,
            "patronymic": self.patronymic,
            "place_of_birth": self.place_of_birth,
            "phone": self.phone,
            "email": self.email,
            "documents": [{"kind": self.document_kind, "country": self.citizenship, "number": self.document_number}],
        }


# What the public pages say in Russian (from intake's ru catalogue).
RU = {
    "landing": "Подать заявление в добровольческий легион",
    "form": "В какой легион вы хотите вступить?",
    "continue": "Продолжить",
    "check": "Проверьте ответы перед отправкой заявления",
    "submit": "Отправить заявление",
    "receipt": "Заявление получено",
    "status": "Узнать статус заявления",  # the glossary's "check your application (status)"
    "received": "Ваше заявление получено.",
    "in_review": "Ваше заявление рассматривается.",
    "invited": "Решение принято: приходите на пункт собеседования.",
}


class ApplicantNavigator:
    def __init__(self, page: Page) -> None:
        self.page = page

    def applicant_opens_the_landing_page(self) -> None:
        self.page.goto("/")
        expect(self.page.locator("html")).to_have_attribute("lang", "en")
        expect(self.page.locator("h1")).to_have_text("Apply to a volunteer legion")

    def applicant_opens_the_form(self) -> None:
        self.page.goto("/apply/")
        expect(self.page.locator("html")).to_have_attribute("lang", "en")
        expect(self.page.locator("h1")).to_have_text("Which legion do you want to join?")

    def applicant_chooses_russian(self) -> None:
        # When: the applicant follows "Русский" in the language switch.
        self.page.click("#language-switch a[hreflang=ru]")
        expect(self.page.locator("html")).to_have_attribute("lang", "ru")

    def applicant_starts_the_application(self) -> None:
        # When: the start button of the landing page, in Russian.
        expect(self.page.locator("h1")).to_have_text(RU["landing"])
        self.page.click("#start-apply")
        self.applicant_sees_the_form_in_russian()

    def applicant_sees_the_form_in_russian(self) -> None:
        # Then: the form's first page, its question and its button are in Russian.
        expect(self.page.locator("html")).to_have_attribute("lang", "ru")
        expect(self.page.locator("h1")).to_have_text(RU["form"])
        expect(self.page.locator("#id_continue")).to_have_text(RU["continue"])
        expect(self.page.locator("label[for=id_legion_0]")).to_contain_text("Легион")

    def _continue(self) -> None:
        self.page.click("#id_continue")
        self.page.wait_for_load_state()

    def applicant_fills_in_the_form(self, who: Applicant, scan: Path) -> None:
        """Every page of the form with the mouse and the keyboard, up to the check-your-answers page,
        where the scan is attached and consent given."""
        page = self.page
        page.check(f"input[name=legion][value={who.legion}]")
        self._continue()
        page.fill("#id_given_names", who.given_names)
        page.fill("#id_family_name", who.family_name)
        page.fill("#id_patronymic", who.patronymic)
        year, month, day = who.date_of_birth.split("-")
        page.fill("#id_date_of_birth_day", day)
        page.fill("#id_date_of_birth_month", month)
        page.fill("#id_date_of_birth_year", year)
        page.fill("#id_place_of_birth", who.place_of_birth)
        page.select_option("#id_citizenships", who.citizenship)
        self._continue()
        page.select_option("#id_doc_1_kind", who.document_kind)
        page.select_option("#id_doc_1_country", who.citizenship)
        page.fill("#id_doc_1_number", who.document_number)
        self._continue()
        page.fill("#id_phone", who.phone)
        page.fill("#id_email", who.email)
        self._continue()
        self._continue()  # no next of kin
        page.check(f"#id_skills_{who.skill_index}")
        page.fill("#id_languages", "ru, en")
        self._continue()
        self.applicant_checks_the_answers(who)
        page.set_input_files("#id_upload_1", str(scan))
        page.check("#id_consent")

    def applicant_checks_the_answers(self, who: Applicant) -> None:
        # Then: the check-your-answers page shows what was typed, in Russian, with a Change link per section.
        page = self.page
        expect(page.locator("h1")).to_have_text(RU["check"])
        expect(page.locator("main")).to_contain_text(who.family_name)
        expect(page.locator("main")).to_contain_text(who.document_number)
        expect(page.locator("main a[href^='/apply/identity/']")).to_have_count(7)

    def applicant_fills_in_the_form_by_keyboard(self, who: Applicant, scan: Path) -> None:
        """Every page with Tab, typing, the arrow keys, Space and Enter; no click anywhere."""
        page = self.page
        # The legion: Tab into the radios, Space on the first, the arrow keys to the right one.
        tab_to(page, "#id_legion_0")
        page.keyboard.press("Space")
        for _ in range(10):
            if page.eval_on_selector("input[name=legion]:checked", "(e) => e.value") == who.legion:
                break
            page.keyboard.press("ArrowDown")
        expect(page.locator(f"input[name=legion][value={who.legion}]")).to_be_checked()
        self._continue_by_keyboard()
        year, month, day = who.date_of_birth.split("-")
        for field, value in (
            ("id_given_names", who.given_names),
            ("id_family_name", who.family_name),
            ("id_patronymic", who.patronymic),
            ("id_date_of_birth_day", day),
            ("id_date_of_birth_month", month),
            ("id_date_of_birth_year", year),
            ("id_place_of_birth", who.place_of_birth),
        ):
            tab_to(page, f"#{field}")
            page.keyboard.type(value)
        # The country with the arrow keys (Playwright types Cyrillic as text input, which a list box's
        # type-ahead does not see; a person's keyboard would jump there by its first letters).
        tab_to(page, "#id_citizenships")
        arrow_to(page, "#id_citizenships", who.citizenship, most=300)
        self._continue_by_keyboard()
        tab_to(page, "#id_doc_1_kind")
        arrow_to(page, "#id_doc_1_kind", who.document_kind)
        tab_to(page, "#id_doc_1_country")
        arrow_to(page, "#id_doc_1_country", who.citizenship, most=300)
        tab_to(page, "#id_doc_1_number")
        page.keyboard.type(who.document_number)
        self._continue_by_keyboard()
        tab_to(page, "#id_phone")
        page.keyboard.type(who.phone)
        tab_to(page, "#id_email")
        page.keyboard.type(who.email)
        # Enter in a text field sends the page with "Continue" (the form's default button).
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#id_kin_1_name")).to_be_visible()
        self._continue_by_keyboard()
        tab_to(page, f"#id_skills_{who.skill_index}")
        page.keyboard.press("Space")
        expect(page.locator(f"#id_skills_{who.skill_index}")).to_be_checked()
        self._continue_by_keyboard()
        self.applicant_checks_the_answers(who)
        tab_to(page, "#id_upload_1")
        # A native file dialog cannot be driven by a test, so the file input, reached and focused
        # with Tab above, gets its file from Playwright, as the dialog would give it.
        page.set_input_files("#id_upload_1", str(scan))
        tab_to(page, "#id_consent")
        page.keyboard.press("Space")
        expect(page.locator("#id_consent")).to_be_checked()

    def _continue_by_keyboard(self) -> None:
        tab_to(self.page, "#id_continue")
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def applicant_sends_the_form(self) -> None:
        self.page.click("#id_submit")

    def applicant_sends_the_form_by_keyboard(self) -> None:
        tab_to(self.page, "#id_submit")
        self.page.keyboard.press("Enter")

    def applicant_reads_the_receipt(self) -> str:
        # Then: the confirmation page, in Russian, with the receipt written out once.
        expect(self.page.locator("h1")).to_have_text(RU["receipt"])
        expect(self.page.locator("html")).to_have_attribute("lang", "ru")
        assert self.page.url.split("?")[0].endswith("/apply/sent/")
        receipt = self.page.inner_text("#receipt").strip()
        assert re.fullmatch(r"[a-z]+(?:[- ][a-z]+){3,}", receipt), receipt
        return receipt

    def applicant_opens_the_status_page(self) -> None:
        # When: the confirmation page's link to the status page is followed.
        self.page.click(f"main a:has-text('{RU['status']}')")
        expect(self.page.locator("h1")).to_have_text(RU["status"])

    def applicant_opens_the_status_page_by_keyboard(self) -> None:
        tab_to(self.page, "main a[href^='/status/']")
        self.page.keyboard.press("Enter")
        expect(self.page.locator("h1")).to_have_text(RU["status"])

    def applicant_checks_the_status(self, receipt: str, *, keyboard: bool = False) -> str:
        """Enters the receipt; returns the coarse state the page shows (its ``data-state``)."""
        if keyboard:
            tab_to(self.page, "#id_receipt")
            self.page.keyboard.type(receipt)
            self.page.keyboard.press("Enter")
        else:
            self.page.fill("#id_receipt", receipt)
            self.page.click("#id_check")
        state = self.page.locator("#state")
        expect(state).to_be_visible()
        expect(self.page.locator("html")).to_have_attribute("lang", "ru")
        return str(state.get_attribute("data-state"))

    def applicant_sees_the_state_in_russian(self, state: str) -> None:
        expect(self.page.locator("#state")).to_have_text(RU[state])


# --- vetting ----------------------------------------------------------------------------------------


class VettingNavigator(StaffNavigator):
    """One staff member's browser in the vetting story. Every page is reached by clicking from the
    page before (no typed URL after signing in), and clicks are counted per task for docs/workflows.md."""

    def __init__(self, page: Page, passwords: dict[str, str], clicks: dict[str, int] | None = None) -> None:
        super().__init__(page, passwords)
        self.clicks = clicks if clicks is not None else {}
        self.task = ""

    def click(self, selector: str) -> None:
        self.clicks[self.task] = self.clicks.get(self.task, 0) + 1
        self.page.click(selector)

    def choose(self, selector: str, label: str) -> None:
        """Chooses an option of a select: counted as one click (open the list and pick is one gesture)."""
        self.clicks[self.task] = self.clicks.get(self.task, 0) + 1
        self.page.select_option(selector, label=label)

    def begins(self, task: str) -> None:
        """Starts counting the clicks of a task (a row of the table in docs/workflows.md)."""
        self.task = task
        self.clicks.setdefault(task, 0)

    # My work

    def staff_opens_my_work(self) -> None:
        """From any page, the navigation's "My work" (where staff land after signing in)."""
        self.click("#nav-work")
        expect(self.page.locator("h1")).to_have_text("My work")

    def staff_sees_on_my_work(self, section: str, case_id: int) -> None:
        expect(self.page.locator(f"#work-{section} a[href^='/cases/{case_id}/']").first).to_be_visible()

    def staff_does_not_see_on_my_work(self, section: str, case_id: int) -> None:
        expect(self.page.locator(f"#work-{section} a[href^='/cases/{case_id}/']")).to_have_count(0)

    def staff_opens_the_case_from_my_work(self, section: str, case_id: int) -> None:
        self.click(f"#work-{section} a[href^='/cases/{case_id}/'] >> nth=0")
        expect(self.page.locator("#case-state")).to_be_visible()
        assert f"/cases/{case_id}/" in self.page.url

    def case_state(self) -> str:
        return str(self.page.locator("#case-state").get_attribute("data-state"))

    # The intake queue

    def intake_officer_assigns_the_newest_application(self, investigator: str) -> int:
        """In the intake queue: ticks the newest application, chooses the investigator, assigns."""
        self.click("#nav-intake")
        expect(self.page.locator("h1")).to_have_text("New applications")
        row = self.page.locator("tbody tr[id^=case-]").first
        case_id = int(str(row.get_attribute("id")).removeprefix("case-"))
        self.click(f"#case-{case_id} input[type=checkbox]")
        self.choose("#assign-investigator", investigator)
        self.click("#assign-button")
        # Then: a banner says who has it, and the row has left "new".
        expect(self.page.locator("#messages")).to_contain_text(f"assigned to {investigator}")
        expect(self.page.locator(f"#case-{case_id}")).to_have_count(0)
        return case_id

    # The case page

    def check_rows(self) -> dict[int, tuple[str, str]]:
        """Check id → (the check's name, its assignee) as the case page lists them."""
        rows = self.page.locator("#checks tbody tr[id^=check-]")
        out = {}
        for i in range(rows.count()):
            row = rows.nth(i)
            cells = row.locator("td")
            out[int(str(row.get_attribute("id")).removeprefix("check-"))] = (
                cells.nth(0).inner_text().split("\n")[0],
                cells.nth(1).inner_text(),
            )
        return out

    def staff_opens_the_identity(self, reason: str) -> None:
        self.page.fill("#unseal-reason", reason)
        self.click("#unseal-form button[type=submit]")
        expect(self.page.locator("#identity")).to_be_visible()

    def staff_opens_the_next_of_kin(self, reason: str) -> None:
        self.page.fill("#kin-reason", reason)
        self.click("#kin-form button[type=submit]")
        expect(self.page.locator("#next-of-kin")).to_be_visible()

    def staff_records_every_check_of_his(self, polygraph_examined_on: str) -> list[int]:
        """Records "clear" (and, for a polygraph, its details) on each check with a form for him."""
        recorded = []
        while (forms := self.page.locator("form[id^=record-form-]")).count():
            check_id = int(str(forms.first.get_attribute("id")).removeprefix("record-form-"))
            self.click(f"#result-{check_id}-clear")
            if self.page.locator(f"#polygraph-outcome-{check_id}-no_deception_indicated").count():
                self.click(f"#polygraph-outcome-{check_id}-no_deception_indicated")
                self.page.fill(f"#examined-on-{check_id}", polygraph_examined_on)
                self.page.fill(f"#question-areas-{check_id}", "Foreign contacts\nCriminal conduct")
            self.click(f"#record-form-{check_id} button[type=submit]")
            # Then: a banner, the check shows its result and the form is gone.
            expect(self.page.locator("#messages")).to_contain_text("Check result recorded.")
            expect(self.page.locator(f"#check-{check_id} td").nth(3)).to_contain_text("Clear")
            expect(self.page.locator(f"#record-form-{check_id}")).to_have_count(0)
            recorded.append(check_id)
        return recorded

    def ci_officer_resolves_the_flag(self, resolution: str, reason: str) -> None:
        form = self.page.locator("form[id^=flag-form-]").first
        flag_id = int(str(form.get_attribute("id")).removeprefix("flag-form-"))
        self.click(f"#resolution-{flag_id}-{resolution}")
        self.page.fill(f"#flag-reason-{flag_id}", reason)
        self.click(f"#flag-form-{flag_id} button[type=submit]")
        expect(self.page.locator("#messages")).to_contain_text("Resolved:")
        expect(self.page.locator(f"#flag-form-{flag_id}")).to_have_count(0)

    def adjudicator_decides(self, outcome: str, rationale: str) -> None:
        # No outcome is chosen until the adjudicator chooses one.
        expect(self.page.locator("#decide-form input[name=outcome]:checked")).to_have_count(0)
        self.click(f"#outcome-{outcome}")
        self.page.fill("#rationale", rationale)
        self.click("#decide-form button[type=submit]")
        expect(self.page.locator("#messages")).to_contain_text("Your decision is recorded.")
        expect(self.page.locator("#decisions li").filter(has_text=rationale)).to_have_count(1)


# --- openings: break-glass and step-up ---------------------------------------------------------------


class OpeningNavigator(StaffNavigator):
    """One staff member's browser in the break-glass story: signs in with an authenticator whose key
    it keeps, so that it can enter the code again when the step-up page asks for it.

    The story needs several codes a minute, and django-otp accepts each 30-second step once. It
    also accepts, as it does for every authenticator (a ``TOTPDevice``'s default ``tolerance`` of
    one step, and ``OTP_TOTP_SYNC``, on by default, which follows the authenticator's clock), the
    code of the step after the last one it saw. So this authenticator gives each time the code of
    the step after its last one, as a phone whose clock runs ahead would, instead of waiting for
    the next 30 seconds; when more time has passed, the step as far ahead of now as its last was.
    The server's checks are the production ones: a wrong code is still refused (and held back
    for django-otp's second after it), and a code used once is refused again
    (tests/access/test_login.py::test_a_code_cannot_be_used_twice).
    """

    TOTP_STEP = 30
    # django-otp's wait after a wrong code: OTP_TOTP_THROTTLE_FACTOR (1 second in settings) times
    # 2 ** (wrong codes - 1); the story enters one wrong code at a time.
    THROTTLE_SECONDS = 1.0

    def __init__(self, page: Page, passwords: dict[str, str]) -> None:
        super().__init__(page, passwords)
        self.key = ""
        self.last_step = -1  # the step of the last code given
        self.last_given_at = -1  # the clock's step when it was given
        self.wrong_code_at = 0.0

    def _code(self) -> str:
        """The authenticator's next code (see the class): the server accepts it because its window,
        one step either side of its own clock plus the drift it has followed, holds it."""
        now = int(time.time()) // self.TOTP_STEP
        if self.last_step < 0:
            step = now
        else:
            step = max(self.last_step + 1, now + self.last_step - self.last_given_at)
        self.last_step, self.last_given_at = step, now
        return totp_of_step(self.key, step)

    def staff_signs_in_for_the_first_time(self, username: str, section: str) -> None:
        self.staff_visits_the_login_page()
        self.staff_submits_credentials(username)
        self.key = self.staff_is_asked_to_set_up_an_authenticator()
        self.page.fill("#id_code", self._code())
        self.page.click("main button[type=submit]")
        expect(self.page.locator("h1")).to_have_text("Your recovery codes")
        self.staff_continues_to_my_work()
        self.staff_sees_my_work(username, section)

    def staff_opens_my_work(self) -> None:
        self.page.click("#nav-work")
        expect(self.page.locator("h1")).to_have_text("My work")

    # Step-up

    def staff_is_asked_for_the_code_again(self, doing: str, reason: str = "") -> None:
        # Then: the step-up page says what was asked and keeps the reason; nothing is opened yet.
        expect(self.page.locator("h1")).to_have_text("Enter your authenticator code again")
        assert self.page.url.endswith("/step-up/")
        expect(self.page.locator("#step-up-doing")).to_have_text(doing)
        if reason:
            expect(self.page.locator("#step-up-reason")).to_have_text(reason)
        expect(self.page.locator("#identity")).to_have_count(0)

    def staff_enters_a_wrong_code(self) -> None:
        right = {totp_of_step(self.key, self.last_step + offset) for offset in range(-1, 4)}
        self.page.fill("#id_step_up_code", "000000" if "000000" not in right else "111111")
        self.page.click("#step-up-confirm")
        expect(self.page.locator("#form-errors")).to_contain_text("That code is not right.")
        self.wrong_code_at = time.monotonic()

    def staff_enters_the_code_again(self) -> None:
        # After a wrong code django-otp refuses even the right one for a moment (proved in
        # tests/vetting/test_step_up.py); a person typing the code again takes longer than that.
        held = self.wrong_code_at + self.THROTTLE_SECONDS - time.monotonic()
        if held > 0:
            time.sleep(held + 0.1)
        self.page.fill("#id_step_up_code", self._code())
        self.page.click("#step-up-confirm")

    # The requester

    def requester_asks_to_open_the_identity(self, reason: str) -> None:
        self.page.fill("#unseal-reason", reason)
        self.page.click("#unseal-form button[type=submit]")

    def requester_sees_his_opening_held(self, reason: str) -> None:
        expect(self.page.locator("#opening-held")).to_have_text("Held for approval")
        expect(self.page.locator("#request-state")).to_have_attribute("data-state", "pending")
        expect(self.page.locator("#opening-request")).to_contain_text(reason)
        expect(self.page.locator("#identity")).to_have_count(0)

    def requester_finds_the_approval_on_my_work(self, call_sign: str) -> None:
        self.staff_opens_my_work()
        expect(self.page.locator("#work-openings-approved a").filter(has_text=call_sign)).to_have_count(1)

    def requester_opens_the_approval(self, call_sign: str) -> None:
        self.page.locator("#work-openings-approved a").filter(has_text=call_sign).click()
        expect(self.page.locator("#opening-held")).to_have_text("Approved: you may open it once")
        expect(self.page.locator("#decided-by")).to_be_visible()

    def requester_goes_to_the_opening(self) -> None:
        self.page.click("#open-approved")
        expect(self.page.locator("#case-state")).to_be_visible()

    def requester_sees_the_identity_marked_with_his_account(self, username: str) -> None:
        expect(self.page.locator("#identity")).to_be_visible()
        mark = self.page.locator("#watermark [data-watermark]").first
        assert str(mark.get_attribute("data-watermark")).startswith(f"{username} · ")

    # The security officer

    def security_officer_opens_the_request_from_my_work(self, call_sign: str, requester: str) -> None:
        self.staff_opens_my_work()
        link = self.page.locator("#work-openings-pending a").filter(has_text=call_sign)
        expect(link).to_have_count(1)
        expect(self.page.locator("#work-openings-pending")).to_contain_text(f"requested by {requester}")
        link.click()
        expect(self.page.locator("h1")).to_have_text("Break-glass request")
        expect(self.page.locator("#requester")).to_have_text(requester)

    def security_officer_approves(self) -> None:
        self.page.click("#approve")


# --- after approval: the instructor and the commander, from My work ---------------------------------


def call_sign_text(text: str) -> str:
    """A call sign as the page shows it (the ``<bdi>`` isolation adds no characters, but spacing may)."""
    return text.strip().strip("\u2066\u2067\u2068\u2069").strip()


class PipelineNavigator(VettingNavigator):
    """The vetting navigator's counting clicks, with the instructor's and the commander's steps."""

    def my_work_row(self, section: str, call_sign: str) -> Locator:
        return self.page.locator(f"#work-{section} tbody tr").filter(has=self.page.get_by_role("link", name=call_sign))

    def staff_sees_the_person_on_my_work(self, section: str, call_sign: str) -> None:
        expect(self.my_work_row(section, call_sign)).to_have_count(1)

    def staff_does_not_see_the_person_on_my_work(self, section: str, call_sign: str) -> None:
        expect(self.my_work_row(section, call_sign)).to_have_count(0)

    def instructor_opens_the_person_to_enrol(self, call_sign: str) -> str:
        """My work's "People to enrol" row opens the cohort at its list of people waiting for training.
        Returns the person's pseudonymous id."""
        link = self.my_work_row("training-people-to-enrol", call_sign).get_by_role("link", name=call_sign)
        person_id = str(link.get_attribute("href")).rsplit("#to-enrol-", 1)[1]
        self.click(f"#work-training-people-to-enrol a[href$='#to-enrol-{person_id}']")
        expect(self.page.locator(f"#to-enrol-{person_id}")).to_contain_text(call_sign)
        return person_id

    def instructor_enrols(self, person_id: str, call_sign: str) -> None:
        """The person's Enrol button in the cohort's list of people waiting for training."""
        self.click(f"#enrol-{person_id}")
        # Then: a banner, he is enrolled and no longer waiting.
        expect(self.page.locator("#messages")).to_contain_text(f"{call_sign} enrolled.")
        expect(self.page.locator("#enrolled")).to_contain_text(call_sign)
        expect(self.page.locator(f"#to-enrol-{person_id}")).to_have_count(0)

    def due_modules(self) -> int:
        return self.page.locator("#work-training-results-to-enter tbody a").count()

    def instructor_grades_the_first_due_module(self, score: str) -> int:
        """From My work: the first module due, a score in each open cell, Record results, then his
        sign-off and, as the cohort's lead, the final one. Returns how many results he recorded."""
        self.click("#work-training-results-to-enter tbody a >> nth=0")
        expect(self.page.locator("#results-form")).to_be_visible()
        fields = self.page.locator("#results-form input[id^=score-]")
        count = fields.count()
        assert count > 0
        for i in range(count):
            fields.nth(i).fill(score)
        self.click("#results-submit")
        expect(self.page.locator("#messages")).to_contain_text(f"{count} results recorded.")
        self.click("#sign-instructor")
        expect(self.page.locator("#messages")).to_contain_text(f"{count} results signed off.")
        self.click("#sign-lead")
        expect(self.page.locator("#messages")).to_contain_text(f"{count} results signed off.")
        return count

    def commander_assigns_from_my_work(self, call_sign: str, role_label: str, unit: str) -> None:
        """My work's "People awaiting assignment" row, the billet (by its role), Assign."""
        self.click(f"#work-units-awaiting-assignment a:has-text('{call_sign}')")
        expect(self.page.locator("h1")).to_contain_text(f"Assign {call_sign} to a billet")
        # Nothing is chosen until he chooses.
        expect(self.page.locator("#assign-form input[name=billet]:checked")).to_have_count(0)
        label = self.page.locator("#assign-form label").filter(has_text=role_label).first
        self.click(f"#{label.get_attribute('for')}")
        self.click("#assign-submit")
        expect(self.page.locator("#messages")).to_contain_text(f"{call_sign} assigned: {role_label}, {unit}.")
