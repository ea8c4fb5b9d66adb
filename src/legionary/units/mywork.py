"""What waits for a unit commander (or anyone who fills billets) on "My work": people awaiting
assignment, vacant billets, and qualifications about to expire in his units.

Providers of ``access.mywork``: each is a selector of a fixed number of small queries whatever the
number of people (counts stop at ``selectors.COUNT_CAP``; each list shows its first
``mywork.LIMIT`` rows, oldest or soonest first), narrowed through ``access.scopes``. Must never:
read a sealed identity, or write.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access import mywork
from legionary.access.roles import Perm
from legionary.access.scopes import people_awaiting_assignment
from legionary.training.names import shown
from legionary.units import selectors
from legionary.units.models import BilletRole

SOON_DAYS = 7
"""A qualification expiring within this many days is shown as overdue for renewal."""


@mywork.provider(key="units-awaiting-assignment", perm=Perm.ASSIGN_BILLETS, nav="units", order=60)
def awaiting_assignment(who: mywork.Who) -> mywork.WorkSection:
    """Trained people of his units' legions not yet in a billet, longest waiting first (two queries)."""
    people = people_awaiting_assignment(who.staff).order_by("created_at", "id")
    rows = list(people.only("id", "call_sign", "created_at")[: mywork.LIMIT])
    items = [
        mywork.WorkItem(
            label=p.call_sign,
            url=reverse("units:person-assign", args=[p.pk]),
            state="trained",
            state_label=_("trained, not yet in a billet"),
            since=p.created_at,
        )
        for p in rows
    ]
    return mywork.WorkSection(
        key="units-awaiting-assignment",
        title=_("People awaiting assignment"),
        items=items,
        count=selectors.capped_count(people),
        empty_text=_("Nobody is waiting for a billet."),
    )


@awaiting_assignment.counter
def count_awaiting_assignment(who: mywork.Who) -> int:
    return selectors.capped_count(people_awaiting_assignment(who.staff))


@mywork.provider(key="units-vacant-billets", perm=Perm.ASSIGN_BILLETS, nav="units", order=61)
def vacant_billets(who: mywork.Who) -> mywork.WorkSection:
    """Vacant billets of his units, in tree order (two queries)."""
    billets = selectors.vacant_billets(staff=who.staff)
    labels = {value: str(label) for value, label in BilletRole.choices}
    items = [
        mywork.WorkItem(
            label=_("%(role)s, %(unit)s") % {"role": labels.get(b.role, b.role), "unit": b.unit_name},
            url=reverse("units:unit", args=[b.unit_id]) + f"?vacant=1#billet-{b.id}",
            state="vacant",
            state_label=_("vacant"),
        )
        for b in billets[: mywork.LIMIT]
    ]
    return mywork.WorkSection(
        key="units-vacant-billets",
        title=_("Vacant billets"),
        items=items,
        count=selectors.capped_count(billets),
        empty_text=_("Every billet is filled."),
    )


@mywork.provider(key="units-expiring-qualifications", perm=Perm.VIEW_UNITS, nav="units", order=62)
def expiring_qualifications(who: mywork.Who, *, today: date | None = None) -> mywork.WorkSection:
    """Qualifications of people serving in his units that expire within 30 days, soonest first (two queries)."""
    today = today or timezone.localdate()
    grants = selectors.expiring_in_units(staff=who.staff, today=today)
    items = [
        mywork.WorkItem(
            label=g.person.call_sign,
            url=reverse("units:person", args=[g.person_id]),
            state="expiring",
            state_label=_("expires"),
            detail=shown(g.qualification.name),
            due=g.expires_on,
            overdue=g.expires_on is not None and (g.expires_on - today).days <= SOON_DAYS,
        )
        for g in grants[: mywork.LIMIT]
    ]
    return mywork.WorkSection(
        key="units-expiring-qualifications",
        title=_("Qualifications expiring within %(days)d days") % {"days": selectors.EXPIRY_DAYS},
        items=items,
        count=selectors.capped_count(grants),
        empty_text=_("No qualification expires in the next 30 days."),
    )
