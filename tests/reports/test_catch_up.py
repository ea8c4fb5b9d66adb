"""Catching up: after changes the dashboard's rollup is brought up to the records by counting again only the
days received of the people the changes concern, and ends exactly where counting everything again would."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from legionary.access.roles import Role
from legionary.audit.services import audit_record
from legionary.identity.models import Person
from legionary.identity.services import Actor, person_create
from legionary.reports import freshness, rollup
from legionary.reports.models import Rollup
from legionary.units.models import BilletRole
from legionary.units.services import billet_create
from legionary.vetting.models import Case, CaseState
from legionary.vetting.services import vetting_start
from tests.conftest import MakeStaff
from tests.reports.conftest import World


def _rows(rollup_id: int) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every row of a rollup, without its own id and the rollup's: what the dashboard reads."""
    found: dict[str, Counter[tuple[Any, ...]]] = {}
    for model in rollup.ROW_MODELS:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "rollup_id")]
        rows = model.objects.filter(rollup_id=rollup_id).values_list(*names)  # type: ignore[attr-defined]
        found[model.__name__] = Counter(tuple(int(v) if isinstance(v, int) else v for v in row) for row in rows)
    return found


def _new_application(n: int) -> Person:
    return person_create(
        identity={"given_names": "Caught", "family_name": f"Up{n}", "date_of_birth": "1991-03-03"},
        legion="frl",
        actor=Actor("test"),
    )


def _start_an_old_case(make_staff: MakeStaff) -> Case:
    """Starts vetting a case received weeks ago (its person's day is not today)."""
    intake = make_staff("intake-catch-up", Role.INTAKE_OFFICER)
    case = Case.objects.filter(state=CaseState.RECEIVED).select_related("person").order_by("person__created_at")[0]
    assert case.person.created_at.date() < timezone.now().date()
    return vetting_start(case_id=case.pk, actor=intake)


def test_a_catch_up_ends_with_exactly_the_rows_of_counting_everything_again(
    world: World, make_staff: MakeStaff
) -> None:
    first = rollup.refresh()
    _new_application(1)
    _new_application(2)
    _start_an_old_case(make_staff)
    caught = rollup.catch_up()
    assert caught is not None and caught.rollup_id == first.rollup_id  # in place, no new rollup
    assert caught.batches == 2  # two days received counted again: today's and the old case's
    assert freshness.freshness().current
    everything = rollup.refresh()
    assert _rows(caught.rollup_id) == _rows(everything.rollup_id)
    assert Rollup.objects.get(pk=caught.rollup_id).people == Rollup.objects.get(pk=everything.rollup_id).people


def test_a_catch_up_moves_the_figures_as_of_to_when_it_counted(world: World) -> None:
    first = rollup.refresh()
    _new_application(3)
    caught = rollup.catch_up()
    assert caught is not None
    assert Rollup.objects.get(pk=first.rollup_id).started_at == caught.started_at > first.started_at


def test_a_second_catch_up_of_the_same_changes_changes_nothing(world: World) -> None:
    rollup.refresh()
    _new_application(4)
    caught = rollup.catch_up()
    assert caught is not None
    before = _rows(caught.rollup_id)
    again = rollup.catch_up()
    assert again is not None and again.rows == 0 and again.batches == 0
    assert _rows(caught.rollup_id) == before


def test_an_opening_of_an_identity_changes_no_figure_and_starts_no_recount(world: World) -> None:
    rollup.refresh()
    person = Person.objects.order_by("pk").first()
    assert person is not None
    # The entry an opening writes (identity.unsealed), then the check a write request makes.
    audit_record(actor="ci-officer", action="identity.unsealed", subject=person.id, details={"reason": "review"})
    state = freshness.freshness()
    assert state.current and state.behind == 0 and state.unseen == 1
    with override_settings(LEGIONARY_REPORT_AUTO_REFRESH="inline"):
        before = Rollup.objects.values_list("pk", "started_at", "log_size").get()
        freshness.maybe_refresh(after_write=True)
        assert Rollup.objects.values_list("pk", "started_at", "log_size").get() == before


def test_a_change_the_log_cannot_attribute_to_people_is_left_to_counting_everything(world: World) -> None:
    rollup.refresh()
    audit_record(actor="cli:test", action="demo.filled", details={"people": 10})
    assert rollup.catch_up() is None
    assert not freshness.freshness().current


@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="inline")
def test_after_a_change_the_service_catches_up_in_place_rather_than_counting_everything(world: World) -> None:
    rollup.refresh()
    _new_application(5)
    freshness.maybe_refresh()
    assert Rollup.objects.count() == 1 and freshness.freshness().current


@pytest.mark.parametrize("people", [0, 1])
def test_changes_to_cohorts_and_units_alone_count_the_state_now_tables_again(world: World, people: int) -> None:
    rollup.refresh()
    unit = next(iter(world.units.values()))
    billet_create(actor=world.admin, unit_id=unit.pk, role=BilletRole.MEDIC, qualification_codes=[])
    if people:
        _new_application(6)
    caught = rollup.catch_up()
    assert caught is not None and caught.batches == people
    everything = rollup.refresh()
    assert _rows(caught.rollup_id) == _rows(everything.rollup_id)


@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="inline")
def test_a_rollup_that_disagrees_with_itself_is_counted_again_whole_rather_than_caught_up(
    world: World, make_staff: MakeStaff
) -> None:
    from legionary.reports.models import Grain, StatusCount

    first = rollup.refresh()
    StatusCount.objects.filter(rollup_id=first.rollup_id, grain=Grain.MONTH).delete()  # sums lost
    _start_an_old_case(make_staff)  # takes a person off "received": below what the month rows hold
    with pytest.raises(rollup.RollupMismatch):
        rollup.catch_up()
    freshness.maybe_refresh()
    newest = Rollup.objects.filter(finished_at__isnull=False).order_by("-pk").first()
    assert newest is not None and newest.pk != first.rollup_id and freshness.freshness().current
    assert StatusCount.objects.filter(rollup_id=newest.pk, grain=Grain.MONTH).exists()


@pytest.mark.django_db(transaction=True)
@override_settings(LEGIONARY_REPORT_AUTO_REFRESH="background")
def test_serving_a_write_starts_the_catch_up_in_a_thread_of_its_own_and_the_dashboard_then_counts_it(
    world: World, viewers: dict[str, Any]
) -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from tests.conftest import signed_in
    from tests.reports.test_freshness import _listed, _received

    rollup.refresh()
    Rollup.objects.update(started_at=timezone.now() - datetime.timedelta(hours=1))  # past the spacing
    client = signed_in(viewers["exact"])
    before = _received(client.get("/reports/?legion=frl", secure=True).content.decode())
    _new_application(8)
    middleware = freshness.RefreshAfterWritesMiddleware(lambda request: HttpResponse(status=302))
    middleware(RequestFactory().post("/logout/"))
    thread = freshness._running
    assert thread is not None and thread.name == "reports-refresh"  # not the request's own thread
    thread.join()
    assert Rollup.objects.count() == 1 and freshness.freshness().current  # caught up in place
    page = client.get("/reports/?legion=frl", secure=True).content.decode()
    assert 'id="reports-behind"' not in page
    assert _received(page) == before + 1 == _listed(client, "legion=frl")
