"""What waits for a unit commander (or anyone who fills billets) on "My work": people awaiting
assignment, vacant billets, and qualifications about to expire in his units.

Each function here is a selector: a fixed number of small queries whatever the number of people
(counts stop at ``selectors.COUNT_CAP``; each list shows its first ``SHOWN`` rows, oldest or
soonest first), narrowed through ``access.scopes``. Must never: read a sealed identity, or write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access.roles import Perm
from legionary.access.scopes import people_awaiting_assignment
from legionary.units import selectors
from legionary.units.models import BilletRole

SHOWN = 5


@dataclass(frozen=True)
class Item:
    """One line of work: what, where it is done, and when it is due (if it has a date)."""

    text: str
    href: str
    when: date | None = None
    overdue: bool = False
    isolated: str = ""
    """An applicant-supplied part of the line (a call sign), shown isolated (``<bdi>``) before ``text``."""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    count: int
    """Rows waiting (``COUNT_CAP + 1`` means "more than ``COUNT_CAP``")."""
    items: list[Item] = field(default_factory=list)
    more_href: str = ""
    empty: str = ""


def awaiting_assignment(staff: Any) -> Section:
    """Trained people of his units' legions not yet in a billet, longest waiting first (two queries)."""
    people = people_awaiting_assignment(staff).order_by("created_at", "id")
    shown = list(people.only("id", "call_sign", "created_at")[:SHOWN])
    return Section(
        key="awaiting-assignment",
        title=_("People awaiting assignment"),
        count=selectors.capped_count(people),
        items=[
            Item(
                text=_("trained, not yet in a billet"),
                href=reverse("units:person-assign", args=[p.pk]),
                isolated=p.call_sign,
            )
            for p in shown
        ],
        empty=_("Nobody is waiting for a billet."),
    )


def vacant(staff: Any) -> Section:
    """Vacant billets of his units, in tree order (two queries)."""
    billets = selectors.vacant_billets(staff=staff)
    shown = list(billets[:SHOWN])
    labels = {value: str(label) for value, label in BilletRole.choices}
    return Section(
        key="vacant-billets",
        title=_("Vacant billets"),
        count=selectors.capped_count(billets),
        items=[
            Item(
                text=_("%(role)s, %(unit)s") % {"role": labels.get(b.role, b.role), "unit": b.unit_name},
                href=reverse("units:unit", args=[b.unit_id]) + f"?vacant=1#billet-{b.id}",
            )
            for b in shown
        ],
        empty=_("Every billet is filled."),
    )


def expiring(staff: Any, *, today: date | None = None) -> Section:
    """Qualifications of people serving in his units that expire within 30 days, soonest first (two queries)."""
    today = today or timezone.localdate()
    grants = selectors.expiring_in_units(staff=staff, today=today)
    shown = list(grants[:SHOWN])
    return Section(
        key="expiring-qualifications",
        title=_("Qualifications expiring within %(days)d days") % {"days": selectors.EXPIRY_DAYS},
        count=selectors.capped_count(grants),
        items=[
            Item(
                text=_("%(qualification)s expires") % {"qualification": g.qualification.name},
                href=reverse("units:person", args=[g.person_id]),
                when=g.expires_on,
                overdue=g.expires_on is not None and (g.expires_on - today).days <= 7,
                isolated=g.person.call_sign,
            )
            for g in shown
        ],
        empty=_("No qualification expires in the next 30 days."),
    )


def commander_sections(staff: Any, *, perms: frozenset[Perm], today: date | None = None) -> list[Section]:
    """The commander's sections, for whoever holds the permissions they need (``perms``: the staff
    member's, from ``access.policy.request_permissions``)."""
    sections = []
    if Perm.ASSIGN_BILLETS in perms:
        sections += [awaiting_assignment(staff), vacant(staff)]
    if Perm.VIEW_UNITS in perms:
        sections.append(expiring(staff, today=today))
    return sections
