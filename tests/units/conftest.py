"""The units cast: a framework with two legions, a company with a platoon, billets, and their commanders.

Built through the services, as the pages and the API do. ``Org.inside`` is assigned in company A
(the commander's subtree); ``Org.outside`` serves in the other legion's battalion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import Person, PersonStatus
from legionary.identity.services import Actor, person_create
from legionary.training.models import PersonQualification, Qualification
from legionary.units import services
from legionary.units.models import Billet, BilletRole, Unit, UnitKind
from tests.conftest import MakeStaff

NEXT_OF_KIN = [{"name": "Synthetic Relative", "relation": "mother", "phone": "+380000000000"}]


def trained_person(call_sign: str, *, legion: str = "frl", status: str = PersonStatus.TRAINED) -> Person:
    person = person_create(
        identity={
            "given_names": "Quentin",
            "family_name": "Synthetikov",
            "date_of_birth": "1990-01-01",
            "next_of_kin": NEXT_OF_KIN,
        },
        legion=legion,
        actor=Actor("test"),
        preferred_call_sign=call_sign,
    )
    assert person.call_sign == call_sign
    person.status = status
    person.save(update_fields=["status"])
    return person


def qualification(code: str) -> Qualification:
    # The curriculum's data migration loads these, but a transactional test before this one may
    # have flushed the tables; the codes are the shipped curriculum's.
    found, _ = Qualification.objects.get_or_create(code=code, defaults={"name": code})
    return found


def qualify(person: Person, code: str, *, granted_on: date, expires_on: date | None = None) -> None:
    PersonQualification.objects.create(
        person=person, qualification=qualification(code), granted_on=granted_on, expires_on=expires_on
    )


@dataclass
class Org:
    admin: Staff
    second_admin: Staff
    commander: Staff
    other_commander: Staff
    overseer: Staff
    framework: Unit
    frl: Unit
    battalion: Unit
    company: Unit
    platoon: Unit
    other_company: Unit
    brl: Unit
    brl_battalion: Unit
    rifleman: Billet
    medic: Billet
    other_rifleman: Billet
    brl_billet: Billet
    inside: Person
    outside: Person


@pytest.fixture
def org(make_staff: MakeStaff) -> Org:
    admin = make_staff("admin-u", Role.ADMINISTRATOR)
    second_admin = make_staff("admin-v", Role.ADMINISTRATOR)
    overseer = make_staff("overseer-hn", Role.UNIT_COMMANDER)

    def unit(kind: str, name: str, parent: Unit | None, legion: str = "") -> Unit:
        return services.unit_create(
            actor=admin, kind=kind, name=name, overseer=overseer, parent_id=parent.pk if parent else None, legion=legion
        )

    framework = unit(UnitKind.FRAMEWORK, "International Legion", None)
    frl = unit(UnitKind.LEGION, "Freedom of Russia Legion", framework, "frl")
    battalion = unit(UnitKind.BATTALION, "1st Battalion", frl)
    company = unit(UnitKind.COMPANY, "A Company", battalion)
    platoon = unit(UnitKind.PLATOON, "1st Platoon", company)
    other_company = unit(UnitKind.COMPANY, "B Company", battalion)
    brl = unit(UnitKind.LEGION, "Belarusian Legion", framework, "brl")
    brl_battalion = unit(UnitKind.BATTALION, "Kalinouski Battalion", brl)

    def billet(u: Unit, role: str, *codes: str) -> Billet:
        for code in codes:
            qualification(code)
        return services.billet_create(actor=admin, unit_id=u.pk, role=role, qualification_codes=list(codes))

    rifleman = billet(platoon, BilletRole.RIFLEMAN, "weapons-handling")
    medic = billet(platoon, BilletRole.MEDIC, "tccc-cls")
    other_rifleman = billet(other_company, BilletRole.RIFLEMAN)
    brl_billet = billet(brl_battalion, BilletRole.UAV_OPERATOR)

    inside = trained_person("Zaza")
    qualify(inside, "weapons-handling", granted_on=date(2025, 1, 10))
    services.billet_assign(actor=admin, person_id=inside.pk, billet_id=rifleman.pk)
    outside = trained_person("Miami", legion="brl")
    services.billet_assign(actor=admin, person_id=outside.pk, billet_id=brl_billet.pk)

    commander = make_staff("commander-a", Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT, scope_ref=str(company.pk))
    other_commander = make_staff(
        "commander-b", Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT, scope_ref=str(other_company.pk)
    )
    inside.refresh_from_db()
    outside.refresh_from_db()
    return Org(
        admin=admin,
        second_admin=second_admin,
        commander=commander,
        other_commander=other_commander,
        overseer=overseer,
        framework=framework,
        frl=frl,
        battalion=battalion,
        company=company,
        platoon=platoon,
        other_company=other_company,
        brl=brl,
        brl_battalion=brl_battalion,
        rifleman=rifleman,
        medic=medic,
        other_rifleman=other_rifleman,
        brl_billet=brl_billet,
        inside=inside,
        outside=outside,
    )
