"""Template helpers that render the public form's fields with GOV.UK Frontend's classes and ARIA links."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms, template
from django.utils.safestring import SafeString

register = template.Library()

_CLASSES = {
    "text": "govuk-input",
    "email": "govuk-input",
    "number": "govuk-input",
    "textarea": "govuk-textarea",
    "select": "govuk-select",
    "clearablefile": "govuk-file-upload",
    "file": "govuk-file-upload",
}
_ERROR_CLASSES = {
    "govuk-input": "govuk-input--error",
    "govuk-textarea": "govuk-textarea--error",
    "govuk-select": "govuk-select--error",
    "govuk-file-upload": "govuk-file-upload--error",
}


def described_by(field: forms.BoundField) -> str:
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}_hint")
    if field.errors:
        ids.append(f"{field.auto_id}_error")
    return " ".join(ids)


@register.filter
def describedby(field: forms.BoundField) -> str:
    return described_by(field)


@register.simple_tag
def govuk_widget(field: forms.BoundField, width: str = "") -> SafeString:
    """The field's own widget (input, textarea, select, file) with GOV.UK classes, hint and error linked."""
    base = _CLASSES.get(field.widget_type, "govuk-input")
    classes = [base]
    if width:
        classes.append(f"govuk-input--width-{width}" if base == "govuk-input" else width)
    if field.errors:
        classes.append(_ERROR_CLASSES[base])
    attrs: dict[str, Any] = {"class": " ".join(classes)}
    if described_by(field):
        attrs["aria-describedby"] = described_by(field)
    return field.as_widget(attrs=attrs)


@register.filter
def date_parts(field: forms.BoundField) -> list[str]:
    """[day, month, year] as typed (or as stored) for a day/month/year date input."""
    value = field.value()
    if isinstance(value, datetime.date):
        return [str(value.day), str(value.month), str(value.year)]
    if isinstance(value, list | tuple):
        return [str(v) if v not in (None, "") else "" for v in value] + [""] * (3 - len(value))
    return ["", "", ""]


@register.filter
def chosen(field: forms.BoundField) -> list[str]:
    """The values chosen in a multiple-value field, as strings (for checkboxes and country pickers)."""
    value = field.value()
    if value in (None, ""):
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


@register.filter
def nth(values: list[str], index: int) -> str:
    return values[index] if 0 <= index < len(values) else ""
