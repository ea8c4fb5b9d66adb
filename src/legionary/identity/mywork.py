""" "My work" for break-glass openings (identity.openings; registry in legionary.access.mywork).

The security officer sees the requests waiting for his decision and the openings that went through
at once under an "alert" policy; the requester sees what was approved for him, to open once.
Reads only; people by call sign and pseudonymous id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access import mywork
from legionary.access.roles import Perm
from legionary.identity import openings
from legionary.identity.models import OpeningRequest
from legionary.identity.views import KIND_NAMES, _decidable

ALERTS_SINCE = timedelta(hours=24)


def _pending(who: mywork.Who) -> QuerySet[OpeningRequest]:
    return (
        OpeningRequest.objects.filter(_decidable(who.staff), state=openings.PENDING, expires_at__gt=timezone.now())
        .exclude(requester=who.staff)
        .select_related("person", "requester")
    )


def _request_item(r: OpeningRequest, detail: str, state_label: str, *, due: datetime | None = None) -> mywork.WorkItem:
    """A break-glass request on My work: what of whom, opening its review; ``detail`` names the
    requester (``%(who)s``)."""
    return mywork.WorkItem(
        label=_("%(kind)s of %(call_sign)s")
        % {"kind": KIND_NAMES.get(r.kind, r.kind), "call_sign": r.person.call_sign},
        url=reverse("openings:review", args=[r.pk]),
        detail=detail % {"who": r.requester.get_username()},
        since=r.created_at,
        due=due,
        state="flagged",
        state_label=state_label,
    )


@mywork.provider(key="openings-pending", perm=Perm.APPROVE_OPENING, nav="audit", order=5)
def pending_requests(who: mywork.Who) -> mywork.WorkSection | None:
    """Break-glass requests this security officer may decide, oldest first."""
    rows = list(_pending(who).order_by("created_at")[: mywork.LIMIT])
    items = [_request_item(r, _("requested by %(who)s"), _("Awaiting approval"), due=r.expires_at) for r in rows]
    return mywork.WorkSection(
        key="openings-pending",
        title=_("Break-glass requests awaiting your approval"),
        items=items,
        count=count_pending(who),
        queue_url=reverse("openings:list"),
        queue_text=_("All break-glass requests"),
        empty_text=_("No break-glass request waits."),
    )


@pending_requests.counter
def count_pending(who: mywork.Who) -> int:
    return int(_pending(who).count())


@mywork.provider(key="openings-alerts", perm=Perm.APPROVE_OPENING, order=6)
def break_glass_alerts(who: mywork.Who) -> mywork.WorkSection | None:
    """Openings outside assignments that went through at once (the legion's "alert" policy)."""
    since = timezone.now() - ALERTS_SINCE
    found = OpeningRequest.objects.filter(_decidable(who.staff), state=openings.IMMEDIATE, created_at__gte=since)
    rows = list(found.select_related("person", "requester").order_by("-created_at")[: mywork.LIMIT])
    if not rows:
        return None
    items = [_request_item(r, _("opened at once by %(who)s"), _("Break-glass")) for r in rows]
    return mywork.WorkSection(
        key="openings-alerts",
        title=_("Break-glass openings in the last 24 hours"),
        items=items,
        count=found.count(),
        queue_url=reverse("openings:list"),
        queue_text=_("All break-glass requests"),
    )


def _approved_for(who: mywork.Who) -> QuerySet[OpeningRequest]:
    return OpeningRequest.objects.filter(
        requester=who.staff, state=openings.APPROVED, expires_at__gt=timezone.now()
    ).select_related("person")


@mywork.provider(key="openings-approved", perm=Perm.VIEW_DASHBOARD, order=4)
def approved_for_me(who: mywork.Who) -> mywork.WorkSection | None:
    """Openings a security officer approved for this person: each good for one opening."""
    rows = list(_approved_for(who).order_by("expires_at")[: mywork.LIMIT])
    if not rows:
        return None
    items = [
        mywork.WorkItem(
            label=_("%(kind)s of %(call_sign)s")
            % {"kind": KIND_NAMES.get(r.kind, r.kind), "call_sign": r.person.call_sign},
            url=reverse("openings:held", args=[r.pk]),
            detail=_("approved; open it once before it expires"),
            since=r.decided_at,
            due=r.expires_at,
            state="new",
            state_label=_("Approved"),
        )
        for r in rows
    ]
    return mywork.WorkSection(key="openings-approved", title=_("Approved openings"), items=items, count=len(rows))


# The openings monitor's section lives beside the monitor (registered on import).
from legionary.identity import monitor_mywork  # noqa: E402, F401
