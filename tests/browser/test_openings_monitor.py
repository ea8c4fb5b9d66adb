"""The openings monitor in a browser (issue 21 item 4): a security officer opens it from My work,
sees the chart and the lists of the last seven days, and the page fits 1280 and 390 px with no
serious axe violation (screenshots into $LEGIONARY_SCREENSHOTS when set).

The history is written into the instance directly (set-up only: the gate that writes it in real use
is tested in tests/vetting/test_openings.py): five staff open five people over the last week, at
hours inside and outside the working hours, two under break-glass approved by a security officer.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe import shoot
from tests.browser.conftest import CspWatch, Instance
from tests.browser.pages import StaffNavigator
from tests.browser.setup_helpers import shell

pytestmark = pytest.mark.browser

OFFICER = "sasha-security"
BAD_REQUEST_LOGGED = "error: Failed to load resource: the server responded with a status of 400 (Bad Request)"


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {
        OFFICER: ["security_officer"],
        "sue-security": ["security_officer"],
        "ann-investigator": ["investigator"],
        "bob-investigator": ["investigator"],
        "cid-ci": ["ci_officer"],
        "ada-auditor": ["auditor"],
    }


SEED = """
from datetime import datetime, time, timedelta
from django.utils import timezone
from legionary.access.models import Staff
from legionary.identity import monitor
from legionary.identity.models import Opening, OpeningRequest, Person

zone = monitor.working_hours().zone
today = monitor.today_in(zone)
staff = {s.username: s for s in Staff.objects.all()}
people = []
for k, name in enumerate(["Zaza", "Caesar", "Miami", "Orel", "Bars"]):
    people.append(Person.objects.create(id="pmonitor%016d" % k, call_sign=name, call_sign_key=name.lower(),
                                        legion="frl", created_at=timezone.now()))
def at(days_ago, hour, minute=0):
    return datetime.combine(today - timedelta(days=days_ago), time(hour, minute), tzinfo=zone)
def opening(who, person, when, **extra):
    Opening.objects.create(staff=staff[who], person=person, kind="identity", at=when, **extra)
for d in range(7):
    for n in range(2 + d % 3):
        opening("ann-investigator", people[n % 5], at(d, 9 + n), check_id=1)
    opening("bob-investigator", people[1], at(d, 11), case_id=2)
opening("ann-investigator", people[0], at(1, 6, 40), check_id=1)
opening("bob-investigator", people[0], at(2, 22, 15), case_id=3)
opening("cid-ci", people[0], at(3, 13), case_id=4)
approved = OpeningRequest.objects.create(person=people[0], requester=staff["cid-ci"], kind="identity",
    cause="unassigned", reason="Second look", state="used", created_at=at(0, 7, 50),
    expires_at=at(0, 8, 30), decided_by=staff["sue-security"], decided_at=at(0, 7, 55), used_at=at(0, 8, 0))
opening("cid-ci", people[0], at(0, 8, 0), request=approved)
second = OpeningRequest.objects.create(person=people[0], requester=staff["sue-security"], kind="identity",
    cause="unassigned", reason="Audit of the file", state="used", created_at=at(5, 10),
    expires_at=at(5, 10, 40), decided_by=staff["sasha-security"], decided_at=at(5, 10, 10), used_at=at(5, 10, 12))
opening("sue-security", people[0], at(5, 10, 12), request=second)
OpeningRequest.objects.create(person=people[3], requester=staff["bob-investigator"], kind="documents",
    cause="allowance", reason="Passport scan", state="refused", created_at=at(4, 16),
    expires_at=at(4, 16, 30), decided_by=staff["sue-security"], decided_at=at(4, 16, 5))
result(Opening.objects.count())
"""


@pytest.fixture(scope="module")
def history(instance: Instance) -> Instance:
    assert shell(instance, SEED) > 20
    return instance


def test_the_security_officer_reads_the_week_on_the_monitor(history: Instance, nav: StaffNavigator) -> None:
    # Given: a security officer signed in; My work shows today's summary, linking to the monitor.
    nav.staff_signs_in_for_the_first_time(OFFICER, "audit")
    page = nav.page
    expect(page.locator("#work-openings-monitor")).to_contain_text("unusual")
    shoot(page, "openings-my-work")

    # When: he opens the monitor for the last seven days.
    page.click("#work-openings-monitor a[href$='?period=7d']")

    # Then: the figures, the chart drawn from its table, and each list, at both widths.
    expect(page.locator("h1")).to_have_text("Openings monitor")
    expect(page.locator("#chart-openings-per-day")).to_be_visible()
    expect(page.locator("#figure-crowded")).to_have_text("1")  # Zaza: ann, bob, cid, sue (more than 3)
    expect(page.locator("#table-unassigned tbody tr")).to_have_count(2)
    expect(page.locator("#table-requests tbody tr")).to_have_count(3)
    # (Saturday's and Sunday's openings are out of hours too, so only these two are certain.)
    late = page.locator("#table-out-of-hours tbody tr")
    expect(late.filter(has_text=" 06:40")).to_have_count(1)
    expect(late.filter(has_text=" 22:15")).to_have_count(1)
    shoot(page, "openings-monitor")

    # And: a row's audit link leads to the audit viewer with its filters.
    page.click("#table-crowded tbody tr a")
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator("#id_subject")).to_have_value("pmonitor0000000000000000")


def test_bad_dates_are_told_at_the_top_and_at_the_field(history: Instance, nav: StaffNavigator, csp: CspWatch) -> None:
    nav.staff_signs_in_for_the_first_time("ada-auditor", "audit")
    page = nav.page
    page.goto("/openings/monitor/")
    page.check("#period-custom")
    page.fill("#id_first", "2026-12-07")
    page.fill("#id_last", "2026-12-01")
    page.click("#monitor-period button")
    expect(page.locator("#form-errors")).to_contain_text("The first date must be on or before the last date.")
    expect(page.locator("#id_first-error")).to_be_visible()
    shoot(page, "openings-monitor-error")
    # Chromium logs the 400 answer as a console error: that one is expected, and no other.
    assert csp.console.count(BAD_REQUEST_LOGGED) == 1, csp.console
    csp.console[:] = [line for line in csp.console if line != BAD_REQUEST_LOGGED]
