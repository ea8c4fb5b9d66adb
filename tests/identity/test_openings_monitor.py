"""The openings monitor (issue 21 item 4): its figures from a seeded history, computed by hand.

The history is written straight into ``Opening`` and ``OpeningRequest`` (what ``openings.consume``
and ``openings.admit`` write), at chosen times around the boundaries: working hours 08:00-20:00,
Monday to Friday, Europe/Kyiv (UTC+2 in December), N = 2. Local days of the first week of
December 2025: Monday the 1st to Sunday the 7th.

| #   | UTC            | local (Kyiv)        | who | person | kind      | purpose    | out of hours |
|-----|----------------|---------------------|-----|--------|-----------|------------|--------------|
| o1  | 12-01 06:00:00 | Mon 08:00:00        | ann | Zaza   | identity  | check      | no (start)   |
| o2  | 12-01 05:59:59 | Mon 07:59:59        | ann | Zaza   | documents | check      | yes          |
| o3  | 12-01 17:59:59 | Mon 19:59:59        | ann | Caesar | identity  | case       | no           |
| o4  | 12-01 18:00:00 | Mon 20:00:00        | bob | Zaza   | identity  | check      | yes (end)    |
| o5  | 12-02 10:00:00 | Tue 12:00           | cid | Zaza   | identity  | case       | no           |
| o6  | 12-02 11:00:00 | Tue 13:00           | sol | Zaza   | identity  | R1 (used)  | no           |
| o7  | 12-06 10:00:00 | Sat 12:00           | bob | Miami  | kin       | unit       | yes (Sat)    |
| o8  | 12-01 06:01:00 | Mon 08:01           | ann | Zaza   | record    | rides o1   | not counted  |
| o9  | 12-06 22:30:00 | Sun 12-07 00:30     | cid | Miami  | identity  | R2 (alert) | yes          |
| o10 | 11-30 22:00:00 | Mon 12-01 00:00     | bob | Caesar | identity  | case       | yes          |
| o11 | 11-30 21:59:59 | Sun 11-30 23:59:59  | bob | Caesar | identity  | case       | before       |
| o12 | 12-07 22:00:00 | Mon 12-08 00:00     | ann | Caesar | identity  | case       | after        |

Zaza and Caesar are of legion "frl", Miami of "bel". Requests: R1 sol → Zaza, used (approved by
sue); R2 cid → Miami, immediate (alert) at 00:30 on the 7th; R3 bob → Caesar, refused by sue (past
his allowance); R4 ann → Caesar, pending past its time (expired); R5 after the period.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.audit.models import Entry
from legionary.identity import monitor, openings
from legionary.identity.models import Opening, OpeningRequest, Person
from legionary.identity.monitor_settings import MonitorSettingError, WorkingHours, parse_days, parse_hours
from tests.conftest import MakeStaff, signed_in

KYIV = ZoneInfo("Europe/Kyiv")
FIRST, LAST = date(2025, 12, 1), date(2025, 12, 7)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def monitor_settings(settings: Any) -> None:
    settings.LEGIONARY_MONITOR_WORKING_HOURS = "08:00-20:00"
    settings.LEGIONARY_MONITOR_WORKING_DAYS = "1-5"
    settings.LEGIONARY_MONITOR_TIME_ZONE = "Europe/Kyiv"
    settings.LEGIONARY_MONITOR_DISTINCT_STAFF = 2


def person(pid: str, call_sign: str, legion: str) -> Person:
    return Person.objects.create(
        id=pid, call_sign=call_sign, call_sign_key=call_sign.lower(), legion=legion, created_at=utc("2025-11-01T00:00")
    )


class History:
    def __init__(self, make_staff: MakeStaff) -> None:
        self.ann = make_staff("ann-inv", Role.INVESTIGATOR)
        self.bob = make_staff("bob-inv", Role.INVESTIGATOR)
        self.cid = make_staff("cid-ci", Role.CI_OFFICER)
        self.sol = make_staff("sol-sec", Role.SECURITY_OFFICER)
        self.sue = make_staff("sue-sec", Role.SECURITY_OFFICER)
        self.zaza = person("pzazaaaaaaaaaaaaaaaaaaa", "Zaza", "frl")
        self.caesar = person("pcaesaraaaaaaaaaaaaaaaa", "Caesar", "frl")
        self.miami = person("pmiamiaaaaaaaaaaaaaaaaa", "Miami", "bel")
        self.r1 = self.request(
            self.sol, self.zaza, "2025-12-02T10:50", openings.USED, decided_by=self.sue, decided="2025-12-02T10:55"
        )
        self.r1.used_at = utc("2025-12-02T11:00")
        self.r1.save(update_fields=["used_at"])
        self.r2 = self.request(self.cid, self.miami, "2025-12-06T22:30", openings.IMMEDIATE)
        self.r3 = self.request(
            self.bob,
            self.caesar,
            "2025-12-03T09:00",
            openings.REFUSED,
            cause=openings.ALLOWANCE,
            decided_by=self.sue,
            decided="2025-12-03T09:05",
        )
        self.r4 = self.request(self.ann, self.caesar, "2025-12-04T09:00", openings.PENDING)  # expired at 09:30
        self.r5 = self.request(self.ann, self.caesar, "2025-12-08T09:00", openings.REFUSED)  # after the period
        self.opening(self.ann, self.zaza, "2025-12-01T06:00:00", openings.IDENTITY, check_id=1, audit_index=101)
        self.opening(self.ann, self.zaza, "2025-12-01T05:59:59", openings.DOCUMENTS, check_id=1, audit_index=102)
        self.opening(self.ann, self.caesar, "2025-12-01T17:59:59", openings.IDENTITY, case_id=2)
        self.opening(self.bob, self.zaza, "2025-12-01T18:00:00", openings.IDENTITY, check_id=3)
        self.opening(self.cid, self.zaza, "2025-12-02T10:00:00", openings.IDENTITY, case_id=4)
        self.opening(self.sol, self.zaza, "2025-12-02T11:00:00", openings.IDENTITY, request=self.r1, audit_index=106)
        self.opening(self.bob, self.miami, "2025-12-06T10:00:00", openings.KIN, unit_id=5)
        self.opening(self.ann, self.zaza, "2025-12-01T06:01:00", openings.RECORD)
        self.opening(self.cid, self.miami, "2025-12-06T22:30:00", openings.IDENTITY, request=self.r2, audit_index=109)
        self.opening(self.bob, self.caesar, "2025-11-30T22:00:00", openings.IDENTITY, case_id=6)
        self.opening(self.bob, self.caesar, "2025-11-30T21:59:59", openings.IDENTITY, case_id=6)
        self.opening(self.ann, self.caesar, "2025-12-07T22:00:00", openings.IDENTITY, case_id=2)

    def request(
        self,
        requester: Staff,
        who: Person,
        created: str,
        state: str,
        *,
        cause: str = openings.UNASSIGNED,
        decided_by: Staff | None = None,
        decided: str | None = None,
    ) -> OpeningRequest:
        at = utc(created)
        return OpeningRequest.objects.create(
            person=who,
            requester=requester,
            kind=openings.IDENTITY,
            cause=cause,
            reason="Check the file",
            state=state,
            created_at=at,
            expires_at=at + timedelta(minutes=30),
            decided_by=decided_by,
            decided_at=utc(decided) if decided else None,
        )

    def opening(self, staff: Staff, who: Person, at: str, kind: str, **extra: Any) -> None:
        Opening.objects.create(staff=staff, person=who, kind=kind, at=utc(at), **extra)


@pytest.fixture
def history(make_staff: MakeStaff) -> History:
    return History(make_staff)


def week() -> monitor.Period:
    return monitor.Period(FIRST, LAST, KYIV)


def test_the_monitor_counts_openings_per_staff_member_per_local_day(history: History) -> None:
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    rows = [(r.day.isoformat(), r.account, r.openings, r.out_of_hours, r.unassigned) for r in figures.per_staff_day]
    assert rows == [
        ("2025-12-01", "ann-inv", 3, 1, 0),
        ("2025-12-01", "bob-inv", 2, 2, 0),
        ("2025-12-02", "cid-ci", 1, 0, 0),
        ("2025-12-02", "sol-sec", 1, 0, 1),
        ("2025-12-06", "bob-inv", 1, 1, 0),
        ("2025-12-07", "cid-ci", 1, 1, 1),
    ]
    assert (figures.total, figures.out_of_hours_count, figures.unassigned_count) == (9, 5, 2)


def test_openings_out_of_hours_are_listed_newest_first_with_their_audit_entry(history: History) -> None:
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    assert [(r.at, r.account, r.call_sign, r.kind) for r in figures.out_of_hours] == [
        (utc("2025-12-06T22:30"), "cid-ci", "Miami", openings.IDENTITY),
        (utc("2025-12-06T10:00"), "bob-inv", "Miami", openings.KIN),
        (utc("2025-12-01T18:00"), "bob-inv", "Zaza", openings.IDENTITY),
        (utc("2025-12-01T05:59:59"), "ann-inv", "Zaza", openings.DOCUMENTS),
        (utc("2025-11-30T22:00"), "bob-inv", "Caesar", openings.IDENTITY),
    ]
    assert figures.out_of_hours[0].audit_index == 109
    assert figures.out_of_hours[3].audit_index == 102


def test_openings_of_people_not_assigned_name_how_they_went_through(history: History) -> None:
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    assert [(r.account, r.call_sign, r.request_state, r.approver) for r in figures.unassigned] == [
        ("cid-ci", "Miami", openings.IMMEDIATE, ""),
        ("sol-sec", "Zaza", openings.USED, "sue-sec"),
    ]


def test_break_glass_requests_carry_requester_approver_state_and_times(history: History) -> None:
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    assert [(r.requester, r.call_sign, r.state, r.approver) for r in figures.requests] == [
        ("cid-ci", "Miami", openings.IMMEDIATE, ""),
        ("ann-inv", "Caesar", openings.EXPIRED, ""),  # pending past its time
        ("bob-inv", "Caesar", openings.REFUSED, "sue-sec"),
        ("sol-sec", "Zaza", openings.USED, "sue-sec"),
    ]
    used = figures.requests[-1]
    assert (used.created_at, used.decided_at, used.used_at) == (
        utc("2025-12-02T10:50"),
        utc("2025-12-02T10:55"),
        utc("2025-12-02T11:00"),
    )
    assert figures.requests_by_state == {"immediate": 1, "expired": 1, "refused": 1, "used": 1}


def test_people_opened_by_more_than_n_staff_are_listed_with_the_accounts(history: History, settings: Any) -> None:
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    assert [(p.call_sign, p.staff, p.openings, p.accounts) for p in figures.crowded] == [
        ("Zaza", 4, 5, ("ann-inv", "bob-inv", "cid-ci", "sol-sec"))
    ]
    # Caesar and Miami were each opened by exactly two staff: not more than N = 2.
    settings.LEGIONARY_MONITOR_DISTINCT_STAFF = 3
    assert [p.call_sign for p in monitor.monitor(period=week(), scope=monitor.EVERYTHING).crowded] == ["Zaza"]
    settings.LEGIONARY_MONITOR_DISTINCT_STAFF = 4  # Zaza's four staff are not more than four
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    assert (figures.crowded, figures.crowded_count) == ([], 0)
    settings.LEGIONARY_MONITOR_DISTINCT_STAFF = 1
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING)
    assert [(p.call_sign, p.staff) for p in figures.crowded] == [("Zaza", 4), ("Caesar", 2), ("Miami", 2)]


def test_the_daily_summary_has_a_row_for_every_day_and_counts_the_unusual(history: History) -> None:
    days = monitor.daily_summary(period=week(), scope=monitor.EVERYTHING)
    assert [
        (d.day.day, d.openings, d.staff, d.people, d.out_of_hours, d.unassigned, d.requests, d.crowded, d.unusual)
        for d in days
    ] == [
        (1, 5, 2, 2, 3, 0, 0, 0, 3),
        (2, 2, 2, 1, 0, 1, 1, 0, 2),
        (3, 0, 0, 0, 0, 0, 1, 0, 1),
        (4, 0, 0, 0, 0, 0, 1, 0, 1),
        (5, 0, 0, 0, 0, 0, 0, 0, 0),
        (6, 1, 1, 1, 1, 0, 0, 0, 1),
        (7, 1, 1, 1, 1, 1, 1, 0, 3),
    ]


def test_the_n_staff_rule_of_the_daily_summary_counts_one_day(history: History, settings: Any) -> None:
    settings.LEGIONARY_MONITOR_DISTINCT_STAFF = 1
    days = monitor.daily_summary(period=week(), scope=monitor.EVERYTHING)
    # 12-01: Zaza by ann and bob, Caesar by ann and bob; 12-02: Zaza by cid and sol.
    assert [d.crowded for d in days] == [2, 1, 0, 0, 0, 0, 0]


def test_a_legion_scoped_officer_sees_only_his_legion(history: History, make_staff: MakeStaff) -> None:
    officer = make_staff("fay-sec", Role.SECURITY_OFFICER, scope_kind=ScopeKind.LEGION, scope_ref="frl")
    scope = monitor.scope_of(officer)
    assert scope.legions == ("frl",)
    figures = monitor.monitor(period=week(), scope=scope)
    assert {r.call_sign for r in figures.out_of_hours} == {"Zaza", "Caesar"}
    assert [r.call_sign for r in figures.unassigned] == ["Zaza"]
    assert "Miami" not in {r.call_sign for r in figures.requests}
    assert (figures.total, figures.out_of_hours_count) == (7, 3)
    page = signed_in(officer).get(URL, WEEK_QUERY, secure=True).content.decode()
    assert 'id="figure-openings">7<' in page and "Miami" not in page
    # A unit-scoped auditor's grant covers no openings at all.
    narrow = make_staff("aud-unit", Role.AUDITOR, scope_kind=ScopeKind.UNIT, scope_ref="1")
    assert monitor.monitor(period=week(), scope=monitor.scope_of(narrow)).total == 0
    page = signed_in(narrow).get(URL, WEEK_QUERY, secure=True).content.decode()
    assert "Your grants cover no legion" in page and "Zaza" not in page


# --- out of hours: the boundaries, in SQL and in Python alike --------------------------------------


def hours(text: str = "08:00-20:00", days: str = "1-5") -> WorkingHours:
    start, end = parse_hours(text)
    return WorkingHours(start=start, end=end, days=parse_days(days), zone=KYIV)


@pytest.mark.parametrize(
    ("local", "outside"),
    [
        ("2025-12-01T07:59:59", True),
        ("2025-12-01T08:00:00", False),
        ("2025-12-01T19:59:59", False),
        ("2025-12-01T20:00:00", True),
        ("2025-12-05T19:00:00", False),  # Friday
        ("2025-12-06T12:00:00", True),  # Saturday
        ("2025-12-07T12:00:00", True),  # Sunday
    ],
)
def test_out_of_hours_boundaries(make_staff: MakeStaff, local: str, outside: bool) -> None:
    staff = make_staff("ann-inv", Role.INVESTIGATOR)
    who = person("pzazaaaaaaaaaaaaaaaaaaa", "Zaza", "frl")
    at = datetime.fromisoformat(local).replace(tzinfo=KYIV)
    Opening.objects.create(staff=staff, person=who, kind=openings.IDENTITY, at=at, check_id=1)
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING, hours=hours())
    assert figures.out_of_hours_count == int(outside)
    assert hours().within(at) is not outside


def test_a_night_shift_runs_across_midnight(make_staff: MakeStaff) -> None:
    staff = make_staff("ann-inv", Role.INVESTIGATOR)
    who = person("pzazaaaaaaaaaaaaaaaaaaa", "Zaza", "frl")
    for local in ("2025-12-01T22:00", "2025-12-02T07:59:59", "2025-12-02T08:00", "2025-12-02T12:00"):
        at = datetime.fromisoformat(local).replace(tzinfo=KYIV)
        Opening.objects.create(staff=staff, person=who, kind=openings.IDENTITY, at=at, check_id=1)
    night = hours("20:00-08:00", "1-7")
    figures = monitor.monitor(period=week(), scope=monitor.EVERYTHING, hours=night)
    assert sorted(r.at.astimezone(KYIV).strftime("%d %H:%M") for r in figures.out_of_hours) == [
        "02 08:00",
        "02 12:00",
    ]


# The autouse settings fixture runs once per test, not per example: these tests do not read it.
@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))  # noqa: DTZ001 — naive bounds are hypothesis's API
def test_working_hours_in_python_are_start_inclusive_end_exclusive(moment: datetime) -> None:
    at = moment.replace(tzinfo=UTC)
    local = at.astimezone(KYIV)
    expected = local.isoweekday() <= 5 and 8 * 60 <= local.hour * 60 + local.minute < 20 * 60
    assert hours().within(at) is expected


@pytest.mark.parametrize("text", ["8-20", "08:00", "08:00-08:00", "25:00-08:00", "08:60-09:00", ""])
def test_bad_working_hours_are_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(MonitorSettingError, match=r"HH:MM|different"):
        parse_hours(text)


@pytest.mark.parametrize("text", ["0-5", "1-8", "5-1", "mon", "1,,2", ""])
def test_bad_working_days_are_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(MonitorSettingError, match="weekday numbers"):
        parse_days(text)


# --- the period ----------------------------------------------------------------------------------

NOW = datetime(2025, 12, 7, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv, Sunday the 7th


def test_today_and_the_last_seven_days_are_local_days() -> None:
    today = monitor.period_of(choice=monitor.TODAY, zone=KYIV, now=NOW)
    assert (today.first, today.last) == (LAST, LAST)
    assert today.start == datetime(2025, 12, 6, 22, 0, tzinfo=UTC)
    seven = monitor.period_of(choice=monitor.WEEK, zone=KYIV, now=NOW)
    assert (seven.first, seven.last, len(seven.days)) == (FIRST, LAST, 7)
    late = monitor.period_of(choice=monitor.TODAY, zone=KYIV, now=datetime(2025, 12, 7, 22, 0, tzinfo=UTC))
    assert late.first == date(2025, 12, 8)  # midnight in Kyiv already


@pytest.mark.parametrize(
    ("first", "last", "field", "message"),
    [
        ("", "2025-12-07", "first", "Enter the first date"),
        ("2025-12-01", "", "last", "Enter the last date"),
        ("01.12.2025", "2025-12-07", "first", "as YYYY-MM-DD"),
        ("2025-02-30", "2025-12-07", "first", "does not exist"),
        ("2025-12-07", "2025-12-01", "first", "on or before the last date"),
        ("2025-12-01", "2025-12-08", "last", "cannot be after today"),
        ("2025-01-01", "2025-12-07", "first", "at most 92 days"),
    ],
)
def test_bad_custom_dates_are_refused_with_a_clear_message(first: str, last: str, field: str, message: str) -> None:
    with pytest.raises(monitor.MonitorError, match=message) as refused:
        monitor.period_of(choice=monitor.CUSTOM, first=first, last=last, zone=KYIV, now=NOW)
    assert refused.value.field == field


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=12))
def test_any_text_as_a_date_is_a_date_or_a_monitor_error(text: str) -> None:
    try:
        monitor.parse_date(text, which="first")
    except monitor.MonitorError as exc:
        assert str(exc).startswith(("Enter the first date", "The first date"))


# --- the pages -----------------------------------------------------------------------------------

URL = "/openings/monitor/"
WEEK_QUERY = {"period": "custom", "first": "2025-12-01", "last": "2025-12-07"}


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.CI_OFFICER, Role.ADMINISTRATOR, Role.UNIT_COMMANDER])
def test_roles_that_do_not_read_the_audit_log_are_refused(make_staff: MakeStaff, role: str) -> None:
    client = signed_in(make_staff("someone", role))
    assert client.get(URL, secure=True).status_code == 403
    assert client.get(reverse("openings:monitor-csv"), secure=True).status_code == 403


def test_the_security_officer_sees_the_figures_and_links_to_the_audit_entries(history: History) -> None:
    response = signed_in(history.sue).get(URL, WEEK_QUERY, secure=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="figure-openings">9<' in page
    assert 'id="figure-out-of-hours">5<' in page
    assert 'id="figure-unassigned">2<' in page
    assert 'id="figure-requests">4<' in page
    assert 'id="figure-crowded">1<' in page
    assert 'id="chart-openings-per-day"' in page
    assert reverse("audit:entry", args=[102]) in page  # o2, out of hours
    # The per-day row of ann on Monday: her audit entries of that local day, in UTC.
    assert "/audit/?actor=ann-inv&amp;since=2025-11-30+22%3A00%3A00&amp;until=2025-12-01+22%3A00%3A00" in page
    assert reverse("openings:review", args=[history.r1.pk]) in page  # he may decide: the request links there
    assert Entry.objects.filter(action="openings.monitor_viewed", actor="sue-sec").count() == 1


def test_the_auditor_sees_the_monitor_read_only(history: History, make_staff: MakeStaff) -> None:
    auditor = make_staff("aud-1", Role.AUDITOR)
    page = signed_in(auditor).get(URL, WEEK_QUERY, secure=True).content.decode()
    assert 'id="figure-openings">9<' in page
    assert reverse("openings:review", args=[history.r1.pk]) not in page


def test_bad_dates_on_the_page_answer_400_with_the_message_at_the_field(history: History) -> None:
    response = signed_in(history.sue).get(
        URL, {"period": "custom", "first": "2025-12-07", "last": "2025-12-01"}, secure=True
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The first date must be on or before the last date." in page
    assert 'id="id_first-error"' in page
    assert 'href="#id_first"' in page  # the error summary links to the field
    assert not Entry.objects.filter(action="openings.monitor_viewed").exists()
    assert signed_in(history.sue).get(URL, {"period": "yesterday"}, secure=True).status_code == 400


def test_the_csv_export_has_a_row_per_day(history: History) -> None:
    response = signed_in(history.sue).get(reverse("openings:monitor-csv"), WEEK_QUERY, secure=True)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="openings-summary-2025-12-01-2025-12-07.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["date"], r["openings"], r["unusual"]) for r in rows] == [
        ("2025-12-01", "5", "3"),
        ("2025-12-02", "2", "2"),
        ("2025-12-03", "0", "1"),
        ("2025-12-04", "0", "1"),
        ("2025-12-05", "0", "0"),
        ("2025-12-06", "1", "1"),
        ("2025-12-07", "1", "3"),
    ]
    assert Entry.objects.filter(action="openings.summary_exported").count() == 1


def test_the_json_export_holds_the_days_and_the_unusual_items(history: History) -> None:
    response = signed_in(history.sue).get(reverse("openings:monitor-json"), WEEK_QUERY, secure=True)
    document = json.loads(response.content)
    assert document["days"][0] == {
        "date": "2025-12-01",
        "openings": 5,
        "staff": 2,
        "people": 2,
        "out_of_hours": 3,
        "unassigned": 0,
        "break_glass_requests": 0,
        "people_over_limit": 0,
        "unusual": 3,
    }
    assert [i["account"] for i in document["out_of_hours"]] == ["cid-ci", "bob-inv", "bob-inv", "ann-inv", "bob-inv"]
    assert document["people_over_limit"] == [
        {
            "person": history.zaza.pk,
            "call_sign": "Zaza",
            "staff": 4,
            "openings": 5,
            "accounts": ["ann-inv", "bob-inv", "cid-ci", "sol-sec"],
        }
    ]
    assert {r["state"] for r in document["break_glass_requests"]} == {"immediate", "expired", "refused", "used"}


def test_an_export_with_bad_dates_is_refused_with_the_message(history: History) -> None:
    response = signed_in(history.sue).get(
        reverse("openings:monitor-json"), {"period": "custom", "first": "2025-02-30"}, secure=True
    )
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()


def test_the_page_costs_the_same_queries_however_much_history(history: History) -> None:
    client = signed_in(history.sue)
    client.get(URL, WEEK_QUERY, secure=True)
    with CaptureQueriesContext(connection) as before:
        client.get(URL, WEEK_QUERY, secure=True)
    for k in range(30):
        who = person(f"pmore{k:02d}aaaaaaaaaaaaaaa", f"More{k}", "frl")
        for staff in (history.ann, history.bob, history.cid):
            Opening.objects.create(staff=staff, person=who, kind=openings.IDENTITY, at=utc("2025-12-03T03:00"))
    with CaptureQueriesContext(connection) as after:
        response = client.get(URL, WEEK_QUERY, secure=True)
    assert 'id="figure-crowded">31<' in response.content.decode()
    # Appending the viewing's audit entry touches O(log n) tree nodes; the monitor's own reads are fixed.
    reads_before = [q["sql"] for q in before.captured_queries if "audit_" not in q["sql"]]
    reads_after = [q["sql"] for q in after.captured_queries if "audit_" not in q["sql"]]
    assert len(reads_after) == len(reads_before)


# --- My work and the command line --------------------------------------------------------------


def test_my_work_shows_the_security_officer_todays_summary(make_staff: MakeStaff) -> None:
    sue = make_staff("sue-sec", Role.SECURITY_OFFICER)
    ann = make_staff("ann-inv", Role.INVESTIGATOR)
    who = person("pzazaaaaaaaaaaaaaaaaaaa", "Zaza", "frl")
    now = timezone.now()
    Opening.objects.create(staff=ann, person=who, kind=openings.IDENTITY, at=now, check_id=1)
    Opening.objects.create(staff=ann, person=who, kind=openings.IDENTITY, at=now)  # unassigned
    page = signed_in(sue).get("/work/", secure=True).content.decode()
    assert reverse("openings:monitor") in page
    summary = monitor.daily_summary(
        period=monitor.period_of(choice=monitor.TODAY, zone=KYIV), scope=monitor.EVERYTHING
    )[0]
    assert summary.openings == 2 and summary.unassigned == 1
    assert f"{summary.unusual} unusual" in page
    assert "2 openings" in page


def test_the_summary_command_prints_a_day_as_json(history: History, capsys: Any) -> None:
    call_command("openings", "summary", "--date", "2025-12-07", "--json")
    document = json.loads(capsys.readouterr().out)
    assert document["days"] == [
        {
            "date": "2025-12-07",
            "openings": 1,
            "staff": 1,
            "people": 1,
            "out_of_hours": 1,
            "unassigned": 1,
            "break_glass_requests": 1,
            "people_over_limit": 0,
            "unusual": 3,
        }
    ]
    assert [i["call_sign"] for i in document["unassigned"]] == ["Miami"]
    call_command("openings", "summary", "--date", "2025-12-01")
    text = capsys.readouterr().out
    assert "2025-12-01" in text and "5 openings" in text and "3 unusual" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--date", "2025-02-30"], "The date 2025-02-30 does not exist"),
        (["--date", "01.12.2025"], "Enter the date as YYYY-MM-DD"),
        (["--date", "2999-01-01"], "cannot be after today"),
    ],
)
def test_the_summary_command_refuses_a_bad_date_with_exit_2(
    db: None, capsys: Any, argv: list[str], message: str
) -> None:
    from legionary.identity.management.commands.openings import Command

    with pytest.raises(SystemExit) as stopped:
        Command().run_from_argv(["legionary", "openings", "summary", *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("legionary: ") and message in err and "Traceback" not in err


# --- no plaintext identity in what the monitor hands out -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_exports_and_the_page_hold_no_plaintext_identity(
    make_staff: MakeStaff, openings_alert_policy: None, settings: Any, capsys: Any
) -> None:
    """Real openings of a real sealed identity (break-glass under the alert policy, then a second
    officer), then the page, both exports and the command: none holds a name, date or number."""
    from legionary.identity.services import Actor, unseal_identity
    from legionary.intake.schema import validate_application
    from legionary.intake.services import Channel, application_submit
    from tests.intake.helpers import application
    from tests.plaintext import identity_needles, search

    settings.LEGIONARY_MONITOR_WORKING_DAYS = "1-7"
    settings.LEGIONARY_MONITOR_WORKING_HOURS = "00:01-00:00"  # nearly every minute is out of hours
    raw = application(external_ref="m-0001")
    case = application_submit(application=validate_application(raw), channel=Channel.IMPORT).case
    officers = [make_staff(f"sec-{k}", Role.SECURITY_OFFICER) for k in range(3)]
    for officer in officers:
        assert unseal_identity(person=case.person, actor=Actor(officer.get_username(), officer), reason="Spot check")
    settings.LEGIONARY_MONITOR_DISTINCT_STAFF = 2
    client = signed_in(officers[0])
    outputs = {
        "page": client.get(URL, {"period": "today"}, secure=True),
        "csv": client.get(reverse("openings:monitor-csv"), {"period": "today"}, secure=True),
        "json": client.get(reverse("openings:monitor-json"), {"period": "today"}, secure=True),
        "my work": client.get("/work/", secure=True),
    }
    assert {name: r.status_code for name, r in outputs.items()} == dict.fromkeys(outputs, 200)
    document = json.loads(outputs["json"].content)
    assert document["people_over_limit"][0]["person"] == case.person_id
    assert len(document["unassigned"]) == 3
    call_command("openings", "summary", "--json")
    haystacks = {name: r.content for name, r in outputs.items()} | {"command": capsys.readouterr().out.encode()}
    needles = identity_needles([raw["identity"]])
    assert needles
    assert search(needles, haystacks) == []


def test_a_long_period_shows_the_newest_rows_and_the_json_holds_them_all(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor, "LIMIT", 3)
    client = signed_in(history.sue)
    page = client.get(URL, WEEK_QUERY, secure=True).content.decode()
    assert "The newest 3 of 6 are shown" in page
    assert 'id="figure-openings">9<' in page  # the figures still count every row
    table = page.split('id="table-per-day"')[1].split("</table>")[0]
    assert table.count('<tr class="govuk-table__row">') == 1 + 3
    assert ">2025-12-01<" not in table and ">2025-12-07<" in table
    document = json.loads(client.get(reverse("openings:monitor-json"), WEEK_QUERY, secure=True).content)
    assert len(document["per_staff_day"]) == 6
