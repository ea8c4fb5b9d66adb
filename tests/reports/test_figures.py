"""Every figure of the dashboard equals a count the test computes itself from the world's specs."""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict

import pytest

from legionary.identity.models import PersonStatus
from legionary.reports.selectors import (
    FUNNEL_STAGES,
    Dashboard,
    Period,
    pipeline_dashboard,
    scope_for_staff,
    system_scope,
)
from tests.reports.conftest import SERVING, TODAY, Spec, World

pytestmark = pytest.mark.django_db

AT_NOW = {
    "received": {PersonStatus.RECEIVED},
    "in_vetting": {PersonStatus.IN_VETTING},
    "approved": {PersonStatus.APPROVED},
    "denied": {PersonStatus.DENIED},
    "in_training": {PersonStatus.IN_TRAINING},
    "trained": {PersonStatus.TRAINED},
    "assigned": SERVING,
}


def _exact(world: World, period: Period | None = None) -> Dashboard:
    return pipeline_dashboard(system_scope(exact=True), period or Period(), today=TODAY)


def _days(later: datetime.datetime | datetime.date, earlier: datetime.datetime | datetime.date) -> float:
    def instant(value: datetime.datetime | datetime.date) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            return value
        return datetime.datetime.combine(value, datetime.time(0), tzinfo=datetime.UTC)

    return (instant(later) - instant(earlier)).total_seconds() / 86400


def _spans(spec: Spec) -> dict[str, float]:
    out = {}
    if spec.vetting:
        out["received"] = _days(spec.vetting, spec.received)
    if spec.vetting and spec.decided:
        out["in_vetting"] = _days(spec.decided, spec.vetting)
    if spec.decided and spec.enrolled:
        out["approved"] = _days(spec.enrolled, spec.decided)
    if spec.enrolled and spec.completed:
        out["in_training"] = _days(spec.completed, spec.enrolled)
    if spec.completed and spec.assigned:
        out["trained"] = _days(spec.assigned, spec.completed)
    return out


def _p90(values: list[float]) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]


def test_the_funnel_counts_who_reached_each_stage_and_who_is_at_it_per_legion_and_month(world: World) -> None:
    dashboard = _exact(world)
    got = {(r.legion, r.month): (r.reached, r.now) for r in dashboard.funnel}
    groups: dict[tuple[str, str], list[Spec]] = defaultdict(list)
    for spec in world.specs:
        groups[(spec.legion, spec.month)].append(spec)
    assert set(got) == set(groups)
    for key, specs in groups.items():
        reached = {stage: sum(s.reached(stage) for s in specs) for stage in FUNNEL_STAGES}
        now = {stage: sum(s.status in AT_NOW[stage] for s in specs) for stage in FUNNEL_STAGES}
        assert got[key] == (reached, now), key


def test_the_funnel_of_a_period_counts_only_applications_received_in_it(world: World) -> None:
    period = Period(legion="frl", since=datetime.date(2026, 2, 1), until=datetime.date(2026, 2, 28))
    dashboard = _exact(world, period)
    expected = [s for s in world.specs if s.legion == "frl" and s.month == "2026-02"]
    assert [(r.legion, r.month) for r in dashboard.funnel] == [("frl", "2026-02")]
    assert dashboard.funnel[0].reached["received"] == len(expected)


def test_time_in_each_stage_is_the_median_and_90th_percentile_of_the_people_who_left_it(world: World) -> None:
    dashboard = _exact(world)
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for spec in world.specs:
        for stage, days in _spans(spec).items():
            groups[(stage, "", "")].append(days)
            groups[(stage, spec.legion, "")].append(days)
            groups[(stage, "", spec.month)].append(days)
    checked = 0
    for row in dashboard.durations:
        values = groups.get((row.stage, row.legion, row.month), [])
        assert row.people == len(values), row
        if values:
            assert row.median == pytest.approx(statistics.median(values), abs=1e-3), row
            assert row.p90 == pytest.approx(_p90(values), abs=1e-3), row
            checked += 1
        else:
            assert row.median is None and row.p90 is None
    assert checked >= 15  # every stage overall, and most per legion and month


def test_overdue_checks_are_open_checks_past_their_due_date_on_undecided_cases(world: World) -> None:
    dashboard = _exact(world)
    open_by_legion = Counter(s.legion for s in world.specs if s.open_check_due is not None)
    overdue_by_legion = Counter(s.legion for s in world.specs if s.open_check_due and s.open_check_due < TODAY)
    got = {r.legion: (r.open, r.overdue) for r in dashboard.overdue}
    assert {r.check_type for r in dashboard.overdue} == {"rep-background"}
    assert got == {legion: (open_by_legion[legion], overdue_by_legion[legion]) for legion in open_by_legion}
    assert sum(overdue_by_legion.values()) > 0


def test_screening_flags_count_flagged_unresolved_and_after_denial_cases(world: World) -> None:
    dashboard = _exact(world)
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for s in world.specs:
        if s.flagged:
            row = expected[(s.legion, s.month)]
            row[0] += 1
            row[1] += not s.flag_resolved
            row[2] += s.flag_after_denial
    got = {(r.legion, r.month): [r.flagged, r.unresolved, r.after_denial] for r in dashboard.flags}
    assert got == dict(expected)


def test_denial_reasons_count_each_denied_case_once_per_guideline(world: World) -> None:
    dashboard = _exact(world)
    expected = Counter((letter, s.legion) for s in world.specs for letter in s.guidelines)
    got = {(r.guideline, r.legion): r.cases for r in dashboard.denials}
    assert got == dict(expected)
    assert expected  # the world has denials with findings


def test_cohort_progress_counts_enrolled_in_training_and_completed_and_the_course_week(world: World) -> None:
    dashboard = _exact(world)
    got = {r.legion: (r.enrolled, r.in_training, r.completed, r.week_now, r.weeks) for r in dashboard.cohorts}
    week = (TODAY - datetime.date(2026, 3, 2)).days // 7 + 1
    expected = {}
    for legion in ("frl", "geo"):
        enrolled = [s for s in world.specs if s.cohort == legion]
        completed = sum(s.completed is not None for s in enrolled)
        expected[legion] = (len(enrolled), len(enrolled) - completed, completed, week, 12)
    assert got == expected


def test_unit_strength_sums_billets_and_filled_billets_over_each_subtree(world: World) -> None:
    dashboard = _exact(world)
    filled = Counter(s.unit for s in world.specs if s.unit)
    got = {r.unit_id: (r.billets, r.filled, r.depth) for r in dashboard.strength}
    units = world.units
    assert got == {
        units["framework"].pk: (24, sum(filled.values()), 0),
        units["frl"].pk: (16, filled["frl-a"] + filled["frl-b"], 1),
        units["geo"].pk: (8, filled["geo-a"], 1),
    }


def test_a_legion_scoped_viewer_counts_only_his_legion(world: World, viewers: dict[str, object]) -> None:
    dashboard = pipeline_dashboard(scope_for_staff(viewers["geo"]), Period(), today=TODAY)
    geo = [s for s in world.specs if s.legion == "geo"]
    assert {r.legion for r in dashboard.funnel} == {"geo"}
    assert sum(r.reached["received"] for r in dashboard.funnel) == len(geo)
    assert {r.legion for r in dashboard.overdue} <= {"geo"}
    assert {r.legion for r in dashboard.denials} <= {"geo"}
    assert [r.legion for r in dashboard.cohorts] == ["geo"]
    geo_filled = sum(s.unit == "geo-a" for s in geo)
    assert [(r.unit_id, r.billets, r.filled) for r in dashboard.strength] == [
        (world.units["geo"].pk, 8, geo_filled),
        (world.units["geo-a"].pk, 8, geo_filled),
    ]


def test_a_unit_commander_counts_only_the_people_assigned_in_his_subtree(
    world: World, viewers: dict[str, object]
) -> None:
    dashboard = pipeline_dashboard(scope_for_staff(viewers["commander"]), Period(), today=TODAY)
    mine = [s for s in world.specs if s.unit == "frl-a"]
    assert sum(r.reached["received"] for r in dashboard.funnel) == len(mine)
    assert sum(r.reached["assigned"] for r in dashboard.funnel) == len(mine)
    assert dashboard.overdue == []
    assert sum(r.flagged for r in dashboard.flags) == sum(s.flagged for s in mine)
    assert [(r.unit_id, r.billets, r.filled) for r in dashboard.strength] == [(world.units["frl-a"].pk, 8, len(mine))]
    assert sum(r.enrolled for r in dashboard.cohorts) == len(mine)
