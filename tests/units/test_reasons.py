"""Units' reasons (next of kin, status changes, overrides) hold visible letters (``core.reasons``)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from legionary.audit.models import Entry
from legionary.identity.models import PersonStatus
from legionary.units import services
from tests.units.conftest import Org, trained_person

ZWSP = "\u200b" * 12


@pytest.mark.django_db(transaction=True)
def test_next_of_kin_are_not_opened_for_an_invisible_reason(org: Org) -> None:
    with pytest.raises(services.UnitsError, match="reason"):
        services.next_of_kin_open(actor=org.commander, person_id=org.inside.pk, reason=ZWSP)
    assert not Entry.objects.filter(action="identity.unsealed").exists()


@pytest.mark.django_db
def test_a_status_change_needs_a_visible_reason(org: Org) -> None:
    with pytest.raises(services.UnitsError, match="reason"):
        services.person_status_change(
            actor=org.commander,
            person_id=org.inside.pk,
            status=PersonStatus.ACTIVE,
            effective_on=timezone.localdate(),
            reason="\u2060\u2060\u2060\u2060\u2060\u2060\u2060\u2060",
        )


@pytest.mark.django_db
def test_an_override_needs_a_visible_reason(org: Org) -> None:
    person = trained_person("Caesar")
    with pytest.raises(services.UnitsError, match="reason"):
        services.override_request(actor=org.admin, person_id=person.pk, billet_id=org.medic.pk, reason="\u3164" * 10)
