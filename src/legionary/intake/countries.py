"""Countries for the public form's pickers: ISO 3166-1 alpha-2 codes behind, names in the reader's language.

The names come from Debian's ``iso-codes`` (LGPL data: ISO 3166-1 with its translations), copied once
into ``data/countries.json`` so the server needs no system package: regenerate it with
``python -m legionary.intake.countries`` on a machine with ``iso-codes`` installed.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path

from django.utils.translation import get_language

DATA = Path(__file__).parent / "data" / "countries.json"
LANGUAGES = ("en", "uk", "ru", "be", "ka")
# Corrections to iso-codes 4.18's translations (typos found when reading the list).
_CORRECTIONS = {("RU", "ka"): "რუსეთის ფედერაცია", ("US", "ru"): "Соединённые Штаты"}


@functools.cache
def _names() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def _sort_key(name: str) -> str:
    # Accents folded so "Åland" sorts with "A" and "Ё" with "Е"; good enough for a picker.
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


def is_country(code: str) -> bool:
    return code in _names()


def country_name(code: str, language: str | None = None) -> str:
    names = _names().get(code)
    if names is None:
        return code
    language = (language or get_language() or "en")[:2]
    return names.get(language) or names["en"]


@functools.cache
def _choices(language: str) -> tuple[tuple[str, str], ...]:
    pairs = [(code, country_name(code, language)) for code in _names()]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in ``language`` (default: the active one)."""
    return list(_choices((language or get_language() or "en")[:2]))


def _generate() -> dict[str, dict[str, str]]:  # pragma: no cover - a maintenance script
    import gettext

    entries = json.loads(Path("/usr/share/iso-codes/json/iso_3166-1.json").read_text(encoding="utf-8"))["3166-1"]
    out: dict[str, dict[str, str]] = {}
    catalogues = {lang: gettext.translation("iso_3166-1", "/usr/share/locale", [lang]) for lang in LANGUAGES[1:]}
    for entry in sorted(entries, key=lambda e: e["alpha_2"]):
        english = entry.get("common_name") or entry["name"]
        names = {"en": english}
        for lang, catalogue in catalogues.items():
            names[lang] = catalogue.gettext(english)
            if names[lang] == english and english != entry["name"]:
                names[lang] = catalogue.gettext(entry["name"])
        for lang in LANGUAGES:
            names[lang] = _CORRECTIONS.get((entry["alpha_2"], lang), names[lang])
        out[entry["alpha_2"]] = names
    return out


if __name__ == "__main__":  # pragma: no cover
    DATA.write_text(json.dumps(_generate(), ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
