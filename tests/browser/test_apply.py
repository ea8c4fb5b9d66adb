"""Applying in Russian through a real browser against a served instance, with the mouse and with the
keyboard alone: landing page, the form page by page, check your answers, confirmation, status; and
afterwards nothing the applicant typed is anywhere the server keeps data at rest (issue 5). Sending
is done once: a reload, going back, or sending a stale copy of the last page stores nothing more
(issue 17)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.at_rest import count_rows, served_haystacks
from tests.browser.conftest import Instance, OpenPage
from tests.browser.pages import Applicant, ApplicantNavigator, tab_to, tiny_png
from tests.plaintext import identity_needles, search

pytestmark = pytest.mark.browser

MOUSE_APPLICANT = Applicant(
    legion="frl",
    given_names="Ярослав",
    family_name="Белозёров",
    patronymic="Игоревич",
    date_of_birth="1991-03-17",
    place_of_birth="Нижний Новгород",
    citizenship="RU",
    document_number="4509 731246",
    phone="+7 916 402-31-87",
    email="yaroslav.belozerov@example.org",
)
KEYBOARD_APPLICANT = Applicant(
    legion="intl",
    given_names="Всеволод",
    family_name="Крапивин",
    patronymic="Олегович",
    date_of_birth="1988-11-11",
    place_of_birth="Ярославль",
    citizenship="RU",
    document_number="4612 905318",
    phone="+7 903 518-44-29",
    email="krapivin.vsevolod@example.net",
)
# The skill ticked (id_skills_2): operational profile data, kept in plain text by design, so finding
# it proves the scan reads the served instance's own database.
PLAIN_PROFILE_VALUE = "uav_operator"


@pytest.fixture
def applicant(open_page: OpenPage, clean_browser: object) -> ApplicantNavigator:
    """An applicant's browser (en-GB, so Russian comes from the page's switch, not the browser)."""
    return ApplicantNavigator(open_page())


def _scan_of(who: Applicant, folder: Path) -> Path:
    # The file is named after the applicant and its content holds the document number, as a real
    # scan would; neither may be kept in plain text.
    return tiny_png(folder / f"{who.family_name}-паспорт.png", re.sub(r"\D", "", who.document_number))


def _assert_nothing_typed_is_at_rest(instance: Instance, who: Applicant) -> None:
    needles = identity_needles([who.identity()])
    digits = re.sub(r"\D", "", who.document_number)
    # Given: the needles hold what the applicant typed: the Cyrillic name, document number, phone, e-mail.
    assert {who.given_names, who.family_name, digits, who.email, re.sub(r"\D", "", who.phone)} <= needles
    haystacks = served_haystacks(instance)
    # And: the scan reads the instance that took the application: its rows and its encrypted upload.
    assert search([PLAIN_PROFILE_VALUE], {"rows": haystacks["database rows"]}) != []
    assert any("/uploads/" in where for where in haystacks)
    if instance.database_url is None:
        assert any(where.endswith(".sqlite3-wal") for where in haystacks)
    # Then: none of it is anywhere, as UTF-8, UTF-16 or in lower or upper case.
    assert search(needles, haystacks) == []


def test_an_application_sent_in_russian_gives_a_receipt_that_shows_received_in_russian(
    applicant: ApplicantNavigator, instance: Instance, tmp_path: Path
) -> None:
    # Given: the public landing page, switched to Russian with the language links, and its start button.
    applicant.applicant_opens_the_landing_page()
    applicant.applicant_chooses_russian()
    applicant.applicant_starts_the_application()
    # When: the applicant fills in each page with a Cyrillic name, checks the answers, attaches a
    # scan, agrees and sends it.
    applicant.applicant_fills_in_the_form(MOUSE_APPLICANT, _scan_of(MOUSE_APPLICANT, tmp_path))
    applicant.applicant_sends_the_form()
    # Then: a receipt, on a page in Russian.
    receipt = applicant.applicant_reads_the_receipt()
    # When: the receipt is entered on the status page.
    applicant.applicant_opens_the_status_page()
    state = applicant.applicant_checks_the_status(receipt)
    # Then: the coarse state, in Russian.
    assert state == "received"
    applicant.applicant_sees_the_state_in_russian("received")
    # And: nothing the applicant typed is kept in plain text.
    _assert_nothing_typed_is_at_rest(instance, MOUSE_APPLICANT)


def test_applying_and_checking_the_status_works_with_the_keyboard_alone(
    applicant: ApplicantNavigator, instance: Instance, tmp_path: Path
) -> None:
    page = applicant.page
    # Given: the public landing page in English, and an applicant who uses no mouse.
    applicant.applicant_opens_the_landing_page()
    # When: he tabs to "Русский" in the language switch and presses Enter, then to the start button.
    tab_to(page, "#language-switch a[hreflang=ru]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    tab_to(page, "#start-apply")
    page.keyboard.press("Enter")
    # Then: the form is in Russian.
    applicant.applicant_sees_the_form_in_russian()
    # When: he fills it in with Tab, typing, the arrow keys and Space, and sends it with Enter.
    applicant.applicant_fills_in_the_form_by_keyboard(KEYBOARD_APPLICANT, _scan_of(KEYBOARD_APPLICANT, tmp_path))
    applicant.applicant_sends_the_form_by_keyboard()
    # Then: the receipt.
    receipt = applicant.applicant_reads_the_receipt()
    # When: he follows the link to the status page and enters the receipt, by keyboard.
    applicant.applicant_opens_the_status_page_by_keyboard()
    state = applicant.applicant_checks_the_status(receipt, keyboard=True)
    # Then: the coarse state, in Russian.
    assert state == "received"
    applicant.applicant_sees_the_state_in_russian("received")
    # And: nothing he typed is kept in plain text.
    _assert_nothing_typed_is_at_rest(instance, KEYBOARD_APPLICANT)


def test_a_reload_going_back_or_a_stale_copy_of_the_last_page_sends_nothing_more(
    applicant: ApplicantNavigator, instance: Instance, tmp_path: Path
) -> None:
    page = applicant.page
    who = Applicant(
        legion="geo",
        given_names="Тамаз",
        family_name="Квиквинидзе",
        patronymic="",
        date_of_birth="1990-06-14",
        place_of_birth="Кутаиси",
        citizenship="GE",
        document_number="13AB57219",
        phone="+995 555 61 20 44",
        email="tamaz.kv@example.net",
    )
    # Given: the form filled in up to the last page, and that page open in a second tab as well.
    page.goto("/apply/?lang=ru")
    applicant.applicant_fills_in_the_form(who, _scan_of(who, tmp_path))
    stale = page.context.new_page()
    stale.goto("/apply/check/?lang=ru")
    stale.check("#id_consent")
    before = count_rows(instance, "identity_person")
    # When: it is sent.
    applicant.applicant_sends_the_form()
    receipt = applicant.applicant_reads_the_receipt()
    # Then: exactly one application more.
    assert count_rows(instance, "identity_person") == before + 1
    # When: the confirmation page is reloaded.
    page.reload()
    # Then: the receipt is not shown again, and nothing was sent.
    expect(page.locator("#no-receipt")).to_be_visible()
    assert receipt not in page.content()
    # When: the applicant goes back to the last page and sends it again.
    page.go_back()
    page.wait_for_load_state()
    if page.locator("#id_submit").count():
        page.check("#id_consent")
        page.click("#id_submit")
    expect(page.locator("#no-receipt")).to_be_visible()
    # And: the copy of the last page in the other tab is sent too.
    stale.click("#id_submit")
    expect(stale.locator("#no-receipt")).to_be_visible()
    # Then: still one application, and the receipt still works.
    assert count_rows(instance, "identity_person") == before + 1
    page.goto("/status/?lang=ru")
    assert applicant.applicant_checks_the_status(receipt) == "received"
