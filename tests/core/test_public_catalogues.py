"""The public side's shared templates (public base, error pages, components) speak all five public
languages: the project catalogue has Belarusian and Georgian entries for them, complete and
compiled, and a public error page is served in the applicant's language."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.core.test_translations import LOCALE, assert_compiled_from_po, read_po

PUBLIC_ONLY = ["be", "ka"]


@pytest.mark.parametrize("language", PUBLIC_ONLY)
def test_the_public_catalogue_is_complete_and_compiled(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    entries = read_po(folder / "django.po")
    messages = {e.msgid: e for e in entries if e.msgid}
    # What every public page shows, from the public base and the error page.
    for msgid in ("Exit this page", "Staff sign in", "Skip to main content", "Not found", "There is a problem"):
        assert msgid in messages, msgid
    assert [m for m, e in messages.items() if not all(e.msgstrs.values()) or "fuzzy" in e.flags] == []
    header = next(e for e in entries if not e.msgid).msgstrs[0]
    assert f"Language: {language}\n" in header
    assert_compiled_from_po(folder)


# "Not found" and "Exit this page" as each language's catalogue renders them.
NOT_FOUND = {
    "en": ("Not found", "Exit this page"),
    "uk": ("Не знайдено", "Швидко покинути сторінку"),
    "ru": ("Не найдено", "Быстро покинуть страницу"),
    "be": ("Не знойдзена", "Хутка пакінуць старонку"),
    "ka": ("ვერ მოიძებნა", "გვერდის სწრაფად დატოვება"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", list(NOT_FOUND))
def test_a_public_404_speaks_the_applicants_language_and_offers_the_exit(language: str) -> None:
    by_query = Client().get(f"/no-such-page/?lang={language}", secure=True)
    by_browser = Client().get("/no-such-page/", secure=True, HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    for response in (by_query, by_browser):
        html = response.content.decode()
        assert response.status_code == 404 and response["Content-Language"] == language
        assert re.search(rf'<html lang="{language}"[ >]', html)
        title, exit_text = NOT_FOUND[language]
        assert f'id="error-title">{title}</h1>' in html
        assert exit_text in html and 'href="https://www.bbc.com/weather"' in html
        assert "/logout/" not in html


@pytest.mark.django_db
def test_a_staff_404_keeps_the_staff_base() -> None:
    html = Client().get("/cases/no-such-case/", secure=True).content.decode()
    assert "exit-this-page" not in html and 'id="language-switch"' in html
    assert 'hreflang="ka"' not in html
