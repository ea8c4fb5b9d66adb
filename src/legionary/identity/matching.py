"""Duplicate screening from blind-index tokens: what each token is, what it leaks, how groups form.

``identity_tokens`` turns one plaintext identity (the ``identity`` object of
``contract/application.schema.json``) into ``(index_name, value)`` pairs. The caller stores only a
keyed, truncated HMAC of each value, one key per index name, so ``find_groups`` decides
duplicates from nothing but **equality of tokens within an index** and which indexes agree. No
plaintext is compared at match time, and nothing here logs or keeps what it is given.

Token kinds, and what someone holding the database (but not the index keys) learns from two
equal tokens. Every kind also leaks how many records share a value (frequency), and anyone who
can submit applications and see the resulting flags can test guesses of low-entropy values; that
is why no index holds a bare birth date, patronymic or name.

``document``  kind, issuing country and number (spaces, dashes, "№", case and Cyrillic
    look-alike letters ignored). Leaks: two records carry the same document.
``document+birth_date``  the same plus the birth date. Leaks: same document and same birth date.
    It is the second, independently keyed witness for a document match, and it tells a
    re-used number with another birth date (a typing error, or a forged copy) from a true match.
``phone``  E.164 form (the first citizenship is the default region for local numbers).
    Leaks: two records share a phone, which relatives and flatmates also do.
``phone+birth_date``  Leaks: same phone and same birth date.
``email``  lower-cased, "+tag" dropped, Gmail dots ignored. Leaks: shared address.
``email+birth_date``  Leaks: same address and same birth date.
``name+birth_date``  the sorted set of phonetic skeletons of the given and family names (so
    swapped order and any script or transliteration agree) with the birth date; one token per
    reading of an ambiguous spelling, and one per given name when there are several. A
    Ukrainian or Belarusian form of a common given name, or an unambiguous diminutive, is keyed
    as the Russian full form (``names.name_form``: Dmytro, Dzmitry, Dima -> Dmitriy), which adds
    no token. Leaks: two records are, phonetically, the same name born the same day — also true
    of rare namesakes — and, since the forms are folded, that one record's given name may be
    another's diminutive or cognate.
``name_typo+birth_date``  the same key with one letter deleted from one name (a deletion
    neighbourhood, the key itself included). Leaks more: two records' names are within one
    typing error of each other (and born the same day), and the number of shared entries hints
    at where the names differ.
``patronymic+birth_date``  the patronymic's skeleton and its one-deletion neighbourhood, with the
    birth date. Leaks: same or nearly the same patronymic and birth date, which siblings share.

Decision rule (``find_groups``). Truncation makes any single index hit a *candidate*: every
accepted link needs at least two independently keyed indexes to agree, so a chance collision
of truncated HMACs in one index never merges records on its own. A pair of records is linked when:

- ``document``: ``document`` and ``document+birth_date`` agree; or
- ``phone`` / ``email``: ``phone`` and ``phone+birth_date`` (or the e-mail pair) agree *and* a
  name key agrees (exact or one typo), because twins and relatives share phones and birth dates
  but not given names; or
- ``name+birth_date``: ``name+birth_date`` and ``name_typo+birth_date`` agree (an exact
  phonetic match), or ``name_typo+birth_date`` and ``patronymic+birth_date`` agree (one typo
  in a name, confirmed by the patronymic);

and, for the contact and name rules, both records do not carry a patronymic that disagrees
(both have a ``patronymic+birth_date`` token and none is shared): Aleksandrovich is not
Aleksandrovna. Linked records are grouped with a union-find, so each record lands in at most
one group. Namesakes differ in birth date; father and son share a name but not a birth date;
twins share family name, patronymic and birth date but not the given name: none of them links.

Cost: one pass to bucket tokens by ``(index, value)`` in a hash map, then only the pairs inside
each bucket are examined, so the work is proportional to the number of tokens, not to the
square of the number of records. A bucket holding more than ``MAX_BUCKET`` records is too
common to identify anyone (a call centre's phone, a placeholder number) and is ignored.
"""

from __future__ import annotations

import datetime
import itertools
import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import phonenumbers

from legionary.identity.names import deletion_neighbourhood, name_key_words, skeleton_words

__all__ = [
    "DOCUMENT",
    "DOCUMENT_DOB",
    "EMAIL",
    "EMAIL_DOB",
    "INDEX_NAMES",
    "MAX_BUCKET",
    "NAME_DOB",
    "NAME_TYPO_DOB",
    "PATRONYMIC_DOB",
    "PHONE",
    "PHONE_DOB",
    "REASONS",
    "Group",
    "candidate_tokens_for_lookup",
    "find_groups",
    "identity_tokens",
    "link_reasons",
    "normalise_birth_date",
    "normalise_document_number",
    "normalise_email",
    "normalise_phone",
]

DOCUMENT = "document"
DOCUMENT_DOB = "document+birth_date"
PHONE = "phone"
PHONE_DOB = "phone+birth_date"
EMAIL = "email"
EMAIL_DOB = "email+birth_date"
NAME_DOB = "name+birth_date"
NAME_TYPO_DOB = "name_typo+birth_date"
PATRONYMIC_DOB = "patronymic+birth_date"

INDEX_NAMES: tuple[str, ...] = (
    DOCUMENT,
    DOCUMENT_DOB,
    PHONE,
    PHONE_DOB,
    EMAIL,
    EMAIL_DOB,
    NAME_DOB,
    NAME_TYPO_DOB,
    PATRONYMIC_DOB,
)

# Reasons as `legionary duplicates --json` prints them, in this order.
REASONS: tuple[str, ...] = ("document", "phone", "email", "name+birth_date")

MAX_BUCKET = 64

# Bounds on the rows one identity can produce, whatever its input.
_MAX_NAME_READINGS = 8
_MAX_SUBNAMES = 4

_SEPARATOR = "\x1f"  # cannot occur in any normalised part

R = TypeVar("R", bound=Hashable)


@dataclass(frozen=True)
class Group(Generic[R]):
    """Records screening considers one person: members in input order, reasons in ``REASONS`` order."""

    members: tuple[R, ...]
    reasons: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Normalisation of the non-name fields


def normalise_birth_date(value: object) -> str | None:
    """ISO ``YYYY-MM-DD`` for a date or a string that starts with one; digits only otherwise."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return datetime.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        digits = "".join(ch for ch in text if ch.isdigit() and ch.isascii())
        return digits or None


# Cyrillic capitals that look like Latin ones: Russian and Ukrainian series are often typed
# with either (passport series "АВ" vs "AB").
_LOOKALIKES = str.maketrans("АВЕКМНОРСТУХІ", "ABEKMHOPCTYXI")
_NUMBER_SIGN = re.compile(r"^\s*(?:№|N[o°º]\.?(?=[\s\d])|#)\s*", re.IGNORECASE)


def normalise_document_number(number: str) -> str:
    """Upper-case letters and digits only, "№"/"No." prefixes and Cyrillic look-alikes folded."""
    text = _NUMBER_SIGN.sub("", number.replace("№", " "))
    text = unicodedata.normalize("NFKC", text).upper().translate(_LOOKALIKES)
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def normalise_phone(raw: str, regions: Sequence[str] = ()) -> str | None:
    """E.164 form of ``raw``, reading a local number in each of ``regions`` in turn.

    "00" is read as the international prefix used across Europe. A number no region makes
    possible falls back to its digits (prefixed "?"), so an odd number still equals itself.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if len(digits) < 5:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    fallback: str | None = None
    for region in (None, *regions) if text.startswith("+") else tuple(regions):
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        formatted = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        if phonenumbers.is_valid_number(parsed):
            return formatted
        if fallback is None and phonenumbers.is_possible_number(parsed):
            fallback = formatted
    return fallback or "?" + digits


_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalise_email(raw: str) -> str | None:
    """Lower-cased address without a "+tag"; Gmail's ignored dots removed. None if no "@"."""
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return None
    local = local.split("+", 1)[0] or local
    domain = domain.rstrip(".")
    if domain in _GMAIL_DOMAINS:
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


# ---------------------------------------------------------------------------------------------
# Tokens


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _join(*parts: str) -> str:
    return _SEPARATOR.join(parts)


def _readings(words: list[list[str]]) -> list[tuple[str, ...]]:
    """Every combination of the words' skeleton readings, at most ``_MAX_NAME_READINGS``."""
    return list(itertools.islice(itertools.product(*words), _MAX_NAME_READINGS))


def _name_tokens(given: str, family: str, dob: str) -> tuple[set[str], set[str]]:
    given_words = name_key_words(given)
    family_words = name_key_words(family)
    subnames = [given_words + family_words]
    # Several given names: each with the family name too, so "Anna Maria Ivanova" also meets
    # "Anna Ivanova", and a patronymic typed into the given-name field does not hide the person.
    if len(given_words) > 1 and family_words:
        subnames.extend([word, *family_words] for word in given_words)
    exact: set[str] = set()
    typo: set[str] = set()
    for words in subnames[:_MAX_SUBNAMES]:
        if not words:  # product() of nothing is one empty reading: no name, no token
            continue
        for reading in _readings(words):
            exact.add(_join(dob, *sorted(reading)))
            for position, word in enumerate(reading):
                for variant in deletion_neighbourhood(word):
                    altered = (*reading[:position], variant, *reading[position + 1 :])
                    typo.add(_join(dob, *sorted(altered)))
    return exact, typo


def _patronymic_tokens(patronymic: str, dob: str) -> set[str]:
    words = skeleton_words(patronymic)
    tokens: set[str] = set()
    if not words:
        # no patronymic must give no token, or every such record would "disagree" with others
        return tokens
    for reading in _readings(words):
        for variant in deletion_neighbourhood("".join(reading)):
            tokens.add(_join(dob, variant))
    return tokens


def identity_tokens(identity: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(index_name, normalised_value)`` pairs for one identity, deduplicated, in a stable order.

    Accepts the schema's ``identity`` object; missing or mistyped fields give no tokens rather
    than an error. The values are plaintext: hash them with the index's key before storing.
    """
    dob = normalise_birth_date(identity.get("date_of_birth"))
    citizenships = [c.strip().upper() for c in _list(identity.get("citizenships")) if isinstance(c, str)]
    tokens: dict[tuple[str, str], None] = {}

    def add(index: str, value: str) -> None:
        tokens[(index, value)] = None

    for document in _list(identity.get("documents")):
        if not isinstance(document, Mapping):
            continue
        number = normalise_document_number(_text(document.get("number")))
        if not number:
            continue
        value = _join(
            _text(document.get("kind")).strip().lower(), _text(document.get("country")).strip().upper(), number
        )
        add(DOCUMENT, value)
        if dob:
            add(DOCUMENT_DOB, _join(value, dob))

    phone = normalise_phone(_text(identity.get("phone")), citizenships)
    if phone:
        add(PHONE, phone)
        if dob:
            add(PHONE_DOB, _join(phone, dob))

    email = normalise_email(_text(identity.get("email")))
    if email:
        add(EMAIL, email)
        if dob:
            add(EMAIL_DOB, _join(email, dob))

    if dob:
        given = _text(identity.get("given_names"))
        family = _text(identity.get("family_name"))
        exact, typo = _name_tokens(given, family, dob)
        # Other spellings and former names are whole names (order does not matter to the key).
        for other in _list(identity.get("other_names"))[:_MAX_SUBNAMES]:
            other_exact, other_typo = _name_tokens(_text(other), "", dob)
            exact |= other_exact
            typo |= other_typo
        for value in sorted(exact):
            add(NAME_DOB, value)
        for value in sorted(typo):
            add(NAME_TYPO_DOB, value)
        for value in sorted(_patronymic_tokens(_text(identity.get("patronymic")), dob)):
            add(PATRONYMIC_DOB, value)

    return list(tokens)


def candidate_tokens_for_lookup(identity: Mapping[str, object]) -> list[tuple[str, str]]:
    """Tokens to look up when screening a new identity against stored ones (the same as stored)."""
    return identity_tokens(identity)


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


# ---------------------------------------------------------------------------------------------
# Grouping


def link_reasons(agreeing: set[str], kinds_a: frozenset[str], kinds_b: frozenset[str]) -> list[str]:
    """The reasons that link two records whose tokens agree in the ``agreeing`` indexes."""
    reasons: list[str] = []
    if DOCUMENT in agreeing and DOCUMENT_DOB in agreeing:
        reasons.append("document")
    patronymic_disagrees = PATRONYMIC_DOB in kinds_a and PATRONYMIC_DOB in kinds_b and PATRONYMIC_DOB not in agreeing
    if patronymic_disagrees:
        return reasons
    name_agrees = NAME_DOB in agreeing or NAME_TYPO_DOB in agreeing
    if name_agrees and PHONE in agreeing and PHONE_DOB in agreeing:
        reasons.append("phone")
    if name_agrees and EMAIL in agreeing and EMAIL_DOB in agreeing:
        reasons.append("email")
    if NAME_TYPO_DOB in agreeing and (NAME_DOB in agreeing or PATRONYMIC_DOB in agreeing):
        reasons.append("name+birth_date")
    return reasons


def _find(parent: list[int], item: int) -> int:
    root = item
    while parent[root] != root:
        root = parent[root]
    while parent[item] != root:  # path compression keeps later finds near O(1)
        parent[item], item = root, parent[item]
    return root


def find_groups(records: Iterable[tuple[R, Sequence[tuple[str, bytes | str]]]]) -> list[Group[R]]:
    """Groups of records that are the same person, decided from token equality only.

    ``records`` yields ``(ref, [(index_name, token), ...])``; tokens may be HMAC bytes or the
    plaintext values of ``identity_tokens`` (the rule is the same). Each record is in at most
    one group, each group has at least two members; groups come in order of their first member.
    """
    refs: list[R] = []
    kinds: list[frozenset[str]] = []
    buckets: dict[tuple[str, bytes | str], list[int]] = {}
    for ref, record_tokens in records:
        position = len(refs)
        refs.append(ref)
        record_kinds: set[str] = set()
        for index_name, token in record_tokens:
            record_kinds.add(index_name)
            members = buckets.setdefault((index_name, token), [])
            # a record can repeat a token; it must count once per bucket
            if not members or members[-1] != position:
                members.append(position)
        kinds.append(frozenset(record_kinds))

    agreeing: dict[tuple[int, int], set[str]] = {}
    for (index_name, _token), members in buckets.items():
        if len(members) < 2 or len(members) > MAX_BUCKET:
            continue
        for pair in itertools.combinations(members, 2):
            agreeing.setdefault(pair, set()).add(index_name)
    del buckets

    parent = list(range(len(refs)))
    edge_reasons: list[tuple[int, list[str]]] = []
    for (a, b), indexes in agreeing.items():
        reasons = link_reasons(indexes, kinds[a], kinds[b])
        if reasons:
            root_a, root_b = _find(parent, a), _find(parent, b)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
            edge_reasons.append((a, reasons))

    group_reasons: dict[int, set[str]] = {}
    for a, reasons in edge_reasons:
        group_reasons.setdefault(_find(parent, a), set()).update(reasons)
    members_by_root: dict[int, list[R]] = {}
    for position, ref in enumerate(refs):
        root = _find(parent, position)
        if root in group_reasons:
            members_by_root.setdefault(root, []).append(ref)
    return [
        Group(members=tuple(members), reasons=tuple(r for r in REASONS if r in group_reasons[root]))
        for root, members in sorted(members_by_root.items())
    ]
