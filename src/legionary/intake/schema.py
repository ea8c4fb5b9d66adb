"""Validation of one application, exactly as ``contract/application.schema.json`` says.

The one parser used by the public form, the public API and ``legionary import``. It:

* parses JSON with limits first (size, nesting depth, duplicate keys, NaN), so a hostile body is
  refused before anything large is built from it;
* validates with strict pydantic models (``extra="forbid"`` everywhere, no type coercion: ``"1"``
  is not a number and ``1`` is not ``true``), with the schema's lengths, patterns and enums;
* checks what the schema cannot say: dates are real calendar dates, the legion is one we know,
  and no string holds a NUL character or a lone surrogate (which break databases and encoders).

Why pydantic and not ``jsonschema``: django-ninja already depends on it, the same models give the
API its OpenAPI document, strict mode matches JSON Schema's types, and error locations come out
structured so each message can name its field. ``tests/intake/test_schema.py`` keeps the models
honest against the shipped copy of the contract (``data/application.schema.json``).

Error messages name the field and say what is wrong; they never repeat the submitted value (it may
be a name or a document number).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from legionary.intake.legions import KNOWN_LEGIONS

# A valid application is a few kilobytes; 512 KiB leaves room for every field at its maximum
# length written with \uXXXX escapes, and refuses anything built to exhaust memory.
MAX_APPLICATION_BYTES = 512 * 1024
# The contract's deepest value is at depth 4 (application > identity > documents > item).
MAX_DEPTH = 6

_FORBIDDEN_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: ``field`` is a path such as ``identity.documents[0].number``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ApplicationInvalid(Exception):
    """The application does not meet the contract; ``errors`` says where and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def _plain_text(value: str) -> str:
    if _FORBIDDEN_CHARACTERS.search(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


def _real_date(value: str) -> str:
    # fromisoformat alone would also take "20200101" and "2020-W01-1"; the contract means RFC 3339 full-date.
    if not _DATE_SHAPE.fullmatch(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a real date") from None
    return value


def _known_legion(value: str) -> str:
    if value not in KNOWN_LEGIONS:
        raise ValueError(f"is not a known legion; use one of {', '.join(sorted(KNOWN_LEGIONS))}")
    return value


def _consent_given(value: bool) -> bool:
    if value is not True:
        raise ValueError("must be true: the applicant must agree to vetting, including a polygraph examination")
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_plain_text)]


Name = _text(200, 1)
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
DateText = Annotated[str, AfterValidator(_real_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Document(_Strict):
    kind: Literal["passport", "internal_passport", "id_card", "military_id", "residence_permit", "driving_licence"]
    country: Country
    number: _text(40, 1)  # type: ignore[valid-type]
    expires: DateText | None = None


class NextOfKin(_Strict):
    name: Name  # type: ignore[valid-type]
    relation: _text(60)  # type: ignore[valid-type]
    phone: _text(40) | None = None  # type: ignore[valid-type]
    address: _text(500) | None = None  # type: ignore[valid-type]


class Identity(_Strict):
    given_names: Name  # type: ignore[valid-type]
    family_name: Name  # type: ignore[valid-type]
    patronymic: _text(200) | None = None  # type: ignore[valid-type]
    other_names: Annotated[list[Name], Field(max_length=10)] = []  # type: ignore[valid-type]
    date_of_birth: DateText
    place_of_birth: _text(200) | None = None  # type: ignore[valid-type]
    citizenships: Annotated[list[Country], Field(min_length=1, max_length=5)]
    documents: Annotated[list[Document], Field(max_length=10)] = []
    phone: _text(40) | None = None  # type: ignore[valid-type]
    email: _text(254) | None = None  # type: ignore[valid-type]
    address: _text(500) | None = None  # type: ignore[valid-type]
    next_of_kin: Annotated[list[NextOfKin], Field(max_length=5)] = []


Skill = Literal[
    "rifleman", "medic", "uav_operator", "mortar", "artillery", "signals",
    "driver", "mechanic", "engineer", "cook", "interpreter", "it",
]  # fmt: skip


class Profile(_Strict):
    military_experience: Literal["none", "conscript", "contract", "officer", "other_armed_group"] | None = None
    years_of_service: Annotated[int, Field(ge=0, le=60)] | None = None
    skills: Annotated[list[Skill], Field(max_length=30)] = []
    languages: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]], Field(max_length=10)] = []
    motivation: _text(5000) | None = None  # type: ignore[valid-type]
    preferred_call_sign: _text(40) | None = None  # type: ignore[valid-type]


Language = Literal["en", "uk", "ru", "be", "ka"]


class Application(_Strict):
    """One application; field for field the contract's ``Application`` object."""

    external_ref: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")] | None
    ) = None
    legion: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,31}$"), AfterValidator(_known_legion)]
    language: Language = "en"
    identity: Identity
    profile: Profile | None = None
    # A strict bool, not Literal[True]: the literal would also take 1, which the schema's const does not.
    consent: Annotated[bool, AfterValidator(_consent_given)]

    def identity_document(self) -> dict[str, Any]:
        """The identity as given (fields the sender left out stay out), ready to be sealed."""
        return self.identity.model_dump(exclude_unset=True)

    def profile_document(self) -> dict[str, Any]:
        return self.profile.model_dump(exclude_unset=True) if self.profile else {}


# --- messages ------------------------------------------------------------------------------------

_PATTERN_HINTS = {
    "external_ref": "may hold only letters A-Z, digits and . _ : -, at most 64",
    "legion": "is not a legion slug (lowercase letters, digits and -)",
    "citizenships": "must be a two-letter country code in capitals (ISO 3166-1), e.g. UA",
    "country": "must be a two-letter country code in capitals (ISO 3166-1), e.g. UA",
    "languages": "must be a two- or three-letter lowercase language code, e.g. uk",
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "nullable", "str", "int", "list", "literal", "constrained")):
            # pydantic adds the branch of a union to the location; the field is what matters.
            continue
        else:
            out += f".{part}" if out else part
    return out


def _field_name(loc: tuple[int | str, ...]) -> str:
    names = [p for p in loc if isinstance(p, str) and p in _PATTERN_HINTS]
    return str(names[-1]) if names else ""


def _message(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    simple = {
        "missing": "is required",
        "extra_forbidden": "is not a field of an application",
        "string_type": "must be a string",
        "int_type": "must be a whole number",
        "list_type": "must be a list",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "dict_type": "must be an object",
        "none_required": "must be null",
        "bool_type": "must be true or false",
        # pydantic refuses some unpaired surrogates itself, before our own check sees them.
        "string_unicode": "must not contain NUL characters or unpaired surrogates",
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_too_short":
        return (
            "must not be empty" if ctx.get("min_length") == 1 else f"must have at least {ctx['min_length']} characters"
        )
    if kind == "string_too_long":
        return f"must have at most {ctx['max_length']} characters"
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} items"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind == "string_pattern_mismatch":
        return _PATTERN_HINTS.get(_field_name(error["loc"]), "does not have the expected form")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".replace("'", "")
    if kind == "value_error":
        return str(ctx.get("error", "is not valid"))
    return "is not valid"


def _errors_of(exc: ValidationError) -> list[FieldError]:
    found: dict[tuple[str, str], None] = {}
    for error in exc.errors(include_input=False, include_url=False):
        loc = tuple(error["loc"])
        # A null-or-string field reports the failure once per branch; keep the string branch's.
        if error["type"] == "none_required":
            continue
        found[(_path(loc), _message(error))] = None
    return [FieldError(field, message) for field, message in found]


def validate_application(data: object) -> Application:
    """Validates an already-decoded application; raises ``ApplicationInvalid``."""
    if not isinstance(data, dict):
        raise ApplicationInvalid([FieldError("", "an application must be a JSON object")])
    try:
        return Application.model_validate(data)
    except ValidationError as exc:
        raise ApplicationInvalid(_errors_of(exc)) from None


# --- JSON with limits ----------------------------------------------------------------------------

_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _too_deep(text: str, limit: int) -> bool:
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Two values for one field: which one a reader takes depends on the parser, so refuse.
            raise ApplicationInvalid([FieldError(key, "appears more than once")])
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ApplicationInvalid([FieldError("", f"{name} is not allowed in JSON")])


# No field holds a number longer than this; Python's own limit (4,300 digits) raises ``ValueError``.
MAX_NUMBER_DIGITS = 40


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ApplicationInvalid([FieldError("", f"a number has more than {MAX_NUMBER_DIGITS} digits")])
    return int(digits)


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS * 2:
        raise ApplicationInvalid([FieldError("", f"a number has more than {MAX_NUMBER_DIGITS} digits")])
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ApplicationInvalid([FieldError("", "a number is too large")])
    return value


def decode_json(raw: bytes | str, *, max_bytes: int = MAX_APPLICATION_BYTES) -> object:
    """Decodes one JSON document with the limits above; raises ``ApplicationInvalid``."""
    if len(raw) > max_bytes:
        raise ApplicationInvalid([FieldError("", f"the application is larger than {max_bytes // 1024} KiB")])
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApplicationInvalid([FieldError("", "the body is not UTF-8 text")]) from None
    else:
        text = raw
    if _too_deep(text, MAX_DEPTH):
        raise ApplicationInvalid([FieldError("", f"the JSON is nested deeper than {MAX_DEPTH} levels")])
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise ApplicationInvalid(
            [FieldError("", f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")]
        ) from None
    except RecursionError:
        raise ApplicationInvalid([FieldError("", f"the JSON is nested deeper than {MAX_DEPTH} levels")]) from None
    except ValueError:
        # Whatever else the decoder's own conversions refuse: the body is bad, not the server.
        raise ApplicationInvalid([FieldError("", "not valid JSON")]) from None


def parse_application(raw: bytes | str, *, max_bytes: int = MAX_APPLICATION_BYTES) -> Application:
    """Decodes and validates one application from JSON text; raises ``ApplicationInvalid``."""
    return validate_application(decode_json(raw, max_bytes=max_bytes))
