"""Pages, export and API leak nothing out of scope: lists, searches, counts and the CSV hold in-scope rows only."""

from __future__ import annotations

import csv
import io

import pytest

from legionary.audit.models import Entry
from legionary.units import services
from tests.conftest import signed_in
from tests.units.conftest import Org, qualify, trained_person


def _second_frl_soldier(org: Org) -> str:
    """Someone in company B: same legion as company A, outside its commander's subtree."""
    person = trained_person("Caesar")
    services.billet_assign(actor=org.admin, person_id=person.pk, billet_id=org.other_rifleman.pk)
    return person.pk


def test_the_people_list_counts_and_shows_only_people_in_scope(org: Org) -> None:
    hidden = _second_frl_soldier(org)
    page = signed_in(org.commander).get("/units/people/", secure=True)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="people-total">1 person in your scope' in body
    assert org.inside.pk in body and hidden not in body and org.outside.pk not in body


def test_a_search_finds_nobody_outside_scope_even_by_exact_call_sign(org: Org) -> None:
    _second_frl_soldier(org)
    body = signed_in(org.commander).get("/units/people/?q=Caesar", secure=True).content.decode()
    assert 'id="people-total">0 people in your scope' in body


def test_the_roster_shows_strength_by_call_sign_and_who_lacks_a_qualification(org: Org) -> None:
    lacking = trained_person("Caesar")
    request = services.override_request(
        actor=org.admin, person_id=lacking.pk, billet_id=org.medic.pk, reason="short of medics this week"
    )
    services.override_approve(actor=org.second_admin, request_id=request.pk)
    body = signed_in(org.commander).get(f"/units/{org.company.pk}/", secure=True).content.decode()
    assert 'id="roster-billets">2<' in body and 'id="roster-filled">2<' in body
    assert 'id="roster-vacant">0<' in body and 'id="roster-lacking">1<' in body
    assert "Zaza" in body and "Caesar" in body and "Synthetikov" not in body and "Quentin" not in body


def test_the_roster_export_is_by_call_sign_in_scope_and_audited_with_its_row_count(org: Org) -> None:
    qualify(org.inside, "tccc-cls", granted_on=org.framework.created_at.date())
    response = signed_in(org.commander).get(f"/units/{org.company.pk}/roster.csv", secure=True)
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == services.ROSTER_COLUMNS
    assert [r[3] for r in rows[1:]] == ["Zaza", ""]
    assert "Synthetikov" not in response.content.decode()
    entry = Entry.objects.get(action="units.roster_exported")
    assert '"rows":2' in bytes(entry.body).decode()


def test_another_units_roster_and_export_are_not_found(org: Org) -> None:
    client = signed_in(org.other_commander)
    assert client.get(f"/units/{org.company.pk}/", secure=True).status_code == 404
    assert client.get(f"/units/{org.company.pk}/roster.csv", secure=True).status_code == 404
    assert not Entry.objects.filter(action="units.roster_exported").exists()


def test_the_unit_tree_shows_the_commanders_subtree_only(org: Org) -> None:
    body = signed_in(org.commander).get("/units/", secure=True).content.decode()
    assert 'id="unit-count">2 units in your scope' in body
    assert org.platoon.name in body and org.other_company.name not in body and org.brl.name not in body


@pytest.mark.urls("tests.units.api_urls")
def test_the_api_lists_and_counts_only_people_and_units_in_scope(org: Org) -> None:
    _second_frl_soldier(org)
    client = signed_in(org.commander)
    people = client.get("/api/v1/units/people", secure=True).json()
    assert people["next"] is None and [p["call_sign"] for p in people["people"]] == ["Zaza"]
    units = client.get("/api/v1/units/", secure=True).json()
    assert {u["id"] for u in units["units"]} == {org.company.pk, org.platoon.pk} and units["next"] is None
    roster = client.get(f"/api/v1/units/{org.company.pk}/roster", secure=True).json()
    assert (roster["billets"], roster["filled"]) == (2, 1)
    refused = client.get(f"/api/v1/units/{org.other_company.pk}/roster", secure=True)
    assert refused.status_code == 404 and refused.json()["type"].endswith("not-found")


def test_a_commander_gets_not_found_for_a_person_of_another_unit(org: Org) -> None:
    hidden = _second_frl_soldier(org)
    client = signed_in(org.commander)
    assert client.get(f"/units/people/{org.inside.pk}/", secure=True).status_code == 200
    assert client.get(f"/units/people/{hidden}/", secure=True).status_code == 404
