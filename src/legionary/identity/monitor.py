"""The openings monitor (issue 21): who opened whose sealed data, when, and what stands out.

Reads the ``Opening`` rows that ``identity.openings.consume`` writes with each opening's audit entry
(one per opening of an identity, next of kin or documents; a sealed record shown with an identity
rides on that opening and is not counted, as for the daily allowance) and the break-glass
``OpeningRequest`` rows. Every figure is aggregated in SQL over one period, so a page costs the
same number of queries whatever the history holds.

Staff are named by account, people by call sign and pseudonymous id: nothing here reads, returns or
exports an identity, a reason or a key. Must never write (the views record the viewing).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, DateField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from legionary.access.roles import ROLE_PERMISSIONS, Perm, ScopeKind
from legionary.access.scopes import grant_rows
from legionary.identity import openings
from legionary.identity.models import Opening, OpeningRequest
from legionary.identity.monitor_settings import WorkingHours, parse_days, parse_hours, parse_zone

# Rows shown per list on the page, and rows of the per-day table and chart (the JSON export and
# the counts hold every row).
LIMIT = 100
# The longest period one may ask for, in days (a quarter).
MAX_DAYS = 92
TODAY, WEEK, CUSTOM = "today", "7d", "custom"


class MonitorError(ValueError):
    """Bad input to the monitor (a period), in one sentence for the person; ``field`` names the
    input it is about ("first", "last", "period")."""

    def __init__(self, message: str, *, field: str = "period") -> None:
        super().__init__(message)
        self.field = field


# --- settings ------------------------------------------------------------------------------------


def working_hours() -> WorkingHours:
    """The configured working hours (settings ``LEGIONARY_MONITOR_*``, checked at start-up)."""
    start, end = parse_hours(settings.LEGIONARY_MONITOR_WORKING_HOURS)
    return WorkingHours(
        start=start,
        end=end,
        days=parse_days(settings.LEGIONARY_MONITOR_WORKING_DAYS),
        zone=parse_zone(settings.LEGIONARY_MONITOR_TIME_ZONE),
    )


def distinct_staff_limit() -> int:
    """N: a person whose sealed data more than N staff opened in the period is listed."""
    return max(1, int(settings.LEGIONARY_MONITOR_DISTINCT_STAFF))


# --- the period ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days ``first``..``last`` (inclusive) in the working hours' time zone."""

    first: date
    last: date
    zone: ZoneInfo
    choice: str = CUSTOM

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period (midnight after ``last``)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=k) for k in range((self.last - self.first).days + 1)]


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone).date()


def parse_date(text: str, *, which: str) -> date:
    """A date written YYYY-MM-DD; ``which`` is "first" or "last" (named in the message)."""
    raw = (text or "").strip()
    first = which == "first"
    if not raw:
        raise MonitorError(
            _("Enter the first date, as YYYY-MM-DD.") if first else _("Enter the last date, as YYYY-MM-DD."),
            field=which,
        )
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise MonitorError(
            _("Enter the first date as YYYY-MM-DD, such as 2026-03-01.")
            if first
            else _("Enter the last date as YYYY-MM-DD, such as 2026-03-07."),
            field=which,
        )
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise MonitorError(
            _("The first date %(date)s does not exist: check the month and the day.") % {"date": raw}
            if first
            else _("The last date %(date)s does not exist: check the month and the day.") % {"date": raw},
            field=which,
        ) from None


def period_of(*, choice: str, first: str = "", last: str = "", zone: ZoneInfo, now: datetime | None = None) -> Period:
    """The period asked for: today, the last seven days (today included), or custom dates.

    Custom dates are checked: both given as real dates, the first not after the last, none after
    today, at most ``MAX_DAYS`` days.
    """
    today = today_in(zone, now)
    if choice == TODAY:
        return Period(today, today, zone, TODAY)
    if choice == WEEK:
        return Period(today - timedelta(days=6), today, zone, WEEK)
    if choice != CUSTOM:
        raise MonitorError(_("Choose today, the last 7 days, or dates of your own."))
    start = parse_date(first, which="first")
    end = parse_date(last, which="last")
    if start > end:
        raise MonitorError(_("The first date must be on or before the last date."), field="first")
    if end > today:
        raise MonitorError(
            _("The last date cannot be after today (%(today)s).") % {"today": today.isoformat()}, field="last"
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise MonitorError(
            _("A period can be at most %(days)s days: choose a shorter one.") % {"days": MAX_DAYS}, field="first"
        )
    return Period(start, end, zone, CUSTOM)


# --- scope ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which legions' openings a viewer sees: ``None`` for all (a system-wide grant)."""

    legions: tuple[str, ...] | None

    @property
    def everything(self) -> bool:
        return self.legions is None


EVERYTHING = Scope(None)


def scope_of(staff: Any) -> Scope:
    """The legions covered by the viewer's grants of a role that reads the audit log (security
    officer, auditor): all for a system-wide grant, else the legions of legion grants; narrower
    grants (unit, cohort, case) cover no openings here."""
    legions: set[str] = set()
    # The grants as scopes read them (inside My work's gathering, one read for every section).
    for role, kind, ref in grant_rows(staff):
        if Perm.VIEW_AUDIT_LOG not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if kind == ScopeKind.SYSTEM:
            return EVERYTHING
        if kind == ScopeKind.LEGION:
            legions.add(ref)
    return Scope(tuple(sorted(legions)))


# --- the figures ---------------------------------------------------------------------------------


def _openings(period: Period, scope: Scope) -> QuerySet[Opening]:
    found = Opening.objects.filter(at__gte=period.start, at__lt=period.end).exclude(kind=openings.RECORD)
    if scope.legions is not None:
        found = found.filter(person__legion__in=scope.legions)
    return found


def _requests(period: Period, scope: Scope) -> QuerySet[OpeningRequest]:
    found = OpeningRequest.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
    if scope.legions is not None:
        found = found.filter(person__legion__in=scope.legions)
    return found


def _midnight_after(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _local_day(period: Period, column: str = "at") -> Case:
    """The local day of ``column`` within the period, as plain comparisons with the period's day
    boundaries, worked out here in the time zone (daylight saving included). The database's own
    time zone functions would cost a Python call per row on SQLite; comparisons cost nothing."""
    whens = [When(**{f"{column}__lt": _midnight_after(day, period.zone)}, then=Value(day)) for day in period.days]
    return Case(*whens, default=Value(None), output_field=DateField())


def _out_of_hours(hours: WorkingHours, period: Period, column: str = "at") -> Q:
    """Outside the working days, or outside the hours of a working day: not inside any of the
    period's working windows, each worked out here as a range of moments (as ``_local_day``)."""
    first = period.start.astimezone(hours.zone).date() - timedelta(days=1)
    last = period.end.astimezone(hours.zone).date()
    inside = Q(pk__in=[])
    day = first
    while day <= last:
        if day.isoweekday() in hours.days:
            midnight = datetime.combine(day, time(0), tzinfo=hours.zone)
            start = datetime.combine(day, hours.start, tzinfo=hours.zone)
            end = datetime.combine(day, hours.end, tzinfo=hours.zone)
            following = datetime.combine(day + timedelta(days=1), time(0), tzinfo=hours.zone)
            windows = [(start, end)] if hours.start < hours.end else [(midnight, end), (start, following)]
            for low, high in windows:
                inside |= Q(**{f"{column}__gte": low, f"{column}__lt": high})
        day += timedelta(days=1)
    return ~inside


# An opening for no assignment of the opener's: break-glass (approved) or under an "alert" policy.
UNASSIGNED = Q(check_id__isnull=True, case_id__isnull=True, unit_id__isnull=True)


@dataclass(frozen=True)
class StaffDay:
    day: date
    account: str
    openings: int
    out_of_hours: int
    unassigned: int


@dataclass(frozen=True)
class OpeningRow:
    at: datetime
    account: str
    person_id: str
    call_sign: str
    kind: str
    audit_index: int | None
    request_id: int | None = None
    request_state: str = ""
    approver: str = ""


@dataclass(frozen=True)
class RequestRow:
    pk: int
    person_id: str
    call_sign: str
    kind: str
    cause: str
    state: str
    requester: str
    approver: str
    created_at: datetime
    decided_at: datetime | None
    used_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class CrowdedPerson:
    """A person whose sealed data more than N distinct staff opened in the period."""

    person_id: str
    call_sign: str
    staff: int
    openings: int
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class DaySummary:
    day: date
    openings: int
    staff: int
    people: int
    out_of_hours: int
    unassigned: int
    requests: int
    crowded: int

    @property
    def unusual(self) -> int:
        """Items on the monitor's lists to look at: openings out of hours, openings of people not
        assigned to the opener, break-glass requests, people opened by more than N staff."""
        return self.out_of_hours + self.unassigned + self.requests + self.crowded

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "openings": self.openings,
            "staff": self.staff,
            "people": self.people,
            "out_of_hours": self.out_of_hours,
            "unassigned": self.unassigned,
            "break_glass_requests": self.requests,
            "people_over_limit": self.crowded,
            "unusual": self.unusual,
        }


@dataclass
class Monitor:
    period: Period
    hours: WorkingHours
    limit: int
    per_staff_day: list[StaffDay] = field(default_factory=list)
    out_of_hours: list[OpeningRow] = field(default_factory=list)
    unassigned: list[OpeningRow] = field(default_factory=list)
    requests: list[RequestRow] = field(default_factory=list)
    crowded: list[CrowdedPerson] = field(default_factory=list)
    requests_by_state: dict[str, int] = field(default_factory=dict)
    crowded_count: int = 0

    @property
    def total(self) -> int:
        return sum(row.openings for row in self.per_staff_day)

    @property
    def out_of_hours_count(self) -> int:
        return sum(row.out_of_hours for row in self.per_staff_day)

    @property
    def unassigned_count(self) -> int:
        return sum(row.unassigned for row in self.per_staff_day)

    @property
    def requests_count(self) -> int:
        return sum(self.requests_by_state.values())


def _opening_rows(found: QuerySet[Any], limit: int) -> list[OpeningRow]:
    rows = found.order_by("-at", "-pk").values(
        "at",
        "staff__username",
        "person_id",
        "person__call_sign",
        "kind",
        "audit_index",
        "request_id",
        "request__state",
        "request__decided_by__username",
    )[:limit]
    return [
        OpeningRow(
            at=r["at"],
            account=r["staff__username"],
            person_id=r["person_id"],
            call_sign=r["person__call_sign"],
            kind=r["kind"],
            audit_index=r["audit_index"],
            request_id=r["request_id"],
            request_state=r["request__state"] or "",
            approver=r["request__decided_by__username"] or "",
        )
        for r in rows
    ]


def request_state(state: str, expires_at: datetime, now: datetime | None = None) -> str:
    """A request's state as it stands now: pending or approved past its time is expired."""
    if state in (openings.PENDING, openings.APPROVED) and expires_at <= (now or timezone.now()):
        return openings.EXPIRED
    return state


def monitor(*, period: Period, scope: Scope, hours: WorkingHours | None = None, limit: int = LIMIT) -> Monitor:
    """Every figure of the monitor for one period and scope (seven or eight queries, whatever the data)."""
    hours = hours or working_hours()
    n = distinct_staff_limit()
    now = timezone.now()
    found = _openings(period, scope)
    outside = _out_of_hours(hours, period)
    result = Monitor(period=period, hours=hours, limit=n)

    per_day = (
        found.annotate(day=_local_day(period))
        .values("day", "staff__username")
        .annotate(
            n=Count("pk"),
            ooh=Count("pk", filter=outside),
            unassigned=Count("pk", filter=UNASSIGNED),
        )
        .order_by("day", "staff__username")
    )
    result.per_staff_day = [
        StaffDay(r["day"], r["staff__username"], r["n"], r["ooh"], r["unassigned"]) for r in per_day
    ]
    result.out_of_hours = _opening_rows(found.filter(outside), limit)
    result.unassigned = _opening_rows(found.filter(UNASSIGNED), limit)

    requests = _requests(period, scope)
    by_state: dict[str, int] = defaultdict(int)
    for r in requests.values("state", "expires_at"):
        by_state[request_state(r["state"], r["expires_at"], now)] += 1
    result.requests_by_state = dict(by_state)
    result.requests = [
        RequestRow(
            pk=r["pk"],
            person_id=r["person_id"],
            call_sign=r["person__call_sign"],
            kind=r["kind"],
            cause=r["cause"],
            state=request_state(r["state"], r["expires_at"], now),
            requester=r["requester__username"],
            approver=r["decided_by__username"] or "",
            created_at=r["created_at"],
            decided_at=r["decided_at"],
            used_at=r["used_at"],
            expires_at=r["expires_at"],
        )
        for r in requests.order_by("-created_at", "-pk").values(
            "pk",
            "person_id",
            "person__call_sign",
            "kind",
            "cause",
            "state",
            "requester__username",
            "decided_by__username",
            "created_at",
            "decided_at",
            "used_at",
            "expires_at",
        )[:limit]
    ]

    crowded = (
        _openings(period, scope)
        .values("person_id", "person__call_sign")
        .annotate(staff_n=Count("staff", distinct=True), n=Count("pk"))
        .filter(staff_n__gt=n)
        .order_by("-staff_n", "-n", "person_id")
    )
    crowded_rows = list(crowded[: limit + 1])
    result.crowded_count = len(crowded_rows) if len(crowded_rows) <= limit else crowded.count()
    crowded_rows = crowded_rows[:limit]
    accounts: dict[str, list[str]] = defaultdict(list)
    if crowded_rows:
        pairs = (
            _openings(period, scope)
            .filter(person_id__in=[r["person_id"] for r in crowded_rows])
            .values_list("person_id", "staff__username")
            .distinct()
            .order_by("person_id", "staff__username")
        )
        for person_id, account in pairs:
            accounts[person_id].append(account)
    result.crowded = [
        CrowdedPerson(
            person_id=r["person_id"],
            call_sign=r["person__call_sign"],
            staff=r["staff_n"],
            openings=r["n"],
            accounts=tuple(accounts[r["person_id"]]),
        )
        for r in crowded_rows
    ]
    return result


def daily_summary(*, period: Period, scope: Scope, hours: WorkingHours | None = None) -> list[DaySummary]:
    """One row per day of the period (days without openings included), four queries in all.

    The N-staff rule is applied per day here (people opened by more than N staff *that day*);
    the monitor's list applies it over the whole period.
    """
    hours = hours or working_hours()
    n = distinct_staff_limit()
    found = _openings(period, scope).annotate(day=_local_day(period))
    figures: dict[date, dict[str, Any]] = {
        r["day"]: dict(r)
        for r in found.values("day")
        .annotate(
            n=Count("pk"),
            staff_n=Count("staff", distinct=True),
            people=Count("person", distinct=True),
            ooh=Count("pk", filter=_out_of_hours(hours, period)),
            unassigned=Count("pk", filter=UNASSIGNED),
        )
        .order_by("day")
    }
    requests = {
        r["day"]: r["n"]
        for r in _requests(period, scope)
        .annotate(day=_local_day(period, "created_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    }
    crowded: dict[date, int] = defaultdict(int)
    for r in (
        _openings(period, scope)
        .annotate(day=_local_day(period))
        .values("day", "person_id")
        .annotate(staff_n=Count("staff", distinct=True))
        .filter(staff_n__gt=n)
        .order_by()
    ):
        crowded[r["day"]] += 1
    out = []
    for day in period.days:
        f = figures.get(day, {})
        out.append(
            DaySummary(
                day=day,
                openings=f.get("n", 0),
                staff=f.get("staff_n", 0),
                people=f.get("people", 0),
                out_of_hours=f.get("ooh", 0),
                unassigned=f.get("unassigned", 0),
                requests=requests.get(day, 0),
                crowded=crowded.get(day, 0),
            )
        )
    return out


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def _opening_item(row: OpeningRow) -> dict[str, Any]:
    return {
        "at": _iso(row.at),
        "account": row.account,
        "person": row.person_id,
        "call_sign": row.call_sign,
        "kind": row.kind,
        "audit_entry": row.audit_index,
        "break_glass_request": row.request_id,
    }


def summary_document(
    *, period: Period, scope: Scope, hours: WorkingHours | None = None, with_items: bool = True
) -> dict[str, Any]:
    """The daily summary as one JSON-ready document (the page's JSON export and the CLI's --json):
    the figures per day and, ``with_items``, the unusual items of the period behind them (staff by
    account, people by pseudonymous id and call sign, each with its audit entry)."""
    hours = hours or working_hours()
    days = daily_summary(period=period, scope=scope, hours=hours)
    document: dict[str, Any] = {
        "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
        "time_zone": hours.zone.key,
        "working_hours": f"{hours.start:%H:%M}-{hours.end:%H:%M}",
        "working_days": sorted(hours.days),
        "distinct_staff_limit": distinct_staff_limit(),
        "legions": list(scope.legions) if scope.legions is not None else "all",
        "days": [d.as_dict() for d in days],
    }
    if with_items:
        figures = monitor(period=period, scope=scope, hours=hours, limit=10**9)
        document["per_staff_day"] = [
            {
                "date": r.day.isoformat(),
                "account": r.account,
                "openings": r.openings,
                "out_of_hours": r.out_of_hours,
                "unassigned": r.unassigned,
            }
            for r in figures.per_staff_day
        ]
        document["out_of_hours"] = [_opening_item(r) for r in figures.out_of_hours]
        document["unassigned"] = [_opening_item(r) for r in figures.unassigned]
        document["break_glass_requests"] = [
            {
                "request": r.pk,
                "person": r.person_id,
                "call_sign": r.call_sign,
                "kind": r.kind,
                "cause": r.cause,
                "state": r.state,
                "requester": r.requester,
                "approver": r.approver or None,
                "requested_at": _iso(r.created_at),
                "decided_at": _iso(r.decided_at),
                "used_at": _iso(r.used_at),
                "expires_at": _iso(r.expires_at),
            }
            for r in figures.requests
        ]
        document["people_over_limit"] = [
            {
                "person": p.person_id,
                "call_sign": p.call_sign,
                "staff": p.staff,
                "openings": p.openings,
                "accounts": list(p.accounts),
            }
            for p in figures.crowded
        ]
    return document


SUMMARY_COLUMNS = (
    "date",
    "openings",
    "staff",
    "people",
    "out_of_hours",
    "unassigned",
    "break_glass_requests",
    "people_over_limit",
    "unusual",
)
