"""The public application form: every field of the contract, for people without JavaScript.

The form checks each field itself (so errors are in the applicant's language and next to the
field), then builds the contract's application dict and runs it through ``intake.schema`` too, so
the form can never accept what the API would refuse. Repeatable groups are fixed rows: 3 documents,
3 next of kin, 3 uploads. Field names (and so ids, ``id_<name>``) are stable: browser tests use them.

Never put a submitted value into a log or an error message.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from legionary.intake.legions import KNOWN_LEGIONS
from legionary.intake.schema import Application, ApplicationInvalid, validate_application

DOCUMENT_ROWS = 3
KIN_ROWS = 3
UPLOAD_ROWS = 3

DOCUMENT_KINDS = [
    ("passport", _("Passport")),
    ("internal_passport", _("Internal passport")),
    ("id_card", _("Identity card")),
    ("military_id", _("Military ID")),
    ("residence_permit", _("Residence permit")),
    ("driving_licence", _("Driving licence")),
]
EXPERIENCE = [
    ("", _("Choose…")),
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

_COUNTRY = RegexValidator(r"^[A-Z]{2}$", _("Enter a two-letter country code in capitals, for example UA."))
_COUNTRY_LIST = re.compile(r"[\s,;]+")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def _text(label: Any, max_length: int, *, required: bool = False, textarea: bool = False) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 4}) if textarea else forms.TextInput()
    return forms.CharField(label=label, max_length=max_length, required=required, widget=widget, strip=True)


def _date(label: Any, *, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Year-month-day, for example 1990-05-31."),
    )


class ApplicationForm(forms.Form):
    legion = forms.ChoiceField(label=_("Legion you apply to"), choices=list(KNOWN_LEGIONS.items()))
    given_names = _text(_("Given names"), 200, required=True)
    family_name = _text(_("Family name"), 200, required=True)
    patronymic = _text(_("Patronymic (if you have one)"), 200)
    other_names = _text(_("Other names or spellings, one per line"), 2200, textarea=True)
    date_of_birth = _date(_("Date of birth"), required=True)
    place_of_birth = _text(_("Place of birth"), 200)
    citizenships = _text(_("Citizenships"), 20, required=True)
    phone = _text(_("Phone"), 40)
    email = _text(_("E-mail"), 254)
    address = _text(_("Address"), 500, textarea=True)
    military_experience = forms.ChoiceField(label=_("Military experience"), choices=EXPERIENCE, required=False)
    years_of_service = forms.IntegerField(label=_("Years of service"), min_value=0, max_value=60, required=False)
    skills = forms.MultipleChoiceField(
        label=_("Skills"), choices=SKILLS, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = _text(_("Languages you speak (codes such as uk, en, ru)"), 60)
    motivation = _text(_("Why do you want to join?"), 5000, textarea=True)
    preferred_call_sign = _text(_("Call sign you would like (optional)"), 40)
    consent = forms.BooleanField(
        label=_("I agree to be vetted, including a polygraph examination."),
        required=True,
        error_messages={
            "required": _("You can only apply if you agree to vetting, including a polygraph examination.")
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["citizenships"].help_text = _("Two-letter country codes, separated by commas, for example UA, PL.")
        for i in range(1, DOCUMENT_ROWS + 1):
            self.fields[f"doc_{i}_kind"] = forms.ChoiceField(
                label=_("Document %(n)s: kind") % {"n": i}, choices=[("", "—"), *DOCUMENT_KINDS], required=False
            )
            self.fields[f"doc_{i}_country"] = forms.CharField(
                label=_("Document %(n)s: issuing country") % {"n": i},
                max_length=2,
                required=False,
                validators=[_COUNTRY],
            )
            self.fields[f"doc_{i}_number"] = _text(_("Document %(n)s: number") % {"n": i}, 40)
            self.fields[f"doc_{i}_expires"] = _date(_("Document %(n)s: expires") % {"n": i})
        for i in range(1, KIN_ROWS + 1):
            self.fields[f"kin_{i}_name"] = _text(_("Next of kin %(n)s: name") % {"n": i}, 200)
            self.fields[f"kin_{i}_relation"] = _text(_("Next of kin %(n)s: relation to you") % {"n": i}, 60)
            self.fields[f"kin_{i}_phone"] = _text(_("Next of kin %(n)s: phone") % {"n": i}, 40)
            self.fields[f"kin_{i}_address"] = _text(_("Next of kin %(n)s: address") % {"n": i}, 500)
        for i in range(1, UPLOAD_ROWS + 1):
            self.fields[f"upload_{i}"] = forms.FileField(
                label=_("Scan of a document %(n)s (PDF, JPEG or PNG, at most 20 MB)") % {"n": i},
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
            )
        self.application: Application | None = None

    def clean_citizenships(self) -> list[str]:
        codes = [c for c in _COUNTRY_LIST.split(self.cleaned_data["citizenships"].upper()) if c]
        if not 1 <= len(codes) <= 5 or not all(re.fullmatch(r"[A-Z]{2}", c) for c in codes):
            raise forms.ValidationError(_("Enter one to five two-letter country codes, for example UA, PL."))
        return codes

    def clean_other_names(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["other_names"].splitlines() if line.strip()]
        if len(lines) > 10 or any(len(line) > 200 for line in lines):
            raise forms.ValidationError(_("Enter at most 10 names of at most 200 characters each."))
        return lines

    def clean_languages(self) -> list[str]:
        codes = [c for c in _COUNTRY_LIST.split(self.cleaned_data["languages"].lower()) if c]
        if len(codes) > 10 or not all(_LANGUAGE_CODE.fullmatch(c) for c in codes):
            raise forms.ValidationError(_("Enter up to 10 language codes such as uk, en, ru, separated by commas."))
        return codes

    def _documents(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        documents = []
        for i in range(1, DOCUMENT_ROWS + 1):
            kind, country, number = (data.get(f"doc_{i}_{k}") for k in ("kind", "country", "number"))
            expires = data.get(f"doc_{i}_expires")
            if not (kind or country or number or expires):
                continue
            missing = [k for k, v in (("kind", kind), ("country", country), ("number", number)) if not v]
            for key in missing:
                self.add_error(f"doc_{i}_{key}", _("Fill this in, or leave the whole document row empty."))
            if not missing:
                document: dict[str, Any] = {"kind": kind, "country": country, "number": number}
                if expires:
                    document["expires"] = expires.isoformat()
                documents.append(document)
        return documents

    def _next_of_kin(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        kin = []
        for i in range(1, KIN_ROWS + 1):
            row = {k: data.get(f"kin_{i}_{k}") or "" for k in ("name", "relation", "phone", "address")}
            if not any(row.values()):
                continue
            if not row["name"]:
                self.add_error(f"kin_{i}_name", _("Fill this in, or leave the whole row empty."))
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
            ("documents", self._documents(data)),
            ("next_of_kin", self._next_of_kin(data)),
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
