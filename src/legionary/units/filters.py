"""The filters of the people list (call sign or id, status, legion, unit) and of a unit's roster (vacant,
billet, holder's status)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from legionary.access.policy import request_staff
from legionary.access.roles import Perm
from legionary.access.scopes import units_visible_to
from legionary.filters import ListFilters, choice, legions_for, tick
from legionary.identity.models import PersonStatus
from legionary.units.models import BilletRole, UnitKind

UNIT_CHOICES = 200
"""At most this many units offered (legions, battalions and companies in scope, in tree order)."""
_OFFERED_KINDS = (UnitKind.LEGION, UnitKind.BATTALION, UnitKind.COMPANY)


class PeopleFilters(ListFilters):
    def build(self, request: HttpRequest) -> dict[str, forms.Field]:
        staff = request_staff(request)
        units = list(
            units_visible_to(staff)
            .filter(kind__in=_OFFERED_KINDS)
            .only("id", "name", "path", "kind")
            .order_by("path")[:UNIT_CHOICES]
        )
        top = min((u.depth for u in units), default=0)
        self.unit_paths = {str(u.pk): u.path for u in units}
        return {
            "q": forms.CharField(label=_("Call sign or id"), required=False, max_length=40),
            "status": choice(_("Status"), list(PersonStatus.choices), invalid=_("Choose a status from the list.")),
            "legion": choice(
                _("Legion"),
                legions_for(staff, Perm.VIEW_UNITS),
                invalid=_("Choose one of the legions you work on."),
            ),
            # Indented as text: the nesting must read without CSS (and a <select> takes none).
            "unit": choice(
                _("Unit"),
                [(str(u.pk), "\u00a0\u00a0" * (u.depth - top) + u.name) for u in units],
                invalid=_("Choose one of your units from the list."),
            ),
        }

    def unit_path(self) -> str | None:
        """The chosen unit's path (its subtree is the filter), None when no unit is chosen."""
        chosen = self.applied.get("unit")
        return self.unit_paths.get(chosen) if chosen else None


SERVING = (
    PersonStatus.ASSIGNED,
    PersonStatus.ACTIVE,
    PersonStatus.ON_LEAVE,
    PersonStatus.WOUNDED,
    PersonStatus.MISSING,
)
"""The statuses a billet's current holder can have (the others end or precede service)."""


class RosterFilters(ListFilters):
    def build(self, request: HttpRequest) -> dict[str, forms.Field]:
        labels = dict(PersonStatus.choices)
        return {
            "vacant": tick(_("Vacant billets only")),
            "role": choice(_("Billet"), list(BilletRole.choices), invalid=_("Choose a billet from the list.")),
            "status": choice(
                _("Holder's status"),
                [(status.value, labels[status]) for status in SERVING],
                invalid=_("Choose a status from the list."),
            ),
        }
