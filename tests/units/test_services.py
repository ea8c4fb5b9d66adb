"""Units services: the tree and its moves, assignment checks, overrides, status changes, next of kin."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from legionary.audit.models import Entry
from legionary.identity.models import PersonStatus
from legionary.units import services
from legionary.units.models import Assignment, Billet, BilletRole, StatusChange, Unit, UnitKind
from tests.units.conftest import NEXT_OF_KIN, Org, qualify, trained_person


def _last(action: str) -> Entry:
    entry = Entry.objects.filter(action=action).order_by("-index").first()
    assert entry is not None, action
    return entry


def test_a_unit_path_is_its_ancestors_ids_then_its_own(org: Org) -> None:
    assert org.platoon.path == org.company.path + f"{org.platoon.pk:08d}."
    assert org.platoon.legion == "frl"


def test_moving_a_unit_repaths_its_whole_subtree_and_is_audited(org: Org) -> None:
    new_battalion = services.unit_create(
        actor=org.admin, kind=UnitKind.BATTALION, name="2nd Battalion", overseer=org.overseer, parent_id=org.frl.pk
    )
    moved = services.unit_move(actor=org.admin, unit_id=org.company.pk, new_parent_id=new_battalion.pk)
    assert moved == 2
    org.platoon.refresh_from_db()
    assert org.platoon.path.startswith(new_battalion.path + f"{org.company.pk:08d}.")
    assert Unit.objects.get(pk=org.company.pk).parent_id == new_battalion.pk
    assert '"units_moved":2' in bytes(_last("units.unit_moved").body).decode()


def test_a_unit_cannot_move_into_another_legion_or_under_itself(org: Org) -> None:
    with pytest.raises(services.UnitsError, match="another legion"):
        services.unit_move(actor=org.admin, unit_id=org.company.pk, new_parent_id=org.brl_battalion.pk)
    with pytest.raises(services.UnitsError, match="under itself"):
        services.unit_move(actor=org.admin, unit_id=org.battalion.pk, new_parent_id=org.company.pk)


def test_a_unit_takes_its_legion_from_its_legion_ancestor_whatever_is_asked(org: Org) -> None:
    team = services.unit_create(
        actor=org.admin,
        kind=UnitKind.TEAM,
        name="Drone team",
        overseer=org.overseer,
        parent_id=org.platoon.pk,
        legion="brl",
    )
    assert team.legion == "frl"


def test_changing_the_overseer_is_audited(org: Org) -> None:
    services.unit_set_overseer(actor=org.admin, unit_id=org.company.pk, overseer=org.second_admin)
    assert bytes(_last("units.overseer_changed").body).decode().count("admin-v") == 1


def test_a_person_lacking_a_required_qualification_is_not_assigned(org: Org) -> None:
    person = trained_person("Caesar")
    with pytest.raises(services.QualificationsMissing) as refused:
        services.billet_assign(actor=org.admin, person_id=person.pk, billet_id=org.medic.pk)
    assert refused.value.codes == ["tccc-cls"]
    assert not Assignment.objects.filter(person=person).exists()


def test_an_expired_qualification_counts_as_missing(org: Org) -> None:
    person = trained_person("Caesar")
    today = timezone.localdate()
    qualify(person, "tccc-cls", granted_on=today - timedelta(days=400), expires_on=today)
    with pytest.raises(services.QualificationsMissing):
        services.billet_assign(actor=org.admin, person_id=person.pk, billet_id=org.medic.pk)
    qualify(person, "tccc-cls", granted_on=today, expires_on=today + timedelta(days=365))
    services.billet_assign(actor=org.admin, person_id=person.pk, billet_id=org.medic.pk)
    person.refresh_from_db()
    assert person.status == PersonStatus.ASSIGNED


def test_only_a_trained_person_of_the_units_legion_is_assigned(org: Org) -> None:
    approved = trained_person("Caesar", status=PersonStatus.APPROVED)
    with pytest.raises(services.UnitsError, match="trained"):
        services.billet_assign(actor=org.admin, person_id=approved.pk, billet_id=org.other_rifleman.pk)
    belarusian = trained_person("Kyiv", legion="brl")
    # Outside the frl billet's legion: refused, whoever asks.
    with pytest.raises(services.UnitsError, match="own legion"):
        services.billet_assign(actor=org.admin, person_id=belarusian.pk, billet_id=org.other_rifleman.pk)


def test_a_filled_billet_takes_nobody_else(org: Org) -> None:
    person = trained_person("Caesar")
    qualify(person, "weapons-handling", granted_on=date(2025, 1, 1))
    with pytest.raises(services.UnitsError, match="already filled"):
        services.billet_assign(actor=org.admin, person_id=person.pk, billet_id=org.rifleman.pk)


def test_an_override_needs_a_reason_and_a_second_staff_member(org: Org) -> None:
    person = trained_person("Caesar")
    with pytest.raises(services.UnitsError, match="reason"):
        services.override_request(actor=org.admin, person_id=person.pk, billet_id=org.medic.pk, reason="ok")
    request = services.override_request(
        actor=org.admin, person_id=person.pk, billet_id=org.medic.pk, reason="only medic left in the platoon"
    )
    with pytest.raises(services.UnitsError, match="Another staff member"):
        services.override_approve(actor=org.admin, request_id=request.pk)
    assignment = services.override_approve(actor=org.second_admin, request_id=request.pk)
    assert assignment.override_approved_by == org.second_admin
    assert assignment.assigned_by == org.admin
    assert assignment.missing_qualifications == ["tccc-cls"]
    entry = _last("units.override_approved")
    assert entry.subject == person.pk and "only medic left" in bytes(entry.body).decode()


def test_a_unit_commander_cannot_assign_or_approve(org: Org) -> None:
    person = trained_person("Caesar")
    with pytest.raises(Http404):
        services.billet_assign(actor=org.commander, person_id=person.pk, billet_id=org.other_rifleman.pk)


def test_status_changes_follow_the_lifecycle_and_are_dated_reasoned_and_audited(org: Org) -> None:
    today = timezone.localdate()
    services.person_status_change(
        actor=org.commander,
        person_id=org.inside.pk,
        status=PersonStatus.ACTIVE,
        effective_on=today,
        reason="reported for duty",
    )
    services.person_status_change(
        actor=org.commander,
        person_id=org.inside.pk,
        status=PersonStatus.WOUNDED,
        effective_on=today,
        reason="evacuated to hospital",
    )
    change = StatusChange.objects.filter(person=org.inside).first()
    assert change is not None
    assert (change.from_status, change.to_status, change.effective_on) == ("active", "wounded", today)
    entry = _last("units.status_changed")
    assert entry.subject == org.inside.pk and '"to":"wounded"' in bytes(entry.body).decode()


def test_a_status_cannot_jump_outside_the_lifecycle_or_into_the_future(org: Org) -> None:
    today = timezone.localdate()
    with pytest.raises(services.UnitsError, match="cannot become"):
        services.person_status_change(
            actor=org.admin,
            person_id=org.inside.pk,
            status=PersonStatus.TRAINED,
            effective_on=today,
            reason="a mistake",
        )
    with pytest.raises(services.UnitsError, match="future"):
        services.person_status_change(
            actor=org.admin,
            person_id=org.inside.pk,
            status=PersonStatus.ACTIVE,
            effective_on=today + timedelta(days=1),
            reason="tomorrow maybe",
        )


# unseal_identity commits its audit entry before decrypting, so these run outside a test transaction.
@pytest.mark.django_db(transaction=True)
def test_a_fallen_legionnaire_frees_his_billet_but_stays_with_his_commander(org: Org) -> None:
    services.person_status_change(
        actor=org.commander,
        person_id=org.inside.pk,
        status=PersonStatus.DECEASED,
        effective_on=timezone.localdate(),
        reason="killed in action",
    )
    assert not Assignment.objects.filter(billet=org.rifleman, ended_on__isnull=True).exists()
    contacts = services.next_of_kin_open(actor=org.commander, person_id=org.inside.pk, reason="inform the family")
    assert contacts == [{k: str(v) for k, v in c.items()} for c in NEXT_OF_KIN]


@pytest.mark.django_db(transaction=True)
def test_next_of_kin_are_opened_only_in_scope_and_the_opening_is_audited_first(org: Org) -> None:
    with pytest.raises(Http404):
        services.next_of_kin_open(actor=org.other_commander, person_id=org.inside.pk, reason="inform the family")
    assert not Entry.objects.filter(action="identity.unsealed").exists()
    services.next_of_kin_open(actor=org.commander, person_id=org.inside.pk, reason="inform the family")
    entry = _last("identity.unsealed")
    assert entry.subject == org.inside.pk and "next of kin: inform the family" in bytes(entry.body).decode()


def test_a_billet_requires_known_qualifications_only(org: Org) -> None:
    with pytest.raises(services.UnitsError, match="Unknown qualification"):
        services.billet_create(
            actor=org.admin, unit_id=org.platoon.pk, role=BilletRole.DRIVER, qualification_codes=["flying"]
        )
    assert not Billet.objects.filter(role=BilletRole.DRIVER).exists()
