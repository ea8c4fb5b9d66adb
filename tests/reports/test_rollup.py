"""The rollup gives the live figures: same counts, percentiles within half a tenth of a day, same scope and protection.

The live figures are themselves checked against the world's specs (test_figures); here every
figure read from a refreshed rollup is compared with the live one on the same records, for the
scopes and periods a viewer can choose.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.formats import date_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.access.scopes import people_visible_to
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, person_create
from legionary.reports import rollup
from legionary.reports.models import Rollup, StageHistogram, StatusCount
from legionary.reports.selectors import (
    LIVE,
    ROLLUP,
    Dashboard,
    Period,
    ReportScope,
    pipeline_dashboard,
    scope_for_staff,
    system_scope,
)
from legionary.reports.tables import Protection, dashboard_tables
from tests.conftest import MakeStaff, signed_in
from tests.reports.conftest import TODAY, World

pytestmark = pytest.mark.django_db

# Half a bucket of a tenth of a day, and float noise.
PRECISION = 0.05 + 1e-9
D = datetime.date
PERIODS = [
    Period(),
    Period(legion="frl"),
    Period(legion="intl"),
    Period(since=D(2026, 2, 1)),  # from a whole month on
    Period(until=D(2026, 1, 31)),  # up to the end of a month
    Period(since=D(2026, 1, 10)),  # a partial first month
    Period(until=D(2026, 2, 14)),  # a partial last month
    Period(since=D(2026, 1, 10), until=D(2026, 3, 20)),  # partial months around a whole one
    Period(since=D(2026, 1, 10), until=D(2026, 2, 12)),  # two partial months, no whole one
    Period(since=D(2026, 2, 3), until=D(2026, 2, 17)),  # inside one month
    Period(legion="geo", since=D(2026, 1, 1), until=D(2026, 2, 28)),  # whole months only
    Period(since=D(2024, 1, 1), until=D(2024, 12, 31)),  # nobody
]


def _assert_same(rolled: Dashboard, live: Dashboard) -> None:
    assert rolled.source == ROLLUP and live.source == LIVE
    assert rolled.funnel == live.funnel
    assert rolled.overdue == live.overdue
    assert rolled.flags == live.flags
    assert rolled.denials == live.denials
    assert rolled.cohorts == live.cohorts
    assert rolled.strength == live.strength
    assert [(r.stage, r.legion, r.month, r.people) for r in rolled.durations] == [
        (r.stage, r.legion, r.month, r.people) for r in live.durations
    ]
    for got, want in zip(rolled.durations, live.durations, strict=True):
        for name in ("median", "p90"):
            value, exact = getattr(got, name), getattr(want, name)
            assert (value is None) == (exact is None), (got, want)
            if exact is not None:
                assert abs(value - exact) <= PRECISION, (name, got, want)


def _both(scope: ReportScope, period: Period) -> tuple[Dashboard, Dashboard]:
    return (
        pipeline_dashboard(scope, period, today=TODAY),
        pipeline_dashboard(scope, period, today=TODAY, live=True),
    )


def _edge_people() -> int:
    """People received at the first and last instant of each month, where a period's day and month rows meet."""
    made = 0
    for month in range(1, 5):
        first = datetime.datetime(2026, month, 1, tzinfo=datetime.UTC)
        last = datetime.datetime(2026, month + 1, 1, tzinfo=datetime.UTC) - datetime.timedelta(microseconds=1)
        for n, (instant, legion) in enumerate(((first, "frl"), (last, "frl"), (first, "geo"), (last, "intl"))):
            person = person_create(
                identity={"given_names": "Edge", "family_name": f"Case{month}x{n}", "date_of_birth": "1990-05-05"},
                legion=legion,
                actor=Actor("test"),
            )
            status = PersonStatus.DENIED if n % 2 else PersonStatus.RECEIVED
            Person.objects.filter(pk=person.pk).update(created_at=instant, status=status)
            made += 1
    return made


@pytest.fixture
def refreshed(world: World) -> World:
    """The world, with people on the edges of months, counted into a rollup."""
    _edge_people()
    rollup.refresh()
    return world


@pytest.mark.parametrize("period", PERIODS, ids=repr)
def test_every_system_wide_figure_from_the_rollup_equals_the_live_one(refreshed: World, period: Period) -> None:
    rolled, live = _both(system_scope(exact=True), period)
    _assert_same(rolled, live)


def test_the_comparison_covers_every_figure_with_data(refreshed: World) -> None:
    """A guard on the tests above: the world gives every section rows, and durations with spread."""
    rolled = pipeline_dashboard(system_scope(exact=True), Period(), today=TODAY)
    for name in ("funnel", "durations", "overdue", "flags", "denials", "cohorts", "strength"):
        assert getattr(rolled, name), name
    assert sum(r.overdue for r in rolled.overdue) > 0
    assert len({r.median for r in rolled.durations if r.median is not None}) > 10


@pytest.mark.parametrize("viewer", ["exact", "protected", "geo"])
@pytest.mark.parametrize("period", PERIODS[:3] + PERIODS[7:8], ids=repr)
def test_a_whole_legion_viewer_gets_the_same_figures_from_the_rollup(
    refreshed: World, viewers: dict[str, Staff], viewer: str, period: Period
) -> None:
    scope = scope_for_staff(viewers[viewer])
    assert scope.whole is not None
    _assert_same(*_both(scope, period))


def test_two_legion_grants_read_both_legions_and_nothing_else(refreshed: World, make_staff: MakeStaff) -> None:
    staff = make_staff("adj-two", Role.ADJUDICATOR, scope_kind=ScopeKind.LEGION, scope_ref="geo")
    RoleGrant.objects.create(staff=staff, role=Role.INTAKE_OFFICER, scope_kind=ScopeKind.LEGION, scope_ref="intl")
    scope = scope_for_staff(staff)
    assert scope.whole is not None and scope.whole.legions == {"geo", "intl"}
    rolled, live = _both(scope, Period())
    _assert_same(rolled, live)
    assert {r.legion for r in rolled.funnel} == {"geo", "intl"}


def test_narrow_scopes_are_counted_live_even_with_a_rollup(
    refreshed: World, viewers: dict[str, Staff], make_staff: MakeStaff
) -> None:
    cohort = refreshed.cohorts["frl"]
    narrow = {
        "commander": viewers["commander"],
        "ci": make_staff("ci-reports", Role.CI_OFFICER),
        "legion commander": make_staff("cmd-geo", Role.UNIT_COMMANDER, scope_kind=ScopeKind.LEGION, scope_ref="geo"),
        "cohort": make_staff("adj-cohort", Role.ADJUDICATOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort.pk)),
    }
    mixed = make_staff("adj-mixed", Role.ADJUDICATOR, scope_kind=ScopeKind.LEGION, scope_ref="geo")
    RoleGrant.objects.create(staff=mixed, role=Role.CI_OFFICER, scope_kind=ScopeKind.SYSTEM, scope_ref="")
    narrow["legion and a narrowing role"] = mixed
    for name, staff in narrow.items():
        scope = scope_for_staff(staff)
        assert scope.whole is None, name
        assert pipeline_dashboard(scope, Period(), today=TODAY).source == LIVE, name


def test_roles_counted_from_the_rollup_are_exactly_those_that_see_their_whole_scope(
    world: World, make_staff: MakeStaff
) -> None:
    """The rollup's list of whole-scope roles agrees with access.scopes for every reporting role."""
    everyone = set(Person.objects.values_list("pk", flat=True))
    checked = 0
    for role in Role.values:
        if Perm.VIEW_REPORTS not in ROLE_PERMISSIONS[role]:
            continue
        staff = make_staff(f"whole-{role}", role)
        sees_everyone = set(people_visible_to(staff, perm=Perm.VIEW_REPORTS).values_list("pk", flat=True)) == everyone
        assert (scope_for_staff(staff).whole is not None) == sees_everyone, role
        checked += 1
    assert checked >= 6


def test_a_viewer_without_unseal_rights_sees_the_same_protected_tables_from_the_rollup(
    refreshed: World, viewers: dict[str, Staff]
) -> None:
    scope = scope_for_staff(viewers["protected"])
    rolled, live = _both(scope, Period())
    protection = Protection(exact=scope.exact)
    assert not protection.exact
    got, want = dashboard_tables(rolled, protection), dashboard_tables(live, protection)
    assert got.keys() == want.keys()
    hidden = 0
    for table_id, table in got.items():
        if table_id.startswith("durations"):
            # Same cells hidden; the shown percentiles may differ in their last digit.
            assert [[c.hidden for c in row] for row in table.rows] == [
                [c.hidden for c in row] for row in want[table_id].rows
            ]
            continue
        assert table.rows == want[table_id].rows, table_id
        hidden += sum(c.hidden for row in table.rows for c in row)
    assert hidden > 0  # the world has small counts: protection really was exercised


def test_the_page_says_as_of_when_its_figures_were_counted_in_the_readers_locale(
    world: World, viewers: dict[str, Staff]
) -> None:
    client = signed_in(viewers["protected"])
    before = client.get("/reports/", secure=True).content.decode()
    assert 'id="reports-as-of"' in before and "Figures counted now from the records" in before
    report = rollup.refresh()
    after = client.get("/reports/", secure=True).content.decode()
    stamp = date_format(timezone.localtime(report.started_at), "DATETIME_FORMAT")
    assert f"Figures as of {stamp}" in after and "tenth of a day" in after
    assert 'id="reports-behind"' not in after
    with translation.override("uk"):
        local = date_format(timezone.localtime(report.started_at), "DATETIME_FORMAT")
    assert local != stamp
    assert local in client.get("/reports/", HTTP_ACCEPT_LANGUAGE="uk", secure=True).content.decode()
    commander = signed_in(viewers["commander"]).get("/reports/", secure=True).content.decode()
    assert "Figures counted now from the records" in commander  # a narrow scope is counted live


def test_the_dashboard_from_the_rollup_costs_the_same_queries_whatever_the_number_of_people(
    refreshed: World, viewers: dict[str, Staff]
) -> None:
    client = signed_in(viewers["protected"])
    client.get("/reports/", secure=True)
    rollup._read.clear()  # the figures read from a rollup are kept per process: read them again
    with CaptureQueriesContext(connection) as before:
        assert client.get("/reports/", secure=True).status_code == 200
    with CaptureQueriesContext(connection) as again:
        assert client.get("/reports/", secure=True).status_code == 200
    # Read again, the same rollup's figures cost no query of its tables.
    assert not any("reports_" in q["sql"] and "rollup_id" in q["sql"] for q in again.captured_queries)
    assert len(again) < len(before)
    for n in range(12):
        person_create(
            identity={"given_names": "More", "family_name": f"Rolled{n}", "date_of_birth": "1991-01-01"},
            legion=("frl", "geo", "intl")[n % 3],
            actor=Actor("test"),
        )
    rollup.refresh()
    with CaptureQueriesContext(connection) as after:
        assert client.get("/reports/", secure=True).status_code == 200
    assert len(after) == len(before)
    assert not any("identity_person" in q["sql"] and "GROUP BY" in q["sql"] for q in after.captured_queries)


def test_an_interrupted_refresh_leaves_the_previous_rollup_in_use(world: World) -> None:
    first = rollup.refresh()
    scope = system_scope(exact=True)
    before = pipeline_dashboard(scope, Period(), today=TODAY)
    newcomer = person_create(
        identity={"given_names": "Late", "family_name": "Comer", "date_of_birth": "1992-02-02"},
        legion="geo",
        actor=Actor("test"),
    )
    Person.objects.filter(pk=newcomer.pk).update(status=PersonStatus.RECEIVED)

    def interrupt(done: int, total: int) -> None:
        assert StatusCount.objects.exclude(rollup_id=first.rollup_id).exists()  # rows were written...
        raise KeyboardInterrupt  # ...and then the operator pressed Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        rollup.refresh(progress=interrupt)
    assert rollup.latest() == (first.rollup_id, first.started_at)
    after = pipeline_dashboard(scope, Period(), today=TODAY)
    assert after.source == ROLLUP and after.funnel == before.funnel  # the newcomer is not half-counted
    abandoned = Rollup.objects.get(finished_at__isnull=True)

    second = rollup.refresh()
    counted = pipeline_dashboard(scope, Period(), today=TODAY)
    assert sum(r.reached["received"] for r in counted.funnel) == sum(r.reached["received"] for r in before.funnel) + 1
    assert second.removed == 0  # the abandoned one is newer than the previous finished rollup: kept for now
    third = rollup.refresh()
    assert third.removed == 2  # the first rollup and the abandoned one
    assert not Rollup.objects.filter(pk=abandoned.pk).exists()
    assert not StageHistogram.objects.filter(rollup_id=abandoned.pk).exists()
    assert set(Rollup.objects.values_list("pk", flat=True)) == {second.rollup_id, third.rollup_id}


def test_a_refresh_keeps_the_rollup_before_it_and_removes_older_ones(world: World) -> None:
    made = [rollup.refresh() for _ in range(4)]
    assert set(Rollup.objects.values_list("pk", flat=True)) == {made[2].rollup_id, made[3].rollup_id}
    assert not StatusCount.objects.filter(rollup_id__in=[made[0].rollup_id, made[1].rollup_id]).exists()
    assert rollup.latest() == (made[3].rollup_id, made[3].started_at)


def test_without_a_finished_rollup_the_figures_are_counted_live(world: World) -> None:
    Rollup.objects.create(started_at=datetime.datetime(2026, 4, 1, tzinfo=datetime.UTC))  # never finished
    found = pipeline_dashboard(system_scope(exact=True), Period(), today=TODAY)
    assert found.source == LIVE and found.as_of is None
    assert sum(r.reached["received"] for r in found.funnel) == len(world.specs)


def test_figures_describe_the_records_when_the_rollup_was_counted(refreshed: World) -> None:
    extra = person_create(
        identity={"given_names": "After", "family_name": "Refresh", "date_of_birth": "1993-03-03"},
        legion="frl",
        actor=Actor("test"),
    )
    assert extra.pk
    rolled, live = _both(system_scope(exact=True), Period())
    assert sum(r.reached["received"] for r in live.funnel) == sum(r.reached["received"] for r in rolled.funnel) + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    since=st.one_of(st.none(), st.dates(D(2025, 12, 1), D(2026, 4, 30))),
    length=st.one_of(st.none(), st.integers(0, 120)),
    legion=st.sampled_from(["", "frl", "geo"]),
)
def test_any_period_reads_the_same_figures_from_the_rollup(
    refreshed: World, since: datetime.date | None, length: int | None, legion: str
) -> None:
    start = since or D(2025, 12, 1)
    until = None if length is None else start + datetime.timedelta(days=length)
    _assert_same(*_both(system_scope(exact=False), Period(legion=legion, since=since, until=until)))


def test_the_rollup_holds_no_person_id_or_call_sign(refreshed: World) -> None:
    people = {p.pk for p in Person.objects.all()} | {p.call_sign for p in Person.objects.all()}
    for model in rollup.ROW_MODELS:
        for row in model.objects.values():  # type: ignore[attr-defined]
            values: dict[str, Any] = row
            assert not people & {str(v) for v in values.values()}, model
