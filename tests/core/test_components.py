"""The shared page components (templates/components/, ``{% load ui %}``) render GOV.UK / MOJ markup
that keeps its promises: applicant text isolated, wide tables scrolling in a named focusable region,
errors linked to their fields, radios never preselected, keyset pagination without totals."""

from __future__ import annotations

import re

from django import forms
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.template import Context, Template
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st

from legionary.core.templatetags.ui import TAG_COLOURS, isolate, tag_colour


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


@given(st.text())
def test_isolate_escapes_and_wraps_any_text_in_bdi(text: str) -> None:
    html = str(isolate(text))
    if text == "":
        assert html == ""
        return
    assert html.startswith("<bdi>") and html.endswith("</bdi>")
    inner = html.removeprefix("<bdi>").removesuffix("</bdi>")
    assert "<" not in inner and ">" not in inner


def test_a_right_to_left_override_stays_inside_its_bdi() -> None:
    html = render("{% load ui %}<td>{{ name|isolate }} (applicant)</td>", name="\u202eevil.exe")
    assert html == "<td><bdi>\u202eevil.exe</bdi> (applicant)</td>"


def test_every_state_has_a_govuk_tag_colour_and_unknown_ones_are_grey() -> None:
    colours = {"grey", "green", "teal", "turquoise", "yellow", "orange", "red", "purple", "pink", "magenta"}
    assert set(TAG_COLOURS.values()) <= colours
    assert tag_colour("approved") == "govuk-tag--green" and tag_colour("denied") == "govuk-tag--red"
    assert tag_colour("something new") == "govuk-tag--grey"
    html = render_to_string("components/tag.html", {"state": "overdue", "text": "Overdue"})
    assert html.strip() == '<strong class="govuk-tag govuk-tag--red" data-state="overdue">Overdue</strong>'
    # The tag without an include (My work, the shared table) is the same markup, the text escaped.
    assert render("{% load ui %}{% govuk_tag state text %}", state="overdue", text="Overdue") == html.strip()
    assert "&lt;b&gt;" in render("{% load ui %}{% govuk_tag 'new' text %}", text="<b>")


def test_a_table_scrolls_inside_a_named_focusable_region() -> None:
    html = render_to_string(
        "components/table.html",
        {
            "label": "Gradebook",
            "head": ["Call sign", "State", "Score"],
            "rows": [["Zaza", {"state": "passed", "text": "Passed"}, {"text": 91, "numeric": True}]],
        },
    )
    assert '<div class="app-table-container" tabindex="0" role="region" aria-label="Gradebook">' in html
    assert '<strong class="govuk-tag govuk-tag--green" data-state="passed">Passed</strong>' in html
    assert '<td class="govuk-table__cell govuk-table__cell--numeric">91</td>' in html
    assert '<td class="govuk-table__cell">Zaza</td>' in html


def test_the_scrollable_tag_wraps_a_hand_written_table() -> None:
    html = render(
        '{% load ui %}{% scrollable label %}<table class="govuk-table"></table>{% endscrollable %}',
        label="Audit <entries>",
    )
    assert html == (
        '<div class="app-table-container" tabindex="0" role="region" aria-label="Audit &lt;entries&gt;">'
        '<table class="govuk-table"></table></div>'
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")], widget=forms.RadioSelect)
    rationale = forms.CharField(label="Rationale", help_text="Why, in a sentence or two.")


def test_radios_preselect_nothing_and_sit_in_a_fieldset_with_a_legend() -> None:
    html = render_to_string("components/form_fields.html", {"form": DecisionForm()})
    assert "checked" not in html
    assert re.search(r'<fieldset class="govuk-fieldset"[^>]*>\s*<legend class="govuk-fieldset__legend', html)
    assert '<label for="id_rationale" class="govuk-label">' in re.sub(r"\s+", " ", html).replace("> ", ">")
    assert 'id="id_rationale_hint"' in html


def test_errors_are_summarised_at_the_top_and_each_links_to_its_field() -> None:
    form = DecisionForm(data={"rationale": ""})
    form.add_error(None, "Both adjudicators must differ.")
    summary = render_to_string("components/form_errors.html", {"form": form})
    assert 'id="form-errors"' in summary and "There is a problem" in summary
    # The radios' error links to the first radio; a form-wide error to the first field.
    assert summary.count('href="#id_outcome_1"') == 2
    assert 'href="#id_rationale"' in summary
    fields = render_to_string("components/form_fields.html", {"form": form})
    assert 'id="id_rationale_error"' in fields and 'id="id_outcome_error"' in fields
    assert 'aria-describedby="id_rationale_hint id_rationale_1_error"' in fields
    assert 'id="id_outcome_1"' in fields


def test_keyset_pagination_has_previous_and_next_only() -> None:
    html = render_to_string("components/pagination.html", {"next_url": "?after=abc"})
    assert 'href="?after=abc"' in html and 'rel="next"' in html
    assert "govuk-pagination__prev" not in html and "govuk-pagination__item" not in html
    assert render_to_string("components/pagination.html", {}).strip() == ""


def test_a_success_message_is_a_success_banner() -> None:
    html = render_to_string(
        "components/messages.html", {"messages": [Message(constants.SUCCESS, "Case assigned to Kestrel.")]}
    )
    assert "govuk-notification-banner--success" in html and 'role="alert"' in html
    assert "Case assigned to Kestrel." in html
    info = render_to_string("components/messages.html", {"messages": [Message(constants.INFO, "Saved.")]})
    assert "govuk-notification-banner--success" not in info and 'role="region"' in info


class EveryWidgetForm(forms.Form):
    name = forms.CharField(label="Name", widget=forms.TextInput(attrs={"class": "govuk-input--width-10"}))
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 3}), help_text="No names.")
    legion = forms.ChoiceField(
        label="Legion", choices=[("", "Choose"), ("frl", "Freedom & Russia"), ("gl", "Georgian")]
    )
    kinds = forms.MultipleChoiceField(
        label="Kinds", choices=[("a", "Alpha"), ("b", "Beta")], widget=forms.CheckboxSelectMultiple
    )
    agree = forms.BooleanField(label="I agree", required=False)
    day = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}))
    scan = forms.FileField(label="Scan", required=False, widget=forms.FileInput)
    token = forms.CharField(widget=forms.HiddenInput, required=False)


def test_every_field_type_has_its_govuk_markup_label_and_group() -> None:
    html = render_to_string("components/form_fields.html", {"form": EveryWidgetForm()})
    assert (
        '<div id="div_id_name" class="govuk-form-group"><label for="id_name" class="govuk-label">Name</label>' in html
    )
    assert 'class="govuk-input govuk-input--width-10"' in html
    assert re.search(
        r'<textarea name="notes" aria-describedby="id_notes_hint" class="govuk-textarea"[^>]* rows="3"', html
    )
    assert '<div id="id_notes_hint" class="govuk-hint">No names.</div>' in html
    assert '<option value="frl">Freedom &amp; Russia</option>' in html and 'class="govuk-select"' in html
    assert 'id="id_kinds_1" value="a"' in html and 'id="id_kinds_2" value="b"' in html
    assert re.search(r'<fieldset class="govuk-fieldset"><legend class="govuk-fieldset__legend">Kinds</legend>', html)
    assert 'class="govuk-checkboxes__input"' in html and 'for="id_agree">I agree</label>' in html
    assert 'type="date" name="day"' in html and 'type="file" name="scan"' in html
    assert html.startswith('<input type="hidden" name="token"')
    assert "checked" not in html and "govuk-form-group--error" not in html


def test_a_wrong_answer_is_marked_at_its_field_and_named_by_the_input() -> None:
    form = EveryWidgetForm(data={"name": "", "notes": "", "legion": "nope", "kinds": ["b"], "day": "soon"})
    assert not form.is_valid()
    html = render_to_string("components/form_fields.html", {"form": form})
    assert 'class="govuk-form-group govuk-form-group--error"' in html
    assert 'class="govuk-input govuk-input--width-10 govuk-input--error"' in html
    assert 'aria-describedby="id_name_1_error"' in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="id_notes_hint id_notes_1_error"' in html
    assert '<p id="id_legion_error" class="govuk-error-message"><span id="id_legion_1_error"' in html
    assert '<span class="govuk-visually-hidden">Error:</span>' in html
    # What was chosen stays chosen; what was typed stays typed (escaped).
    assert 'id="id_kinds_2" value="b" checked' in html and 'id="id_kinds_1" value="a">' in html
    assert 'value="soon"' in html
    summary = render_to_string("components/form_errors.html", {"form": form})
    assert 'href="#id_name"' in summary and 'href="#id_day"' in summary


@given(st.text(min_size=1, max_size=40))
def test_typed_text_is_escaped_in_the_input(text: str) -> None:
    form = EveryWidgetForm(data={"name": text, "notes": text})
    html = render_to_string("components/form_fields.html", {"form": form})
    for tag in re.findall(r"<input[^>]*name=\"name\"[^>]*>", html):
        assert "<" not in tag[1:]
    inner = html.split('name="notes"', 1)[1].split("</textarea>", 1)[0]
    assert "<" not in inner.split(">", 1)[1]


def test_a_password_with_an_error_is_marked_like_any_other_text_box() -> None:
    class SignIn(forms.Form):
        password = forms.CharField(label="Password", widget=forms.PasswordInput)

    form = SignIn(data={})
    assert not form.is_valid()
    html = render_to_string("components/form_fields.html", {"form": form})
    assert 'class="govuk-input govuk-input--error"' in html and 'type="password"' in html


def test_numbers_dates_selects_and_text_areas_get_their_own_govuk_classes_and_error_borders() -> None:
    class Plan(forms.Form):
        week = forms.IntegerField(label="Week")
        start = forms.DateField(label="Start", widget=forms.DateInput(attrs={"type": "date"}))
        legion = forms.ChoiceField(label="Legion", choices=[("", "Choose"), ("frl", "FRL")])
        notes = forms.CharField(label="Notes", widget=forms.Textarea)

    html = render_to_string("components/form_fields.html", {"form": Plan()})
    assert re.search(r'<input type="number" name="week"[^>]* class="govuk-input govuk-input--width-5"', html)
    assert re.search(r'<input type="date" name="start"[^>]* class="govuk-input govuk-input--width-10"', html)
    form = Plan(data={"week": "x", "start": "soon", "legion": "nope", "notes": ""})
    assert not form.is_valid()
    html = render_to_string("components/form_fields.html", {"form": form})
    assert 'class="govuk-input govuk-input--width-5 govuk-input--error"' in html
    assert 'class="govuk-input govuk-input--width-10 govuk-input--error"' in html
    assert 'class="govuk-select govuk-select--error"' in html
    assert re.search(r'<textarea name="notes"[^>]* class="govuk-textarea govuk-textarea--error"', html)
