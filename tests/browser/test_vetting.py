"""One application walked from the Russian form to a billet through a real browser, each role's day.

The cast is made with ``legionary staff add`` before the server starts, one account per role the
Freedom of Russia Legion's shipped check policy needs, and two adjudicators; an administrator
(set-up only) makes, through the real services, a cohort of the basic course that began a course's
length ago (so that every module is due) and a company with two vacant billets, then its lead
instructor and its commander are added, scoped to them. Each signs in in his own browser with
password and authenticator and, from then on, only clicks: the intake officer assigns the
application (vetting starts, every check goes to its checker); the investigator finds it on "My
work", opens the identity with a reason and records his checks; the examiner records the
polygraph; the CI officer compares the application with the earlier one screening flagged and
resolves the flag; two different adjudicators approve; the instructor finds the approved person on
his "My work", enrols him, and enters and signs off every module's results from "My work" until he
is trained; the commander finds him awaiting assignment and puts him in a billet. Each step checks
that the next person sees the item on his "My work"; axe-core runs on every page of it; the queue,
"My work", the case, the opened identity, the flag comparison, the cohort, the results grid and the
commander's day are shot at 1280 and 390 px (``LEGIONARY_SCREENSHOTS``). Clicks per task are written
to ``$LEGIONARY_SCREENSHOTS/journey-clicks.json`` (copied to docs/journey-clicks.json for docs/workflows.md).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from legionary.vetting.catalogue import CHECKS_FIXTURE
from tests.browser.axe import assert_accessible, screenshot_folder, shoot
from tests.browser.conftest import Instance, OpenPage
from tests.browser.pages import Applicant, ApplicantNavigator, PipelineNavigator, call_sign_text, tiny_png
from tests.browser.setup_helpers import shell, staff_add
from tests.core.instance import legionary_env, run_legionary

pytestmark = pytest.mark.browser

LEGION = "frl"
INTAKE = "olga-intake"
INVESTIGATOR = "ivan-investigator"
EXAMINER = "pavel-polygraph"
CI_OFFICER = "kira-ci"
ADJUDICATORS = ("adam-adjudicator", "bella-adjudicator")
ADMIN = "anna-admin"  # set-up only: the cohort and the company
INSTRUCTOR = "irina-instructor"  # the cohort's lead instructor
COMMANDER = "kostya-commander"  # the company's commander
COHORT, COMPANY = "Alpha 2026-1", "1st Company"
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
# Another man born the same day in the same town with the same patronymic: a "possible" pair with
# the applicant, for the CI officer to check by hand, never merged by screening.
NAMESAKE = dataclasses.replace(
    APPLICANT,
    given_names="Аркадий",
    family_name="Белозёров",
    document_number="4409 118273",
    phone="+7 915 331-08-64",
    email="a.belozerov@example.org",
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
        ADMIN: ["administrator"],
    }


def _cohort_and_company(instance: Instance) -> None:
    """A cohort of the basic course that began a course's length ago, led by the instructor, and a
    company of the legion with a rifleman's and a UAV operator's billet, commanded by the commander.
    No page makes the top of the unit tree, so all of it is made by the real services (set-up only)."""
    cohort_id, company_id = shell(
        instance,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from legionary.access.models import Staff\n"
        "from legionary.training.models import Course\n"
        "from legionary.training.services import cohort_create\n"
        "from legionary.units.services import billet_create, unit_create\n"
        f"admin = Staff.objects.get(username={ADMIN!r})\n"
        "course = Course.objects.get(code='basic')\n"
        "start = timezone.localdate() - timedelta(weeks=course.weeks)\n"
        f"cohort = cohort_create(actor=admin, course_id=course.pk, name={COHORT!r}, legion={LEGION!r},"
        " start_date=start, site='Training area North')\n"
        "top = unit_create(actor=admin, kind='framework', name='Framework', overseer=admin)\n"
        "legion = unit_create(actor=admin, kind='legion', name='Freedom of Russia Legion', overseer=admin,"
        f" parent_id=top.pk, legion={LEGION!r})\n"
        f"company = unit_create(actor=admin, kind='company', name={COMPANY!r}, overseer=admin, parent_id=legion.pk)\n"
        "billet_create(actor=admin, unit_id=company.pk, role='rifleman', qualification_codes=['weapons-handling'])\n"
        "billet_create(actor=admin, unit_id=company.pk, role='uav_operator', qualification_codes=['uav-observer'])\n"
        "result([cohort.pk, company.pk])\n",
    )
    staff_add(instance, INSTRUCTOR, "instructor", f"cohort:{cohort_id}")
    staff_add(instance, COMMANDER, "unit_commander", f"unit:{company_id}")
    shell(
        instance,
        "from legionary.access.models import Staff\n"
        "from legionary.training.models import Cohort\n"
        "from legionary.training.services import cohort_update\n"
        f"cohort = Cohort.objects.get(pk={cohort_id})\n"
        f"cohort_update(actor=Staff.objects.get(username={ADMIN!r}), cohort_id=cohort.pk, name=cohort.name,"
        f" start_date=cohort.start_date, site=cohort.site, lead_id=Staff.objects.get(username={INSTRUCTOR!r}).pk)\n"
        "result(cohort.lead_id)\n",
    )


def test_each_role_finds_the_application_on_my_work_from_the_russian_form_to_a_billet(
    open_page: OpenPage, instance: Instance, clean_browser: object, tmp_path: Path
) -> None:
    clicks: dict[str, int] = {}

    def staff(username: str, section: str) -> PipelineNavigator:
        # Each staff member in his own browser, signing in with password and authenticator.
        member = PipelineNavigator(open_page(), instance.passwords, clicks)
        member.staff_signs_in_for_the_first_time(username, section)
        assert_accessible(member.page, f"{username}'s dashboard")
        return member

    checks = _policy_checks(LEGION)
    manual = [c for c in checks if c["slug"] != "sanctions"]
    assert {c["role"] for c in manual} <= set(CHECKER_OF_ROLE)
    _cohort_and_company(instance)
    # Given: the applicant applied once before, and now applies again in Russian (screening flags it).
    # And a designation list on which his name stands with a 1st of January for the birth date (a
    # year): a possible hit for the CI officer, which opens no CI check and is never told to him.
    listed = tmp_path / "designations.ftm.json"
    entry = {"id": "gb-demo-1", "schema": "Person", "properties": {"name": ["СОЛОВЬЁВ Тимофей Андреевич"]}}
    entry["properties"]["birthDate"] = ["1993-01-01"]
    listed.write_text(json.dumps(entry, ensure_ascii=False) + "\n", encoding="utf-8")
    env = legionary_env(instance.home, instance.database_url, LEGIONARY_HTTPS="0")
    loaded = run_legionary(env, "screening", "load", str(listed), "--name", "designations")
    assert loaded.returncode == 0, loaded.stderr
    applicant = ApplicantNavigator(open_page())
    applicant.page.goto("/apply/?lang=ru")
    applicant.applicant_fills_in_the_form(NAMESAKE, tiny_png(tmp_path / "namesake.png", "4409118273"))
    applicant.applicant_sends_the_form()
    applicant.applicant_reads_the_receipt()
    for _ in range(2):
        applicant.page.goto("/apply/?lang=ru")
        applicant.applicant_sees_the_form_in_russian()
        applicant.applicant_fills_in_the_form(APPLICANT, tiny_png(tmp_path / "scan.png", "2817604553"))
        applicant.applicant_sends_the_form()
        receipt = applicant.applicant_reads_the_receipt()

    # The intake officer: My work lists the new application, flagged; he assigns it from the queue.
    intake = staff(INTAKE, "intake")
    intake.begins("see what waits (intake officer)")
    intake.staff_opens_my_work()
    shoot(intake.page, "vetting-my-work-intake")
    intake.begins("assign a new application")
    case_id = intake.intake_officer_assigns_the_newest_application(INVESTIGATOR)
    shoot(intake.page, "vetting-intake-queue")
    # Then: the applicant reads "being reviewed", and the case has every check, each with its checker.
    applicant.page.goto("/status/?lang=ru")
    assert applicant.applicant_checks_the_status(receipt) == "in_review"
    intake.begins("see that the assigned case left New applications (intake officer)")
    intake.staff_opens_my_work()
    intake.staff_does_not_see_on_my_work("new-applications", case_id)

    # The investigator finds it on My work (no URL typed), opens the identity with a reason.
    investigator = staff(INVESTIGATOR, "cases")
    investigator.begins("find an assigned case (investigator)")
    investigator.staff_opens_my_work()
    investigator.staff_sees_on_my_work("my-checks", case_id)
    investigator.staff_opens_the_case_from_my_work("my-checks", case_id)
    rows = investigator.check_rows()
    assert sorted(name for name, _who in rows.values()) == sorted(c["name"] for c in checks)
    role_of_name = {c["name"]: c["role"] for c in manual}
    for name, who in rows.values():
        if name in role_of_name:
            assert who == CHECKER_OF_ROLE[role_of_name[name]], (name, who)
    shoot(investigator.page, "vetting-case")
    investigator.begins("open the identity with a reason")
    investigator.staff_opens_the_identity("Identity and document verification of the application")
    identity = investigator.page.inner_text("#identity")
    assert APPLICANT.family_name in identity and "Russian Federation" in identity and "['RU']" not in identity
    shoot(investigator.page, "vetting-identity")
    investigator.begins("record the investigator's checks")
    examined_on = datetime.datetime.now(tz=datetime.UTC).date().isoformat()
    recorded = investigator.staff_records_every_check_of_his(examined_on)
    assert sorted(rows[i][0] for i in recorded) == sorted(c["name"] for c in manual if c["role"] == "investigator")

    # The examiner: the polygraph on his My work.
    examiner = staff(EXAMINER, "cases")
    examiner.begins("record the polygraph")
    examiner.staff_opens_my_work()
    examiner.staff_sees_on_my_work("my-checks", case_id)
    examiner.staff_opens_the_case_from_my_work("my-checks", case_id)
    assert len(examiner.staff_records_every_check_of_his(examined_on)) == 1

    # The CI officer: the flag and the CI review on his My work; compares the two records, resolves.
    ci = staff(CI_OFFICER, "cases")
    ci.begins("resolve a possible duplicate")
    ci.staff_opens_my_work()
    ci.staff_sees_on_my_work("flags", case_id)
    ci.staff_sees_on_my_work("my-checks", case_id)
    ci.staff_sees_on_my_work("list-hits", case_id)
    ci.staff_opens_the_case_from_my_work("flags", case_id)
    expect(ci.page.locator("#flags")).to_contain_text("Name and date of birth")
    # Both tiers, labelled: the match beside the namesake screening only thinks worth a look.
    possible = ci.page.locator("#flags [id^=possible-][data-tier=possible]")
    expect(possible).to_have_count(1)
    expect(possible).to_contain_text("Possible — check by hand")
    expect(possible).to_contain_text("same date of birth and patronymic, different name")
    shoot(ci.page, "vetting-flag-comparison")
    ci.ci_officer_resolves_the_flag("same_person", "The same applicant, applying again with the same passport.")
    expect(ci.page.locator("#flags")).to_contain_text("Linked to")
    ci.begins("check a possible duplicate by hand")
    other = str(possible.get_attribute("id")).removeprefix("possible-")
    ci.click(f"#possible-{other}-different_people")
    ci.page.fill(f"#possible-reason-{other}", "Different faces and signatures on the two passports.")
    ci.click(f"#possible-form-{other} button[type=submit]")
    expect(ci.page.locator("#messages")).to_contain_text("Resolved: different people.")
    expect(ci.page.locator(f"#possible-form-{other}")).to_have_count(0)
    expect(ci.page.locator("#flags [data-tier=possible]")).to_contain_text("Different people")
    shoot(ci.page, "vetting-flag-tiers-resolved")
    ci.begins("resolve a list hit")
    hit = ci.page.locator("#hits tbody tr[data-state=open]")
    expect(hit).to_have_count(1)
    for text in ("designations", "gb-demo-1", "Applicant", "Possible — check by hand", "Open"):
        expect(hit).to_contain_text(text)
    ci.click("#hits tbody tr[data-state=open] button[type=submit]")
    expect(ci.page.locator("#messages")).to_contain_text("Screening hit resolved.")
    expect(ci.page.locator("#hits tbody tr[data-state=resolved]")).to_have_count(1)
    shoot(ci.page, "vetting-list-hits")
    ci.begins("record the CI review")
    assert len(ci.staff_records_every_check_of_his(examined_on)) == 1
    ci.begins("see what waits (CI officer)")
    ci.staff_opens_my_work()
    ci.staff_does_not_see_on_my_work("flags", case_id)

    # Two different adjudicators, each from his My work.
    first = staff(ADJUDICATORS[0], "cases")
    first.begins("decide a case (adjudicator)")
    first.staff_opens_my_work()
    first.staff_sees_on_my_work("to-decide", case_id)
    first.staff_opens_the_case_from_my_work("to-decide", case_id)
    first.adjudicator_decides("approve", "Every check is clear; no finding under any guideline. Approve.")
    assert first.case_state() == "awaiting_decision"
    first.begins("see what waits (adjudicator)")
    first.staff_opens_my_work()
    first.staff_does_not_see_on_my_work("to-decide", case_id)
    second = staff(ADJUDICATORS[1], "cases")
    second.begins("decide a case, second adjudicator")
    second.staff_opens_my_work()
    second.staff_sees_on_my_work("to-decide", case_id)
    expect(
        second.page.locator(f"#work-to-decide a[href^='/cases/{case_id}/']").locator("xpath=ancestor::tr")
    ).to_contain_text("Second decision")
    second.staff_opens_the_case_from_my_work("to-decide", case_id)
    second.adjudicator_decides("approve", "Identity, background and polygraph clear; the whole person supports it.")
    assert second.case_state() == "approved"
    expect(second.page.locator("#history")).to_contain_text("Second adjudicator decided: Approve")
    assert_accessible(second.page, "the decided case")
    # And: the applicant's status page says, in Russian, to come to the interview point.
    applicant.page.goto("/status/?lang=ru")
    assert applicant.applicant_checks_the_status(receipt) == "invited"

    call_sign = call_sign_text(second.page.inner_text(".moj-identity-bar__title"))

    # The instructor: the approved person is on his My work, to enrol in the cohort he leads.
    instructor = staff(INSTRUCTOR, "training")
    instructor.staff_sees_the_person_on_my_work("training-people-to-enrol", call_sign)
    shoot(instructor.page, "journey-instructor-to-enrol")
    instructor.begins("enrol an approved person (My work, the person, Enrol)")
    instructor.staff_opens_my_work()
    person_id = instructor.instructor_opens_the_person_to_enrol(call_sign)
    shoot(instructor.page, "journey-cohort-to-enrol")
    instructor.instructor_enrols(person_id, call_sign)
    shoot(instructor.page, "journey-cohort-enrolled")
    # Then: every module of the course is due on his My work; he grades them one by one.
    instructor.begins("see what waits (instructor)")
    instructor.staff_opens_my_work()
    instructor.staff_does_not_see_the_person_on_my_work("training-people-to-enrol", call_sign)
    modules = instructor.due_modules()
    assert modules >= 5, modules
    shoot(instructor.page, "journey-instructor-results-due")
    per_module = []
    for n in range(modules):
        instructor.begins(f"module {n + 1}")
        instructor.staff_opens_my_work()
        instructor.instructor_grades_the_first_due_module("90")
        if n == 0:
            shoot(instructor.page, "journey-module-results")
        per_module.append(instructor.clicks.pop(f"module {n + 1}"))
    assert set(per_module) == {5}, per_module
    clicks["record and sign off a module's results (My work, the module, Record results, Sign off, Final sign-off)"] = (
        per_module[0]
    )
    clicks[f"the whole basic course for one trainee ({modules} modules)"] = sum(per_module)
    instructor.begins("see that the course is done (instructor)")
    instructor.staff_opens_my_work()
    assert instructor.due_modules() == 0
    expect(instructor.page.locator("#work-training-results-to-sign tbody tr")).to_have_count(0)

    # The commander: the trained person is on his My work, awaiting assignment; two vacant billets.
    commander = staff(COMMANDER, "units")
    commander.staff_sees_the_person_on_my_work("units-awaiting-assignment", call_sign)
    expect(commander.page.locator("#work-units-vacant-billets tbody tr")).to_have_count(2)
    shoot(commander.page, "journey-commander-my-work")
    commander.begins("assign a trained person to a billet (My work, the person, the billet, Assign)")
    commander.staff_opens_my_work()
    commander.commander_assigns_from_my_work(call_sign, "Rifleman", COMPANY)
    expect(commander.page.locator("#person-call-sign")).to_contain_text(call_sign)
    assert_accessible(commander.page, "the assigned person's record")
    # Then: he no longer waits, one billet is left vacant, and he is on the company's roster.
    commander.begins("see a unit's vacant billets (My work, the billet)")
    commander.staff_opens_my_work()
    commander.staff_does_not_see_the_person_on_my_work("units-awaiting-assignment", call_sign)
    expect(commander.page.locator("#work-units-vacant-billets tbody tr")).to_have_count(1)
    commander.click("#work-units-vacant-billets tbody a >> nth=0")
    expect(commander.page.locator("#roster tbody tr")).to_have_count(1)
    expect(commander.page.locator("#roster tbody tr")).to_contain_text("UAV operator")
    assert_accessible(commander.page, "the roster, vacant billets only")
    commander.begins("see the whole roster (the Vacant billets only tag removed)")
    commander.click(".moj-filter-tags a:has-text('Vacant billets only')")
    expect(commander.page.locator("#roster-filled")).to_have_text("1")
    expect(commander.page.locator("#roster-vacant")).to_have_text("1")
    expect(commander.page.locator(f"#roster tr[data-person='{person_id}']")).to_contain_text(call_sign)
    shoot(commander.page, "journey-roster")

    folder = screenshot_folder()
    if folder is not None:
        (folder / "journey-clicks.json").write_text(json.dumps(clicks, indent=1), encoding="utf-8")
    # Assigning an application: the Intake link, the row's checkbox, the investigator, the button.
    assert clicks["assign a new application"] == 4
    assert clicks["enrol an approved person (My work, the person, Enrol)"] == 3
    assert clicks["assign a trained person to a billet (My work, the person, the billet, Assign)"] == 4
    assert clicks["see a unit's vacant billets (My work, the billet)"] == 2
