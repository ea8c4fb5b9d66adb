"""Designation and sanctions lists read as FollowTheMoney means them, turned into blind-index tokens.

A list is FollowTheMoney entities, one JSON object per line (OpenSanctions' export format).
``read_entity`` reads one with the ``followthemoney`` package, the format's reference library,
and keeps what screening can compare without decrypting anyone:

- every name property of a ``Person``: ``name``, ``alias``, ``weakAlias``, ``previousName``
  (full names, split by ``names.split_full_name`` into given names, family name and patronymic
  in every order lists use), and the structured ``firstName``, ``middleName``, ``secondName``,
  ``fatherName``, ``lastName`` (a middle, second or father's name that reads as a patronymic is
  the patronymic, otherwise a further given name);
- ``birthDate`` at its own precision: a full date, a year and month ("1975-04") or a year ("1975");
- ``birthPlace``, ``nationality`` and the document numbers ``idNumber`` and ``passportNumber``.

``entity_tokens`` builds from those the same ``(index, value)`` pairs that ``matching.identity_tokens``
builds for an applicant, so that a listed person and an applicant meet in the index tables.
Lists are public data: reading them is not opening a sealed identity. Still, nothing here logs
or prints a listed name.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from legionary.identity import matching
from legionary.identity.names import NameParts, is_patronymic, split_full_name

__all__ = [
    "ENTRY_INDEX_NAMES",
    "FULL_NAME_PROPERTIES",
    "ListFormatError",
    "ListedPerson",
    "entity_tokens",
    "kin_names",
    "read_entity",
]

FULL_NAME_PROPERTIES = ("name", "alias", "weakAlias", "previousName")
_PART_PROPERTIES = ("firstName", "middleName", "secondName", "fatherName", "lastName")
_DOCUMENT_PROPERTIES = ("passportNumber", "idNumber")

# What a list entry is indexed under: the kinds ``matching.screening_strength`` compares. Contact
# kinds and the re-application kinds (patronymic or birthplace under another name) are left out:
# a listed person is found by his name, his birth date and his documents.
ENTRY_INDEX_NAMES: frozenset[str] = frozenset(
    {
        matching.NAME_DOB,
        matching.NAME_TYPO_DOB,
        matching.PATRONYMIC_DOB,
        matching.GIVEN_DOB,
        matching.FAMILY_TYPO2_DOB,
        matching.NAME_YEAR,
        matching.NAME_YEAR_CHECK,
        matching.NAME_MONTH,
        matching.NAME_MONTH_CHECK,
        matching.NAME_ROUGH_DATE,
        matching.DOCUMENT_NUMBER,
        matching.DOCUMENT_NUMBER_CHECK,
    }
)

# Bounds whatever a list holds: names (each split into at most two readings) and birth dates kept.
_MAX_NAMES = 16
_MAX_READINGS = 2
_MAX_DATES = 4
_MAX_DOCUMENTS = 8


class ListFormatError(ValueError):
    """A line is not a FollowTheMoney entity; the message says what is wrong (never a name)."""


@dataclass(frozen=True)
class ListedPerson:
    """What screening keeps of one listed ``Person`` (plaintext of a public list, never stored)."""

    entity_id: str
    caption: str
    names: tuple[NameParts, ...]
    full_names: tuple[str, ...]
    birth_dates: tuple[str, ...]
    birth_places: tuple[str, ...]
    nationalities: tuple[str, ...]
    documents: tuple[str, ...]


def _clean_properties(raw: object) -> dict[str, list[str]]:
    """The entity's properties as lists of strings; anything else is a format error."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ListFormatError("its properties are not an object")
    properties: dict[str, list[str]] = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ListFormatError(f"its property {str(key)[:40]!r} is not a list of strings")
        properties[str(key)] = values
    return properties


_NAME_SEPARATORS = re.compile(r"[()\[\]/;|]")


def _name_pieces(value: str) -> list[str]:
    """A name property's value as the names it holds: lists often add the native spelling in
    parentheses or after a slash ("Nosov Timur (Носов Тимур)")."""
    return [piece.strip() for piece in _NAME_SEPARATORS.split(value) if any(ch.isalpha() for ch in piece)]


def _structured_names(get: Any) -> list[NameParts]:
    """Readings from the name-part properties, paired value by value (a list may give several)."""
    first = get("firstName")
    last = get("lastName")
    if not first and not last:
        return []
    extra = [*get("middleName"), *get("secondName"), *get("fatherName")]
    patronymics = [v for v in extra if is_patronymic(v)]
    more_given = [v for v in get("middleName") + get("secondName") if v not in patronymics]
    readings: list[NameParts] = []
    for given, family in itertools.islice(itertools.product(first or [""], last or [""]), _MAX_NAMES):
        given_names = " ".join([given, *more_given]).strip()
        for patronymic in patronymics[:2] or [""]:
            readings.append(NameParts(given_names, family, patronymic))
    return readings


def read_entity(data: object) -> ListedPerson | None:
    """One FollowTheMoney entity: a ``ListedPerson``, or None for another schema (or a nameless one).

    Raises ``ListFormatError`` when ``data`` is not an entity (no id, no or unknown schema, or
    properties that are not lists of strings).
    """
    if not isinstance(data, Mapping):
        raise ListFormatError("it is not a JSON object")
    entity_id = data.get("id")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise ListFormatError("it has no id")
    properties = _clean_properties(data.get("properties"))
    # Imported here, not at the top: followthemoney reads its whole schema (71 YAML files, about a
    # second) when imported, and every ``legionary`` command and server worker imports this module
    # through the URLs; only reading a list needs it.
    from followthemoney import model
    from followthemoney.exc import FollowTheMoneyException
    from followthemoney.types import registry

    try:
        proxy = model.get_proxy({"id": entity_id, "schema": data.get("schema"), "properties": properties})
    except (FollowTheMoneyException, TypeError, ValueError):
        raise ListFormatError("it has no FollowTheMoney schema") from None
    if not proxy.schema.is_a("Person"):
        return None

    def get(prop: str) -> list[str]:
        return [v for v in proxy.get(prop, quiet=True) if v.strip()]

    full_names = list(
        dict.fromkeys(part for prop in FULL_NAME_PROPERTIES for v in get(prop) for part in _name_pieces(v))
    )[:_MAX_NAMES]
    readings: list[NameParts] = []
    for full_name in full_names:
        readings.extend(split_full_name(full_name)[:_MAX_READINGS])
    readings.extend(_structured_names(get))
    names = tuple(dict.fromkeys(readings))[: _MAX_NAMES * _MAX_READINGS]
    if not names:
        return None
    dates = [cleaned[:10] for v in get("birthDate") if (cleaned := registry.date.clean(v))]
    caption = data.get("caption")
    return ListedPerson(
        entity_id=entity_id.strip()[:200],
        caption=(caption if isinstance(caption, str) and caption.strip() else proxy.caption)[:300],
        names=names,
        full_names=tuple(full_names),
        birth_dates=tuple(dict.fromkeys(dates))[:_MAX_DATES],
        birth_places=tuple(get("birthPlace")),
        nationalities=tuple(c for v in get("nationality") if (c := registry.country.clean(v))),
        documents=tuple(dict.fromkeys(v for prop in _DOCUMENT_PROPERTIES for v in get(prop)))[:_MAX_DOCUMENTS],
    )


def _identities(person: ListedPerson) -> Iterator[dict[str, object]]:
    """Applicant-shaped identities, one per name reading and birth date, for ``identity_tokens``."""
    citizenships = [c.upper() for c in person.nationalities if len(c) == 2]
    places = person.birth_places[:1] or (None,)
    for parts in person.names:
        for born in person.birth_dates or (None,):
            yield {
                "given_names": parts.given,
                "family_name": parts.family,
                "patronymic": parts.patronymic or None,
                "date_of_birth": born,
                "place_of_birth": places[0],
                "citizenships": citizenships,
            }


def entity_tokens(person: ListedPerson) -> list[tuple[str, str]]:
    """``(index_name, normalised_value)`` pairs of a listed person, only of ``ENTRY_INDEX_NAMES``.

    Built by ``matching.identity_tokens`` from each reading of each name with each birth date, so
    that a listed person and an applicant written the same way give the same values. A listed
    document number gives the number-only keys whatever the document's kind and country.
    """
    tokens: dict[tuple[str, str], None] = {}
    for identity in _identities(person):
        for token in matching.identity_tokens(identity):
            if token[0] in ENTRY_INDEX_NAMES:
                tokens[token] = None
    documents = [{"kind": "", "country": "", "number": number} for number in person.documents]
    for token in matching.identity_tokens({"documents": documents}):
        if token[0] in ENTRY_INDEX_NAMES:
            tokens[token] = None
    return list(tokens)


def kin_names(person: ListedPerson) -> list[str]:
    """Full names to index as next of kin are indexed: each reading with and without its patronymic."""
    result: dict[str, None] = {}
    for parts in person.names:
        result[" ".join(p for p in (parts.given, parts.family) if p)] = None
        if parts.patronymic:
            result[" ".join(p for p in (parts.given, parts.patronymic, parts.family) if p)] = None
    return [name for name in result if name]
