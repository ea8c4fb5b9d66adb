"""The scale fixture (``core.scale.fill``) and ``legionary demo --people N`` built on it (issue 10)."""

from __future__ import annotations

import io
import random

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role
from legionary.access.scopes import people_visible_to
from legionary.audit.models import Entry
from legionary.audit.verification import audit_verify
from legionary.core.demo import FAMILY, REF_PREFIX, synthetic_application
from legionary.core.scale import fill, fixture_people
from legionary.identity import services as identity
from legionary.identity.models import Person, PersonStatus
from legionary.intake.schema import validate_application
from legionary.training import curriculum
from legionary.training.models import Cohort, Enrolment, EnrolmentState, Result
from legionary.units.models import Assignment, Unit
from legionary.vetting.models import Case, CaseState, Check, Finding, ScreeningFlag
from tests.conftest import MakeStaff, signed_in
from tests.plaintext import find_plaintext, identity_needles

PIPELINE = {
    PersonStatus.RECEIVED,
    PersonStatus.IN_VETTING,
    PersonStatus.DENIED,
    PersonStatus.APPROVED,
    PersonStatus.IN_TRAINING,
    PersonStatus.TRAINED,
    PersonStatus.ASSIGNED,
    PersonStatus.ACTIVE,
}
CASE_STATES: dict[str, set[CaseState]] = {
    PersonStatus.RECEIVED: {CaseState.RECEIVED},
    PersonStatus.IN_VETTING: {CaseState.IN_REVIEW, CaseState.AWAITING_DECISION},
    PersonStatus.DENIED: {CaseState.DENIED},
}


@pytest.mark.django_db
def test_a_small_fill_holds_people_at_every_stage_with_cases_cohorts_and_units_to_match() -> None:
    report = fill(300)

    people = {p.pk: p for p in Person.objects.all()}
    assert report.added == len(people) == 300
    assert {p.status for p in people.values()} == PIPELINE
    assert sum(report.statuses.values()) == 300
    # Received over the last ~18 months, never in the future.
    now = timezone.now()
    assert all(0 <= (now - p.created_at).days <= 600 for p in people.values())

    # Each person has one case in the state his status implies; decided cases have their date.
    cases = {c.person_id: c for c in Case.objects.all()}
    assert set(cases) == set(people) and report.cases == 300
    for pk, person in people.items():
        case = cases[pk]
        assert case.state in CASE_STATES.get(person.status, {CaseState.APPROVED}), (person.status, case.state)
        assert (case.decided_at is not None) == (case.state in (CaseState.APPROVED, CaseState.DENIED))
        assert case.legion == person.legion
    # Vetted cases have checks; some open ones are overdue; every denied case has a finding.
    assert not Check.objects.filter(case__state=CaseState.RECEIVED).exists()
    assert Check.objects.filter(case__state=CaseState.APPROVED, result="").count() == 0
    assert Check.objects.filter(result="", due_on__lt=timezone.localdate()).exists()
    denied = {pk for pk, p in people.items() if p.status == PersonStatus.DENIED}
    assert set(Finding.objects.values_list("case__person_id", flat=True)) == denied
    # Re-applications are flagged against a denied person, whose identity they share.
    flags = list(ScreeningFlag.objects.select_related("case", "matched_person"))
    assert flags and all(f.case.flagged and f.matched_person.status == PersonStatus.DENIED for f in flags)
    assert all(f.case.created_at > (cases[f.matched_person_id].decided_at or now) for f in flags)  # applied again

    # People in or past training are enrolled in a cohort of the basic course of their legion.
    trained_on = {PersonStatus.IN_TRAINING, PersonStatus.TRAINED, PersonStatus.ASSIGNED, PersonStatus.ACTIVE}
    enrolments = {e.person_id: e for e in Enrolment.objects.select_related("cohort__course")}
    assert set(enrolments) == {pk for pk, p in people.items() if p.status in trained_on}
    for pk, enrolment in enrolments.items():
        assert enrolment.cohort.course.code == "basic" and enrolment.cohort.legion == people[pk].legion
        done = people[pk].status != PersonStatus.IN_TRAINING
        assert (enrolment.state == EnrolmentState.COMPLETED) == done
    assert Result.objects.exists() and Cohort.objects.count() == report.cohorts

    # Assigned and active people hold a billet in a unit of their own legion, one person a billet.
    serving = {pk for pk, p in people.items() if p.status in (PersonStatus.ASSIGNED, PersonStatus.ACTIVE)}
    assignments = list(Assignment.objects.select_related("billet__unit"))
    assert {a.person_id for a in assignments} == serving
    assert all(a.billet.unit.legion == people[a.person_id].legion and a.is_latest for a in assignments)
    assert len({a.billet_id for a in assignments}) == len(assignments)
    assert Unit.objects.count() == report.units and report.units > 0


@pytest.mark.django_db
def test_a_second_fill_to_a_larger_size_adds_exactly_the_difference() -> None:
    first = fill(120)
    second = fill(250)
    again = fill(250)

    assert (first.added, second.added, again.added) == (120, 130, 0)
    assert fixture_people() == Person.objects.count() == 250
    assert Case.objects.count() == 250
    call_signs = list(Person.objects.values_list("call_sign_key", flat=True))
    assert len(set(call_signs)) == len(call_signs)


@pytest.mark.django_db
def test_the_audit_log_after_a_fill_verifies_and_holds_an_entry_for_every_person() -> None:
    report = fill(200)

    result = audit_verify()
    assert result.ok, result.problems
    created = set(Entry.objects.filter(action="person.created").values_list("subject", flat=True))
    assert created == set(Person.objects.values_list("pk", flat=True))
    assert report.audit_entries == Entry.objects.count() >= 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("openings_alert_policy")  # a security officer opens every one: break-glass
def test_every_identity_of_a_fill_unseals_and_no_demo_name_is_stored_in_plain(make_staff: MakeStaff) -> None:
    # A transactional test may start from a database flushed by the one before, which has lost the
    # basic course that a data migration loads; load it again (create or update, so idempotent).
    curriculum.load(curriculum.read_document(), apps.get_model)
    fill(80)
    officer = make_staff("officer-1", Role.SECURITY_OFFICER)

    identities = [
        identity.unseal_identity(
            person=person, actor=identity.Actor(officer.username, officer), reason="scale fixture test"
        )
        for person in Person.objects.all()
    ]

    assert len(identities) == 80
    assert all(i["family_name"].split("-")[0] in FAMILY for i in identities)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    needles = identity_needles(identities)
    assert len(needles) > 80
    assert find_plaintext(needles) == []


def test_the_synthetic_application_is_valid_in_the_import_format() -> None:
    rng = random.Random(7)  # noqa: S311 — synthetic data, not security
    for n in range(20):
        application = validate_application(synthetic_application(rng, n))
        assert application.identity_document()["family_name"].endswith(f"-{n}")


@pytest.mark.django_db
def test_the_demo_command_makes_staff_for_every_role_who_see_the_demo_people_and_prints_how_to_sign_in() -> None:
    out = io.StringIO()

    call_command("demo", people=40, stdout=out)

    text = out.getvalue()
    assert "40 synthetic applicants" in text
    assert "Sign in at /login/" in text
    for role in Role.values:
        username = "demo-" + role.replace("_", "-")
        assert username in text
        staff = Staff.objects.get(username=username)
        assert RoleGrant.objects.filter(staff=staff, role=role).exists()
        assert people_visible_to(staff).exists(), role
    assert fixture_people() == 40


@pytest.mark.django_db
def test_a_fresh_demo_has_its_possible_duplicates_marked_and_on_the_ci_officers_my_work() -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from legionary.vetting.selectors import open_possible_pairs

    out = io.StringIO()
    call_command("demo", people=60, stdout=out)

    # The planted re-application under another name, marked as arrival marks it (the later one).
    marked = list(Case.objects.filter(possible="open").select_related("person"))
    assert marked, "a fresh demo marks no possible duplicate"
    assert "possible duplicates marked for the counter-intelligence officer to review: " in out.getvalue()
    assert Entry.objects.filter(action="screening.possible", actor="demo").count() == len(marked)
    undecided = [c for c in marked if c.state not in (CaseState.APPROVED, CaseState.DENIED)]
    assert undecided
    case = undecided[0]
    pairs = open_possible_pairs(case.person_id)
    assert pairs and all(set(reasons) >= {"patronymic+birth_date"} for _other, reasons in pairs)
    # The demo counter-intelligence officer finds it where the interface shows it: on "My work",
    # labelled, linked to the case, whose page offers the conclusion on the pair.
    ci = Staff.objects.get(username="demo-ci-officer")
    TOTPDevice.objects.create(user=ci, name="authenticator", confirmed=True)  # as his first sign-in sets up
    client = signed_in(ci)
    page = client.get("/work/", secure=True).content.decode()
    section = page.split('id="work-possible-duplicates"')[1].split("</section>")[0]
    assert f'href="/cases/{case.pk}/#flags"' in section and "Possible duplicate, to review" in section
    case_page = client.get(f"/cases/{case.pk}/", secure=True).content.decode()
    assert f'id="possible-form-{pairs[0][0]}"' in case_page


@pytest.mark.django_db
def test_the_demo_command_leaves_a_finished_dashboard_rollup_counting_its_people() -> None:
    from legionary.reports.models import Rollup
    from legionary.reports.selectors import ROLLUP, Period, pipeline_dashboard, system_scope

    call_command("demo", people=25, stdout=io.StringIO())

    assert Rollup.objects.filter(finished_at__isnull=False).exists()
    dashboard = pipeline_dashboard(system_scope(exact=True), Period())
    assert dashboard.source == ROLLUP
    assert sum(row.reached["received"] for row in dashboard.funnel) == 25


@pytest.mark.django_db
def test_the_demo_command_run_again_adds_no_staff_and_only_the_missing_people() -> None:
    call_command("demo", people=30, stdout=io.StringIO())
    out = io.StringIO()

    call_command("demo", people=45, stdout=out)

    assert "0 new staff accounts, 45 synthetic applicants (15 new" in out.getvalue()
    assert Person.objects.count() == 45


@pytest.mark.django_db
@pytest.mark.parametrize("people", [-1, 10_000_001])
def test_a_number_of_people_out_of_range_is_refused_with_a_clear_error_and_nothing_written(people: int) -> None:
    with pytest.raises(CommandError) as refused:
        call_command("demo", people=people, stdout=io.StringIO())

    assert str(refused.value) == "--people must be a whole number from 0 to 10000000."
    assert refused.value.returncode == 2
    assert not Staff.objects.exists() and not Person.objects.exists()


def test_the_fill_refuses_a_negative_number_of_people() -> None:
    with pytest.raises(ValueError, match="zero or more"):
        fill(-3)


@pytest.mark.django_db
def test_cohorts_hold_at_most_their_seats_and_a_resumed_fill_keeps_filling_the_open_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db.models import Count

    from legionary.core import scale

    monkeypatch.setattr(scale, "COHORT_SEATS", 4)
    fill(150)
    fill(300)

    seats = list(Cohort.objects.annotate(n=Count("enrolments")).values_list("legion", "start_date", "name", "n"))
    assert seats and max(n for *_rest, n in seats) <= 4
    by_start: dict[tuple[str, object], list[tuple[str, int]]] = {}
    for legion, start, name, n in seats:
        by_start.setdefault((legion, start), []).append((name, n))
    # Where several cohorts start together, all but the newest are full: no half-empty cohort is left behind.
    crowded = [sorted(group) for group in by_start.values() if len(group) > 1]
    assert crowded, "no start date needed a second cohort; the test proves nothing"
    for group in crowded:
        names = [name for name, _n in group]
        assert len(set(names)) == len(names)
        assert sum(1 for _name, n in group if n < 4) <= 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("openings_alert_policy")  # a security officer opens every one: break-glass
def test_a_fill_that_seals_in_a_second_process_writes_whole_people_that_open_and_match(
    make_staff: MakeStaff, monkeypatch: pytest.MonkeyPatch
) -> None:
    from legionary.core import scale

    curriculum.load(curriculum.read_document(), apps.get_model)  # see the test above
    monkeypatch.setattr(scale, "BATCH", 30)
    report = fill(90, sealer=True)  # three batches: each sealed by the worker while the one before is written

    officer = make_staff("officer-1", Role.SECURITY_OFFICER)
    actor = identity.Actor(officer.username, officer)
    # The plans depend on the seed and the batch alone: plan them again to know who is who.
    planner = scale._Filler(seed=7, report=scale.FillReport())
    planned = {plan.n: plan.identity for first in (0, 30, 60) for plan in planner.prepare(first, 30).plans}
    people = list(Person.objects.exclude(external_ref=None))
    assert report.added == len(people) == len(planned) == 90
    for person in people:
        n = int(person.external_ref.removeprefix(REF_PREFIX))
        opened = identity.unseal_identity(person=person, actor=actor, reason="scale fixture test")
        for key in ("family_name", "given_names", "date_of_birth", "documents"):
            assert opened[key] == planned[n][key]  # the identity planned for this very person
    # The blind indexes the worker computed find the re-applications, as inline ones do.
    assert report.flags > 0 and ScreeningFlag.objects.count() == report.flags
    result = audit_verify()
    assert result.ok, result.problems
