"""The reports rollup: the dashboard's figures pre-counted, so that a page costs the same at 10k and 1M people.

Responsible for ``refresh`` (run by ``legionary report refresh``, from a systemd timer or cron)
and for reading a dashboard from the newest finished rollup (``dashboard``, called by
``selectors.pipeline_dashboard`` for scopes that are whole legions or the whole system).

Why a rollup, and this one
--------------------------
Counted live, the dashboard reads every person in scope: "time in each stage" streams one row
per person with five correlated subqueries, and the funnel, flags, denials, overdue checks,
cohorts and unit strength are GROUP BY queries over all of them. At a million people that is
tens of seconds per page. The viewers with the largest scopes (the whole system, whole legions)
see the same few numbers again and again, so those numbers are counted once per refresh instead.

The rollup keeps what every figure is made of, by the keys a viewer can select on, and nothing
finer:

* **per legion** (the person's): a whole-legions scope, and the period's legion, select legions;
* **per received day, and again summed per month** (``Grain``): the period selects days, so a
  period is read as its whole months from month rows plus its first and last partial months from
  day rows (at most two months of day rows). Rows are bounded by legions × days × keys, not by
  people: once the keys fill up (~100k people in the scale fixture), more people add no rows.
  The histograms, the largest table, are also kept summed over each legion's whole history and
  over all legions per month, so that the page without dates (the one most opened) reads a few
  thousand rows per query.
* **funnel**: people per status (reached and at-stage counts are both functions of the status,
  summed with the same ``REACHED``/``AT_NOW`` conditions as the live query);
* **time in each stage**: a histogram of days in **tenths of a day** per stage. A median or 90th
  percentile is read from it by the same rank interpolation as the live figure, each value taken
  at its bucket's middle, so it is **within 0.05 day** of the exact figure (the page shows one
  decimal, so the last digit may differ by one). Exact values would mean one row per person again.
* **flags and denials**: distinct cases per key; a case belongs to one person, so one day, and
  the counts add up across days, months and legions;
* **state now** (overdue checks, cohorts, unit strength): open checks per due day (so "overdue"
  is still decided against today's date when the page is read), trainees per cohort and
  person's legion, and, for the units that can head a legion-wide or system-wide view, billets
  and filled billets of their subtree per legion of the units and of the people.

A rollup describes the records when it was counted; the page says as of when. Figures are the
same as the live ones on the same records (the test suite compares both paths on every figure),
apart from the half-tenth of a day in the percentiles. Scopes that are not whole legions (a
unit, cohort or case grant, or a role that sees only part of its scope) are counted live: they
are small by construction, and the rollup has no key for them.

The day is the UTC day, the time zone the project runs in (``TIME_ZONE``); under any other time
zone the rollup is not read. A refresh costs about one live count of everyone (the same
``stage_days`` query, one month of people at a time), once per refresh instead of once per page.

Catching up after changes
-------------------------
The serving process does not count everything again after each change: ``catch_up`` counts again
only the days received of the people the audit entries since the rollup name, and moves the sums
over those days by the difference, in place and in one transaction (see its docstring). A rollup
therefore changes after it is finished, but only by a catch-up, which moves its ``started_at``;
readers check that it did not move while they read (``dashboard``).

Crashes, and a server that keeps serving
-----------------------------------------
A refresh writes a new ``Rollup`` and its rows in short transactions, batch by batch (the people
received in one month at a time, then the state-now tables), reading outside any transaction, so
that the database's write lock (SQLite) is never held for long and the web keeps serving. The
rollup becomes visible only when its ``finished_at`` is set, after its last row: a refresh that
fails or is interrupted leaves the previous rollup in use, and its own rows are removed by a
later refresh. Each finished refresh keeps the one before it (a page being drawn from it is not
cut short) and removes the older ones. Two refreshes at once waste work but show
nothing wrong: the newest-started finished rollup is the one read, and a refresh removes only
rollups older than itself.

Must never: store or read an identity, a call sign or a person's id; count anyone outside the
scope (rows are selected by the scope's legions only); or be read for a scope that is not whole
legions.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Max, Model, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from legionary.db import insert_rows
from legionary.identity.models import Person
from legionary.reports.aggregates import DayOf, MonthOf, bucket_of
from legionary.reports.freshness import log_size
from legionary.reports.models import (
    CohortCount,
    DenialCount,
    FlagCount,
    Grain,
    OpenCheckCount,
    Rollup,
    StageHistogram,
    StatusCount,
    UnitCount,
)
from legionary.reports.selectors import (
    AT_NOW,
    DURATION_STAGES,
    FUNNEL_STAGES,
    OPEN_CASE_STATES,
    REACHED,
    ROLLUP,
    CohortRow,
    Dashboard,
    DenialRow,
    FlagRow,
    FunnelRow,
    OverdueRow,
    Period,
    ReportScope,
    ancestor_paths,
    course_week,
    flag_counts,
    histogram_durations,
    stage_days,
    top_two_levels,
)
from legionary.training.models import Enrolment, EnrolmentState
from legionary.units.models import Assignment, Billet, Unit
from legionary.vetting.models import CaseState, Check, Finding, ScreeningFlag

UTC = datetime.UTC
# Rows written per transaction: short enough that the web's writers barely wait for SQLite's lock.
WRITE_BATCH = 5000
# Tables of rows that belong to a rollup, in the order they are removed.
ROW_MODELS: tuple[type[Model], ...] = (
    StatusCount,
    StageHistogram,
    FlagCount,
    DenialCount,
    OpenCheckCount,
    CohortCount,
    UnitCount,
)
PERIOD_FIELDS = ("rollup", "grain", "legion", "day", "month")


# --- refresh -----------------------------------------------------------------------------------------


@dataclass
class RefreshReport:
    """What a refresh did: its rollup, the people counted, the rows written and how long it took."""

    rollup_id: int
    started_at: datetime.datetime
    finished_at: datetime.datetime
    people: int
    rows: int
    batches: int
    seconds: float
    removed: int


Progress = Callable[[int, int], None]
"""Called after each batch is stored with (people counted so far, people to count)."""


def refresh(*, progress: Progress | None = None) -> RefreshReport:
    """Counts a new rollup from the records and makes it the one read; removes rollups no longer needed.

    Nothing is visible before the last row is written; if this raises (or is interrupted), the
    previous rollup stays in use.
    """
    clock = time.perf_counter()
    started = timezone.now()
    # The log's size before counting: changes recorded while counting make the rollup behind at once.
    rollup = Rollup.objects.create(started_at=started, log_size=log_size())
    # One batch per month received: each of its queries reads a range of the created_at index,
    # so a refresh reads every person about once per query, whatever the number of months.
    batches = list(
        Person.objects.annotate(month=MonthOf("created_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    total = sum(n for _month, n in batches)
    done = rows = 0
    history: Counter[tuple[str, str, int]] = Counter()
    across: Counter[tuple[str, str, int]] = Counter()
    for month, people in batches:
        histogram = _stage_histogram(_batch(month))
        rows += _store_period_batch(rollup.pk, month, histogram)
        for (legion, _day, stage, bucket), n in histogram.items():
            history[(legion, stage, bucket)] += n
            across[(month, stage, bucket)] += n
        done += people
        if progress is not None:
            progress(done, total)
    summed = [(rollup.pk, Grain.HISTORY, legion, None, "", *key, n) for (legion, *key), n in history.items()]
    summed += [
        (rollup.pk, Grain.ALL_LEGIONS, "", _month_bounds(month)[0].date(), month, *key, n)
        for (month, *key), n in across.items()
    ]
    for table, names, made in (
        (StageHistogram, (*PERIOD_FIELDS, "stage", "bucket", "people"), summed),
        (OpenCheckCount, _OPEN_CHECK_FIELDS, _open_check_rows(rollup.pk)),
        (CohortCount, _COHORT_FIELDS, _cohort_rows(rollup.pk)),
        (UnitCount, _UNIT_FIELDS, _unit_rows(rollup.pk)),
    ):
        rows += _store(table, names, made)
    finished = timezone.now()
    Rollup.objects.filter(pk=rollup.pk).update(finished_at=finished, people=total, seconds=time.perf_counter() - clock)
    removed = _remove_older_than_previous(rollup.pk)
    return RefreshReport(
        rollup_id=rollup.pk,
        started_at=started,
        finished_at=finished,
        people=total,
        rows=rows,
        batches=len(batches),
        seconds=time.perf_counter() - clock,
        removed=removed,
    )


# --- catching up ---------------------------------------------------------------------------------------

# Subjects of audit entries that are not a person (``course:3``, ``cohort:frl-2026-1``) carry a colon.
# Actions without a person whose only effect on the figures is on the state-now tables (cohorts and
# unit strength), which a catch-up counts again whole.
STATE_NOW_ACTIONS = frozenset(
    {
        "training.course_updated",
        "training.module_updated",
        "training.assessment_updated",
        "training.qualification_updated",
        "training.cohort_created",
        "training.cohort_updated",
        "training.timetable_set",
        "training.result_recorded",
        "training.result_corrected",
        "training.result_signed_lead",
        "training.attendance_recorded",
        "units.unit_created",
        "units.unit_moved",
        "units.billet_created",
        "units.overseer_changed",
        "units.override_requested",
        "units.override_approved",
    }
)
# More days received than this touched since the rollup: counting everything again costs about as much.
CATCH_UP_DAYS = 31
# Which state-now tables (counted again whole by a catch-up) a change of each kind can move: an
# application makes a person and a received case, with no check, enrolment or assignment; vetting
# moves checks and cases; training cohorts; units billets and assignments. Any other action: all three.
NO_STATE_NOW = frozenset({"application.received", "person.created"})
STATE_NOW_BY_PREFIX: tuple[tuple[tuple[str, ...], tuple[type[Model], ...]], ...] = (
    (("case.", "check.", "checks.", "decision.", "finding.", "flag.", "screening."), (OpenCheckCount,)),
    (("training.",), (CohortCount,)),
    (("units.assigned", "units.unit_", "units.billet_", "units.overseer_", "units.override_"), (UnitCount,)),
)


def _state_now_moved_by(action: str) -> tuple[type[Model], ...]:
    if action in NO_STATE_NOW:
        return ()
    for prefixes, tables in STATE_NOW_BY_PREFIX:
        if action.startswith(prefixes):
            return tables
    return (OpenCheckCount, CohortCount, UnitCount)


class RollupMismatch(Exception):
    """A catch-up found the rollup's sums below what it had to take off them: counting everything
    again (``refresh``) makes a rollup that agrees with the records; nothing was changed."""


def catch_up() -> RefreshReport | None:
    """Brings the newest finished rollup up to the records by counting again only what changed since it.

    Every change is an audit entry naming the person it concerns (``Entry.subject``), and a person's
    period rows are those of the day he was received: so the days received of the people named by
    the entries since the rollup's ``log_size`` are counted again whole, the stored rows of those
    days are replaced, and their month, history and all-legions sums are moved by the difference
    (they stay the sums of the day rows, as a full refresh makes them). The state-now tables (open
    checks, cohorts, units: one GROUP BY each) are counted again whole when a change of a kind that
    can move them is among the entries (``STATE_NOW_BY_PREFIX``; a new application moves none).
    The rollup is changed in place, in one transaction, and its ``started_at`` (the figures' "as of")
    moved to when this started counting; two catch-ups at once are told apart by ``log_size`` (the
    second changes nothing).

    Returns None, leaving the rollup as it is, when there is no finished rollup or what changed cannot
    be told from the log (an entry without a person that is not known to touch only the state-now
    tables: a bulk fill, a restore, a screening list) or touches more than ``CATCH_UP_DAYS`` days
    received: then ``refresh`` counts everything. When another catch-up moved the rollup on meanwhile,
    changes nothing and reports no rows. Raises ``RollupMismatch`` (nothing changed) if the stored sums
    disagree with the day rows they are made of.
    """
    from legionary.audit.models import Entry
    from legionary.reports.freshness import NO_FIGURES

    clock = time.perf_counter()
    started = timezone.now()
    newest = Rollup.objects.filter(finished_at__isnull=False).order_by("-pk").values_list("pk", "log_size").first()
    if newest is None:
        return None
    rollup, seen = newest
    size = log_size()
    people: set[str] = set()
    state_now: set[type[Model]] = set()
    entries = Entry.objects.filter(index__gte=seen, index__lt=size).exclude(action__in=NO_FIGURES)
    for action, subject in entries.values_list("action", "subject").iterator(chunk_size=2000):
        if subject and ":" not in subject:
            people.add(subject)
        elif action not in STATE_NOW_ACTIONS:
            return None
        state_now.update(_state_now_moved_by(action))
    found = Person.objects.filter(pk__in=sorted(people)) if people else Person.objects.none()
    days = sorted({_day(d) for d in found.annotate(day=DayOf("created_at")).values_list("day", flat=True).distinct()})
    if len(days) > CATCH_UP_DAYS or (people and not days):
        return None
    touched = Person.objects.none()
    if days:
        received = Q()
        for day in days:
            start = datetime.datetime(day.year, day.month, day.day, tzinfo=UTC)
            received |= Q(created_at__gte=start, created_at__lt=start + datetime.timedelta(days=1))
        touched = Person.objects.filter(received)
    counted = _period_counts(touched, _stage_histogram(touched)) if days else []
    state_rows = [
        (model, names, made(rollup))
        for model, names, made in (
            (OpenCheckCount, _OPEN_CHECK_FIELDS, _open_check_rows),
            (CohortCount, _COHORT_FIELDS, _cohort_rows),
            (UnitCount, _UNIT_FIELDS, _unit_rows),
        )
        if model in state_now
    ]
    rows = 0
    with transaction.atomic():
        # Claims the rollup (its row lock on PostgreSQL, the write lock on SQLite) unless another
        # catch-up moved it on since it was read: then that one counted these changes, or will.
        claimed = Rollup.objects.filter(pk=rollup, log_size=seen).update(log_size=size, started_at=started)
        if not claimed:
            return RefreshReport(rollup, started, started, 0, 0, 0, time.perf_counter() - clock, 0)
        added = 0
        for model, names, keyed in counted:
            moved, people_added = _move_by_difference(rollup, model, names, keyed, days)
            rows += moved
            if model is StatusCount:
                added = people_added
        for model, names, made in state_rows:
            rows += _replace_changed(model, names, rollup, made)
        Rollup.objects.filter(pk=rollup).update(people=F("people") + added)
    finished = timezone.now()
    return RefreshReport(
        rollup_id=rollup,
        started_at=started,
        finished_at=finished,
        people=len(people),
        rows=rows,
        batches=len(days),
        seconds=time.perf_counter() - clock,
        removed=0,
    )


def _move_by_difference(
    rollup: int,
    model: type[Model],
    names: tuple[str, ...],
    keyed: Mapping[tuple[Any, ...], tuple[int, ...]],
    days: Sequence[datetime.date],
) -> tuple[int, int]:
    """Replaces ``model``'s day rows of ``days`` by ``keyed`` (counted again) and moves the sums over
    them (month rows; for the histograms, history and all-legions rows) by the difference.

    Returns the rows written and the difference in people (the sum of the first count)."""
    key_names = names[len(PERIOD_FIELDS) : -_count_width(model)]
    count_names = names[len(PERIOD_FIELDS) + len(key_names) :]
    months = sorted({day.replace(day=1) for day in days})
    manager = model.objects  # type: ignore[attr-defined]
    difference: Counter[tuple[Any, ...]] = Counter()

    def add(row_key: tuple[Any, ...], counts: Sequence[int], sign: int) -> None:
        grain, legion, day, month, *key = row_key
        for i, n in enumerate(counts):
            for whole in _sums_of(model, legion, day, month, tuple(key)):
                difference[(*whole, i)] += sign * n
            difference[(grain, legion, day, month, *key, i)] += sign * n

    stored = manager.filter(rollup_id=rollup, grain=Grain.DAY, day__in=days).values_list(
        "legion", "day", "month", *key_names, *count_names
    )
    for legion, day, month, *rest in stored:
        add((Grain.DAY.value, legion, day, month, *rest[: len(key_names)]), rest[len(key_names) :], -1)
    for (legion, day, *key), counts in keyed.items():
        add((Grain.DAY.value, legion, day, day.strftime("%Y-%m"), *key), counts, +1)
    width = len(count_names)
    changed: dict[tuple[Any, ...], list[int]] = {}
    for (*parts, i), n in difference.items():
        if n:
            changed.setdefault(tuple(parts), [0] * width)[i] += n
    people = sum(n for (grain, *_rest, i), n in difference.items() if grain == Grain.DAY.value and i == 0)
    if not changed:
        return 0, people
    # The rows being changed as they are stored: day rows of the days, sums of their months and history.
    affected = Q(grain=Grain.DAY, day__in=days) | Q(grain__in=(Grain.MONTH, Grain.ALL_LEGIONS), day__in=months)
    if model is StageHistogram:
        affected |= Q(grain=Grain.HISTORY)
    current: dict[tuple[Any, ...], tuple[int, list[int]]] = {}
    for pk, grain, legion, day, month, *rest in manager.filter(Q(rollup_id=rollup) & affected).values_list(
        "pk", "grain", "legion", "day", "month", *key_names, *count_names
    ):
        row_key = (grain, legion, day, month, *rest[: len(key_names)])
        if row_key in changed:
            current[row_key] = (pk, [int(n) for n in rest[len(key_names) :]])
    made: list[tuple[Any, ...]] = []
    for row_key, moved in changed.items():
        pk, stored_counts = current.get(row_key, (None, [0] * width))
        new = [a + b for a, b in zip(stored_counts, moved, strict=True)]
        if any(n < 0 for n in new):
            raise RollupMismatch(f"the rollup's {model.__name__} rows disagree with the records")
        if any(new):
            made.append((rollup, *row_key, *new))
    gone = [pk for pk, _counts in current.values()]
    for start in range(0, len(gone), WRITE_BATCH):
        manager.filter(pk__in=gone[start : start + WRITE_BATCH]).delete()
    insert_rows(model, names, made)
    return len(made), people


def _replace_changed(model: type[Model], names: Sequence[str], rollup: int, made: list[tuple[Any, ...]]) -> int:
    """Makes ``model``'s rows of ``rollup`` those ``made``, deleting and inserting only the rows that differ
    (most open checks, cohorts and units stay as they were); returns the rows written."""
    manager = model.objects  # type: ignore[attr-defined]
    wanted = Counter(made)
    gone: list[int] = []
    for pk, *values in manager.filter(rollup_id=rollup).values_list("pk", *names[1:]):
        row = (rollup, *(int(v) if isinstance(v, int) else v for v in values))
        if wanted[row] > 0:
            wanted[row] -= 1  # stored as wanted: kept
        else:
            gone.append(pk)
    new = [row for row, n in wanted.items() for _ in range(n)]
    for start in range(0, len(gone), WRITE_BATCH):
        manager.filter(pk__in=gone[start : start + WRITE_BATCH]).delete()
    insert_rows(model, names, new)
    return len(new)


def _count_width(model: type[Model]) -> int:
    return 3 if model is FlagCount else 1


def _sums_of(
    model: type[Model], legion: str, day: datetime.date, month: str, key: tuple[Any, ...]
) -> list[tuple[Any, ...]]:
    """The summed rows a day row of ``model`` is part of, as (grain, legion, day, month, *key)."""
    first = day.replace(day=1)
    sums: list[tuple[Any, ...]] = [(Grain.MONTH.value, legion, first, month, *key)]
    if model is StageHistogram:
        sums.append((Grain.HISTORY.value, legion, None, "", *key))
        sums.append((Grain.ALL_LEGIONS.value, "", first, month, *key))
    return sums


def _store(model: type[Model], names: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Inserts ``rows`` in transactions of ``WRITE_BATCH`` rows; returns how many."""
    written = 0
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= WRITE_BATCH:
            with transaction.atomic():
                insert_rows(model, names, chunk)
            written += len(chunk)
            chunk = []
    if chunk:
        with transaction.atomic():
            insert_rows(model, names, chunk)
        written += len(chunk)
    return written


def _month_bounds(month: str) -> tuple[datetime.datetime, datetime.datetime]:
    year, number = int(month[:4]), int(month[5:7])
    start = datetime.datetime(year, number, 1, tzinfo=UTC)
    end = datetime.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _with_months(
    keyed: Mapping[Any, tuple[int, ...]], month_start: datetime.date
) -> Iterable[tuple[str, str, datetime.date, tuple[Any, ...], tuple[int, ...]]]:
    """Day rows as they are, then the same counts summed over the month: (grain, legion, day, key, counts).

    ``keyed`` maps (legion, day, *key) to counts; all its days are in the month starting on ``month_start``.
    """
    summed: dict[tuple[Any, ...], list[int]] = {}
    for legion_day_key, counts in keyed.items():
        legion, day, key = legion_day_key[0], legion_day_key[1], tuple(legion_day_key[2:])
        yield Grain.DAY, legion, day, key, counts
        found = summed.setdefault((legion, *key), [0] * len(counts))
        for i, n in enumerate(counts):
            found[i] += n
    for legion_key, totals in summed.items():
        yield Grain.MONTH, legion_key[0], month_start, tuple(legion_key[1:]), tuple(totals)


def _batch(month: str) -> QuerySet[Person]:
    """The people received in one (UTC) month."""
    start, end = _month_bounds(month)
    return Person.objects.filter(created_at__gte=start, created_at__lt=end)


def _day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def _stage_histogram(people: QuerySet[Person]) -> Counter[tuple[str, datetime.date, str, int]]:
    """People per (legion, day received, stage, bucket of days spent in it) of ``people``."""
    histogram: Counter[tuple[str, datetime.date, str, int]] = Counter()
    for r in stage_days(people).annotate(day=DayOf("created_at")).iterator(chunk_size=5000):
        for stage, _entered, _left in DURATION_STAGES:
            days = r[f"d_{stage}"]
            if days is not None:
                histogram[(r["legion"], _day(r["day"]), stage, bucket_of(days))] += 1
    return histogram


def _store_period_batch(rollup: int, month: str, histogram: Counter[tuple[str, datetime.date, str, int]]) -> int:
    """Counts the people received in one month, per legion and day and per legion for the month; returns rows."""
    first = _month_bounds(month)[0].date()
    written = 0
    for model, names, keyed in _period_counts(_batch(month), histogram):
        written += _store(
            model,
            names,
            (
                (rollup, grain, legion, d, month, *key, *counts)
                for grain, legion, d, key, counts in _with_months(keyed, first)
            ),
        )
    return written


PeriodCounts = list[tuple[type[Model], tuple[str, ...], dict[tuple[Any, ...], tuple[int, ...]]]]
"""Per period table: its model, its columns and counts keyed by (legion, day received, *key)."""


def _period_counts(people: QuerySet[Person], histogram: Counter[tuple[str, datetime.date, str, int]]) -> PeriodCounts:
    """The period tables' counts of ``people`` per legion, day received and key (``histogram``: theirs)."""
    day = _day
    statuses: dict[tuple[Any, ...], tuple[int, ...]] = {
        (r["legion"], day(r["day"]), r["status"]): (r["n"],)
        for r in people.annotate(day=DayOf("created_at")).values("legion", "day", "status").annotate(n=Count("pk"))
    }
    flagged: Any = (
        ScreeningFlag.objects.filter(case__person__in=people)
        .annotate(day=DayOf("case__person__created_at"))
        .values("case__person__legion", "day", "case__legion")
        .annotate(**flag_counts())
    )
    flags: dict[tuple[Any, ...], tuple[int, ...]] = {
        (r["case__person__legion"], day(r["day"]), r["case__legion"]): (
            r["flagged"],
            r["unresolved"],
            r["after_denial"],
        )
        for r in flagged
    }
    denials: dict[tuple[Any, ...], tuple[int, ...]] = {
        (r["case__person__legion"], day(r["day"]), r["case__legion"], r["guideline"]): (r["cases"],)
        for r in Finding.objects.filter(case__state=CaseState.DENIED, case__person__in=people)
        .annotate(day=DayOf("case__person__created_at"))
        .values("case__person__legion", "day", "guideline", "case__legion")
        .annotate(cases=Count("case", distinct=True))
    }
    return [
        (StatusCount, (*PERIOD_FIELDS, "status", "people"), statuses),
        (StageHistogram, (*PERIOD_FIELDS, "stage", "bucket", "people"), {k: (n,) for k, n in histogram.items()}),
        (FlagCount, (*PERIOD_FIELDS, "case_legion", "flagged", "unresolved", "after_denial"), flags),
        (DenialCount, (*PERIOD_FIELDS, "case_legion", "guideline", "cases"), denials),
    ]


_OPEN_CHECK_FIELDS = ("rollup", "legion", "case_legion", "check_type", "check_name", "due_on", "checks")


def _open_check_rows(rollup: int) -> list[tuple[Any, ...]]:
    """Checks without a result on undecided cases, per person's legion, case's legion, type and due day."""
    rows = (
        Check.objects.filter(result="", case__state__in=OPEN_CASE_STATES)
        .values("case__legion", "check_type_id", "check_type__name", "due_on", person_legion=F("case__person__legion"))
        .annotate(checks=Count("pk"))
    )
    return [
        (
            rollup,
            r["person_legion"],
            r["case__legion"],
            r["check_type_id"],
            r["check_type__name"],
            r["due_on"],
            r["checks"],
        )
        for r in rows
    ]


_COHORT_FIELDS = (
    "rollup",
    "legion",
    "cohort_id",
    "name",
    "cohort_legion",
    "course",
    "start_date",
    "weeks",
    "enrolled",
    "in_training",
    "completed",
)


def _cohort_rows(rollup: int) -> list[tuple[Any, ...]]:
    """Each cohort's trainees per person's legion, by state, with the cohort as it is now."""
    rows = (
        Enrolment.objects.values(
            "cohort_id",
            "cohort__name",
            "cohort__legion",
            "cohort__course__code",
            "cohort__start_date",
            person_legion=F("person__legion"),
        )
        .annotate(
            weeks=Max("cohort__course__weeks"),
            enrolled=Count("pk"),
            in_training=Count("pk", filter=Q(state=EnrolmentState.ACTIVE)),
            completed=Count("pk", filter=Q(state=EnrolmentState.COMPLETED)),
        )
        .order_by()
    )
    return [
        (
            rollup,
            r["person_legion"],
            r["cohort_id"],
            r["cohort__name"],
            r["cohort__legion"],
            r["cohort__course__code"],
            r["cohort__start_date"],
            r["weeks"],
            r["enrolled"],
            r["in_training"],
            r["completed"],
        )
        for r in rows
    ]


_UNIT_FIELDS = (
    "rollup",
    "unit_id",
    "name",
    "kind",
    "unit_legion",
    "path",
    "part_legion",
    "person_legion",
    "billets",
    "filled",
)


def _unit_rows(rollup: int) -> list[tuple[Any, ...]]:
    """Billets and filled billets of the subtree of every unit that may head a wide view, per legion.

    A view of the whole system shows the top two levels of all units; a view of some legions the
    top two levels of those legions' units. So the units kept are those at most one level below
    the shallowest unit of all, or of their own legion: every unit such a view can show.
    """
    units = list(Unit.objects.values_list("pk", "path", "name", "kind", "legion"))
    if not units:
        return []
    depth = {pk: path.count(".") for pk, path, *_rest in units}
    shallowest = min(depth.values())
    of_legion: dict[str, int] = {}
    for pk, _path, _name, _kind, legion in units:
        of_legion[legion] = min(of_legion.get(legion, depth[pk]), depth[pk])
    heads = {
        path: pk
        for pk, path, _name, _kind, legion in units
        if depth[pk] <= shallowest + 1 or depth[pk] <= of_legion[legion] + 1
    }
    billets = dict(Billet.objects.values("unit_id").annotate(n=Count("pk")).values_list("unit_id", "n"))
    filled: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for unit_id, person_legion, n in (
        Assignment.objects.filter(ended_on__isnull=True)
        .values_list("billet__unit_id", "person__legion")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        filled[unit_id].append((person_legion, n))
    held: Counter[tuple[int, str]] = Counter()
    in_use: Counter[tuple[int, str, str]] = Counter()
    legion_of = {pk: legion for pk, _path, _name, _kind, legion in units}
    for pk in heads.values():
        held[(pk, legion_of[pk])] += 0  # every head has a row, billets or not, so that it is listed
    for pk, path, _name, _kind, legion in units:
        for above in ancestor_paths(path):
            head = heads.get(above)
            if head is None:
                continue
            held[(head, legion)] += billets.get(pk, 0)
            for person_legion, n in filled.get(pk, []):
                in_use[(head, legion, person_legion)] += n
    info = {pk: (name, kind, legion, path) for pk, path, name, kind, legion in units}
    rows: list[tuple[Any, ...]] = [(rollup, head, *info[head], part, None, n, 0) for (head, part), n in held.items()]
    rows += [(rollup, head, *info[head], part, person, 0, n) for (head, part, person), n in in_use.items()]
    return rows


def _remove_older_than_previous(newest: int) -> int:
    """Removes every rollup older than the finished one before ``newest`` (finished or not); returns how many."""
    previous = (
        Rollup.objects.filter(pk__lt=newest, finished_at__isnull=False).order_by("-pk").values_list("pk", flat=True)
    ).first()
    if previous is None:
        return 0
    old = list(Rollup.objects.filter(pk__lt=previous).values_list("pk", flat=True))
    if not old:
        return 0
    for model in ROW_MODELS:
        while True:
            # A few thousand rows per statement and transaction, so that no delete holds the lock long.
            chunk = list(model.objects.filter(rollup_id__in=old).values_list("pk", flat=True)[:WRITE_BATCH])  # type: ignore[attr-defined]
            if not chunk:
                break
            model.objects.filter(pk__in=chunk).delete()  # type: ignore[attr-defined]
    Rollup.objects.filter(pk__in=old).delete()
    return len(old)


# --- reading -----------------------------------------------------------------------------------------


def latest() -> tuple[int, datetime.datetime] | None:
    """The newest finished rollup: its id and when its counting started (the figures are as of then)."""
    return Rollup.objects.filter(finished_at__isnull=False).order_by("-pk").values_list("pk", "started_at").first()


def _first_of_next_month(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def in_period(rollup: int, period: Period, *, months: str = Grain.MONTH) -> Q:
    """The period rows of ``rollup`` that make up ``period``: its whole months' rows of grain ``months``
    and the rest's day rows.

    Each alternative names the rollup, grain and day range in full, so that SQLite reads each one
    from the (rollup, grain, day) index rather than every row of the rollup.
    """
    since, until = period.since, period.until
    # Whole months are those from ``first_whole`` up to, not including, ``after_whole``.
    first_whole = since if since is None or since.day == 1 else _first_of_next_month(since)
    after_whole = None if until is None else (until + datetime.timedelta(days=1)).replace(day=1)
    days = Q(rollup_id=rollup, grain=Grain.DAY)
    if since is not None and until is not None and first_whole is not None and after_whole is not None:
        if first_whole >= after_whole:
            return days & Q(day__gte=since, day__lte=until)
    found = Q(rollup_id=rollup, grain=months)
    if first_whole is not None:
        found &= Q(day__gte=first_whole)
    if after_whole is not None:
        found &= Q(day__lt=after_whole)
    if since is not None and first_whole is not None and since < first_whole:
        found |= days & Q(day__gte=since, day__lt=first_whole)
    if until is not None and after_whole is not None and after_whole <= until:
        found |= days & Q(day__gte=after_whole, day__lte=until)
    return found


def _legions(legions: frozenset[str] | None, only: str, field: str) -> Q:
    """Rows whose ``field`` is one of ``legions`` (None: any) and, if ``only``, that legion."""
    found = Q()
    if legions is not None:
        found &= Q(**{f"{field}__in": sorted(legions)})
    if only:
        found &= Q(**{field: only})
    return found


def _n(value: Any) -> int:
    # PostgreSQL sums big integers as numeric (a Decimal in Python).
    return int(value or 0)


def dashboard(scope: ReportScope, period: Period, *, today: datetime.date) -> Dashboard | None:
    """The dashboard read from the newest finished rollup; None when there is none or the scope is not whole legions."""
    if scope.whole is None or timezone.get_current_timezone_name() != "UTC":
        return None
    found = latest()
    legions = scope.whole.legions
    for _attempt in range(3):
        if found is None:
            return None
        key = (*found, legions, period, today)
        with _read_lock:
            cached = _read.get(key)
            if cached is not None:
                _read.move_to_end(key)
        if cached is not None:
            return dataclasses.replace(cached, scope=scope)
        figures = _read_figures(found, scope, period, today=today)
        # A catch-up changes the newest rollup in place (in one transaction that moves its "as of"):
        # if one committed while the tables were read, some may be from before it, so read again.
        again = latest()
        if again == found:
            with _read_lock:
                _read[key] = figures
                while len(_read) > READ_CACHE_SIZE:
                    _read.popitem(last=False)
            return figures
        found = again
    return None  # changed under every read (never seen): the page counts live


def _read_figures(
    found: tuple[int, datetime.datetime], scope: ReportScope, period: Period, *, today: datetime.date
) -> Dashboard:
    rollup, as_of = found
    legions = scope.whole.legions if scope.whole is not None else None
    periodic = in_period(rollup, period) & _legions(legions, period.legion, "legion")
    state_now = Q(rollup_id=rollup) & _legions(legions, "", "legion")
    return Dashboard(
        scope=scope,
        period=period,
        today=today,
        funnel=_funnel(periodic),
        durations=_durations(rollup, legions, period),
        overdue=_overdue(state_now & _legions(None, period.legion, "case_legion"), today),
        flags=_flags(periodic),
        denials=_denials(periodic),
        cohorts=_cohorts(state_now & _legions(None, period.legion, "cohort_legion"), today),
        strength=_strength(rollup, legions, period.legion),
        source=ROLLUP,
        as_of=as_of,
    )


# Dashboards read from a rollup, by (rollup, its start, legions, period, day). A finished rollup changes only
# by a catch-up, which moves its start, so a dashboard read from it stays right for that day: the same
# viewers open the same page again and again, and the page then costs its rendering only. Per process,
# a few hundred kilobytes.
READ_CACHE_SIZE = 64
_read: OrderedDict[tuple[int, datetime.datetime, frozenset[str] | None, Period, datetime.date], Dashboard] = (
    OrderedDict()
)
_read_lock = threading.Lock()


def _funnel(rows: Q) -> list[FunnelRow]:
    counts: dict[str, Any] = {}
    for stage in FUNNEL_STAGES:
        counts[f"reached_{stage}"] = Coalesce(Sum("people", filter=REACHED[stage]), 0)
        counts[f"now_{stage}"] = Coalesce(Sum("people", filter=AT_NOW[stage]), 0)
    found: Any = (
        StatusCount.objects.filter(rows).values("legion", "month").annotate(**counts).order_by("legion", "month")
    )
    return [
        FunnelRow(
            legion=r["legion"],
            month=r["month"],
            reached={s: _n(r[f"reached_{s}"]) for s in FUNNEL_STAGES},
            now={s: _n(r[f"now_{s}"]) for s in FUNNEL_STAGES},
        )
        for r in found
    ]


def _durations(rollup: int, legions: frozenset[str] | None, period: Period) -> list[Any]:
    """Histograms per legion and per month (two queries); overall is the legions' sum.

    Without dates, each legion's whole history is one set of rows; for everyone, each month's
    histogram is already summed over the legions. So the page without a period reads a few rows
    per legion, month and bucket, however many people there are.
    """
    scoped = _legions(legions, period.legion, "legion")
    whole_history = period.since is None and period.until is None
    per_legion = (Q(rollup_id=rollup, grain=Grain.HISTORY) if whole_history else in_period(rollup, period)) & scoped
    if legions is None and not period.legion:
        per_month = in_period(rollup, period, months=Grain.ALL_LEGIONS)
    else:
        per_month = in_period(rollup, period) & scoped
    groups: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)
    by_legion = StageHistogram.objects.filter(per_legion).values_list("stage", "legion", "bucket")
    for stage, legion, bucket, n in by_legion.annotate(n=Sum("people")).order_by():
        groups[(stage, legion, "")][bucket] += _n(n)
        groups[(stage, "", "")][bucket] += _n(n)
    by_month = StageHistogram.objects.filter(per_month).values_list("stage", "month", "bucket")
    for stage, month, bucket, n in by_month.annotate(n=Sum("people")).order_by():
        groups[(stage, "", month)][bucket] += _n(n)
    return histogram_durations({key: sorted(counts.items()) for key, counts in groups.items()})


def _overdue(rows: Q, today: datetime.date) -> list[OverdueRow]:
    found = (
        OpenCheckCount.objects.filter(rows)
        .values("case_legion", "check_type", "check_name")
        .annotate(open=Sum("checks"), overdue=Coalesce(Sum("checks", filter=Q(due_on__lt=today)), 0))
        .order_by("case_legion", "check_type")
    )
    return [
        OverdueRow(
            legion=r["case_legion"],
            check_type=r["check_type"],
            check_name=r["check_name"],
            open=_n(r["open"]),
            overdue=_n(r["overdue"]),
        )
        for r in found
    ]


def _flags(rows: Q) -> list[FlagRow]:
    found = (
        FlagCount.objects.filter(rows)
        .values("case_legion", "month")
        .annotate(flagged=Sum("flagged"), unresolved=Sum("unresolved"), after_denial=Sum("after_denial"))
        .order_by("case_legion", "month")
    )
    return [
        FlagRow(
            legion=r["case_legion"],
            month=r["month"],
            flagged=_n(r["flagged"]),
            unresolved=_n(r["unresolved"]),
            after_denial=_n(r["after_denial"]),
        )
        for r in found
    ]


def _denials(rows: Q) -> list[DenialRow]:
    found = (
        DenialCount.objects.filter(rows)
        .values("guideline", "case_legion")
        .annotate(cases=Sum("cases"))
        .order_by("guideline", "case_legion")
    )
    return [DenialRow(guideline=r["guideline"], legion=r["case_legion"], cases=_n(r["cases"])) for r in found]


def _cohorts(rows: Q, today: datetime.date) -> list[CohortRow]:
    found = (
        CohortCount.objects.filter(rows)
        .values("cohort_id", "name", "cohort_legion", "course", "start_date", "weeks")
        .annotate(enrolled=Sum("enrolled"), in_training=Sum("in_training"), completed=Sum("completed"))
        .order_by("-start_date", "cohort_id")
    )
    return [
        CohortRow(
            cohort_id=r["cohort_id"],
            name=r["name"],
            legion=r["cohort_legion"],
            course=r["course"],
            start_date=r["start_date"],
            weeks=r["weeks"],
            week_now=course_week(r["start_date"], r["weeks"], today),
            enrolled=_n(r["enrolled"]),
            in_training=_n(r["in_training"]),
            completed=_n(r["completed"]),
        )
        for r in found
    ]


def _strength(rollup: int, legions: frozenset[str] | None, only: str) -> list[Any]:
    """Units of the scope's legions (all, for the whole system), narrowed to the period's legion."""
    units = _legions(legions, only, "unit_legion") & _legions(legions, only, "part_legion")
    holders = Q(person_legion__isnull=True)
    holders |= Q(person_legion__isnull=False) if legions is None else Q(person_legion__in=sorted(legions))
    found = (
        UnitCount.objects.filter(Q(rollup_id=rollup) & units & holders)
        .values_list("unit_id", "path", "name", "kind", "unit_legion")
        .annotate(billets=Sum("billets"), filled=Sum("filled"))
        .order_by()
    )
    return top_two_levels(
        sorted(
            (
                (pk, path, name, kind, legion, _n(billets), _n(filled))
                for pk, path, name, kind, legion, billets, filled in found
            ),
            key=lambda u: u[1],
        )
    )
