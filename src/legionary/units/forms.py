"""Forms of the units pages: they validate input and render fields; saving is the services' job.

Must never: preselect a choice of an irreversible or consequential action (a status form offers
its choices with none chosen), or save anything itself.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from legionary.identity.models import PersonStatus
from legionary.units.services import LEAVES_BILLET, STATUS_TRANSITIONS


class StatusForm(forms.Form):
    """A status change of a serving person: the new status (none chosen), the day it took effect, why.

    Leaving service (discharged, deceased) cannot be undone: the view asks for confirmation on a
    page of its own (``needs_confirmation``) before the change is recorded.
    """

    status = forms.ChoiceField(
        label=gettext_lazy("New status"),
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose the new status.")},
    )
    effective_on = forms.DateField(
        label=gettext_lazy("Effective on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": gettext_lazy("Give the date the change took effect."),
            "invalid": gettext_lazy("Give the date the change took effect, like 2026-03-01."),
        },
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (name no one)"),
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": gettext_lazy("Write the reason (at least a few words)."),
            "min_length": gettext_lazy("Write the reason (at least a few words)."),
        },
    )

    def __init__(self, *args: Any, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(PersonStatus.choices)
        field = cast(forms.ChoiceField, self.fields["status"])
        # In the lifecycle's order (serving first, leaving service last), never preselected.
        field.choices = [(s, labels[s]) for s in PersonStatus.values if s in STATUS_TRANSITIONS.get(current, ())]

    def clean_effective_on(self) -> date:
        day: date = self.cleaned_data["effective_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(
                _("A status change cannot take effect in the future; give today's date or an earlier one.")
            )
        return day

    @property
    def needs_confirmation(self) -> bool:
        """Whether the chosen status ends the person's service (irreversible: confirmed on its own page)."""
        return self.is_valid() and self.cleaned_data["status"] in LEAVES_BILLET
