""" "My work" for the openings monitor (registry in legionary.access.mywork; imported by
``identity.mywork`` so that autodiscovery finds it).

The security officer (and the auditor, who may read the monitor) sees today's summary in his
legions: how many openings, and how many unusual items wait on the monitor, linking to it. Figures
only: no account, person or reason is shown here. Reads only (four aggregate queries).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from legionary.access import mywork
from legionary.access.roles import Perm
from legionary.identity import monitor


@mywork.provider(key="openings-monitor", perm=Perm.VIEW_AUDIT_LOG, order=7)
def todays_openings(who: mywork.Who) -> mywork.WorkSection:
    """Today's daily summary of the openings monitor, with the count of unusual items."""
    hours = monitor.working_hours()
    period = monitor.period_of(choice=monitor.TODAY, zone=hours.zone)
    day = monitor.daily_summary(period=period, scope=monitor.scope_of(who.staff), hours=hours)[0]
    label = (
        ngettext("Today: %(n)s opening", "Today: %(n)s openings", day.openings) % {"n": day.openings}
        + "; "
        + ngettext("%(n)s unusual item", "%(n)s unusual items", day.unusual) % {"n": day.unusual}
    )
    detail = _(
        "outside working hours: %(ooh)s · of people not assigned: %(unassigned)s · break-glass requests: "
        "%(requests)s · people opened by more than %(limit)s staff: %(crowded)s"
    ) % {
        "ooh": day.out_of_hours,
        "unassigned": day.unassigned,
        "requests": day.requests,
        "crowded": day.crowded,
        "limit": monitor.distinct_staff_limit(),
    }
    item = mywork.WorkItem(
        label=label,
        url=reverse("openings:monitor"),
        detail=detail,
        state="flagged" if day.unusual else "done",
        state_label=_("Look at them") if day.unusual else _("Nothing unusual"),
    )
    return mywork.WorkSection(
        key="openings-monitor",
        title=_("Openings today"),
        items=[item],
        queue_url=reverse("openings:monitor") + "?period=7d",
        queue_text=_("The openings monitor, last 7 days"),
    )
