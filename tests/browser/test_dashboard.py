"""The reports dashboard with the demo data, and the screenshot of it the README shows (issue 9).

The module's instance gets ``legionary demo --people 40`` through its own command and environment;
a security officer (who sees exact figures) signs in for the first time and opens the dashboard.
The pipeline section and its chart must show with no CSP violation. A full-page screenshot is saved
to ``docs/img/dashboard.png`` only when LEGIONARY_SCREENSHOT is set (``make screenshot``);
otherwise it goes to the test's tmp_path, so a CI run never changes a tracked file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.axe import shoot
from tests.browser.conftest import Instance
from tests.browser.pages import StaffNavigator
from tests.browser.setup_helpers import instance_env
from tests.core.instance import run_legionary

pytestmark = pytest.mark.browser

OFFICER = "sasha-security"
INSTRUCTOR = "ivan-instructor"
COMMANDER = "kira-commander"
DEMO_PEOPLE = 40
README_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
GRADEBOOK_IMAGE = README_IMAGE.with_name("gradebook.png")


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {OFFICER: ["security_officer"], INSTRUCTOR: ["instructor"], COMMANDER: ["unit_commander"]}


@pytest.fixture(scope="module")
def demo_instance(instance: Instance) -> Instance:
    """The module's instance after ``legionary demo --people 40``."""
    filled = run_legionary(instance_env(instance), "demo", "--people", str(DEMO_PEOPLE))
    assert filled.returncode == 0, filled.stderr
    assert f"{DEMO_PEOPLE} synthetic applicants" in filled.stdout, filled.stdout
    return instance


def screenshot_path(tmp_path: Path, image: Path = README_IMAGE) -> Path:
    """docs/img/<image> when asked for (``make screenshot``), else a file of this test's own."""
    return image if os.environ.get("LEGIONARY_SCREENSHOT") else tmp_path / image.name


def test_the_dashboard_shows_the_demo_pipeline_and_its_chart_and_is_saved_as_a_screenshot(
    demo_instance: Instance, nav: StaffNavigator, tmp_path: Path
) -> None:
    # Given: a security officer signed in for the first time (password and authenticator).
    nav.staff_signs_in_for_the_first_time(OFFICER, "reports")
    page = nav.page
    page.set_viewport_size({"width": 1280, "height": 900})

    # When: he opens the reports dashboard.
    page.goto("/reports/")

    # Then: the pipeline section, its chart and its table, with the demo applicants counted exactly.
    expect(page.locator("h1")).to_have_text("Pipeline dashboard")
    expect(page.locator("#reports-protection")).to_contain_text("Counts are exact.")
    expect(page.locator("#section-funnel")).to_be_visible()
    expect(page.locator("#section-funnel #chart-funnel")).to_be_visible()
    expect(page.locator("#section-funnel #table-funnel")).to_be_visible()
    expect(page.locator("#table-funnel tbody tr").first.locator("td").first).to_have_text(str(DEMO_PEOPLE))

    # And: a screenshot of its first screen, what the README shows (the whole page runs to many
    # screens: one table row per month of demo data). CSP violations fail the test through ``nav``.
    target = screenshot_path(tmp_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000

    # And: the figures say prominently as of when they were counted; at 1280 and 390 px the page
    # fits the viewport (wide tables scroll inside their own region) with no serious axe violation.
    expect(page.locator("#reports-as-of")).to_be_visible()
    shoot(page, "dashboard")
    page.goto("/reports/people/")
    shoot(page, "reports-people")

    # And: the audit log and one entry (2,260 px wide before) fit too.
    page.goto("/audit/")
    shoot(page, "audit-log")
    page.locator("main table a").first.click()
    page.wait_for_load_state()
    expect(page.locator("#proof-status")).to_be_visible()
    shoot(page, "audit-entry")


def test_an_instructors_pages_fit_a_phone_and_pass_axe_and_the_gradebook_is_saved_as_a_screenshot(
    demo_instance: Instance, nav: StaffNavigator, tmp_path: Path
) -> None:
    # Given: an instructor (every cohort) on his My work.
    nav.staff_signs_in_for_the_first_time(INSTRUCTOR, "training")
    page = nav.page
    shoot(page, "instructor-my-work")
    # When: he opens the cohorts, a cohort and its gradebook, a module's results, a person.
    page.goto("/training/")
    shoot(page, "cohorts")
    page.locator("#cohorts tbody a").first.click()
    page.wait_for_load_state()
    shoot(page, "cohort")
    page.click("#open-gradebook")
    page.wait_for_load_state()
    expect(page.locator("#gradebook")).to_be_visible()
    # Then: the gradebook (1,736 px wide before) scrolls inside its region; the page fits.
    shoot(page, "gradebook")
    page.set_viewport_size({"width": 1280, "height": 900})
    target = screenshot_path(tmp_path, GRADEBOOK_IMAGE)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000
    page.locator("[id^=module-][id$=-results]").first.click()
    page.wait_for_load_state()
    expect(page.locator("#results-form")).to_be_visible()
    shoot(page, "module-results")
    page.goto("/training/qualifications/expiring")
    shoot(page, "expiring")


def test_a_commanders_pages_fit_a_phone_and_pass_axe(demo_instance: Instance, nav: StaffNavigator) -> None:
    # Given: a unit commander (every unit) on his My work.
    nav.staff_signs_in_for_the_first_time(COMMANDER, "units")
    page = nav.page
    shoot(page, "commander-my-work")
    # When: he opens the unit tree, a legion's roster (7,220 px long before: now 50 billets a page),
    # its vacant billets, the people list and a person's record.
    page.goto("/units/")
    shoot(page, "unit-tree")
    page.locator("#unit-tree a").nth(1).click()
    page.wait_for_load_state()
    expect(page.locator("#roster")).to_be_visible()
    shoot(page, "roster")
    page.check("#filter-vacant")
    page.click("#filter button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".moj-filter-tags")).to_contain_text("Vacant billets only")
    shoot(page, "roster-vacant")
    page.goto("/units/people/")
    shoot(page, "people")
    page.locator("#people a").first.click()
    page.wait_for_load_state()
    expect(page.locator("#status-form")).to_be_visible()
    # Then: the status form has no status chosen.
    assert page.locator("#status-form input[type=radio]:checked").count() == 0
    shoot(page, "person-record")
