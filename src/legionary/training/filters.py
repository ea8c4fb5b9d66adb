"""The filters of the cohort list (``/training/``): legion, and lead instructor (me, or nobody yet)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from legionary.access.roles import Perm
from legionary.filters import ListFilters, choice, legions_for

ME, NOBODY = "me", "none"


class CohortFilters(ListFilters):
    def build(self, request: HttpRequest) -> dict[str, forms.Field]:
        return {
            "legion": choice(
                _("Legion"),
                legions_for(request.user, Perm.VIEW_TRAINING),
                invalid=_("Choose one of the legions you work on."),
            ),
            "lead": choice(
                _("Lead instructor"),
                [(ME, _("Me")), (NOBODY, _("Nobody yet"))],
                invalid=_("Choose the lead instructor from the list."),
                any_label=_("Anyone"),
            ),
        }
