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

from tests.browser.conftest import Instance
from tests.browser.pages import StaffNavigator
from tests.browser.setup_helpers import instance_env
from tests.core.instance import run_legionary

pytestmark = pytest.mark.browser

OFFICER = "sasha-security"
DEMO_PEOPLE = 40
README_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {OFFICER: ["security_officer"]}


@pytest.fixture(scope="module")
def demo_instance(instance: Instance) -> Instance:
    """The module's instance after ``legionary demo --people 40``."""
    filled = run_legionary(instance_env(instance), "demo", "--people", str(DEMO_PEOPLE))
    assert filled.returncode == 0, filled.stderr
    assert f"{DEMO_PEOPLE} synthetic applicants" in filled.stdout, filled.stdout
    return instance


def screenshot_path(tmp_path: Path) -> Path:
    """docs/img/dashboard.png when asked for (``make screenshot``), else a file of this test's own."""
    return README_IMAGE if os.environ.get("LEGIONARY_SCREENSHOT") else tmp_path / "dashboard.png"


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
