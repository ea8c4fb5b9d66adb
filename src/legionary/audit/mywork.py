""" "My work" for the security officer and the auditor: recent openings of sealed data, and whether
the audit log's signed checkpoints are keeping up (see legionary.access.mywork for the registry).

Reads only. Openings are listed as the audit log holds them (who, what kind, which pseudonymous
person, when), never with the reason or any identity; showing them is itself recorded as a view of
the log (``WorkSection.audit_action``).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from legionary.access import mywork
from legionary.access.roles import Perm
from legionary.audit.models import Checkpoint, Entry, LogHead

# What counts as opening sealed data, and how each reads in a sentence.
OPENINGS = {
    "identity.unsealed": gettext_lazy("Identity opened"),
    "record.unsealed": gettext_lazy("Sealed record opened"),
    "document.unsealed": gettext_lazy("Document opened"),
}
# Openings newer than this are counted on the navigation badge.
RECENT = timedelta(hours=24)


@mywork.provider(key="audit-openings", perm=Perm.VIEW_AUDIT_LOG, nav="audit", order=80)
def recent_openings(who: mywork.Who) -> mywork.WorkSection:
    """The newest openings of sealed data (identity, records, documents), newest first."""
    rows = list(
        Entry.objects.filter(action__in=list(OPENINGS))
        .order_by("-index")
        .values("index", "created_at", "actor", "action", "subject")[: mywork.LIMIT]
    )
    since = timezone.now() - RECENT
    items = [
        mywork.WorkItem(
            label=str(OPENINGS[row["action"]]),
            url=reverse("audit:entry", args=[row["index"]]),
            detail=_("by %(actor)s, person %(person)s") % {"actor": row["actor"], "person": row["subject"]},
            since=row["created_at"],
            state="new" if row["created_at"] >= since else "",
            state_label=_("Last 24 hours") if row["created_at"] >= since else "",
        )
        for row in rows
    ]
    return mywork.WorkSection(
        key="audit-openings",
        title=_("Recent openings of sealed data"),
        items=items,
        count=count_recent_openings(who),
        queue_url=reverse("audit:entries") + "?" + urlencode({"action": "identity.unsealed"}),
        queue_text=_("All identity openings in the audit log"),
        empty_text=_("No sealed data has been opened."),
        audit_action="audit.log_viewed",
    )


@recent_openings.counter
def count_recent_openings(who: mywork.Who) -> int:
    since = timezone.now() - RECENT
    return Entry.objects.filter(action__in=list(OPENINGS), created_at__gte=since).count()


@mywork.provider(key="audit-checkpoints", perm=Perm.VIEW_AUDIT_LOG, order=81)
def checkpoint_status(who: mywork.Who) -> mywork.WorkSection:
    """Whether the newest signed checkpoint covers the log, or is overdue (settings'
    LEGIONARY_CHECKPOINT_EVERY_ENTRIES / _MINUTES)."""
    head = LogHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0
    latest = Checkpoint.objects.order_by("-size").values("size", "created_at").first()
    now = timezone.now()
    url = reverse("audit:checkpoints")
    if latest is None:
        item = mywork.WorkItem(
            label=_("No checkpoint signed yet"),
            url=url,
            detail=_("%(n)s entries in the log") % {"n": head},
            state="overdue" if head else "",
            state_label=_("Overdue") if head else "",
            overdue=bool(head),
        )
    else:
        behind = head - latest["size"]
        age = now - latest["created_at"]
        overdue = behind > 0 and (
            behind >= settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES
            or age >= timedelta(minutes=settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES)
        )
        item = mywork.WorkItem(
            label=_("Latest checkpoint: %(size)s entries") % {"size": latest["size"]},
            url=url,
            detail=_("%(behind)s entries since; the log holds %(size)s") % {"behind": behind, "size": head},
            since=latest["created_at"],
            state="overdue" if overdue else "done",
            state_label=_("Overdue") if overdue else (_("Not due yet") if behind else _("Up to date")),
            overdue=overdue,
        )
    return mywork.WorkSection(
        key="audit-checkpoints",
        title=_("Audit log checkpoints"),
        items=[item],
        queue_url=url,
        queue_text=_("All signed checkpoints"),
    )
