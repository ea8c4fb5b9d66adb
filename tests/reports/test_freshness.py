"""The dashboard's figures are never stale without saying so: the running service refreshes its own
rollup after changes, the page says as of when, and its tables agree with its people list."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import override_settings
from django.utils import timezone

from legionary.access.models import Staff
from legionary.identity.services import Actor, person_create
from legionary.reports import freshness, rollup
from legionary.reports.freshness import Freshness, maybe_refresh, refresh_due
from legionary.reports.models import Rollup
from tests.conftest import signed_in
from tests.reports.conftest import World

NOW = datetime.datetime(2026, 4, 20, 12, 0, tzinfo=datetime.UTC)


def _new_application(n: int = 0) -> None:
    """A change anywhere: a new person (the identity service audits it)."""
    person_create(
        identity={"given_names": "Fresh", "family_name": f"Applicant{n}", "date_of_birth": "1992-02-02"},
        legion="frl",
        actor=Actor("test"),
    )


def test_a_rollup_falls_behind_with_every_change_and_a_refresh_catches_up(world: World) -> None:
    assert freshness.freshness().as_of is None
    rollup.refresh()
    assert freshness.freshness().current
    _new_application()
    state = freshness.freshness()
    assert state.behind >= 1 and not state.current and not state.refreshing
    rollup.refresh()
    assert freshness.freshness().current


@pytest.mark.parametrize(
    ("state", "age_minutes", "due"),
    [
        (Freshness(as_of=None, behind=3, refreshing=False), 0, True),  # no rollup yet
        (Freshness(as_of=NOW, behind=0, refreshing=False, last_seconds=0.2), 60, False),  # current, however old
        (Freshness(as_of=NOW, behind=1, refreshing=True, last_seconds=0.2), 60, False),  # one is under way
        (Freshness(as_of=NOW, behind=1, refreshing=False, last_seconds=0.2), 0, True),  # quick: at once
        (Freshness(as_of=NOW, behind=1, refreshing=False, last_seconds=90.0), 1, False),  # slow: not yet
        (Freshness(as_of=NOW, behind=1, refreshing=False, last_seconds=90.0), 5, True),  # slow, old enough
    ],
)
def test_a_refresh_is_due_after_changes_at_once_when_cheap_else_after_the_maximum_age(
    state: Freshness, age_minutes: int, due: bool
) -> None:
    with override_settings(LEGIONARY_REPORT_MAX_AGE_MINUTES=5, LEGIONARY_REPORT_QUICK_SECONDS=5):
        assert refresh_due(state, now=NOW + datetime.timedelta(minutes=age_minutes)) is due


@pytest.mark.parametrize(
    ("since_last_started", "due"),
    [
        (datetime.timedelta(seconds=1), False),  # 5 x its 0.2 s: too soon after a write
        (datetime.timedelta(seconds=2), True),  # 10 x: due
        (datetime.timedelta(minutes=1), True),
    ],
)
def test_after_a_write_a_quick_refresh_waits_ten_times_its_duration_so_refreshes_take_a_tenth_of_the_time(
    since_last_started: datetime.timedelta, due: bool
) -> None:
    state = Freshness(as_of=NOW, behind=1, refreshing=False, last_seconds=0.2)
    with override_settings(LEGIONARY_REPORT_MAX_AGE_MINUTES=5, LEGIONARY_REPORT_QUICK_SECONDS=5):
        assert refresh_due(state, now=NOW + since_last_started, after_write=True) is due
        # A reader of the dashboard starts one at once.
        assert refresh_due(state, now=NOW + since_last_started) is True


@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="inline")
def test_a_write_right_after_a_quick_refresh_does_not_start_another(world: World, viewers: dict[str, Staff]) -> None:
    from tests.training.conftest import post

    rollup.refresh()
    Rollup.objects.update(seconds=4.0)  # quick (under 5 s): the next not before 40 s after it started
    _new_application(6)
    post(signed_in(viewers["exact"]), "/logout/", {}, page="/work/")
    assert Rollup.objects.count() == 1 and not freshness.freshness().current


@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="background")
def test_serving_in_the_background_a_process_checks_after_writes_at_most_once_a_second(world: World) -> None:
    from django.db import connection
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    middleware = freshness.RefreshAfterWritesMiddleware(lambda request: HttpResponse(status=302))
    rollup.refresh()  # current: nothing to start, only the check's reads
    with CaptureQueriesContext(connection) as first:
        middleware(RequestFactory().post("/logout/"))
    with CaptureQueriesContext(connection) as second:
        middleware(RequestFactory().post("/logout/"))
    assert any("reports_rollup" in q["sql"] for q in first.captured_queries)
    assert second.captured_queries == []
    # ...but the skipped write is looked at when the second has passed, in a timer thread.
    deferred = freshness._deferred
    assert deferred is not None and deferred.is_alive()
    deferred.cancel()
    deferred.join()
    middleware.next_check -= freshness.CHECK_EVERY_SECONDS  # a second later
    with CaptureQueriesContext(connection) as third:
        middleware(RequestFactory().post("/logout/"))
    assert any("reports_rollup" in q["sql"] for q in third.captured_queries)


@pytest.mark.django_db(transaction=True)
@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="background")
def test_the_last_write_of_a_burst_is_counted_once_the_spacing_has_passed(world: World) -> None:
    rollup.refresh()
    Rollup.objects.update(seconds=0.05)  # quick: the next after a write not before 0.5 s after it started
    as_of = Rollup.objects.get().started_at
    _new_application(7)
    state = maybe_refresh(now=as_of, after_write=True)  # too soon: nothing starts now...
    assert not state.refreshing and state.behind >= 1
    deferred = freshness._deferred
    assert deferred is not None
    deferred.join()  # ...a timer looks again once the spacing has passed, and starts it
    thread = freshness._running
    assert thread is not None
    thread.join()
    assert freshness.freshness().current


def test_an_unfinished_rollup_started_recently_is_a_refresh_under_way_and_an_old_one_is_not(world: World) -> None:
    rollup.refresh()
    _new_application()
    Rollup.objects.create(started_at=timezone.now())  # another process counting
    assert freshness.freshness().refreshing
    Rollup.objects.filter(finished_at__isnull=True).update(started_at=timezone.now() - datetime.timedelta(hours=1))
    assert not freshness.freshness().refreshing  # interrupted long ago: ignored


def _received(page: str) -> int:
    """The funnel's "Application received … reached" figure on the dashboard."""
    table = page[page.index('id="table-funnel"') :]
    match = re.search(
        r"Application received</th>" r'<td class="govuk-table__cell govuk-table__cell--numeric">(\d+)</td>', table
    )
    assert match, table[:2000]
    return int(match.group(1))


def _listed(client: object, query: str) -> int:
    page = client.get(f"/reports/people/?{query}", secure=True).content.decode()  # type: ignore[attr-defined]
    return page.count('id="person-')


@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="inline")
def test_the_dashboard_counts_a_new_application_at_once_and_agrees_with_its_people_list(
    world: World, viewers: dict[str, Staff]
) -> None:
    client = signed_in(viewers["exact"])
    query = "legion=frl"
    first = client.get(f"/reports/?{query}", secure=True).content.decode()
    assert 'data-source="rollup"' in first  # the page itself started the first rollup
    before = _received(first)
    assert before == _listed(client, query)
    _new_application(1)
    page = client.get(f"/reports/?{query}", secure=True).content.decode()
    assert _received(page) == before + 1 == _listed(client, query)
    assert 'id="reports-behind"' not in page


def test_a_page_read_while_the_rollup_is_behind_says_so(world: World, viewers: dict[str, Staff]) -> None:
    rollup.refresh()
    _new_application(2)
    _new_application(3)
    page = signed_in(viewers["exact"]).get("/reports/", secure=True).content.decode()
    assert 'id="reports-behind"' in page and "changes were recorded after they were counted" in page


@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="inline")
def test_a_successful_write_request_refreshes_the_rollup_and_a_refused_one_does_not(
    world: World, viewers: dict[str, Staff]
) -> None:
    from tests.training.conftest import post

    rollup.refresh()
    _new_application(4)
    # Long enough ago that a write may start the next refresh (``QUICK_SPACING``).
    Rollup.objects.update(started_at=timezone.now() - datetime.timedelta(hours=1))
    refused = post(signed_in(viewers["exact"]), "/reports/", {}, page="/work/")
    assert refused.status_code == 405
    assert not freshness.freshness().current
    # Signing out is a write request that succeeds (a redirect).
    post(signed_in(viewers["exact"]), "/logout/", {}, page="/work/")
    assert freshness.freshness().current


@pytest.mark.django_db(transaction=True)
@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="background")
def test_in_the_background_the_refresh_runs_in_a_thread_of_the_serving_process(world: World) -> None:
    _new_application(5)
    state = maybe_refresh()
    assert state.refreshing
    thread = freshness._running
    assert thread is not None
    thread.join()
    assert freshness.freshness().current
