"""The staff interface's Ukrainian and Russian catalogues are complete and compiled from their source.

A missing or fuzzy entry would show English (or a wrong guess) to staff who chose another
language; a stale ``.mo`` would show yesterday's text.
"""

from __future__ import annotations

import ast
import gettext
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import legionary
from legionary.access.roles import Role, ScopeKind
from legionary.access.views import DASHBOARD_SECTIONS

LOCALE = Path(legionary.__file__).parent / "locale"
LANGUAGES = ["uk", "ru"]


@dataclass
class Entry:
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
            assert field_name in {"msgid", "msgid_plural", "msgstr"}, f"{path}:{number}: {raw!r}"
        assert field_name, f"{path}:{number}: a string outside any entry"
        value = ast.literal_eval(line)
        if field_name == "msgid":
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
    sections = {text for *_, label, text in DASHBOARD_SECTIONS} | {label for *_, label, _ in DASHBOARD_SECTIONS}
    expected = {str(label) for label in [*Role.labels, *ScopeKind.labels]} | sections
    assert expected - {e.msgid for e in messages} == set(), "run `make messages` and translate the new entries"
    untranslated = [e.msgid for e in messages if not e.msgstrs or not all(e.msgstrs.values())]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert untranslated == [] and fuzzy == []
    header = next(e for e in entries if not e.msgid).msgstrs[0]
    assert f"Language: {language}\n" in header and "charset=UTF-8" in header


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_holds_exactly_what_the_po_file_says(language: str) -> None:
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalogue = dict(compiled._catalog)  # type: ignore[attr-defined]
    expected: dict[object, str] = {}
    for entry in read_po(folder / "django.po"):
        if not entry.msgid:
            continue
        if entry.msgid_plural:
            expected.update({(entry.msgid, n): text for n, text in entry.msgstrs.items()})
        else:
            expected[entry.msgid] = entry.msgstrs[0]
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
