"""The authorisation matrix: every route naming a person or a unit × every role × inside and outside scope.

The routes come from the URL patterns and the API routes (``legionary.access.matrix``); the answers
expected are written out below, one row per route and one cell per role, as "inside/outside"
status codes. A new scoped route fails ``test_every_scoped_route_has_a_row`` until it gets its row.
Each role holds one grant: a unit commander company A, an instructor one cohort, everyone else the
``frl`` legion. "Inside" is a person (or unit, billet, override) of company A, enrolled in that
cohort, whose case is assigned to the investigator; "outside" is of the ``brl`` legion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.test import Client

from legionary.access.matrix import matrix_routes, render_markdown
from legionary.access.models import Staff
from legionary.access.roles import Role, ScopeKind
from legionary.identity.models import PersonStatus
from legionary.training import services as training
from legionary.training.models import Course
from legionary.units import services
from legionary.units.models import BilletRole
from legionary.vetting.models import Case
from tests.conftest import MakeStaff, signed_in
from tests.units.conftest import Org, trained_person

ROLES = [
    Role.ADMINISTRATOR,
    Role.INTAKE_OFFICER,
    Role.INVESTIGATOR,
    Role.POLYGRAPH_EXAMINER,
    Role.CI_OFFICER,
    Role.ADJUDICATOR,
    Role.SENIOR_ADJUDICATOR,
    Role.INSTRUCTOR,
    Role.UNIT_COMMANDER,
    Role.SECURITY_OFFICER,
    Role.AUDITOR,
]
R = "403/403"  # refused: the role lacks the route's permission

# fmt: off
EXPECTED: dict[str, tuple[str, ...]] = {
    # route                     admin     intake invest polygr CI adj sr-adj instr.    unit cdr  secur. auditor
    "units:unit":               ("200/404", R, R, R, R, R, R, R,         "200/404", R, R),
    "units:roster-csv":         ("200/404", R, R, R, R, R, R, R,         "200/404", R, R),
    "units:unit-move":          ("400/404", R, R, R, R, R, R, R,         R,         R, R),
    "units:unit-add":           ("400/404", R, R, R, R, R, R, R,         R,         R, R),
    "units:billet-add":         ("400/404", R, R, R, R, R, R, R,         R,         R, R),
    "units:billet-assign":      ("400/404", R, R, R, R, R, R, R,         "400/404", R, R),
    "units:person-assign":      ("400/404", R, R, R, R, R, R, R,         "400/404", R, R),
    "units:override-approve":   ("302/404", R, R, R, R, R, R, R,         R,         R, R),
    "units:person":             ("200/404", R, R, R, R, R, R, R,         "200/404", R, R),
    "units:person-status":      ("400/404", R, R, R, R, R, R, R,         "400/404", R, R),
    "units:next-of-kin":        (R,         R, R, R, R, R, R, R,         "302/404", R, R),
    "training:person":          ("200/404", R, R, R, R, R, R, "200/404", R,         R, R),
    "api-public:units-roster":         ("200/404", R, R, R, R, R, R, R,         "200/404", R, R),
    "api-public:units-person":         ("200/404", R, R, R, R, R, R, R,         "200/404", R, R),
}
# fmt: on
# Routes that change something are tried with an empty POST: scope is checked before the form.
POSTED = {
    "units:unit-move",
    "units:unit-add",
    "units:billet-add",
    "units:billet-assign",
    "units:person-assign",
    "units:override-approve",
    "units:person-status",
    "units:next-of-kin",
}


def _scoped_routes() -> dict[str, str]:
    # Routes naming a case or a check: tests/access/test_need_to_know.py.
    return {r.name: r.path for r in matrix_routes() if r.scoped in ("person", "unit")}


# Read at collection, under the project's URLs (the API routes are listed at their mount point).
ROUTE_PATHS = _scoped_routes()


def test_every_scoped_route_has_a_row() -> None:
    assert set(_scoped_routes()) == set(EXPECTED)
    assert all(len(cells) == len(ROLES) for cells in EXPECTED.values())
    assert ROLES == list(Role.values)


def test_the_table_agrees_with_the_permissions_the_matrix_derives() -> None:
    routes = {r.name: r for r in matrix_routes()}
    for name, cells in EXPECTED.items():
        for role, expected in zip(ROLES, cells, strict=True):
            assert (expected != R) == routes[name].allows(role), (name, role)


def test_the_access_matrix_document_is_current() -> None:
    document = Path(__file__).resolve().parents[2] / "docs" / "access-matrix.md"
    assert document.read_text(encoding="utf-8") == render_markdown(), "run `legionary access-matrix`"


@dataclass
class Sides:
    inside: dict[str, str]
    outside: dict[str, str]


@pytest.fixture
def sides(org: Org) -> Sides:
    course = Course.objects.get(code="basic")
    cohort = training.cohort_create(
        actor=org.admin, course_id=course.pk, name="Spring", legion="frl", start_date=date(2025, 3, 3), site="North"
    )
    # The inside person is also a trainee of that cohort, and his vetting case is the investigator's.
    org.inside.status = PersonStatus.APPROVED
    org.inside.save(update_fields=["status"])
    training.cohort_enrol(actor=org.admin, cohort_id=cohort.pk, call_sign=org.inside.call_sign)
    org.inside.status = PersonStatus.ACTIVE
    org.inside.save(update_fields=["status"])
    lacking = trained_person("Caesar")
    inside_override = services.override_request(
        actor=org.second_admin, person_id=lacking.pk, billet_id=org.medic.pk, reason="needed on the line now"
    )
    brl_medic = services.billet_create(
        actor=org.admin, unit_id=org.brl_battalion.pk, role=BilletRole.MEDIC, qualification_codes=["tccc-cls"]
    )
    outside_override = services.override_request(
        actor=org.second_admin,
        person_id=trained_person("Kyiv", legion="brl").pk,
        billet_id=brl_medic.pk,
        reason="needed on the line now",
    )
    inside = {
        "person_id": org.inside.pk,
        "unit_id": str(org.company.pk),
        "billet_id": str(org.rifleman.pk),
        "override_id": str(inside_override.pk),
        "cohort": str(cohort.pk),
    }
    outside = {
        "person_id": org.outside.pk,
        "unit_id": str(org.brl_battalion.pk),
        "billet_id": str(org.brl_billet.pk),
        "override_id": str(outside_override.pk),
    }
    return Sides(inside=inside, outside=outside)


def _staff_for(role: str, org: Org, sides: Sides, make_staff: MakeStaff) -> Staff:
    if role == Role.UNIT_COMMANDER:
        return org.commander
    if role == Role.INSTRUCTOR:
        return make_staff("m-instr", role, scope_kind=ScopeKind.COHORT, scope_ref=sides.inside["cohort"])
    staff = make_staff(f"m-{role}", role, scope_kind=ScopeKind.LEGION, scope_ref="frl")
    if role == Role.INVESTIGATOR:
        now = org.framework.created_at
        Case.objects.create(person=org.inside, legion="frl", assigned_to=staff, created_at=now, updated_at=now)
    return staff


def _fill(path: str, args: dict[str, str]) -> str:
    return re.sub(r"[<{](?:\w+:)?(\w+)[>}]", lambda m: args[m.group(1)], path)


def _answer(client: Client, name: str, path: str) -> int:
    if name in POSTED:
        return client.post(path, {}, secure=True).status_code
    return client.get(path, secure=True).status_code


@pytest.mark.urls("tests.units.api_urls")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_cell_answers_as_the_table_says(name: str, org: Org, sides: Sides, make_staff: MakeStaff) -> None:
    path = ROUTE_PATHS[name]
    answers = []
    for role in ROLES:
        client = signed_in(_staff_for(role, org, sides, make_staff))
        # The matrix is about access, not CSRF (tested elsewhere): this client sends no token.
        client.handler.enforce_csrf_checks = False
        inside = _answer(client, name, _fill(path, sides.inside))
        outside = _answer(client, name, _fill(path, sides.outside))
        answers.append(f"{inside}/{outside}")
    assert tuple(answers) == EXPECTED[name]
