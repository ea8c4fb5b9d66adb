"""One application walked from ``received`` to ``approved`` through a real browser (issue 6's proof).

The cast is made with ``legionary staff add`` before the server starts, one account per role the
Freedom of Russia Legion's shipped check policy needs, and two adjudicators. Each signs in in his
own browser with password and authenticator, and does his part through the pages only: the intake
officer assigns the case, starts vetting and hands out the checks; each checker records his checks;
two different adjudicators approve with a rationale. The applicant then sees the outcome in Russian.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from legionary.vetting.catalogue import CHECKS_FIXTURE
from tests.browser.conftest import Instance, OpenPage
from tests.browser.pages import Applicant, ApplicantNavigator, VettingNavigator, tiny_png

pytestmark = pytest.mark.browser

LEGION = "frl"
INTAKE = "olga-intake"
INVESTIGATOR = "ivan-investigator"
EXAMINER = "pavel-polygraph"
CI_OFFICER = "kira-ci"
ADJUDICATORS = ("adam-adjudicator", "bella-adjudicator")
# Who does the checks of each role (the check type's "role" in the catalogue).
CHECKER_OF_ROLE = {"investigator": INVESTIGATOR, "polygraph_examiner": EXAMINER, "ci_officer": CI_OFFICER}

APPLICANT = Applicant(
    legion=LEGION,
    given_names="Тимофей",
    family_name="Соловьёв",
    patronymic="Андреевич",
    date_of_birth="1993-07-22",
    place_of_birth="Тверь",
    citizenship="RU",
    document_number="2817 604553",
    phone="+7 915 220-71-43",
    email="t.solovyov@example.org",
)


def _catalogue() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(CHECKS_FIXTURE).read_text(encoding="utf-8"))
    return data


def _policy_checks(legion: str) -> list[dict[str, Any]]:
    """The check types (slug, name, role...) the shipped policy gives the legion, in order."""
    data = _catalogue()
    policies = {p["legion"]: p for p in data["policies"]}
    slugs = policies.get(legion, policies["*"])["checks"]
    types = {t["slug"]: t for t in data["check_types"]}
    return [types[slug] for slug in slugs]


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {
        INTAKE: ["intake_officer"],
        INVESTIGATOR: ["investigator"],
        EXAMINER: ["polygraph_examiner"],
        CI_OFFICER: ["ci_officer"],
        ADJUDICATORS[0]: ["adjudicator"],
        ADJUDICATORS[1]: ["adjudicator"],
    }


def test_an_application_is_vetted_and_approved_by_two_adjudicators_through_the_pages(
    open_page: OpenPage, instance: Instance, clean_browser: object, tmp_path: Path
) -> None:
    def staff(username: str, section: str) -> VettingNavigator:
        # Each staff member in his own browser, signing in with password and authenticator.
        member = VettingNavigator(open_page(), instance.passwords)
        member.staff_signs_in_for_the_first_time(username, section)
        return member

    checks = _policy_checks(LEGION)
    # Given: the legion's policy needs checkers of roles the cast has (the sanctions screening is automatic).
    manual = [c for c in checks if c["slug"] != "sanctions"]
    assert {c["role"] for c in manual} <= set(CHECKER_OF_ROLE)
    # And: an application sent in Russian through the public form.
    applicant = ApplicantNavigator(open_page())
    applicant.page.goto("/apply/?lang=ru")
    applicant.applicant_sees_the_form_in_russian()
    applicant.applicant_fills_in_the_form(APPLICANT, tiny_png(tmp_path / "scan.png", "2817604553"))
    applicant.applicant_sends_the_form()
    receipt = applicant.applicant_reads_the_receipt()

    # When: the intake officer assigns the new case to the investigator in the intake queue,
    intake = staff(INTAKE, "intake")
    case_id = intake.intake_officer_assigns_the_new_case(INVESTIGATOR)
    # opens it from "Cases to start" in the vetting queue and starts vetting.
    intake.staff_opens_the_vetting_queue()
    intake.staff_opens_the_case_from("queue-to-start", case_id)
    assert intake.case_state() == "received"
    intake.intake_officer_starts_vetting()
    # Then: the case has the policy's checks, and the applicant now reads "being reviewed".
    rows = intake.check_rows()
    assert sorted(rows.values()) == sorted(c["name"] for c in checks)
    applicant.page.goto("/status/?lang=ru")
    assert applicant.applicant_checks_the_status(receipt) == "in_review"
    applicant.applicant_sees_the_state_in_russian("in_review")

    # When: the intake officer gives each open check to the staff member of its role.
    role_of_name = {c["name"]: c["role"] for c in manual}
    for check_id, name in rows.items():
        if name in role_of_name:
            intake.intake_officer_assigns_the_check(check_id, CHECKER_OF_ROLE[role_of_name[name]])
    # Then: the screening check was completed on start, with nobody assigned.
    sanctions = next(i for i, name in rows.items() if name not in role_of_name)
    assert "Clear" in intake.page.inner_text(f"#check-{sanctions}")

    # When: each checker opens the case from "My checks" and records a clear result for each of his.
    examined_on = datetime.datetime.now(tz=datetime.UTC).date().isoformat()
    recorded: dict[str, list[int]] = {}
    for role, username in CHECKER_OF_ROLE.items():
        checker = staff(username, "cases")
        checker.staff_opens_the_vetting_queue()
        assert checker.staff_opens_the_case_of_his_first_check() == case_id
        recorded[role] = checker.staff_records_every_check_of_his(examined_on)
        # Then: his queue is empty.
        checker.staff_has_no_open_checks()
    # Then: each checker recorded exactly the checks of his role, and the case waits for a decision.
    for role in CHECKER_OF_ROLE:
        assert sorted(rows[i] for i in recorded[role]) == sorted(c["name"] for c in manual if c["role"] == role)
    intake.page.reload()
    assert intake.case_state() == "awaiting_decision"

    # When: the first adjudicator approves from "Waiting for your decision", with a rationale.
    first = staff(ADJUDICATORS[0], "adjudication")
    first.staff_opens_the_vetting_queue()
    first.staff_opens_the_case_from("queue-to-decide", case_id)
    first.adjudicator_approves("Every check is clear; no finding under any guideline. Approve.")
    # Then: one vote does not decide the case.
    assert first.case_state() == "awaiting_decision"
    # When: a second, different adjudicator approves too.
    second = staff(ADJUDICATORS[1], "adjudication")
    second.staff_opens_the_vetting_queue()
    second.staff_opens_the_case_from("queue-to-decide", case_id)
    second.adjudicator_approves("Identity, background and polygraph clear; the whole person supports approval.")
    # Then: the case page shows it approved, with both decisions.
    assert second.case_state() == "approved"
    assert second.page.locator("#decisions li").count() == 2
    # And: the applicant's status page says, in Russian, to come to the interview point.
    applicant.page.goto("/status/?lang=ru")
    assert applicant.applicant_checks_the_status(receipt) == "invited"
    applicant.applicant_sees_the_state_in_russian("invited")
