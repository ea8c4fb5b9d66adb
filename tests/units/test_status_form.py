"""A person's status form is safe: nothing preselected, leaving service confirmed on its own page,
errors at the top and at the field with every value kept, and a banner after the change."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from legionary.identity.models import Person, PersonStatus
from legionary.units.models import Assignment, StatusChange
from tests.conftest import signed_in
from tests.training.conftest import post
from tests.units.conftest import Org

pytestmark = pytest.mark.django_db


def _url(org: Org) -> str:
    return f"/units/people/{org.inside.pk}/"


def test_the_status_form_offers_the_next_statuses_with_none_chosen(org: Org) -> None:
    page = signed_in(org.commander).get(_url(org), secure=True).content.decode()
    form = page[page.index('id="status-form"') :]
    radios = re.findall(r'<input class="govuk-radios__input"[^>]*>', form)
    assert {re.search(r'value="(\w+)"', r).group(1) for r in radios} == {  # type: ignore[union-attr]
        "active",
        "on_leave",
        "wounded",
        "missing",
        "discharged",
        "deceased",
    }
    assert not any("checked" in r for r in radios), "no status may be preselected"
    assert "<option" not in form and "selected" not in form


def test_choosing_nothing_is_an_error_at_the_top_and_at_the_field_keeping_what_was_typed(org: Org) -> None:
    client = signed_in(org.commander)
    before = StatusChange.objects.filter(person=org.inside).count()
    response = post(client, f"{_url(org)}status", {"effective_on": "", "reason": "back from hospital"}, page=_url(org))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="status-errors"' in page and 'href="#status-new-0"' in page
    assert "Choose the new status." in page and "Give the date the change took effect." in page
    assert ">back from hospital</textarea>" in page
    assert StatusChange.objects.filter(person=org.inside).count() == before


def test_deceased_is_recorded_only_after_its_own_confirmation_page(org: Org) -> None:
    client = signed_in(org.commander)
    today = timezone.localdate().isoformat()
    data = {"status": PersonStatus.DECEASED, "effective_on": today, "reason": "killed in action"}
    response = post(client, f"{_url(org)}status", data, page=_url(org))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="status-confirm-form"' in page and 'id="status-consequences"' in page
    assert "cannot be undone" in page and "becomes vacant" in page
    person = Person.objects.get(pk=org.inside.pk)
    assert person.status == PersonStatus.ASSIGNED, "nothing is recorded before the confirmation"
    assert Assignment.objects.filter(person=person, ended_on__isnull=True).exists()

    confirmed = post(client, f"{_url(org)}status", {**data, "confirmed": "yes"}, page=_url(org))
    assert (confirmed.status_code, confirmed["Location"]) == (302, _url(org))
    assert "status recorded as “Deceased”" in client.get(_url(org), secure=True).content.decode()
    assert Person.objects.get(pk=org.inside.pk).status == PersonStatus.DECEASED
    assert not Assignment.objects.filter(person=person, ended_on__isnull=True).exists()


def test_a_reversible_status_is_recorded_at_once_with_a_banner(org: Org) -> None:
    client = signed_in(org.commander)
    data = {"status": PersonStatus.WOUNDED, "effective_on": timezone.localdate().isoformat(), "reason": "evacuated"}
    response = post(client, f"{_url(org)}status", data, page=_url(org))
    assert (response.status_code, response["Location"]) == (302, _url(org))
    assert "status recorded as “Wounded”" in client.get(_url(org), secure=True).content.decode()
    assert Person.objects.get(pk=org.inside.pk).status == PersonStatus.WOUNDED


def test_a_status_outside_the_lifecycle_is_refused_at_the_field(org: Org) -> None:
    client = signed_in(org.commander)
    data = {"status": PersonStatus.TRAINED, "effective_on": timezone.localdate().isoformat(), "reason": "a mistake"}
    response = post(client, f"{_url(org)}status", data, page=_url(org))
    assert response.status_code == 400
    assert Person.objects.get(pk=org.inside.pk).status == PersonStatus.ASSIGNED


def test_the_status_form_is_refused_to_an_instructor_and_out_of_scope(org: Org, make_staff) -> None:  # type: ignore[no-untyped-def]
    from legionary.access.roles import Role

    instructor = make_staff("instructor-x", Role.INSTRUCTOR)
    data = {"status": PersonStatus.WOUNDED, "effective_on": timezone.localdate().isoformat(), "reason": "evacuated"}
    assert post(signed_in(instructor), f"{_url(org)}status", data, page="/").status_code in (403, 404)
    outside = f"/units/people/{org.outside.pk}/status"
    assert post(signed_in(org.commander), outside, data, page=_url(org)).status_code == 404
