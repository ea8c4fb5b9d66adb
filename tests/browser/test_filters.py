"""The long lists' filters in a browser (issue 18, item 9): chosen by clicks, shown as tags that remove
themselves, a bad one refused with a message; each list at 1280 and 390 px with axe.

The module's instance gets ``legionary demo --people 40``; one account holds the roles of every list
(intake officer, instructor, unit commander), signs in for the first time and filters each list.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import shoot
from tests.browser.conftest import CspWatch, Instance
from tests.browser.pages import StaffNavigator
from tests.browser.setup_helpers import instance_env
from tests.core.instance import run_legionary

pytestmark = pytest.mark.browser

WHO = "fia-filters"


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {WHO: ["intake_officer", "instructor", "unit_commander"]}


@pytest.fixture(scope="module")
def demo_instance(instance: Instance) -> Instance:
    filled = run_legionary(instance_env(instance), "demo", "--people", "40")
    assert filled.returncode == 0, filled.stderr
    return instance


def _apply(page: Page) -> None:
    page.click("#filter button[type=submit]")
    page.wait_for_load_state()


def _tags(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".moj-filter-tags a").all_inner_texts()]


def test_each_long_list_is_filtered_by_clicks_and_its_tags_remove_themselves(
    demo_instance: Instance, nav: StaffNavigator, csp: CspWatch
) -> None:
    nav.staff_signs_in_for_the_first_time(WHO, "intake")
    page = nav.page

    # The intake queue: one legion, by the select and "Apply filters".
    page.goto("/intake/")
    page.select_option("#filter-legion", index=1)
    _apply(page)
    expect(page).to_have_url(re.compile(r"/intake/\?legion=\w+$"))
    assert len(_tags(page)) == 1
    shoot(page, "filters-intake-queue")

    # The case list: two filters, then one tag clicked away; the other stays.
    page.goto("/cases/all/")
    page.select_option("#filter-state", "received")
    page.select_option("#filter-assignee", "none")
    _apply(page)
    assert len(_tags(page)) == 2
    expect(page.locator("#cases-table, .moj-filter-layout__content p")).not_to_have_count(0)
    shoot(page, "filters-cases")
    page.locator(".moj-filter-tags a").first.click()
    page.wait_for_load_state()
    assert len(_tags(page)) == 1 and "assignee=none" in page.url and "state=" not in page.url
    expect(page.locator("#filter-assignee")).to_have_value("none")

    # A state nobody chose from the list: a message on the page, linked to the field; no rows.
    page.goto("/cases/all/?state=lost")
    expect(page.locator("#form-errors")).to_contain_text("Choose a state from the list.")
    expect(page.locator("#filter-refused")).to_be_visible()
    shoot(page, "filters-cases-refused")
    # Chromium logs the page's 400 as a console error: that one is expected, and no other.
    refused = [line for line in csp.console if "status of 400" in line]
    assert len(refused) == 1, csp.console
    csp.console.remove(refused[0])

    # People: a status; a unit's roster: vacant billets only; cohorts: nobody leads yet.
    page.goto("/units/people/")
    page.select_option("#filter-status", "active")
    _apply(page)
    assert _tags(page) and "status=active" in page.url
    shoot(page, "filters-people")
    page.goto("/units/")
    page.locator("#unit-tree a").nth(1).click()
    page.wait_for_load_state()
    page.check("#filter-vacant")
    page.select_option("#filter-role", index=1)
    _apply(page)
    assert len(_tags(page)) == 2
    shoot(page, "filters-roster")
    page.goto("/training/")
    page.select_option("#filter-legion", index=1)
    _apply(page)
    assert len(_tags(page)) == 1
    shoot(page, "filters-cohorts")
