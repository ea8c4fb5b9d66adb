"""Django form fields in GOV.UK Frontend markup, built in Python: ``{% load govuk_forms %}``.

- ``{{ form|govuk_fields }}``: every field of a form (hidden ones first), as
  ``components/form_fields.html`` renders it.
- ``{{ form.name|govuk_field }}``: one field: the form group, its label (or a fieldset with the label
  as legend for radios, checkboxes and multi-part widgets), hint (``help_text``), the error message
  at the field and the input, whose ``aria-describedby`` names the hint and each error.
- ``{{ field|error_anchor }}``: the id an error summary's link points to (the input, the first
  radio or checkbox, or a multi-part widget's first part).

The markup is the one crispy-forms-gds 2.0 produced (our pages used it until this module replaced
it): the same classes, ids (``div_<id>``, ``<id>_hint``, ``<id>_error`` holding one
``<id>_<n>_error`` per message, choices numbered ``id_<name>_1`` …) and aria attributes. Built with
``format_html`` rather than templates: a template per field cost about 0.4 ms more than a bare
``{{ field }}``, this costs about a tenth of that. The input itself keeps Django's own widget
context (values formatted, ``required``, ``aria-invalid``, ``checked``, selected options); only
the common widgets' HTML is written here, any other widget is rendered by Django.
"""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()

# Widget class name → GOV.UK class, as crispy-forms-gds chose it; any other widget gets its own
# class name in lower case (what crispy-forms-gds did; no style of ours targets those).
CLASSES = {
    "checkboxinput": "govuk-checkboxes__input",
    "select": "govuk-select",
    "textinput": "govuk-input",
    "emailinput": "govuk-input",
    "passwordinput": "govuk-input",
    "textarea": "govuk-textarea",
    "clearablefileinput": "govuk-file-upload",
    # crispy-forms-gds gave these their Django names ("numberinput", "dateinput"), which no style
    # targets: a week, a score or a start date showed as the browser's bare box.
    "numberinput": "govuk-input govuk-input--width-5",
    "dateinput": "govuk-input govuk-input--width-10",
    "datetimeinput": "govuk-input govuk-input--width-20",
    "timeinput": "govuk-input govuk-input--width-5",
    "urlinput": "govuk-input",
}
# Widgets whose input shows its error by a red border (the rest show it only at the field).
# crispy-forms-gds left the password and email inputs out (the sign-in page showed a red username
# box over a black password box, both wrong): every GOV.UK text box is marked alike here.
INPUT_ERROR = {
    **{
        name: "govuk-input--error"
        for name in (
            "TextInput",
            "PasswordInput",
            "EmailInput",
            "NumberInput",
            "DateInput",
            "DateTimeInput",
            "TimeInput",
            "URLInput",
        )
    },
    "Select": "govuk-select--error",
    "Textarea": "govuk-textarea--error",
}
# Django's own templates of the widgets whose HTML ``_widget_html`` writes itself (the same HTML);
# any other widget (a custom one, a multi-part one, a clearable file input) is rendered by Django.
TEXTAREA = "django/forms/widgets/textarea.html"
SELECT = "django/forms/widgets/select.html"
WRITTEN_HERE = {TEXTAREA, SELECT} | {
    f"django/forms/widgets/{kind}.html"
    for kind in ("input", "text", "password", "email", "number", "url", "date", "datetime", "time", "file", "checkbox")
}
FILE_ERROR = {"FileInput": "govuk-file-upload--error", "ClearableFileInput": "govuk-file-upload--error"}


def _is_radios(field: BoundField) -> bool:
    widget = field.field.widget
    return isinstance(widget, forms.RadioSelect) and widget.input_type == "radio"


def _is_checkboxes(field: BoundField) -> bool:
    widget = field.field.widget
    return isinstance(widget, forms.CheckboxSelectMultiple) and widget.input_type == "checkbox"


@register.filter
def error_anchor(field: BoundField) -> str:
    """The id of the element an error summary's link to this field points to."""
    if _is_radios(field) or _is_checkboxes(field):
        return f"{field.auto_id}_1"
    if isinstance(field.field.widget, forms.MultiWidget):
        return f"{field.auto_id}_0"
    return str(field.auto_id)


def _attrs(attrs: dict[str, Any]) -> SafeString:
    """Attributes as Django's ``attrs.html`` writes them: True bare, False and None left out."""
    return mark_safe(flatatt({k: v for k, v in attrs.items() if v is not False and v is not None}))  # noqa: S308 — flatatt escapes


def _label(field: BoundField) -> SafeString:
    """The field's label: ours (never user input), and may hold markup, as crispy-forms-gds allowed."""
    return mark_safe(str(field.label))  # noqa: S308


def _hint(field: BoundField) -> SafeString:
    if not field.help_text:
        return SafeString("")
    # help_text is ours (never user input) and may hold markup, as crispy-forms-gds allowed.
    return format_html('<div id="{}_hint" class="govuk-hint">{}</div>', field.auto_id, mark_safe(field.help_text))  # noqa: S308


def _errors(field: BoundField) -> SafeString:
    if not field.errors:
        return SafeString("")
    prefix = gettext("Error:")
    lines = format_html_join(
        "",
        '<span id="{}_{}_error" class="app-error-line"><span class="govuk-visually-hidden">{}</span> {}</span>',
        ((field.auto_id, n, prefix, error) for n, error in enumerate(field.errors, start=1)),
    )
    return format_html('<p id="{}_error" class="govuk-error-message">{}</p>', field.auto_id, lines)


def _described_by(field: BoundField) -> str:
    """The fieldset's (or input's) aria-describedby: the hint, then each error message."""
    ids = [f"{field.auto_id}_hint"] if field.help_text else []
    ids += [f"{field.auto_id}_{n}_error" for n in range(1, len(field.errors) + 1)]
    return " ".join(ids)


def _widget_html(field: BoundField, extra: dict[str, Any]) -> SafeString:
    """The input, from Django's own widget context; written here for the common widgets."""
    widget = field.field.widget
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs(extra, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    value = field.value()
    name = field.html_name
    if widget.template_name not in WRITTEN_HERE:
        return SafeString(widget.render(name=name, value=value, attrs=attrs, renderer=field.form.renderer))
    context = widget.get_context(name, value, attrs)["widget"]
    if widget.template_name == TEXTAREA:
        text = context["value"] or ""
        return format_html('<textarea name="{}"{}>\n{}</textarea>', name, _attrs(context["attrs"]), text)
    if widget.template_name == SELECT:
        options = []
        for group_name, group, _index in context["optgroups"]:
            inner = format_html_join(
                "",
                '\n  <option value="{}"{}>{}</option>',
                ((str(o["value"]), _attrs(o["attrs"]), o["label"]) for o in group),
            )
            options.append(
                format_html('\n  <optgroup label="{}">{}\n  </optgroup>', group_name, inner) if group_name else inner
            )
        return format_html(
            '<select name="{}"{}>{}\n</select>', name, _attrs(context["attrs"]), SafeString("".join(options))
        )
    shown = context["value"]
    value_attr = format_html(' value="{}"', str(shown)) if shown is not None else SafeString("")
    return format_html('<input type="{}" name="{}"{}{}>', context["type"], name, value_attr, _attrs(context["attrs"]))


def _classes(widget: forms.Widget) -> list[str]:
    """The widget's GOV.UK class (``CLASSES``), then the classes its own attrs name."""
    kind = type(widget).__name__.lower()
    own = str(widget.attrs.get("class", "")).split()
    default = CLASSES.get(kind, kind).split()
    # A widget that names its own GOV.UK class (a width) keeps it instead of the default's width.
    classes = default[:1] if any(n.startswith("govuk-") for n in own) else default
    for name in own:
        if name not in classes:
            classes.append(name)
    return classes


def _input_attrs(field: BoundField) -> dict[str, Any]:
    """Class and aria-describedby of the input, as crispy-forms-gds set them."""
    widget = field.field.widget
    kind = type(widget).__name__
    classes = _classes(widget)
    if field.errors:
        error_class = INPUT_ERROR.get(kind) or FILE_ERROR.get(kind)
        if error_class:
            classes.append(error_class)
    extra: dict[str, Any] = {"class": " ".join(classes)}
    if field.help_text or field.errors:
        extra["aria-describedby"] = _described_by(field)
    elif widget.attrs.get("aria-describedby"):
        extra["aria-describedby"] = widget.attrs["aria-describedby"]
    return extra


def _choices(field: BoundField, kind: str) -> SafeString:
    """Radios or checkboxes, numbered from 1 (``id_<name>_1`` …), as crispy-forms-gds numbered them."""
    value = field.value()
    if kind == "radios":
        chosen = {str(value)} if value is not None else set()
    else:
        values = value if isinstance(value, (list, tuple)) else ([] if value in (None, "") else [value])
        chosen = {str(v) for v in values}
    items = []
    for n, (choice_value, choice_label) in enumerate(getattr(field.field, "choices", ()), start=1):
        if isinstance(choice_label, (list, tuple)):  # an option group: not a radio or checkbox of its own
            continue
        item_id = f"id_{field.html_name}_{n}"
        items.append(
            format_html(
                '<div class="govuk-{}__item"><input type="{}" name="{}" class="govuk-{}__input" id="{}" value="{}"{}>'
                '<label class="govuk-label govuk-{}__label" for="{}">{}</label></div>',
                kind,
                "radio" if kind == "radios" else "checkbox",
                field.html_name,
                kind,
                item_id,
                str(choice_value),
                mark_safe(' checked="checked"') if str(choice_value) in chosen else "",
                kind,
                item_id,
                choice_label,
            )
        )
    return format_html('<div class="govuk-{}">{}</div>', kind, SafeString("".join(items)))


def _fieldset(field: BoundField, inner: SafeString) -> SafeString:
    described = _described_by(field)
    return format_html(
        '<fieldset class="govuk-fieldset"{}>{}{}{}{}</fieldset>',
        format_html(' aria-describedby="{}"', described) if described else "",
        format_html('<legend class="govuk-fieldset__legend">{}</legend>', _label(field)) if field.label else "",
        _hint(field),
        _errors(field),
        inner,
    )


@register.filter
def govuk_field(field: BoundField) -> SafeString:
    """One field in GOV.UK markup (see the module's docstring)."""
    if field.is_hidden:
        return SafeString(str(field))
    group = "govuk-form-group"
    if field.errors:
        group += " govuk-form-group--error"
    if field.css_classes():
        group += " " + field.css_classes()
    widget = field.field.widget
    if _is_checkboxes(field):
        inner = _fieldset(field, _choices(field, "checkboxes"))
    elif _is_radios(field):
        inner = _fieldset(field, _choices(field, "radios"))
    elif isinstance(widget, forms.MultiWidget):
        # Each part gets its own widget's class (a date part "dateinput", a text part "govuk-input");
        # the fieldset, not each part, names the hint and the errors.
        for part in widget.widgets:
            part.attrs["class"] = " ".join(_classes(part))
        inner = _fieldset(field, _widget_html(field, {}))
    elif isinstance(widget, forms.CheckboxInput):
        inner = format_html(
            '{}{}<div class="govuk-checkboxes"><div class="govuk-checkboxes__item">{}'
            '<label class="govuk-label govuk-checkboxes__label" for="{}">{}</label></div></div>',
            _hint(field),
            _errors(field),
            _widget_html(field, _input_attrs(field)),
            field.id_for_label,
            _label(field),
        )
    else:
        label = (
            format_html('<label for="{}" class="govuk-label">{}</label>', field.id_for_label, _label(field))
            if field.label
            else ""
        )
        inner = format_html("{}{}{}{}", label, _hint(field), _errors(field), _widget_html(field, _input_attrs(field)))
    return format_html('<div id="div_{}" class="{}">{}</div>\n', field.auto_id, group, inner)


@register.filter
def govuk_fields(form: forms.BaseForm) -> SafeString:
    """Every field of ``form``: the hidden ones, then each visible one in GOV.UK markup."""
    hidden = "".join(str(field) for field in form.hidden_fields())
    return SafeString(hidden + "".join(govuk_field(field) for field in form.visible_fields()))
