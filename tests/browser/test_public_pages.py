"""Every public page, in each of its five languages, passes axe-core (no serious or critical
violation), fits a 1280 px and a 390 px screen, and says its language in ``<html lang>`` (issue 17).

One applicant per language goes through the whole service: the landing page, each page of the form
(with an error shown on three of them, and the "add another" row), check your answers, the
confirmation page and its reload, and the status page (wrong receipt and right one). With
``LEGIONARY_SCREENSHOTS=DIR`` every page is saved at both widths; with ``LEGIONARY_SCREENSHOT`` set
(``make screenshot``) the README's gallery images (landing, form, confirmation) go to ``docs/img/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import shoot
from tests.browser.conftest import CspWatch, OpenPage
from tests.browser.pages import tiny_png

pytestmark = pytest.mark.browser

LANGUAGES = ["en", "uk", "ru", "be", "ka"]
GALLERY = Path(__file__).resolve().parents[2] / "docs" / "img"


def _gallery(page: Page, name: str, tmp_path: Path) -> None:
    """The README's picture of this page (first screen at 1280 px), when ``make screenshot`` asks for it."""
    folder = GALLERY if os.environ.get("LEGIONARY_SCREENSHOT") else tmp_path
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(folder / f"{name}.png"))


def _continue(page: Page) -> None:
    page.click("#id_continue")
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_public_page_is_accessible_fits_a_phone_and_is_in_its_language(
    open_page: OpenPage, csp: CspWatch, lang: str, tmp_path: Path
) -> None:
    page = open_page()
    # Pages answered with an error status on purpose (400 with the errors to correct, 404 for a
    # wrong receipt) are logged by the browser as failed loads; anything else failing is a bug.
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def check(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", lang)
        shoot(page, f"{name}-{lang}")

    page.goto(f"/?lang={lang}")
    check("landing")
    if lang == "en":
        _gallery(page, "landing", tmp_path)
    page.click("#start-apply")
    check("form-legion")
    _continue(page)  # nothing chosen
    expect(page.locator("#form-errors")).to_be_visible()
    check("form-legion-error")
    page.check("input[name=legion][value=intl]")
    _continue(page)
    check("form-identity")
    page.fill("#id_given_names", "ალექსანდრე" if lang == "ka" else "Aleksander")
    page.fill("#id_date_of_birth_day", "31")
    page.fill("#id_date_of_birth_month", "2")
    _continue(page)  # no family name, no year, no citizenship
    expect(page.locator("#form-errors a")).to_have_count(3)
    check("form-identity-error")
    if lang == "en":
        _gallery(page, "form", tmp_path)
    page.fill("#id_family_name", "Wiśniewski")
    page.fill("#id_date_of_birth_day", "28")
    page.fill("#id_date_of_birth_year", "1994")
    page.select_option("#id_citizenships", "PL")
    page.select_option("#id_citizenships_2", "UA")
    _continue(page)
    check("form-documents")
    page.select_option("#id_doc_1_kind", "passport")
    page.select_option("#id_doc_1_country", "PL")
    page.fill("#id_doc_1_number", "EK 4410937")
    page.click("#id_add_document")
    page.wait_for_load_state()
    expect(page.locator("#id_doc_2_kind")).to_be_visible()
    check("form-documents-two")
    _continue(page)
    check("form-contact")
    page.fill("#id_email", "a.wisniewski@example.org")
    _continue(page)
    check("form-kin")
    page.fill("#id_kin_1_name", "Zofia Wiśniewska")
    page.fill("#id_kin_1_relation", "mother")
    _continue(page)
    check("form-experience")
    page.check("input[name=military_experience][value=conscript]")
    page.check("#id_skills_1")
    _continue(page)
    check("check-answers")
    page.click("#id_submit")  # without consent
    expect(page.locator("#id_consent_error")).to_be_visible()
    check("check-answers-error")
    page.set_input_files("#id_upload_1", str(tiny_png(tmp_path / "scan.png", "EK4410937")))
    page.check("#id_consent")
    page.click("#id_submit")
    receipt = page.inner_text("#receipt").strip()
    assert re.fullmatch(r"[a-z]+(?: [a-z]+){6}", receipt), receipt
    check("confirmation")
    if lang == "en":
        _gallery(page, "confirmation", tmp_path)
    page.reload()
    expect(page.locator("#no-receipt")).to_be_visible()
    check("confirmation-again")
    page.goto(f"/status/?lang={lang}")
    check("status")
    page.fill("#id_receipt", "zoo zoo zoo zoo zoo zoo zoo")
    page.click("#id_check")
    expect(page.locator("#id_receipt_error")).to_be_visible()
    check("status-wrong")
    page.fill("#id_receipt", receipt)
    page.click("#id_check")
    expect(page.locator("#state")).to_have_attribute("data-state", "received")
    check("status-received")
    # And: no CSP violation, no script error, and only the four error answers asked for.
    assert csp.violations == []
    assert [line for line in csp.console if line.startswith("error:") and "status of 40" not in line] == []
    assert [f.split()[0] for f in failed] == ["400", "400", "400", "404"], failed
    assert all(re.search(r"/(apply|status)/", f) for f in failed), failed
