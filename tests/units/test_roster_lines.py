"""A roster page: each billet's line (requirements, holder, what he lacks), the pending overrides of
the unit's subtree only, the export of a subtree larger than one read, and plans that cost the same
at any number of people (the holders are checked against the scope one by one, the pending overrides
found from the pending requests, not from every billet of a legion).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection

from legionary.units import selectors, services
from legionary.units.models import BilletRole
from tests.conftest import signed_in
from tests.plans import plan_of, statements_of
from tests.units.conftest import Org, trained_person


def _lacking_medic(org: Org, call_sign: str) -> str:
    """Someone assigned as the platoon's medic by an approved override: he lacks tccc-cls."""
    person = trained_person(call_sign)
    request = services.override_request(actor=org.admin, person_id=person.pk, billet_id=org.medic.pk, reason="short")
    services.override_approve(actor=org.second_admin, request_id=request.pk)
    return person.pk


def test_each_roster_line_shows_the_billet_its_requirements_its_holder_and_what_he_lacks(org: Org) -> None:
    medic = _lacking_medic(org, "Caesar")
    vacant = services.billet_create(
        actor=org.admin,
        unit_id=org.platoon.pk,
        role=BilletRole.DRIVER,
        title="Tatra <6x6> & co",
        qualification_codes=[],
    )
    body = signed_in(org.commander).get(f"/units/{org.company.pk}/", secure=True).content.decode()
    td = '<td class="govuk-table__cell">'
    assert (
        f'<tr class="govuk-table__row" id="billet-{org.medic.pk}" data-person="{medic}">{td}1st Platoon</td>'
        f'<th scope="row" class="govuk-table__header">Medic</th>{td}tccc-cls</td>'
        f'{td}<a class="govuk-link" href="/units/people/{medic}/"><bdi>Caesar</bdi></a></td>{td}Assigned</td>'
        f'{td}<strong class="govuk-tag govuk-tag--orange">tccc-cls</strong></td></tr>'
    ) in body
    assert (
        f'<tr class="govuk-table__row" id="billet-{vacant.pk}">{td}1st Platoon</td>'
        '<th scope="row" class="govuk-table__header">Driver — Tatra &lt;6x6&gt; &amp; co</th>'
        f'{td}—</td>{td}<strong class="govuk-tag govuk-tag--yellow" data-state="vacant">vacant</strong>'
        f' <a class="govuk-link" id="fill-{vacant.pk}" href="/units/billets/{vacant.pk}/assign"'
        ' aria-label="Fill: Driver — Tatra &lt;6x6&gt; &amp; co">Fill</a></td>'
        f"{td}—</td>{td}—</td></tr>"
    ) in body


def test_the_roster_lists_the_pending_overrides_of_its_subtree_only(org: Org) -> None:
    services.billet_create(
        actor=org.admin, unit_id=org.other_company.pk, role=BilletRole.MEDIC, qualification_codes=["tccc-cls"]
    )
    other_medic = org.other_company.billets.get(role=BilletRole.MEDIC)
    _lacking_medic(org, "Decided")  # approved: no longer pending
    second = services.billet_create(
        actor=org.admin, unit_id=org.platoon.pk, role=BilletRole.MEDIC, qualification_codes=["tccc-cls"]
    )
    for call_sign, billet in (("Pending", second), ("Elsewhere", other_medic)):
        services.override_request(
            actor=org.admin, person_id=trained_person(call_sign).pk, billet_id=billet.pk, reason="short of medics"
        )
    body = signed_in(org.second_admin).get(f"/units/{org.company.pk}/", secure=True).content.decode()
    start = body.index('<section id="overrides"')
    section = body[start : body.index("</section>", start)]
    assert "<bdi>Pending</bdi> → Medic (1st Platoon)" in section
    assert "Elsewhere" not in section and "Decided" not in section


def test_the_export_reads_a_large_subtree_in_chunks_and_holds_every_billet_once(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        services.billet_create(actor=org.admin, unit_id=org.platoon.pk, role=BilletRole.SIGNALS, qualification_codes=[])
    whole = [line.billet_id for line in selectors.roster(staff=org.admin, unit=org.frl).lines]
    monkeypatch.setattr(selectors, "_EXPORT_CHUNK", 2)
    response = signed_in(org.admin).get(f"/units/{org.frl.pk}/roster.csv", secure=True)
    rows = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    assert [int(r[1]) for r in rows] == whole and len(whole) == 6


def test_a_roster_pages_holders_are_checked_against_the_scope_by_key_not_against_everyone_in_scope(
    org: Org,
) -> None:
    statements = statements_of(lambda: selectors.roster(staff=org.admin, unit=org.frl, limit=selectors.ROSTER_PAGE))
    holders = [s for s in statements if s[0].startswith('SELECT "units_assignment"')]
    assert len(holders) == 1
    plan = plan_of(holders[0])
    if connection.vendor == "sqlite":
        # A LIST SUBQUERY is the whole scope built as a list before the page is read.
        assert "LIST SUBQUERY" not in plan and "SCAN identity_person" not in plan, plan
    else:
        assert "Seq Scan" not in plan and "Hash" not in plan, plan


def test_the_pending_overrides_are_read_from_their_partial_index(org: Org) -> None:
    statements = statements_of(lambda: signed_in(org.admin).get(f"/units/{org.frl.pk}/", secure=True))
    pending = [s for s in statements if s[0].startswith('SELECT "units_overriderequest"')]
    assert len(pending) == 1
    assert "override_pending" in plan_of(pending[0])


def test_a_later_legions_first_roster_page_starts_inside_the_path_index(org: Org) -> None:
    """The subtree is a range of the path index on both databases (on PostgreSQL thanks to the
    column's byte-order collation), so the first page of the last legion in tree order does not walk
    the units of the legions before it."""
    statements = statements_of(lambda: selectors.roster(staff=org.admin, unit=org.brl, limit=selectors.ROSTER_PAGE))
    billets = [s for s in statements if s[0].startswith('SELECT "units_billet"."id"')]
    assert len(billets) == 1
    plan = plan_of(billets[0])
    if connection.vendor == "sqlite":
        assert "path>? AND path<?" in plan, plan
    else:
        assert "Index Cond: (((path)::text >= " in plan and "~~" not in plan, plan
