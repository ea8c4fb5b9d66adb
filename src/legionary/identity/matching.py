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

The kinds ``given+birth_date``, ``name_word+birth_date``, ``family_typo2+birth_date`` (a long
family name's two-deletion neighbourhood), ``patronymic_exact+birth_date``, ``birthplace+birth_date``,
``name+birth_year``, ``name+birth_month``, ``name+rough_birth_date`` and ``document_number`` (with
their ``/check`` twins, the same value under a second key) serve the "possible" tier
(``possible_reasons``) and designation lists (``screening_strength``); docs/screening.md says what
each leaks.

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
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import phonenumbers

from legionary.identity.names import (
    deletion_neighbourhood,
    deletion_neighbourhood2,
    name_key_words,
    skeleton_words,
    split_full_name,
)

__all__ = [
    "ANCHOR_KINDS",
    "DOCUMENT",
    "DOCUMENT_DOB",
    "EMAIL",
    "EMAIL_DOB",
    "INDEX_NAMES",
    "MARKER_KINDS",
    "MAX_BUCKET",
    "NAME_DOB",
    "NAME_TYPO_DOB",
    "PAIR_KINDS",
    "PATRONYMIC_DOB",
    "PHONE",
    "PHONE_DOB",
    "POSSIBLE_REASONS",
    "REASONS",
    "BirthDate",
    "Group",
    "Pair",
    "Screened",
    "candidate_tokens_for_lookup",
    "find_groups",
    "identity_tokens",
    "link_reasons",
    "normalise_birth_date",
    "normalise_document_number",
    "normalise_email",
    "normalise_phone",
    "parse_birth_date",
    "possible_reasons",
    "screen",
    "screen_pairs",
    "screening_strength",
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
# The kinds below feed the "possible" tier and designation lists (see the module docstring).
PATRONYMIC_EXACT_DOB = "patronymic_exact+birth_date"
GIVEN_DOB = "given+birth_date"
NAME_WORD_DOB = "name_word+birth_date"
FAMILY_TYPO2_DOB = "family_typo2+birth_date"
BIRTHPLACE_DOB = "birthplace+birth_date"
BIRTHPLACE_DOB_CHECK = "birthplace+birth_date/check"
NAME_YEAR = "name+birth_year"
NAME_YEAR_CHECK = "name+birth_year/check"
NAME_MONTH = "name+birth_month"
NAME_MONTH_CHECK = "name+birth_month/check"
NAME_ROUGH_DATE = "name+rough_birth_date"
DOCUMENT_NUMBER = "document_number"
DOCUMENT_NUMBER_CHECK = "document_number/check"

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
    PATRONYMIC_EXACT_DOB,
    GIVEN_DOB,
    NAME_WORD_DOB,
    FAMILY_TYPO2_DOB,
    BIRTHPLACE_DOB,
    BIRTHPLACE_DOB_CHECK,
    NAME_YEAR,
    NAME_YEAR_CHECK,
    NAME_MONTH,
    NAME_MONTH_CHECK,
    NAME_ROUGH_DATE,
    DOCUMENT_NUMBER,
    DOCUMENT_NUMBER_CHECK,
)

# The kinds the two tiers' rules read among the tokens two records share (``link_reasons``,
# ``possible_reasons``): two records that share only other kinds are neither linked nor possible.
PAIR_KINDS: tuple[str, ...] = tuple(
    kind
    for kind in INDEX_NAMES
    # Read by designation lists only (partial birth dates, document numbers), and a marker whose
    # presence, not agreement, the rules read.
    if kind not in {NAME_MONTH, NAME_MONTH_CHECK, DOCUMENT_NUMBER, DOCUMENT_NUMBER_CHECK, NAME_ROUGH_DATE}
)
# Every rule of both tiers needs one of these among the shared kinds (each rule's rarest required
# kind), so a pair sharing none of them can be set aside unjudged: most pairs that share a token
# share only a long family name's two-edit neighbourhood or one word of a name.
ANCHOR_KINDS: frozenset[str] = frozenset(
    {
        DOCUMENT_DOB,
        PHONE_DOB,
        EMAIL_DOB,
        NAME_TYPO_DOB,
        GIVEN_DOB,
        PATRONYMIC_EXACT_DOB,
        BIRTHPLACE_DOB_CHECK,
        NAME_YEAR_CHECK,
    }
)
# The kinds whose mere presence on a record the rules read (a patronymic or birthplace that
# disagrees, a rough birth date).
MARKER_KINDS: tuple[str, ...] = (PATRONYMIC_DOB, BIRTHPLACE_DOB, NAME_ROUGH_DATE)

# Reasons as `legionary duplicates --json` prints them, in this order.
REASONS: tuple[str, ...] = ("document", "phone", "email", "name+birth_date")
# Reasons of the "possible" tier, in this order.
POSSIBLE_REASONS: tuple[str, ...] = (
    "name_typo+birth_date",
    "family_two_edits+birth_date",
    "patronymic+birth_date",
    "birthplace+birth_date",
    "name+birth_year",
)

MAX_BUCKET = 64

# Bounds on the rows one identity can produce, whatever its input.
_MAX_NAME_READINGS = 8
_MAX_SUBNAMES = 4
# Family names (as skeletons) at least this long also get the two-deletion neighbourhood.
LONG_FAMILY_NAME = 7

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
    """Every combination of the words' skeleton readings, at most ``_MAX_NAME_READINGS``.

    The words are taken in a canonical order (sorted), so that when there are more combinations
    than that, the ones kept do not depend on which field held which word: a name entered family
    name first must get the same tokens as the same name entered given name first."""
    return list(itertools.islice(itertools.product(*sorted(words)), _MAX_NAME_READINGS))


def _name_tokens(given: str, family: str, dob: str, *, typos: bool = True) -> tuple[set[str], set[str]]:
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
            if not typos:
                continue
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


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A birth date as precise as it was given: a year, a year and month, or a full date."""

    year: str
    month: str = ""  # "YYYY-MM" when known
    day: str = ""  # "YYYY-MM-DD" when known

    @property
    def rough(self) -> bool:
        """Only a year, or the 1st of January that registers write when only the year is known."""
        return not self.month or self.day.endswith("-01-01")


_PARTIAL_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?\s*$")


def parse_birth_date(value: object) -> BirthDate | None:
    """A full ISO date, or the partial dates lists publish ("1975", "1975-04"); None otherwise."""
    full = normalise_birth_date(value)
    if full and len(full) == 10 and full[4] == "-":
        return BirthDate(year=full[:4], month=full[:7], day=full)
    match = _PARTIAL_DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        return BirthDate(year=year)
    return BirthDate(year=year, month=f"{year}-{month}" if month else "")


def _given_family_tokens(given: str, family: str, dob: str) -> tuple[set[str], set[str], set[str]]:
    """(given names, each name word, family name within two edits) keys with the birth date."""
    given_words = name_key_words(given)
    given_tokens = {_join(dob, *sorted(reading)) for reading in _readings(given_words) if reading}
    # Each word of the whole name, whichever field holds it: "shares no name word" is what tells a
    # re-application under a new name from twins (who share the family name).
    word_tokens = {_join(dob, word) for words in given_words + name_key_words(family) for word in words}
    family_key = "".join(v[0] for v in skeleton_words(family))
    family_typo2: set[str] = set()
    if len(family_key) >= LONG_FAMILY_NAME:
        family_typo2 = {_join(dob, variant) for variant in deletion_neighbourhood2(family_key, LONG_FAMILY_NAME)}
    return given_tokens, word_tokens, family_typo2


def identity_tokens(identity: Mapping[str, object]) -> list[tuple[str, str]]:
    """``(index_name, normalised_value)`` pairs for one identity, deduplicated, in a stable order.

    Accepts the schema's ``identity`` object; missing or mistyped fields give no tokens rather
    than an error. The values are plaintext: hash them with the index's key before storing.
    A partial birth date ("1975", "1975-04", as lists publish) gives only the year and month keys.
    """
    born = parse_birth_date(identity.get("date_of_birth"))
    dob = born.day if born else ""
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
        # The number alone, whatever kind and country: lists give a bare passport or ID number.
        add(DOCUMENT_NUMBER, number)
        add(DOCUMENT_NUMBER_CHECK, number)

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

    if born is None:
        return list(tokens)
    given = _text(identity.get("given_names"))
    family = _text(identity.get("family_name"))
    # Whole-name keys at the date's own precision, and at each coarser one.
    exact_year, _ = _name_tokens(given, family, born.year, typos=False)
    exact_month: set[str] = set()
    if born.month:
        exact_month, _ = _name_tokens(given, family, born.month, typos=False)
    exact: set[str] = set()
    typo: set[str] = set()
    if dob:
        exact, typo = _name_tokens(given, family, dob)
    # Other spellings and former names are whole names, written in any order a list uses.
    for other in _list(identity.get("other_names"))[:_MAX_SUBNAMES]:
        for parts in split_full_name(_text(other))[:2]:
            exact_year |= _name_tokens(parts.given, parts.family, born.year, typos=False)[0]
            if born.month:
                exact_month |= _name_tokens(parts.given, parts.family, born.month, typos=False)[0]
            if dob:
                other_exact, other_typo = _name_tokens(parts.given, parts.family, dob)
                exact |= other_exact
                typo |= other_typo
    for value in sorted(exact):
        add(NAME_DOB, value)
    for value in sorted(typo):
        add(NAME_TYPO_DOB, value)
    for value in sorted(exact_month):
        add(NAME_MONTH, value)
        add(NAME_MONTH_CHECK, value)
    for value in sorted(exact_year):
        add(NAME_YEAR, value)
        add(NAME_YEAR_CHECK, value)
        if born.rough:
            add(NAME_ROUGH_DATE, value)
    if not dob:
        return list(tokens)
    patronymic = _text(identity.get("patronymic"))
    for value in sorted(_patronymic_tokens(patronymic, dob)):
        add(PATRONYMIC_DOB, value)
    for reading in _readings(skeleton_words(patronymic)):
        add(PATRONYMIC_EXACT_DOB, _join(dob, "".join(reading)))
    given_tokens, word_tokens, family_typo2 = _given_family_tokens(given, family, dob)
    for value in sorted(given_tokens):
        add(GIVEN_DOB, value)
    for value in sorted(word_tokens):
        add(NAME_WORD_DOB, value)
    for value in sorted(family_typo2):
        add(FAMILY_TYPO2_DOB, value)
    place = " ".join(v[0] for v in skeleton_words(_text(identity.get("place_of_birth"))))
    if place:
        add(BIRTHPLACE_DOB, _join(dob, place))
        add(BIRTHPLACE_DOB_CHECK, _join(dob, place))
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


def _disagrees(kind: str, agreeing: set[str], kinds_a: frozenset[str], kinds_b: frozenset[str]) -> bool:
    return kind in kinds_a and kind in kinds_b and kind not in agreeing


def possible_reasons(agreeing: set[str], kinds_a: frozenset[str], kinds_b: frozenset[str]) -> list[str]:
    """Why two records not linked by ``link_reasons`` are worth a person's look (empty: they are not).

    Every reason needs two independently keyed indexes to agree, as links do:

    - ``name_typo+birth_date``: the whole name one edit apart, and the given names exactly;
    - ``family_two_edits+birth_date``: a long family name two edits apart, the given names exactly;
    - ``patronymic+birth_date``: the patronymic (within one edit and exactly) under a name that
      shares no word (and no long family name within two edits), and no birthplace that disagrees;
    - ``birthplace+birth_date``: the birthplace under a name that shares no word, and no
      patronymic that disagrees;
    - ``name+birth_year``: the whole name and the year of birth, where one of the two dates is only
      a year (or the 1st of January that stands for one).

    The name rules never fire for twins (the given names differ), nor the re-application rules
    (they share the family name).
    """
    reasons: list[str] = []
    patronymic_disagrees = _disagrees(PATRONYMIC_DOB, agreeing, kinds_a, kinds_b)
    given_agrees = GIVEN_DOB in agreeing
    if given_agrees and not patronymic_disagrees:
        if NAME_TYPO_DOB in agreeing:
            reasons.append("name_typo+birth_date")
        elif FAMILY_TYPO2_DOB in agreeing:  # said only when one edit does not already say it
            reasons.append("family_two_edits+birth_date")
    shares_a_name = NAME_WORD_DOB in agreeing or FAMILY_TYPO2_DOB in agreeing or NAME_TYPO_DOB in agreeing
    if not shares_a_name:
        if (
            PATRONYMIC_DOB in agreeing
            and PATRONYMIC_EXACT_DOB in agreeing
            and not _disagrees(BIRTHPLACE_DOB, agreeing, kinds_a, kinds_b)
        ):
            reasons.append("patronymic+birth_date")
        if BIRTHPLACE_DOB in agreeing and BIRTHPLACE_DOB_CHECK in agreeing and not patronymic_disagrees:
            reasons.append("birthplace+birth_date")
    if (
        NAME_YEAR in agreeing
        and NAME_YEAR_CHECK in agreeing
        and NAME_DOB not in agreeing
        and (NAME_ROUGH_DATE in kinds_a or NAME_ROUGH_DATE in kinds_b)
    ):
        reasons.append("name+birth_year")
    return reasons


# Possible-tier reasons that also make a designation-list hit "possible": a listed person is
# found by his name, never by a birth date and patronymic shared with a stranger.
_SCREENING_POSSIBLE = frozenset({"name_typo+birth_date", "family_two_edits+birth_date", "name+birth_year"})


def screening_strength(agreeing: set[str], person_kinds: frozenset[str], entry_kinds: frozenset[str]) -> str | None:
    """ "match", "possible" or None for an applicant (``person_kinds``) against a listed person.

    ``agreeing`` are the index kinds in which they share a token. A match: the document number
    (and its check key); the whole name with the full birth date (``link_reasons``); or the whole
    name with the birth date at the list's own precision when the list gives only a year and
    month, or only a year. A patronymic that disagrees (both have one, none shared) makes the
    full-date match a possible, as it keeps duplicates apart. A possible: also the name rules of
    ``possible_reasons``.
    """
    if DOCUMENT_NUMBER in agreeing and DOCUMENT_NUMBER_CHECK in agreeing:
        return "match"
    if "name+birth_date" in link_reasons(agreeing, person_kinds, entry_kinds):
        return "match"
    if NAME_DOB not in entry_kinds:
        if NAME_MONTH in entry_kinds:
            if NAME_MONTH in agreeing and NAME_MONTH_CHECK in agreeing:
                return "match"
        elif NAME_YEAR in agreeing and NAME_YEAR_CHECK in agreeing:
            return "match"
    if _SCREENING_POSSIBLE.intersection(possible_reasons(agreeing, person_kinds, entry_kinds)):
        return "possible"
    if NAME_DOB in agreeing and NAME_TYPO_DOB in agreeing:
        # The whole name and birth date, but another patronymic: a transliteration the skeleton
        # does not fold (Serhiyovych, Sergeevich) must not hide a listed person; a person looks.
        return "possible"
    return None


def _find(parent: list[int], item: int) -> int:
    root = item
    while parent[root] != root:
        root = parent[root]
    while parent[item] != root:  # path compression keeps later finds near O(1)
        parent[item], item = root, parent[item]
    return root


@dataclass(frozen=True)
class Pair(Generic[R]):
    """Two records a person should compare: members in input order, reasons in ``POSSIBLE_REASONS`` order."""

    members: tuple[R, R]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Screened(Generic[R]):
    """The two tiers: ``groups`` screening considers one person, ``possible`` pairs to review."""

    groups: list[Group[R]]
    possible: list[Pair[R]]


def find_groups(records: Iterable[tuple[R, Sequence[tuple[str, bytes | str]]]]) -> list[Group[R]]:
    """Groups of records that are the same person, decided from token equality only (see ``screen``)."""
    return screen(records).groups


def screen(records: Iterable[tuple[R, Sequence[tuple[str, bytes | str]]]]) -> Screened[R]:
    """Groups of records that are the same person, and pairs a person should review, from token equality only.

    ``records`` yields ``(ref, [(index_name, token), ...])``; tokens may be HMAC bytes or the
    plaintext values of ``identity_tokens`` (the rule is the same). Each record is in at most
    one group, each group has at least two members; groups come in order of their first member.
    A possible pair is never merged, never chained, and never two members of one group.
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
    candidates: list[tuple[int, int, list[str]]] = []
    for (a, b), indexes in agreeing.items():
        reasons = link_reasons(indexes, kinds[a], kinds[b])
        if reasons:
            root_a, root_b = _find(parent, a), _find(parent, b)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
            edge_reasons.append((a, reasons))
            continue
        maybe = possible_reasons(indexes, kinds[a], kinds[b])
        if maybe:
            candidates.append((a, b, maybe))
    del agreeing

    group_reasons: dict[int, set[str]] = {}
    for a, reasons in edge_reasons:
        group_reasons.setdefault(_find(parent, a), set()).update(reasons)
    members_by_root: dict[int, list[R]] = {}
    for position, ref in enumerate(refs):
        root = _find(parent, position)
        if root in group_reasons:
            members_by_root.setdefault(root, []).append(ref)
    groups = [
        Group(members=tuple(members), reasons=tuple(r for r in REASONS if r in group_reasons[root]))
        for root, members in sorted(members_by_root.items())
    ]
    possible = [
        Pair(members=(refs[a], refs[b]), reasons=tuple(r for r in POSSIBLE_REASONS if r in reasons))
        for a, b, reasons in sorted(candidates)
        if _find(parent, a) != _find(parent, b)
    ]
    return Screened(groups=groups, possible=possible)


def screen_pairs(
    pairs: Iterable[tuple[R, R, set[str], frozenset[str], frozenset[str]]], order: Callable[[R], Any]
) -> Screened[R]:
    """``screen`` for a stream of agreeing pairs, as a database join yields them.

    ``pairs`` yields ``(a, b, kinds shared, kinds of a, kinds of b)`` once per pair, from buckets of
    at most ``MAX_BUCKET`` records (the caller leaves larger ones out). Memory holds the linked
    records and the possible pairs, never the tokens. Members of a group and groups come in
    ``order``; the rule is ``screen``'s, so both give the same tiers for the same tokens.
    """
    parent: dict[R, R] = {}

    def find(item: R) -> R:
        root = item
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(item, item) != root:
            parent[item], item = root, parent[item]
        return root

    reasons_of: dict[R, set[str]] = {}
    candidates: list[tuple[R, R, list[str]]] = []
    for a, b, agreeing, kinds_a, kinds_b in pairs:
        reasons = link_reasons(agreeing, kinds_a, kinds_b)
        if reasons:
            root_a, root_b = find(a), find(b)
            if root_a != root_b:
                low, high = sorted((root_a, root_b), key=order)
                parent[high] = low
                reasons_of.setdefault(low, set()).update(reasons_of.pop(high, set()))
            reasons_of.setdefault(find(a), set()).update(reasons)
            continue
        maybe = possible_reasons(agreeing, kinds_a, kinds_b)
        if maybe:
            candidates.append((a, b, maybe))
    members: dict[R, list[R]] = {}
    for item in parent:
        members.setdefault(find(item), []).append(item)
    for root in reasons_of:
        members.setdefault(root, [])
        if root not in members[root]:
            members[root].append(root)
    groups = [
        Group(
            members=tuple(sorted(group, key=order)),
            reasons=tuple(r for r in REASONS if r in reasons_of.get(root, set())),
        )
        for root, group in members.items()
        if len(group) > 1
    ]
    groups.sort(key=lambda g: order(g.members[0]))
    possible = [
        Pair(members=(a, b), reasons=tuple(r for r in POSSIBLE_REASONS if r in reasons))
        for a, b, reasons in sorted(candidates, key=lambda c: (order(c[0]), order(c[1])))
        if find(a) != find(b)
    ]
    return Screened(groups=groups, possible=possible)
