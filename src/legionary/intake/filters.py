"""The filters of the intake queue (``/intake/``): legion, and possible matches only."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from legionary.access.roles import Perm
from legionary.filters import ListFilters, choice, legions_for, tick


class QueueFilters(ListFilters):
    def build(self, request: HttpRequest) -> dict[str, forms.Field]:
        return {
            "legion": choice(
                _("Legion"),
                legions_for(request.user, Perm.VIEW_INTAKE_QUEUE),
                invalid=_("Choose one of the legions you work on."),
            ),
            "flagged": tick(_("Possible matches only")),
        }
