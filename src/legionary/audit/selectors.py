"""Reads of the audit log for the viewer: filtered pages of entries and of checkpoints.

Pages are keyset-paginated, newest first (``before`` = the first index or size *not* to show
again): no OFFSET and no COUNT(*), so a page costs the same at entry 10 and at entry 10 million.
Must never write, and never return entry bodies in lists (a body is shown on its own page only,
where reading it is recorded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from legionary.audit.models import Checkpoint, Entry

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    rows: Sequence[Mapping[str, object]]
    next_before: int | None
    """Pass as ``before`` to get the next (older) page; None on the last page."""


def entries_page(
    *,
    actor: str = "",
    subject: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """Entries matching every given filter, newest first. An action ending in '.' is a prefix."""
    entries = Entry.objects.all()
    if actor:
        entries = entries.filter(actor=actor)
    if subject:
        entries = entries.filter(subject=subject)
    if action:
        entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    if before is not None:
        entries = entries.filter(index__lt=before)
    rows = list(entries.order_by("-index").values("index", "created_at", "actor", "action", "subject")[: limit + 1])
    if len(rows) > limit:
        return Page(rows[:limit], rows[limit - 1]["index"])
    return Page(rows, None)


def checkpoints_page(*, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """Signed checkpoints, newest first, keyset-paginated on their size."""
    checkpoints = Checkpoint.objects.all()
    if before is not None:
        checkpoints = checkpoints.filter(size__lt=before)
    rows = list(checkpoints.order_by("-size").values("size", "note", "created_at")[: limit + 1])
    if len(rows) > limit:
        return Page(rows[:limit], rows[limit - 1]["size"])
    return Page(rows, None)
