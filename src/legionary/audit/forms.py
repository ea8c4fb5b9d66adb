"""The audit viewer's filter form: validates what the query string may ask for."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from legionary.audit.services import ACTION_MAX, ACTOR_MAX, SUBJECT_MAX


class EntryFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), max_length=ACTOR_MAX, required=False)
    subject = forms.CharField(label=_("Person id"), max_length=SUBJECT_MAX, required=False)
    action = forms.CharField(
        label=_("Action"),
        max_length=ACTION_MAX,
        required=False,
        help_text=_("Exact, or a prefix ending in a dot, such as identity."),
    )
    since = forms.DateTimeField(label=_("From (UTC)"), required=False)
    until = forms.DateTimeField(label=_("Until (UTC)"), required=False)
    before = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            raise forms.ValidationError(_("The start of the time range must come before its end."))
        return data

    def filters_used(self) -> dict[str, str | int | None]:
        """The filters as recorded in the audit entry of this page view (plain values only)."""
        data = self.cleaned_data
        return {
            "actor": data["actor"] or None,
            "subject": data["subject"] or None,
            "action": data["action"] or None,
            "since": data["since"].isoformat() if data["since"] else None,
            "until": data["until"].isoformat() if data["until"] else None,
            "before": data["before"],
        }
