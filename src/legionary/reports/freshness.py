"""Keeping the dashboard's figures fresh without a timer: the running service refreshes its own rollup.

Responsible for deciding whether the newest rollup (``reports.rollup``) is behind the records, for
starting a refresh when it is, and for telling the page how fresh its figures are. "Behind" means
changes were recorded after the rollup started counting: every change is an audit entry, so the
entries after the size the rollup saw when it started (``Rollup.log_size``) are read, one range of
the log's key, and those whose action may change a figure are counted (``NO_FIGURES``: openings,
sign-ins, exports... do not). Reading the figures themselves is left to ``reports.selectors``.

A refresh started here is a catch-up (``rollup.catch_up``: only the days received of the people
the changes name are counted again, in place), or a whole recount when the log cannot tell what
changed (``bring_up_to_date``).

When the rollup is behind and no refresh is under way, one is started:

* at once when the last refresh took less than ``LEGIONARY_REPORT_QUICK_SECONDS`` (a small or
  mid-sized instance: the figures follow each change within seconds); after a write, though, not
  before ``QUICK_SPACING`` times the last refresh's duration has passed since it started, so that
  a stream of writes (a surge of applications) cannot keep refreshes running back to back: they
  then take at most a tenth of the time (a write too soon is looked at again by a timer of the
  process once the spacing has passed; a dashboard being read still starts one at once);
* otherwise once the figures are older than ``LEGIONARY_REPORT_MAX_AGE_MINUTES`` (a large
  instance, where a refresh costs a minute of one core: at most one per that many minutes).

Checked when the dashboard is read and after every successful write request
(``RefreshAfterWritesMiddleware``; serving in ``background`` mode, a process checks after writes at
most once per ``CHECK_EVERY_SECONDS``, not three queries per write), so a newcomer's ``make run``
keeps fresh figures with nothing to set up. ``LEGIONARY_REPORT_AUTO_REFRESH``: ``background`` (a
daemon thread of the serving process, the default), ``inline`` (in the request; tests) or ``off``
(leave it to ``legionary report refresh`` from a timer). Several processes may check at once;
an unfinished rollup started recently counts as a refresh under way, and two refreshes at once
only waste work (see ``reports.rollup``).

Must never: hold a request waiting for a refresh in ``background`` mode, or raise into a request
because a refresh failed (it is logged; the previous rollup stays in use).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from legionary.audit.models import Entry, LogHead
from legionary.reports.models import Rollup

log = logging.getLogger(__name__)

# An unfinished rollup younger than this many times the last refresh's duration (and at least
# RUNNING_AT_LEAST) is a refresh under way; an older one was interrupted and is ignored.
RUNNING_FACTOR = 3
RUNNING_AT_LEAST = datetime.timedelta(minutes=2)
# After a write, a quick refresh starts only once this many times its last duration has passed
# since the last one started: refreshing then takes at most a tenth of the time, however fast the
# writes come (measured: during a stream of applications on a small instance, refreshes run back to
# back took a quarter of a serving worker's samples and most of PostgreSQL's CPU; docs/benchmarks.md,
# "A surge of applicants").
QUICK_SPACING = 10
# Serving in background mode, a process checks the freshness after writes at most this often.
CHECK_EVERY_SECONDS = 1.0
# A current rollup with this many entries after it that change no figure (openings, sign-ins) is moved
# past them, so that counting the changes behind it stays a short read.
MOVE_PAST_AFTER = 1000


@dataclass(frozen=True)
class Freshness:
    """How the newest finished rollup stands against the records."""

    as_of: datetime.datetime | None
    """When the newest finished rollup started counting (its figures are as of then); None: none yet."""
    behind: int
    """Changes (audit entries) recorded since then; 0: the figures are current."""
    refreshing: bool
    """A refresh is under way (started by this or another process)."""
    last_seconds: float = 0.0
    """How long the newest finished (whole) refresh took."""
    unseen: int = 0
    """Audit entries since the rollup, whether they change a figure or not (``behind`` counts those that may)."""

    @property
    def current(self) -> bool:
        return self.as_of is not None and self.behind == 0


def log_size() -> int:
    """The audit log's size: one more with every change recorded anywhere."""
    return LogHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0


# Audit actions that change no figure of the dashboard: openings of sealed data and their requests,
# signing in, staff accounts, reading the log, exports and prints, backups, key rotations. An entry of
# any other action (including any added later) counts as a change; so a stream of openings, the
# commonest write of a vetting day, does not make the figures behind nor start a recount.
NO_FIGURES = frozenset(
    {
        "identity.unsealed",
        "record.unsealed",
        "document.unsealed",
        "opening.requested",
        "opening.approved",
        "opening.refused",
        "opening.expired",
        "opening.break_glass",
        "openings.monitor_viewed",
        "openings.summary_exported",
        "login.success",
        "login.failure",
        "login.logout",
        "login.enrolment_started",
        "stepup.verified",
        "stepup.failed",
        "stepup.signed_out",
        "staff.created",
        "staff.granted",
        "staff.password_reset",
        "staff.second_factor_enrolled",
        "staff.unlocked",
        "audit.log_viewed",
        "audit.entry_viewed",
        "audit.checkpoints_viewed",
        "reports.exported",
        "reports.exact_printed",
        "units.roster_exported",
        "training.gradebook_exported",
        "backup.created",
        "keys.kek_rotated",
        "keys.index_rotated",
    }
)
# Counting the changes behind a rollup reads at most this many entries (the page says "N changes").
CHANGES_COUNTED_UP_TO = 10_000


def changes_since(size: int, upto: int) -> int:
    """Entries ``size`` to ``upto`` (exclusive) whose action may change a figure (not ``NO_FIGURES``), up to
    ``CHANGES_COUNTED_UP_TO``: one range of the log's key."""
    found = Entry.objects.filter(index__gte=size, index__lt=upto).exclude(action__in=NO_FIGURES)
    return found[:CHANGES_COUNTED_UP_TO].count()


def freshness(*, now: datetime.datetime | None = None) -> Freshness:
    """Three small queries: the newest finished rollup, the log's size, an unfinished rollup under way."""
    now = now or timezone.now()
    newest = (
        Rollup.objects.filter(finished_at__isnull=False)
        .order_by("-pk")
        .values_list("started_at", "log_size", "seconds")
        .first()
    )
    size = log_size()
    last_seconds = newest[2] if newest else 0.0
    running_for = max(RUNNING_AT_LEAST, datetime.timedelta(seconds=RUNNING_FACTOR * last_seconds))
    under_way = Rollup.objects.filter(finished_at__isnull=True, started_at__gte=now - running_for)
    if newest is not None:
        under_way = under_way.filter(started_at__gt=newest[0])
    return Freshness(
        as_of=newest[0] if newest else None,
        behind=changes_since(newest[1], size) if newest else size,
        refreshing=under_way.exists(),
        last_seconds=last_seconds,
        unseen=max(0, size - newest[1]) if newest else size,
    )


def refresh_due(state: Freshness, *, now: datetime.datetime, after_write: bool = False) -> bool:
    """Whether a refresh should start now (see the module's docstring); ``after_write``: the check
    follows a write request rather than a reader of the dashboard (quick refreshes are spaced)."""
    if state.refreshing:
        return False
    if state.as_of is None:
        return True
    if state.behind == 0:
        # Nothing that changes a figure; past this many such entries, the rollup is moved past them
        # (a catch-up that counts nothing), so that the check keeps reading a short range of the log.
        return state.unseen >= MOVE_PAST_AFTER
    age = now - state.as_of
    quick = state.last_seconds < settings.LEGIONARY_REPORT_QUICK_SECONDS
    if quick and after_write:
        quick = age >= datetime.timedelta(seconds=QUICK_SPACING * state.last_seconds)
    old = age >= datetime.timedelta(minutes=settings.LEGIONARY_REPORT_MAX_AGE_MINUTES)
    return quick or old


_starting = threading.Lock()
_running: threading.Thread | None = None


def bring_up_to_date() -> None:
    """Counts again only what changed since the newest rollup (``rollup.catch_up``), or everything when
    that cannot be told (no rollup yet, a bulk change, too many days touched: ``rollup.refresh``)."""
    from legionary.reports.rollup import RollupMismatch, catch_up, refresh

    try:
        caught = catch_up()
    except RollupMismatch:
        log.exception("the reports rollup disagreed with itself; counting everything again")
        caught = None
    if caught is None:
        refresh()


def _refresh_in_thread() -> None:
    try:
        bring_up_to_date()
    except Exception:  # a failed refresh must not kill the worker; the previous rollup stays in use
        log.exception("the background refresh of the reports rollup failed")
    finally:
        connections.close_all()


_deferred: threading.Timer | None = None


def _deferred_check() -> None:
    try:
        maybe_refresh(after_write=True)
    except Exception:  # a timer thread's failure must not go unnoticed, nor kill the worker
        log.exception("checking the reports rollup's freshness failed")
    finally:
        connections.close_all()


def check_soon(seconds: float) -> None:
    """Checks after writes again in a timer thread of this process in ``seconds`` (unless one is
    pending already), so that the figures still follow the last write of a burst within seconds."""
    global _deferred
    with _starting:
        if _deferred is not None and _deferred.is_alive():
            return
        _deferred = threading.Timer(max(0.0, seconds), _deferred_check)
        _deferred.name = "reports-refresh-check"
        _deferred.daemon = True
        _deferred.start()


def _check_later(state: Freshness, *, now: datetime.datetime) -> None:
    """A write found the rollup behind but no refresh due: the last quick one too recent
    (``QUICK_SPACING``), or one under way; checks again once the spacing has passed, or soon."""
    if state.refreshing:
        # The refresh under way does not count what was written after it started: look again.
        check_soon(max(CHECK_EVERY_SECONDS, state.last_seconds))
        return
    if state.current or state.as_of is None:
        return
    if state.last_seconds >= settings.LEGIONARY_REPORT_QUICK_SECONDS:
        return  # a slow refresh: the maximum age decides, on a later write or reader
    due = state.as_of + datetime.timedelta(seconds=QUICK_SPACING * state.last_seconds)
    check_soon((due - now).total_seconds() + 0.01)


def maybe_refresh(
    *, now: datetime.datetime | None = None, runner: Callable[[], None] | None = None, after_write: bool = False
) -> Freshness:
    """Starts a refresh if one is due (by ``LEGIONARY_REPORT_AUTO_REFRESH``); returns the freshness as
    the page should tell it (``refreshing`` set when one was just started). ``after_write``: called
    after a write request (``refresh_due``)."""
    global _running
    now = now or timezone.now()
    state = freshness(now=now)
    mode = settings.LEGIONARY_REPORT_AUTO_REFRESH
    if mode == "off" or not refresh_due(state, now=now, after_write=after_write):
        if mode == "background" and after_write:
            _check_later(state, now=now)
        return state
    if mode == "inline":
        bring_up_to_date()
        return freshness()
    with _starting:
        if _running is not None and _running.is_alive():
            return dataclasses.replace(state, refreshing=True)
        _running = threading.Thread(target=runner or _refresh_in_thread, name="reports-refresh", daemon=True)
        _running.start()
    return dataclasses.replace(state, refreshing=True)


class RefreshAfterWritesMiddleware:
    """After a write request that succeeded (anything but GET/HEAD/OPTIONS, answered below 400), checks
    whether the dashboard's figures should be refreshed: the refresh follows the writes, not the next
    viewer of the dashboard. In ``background`` mode a process checks at most once per
    ``CHECK_EVERY_SECONDS`` (a refresh then starts at most that much later)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.next_check = 0.0  # time.monotonic() before which this process does not check again

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        mode = settings.LEGIONARY_REPORT_AUTO_REFRESH
        if request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400 and mode != "off":
            if mode == "background":
                now = time.monotonic()
                if now < self.next_check:
                    check_soon(self.next_check - now)  # no query now; this write is looked at then
                    return response
                self.next_check = now + CHECK_EVERY_SECONDS
            try:
                maybe_refresh(after_write=True)
            except Exception:  # the write succeeded; a failed check must not turn it into an error page
                log.exception("checking the reports rollup's freshness failed")
        return response
