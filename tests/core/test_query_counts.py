"""Every staff list and detail page and every API list and detail costs the same number of SQL
queries whatever the number of people (no N+1, no unbounded list).

The data is the scale fixture (``core.scale.fill``), grown threefold between two renders of each
page; the viewers hold system-wide grants (everything is in scope, so every row added shows up) or
narrow ones (a unit commander of one legion's tree, an instructor of one cohort).
"""

from __future__ import annotations

import pytest

from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.core.scale import fill
from legionary.identity.models import Person, PersonStatus
from legionary.training.models import Cohort
from legionary.units.models import Assignment, Unit, UnitKind
from legionary.vetting.models import Case, CaseState
from tests.conftest import MakeStaff, signed_in
from tests.querycount import QueryCounter, assert_queries_flat

pytestmark = pytest.mark.django_db(transaction=False)

SMALL, LARGE = 25, 75
CHIEF_ROLES = (
    Role.INTAKE_OFFICER,
    Role.SENIOR_ADJUDICATOR,
    Role.CI_OFFICER,
    Role.ADMINISTRATOR,
    Role.SECURITY_OFFICER,
    Role.INSTRUCTOR,
)


@pytest.fixture
def chief(make_staff: MakeStaff) -> Staff:
    """One account holding every viewing role system-wide (the fixture assigns checks to him too)."""
    staff = make_staff("chief", CHIEF_ROLES[0])
    for role in CHIEF_ROLES[1:]:
        staff.grants.create(role=role, scope_kind=ScopeKind.SYSTEM, scope_ref="")
    fill(SMALL)
    return staff


def _grow() -> None:
    fill(LARGE)


def _a_case(state: str | None = None) -> int:
    cases = Case.objects.order_by("pk")
    if state:
        cases = cases.filter(state=state)
    found = cases.values_list("pk", flat=True).first()
    assert found is not None, "the fixture made no such case"
    return found


def _an_assigned_person() -> str:
    found = Assignment.objects.filter(is_latest=True).order_by("pk").values_list("person_id", flat=True).first()
    assert found is not None, "the fixture assigned nobody"
    return found


def _a_cohort() -> int:
    found = Cohort.objects.order_by("start_date", "pk").values_list("pk", flat=True).first()
    assert found is not None, "the fixture made no cohort"
    return found


def _a_legion_unit() -> Unit:
    found = Unit.objects.filter(kind=UnitKind.LEGION).order_by("pk").first()
    assert found is not None, "the fixture made no unit tree"
    return found


def _a_prefix() -> str:
    """The first two letters of a call sign, so that a search finds someone at the small size too."""
    call_sign = Person.objects.order_by("call_sign_key").values_list("call_sign_key", flat=True).first()
    assert call_sign, "the fixture made nobody"
    return call_sign[:2]


# Viewing the audit log is itself audited: the append writes the Merkle tree's new nodes, O(log n)
# queries in the log's size (audit.services), not a cost per row shown.
AUDITED_VIEW = 2


def test_staff_pages_cost_the_same_queries_at_three_times_the_people(chief: Staff) -> None:
    cohort, unit, person, prefix = _a_cohort(), _a_legion_unit(), _an_assigned_person(), _a_prefix()
    urls = [
        "/cases/",
        f"/cases/{_a_case()}/",
        "/cases/all/",
        "/cases/all/?state=in_review&legion=frl",
        "/cases/all/?overdue=1&assignee=me",
        "/cases/all/?flagged=1",
        "/cases/all/?assignee=none&legion=geo",
        "/intake/",
        "/intake/?legion=frl&flagged=1",
        "/units/",
        f"/units/{unit.pk}/",
        f"/units/{unit.pk}/?role=rifleman",
        f"/units/{unit.pk}/?status=assigned",
        "/units/people/",
        f"/units/people/?q={prefix}",
        f"/units/people/?q={person}",
        f"/units/people/{person}/",
        "/units/people/?status=active&legion=frl",
        f"/units/people/?unit={unit.pk}&status=active",
        "/training/",
        "/training/?legion=frl&lead=none",
        f"/training/cohorts/{cohort}/",
        f"/training/cohorts/{cohort}/gradebook",
        "/training/qualifications/expiring",
        "/reports/",
        "/reports/people/",
        "/audit/",
        "/audit/checkpoints/",
    ]
    slack = {"/audit/": AUDITED_VIEW, "/audit/checkpoints/": AUDITED_VIEW}
    assert_queries_flat(signed_in(chief), urls, _grow, slack=slack)


def test_api_lists_and_details_cost_the_same_queries_at_three_times_the_people(chief: Staff) -> None:
    cohort, unit, person, prefix = _a_cohort(), _a_legion_unit(), _an_assigned_person(), _a_prefix()
    urls = [
        "/api/v1/vetting/cases",
        f"/api/v1/vetting/cases/{_a_case()}",
        "/api/v1/training/cohorts",
        f"/api/v1/training/cohorts/{cohort}",
        f"/api/v1/training/cohorts/{cohort}/enrolments",
        f"/api/v1/training/cohorts/{cohort}/results",
        "/api/v1/units/",
        f"/api/v1/units/{unit.pk}/roster",
        "/api/v1/units/people",
        f"/api/v1/units/people?q={prefix}",
        f"/api/v1/units/people/{person}",
    ]
    assert_queries_flat(signed_in(chief), urls, _grow)


def test_pages_cost_the_same_queries_for_narrow_scopes_too(chief: Staff, make_staff: MakeStaff) -> None:
    unit, cohort = _a_legion_unit(), _a_cohort()
    commander = make_staff("commander", Role.UNIT_COMMANDER, scope_kind=ScopeKind.UNIT, scope_ref=str(unit.pk))
    instructor = make_staff("instructor", Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort))
    adjudicator = make_staff("adjudicator", Role.ADJUDICATOR, scope_kind=ScopeKind.LEGION, scope_ref=unit.legion)
    ci_officer = make_staff("ci", Role.CI_OFFICER, scope_kind=ScopeKind.LEGION, scope_ref=unit.legion)
    counters = [
        QueryCounter(signed_in(viewer), urls)
        for viewer, urls in (
            (
                commander,
                [
                    "/units/",
                    f"/units/{unit.pk}/",
                    f"/api/v1/units/{unit.pk}/roster",
                    "/units/people/",
                    "/api/v1/units/people",
                    "/work/",  # people awaiting assignment, vacant billets, expiring qualifications
                    f"/units/{unit.pk}/?vacant=1",
                    f"/units/{unit.pk}/?status=assigned",
                    f"/units/people/?unit={unit.pk}&status=active",
                ],
            ),
            (
                instructor,
                [
                    "/training/",
                    "/training/?lead=me",
                    f"/training/cohorts/{cohort}/gradebook",
                    "/api/v1/training/cohorts",
                    "/work/",
                ],
            ),
            (adjudicator, ["/cases/", "/api/v1/vetting/cases", "/reports/people/", "/cases/all/?state=received"]),
            # The queue's flagged section and the CI narrowing of the cases seen.
            (ci_officer, ["/cases/", "/api/v1/vetting/cases", "/cases/all/?flagged=1", "/work/"]),
        )
    ]
    for counter in counters:
        counter.measure()
    _grow()
    grown = [line for counter in counters for line in counter.grown()]
    assert not grown, "query count grew with the data:\n" + "\n".join(grown)


def test_the_fixture_grew_the_data_the_pages_show(chief: Staff) -> None:
    """A guard on the tests above: growing really adds rows in scope (else 'flat' would prove nothing)."""
    before = (Person.objects.count(), Case.objects.filter(state=CaseState.RECEIVED).count())
    _grow()
    after = (Person.objects.count(), Case.objects.filter(state=CaseState.RECEIVED).count())
    assert after[0] >= 3 * before[0] - 5 and after[1] > before[1]
    assert Person.objects.filter(status=PersonStatus.ACTIVE).exists()
