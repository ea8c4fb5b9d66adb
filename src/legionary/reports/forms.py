"""The filters of the reports pages: a legion, a period of received dates, and (for the people list) a status.

Responsible for reading filters from the query string into ``Period`` and ``PeopleFilter``. An
invalid filter is ignored (the page says so), never widened into something else. Must never
decide who sees what: scope comes from ``reports.selectors.scope_for_staff``.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from legionary.identity.models import PersonStatus
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.reports.selectors import PeopleFilter, Period


class PeriodForm(forms.Form):
    legion = forms.ChoiceField(label=_("Legion"), required=False)
    since = forms.DateField(label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Received until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["legion"]).choices = [("", _("All legions")), *KNOWN_LEGIONS.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The period ends before it starts; swap the two dates."))
        return data

    def period(self) -> Period:
        """The period asked for, or the whole history when the filters are not valid."""
        if not self.is_valid():
            return Period()
        data = self.cleaned_data
        return Period(legion=data.get("legion") or "", since=data.get("since"), until=data.get("until"))


class PeopleFilterForm(PeriodForm):
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = [("", _("Any status")), *PersonStatus.choices]

    def filters(self) -> PeopleFilter:
        status = self.cleaned_data.get("status") or "" if self.is_valid() else ""
        return PeopleFilter(period=self.period(), status=status)
