"""The opened identity and the case's profile as rows a reader can take in: labels, names, lists.

Responsible for turning the plain values of an opened identity (a JSON document, as sealed) and
of the case's operational profile into summary-list rows: translated labels, countries and
languages by name in the reader's language (ISO codes behind, from Debian's iso-codes:
``data/names.json``), documents and next of kin as lists, dates in the reader's locale. Never
shows a Python representation of a value; never stores, logs or caches what it is given.

To rebuild ``data/names.json`` (only when iso-codes changes): read
``/usr/share/iso-codes/json/iso_3166-1.json`` and ``iso_639-2.json`` and translate each name with
``gettext.translation("iso_3166-1" / "iso_639-2", "/usr/share/locale", languages=[uk|ru])``.
"""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

NAMES_FILE = Path(__file__).parent / "data" / "names.json"


@functools.cache
def _names() -> dict[str, dict[str, dict[str, str]]]:
    data: dict[str, dict[str, dict[str, str]]] = json.loads(NAMES_FILE.read_text(encoding="utf-8"))
    return data


def _in_language(kind: str, code: str) -> str:
    names = _names()[kind].get(code)
    if names is None:
        return code
    lang = (get_language() or "en").split("-")[0]
    return names.get(lang) or names["en"]


def country_name(code: str) -> str:
    """An ISO 3166-1 alpha-2 code as the country's name in the reader's language (the code if unknown)."""
    return _in_language("countries", str(code).upper())


def language_name(code: str) -> str:
    """An ISO 639-1 code as the language's name in the reader's language (the code if unknown)."""
    return _in_language("languages", str(code).lower())


def _date(value: Any) -> str:
    if not value:
        return ""
    try:
        return str(formats.date_format(datetime.date.fromisoformat(str(value)), "DATE_FORMAT"))
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class Row:
    """One summary-list row: a label and either one value or a list of values (each applicant-supplied)."""

    key: str
    label: str | Promise
    value: str = ""
    values: list[str] = field(default_factory=list)


DOCUMENT_KINDS: dict[str, Promise] = {
    "passport": _("Passport"),
    "internal_passport": _("Internal passport"),
    "id_card": _("Identity card"),
    "military_id": _("Military identity document"),
    "residence_permit": _("Residence permit"),
    "driving_licence": _("Driving licence"),
}

EXPERIENCE: dict[str, Promise] = {
    "none": _("None"),
    "conscript": _("Conscript service"),
    "contract": _("Contract service"),
    "officer": _("Officer"),
    "other_armed_group": _("Another armed group"),
}

SKILLS: dict[str, Promise] = {
    "rifleman": _("Rifleman"),
    "medic": _("Medic"),
    "uav_operator": _("Drone operator"),
    "mortar": _("Mortar crew"),
    "artillery": _("Artillery"),
    "signals": _("Signals"),
    "driver": _("Driver"),
    "mechanic": _("Mechanic"),
    "engineer": _("Engineer"),
    "cook": _("Cook"),
    "interpreter": _("Interpreter"),
    "it": _("IT"),
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _document(doc: Any) -> str:
    if not isinstance(doc, dict):
        return _text(doc)
    kind = DOCUMENT_KINDS.get(str(doc.get("kind")), doc.get("kind"))
    parts = [f"{kind}, {country_name(str(doc.get('country', '')))}: {_text(doc.get('number'))}"]
    if doc.get("expires"):
        parts.append(str(_("expires %(date)s") % {"date": _date(doc["expires"])}))
    return "; ".join(parts)


def identity_rows(identity: dict[str, Any]) -> list[Row]:
    """Every field of an opened identity except next of kin (opened on its own, with its own reason)."""
    rows = [
        Row("given_names", _("Given names"), _text(identity.get("given_names"))),
        Row("family_name", _("Family name"), _text(identity.get("family_name"))),
        Row("patronymic", _("Patronymic"), _text(identity.get("patronymic"))),
        Row("other_names", _("Other names"), values=[_text(n) for n in identity.get("other_names") or []]),
        Row(
            "date_of_birth",
            _("Date of birth"),
            _date(identity["date_of_birth"]) if identity.get("date_of_birth") else "",
        ),
        Row("place_of_birth", _("Place of birth"), _text(identity.get("place_of_birth"))),
        Row("citizenships", _("Citizenships"), values=[country_name(c) for c in identity.get("citizenships") or []]),
        Row("documents", _("Documents"), values=[_document(d) for d in identity.get("documents") or []]),
        Row("phone", _("Phone"), _text(identity.get("phone"))),
        Row("email", _("Email"), _text(identity.get("email"))),
        Row("address", _("Address"), _text(identity.get("address"))),
    ]
    known = {row.key for row in rows} | {"next_of_kin"}
    # A field added to the contract later is still shown, under its own name, never hidden.
    for key, value in identity.items():
        if key not in known:
            shown = [_text(v) for v in value] if isinstance(value, list) else []
            rows.append(Row(key, key.replace("_", " ").capitalize(), "" if shown else _text(value), values=shown))
    return rows


def profile_rows(profile: dict[str, Any], motivation: str | None = None) -> list[Row]:
    """The application's operational profile (and its sealed motivation, when opened)."""
    rows = [
        Row(
            "military_experience",
            _("Military experience"),
            str(EXPERIENCE.get(str(profile.get("military_experience")), profile.get("military_experience") or "")),
        ),
        Row("years_of_service", _("Years of service"), _text(profile.get("years_of_service"))),
        Row("skills", _("Skills"), values=[str(SKILLS.get(s, s)) for s in profile.get("skills") or []]),
        Row("languages", _("Languages"), values=[language_name(c) for c in profile.get("languages") or []]),
    ]
    if motivation is not None:
        rows.append(Row("motivation", _("Motivation"), motivation))
    return rows


@dataclass(frozen=True)
class Kin:
    name: str
    relation: str
    phone: str
    address: str


def next_of_kin(identity: dict[str, Any]) -> list[Kin]:
    return [
        Kin(_text(k.get("name")), _text(k.get("relation")), _text(k.get("phone")), _text(k.get("address")))
        for k in identity.get("next_of_kin") or []
        if isinstance(k, dict)
    ]
