"""The staff interface's Ukrainian and Russian catalogues are complete and compiled from their source.

A missing or fuzzy entry would show English (or a wrong guess) to staff who chose another
language; a stale ``.mo`` would show yesterday's text. The same holds for each domain app's own
catalogue (src/legionary/APP/locale, refreshed by `make app-messages`), and a page of each app is
served in the language staff chose.
"""

from __future__ import annotations

import ast
import gettext
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

import legionary
from legionary.access.roles import Role, ScopeKind
from legionary.access.views import DASHBOARD_SECTIONS
from legionary.identity.models import PersonStatus
from tests.conftest import MakeStaff, signed_in

LOCALE = Path(legionary.__file__).parent / "locale"
LANGUAGES = ["uk", "ru"]
# The domain apps with a catalogue of their own (the Makefile's APP_CATALOGUES).
APPS = ["identity", "audit", "vetting", "training", "units", "reports"]
APP_CATALOGUES = [(app, language) for app in APPS for language in LANGUAGES]
PLURAL_FORMS = {"uk": 3, "ru": 3}


def app_folder(app: str, language: str) -> Path:
    return LOCALE.parent / app / "locale" / language / "LC_MESSAGES"


@dataclass
class Entry:
    msgctxt: str = ""
    msgid: str = ""
    msgid_plural: str = ""
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Entry]:
    """Entries of a .po file (the header is the one with an empty msgid); comments are skipped."""
    entries: list[Entry] = []
    current = Entry()
    field_name, index = "", 0
    for number, raw in enumerate([*path.read_text(encoding="utf-8").splitlines(), ""], start=1):
        line = raw.strip()
        if not line:
            if field_name:
                entries.append(current)
            current, field_name = Entry(), ""
            continue
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        if not line.startswith('"'):
            keyword, _, line = line.partition(" ")
            field_name, _, rest = keyword.partition("[")
            index = int(rest.rstrip("]") or 0)
            assert field_name in {"msgctxt", "msgid", "msgid_plural", "msgstr"}, f"{path}:{number}: {raw!r}"
        assert field_name, f"{path}:{number}: a string outside any entry"
        value = ast.literal_eval(line)
        if field_name == "msgctxt":
            current.msgctxt += value
        elif field_name == "msgid":
            current.msgid += value
        elif field_name == "msgid_plural":
            current.msgid_plural += value
        else:
            current.msgstrs[index] = current.msgstrs.get(index, "") + value
    return entries


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    entries = read_po(LOCALE / language / "LC_MESSAGES" / "django.po")
    messages = [e for e in entries if e.msgid]
    # Strings collected by `make messages` from code: if one is missing, it was not run.
    with translation.override(None):  # the msgids, whatever language an earlier test left active
        sections = {str(text) for *_, label, text in DASHBOARD_SECTIONS}
        sections |= {str(label) for *_, label, _ in DASHBOARD_SECTIONS}
        expected = {str(label) for label in [*Role.labels, *ScopeKind.labels]} | sections
    assert expected - {e.msgid for e in messages} == set(), "run `make messages` and translate the new entries"
    assert_complete(entries, language)


def assert_complete(entries: list[Entry], language: str) -> None:
    """Every entry translated (each plural form too), none fuzzy, and a header for this language."""
    messages = [e for e in entries if e.msgid]
    untranslated = [e.msgid for e in messages if not e.msgstrs or not all(e.msgstrs.values())]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == [] and fuzzy == []
    header = next(e for e in entries if not e.msgid and not e.msgctxt).msgstrs[0]
    assert f"Language: {language}\n" in header and "charset=UTF-8" in header
    nplurals = PLURAL_FORMS[language]
    assert f"Plural-Forms: nplurals={nplurals};" in header
    wrong_forms = [e.msgid for e in messages if e.msgid_plural and sorted(e.msgstrs) != list(range(nplurals))]
    assert wrong_forms == [], f"a plural entry needs exactly {nplurals} forms in {language}"


@pytest.mark.parametrize(("app", "language"), APP_CATALOGUES)
def test_every_app_catalogue_entry_is_translated_and_none_is_fuzzy(app: str, language: str) -> None:
    entries = read_po(app_folder(app, language) / "django.po")
    assert [e for e in entries if e.msgid], "run `make app-messages`"
    if app == "identity":
        # Person statuses are shown on every staff page about a person.
        with translation.override(None):
            missing = {str(label) for label in PersonStatus.labels} - {e.msgid for e in entries}
        assert missing == set(), "run `make app-messages` and translate the new entries"
    assert_complete(entries, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_holds_exactly_what_the_po_file_says(language: str) -> None:
    assert_compiled_from_po(LOCALE / language / "LC_MESSAGES")


@pytest.mark.parametrize(("app", "language"), APP_CATALOGUES)
def test_each_compiled_app_catalogue_holds_exactly_what_its_po_file_says(app: str, language: str) -> None:
    assert_compiled_from_po(app_folder(app, language))


def assert_compiled_from_po(folder: Path) -> None:
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalogue = dict(compiled._catalog)  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in read_po(folder / "django.po"):
        if not entry.msgid:
            continue
        # gettext keys an entry with a context as "context\x04msgid".
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            expected.update({(key, n): text for n, text in entry.msgstrs.items()})
        else:
            expected[key] = entry.msgstrs[0]
    catalogue.pop("", None)
    assert catalogue == expected, "the .mo file is stale: run `make messages`"


@pytest.mark.parametrize(
    ("language", "english", "translated"),
    [("uk", "Sign in", "Увійти"), ("ru", "Sign in", "Войти"), ("uk", "Ukrainian", "Українська")],
)
def test_django_serves_our_translation(language: str, english: str, translated: str) -> None:
    from django.utils import translation

    with translation.override(language):
        assert translation.gettext(english) == translated


# One page of each app, in the language staff chose: Ukrainian through the browser's
# Accept-Language, Russian through the language cookie the language switcher sets. Each page shows
# a heading and a line that only the app's own catalogue translates.
PAGES = {
    "vetting": (
        Role.INVESTIGATOR,
        "vetting:queue",
        {
            "uk": ["Робота з перевірки", "Усі доступні вам справи, з фільтрами"],
            "ru": ["Работа по проверке", "Все доступные вам дела, с фильтрами"],
        },
    ),
    "training": (
        Role.ADMINISTRATOR,
        "training:cohorts",
        {"uk": ["Навчальні групи", "Нова навчальна група"], "ru": ["Учебные группы", "Новая учебная группа"]},
    ),
    "units": (
        Role.UNIT_COMMANDER,
        "units:tree",
        {"uk": ["Підрозділи", "Особовий склад"], "ru": ["Подразделения", "Личный состав"]},
    ),
    "audit": (
        Role.AUDITOR,
        "audit:entries",
        {"uk": ["Журнал аудиту", "Фільтрувати"], "ru": ["Журнал аудита", "Фильтровать"]},
    ),
    "reports": (
        Role.INTAKE_OFFICER,
        "reports:dashboard",
        {"uk": ["Панель етапів відбору", "Застосувати"], "ru": ["Панель этапов отбора", "Применить"]},
    ),
}
ENGLISH = {
    "vetting": "Vetting work",
    "training": "Cohorts",
    "units": "People",
    "audit": "Filter",
    "reports": "Pipeline dashboard",
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("app", list(PAGES))
def test_each_app_serves_its_page_in_the_chosen_language(make_staff: MakeStaff, app: str, language: str) -> None:
    role, url_name, expected = PAGES[app]
    client = signed_in(make_staff(f"{app}-{language}", role))
    # LocaleMiddleware leaves the language it chose active in this thread: restore it afterwards.
    with translation.override(settings.LANGUAGE_CODE):
        if language == "uk":
            response = client.get(reverse(url_name), secure=True, HTTP_ACCEPT_LANGUAGE="uk")
        else:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            response = client.get(reverse(url_name), secure=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert response["Content-Language"] == language
    for text in expected[language]:
        assert f">{text}<" in page, text
    assert f">{ENGLISH[app]}<" not in page
