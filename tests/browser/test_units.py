"""A unit commander sees his own people by call sign, and nothing of another unit (issue 8's proof).

The cast: an administrator (made before the server starts) who, through the pages, adds two
companies under the legion, a billet or two in each and assigns trained people to them; and unit
commanders whose grants are scoped to the first company (``legionary staff add --scope unit:ID``,
made once it exists). The people come in through ``legionary import`` and are marked trained for
set-up only; the framework and the legion, which no page creates, are made by the real units
service through ``legionary shell`` (see ``setup_helpers``).

The commander opens his roster and sees his people by call sign with no name anywhere on the page;
a person or a unit of the other company is answered 404 (never 403); the roster's CSV export
downloads and holds call signs only.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.axe import shoot
from tests.browser.conftest import CspWatch, Instance, OpenPage
from tests.browser.pages import StaffNavigator
from tests.browser.setup_helpers import (
    SetUpPerson,
    applicants_import,
    consume_expected_404s,
    people_set_status_for_setup,
    shell,
    signed_in,
    staff_add,
)
from tests.intake.helpers import application
from tests.plaintext import identity_needles

pytestmark = pytest.mark.browser

ADMIN = "anna-admin"
# One commander per test: each enrols his own authenticator on his first sign-in.
COMMANDERS = ("kostya-commander", "kirill-commander")
LEGION = "frl"
# Two people in the commander's company, one in the other company.
OURS, THEIRS = ("unit-1", "unit-2"), ("unit-3",)
ROSTER_HEADER = ["unit", "billet", "role", "call_sign", "person_id", "status", "lacking"]


@dataclass(frozen=True)
class UnitsSetUp:
    ours: int  # the commander's company
    theirs: int  # the other company
    people: dict[str, SetUpPerson]  # external ref → person
    needles: set[str]  # every identity value of the people: none may reach a page or an export


class UnitsNavigator(StaffNavigator):
    """One staff member's browser in the units story; ids are those listed in the templates."""

    def administrator_adds_a_company(self, parent_id: int, name: str) -> int:
        self.page.goto(f"/units/{parent_id}/")
        self.page.select_option("#unit-add-kind", "company")
        self.page.fill("#unit-add-name", name)
        self.page.click("#unit-add button[type=submit]")
        # Then: the new unit's roster page.
        expect(self.page.locator("#unit-name")).to_have_text(name)
        found = re.search(r"/units/(\d+)/$", self.page.url)
        assert found, self.page.url
        return int(found.group(1))

    def administrator_adds_a_billet(self, unit_id: int, role: str) -> None:
        self.page.goto(f"/units/{unit_id}/")
        self.page.select_option("#billet-role", role)
        self.page.click("#billet-add button[type=submit]")
        expect(self.page.locator("#messages")).to_contain_text("Billet added.")

    def administrator_assigns_to_a_vacant_billet(self, unit_id: int, person: SetUpPerson) -> None:
        # From the roster: a vacant line's "Fill" link, then the person among those awaiting
        # assignment (nothing chosen beforehand), then Assign.
        self.page.goto(f"/units/{unit_id}/")
        fill = self.page.locator("#roster a[id^=fill-]").first
        billet_id = str(fill.get_attribute("id")).removeprefix("fill-")
        fill.click()
        expect(self.page.locator("h1")).to_contain_text("Fill the")
        expect(self.page.locator("#fill-form input[type=radio]:checked")).to_have_count(0)
        shoot(self.page, "units-fill-billet")
        self.page.check(f"#person-{person.id}")
        self.page.click("#fill-submit")
        # Then: back on the roster with a banner, the billet shows the person, by call sign.
        expect(self.page.locator("#messages")).to_contain_text(f"{person.call_sign} assigned")
        expect(self.page.locator(f"#billet-{billet_id}")).to_have_attribute("data-person", person.id)
        expect(self.page.locator(f"#billet-{billet_id}")).to_contain_text(person.call_sign)

    # The commander

    def commander_opens_his_unit_from_the_tree(self, unit_id: int) -> None:
        self.page.goto("/units/")
        expect(self.page.locator("#unit-count")).to_have_text("1 unit in your scope")
        self.page.click(f"#unit-{unit_id} a")
        expect(self.page.locator("#roster")).to_be_visible()

    def roster_people(self) -> dict[str, str]:
        """Pseudonymous id → call sign of each filled billet on the roster."""
        rows = self.page.locator("#roster tr[data-person]")
        return {
            str(rows.nth(i).get_attribute("data-person")): rows.nth(i).locator("td a").inner_text().strip()
            for i in range(rows.count())
        }

    def status_of(self, path: str) -> int:
        response = self.page.goto(path)
        assert response is not None
        return response.status


def _applications() -> list[dict[str, Any]]:
    return [
        application(
            external_ref=ref,
            legion=LEGION,
            identity__given_names=f"Ambrosius{'ABC'[i]}",
            identity__family_name=f"Tchoubrikov{'ABC'[i]}",
            identity__documents=[{"kind": "passport", "country": "RU", "number": f"UN 7204 1{i}388"}],
            identity__email=f"ambrosius.{i}@example.org",
        )
        for i, ref in enumerate(OURS + THEIRS)
    ]


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {ADMIN: ["administrator"]}


@pytest.fixture(scope="module")
def units(instance: Instance, browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> UnitsSetUp:
    """Two companies under the legion, trained people assigned through the pages, commanders of the first."""
    applications = _applications()
    folder: Path = tmp_path_factory.mktemp("units")
    applicants_import(instance, applications, folder)
    people = {p.external_ref: p for p in people_set_status_for_setup(instance, list(OURS + THEIRS), "trained")}
    # No page makes the top of the tree: the framework and the legion, by the real service.
    legion_id = shell(
        instance,
        "from legionary.access.models import Staff\n"
        "from legionary.units.services import unit_create\n"
        f"admin = Staff.objects.get(username={ADMIN!r})\n"
        "top = unit_create(actor=admin, kind='framework', name='Framework', overseer=admin)\n"
        "legion = unit_create(actor=admin, kind='legion', name='Freedom of Russia Legion', overseer=admin,"
        f" parent_id=top.pk, legion={LEGION!r})\n"
        "result(legion.pk)\n",
    )
    with signed_in(browser, instance, ADMIN, "units") as signed:
        admin = UnitsNavigator(signed.page, instance.passwords)
        ours = admin.administrator_adds_a_company(legion_id, "1st Company")
        theirs = admin.administrator_adds_a_company(legion_id, "2nd Company")
        for unit_id, refs in ((ours, OURS), (theirs, THEIRS)):
            for ref in refs:
                admin.administrator_adds_a_billet(unit_id, "rifleman")
                admin.administrator_assigns_to_a_vacant_billet(unit_id, people[ref])
    for username in COMMANDERS:
        staff_add(instance, username, "unit_commander", f"unit:{ours}")
    needles = identity_needles(a["identity"] for a in applications)
    return UnitsSetUp(ours=ours, theirs=theirs, people=people, needles=needles)


@pytest.fixture
def commander(open_page: OpenPage, instance: Instance, clean_browser: CspWatch) -> UnitsNavigator:
    """A commander's browser; after the test, no CSP violation or console error (``clean_browser``)."""
    return UnitsNavigator(open_page(), instance.passwords)


def _names_in(text: str, needles: set[str]) -> list[str]:
    return sorted(needle for needle in needles if needle in text)


def test_a_unit_commander_sees_his_people_by_call_sign_and_another_units_person_is_404(
    units: UnitsSetUp, commander: UnitsNavigator, clean_browser: CspWatch
) -> None:
    ours = {units.people[ref].id: units.people[ref].call_sign for ref in OURS}
    theirs = units.people[THEIRS[0]]
    # Given: a commander of the first company, signed in.
    commander.staff_signs_in_for_the_first_time(COMMANDERS[0], "units")
    # When: he opens his unit from the tree of units in his scope.
    commander.commander_opens_his_unit_from_the_tree(units.ours)
    # Then: the roster lists exactly his people, by call sign.
    assert commander.roster_people() == ours
    expect(commander.page.locator("#roster-filled")).to_have_text(str(len(ours)))
    # And: no name or other identity value is anywhere on the page, nor the other company's person.
    page_text = commander.page.content()
    assert _names_in(page_text, units.needles) == []
    assert theirs.call_sign not in page_text and theirs.id not in page_text

    # When: he follows one of his people's call signs.
    person_id, call_sign = next(iter(ours.items()))
    commander.page.click(f"#roster tr[data-person='{person_id}'] td a")
    # Then: that person's service record, by call sign, still with no name.
    expect(commander.page.locator("#person-call-sign")).to_contain_text(call_sign)
    assert _names_in(commander.page.content(), units.needles) == []

    # When: he opens the other company's person, that company and its roster export by their addresses.
    elsewhere = [
        f"/units/people/{theirs.id}/",
        f"/units/{units.theirs}/",
        f"/units/{units.theirs}/roster.csv",
    ]
    for path in elsewhere:
        # Then: 404 as if they did not exist, not 403 (which would say they do).
        assert commander.status_of(path) == 404, path
        expect(commander.page.locator("h1")).to_have_text("Not found")
        assert theirs.call_sign not in commander.page.content()
    # The browser logged each 404 page as a console error: one per page asked for, and no other.
    consume_expected_404s(clean_browser, len(elsewhere))


def test_the_roster_csv_export_downloads_and_holds_call_signs_only(
    units: UnitsSetUp, commander: UnitsNavigator
) -> None:
    ours = {units.people[ref].id: units.people[ref].call_sign for ref in OURS}
    # Given: a commander of the first company, signed in, on his roster.
    commander.staff_signs_in_for_the_first_time(COMMANDERS[1], "units")
    commander.commander_opens_his_unit_from_the_tree(units.ours)
    # When: he follows the roster's CSV link.
    with commander.page.expect_download() as info:
        commander.page.click("#roster-csv")
    download = info.value
    # Then: a file named for the unit downloads.
    assert download.suggested_filename == f"roster-unit-{units.ours}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    # And: it holds one row per billet of his unit, with his people by call sign and pseudonymous id.
    assert rows[0] == ROSTER_HEADER
    body = [dict(zip(ROSTER_HEADER, row, strict=True)) for row in rows[1:]]
    assert {row["person_id"]: row["call_sign"] for row in body} == ours
    assert {row["unit"] for row in body} == {"1st Company"}
    # And: no name or other identity value, and nothing of the other company.
    assert _names_in(text, units.needles) == []
    assert units.people[THEIRS[0]].call_sign not in text
