"""The filters of the case list (``/cases/all/``): state, legion, assignee, overdue, flagged."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from legionary.access.roles import Perm
from legionary.filters import ListFilters, choice, legions_for, tick
from legionary.vetting.models import CaseState
from legionary.vetting.selectors import CaseFilter

ME, NOBODY = "me", "none"
STATE_INVALID = _("Choose a state from the list.")
LEGION_INVALID = _("Choose one of the legions you work on.")
ASSIGNEE_INVALID = _("Choose who the cases are assigned to from the list.")


class CaseFilters(ListFilters):
    def build(self, request: HttpRequest) -> dict[str, forms.Field]:
        return {
            "state": choice(_("State"), list(CaseState.choices), invalid=STATE_INVALID),
            "legion": choice(_("Legion"), legions_for(request.user, Perm.VIEW_CASES), invalid=LEGION_INVALID),
            "assignee": choice(
                _("Assigned to"),
                [(ME, _("Me")), (NOBODY, _("Nobody yet"))],
                invalid=ASSIGNEE_INVALID,
                any_label=_("Anyone"),
            ),
            "overdue": tick(_("With an overdue check")),
            "flagged": tick(_("Flagged by screening")),
        }

    def case_filter(self, viewer_id: int | None) -> CaseFilter:
        """What the selector narrows by (nothing from a form with errors: the view shows them instead)."""
        applied = self.applied
        assignee = applied.get("assignee", "")
        return CaseFilter(
            state=applied.get("state", ""),
            legion=applied.get("legion", ""),
            assignee=viewer_id if assignee == ME else None,
            unassigned=assignee == NOBODY,
            overdue=bool(applied.get("overdue")),
            flagged=bool(applied.get("flagged")),
        )
