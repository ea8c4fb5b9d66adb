""" "My work": what waits for this staff member, gathered from every domain by one view.

Each domain registers a *provider* in its own module ``legionary/<app>/mywork.py`` (found at start-up
by ``autodiscover``, like Django's admin modules)::

    from legionary.access import mywork
    from legionary.access.memo import remembering
from legionary.access.roles import Perm

    @mywork.provider(key="intake-new", perm=Perm.VIEW_INTAKE_QUEUE, nav="intake")
    def new_applications(who: mywork.Who) -> mywork.WorkSection: ...

    @new_applications.counter
    def count_new_applications(who: mywork.Who) -> int: ...

A provider is a selector: it reads, never writes, and returns one ``WorkSection`` (or None when it
has nothing to say to this person), its items oldest and overdue first, at most ``LIMIT`` of them,
each with a link; the section links to the full, filtered queue. Its optional *counter* answers "how
many wait" cheaply (one COUNT) for the badge on the navigation item ``nav``; counts are cached per
person for ``COUNT_SECONDS`` so that no page pays for them more than once a minute. A provider runs
only for staff holding its ``perm``; need-to-know inside it (scopes) is the provider's own job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from legionary.access.memo import remembering
from legionary.access.roles import Perm

if TYPE_CHECKING:
    from legionary.access.models import Staff

log = logging.getLogger(__name__)

# Items shown per section; the section's queue link leads to the rest.
LIMIT = 10
# How long a navigation badge's count may be reused (seconds).
COUNT_SECONDS = 60


@dataclass(frozen=True)
class Who:
    """The person asking: the account and what its roles allow."""

    staff: Staff
    perms: frozenset[Perm]

    @property
    def username(self) -> str:
        return str(self.staff.get_username())


@dataclass(frozen=True)
class WorkItem:
    """One thing waiting. ``label`` is shown as the link text; applicant-supplied text is isolated by
    the template. ``state`` is one of our state codes (components/tag.html colours it)."""

    label: str
    url: str
    state: str = ""
    state_label: str = ""
    detail: str = ""
    since: datetime | None = None  # waiting since (shown, and the order: oldest first)
    due: date | datetime | None = None
    overdue: bool = False


@dataclass(frozen=True)
class WorkSection:
    key: str
    title: str
    items: Sequence[WorkItem]
    count: int | None = None  # how many wait in all (the items may be only the first LIMIT)
    queue_url: str = ""  # the full list, filtered for this person
    queue_text: str = ""
    empty_text: str = ""
    # Set when showing the section reads the audit log: the view records this action first.
    audit_action: str = ""

    @property
    def has_due(self) -> bool:
        """Whether any item has a due date (the page leaves the column out otherwise)."""
        return any(item.due is not None for item in self.items)


Provide = Callable[[Who], "WorkSection | None"]
Count = Callable[[Who], int]


@dataclass
class Provider:
    key: str
    perm: Perm
    nav: str
    provide: Provide
    count: Count | None = None
    order: int = 100

    def counter(self, count: Count) -> Count:
        """Decorator: registers the cheap count for the navigation badge."""
        self.count = count
        return count


_PROVIDERS: dict[str, Provider] = {}
_discovered = False


def provider(*, key: str, perm: Perm, nav: str = "", order: int = 100) -> Callable[[Provide], Provider]:
    """Registers a "My work" section. ``key`` is unique; ``nav`` is the staff navigation item whose
    badge shows the count (a key of ``access.views.DASHBOARD_SECTIONS``, or "" for none); lower
    ``order`` comes first on the page."""

    def register(provide: Provide) -> Provider:
        if key in _PROVIDERS and _PROVIDERS[key].provide is not provide:
            raise ValueError(f"a My work provider named {key!r} is already registered")
        entry = Provider(key=key, perm=perm, nav=nav, provide=provide, order=order)
        _PROVIDERS[key] = entry
        return entry

    return register


def providers() -> list[Provider]:
    global _discovered
    if not _discovered:
        autodiscover_modules("mywork")
        _discovered = True
    return sorted(_PROVIDERS.values(), key=lambda p: (p.order, p.key))


def sections_for(who: Who) -> list[WorkSection]:
    """Every section open to this person that has something to say, in page order.

    Only the providers of his permissions run; what they share (his grants, his cohorts) is read
    once (``memo.remembering``). The navigation counts are taken from the sections just gathered
    (each counted provider's section carries its count), so the page that shows them all does
    not count them again."""
    out = []
    counts: dict[str, int] = {}
    counted_all = True
    with remembering():
        for entry in providers():
            if entry.perm not in who.perms:
                continue
            section = entry.provide(who)
            if section is not None:
                out.append(section)
            if entry.count is None or not entry.nav:
                continue
            if section is not None and section.count is None:
                counted_all = False
            elif section is not None:
                counts[entry.nav] = counts.get(entry.nav, 0) + int(section.count or 0)
            else:  # nothing to say is nothing waiting, as far as the badge is concerned
                counts.setdefault(entry.nav, 0)
    if counted_all:
        cache.set(_counts_key(who.staff.pk), counts, COUNT_SECONDS)
    return out


def _counts_key(staff_pk: object) -> str:
    return f"legionary:mywork-counts:{staff_pk}"


def nav_counts(who: Who) -> dict[str, int]:
    """Navigation key → how many items wait for this person there (cached for ``COUNT_SECONDS``)."""
    cache_key = _counts_key(who.staff.pk)
    cached = cache.get(cache_key)
    if isinstance(cached, dict):
        return cached
    counts: dict[str, int] = {}
    with remembering():
        for entry in providers():
            if entry.count is None or not entry.nav or entry.perm not in who.perms:
                continue
            counts[entry.nav] = counts.get(entry.nav, 0) + entry.count(who)
    cache.set(cache_key, counts, COUNT_SECONDS)
    return counts


def forget_counts(staff_pk: object) -> None:
    """Drops a person's cached counts (after a write that changes what waits for him)."""
    cache.delete(_counts_key(staff_pk))


def oldest_first(items: Sequence[WorkItem]) -> list[WorkItem]:
    """Overdue first, then by due date, then by how long they have waited (oldest first)."""
    far = timezone.now().replace(year=9999)

    def key(item: WorkItem) -> tuple[int, datetime, datetime]:
        due = item.due
        if isinstance(due, date) and not isinstance(due, datetime):
            due = datetime.combine(due, datetime.min.time(), tzinfo=far.tzinfo)
        return (0 if item.overdue else 1, due or far, item.since or far)

    return sorted(items, key=key)
