"""An instructor records a module's results for his cohort with the keyboard alone (issue 7's proof).

The cast: an administrator (made before the server starts) who creates two cohorts of the shipped
basic course and enrols people through the pages, and two instructors whose grants are scoped to
one cohort each (``legionary staff add --scope cohort:ID``, made once the cohorts exist). The people
come in through ``legionary import`` and are approved for set-up only (see ``setup_helpers``).

The instructor of the first cohort tabs to each score field of the first module, types the score,
sends the grid with Enter and signs his results off the same way; the gradebook then shows them.
The instructor of the other cohort is answered 404 on every page of the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import CspWatch, Instance, OpenPage
from tests.browser.pages import StaffNavigator, tab_to
from tests.browser.setup_helpers import (
    SetUpPerson,
    applicants_import,
    consume_expected_404s,
    people_set_status_for_setup,
    signed_in,
    staff_add,
)
from tests.intake.helpers import application

pytestmark = pytest.mark.browser

ADMIN = "anna-admin"
INSTRUCTOR = "igor-instructor"
OTHER_INSTRUCTOR = "oleg-instructor"
LEGION = "frl"
# Two people in the instructor's cohort, one in the other; names only the sealed identity holds.
REFS = ("train-1", "train-2", "train-3")
# Scores per person for the first module's two assessments (pass marks 60 and 70): one fails.
SCORES = {"train-1": ("85", "90"), "train-2": ("72", "55")}


@dataclass(frozen=True)
class TrainingSetUp:
    ours: int  # the cohort the instructor grades
    other: int  # the other instructor's cohort
    module_id: int  # the first module of the course, as the gradebook links it
    people: dict[str, SetUpPerson]  # external ref → person


class TrainingNavigator(StaffNavigator):
    """One staff member's browser in the training story; ids are those listed in the templates."""

    def administrator_creates_a_cohort(self, name: str) -> int:
        self.page.goto("/training/cohorts/new")
        self.page.select_option("#id_course", index=1)  # the shipped basic course, after the empty choice
        self.page.fill("#id_name", name)
        self.page.fill("#id_legion", LEGION)
        self.page.fill("#id_start_date", "2025-03-03")
        self.page.fill("#id_site", "Training area North")
        self.page.click("#cohort-submit")
        # Then: the new cohort's page.
        expect(self.page.locator("h1")).to_have_text(name)
        found = re.search(r"/training/cohorts/(\d+)/$", self.page.url)
        assert found, self.page.url
        return int(found.group(1))

    def administrator_enrols(self, cohort_id: int, call_sign: str) -> None:
        self.page.goto(f"/training/cohorts/{cohort_id}/")
        self.page.fill("#enrol-call-sign", call_sign)
        self.page.click("#enrol-submit")
        expect(self.page.locator("#messages")).to_contain_text(f"{call_sign} enrolled.")
        expect(self.page.locator("#enrolled")).to_contain_text(call_sign)

    def first_module_id(self, cohort_id: int) -> int:
        """The first module in the cohort's timetable, as the administrator's edit page lists it."""
        self.page.goto(f"/training/cohorts/{cohort_id}/edit")
        field_id = str(self.page.locator("#timetable input[id^=week-]").first.get_attribute("id"))
        return int(field_id.removeprefix("week-"))

    # The instructor, keyboard only

    def instructor_opens_the_first_modules_results_by_keyboard(self, cohort_id: int) -> None:
        self.page.goto(f"/training/cohorts/{cohort_id}/gradebook")
        tab_to(self.page, "ul.module-links a[id$='-results']")
        self.page.keyboard.press("Enter")
        expect(self.page.locator("#results-form")).to_be_visible()

    def score_fields(self) -> list[tuple[str, str, str]]:
        """(field id, call sign, assessment name) of each open score field, in page (and tab) order."""
        fields = []
        for field_id in self.page.locator("#results-form input[id^=score-]").evaluate_all("(es) => es.map(e => e.id)"):
            _, enrolment, assessment = field_id.split("-")
            call_sign = self.page.inner_text(f"#who-{enrolment}").strip()
            assessment_name = self.page.locator(f"#head-{assessment}").evaluate("(e) => e.firstChild.textContent")
            fields.append((field_id, call_sign, str(assessment_name).strip()))
        return fields

    def instructor_types_the_scores_and_presses_enter(self, scores: dict[str, str]) -> None:
        """Tabs to each field (``scores`` is field id → score, in tab order), types, and sends with Enter."""
        for field_id, score in scores.items():
            tab_to(self.page, f"#{field_id}")
            self.page.keyboard.type(score)
        self.page.keyboard.press("Enter")

    def instructor_signs_off_by_keyboard(self) -> None:
        tab_to(self.page, "#sign-instructor")
        self.page.keyboard.press("Enter")

    def instructor_goes_back_to_the_gradebook_by_keyboard(self) -> None:
        tab_to(self.page, "main a[href$='/gradebook']")
        self.page.keyboard.press("Enter")
        expect(self.page.locator("#gradebook")).to_be_visible()

    def cell(self, field_id: str) -> tuple[str, str]:
        """The gradebook cell of a score field: its data-state and its text."""
        cell = self.page.locator("#cell-" + field_id.removeprefix("score-"))
        return str(cell.get_attribute("data-state")), cell.inner_text().strip()

    def status_of(self, path: str) -> int:
        response = self.page.goto(path)
        assert response is not None
        return response.status


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    return {ADMIN: ["administrator"]}


@pytest.fixture(scope="module")
def training(instance: Instance, browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> TrainingSetUp:
    """Two cohorts with approved people enrolled through the pages, and an instructor scoped to each."""
    folder: Path = tmp_path_factory.mktemp("training")
    applications = [
        application(
            external_ref=ref,
            legion=LEGION,
            identity__given_names=f"Quillon{'ABC'[i]}",
            identity__family_name=f"Vermandois{'ABC'[i]}",
            identity__documents=[{"kind": "passport", "country": "RU", "number": f"QT 5531 0{i}211"}],
        )
        for i, ref in enumerate(REFS)
    ]
    applicants_import(instance, applications, folder)
    people = {p.external_ref: p for p in people_set_status_for_setup(instance, list(REFS), "approved")}
    with signed_in(browser, instance, ADMIN, "training") as signed:
        admin = TrainingNavigator(signed.page, instance.passwords)
        ours = admin.administrator_creates_a_cohort("Alpha 2025-1")
        other = admin.administrator_creates_a_cohort("Bravo 2025-1")
        for ref in SCORES:
            admin.administrator_enrols(ours, people[ref].call_sign)
        admin.administrator_enrols(other, people["train-3"].call_sign)
        module_id = admin.first_module_id(ours)
    staff_add(instance, INSTRUCTOR, "instructor", f"cohort:{ours}")
    staff_add(instance, OTHER_INSTRUCTOR, "instructor", f"cohort:{other}")
    return TrainingSetUp(ours=ours, other=other, module_id=module_id, people=people)


@pytest.fixture
def instructor(open_page: OpenPage, instance: Instance, clean_browser: CspWatch) -> TrainingNavigator:
    """An instructor's browser; after the test, no CSP violation or console error (``clean_browser``)."""
    return TrainingNavigator(open_page(), instance.passwords)


def test_an_instructor_records_and_signs_off_a_modules_results_with_the_keyboard_alone(
    training: TrainingSetUp, instructor: TrainingNavigator
) -> None:
    # Given: the instructor of the first cohort, signed in, on his cohort's gradebook.
    instructor.staff_signs_in_for_the_first_time(INSTRUCTOR, "training")
    # When: he tabs to the first module's "record results" link and presses Enter.
    instructor.instructor_opens_the_first_modules_results_by_keyboard(training.ours)
    # Then: one empty score field per enrolled person and assessment, labelled by call sign.
    fields = instructor.score_fields()
    call_sign_ref = {training.people[ref].call_sign: ref for ref in SCORES}
    assert sorted({call_sign for _, call_sign, _ in fields}) == sorted(call_sign_ref)
    assessments = list(dict.fromkeys(name for _, _, name in fields))
    assert len(fields) == len(SCORES) * len(assessments) == 4
    scores = {
        field_id: SCORES[call_sign_ref[call_sign]][assessments.index(name)] for field_id, call_sign, name in fields
    }

    # When: he tabs to each field in turn, types its score, and presses Enter in the last one.
    instructor.instructor_types_the_scores_and_presses_enter(scores)
    # Then: the results are recorded, and no field is left open but the failed one (for a retake).
    expect(instructor.page.locator("#messages")).to_contain_text("4 results recorded.")
    failed = [f for f, score in scores.items() if score == "55"]
    expect(instructor.page.locator("#results-form input[id^=score-]")).to_have_count(len(failed))

    # When: he tabs to "Sign off the results I entered" and presses Enter.
    instructor.instructor_signs_off_by_keyboard()
    # Then: all four are signed off by him.
    expect(instructor.page.locator("#messages")).to_contain_text("4 results signed off.")

    # When: he follows "Back to the gradebook" by keyboard.
    instructor.instructor_goes_back_to_the_gradebook_by_keyboard()
    # Then: each cell shows its score; the passes wait for the lead, the failure shows as failed.
    for field_id, score in scores.items():
        state, text = instructor.cell(field_id)
        assert text.startswith(score), (field_id, text)
        assert state == ("failed" if field_id in failed else "instructor-signed"), (field_id, state)
    # And: the person with a failed assessment is counted at risk.
    expect(instructor.page.locator("#cohort-progress")).to_contain_text("2 enrolled, 0 completed, 1 at risk.")


def test_an_instructor_of_another_cohort_is_answered_404_on_this_cohorts_pages(
    training: TrainingSetUp, instructor: TrainingNavigator, clean_browser: CspWatch
) -> None:
    # Given: the instructor of the other cohort, signed in.
    instructor.staff_signs_in_for_the_first_time(OTHER_INSTRUCTOR, "training")
    # And: his own cohort's gradebook opens, with his one person in it.
    assert instructor.status_of(f"/training/cohorts/{training.other}/gradebook") == 200
    expect(instructor.page.locator("#gradebook")).to_contain_text(training.people["train-3"].call_sign)
    # When: he opens each page of the first cohort by its address.
    ours, module = training.ours, training.module_id
    pages = [
        f"/training/cohorts/{ours}/",
        f"/training/cohorts/{ours}/gradebook",
        f"/training/cohorts/{ours}/gradebook.csv",
        f"/training/cohorts/{ours}/modules/{module}/results",
        f"/training/cohorts/{ours}/modules/{module}/attendance",
    ]
    for path in pages:
        # Then: 404, as if the cohort did not exist (not 403, which would say it does).
        assert instructor.status_of(path) == 404, path
        expect(instructor.page.locator("h1")).to_have_text("Not found")
        page_text = instructor.page.content()
        for ref in SCORES:
            assert training.people[ref].call_sign not in page_text
    # And: the cohort list shows his cohort only.
    instructor.page.goto("/training/")
    expect(instructor.page.locator("main")).to_contain_text("Bravo 2025-1")
    expect(instructor.page.locator("main")).not_to_contain_text("Alpha 2025-1")
    # The browser logged each 404 page as a console error: one per page asked for, and no other.
    consume_expected_404s(clean_browser, len(pages))
