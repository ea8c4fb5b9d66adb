"""A commander fills a vacant billet from the billet: the roster's vacant line links to a page listing
the people awaiting assignment in its legion, longest waiting first, none chosen, each with what he
lacks for the billet (issue 18: before, the roster offered only a box for a pseudonymous id)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from legionary.access.roles import Role
from legionary.identity.models import Person, PersonStatus
from legionary.units.models import Assignment, OverrideRequest
from tests.conftest import MakeStaff, signed_in
from tests.training.conftest import post
from tests.units.conftest import Org, qualify, trained_person


def test_the_roster_links_a_vacant_billet_to_a_page_of_the_people_awaiting_assignment(org: Org) -> None:
    caesar = trained_person("Caesar")
    kestrel = trained_person("Kestrel", legion="brl")
    client = signed_in(org.commander)
    roster = client.get(f"/units/{org.company.pk}/", secure=True).content.decode()
    url = f"/units/billets/{org.medic.pk}/assign"
    assert f'id="fill-{org.medic.pk}" href="{url}"' in roster
    assert f'id="fill-{org.rifleman.pk}"' not in roster  # filled: nothing to fill
    page = client.get(url, secure=True).content.decode()
    assert f'id="person-{caesar.pk}"' in page and f'id="person-{kestrel.pk}"' not in page  # his legion only
    assert "checked" not in page
    assert "Lacks tccc-cls: needs an override with a reason." in page
    assert 'id="fill-required">tccc-cls<' in page


def test_choosing_no_one_or_someone_lacking_a_qualification_is_an_error_at_the_field(org: Org) -> None:
    caesar = trained_person("Caesar")
    client = signed_in(org.commander)
    url = f"/units/billets/{org.medic.pk}/assign"
    response = post(client, url, {}, page=url)
    assert response.status_code == 400 and "Choose the person to assign." in response.content.decode()
    response = post(client, url, {"person": caesar.pk}, page=url)
    page = response.content.decode()
    assert response.status_code == 400 and 'href="#override-reason"' in page and "tccc-cls" in page
    assert f'id="person-{caesar.pk}" name="person" type="radio" value="{caesar.pk}" checked' in page
    assert Person.objects.get(pk=caesar.pk).status == PersonStatus.TRAINED
    # With a reason it becomes an override request for another staff member to approve.
    response = post(client, url, {"person": caesar.pk, "override_reason": "Course booked for next week"}, page=url)
    assert response.status_code == 302 and response["Location"] == f"/units/{org.medic.unit_id}/"
    assert OverrideRequest.objects.filter(person=caesar, billet=org.medic).exists()


def test_the_commander_fills_the_billet_and_returns_to_the_roster_with_a_banner(org: Org) -> None:
    caesar = trained_person("Caesar")
    qualify(caesar, "tccc-cls", granted_on=timezone.localdate() - timedelta(days=1))
    client = signed_in(org.commander)
    url = f"/units/billets/{org.medic.pk}/assign"
    response = post(client, url, {"person": caesar.pk}, page=url)
    assert response.status_code == 302
    assert Assignment.objects.get(person=caesar, is_latest=True).billet_id == org.medic.pk
    assert "Caesar assigned: Medic, 1st Platoon." in client.get(response["Location"], secure=True).content.decode()
    assert f'id="person-{caesar.pk}"' not in client.get(url, secure=True).content.decode()


def test_another_units_billet_is_not_found_and_an_instructor_is_refused(org: Org, make_staff: MakeStaff) -> None:
    trained_person("Caesar")
    assert (
        signed_in(org.commander).get(f"/units/billets/{org.other_rifleman.pk}/assign", secure=True).status_code == 404
    )
    instructor = make_staff("instructor-f", Role.INSTRUCTOR)
    assert signed_in(instructor).get(f"/units/billets/{org.medic.pk}/assign", secure=True).status_code == 403
