"""Forms of the training pages: they validate input and render fields; saving is the services' job.

The model forms here are never ``save()``d: views pass ``cleaned_data`` to ``training.services``,
which checks scope and writes the audit entry. The gradebook's score grid is not a Django form
(its fields depend on the cohort); ``parse_scores`` reads it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from legionary.access.models import Staff
from legionary.training.models import Assessment, Course, Module, Qualification


class CohortForm(forms.Form):
    course = forms.ModelChoiceField(queryset=Course.objects.all(), label=gettext_lazy("Course"))
    name = forms.CharField(max_length=120, label=gettext_lazy("Name"))
    legion = forms.SlugField(max_length=32, label=gettext_lazy("Legion"))
    start_date = forms.DateField(label=gettext_lazy("Start date"), widget=forms.DateInput(attrs={"type": "date"}))
    site = forms.CharField(max_length=120, label=gettext_lazy("Training site"))


class CohortEditForm(forms.Form):
    name = forms.CharField(max_length=120, label=gettext_lazy("Name"))
    start_date = forms.DateField(label=gettext_lazy("Start date"), widget=forms.DateInput(attrs={"type": "date"}))
    site = forms.CharField(max_length=120, label=gettext_lazy("Training site"))
    lead = forms.ModelChoiceField(
        queryset=Staff.objects.filter(is_active=True).order_by("username"),
        required=False,
        label=gettext_lazy("Lead instructor"),
        help_text=gettext_lazy("The lead gives the final sign-off and becomes an instructor of this cohort."),
    )


class InstructorForm(forms.Form):
    instructor = forms.ModelChoiceField(
        queryset=Staff.objects.filter(is_active=True).order_by("username"), label=gettext_lazy("Add instructor")
    )


class TimetableForm(forms.Form):
    module = forms.IntegerField(widget=forms.HiddenInput)
    week = forms.IntegerField(min_value=1, max_value=104, label=gettext_lazy("Week"))


class EnrolForm(forms.Form):
    call_sign = forms.CharField(max_length=40, label=gettext_lazy("Call sign"))


class AttendanceDayForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("Day"), widget=forms.DateInput(attrs={"type": "date"}))


class CorrectionForm(forms.Form):
    score = forms.IntegerField(min_value=0, max_value=1000, label=gettext_lazy("Corrected score"))
    reason = forms.CharField(
        max_length=500,
        label=gettext_lazy("Reason for the correction"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Kept in the result's history and the audit log. No names."),
    )


class CourseForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs; Django has no __class_getitem__
    class Meta:
        model = Course
        fields = ["name", "weeks", "min_attendance_percent", "description"]


class ModuleForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs; Django has no __class_getitem__
    class Meta:
        model = Module
        fields = ["name", "position", "default_week", "description", "grants", "requires"]
        widgets = {"grants": forms.CheckboxSelectMultiple, "requires": forms.CheckboxSelectMultiple}


class AssessmentForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs; Django has no __class_getitem__
    class Meta:
        model = Assessment
        fields = ["name", "kind", "max_score", "pass_mark"]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        max_score, pass_mark = data.get("max_score"), data.get("pass_mark")
        if isinstance(max_score, int) and isinstance(pass_mark, int) and pass_mark > max_score:
            raise forms.ValidationError(_("The pass mark must not be above the maximum score."))
        return data


class QualificationForm(forms.ModelForm):  # type: ignore[type-arg]  # generic only in the stubs; Django has no __class_getitem__
    class Meta:
        model = Qualification
        fields = ["name", "validity_months"]


_SCORE_FIELD = re.compile(r"^score-(\d+)-(\d+)$")


def score_field(enrolment_id: int, assessment_id: int) -> str:
    """The name (and id) of a score input in the gradebook grid: ``score-<enrolment>-<assessment>``."""
    return f"score-{enrolment_id}-{assessment_id}"


@dataclass
class ScoreGrid:
    """A submitted score grid: the valid scores, and a message per bad cell (by input name).

    A bad cell never costs the good ones: the page is drawn again with every typed value kept and
    only the bad cells marked, and nothing is recorded until every cell is valid.
    """

    scores: dict[tuple[int, int], int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Input name (``score-<enrolment>-<assessment>``) → what is wrong with it, in grid order."""
    stale: bool = False
    """A score was sent for a cell that takes none (a result recorded meanwhile): reload the page."""

    @property
    def valid(self) -> bool:
        return not self.errors and not self.stale


def parse_scores(data: Mapping[str, str], *, cells: Mapping[tuple[int, int], tuple[str, Assessment]]) -> ScoreGrid:
    """Non-empty score inputs of the grid: whole numbers from 0 to the assessment's maximum.

    ``cells`` are the open cells ((enrolment id, assessment id) → (call sign, assessment)) in grid
    order; a value sent for any other cell makes the grid ``stale``.
    """
    grid = ScoreGrid()
    sent: dict[tuple[int, int], str] = {}
    for name, raw in data.items():
        match = _SCORE_FIELD.match(name)
        if match is None or not str(raw).strip():
            continue
        key = (int(match.group(1)), int(match.group(2)))
        if key not in cells:
            grid.stale = True
            continue
        sent[key] = str(raw).strip()
    for key, (call_sign, assessment) in cells.items():  # grid order, so the error summary reads as the page does
        if key not in sent:
            continue
        raw = sent[key]
        name = score_field(*key)
        value = int(raw) if raw.isascii() and raw.isdigit() else None
        if value is None or value > assessment.max_score:
            grid.errors[name] = _(
                "%(call_sign)s, %(assessment)s: enter a whole number from 0 to %(max)d (not “%(value)s”)."
            ) % {"call_sign": call_sign, "assessment": assessment.name, "max": assessment.max_score, "value": raw[:10]}
        else:
            grid.scores[key] = value
    return grid
