"""Need-to-know in querysets: who sees which people and which units, by role and scope."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404

from legionary.access.roles import Role, ScopeKind
from legionary.access.scopes import get_in_scope_or_404, people_visible_to, units_visible_to
from legionary.identity.models import Person, PersonStatus
from legionary.training import services as training
from legionary.training.models import Course
from legionary.units.models import Unit
from legionary.vetting.models import Case
from tests.conftest import MakeStaff
from tests.units.conftest import Org, trained_person


def test_a_unit_commander_sees_only_people_assigned_inside_his_subtree(org: Org) -> None:
    assert list(people_visible_to(org.commander)) == [org.inside]
    assert list(people_visible_to(org.other_commander)) == []


def test_a_unit_commander_sees_his_unit_and_everything_below_it_and_nothing_else(org: Org) -> None:
    assert set(units_visible_to(org.commander)) == {org.company, org.platoon}
    assert set(units_visible_to(org.other_commander)) == {org.other_company}


def test_a_legion_grant_covers_that_legions_people_and_units_only(org: Org, make_staff: MakeStaff) -> None:
    admin = make_staff("admin-brl", Role.ADMINISTRATOR, scope_kind=ScopeKind.LEGION, scope_ref="brl")
    assert list(people_visible_to(admin)) == [org.outside]
    assert set(units_visible_to(admin)) == {org.brl, org.brl_battalion}


def test_an_instructor_sees_the_people_enrolled_in_his_cohorts_only(org: Org, make_staff: MakeStaff) -> None:
    cohort = training.cohort_create(
        actor=org.admin,
        course_id=Course.objects.get(code="basic").pk,
        name="Spring",
        legion="frl",
        start_date=org.framework.created_at.date(),
        site="North",
    )
    trainee = trained_person("Caesar", status=PersonStatus.APPROVED)
    training.cohort_enrol(actor=org.admin, cohort_id=cohort.pk, call_sign="Caesar")
    instructor = make_staff("instr", Role.INSTRUCTOR, scope_kind=ScopeKind.COHORT, scope_ref=str(cohort.pk))
    assert list(people_visible_to(instructor)) == [trainee]
    assert list(units_visible_to(instructor)) == []


def test_an_investigator_sees_only_the_people_of_cases_assigned_to_him(org: Org, make_staff: MakeStaff) -> None:
    investigator = make_staff("inv", Role.INVESTIGATOR)
    now = org.framework.created_at
    Case.objects.create(person=org.inside, legion="frl", assigned_to=investigator, created_at=now, updated_at=now)
    Case.objects.create(person=org.outside, legion="brl", created_at=now, updated_at=now)
    assert list(people_visible_to(investigator)) == [org.inside]


def test_a_case_grant_covers_that_cases_person(org: Org, make_staff: MakeStaff) -> None:
    now = org.framework.created_at
    case = Case.objects.create(person=org.outside, legion="brl", created_at=now, updated_at=now)
    adjudicator = make_staff("adj", Role.ADJUDICATOR, scope_kind=ScopeKind.CASE, scope_ref=str(case.pk))
    assert list(people_visible_to(adjudicator)) == [org.outside]


def test_a_role_without_the_permission_asked_for_sees_nobody(org: Org) -> None:
    from legionary.access.roles import Perm

    assert list(people_visible_to(org.commander, perm=Perm.MANAGE_UNITS)) == []
    assert list(units_visible_to(org.commander, perm=Perm.MANAGE_UNITS)) == []


def test_an_inactive_account_sees_nothing(org: Org) -> None:
    org.admin.is_active = False
    org.admin.save(update_fields=["is_active"])
    assert not people_visible_to(org.admin).exists()
    assert not units_visible_to(org.admin).exists()


def test_an_object_out_of_scope_is_not_found_rather_than_forbidden(org: Org) -> None:
    assert get_in_scope_or_404(people_visible_to(org.commander), pk=org.inside.pk) == org.inside
    with pytest.raises(Http404):
        get_in_scope_or_404(people_visible_to(org.commander), pk=org.outside.pk)
    assert Person.objects.filter(pk=org.outside.pk).exists()


def test_a_subtree_query_is_answered_from_the_path_index(org: Org) -> None:
    query = Unit.objects.filter(path__within=org.company.path).values("pk").query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "Index" in plan and "units_unit_path" in plan, plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
            assert "path>? AND path<?" in plan, plan
