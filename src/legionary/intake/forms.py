"""The public application form: every field of the contract, for people without JavaScript.

The form checks each field itself (so errors are in the applicant's language and next to the
field), then builds the contract's application dict and runs it through ``intake.schema`` too, so
the form can never accept what the API would refuse. It is filled in as steps (``STEPS``): each
step is this form restricted to its fields (``only=``); the last page binds every answer at once.
Documents and next of kin are "add another" groups of 1 to ``MAX_DOCUMENTS`` / ``MAX_KIN`` rows.
Field names (and so ids, ``id_<name>``) are stable: browser tests and scripts use them. Dates are
day/month/year fields (``<name>_day`` ...) but an ISO date under the plain name is accepted too,
and ``citizenships`` may be sent as one comma-separated value, as before the steps existed.

Never put a submitted value into a log or an error message.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from legionary.intake.countries import country_choices, country_options, is_country
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.intake.schema import Application, ApplicationInvalid, validate_application

MAX_DOCUMENTS = 5
MAX_KIN = 5
UPLOAD_ROWS = 3
CITIZENSHIP_ROWS = 3

DOCUMENT_KINDS = [
    ("passport", _("Passport")),
    ("internal_passport", _("Internal passport")),
    ("id_card", _("Identity card")),
    ("military_id", _("Military ID")),
    ("residence_permit", _("Residence permit")),
    ("driving_licence", _("Driving licence")),
]
EXPERIENCE = [
    ("none", _("None")),
    ("conscript", _("Conscript service")),
    ("contract", _("Contract service")),
    ("officer", _("Officer")),
    ("other_armed_group", _("Another armed group")),
]
SKILLS = [
    ("rifleman", _("Rifleman")),
    ("medic", _("Medic")),
    ("uav_operator", _("Drone operator")),
    ("mortar", _("Mortar crew")),
    ("artillery", _("Artillery")),
    ("signals", _("Signals")),
    ("driver", _("Driver")),
    ("mechanic", _("Mechanic")),
    ("engineer", _("Engineer")),
    ("cook", _("Cook")),
    ("interpreter", _("Interpreter")),
    ("it", _("IT")),
]

_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


@dataclass(frozen=True)
class Step:
    """One page of the form: its address (``slug``), its heading, and which fields it asks."""

    slug: str
    title: Promise

    def field_names(self, doc_rows: int, kin_rows: int) -> list[str]:
        if self.slug == "documents":
            return [f"doc_{i}_{k}" for i in range(1, doc_rows + 1) for k in ("kind", "country", "number", "expires")]
        if self.slug == "kin":
            return [f"kin_{i}_{k}" for i in range(1, kin_rows + 1) for k in ("name", "relation", "phone", "address")]
        return list(_STEP_FIELDS[self.slug])


_STEP_FIELDS = {
    "legion": ("legion",),
    "identity": (
        "given_names",
        "family_name",
        "patronymic",
        "other_names",
        "date_of_birth",
        "place_of_birth",
        "citizenships",
    ),
    "contact": ("phone", "email", "address"),
    "experience": (
        "military_experience",
        "years_of_service",
        "skills",
        "languages",
        "motivation",
        "preferred_call_sign",
    ),
}
STEPS = [
    Step("legion", _("Which legion do you want to join?")),
    Step("identity", _("Who you are")),
    Step("documents", _("Your identity documents")),
    Step("contact", _("How to reach you")),
    Step("kin", _("Next of kin")),
    Step("experience", _("Your experience")),
]
STEP_BY_SLUG = {step.slug: step for step in STEPS}
# The last page: answers checked, scans attached, consent given, sent.
FINAL_FIELDS = [*(f"upload_{i}" for i in range(1, UPLOAD_ROWS + 1)), "consent"]


def _text(label: Any, max_length: int, *, required: bool = False, textarea: bool = False) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 5}) if textarea else forms.TextInput()
    return forms.CharField(label=label, max_length=max_length, required=required, widget=widget, strip=True)


class DateParts(forms.MultiWidget):
    """GOV.UK's date input: day, month and year fields (``<name>_day``...); an ISO date under ``<name>`` works too."""

    template_name = "django/forms/widgets/multiwidget.html"
    parts = ("day", "month", "year")

    def __init__(self) -> None:
        super().__init__(widgets={part: forms.TextInput(attrs={"inputmode": "numeric"}) for part in self.parts})

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year]
        return [None, None, None]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        parts = [data.get(f"{name}_{part}") for part in self.parts]
        if not any(parts):
            iso = _ISO_DATE.match(str(data.get(name) or ""))
            if iso:
                return [iso.group(3), iso.group(2), iso.group(1)]
        return parts

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and all(f"{name}_{part}" not in data for part in self.parts)


class DateField(forms.MultiValueField):
    widget = DateParts

    def __init__(self, label: Any, *, required: bool = False, past: bool = False) -> None:
        self.past = past
        part = forms.CharField(required=False, max_length=6, strip=True)
        super().__init__(
            fields=(part, part, part),
            label=label,
            required=required,
            require_all_fields=False,
            help_text=_("For example, 27 3 1990"),
            error_messages={"required": _("Enter the date"), "incomplete": _("Enter the day, month and year")},
        )

    def compress(self, data_list: list[Any]) -> datetime.date | None:
        if not data_list or not any(data_list):
            return None
        if not all(data_list):
            raise forms.ValidationError(_("Enter the day, month and year"), code="incomplete")
        try:
            day, month, year = (int(p) for p in data_list)
            value = datetime.date(year, month, day)
        except ValueError:
            raise forms.ValidationError(_("Enter a real date, for example 27 3 1990"), code="invalid") from None
        if year < 1900:
            raise forms.ValidationError(_("Enter a real date, for example 27 3 1990"), code="invalid")
        if self.past and value >= timezone.localdate():
            raise forms.ValidationError(_("The date must be in the past"), code="future")
        return value


class CountrySelects(forms.Widget):
    """A few country pickers under one name (``citizenships``); one comma-separated value works too."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.numbers = list(range(1, rows + 1))

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
        if isinstance(values, str):
            values = [values]
        codes: list[str] = []
        for value in values:
            codes.extend(c for c in _LIST_SEPARATORS.split(str(value).upper()) if c)
        return codes

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data


class CitizenshipsField(forms.Field):
    def __init__(self, label: Any) -> None:
        super().__init__(
            label=label,
            required=True,
            widget=CountrySelects(CITIZENSHIP_ROWS),
            error_messages={"required": _("Choose the country of your citizenship")},
        )

    def to_python(self, value: Any) -> list[str]:
        codes: list[str] = []
        for code in value or []:
            if code not in codes:
                codes.append(code)
        return codes

    def validate(self, value: Any) -> None:
        super().validate(value)
        if len(value) > 5 or not all(is_country(c) for c in value):
            raise forms.ValidationError(_("Choose one to five countries from the list"), code="invalid")


class CountrySelect(forms.Select):
    """A country picker rendered from the per-language cache of ``countries.country_options``."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        return format_html(
            "<select{}>{}</select>", flatatt(final), country_options(str(value or ""), str(_("Choose a country")))
        )


def _country_choices() -> list[tuple[str, Any]]:
    return [("", _("Choose a country")), *country_choices()]


class CountryField(forms.ChoiceField):
    """A country's ISO code, checked by one look-up rather than a walk through the ~250 choices."""

    def valid_value(self, value: Any) -> bool:
        return is_country(str(value))


def _country(label: Any) -> forms.ChoiceField:
    # A callable: Django lists the ~250 countries only when they are asked for, not each time a
    # form is built (the picker renders from its own cache, ``countries.country_options``).
    return CountryField(label=label, choices=_country_choices, required=False, widget=CountrySelect)


class ApplicationForm(forms.Form):
    """Every question of the application; ``only`` restricts it to one step's fields."""

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        *,
        doc_rows: int = MAX_DOCUMENTS,
        kin_rows: int = MAX_KIN,
        only: Iterable[str] | None = None,
    ) -> None:
        super().__init__(data, files)
        self.doc_rows, self.kin_rows = doc_rows, kin_rows
        f = self.fields
        keep = set(only) if only is not None else None

        def want(name: str) -> bool:
            # A step's form builds only its own fields: building every field and dropping most
            # of them cost a submission (seven forms) about 10 ms of CPU.
            return keep is None or name in keep

        if want("legion"):
            f["legion"] = forms.ChoiceField(
                label=_("Legion"),
                choices=list(KNOWN_LEGIONS.items()),
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose the legion you want to join")},
            )
        if want("given_names"):
            f["given_names"] = _text(_("Given names"), 200, required=True)
            f["given_names"].error_messages["required"] = _("Enter your given names")
        if want("family_name"):
            f["family_name"] = _text(_("Family name"), 200, required=True)
            f["family_name"].error_messages["required"] = _("Enter your family name")
        if want("patronymic"):
            f["patronymic"] = _text(_("Patronymic (if you have one)"), 200)
        if want("other_names"):
            f["other_names"] = _text(
                _("Other names or other ways your name is written, one per line"), 2200, textarea=True
            )
            f["other_names"].help_text = _("For example, your name in another alphabet, or a former family name.")
        if want("date_of_birth"):
            f["date_of_birth"] = DateField(_("Date of birth"), required=True, past=True)
            f["date_of_birth"].error_messages["required"] = _("Enter your date of birth")
        if want("place_of_birth"):
            f["place_of_birth"] = _text(_("Place of birth"), 200)
        if want("citizenships"):
            f["citizenships"] = CitizenshipsField(_("Citizenship"))
            f["citizenships"].help_text = _("If you have more than one citizenship, choose each of them.")
        for i in range(1, doc_rows + 1):
            if want(f"doc_{i}_kind"):
                f[f"doc_{i}_kind"] = forms.ChoiceField(
                    label=_("Kind of document"), choices=[("", _("Choose…")), *DOCUMENT_KINDS], required=False
                )
            if want(f"doc_{i}_country"):
                f[f"doc_{i}_country"] = _country(_("Issuing country"))
            if want(f"doc_{i}_number"):
                f[f"doc_{i}_number"] = _text(_("Document number"), 40)
            if want(f"doc_{i}_expires"):
                f[f"doc_{i}_expires"] = DateField(_("Valid until (if the document has an end date)"))
        if want("phone"):
            f["phone"] = _text(_("Phone"), 40)
            f["phone"].help_text = _("With the country code, for example +380 44 123 4567.")
        if want("email"):
            f["email"] = _text(_("E-mail"), 254)
        if want("address"):
            f["address"] = _text(_("Address"), 500, textarea=True)
        for i in range(1, kin_rows + 1):
            if want(f"kin_{i}_name"):
                f[f"kin_{i}_name"] = _text(_("Name"), 200)
            if want(f"kin_{i}_relation"):
                f[f"kin_{i}_relation"] = _text(_("Relation to you"), 60)
            if want(f"kin_{i}_phone"):
                f[f"kin_{i}_phone"] = _text(_("Phone"), 40)
            if want(f"kin_{i}_address"):
                f[f"kin_{i}_address"] = _text(_("Address"), 500)
        if want("military_experience"):
            f["military_experience"] = forms.ChoiceField(
                label=_("Military experience"), choices=EXPERIENCE, required=False, widget=forms.RadioSelect
            )
        if want("years_of_service"):
            f["years_of_service"] = forms.IntegerField(
                label=_("Years of service"),
                min_value=0,
                max_value=60,
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "numeric"}),
                error_messages={"invalid": _("Enter the years of service as a number, for example 4")},
            )
        if want("skills"):
            f["skills"] = forms.MultipleChoiceField(
                label=_("Skills"), choices=SKILLS, required=False, widget=forms.CheckboxSelectMultiple
            )
            f["skills"].help_text = _("Select all that apply.")
        if want("languages"):
            f["languages"] = _text(_("Languages you speak"), 60)
            f["languages"].help_text = _("Two- or three-letter codes separated by commas, for example uk, en, ru.")
        if want("motivation"):
            f["motivation"] = _text(_("Why do you want to join?"), 5000, textarea=True)
        if want("preferred_call_sign"):
            f["preferred_call_sign"] = _text(_("Call sign you would like (optional)"), 40)
            f["preferred_call_sign"].help_text = _("Not your name or anything that points to you.")
        for i in range(1, UPLOAD_ROWS + 1):
            if want(f"upload_{i}"):
                f[f"upload_{i}"] = forms.FileField(
                    label=_("Scan %(n)s") % {"n": i},
                    required=False,
                    widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
                )
        if want("consent"):
            f["consent"] = forms.BooleanField(
                label=_("I agree to be vetted, including a polygraph examination."),
                required=True,
                error_messages={
                    "required": _("You can only apply if you agree to vetting, including a polygraph examination.")
                },
            )
        self.application: Application | None = None

    # --- groups for the templates ---------------------------------------------------------------

    def rows(self, prefix: str, count: int) -> list[list[forms.BoundField]]:
        return [[self[n] for n in self.fields if n.startswith(f"{prefix}_{i}_")] for i in range(1, count + 1)]

    def document_rows(self) -> list[list[forms.BoundField]]:
        return self.rows("doc", self.doc_rows)

    def kin_rows_bound(self) -> list[list[forms.BoundField]]:
        return self.rows("kin", self.kin_rows)

    def raw_keys(self, only: Iterable[str] | None = None) -> list[str]:
        """The POST keys this form reads (a date's three parts, not its name); of the fields ``only``
        names, when given."""
        keys: list[str] = []
        names = self.fields if only is None else [name for name in only if name in self.fields]
        for name in names:
            field = self.fields[name]
            if isinstance(field.widget, DateParts):
                keys.extend(f"{name}_{part}" for part in DateParts.parts)
            elif not isinstance(field, forms.FileField):
                keys.append(name)
        return keys

    def error_links(self) -> list[tuple[str, Any]]:
        """(anchor, message) for the error summary: each field's first error, linked to its first input."""
        links: list[tuple[str, Any]] = []
        for name, errors in self.errors.items():
            if name == NON_FIELD_ERRORS:
                continue
            field = self.fields.get(name)
            anchor = f"id_{name}"
            if isinstance(field, forms.MultiValueField):
                anchor = f"id_{name}_day"
            elif isinstance(field, forms.ChoiceField) and isinstance(field.widget, forms.RadioSelect):
                anchor = f"id_{name}_0"
            elif isinstance(field, forms.MultipleChoiceField):
                anchor = f"id_{name}_0"
            links.append((anchor, errors[0]))
        return links

    # --- checks across fields ----------------------------------------------------------------------

    def clean_other_names(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["other_names"].splitlines() if line.strip()]
        if len(lines) > 10 or any(len(line) > 200 for line in lines):
            raise forms.ValidationError(_("Enter at most 10 names of at most 200 characters each."))
        return lines

    def clean_languages(self) -> list[str]:
        codes = [c for c in _LIST_SEPARATORS.split(self.cleaned_data["languages"].lower()) if c]
        if len(codes) > 10 or not all(_LANGUAGE_CODE.fullmatch(c) for c in codes):
            raise forms.ValidationError(_("Enter up to 10 language codes such as uk, en, ru, separated by commas."))
        return codes

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.documents_of(data)
        self.kin_of(data)
        return data

    def documents_of(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        documents = []
        for i in range(1, self.doc_rows + 1):
            if f"doc_{i}_kind" not in self.fields:
                continue
            kind, country, number = (data.get(f"doc_{i}_{k}") for k in ("kind", "country", "number"))
            expires = data.get(f"doc_{i}_expires")
            if not (kind or country or number or expires or self.has_error(f"doc_{i}_expires")):
                continue
            missing = [k for k, v in (("kind", kind), ("country", country), ("number", number)) if not v]
            messages = {
                "kind": _("Choose the kind of document"),
                "country": _("Choose the country that issued the document"),
                "number": _("Enter the document number"),
            }
            for key in missing:
                if not self.has_error(f"doc_{i}_{key}"):
                    self.add_error(f"doc_{i}_{key}", messages[key])
            if not missing:
                document: dict[str, Any] = {"kind": kind, "country": country, "number": number}
                if expires:
                    document["expires"] = expires.isoformat()
                documents.append(document)
        return documents

    def kin_of(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        kin = []
        for i in range(1, self.kin_rows + 1):
            if f"kin_{i}_name" not in self.fields:
                continue
            row = {k: data.get(f"kin_{i}_{k}") or "" for k in ("name", "relation", "phone", "address")}
            if not any(row.values()):
                continue
            if not row["name"]:
                if not self.has_error(f"kin_{i}_name"):
                    self.add_error(f"kin_{i}_name", _("Enter the name, or remove this person"))
                continue
            entry: dict[str, Any] = {"name": row["name"], "relation": row["relation"]}
            entry.update({k: row[k] for k in ("phone", "address") if row[k]})
            kin.append(entry)
        return kin

    def to_application(self, data: dict[str, Any], language: str) -> dict[str, Any]:
        identity: dict[str, Any] = {
            "given_names": data["given_names"],
            "family_name": data["family_name"],
            "date_of_birth": data["date_of_birth"].isoformat(),
            "citizenships": data["citizenships"],
        }
        for key in ("patronymic", "place_of_birth", "phone", "email", "address"):
            if data.get(key):
                identity[key] = data[key]
        for key, value in (
            ("other_names", data.get("other_names")),
            ("documents", self.documents_of(data)),
            ("next_of_kin", self.kin_of(data)),
        ):
            if value:
                identity[key] = value
        profile: dict[str, Any] = {}
        for key in ("military_experience", "motivation", "preferred_call_sign"):
            if data.get(key):
                profile[key] = data[key]
        if data.get("years_of_service") is not None:
            profile["years_of_service"] = data["years_of_service"]
        for key in ("skills", "languages"):
            if data.get(key):
                profile[key] = list(data[key])
        application: dict[str, Any] = {"legion": data["legion"], "language": language, "identity": identity}
        if profile:
            application["profile"] = profile
        application["consent"] = bool(data.get("consent"))
        return application

    def validate_contract(self, language: str) -> None:
        """Builds the application and checks it against the contract; call after ``is_valid()``."""
        application = self.to_application(self.cleaned_data, language)
        if self.errors:
            return
        try:
            self.application = validate_application(application)
        except ApplicationInvalid as exc:
            for error in exc.errors:
                self.add_error(None, str(error))

    def uploads(self) -> list[Any]:
        return [
            self.cleaned_data[f"upload_{i}"] for i in range(1, UPLOAD_ROWS + 1) if self.cleaned_data.get(f"upload_{i}")
        ]


def as_data(answers: Mapping[str, Any]) -> MultiValueDict[str, Any]:
    """Stored answers (name → list of strings) as form data."""
    return MultiValueDict({k: list(v) if isinstance(v, list) else [v] for k, v in answers.items()})


def step_form(step: Step, data: Mapping[str, Any] | None, *, doc_rows: int, kin_rows: int) -> ApplicationForm:
    return ApplicationForm(data, doc_rows=doc_rows, kin_rows=kin_rows, only=step.field_names(doc_rows, kin_rows))
