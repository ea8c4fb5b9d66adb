"""A unit commander's work: who awaits assignment, which billets are vacant, which qualifications
expire; and filling a vacant billet of his own units from there, never one elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from legionary.access.mywork import Who, WorkSection
from legionary.access.policy import permissions_of
from legionary.access.roles import Perm, Role
from legionary.identity.models import Person, PersonStatus
from legionary.units import mywork, services
from legionary.units.models import Assignment, Billet
from tests.conftest import signed_in
from tests.training.conftest import post
from tests.units.conftest import Org, qualify, trained_person

pytestmark = pytest.mark.django_db

COMMANDER = permissions_of({Role.UNIT_COMMANDER})


def _sections(org: Org) -> dict[str, WorkSection]:
    who = Who(staff=org.commander, perms=COMMANDER)
    return {
        "awaiting-assignment": mywork.awaiting_assignment.provide(who),
        "vacant-billets": mywork.vacant_billets.provide(who),
        "expiring-qualifications": mywork.expiring_qualifications.provide(who),
    }


def test_the_commander_sees_trained_people_of_his_legion_and_his_own_vacant_billets(org: Org) -> None:
    caesar = trained_person("Caesar")
    trained_person("Kestrel", legion="brl")  # another legion's: never his
    sections = _sections(org)
    waiting = sections["awaiting-assignment"]
    assert waiting.count == 1 and [i.label for i in waiting.items] == ["Caesar"]
    assert waiting.items[0].url == f"/units/people/{caesar.pk}/assign"
    vacant = sections["vacant-billets"]
    # Company A's platoon: the medic billet is vacant (the rifleman is Zaza's); company B's is not his.
    assert vacant.count == 1 and vacant.items[0].label == "Medic, 1st Platoon"
    assert f"#billet-{org.medic.pk}" in vacant.items[0].url


def _marked_vacant() -> set[int]:
    return set(Billet.objects.filter(vacant=True).values_list("pk", flat=True))


def _without_holder() -> set[int]:
    held = Assignment.objects.filter(billet=OuterRef("pk"), ended_on__isnull=True)
    return set(Billet.objects.exclude(Exists(held)).values_list("pk", flat=True))


def test_a_billet_is_marked_vacant_exactly_while_nobody_holds_it(org: Org) -> None:
    """``Billet.vacant`` (what "Vacant billets" reads) follows every assignment: filled, left by a
    move to another billet, left by a discharge."""
    assert _marked_vacant() == _without_holder() == {org.medic.pk, org.other_rifleman.pk}
    caesar = trained_person("Caesar")
    services.billet_assign(actor=org.admin, person_id=caesar.pk, billet_id=org.other_rifleman.pk)
    assert _marked_vacant() == _without_holder() == {org.medic.pk}
    # Zaza moves from the rifleman's billet to the medic's: the one he left is vacant again.
    qualify(org.inside, "tccc-cls", granted_on=timezone.localdate() - timedelta(days=1))
    services.billet_assign(actor=org.admin, person_id=org.inside.pk, billet_id=org.medic.pk)
    assert _marked_vacant() == _without_holder() == {org.rifleman.pk}
    assert [i.label for i in _sections(org)["vacant-billets"].items] == ["Rifleman, 1st Platoon"]
    services.person_status_change(
        actor=org.admin,
        person_id=caesar.pk,
        status=PersonStatus.DISCHARGED,
        effective_on=timezone.localdate(),
        reason="end of contract",
    )
    assert _marked_vacant() == _without_holder() == {org.rifleman.pk, org.other_rifleman.pk}


def test_the_vacant_billets_section_costs_the_same_queries_with_more_filled_billets(org: Org) -> None:
    who = Who(staff=org.commander, perms=COMMANDER)
    with CaptureQueriesContext(connection) as few:
        mywork.vacant_billets.provide(who)
    for n in range(5):
        billet = services.billet_create(
            actor=org.admin, unit_id=org.platoon.pk, role="rifleman", qualification_codes=[]
        )
        services.billet_assign(actor=org.admin, person_id=trained_person(f"Filler{n}").pk, billet_id=billet.pk)
    with CaptureQueriesContext(connection) as more:
        section = mywork.vacant_billets.provide(who)
    assert len(more) == len(few) and section.count == 1


def test_qualifications_expiring_in_his_units_are_listed_soonest_first(org: Org) -> None:
    today = timezone.localdate()
    qualify(org.inside, "tccc-cls", granted_on=today - timedelta(days=300), expires_on=today + timedelta(days=20))
    qualify(org.outside, "tccc-cls", granted_on=today - timedelta(days=300), expires_on=today + timedelta(days=3))
    expiring = _sections(org)["expiring-qualifications"]
    assert expiring.count == 1 and expiring.items[0].label == "Zaza"
    assert expiring.items[0].due == today + timedelta(days=20) and not expiring.items[0].overdue


def test_the_commander_fills_a_vacant_billet_from_his_work_with_a_banner(org: Org) -> None:
    caesar = trained_person("Caesar")
    qualify(caesar, "tccc-cls", granted_on=timezone.localdate() - timedelta(days=1))
    client = signed_in(org.commander)
    url = f"/units/people/{caesar.pk}/assign"
    work = client.get("/work/", secure=True).content.decode()
    assert 'id="work-units-awaiting-assignment"' in work and f'href="{url}"' in work
    page = client.get(url, secure=True).content.decode()
    assert f'id="billet-{org.medic.pk}"' in page and "checked" not in page
    assert f'id="billet-{org.other_rifleman.pk}"' not in page  # company B is not his
    response = post(client, url, {"billet": str(org.medic.pk)}, page=url)
    assert (response.status_code, response["Location"]) == (302, f"/units/people/{caesar.pk}/")
    assert Assignment.objects.get(person=caesar, is_latest=True).billet_id == org.medic.pk
    assert "Caesar assigned: Medic, 1st Platoon." in client.get(response["Location"], secure=True).content.decode()
    assert _sections(org)["awaiting-assignment"].count == 0


def test_choosing_no_billet_or_lacking_a_qualification_is_an_error_at_the_field(org: Org) -> None:
    caesar = trained_person("Caesar")
    client = signed_in(org.commander)
    url = f"/units/people/{caesar.pk}/assign"
    response = post(client, url, {}, page=url)
    assert response.status_code == 400 and "Choose the billet." in response.content.decode()
    response = post(client, url, {"billet": str(org.medic.pk)}, page=url)
    page = response.content.decode()
    assert response.status_code == 400 and 'href="#override-reason"' in page and "tccc-cls" in page
    assert f'id="billet-{org.medic.pk}" name="billet" type="radio" value="{org.medic.pk}" checked' in page
    assert Person.objects.get(pk=caesar.pk).status == PersonStatus.TRAINED


def test_a_commander_cannot_take_another_legions_person_or_fill_another_units_billet(org: Org) -> None:
    kestrel = trained_person("Kestrel", legion="brl")
    caesar = trained_person("Caesar")
    assert signed_in(org.commander).get(f"/units/people/{kestrel.pk}/assign", secure=True).status_code == 404
    with pytest.raises(Http404):
        services.billet_assign(actor=org.commander, person_id=caesar.pk, billet_id=org.other_rifleman.pk)
    with pytest.raises(Http404):
        services.billet_assign(actor=org.commander, person_id=kestrel.pk, billet_id=org.medic.pk)


def test_an_instructor_may_not_assign(org: Org, make_staff) -> None:  # type: ignore[no-untyped-def]
    caesar = trained_person("Caesar")
    instructor = make_staff("instructor-z", Role.INSTRUCTOR)
    assert Perm.ASSIGN_BILLETS not in permissions_of({Role.INSTRUCTOR})
    assert signed_in(instructor).get(f"/units/people/{caesar.pk}/assign", secure=True).status_code == 403


def test_the_commanders_sections_cost_the_same_queries_with_more_people_and_billets(org: Org) -> None:
    trained_person("Caesar")

    def measure() -> int:
        with CaptureQueriesContext(connection) as captured:
            _sections(org)
        return len(captured)

    before = measure()
    today = timezone.localdate()
    for n in range(8):
        person = trained_person(f"More{n}")
        qualify(
            person, "weapons-handling", granted_on=today - timedelta(days=700), expires_on=today + timedelta(days=9)
        )
        services.billet_create(actor=org.admin, unit_id=org.platoon.pk, role="rifleman", qualification_codes=[])
    for n in range(3):
        person = Person.objects.get(call_sign=f"More{n}")
        billet = services.billet_create(
            actor=org.admin, unit_id=org.platoon.pk, role="rifleman", qualification_codes=[]
        )
        services.billet_assign(actor=org.admin, person_id=person.pk, billet_id=billet.pk)
    assert measure() == before


def test_the_vacant_billets_are_read_from_their_partial_index_not_every_billet_of_his_units(org: Org) -> None:
    from legionary.units.models import Billet
    from tests.plans import plan_of, statements_of

    # As in service: a few vacant billets among thousands held. On PostgreSQL the planner is told so
    # (ANALYZE), so that its choice does not rest on whatever an earlier test left in the statistics
    # (autovacuum analyses tables that committed tests filled; once, that made it read the unit index).
    now = timezone.now()
    Billet.objects.bulk_create(
        Billet(unit=unit, role="rifleman", created_at=now, vacant=False)
        for unit in (org.platoon, org.company, org.other_company)
        for _ in range(700)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute('ANALYZE "units_billet", "units_unit"')
    who = Who(staff=org.commander, perms=COMMANDER)
    statements = [s for s in statements_of(lambda: mywork.vacant_billets.provide(who)) if "units_billet" in s[0]]
    assert statements, "the section reads billets"
    for statement in statements:
        assert "billet_vacant" in plan_of(statement), statement[0]
