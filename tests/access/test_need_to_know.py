"""One need-to-know rule per role: every route naming a case or a check × every role × three cases,
checked against the cell ``docs/access-matrix.md`` shows; and lists, unsealing and exports agree.

Found from outside (issue 20): a legion-scoped counter-intelligence officer could open the identity
of a case that was neither flagged nor had a CI review assigned to him: the case list admitted any
case with a CI review, the unseal check any legion-wide grant, the people export only flagged
cases. Each role now holds one grant for the ``frl`` legion; the three cases are

- **his**: an ``frl`` case whose identity check is the investigator's, polygraph the examiner's and
  CI review the CI officer's;
- **legion**: another ``frl`` case, started (so it carries a CI review) but assigned to nobody;
- **outside**: a ``bel`` case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client

from legionary.access.matrix import NARROWED, NONE_OF_THEM, WHOLE_SCOPE, cell, matrix_routes
from legionary.access.models import Staff
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role, ScopeKind
from legionary.access.scopes import cases_visible_to, checks_assigned_to, people_visible_to
from legionary.identity.services import Actor, NotPermitted, unseal_identity
from legionary.vetting import services
from legionary.vetting.models import Case, Check
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import Submit

pytestmark = pytest.mark.django_db
ROUTES = {r.name: r for r in matrix_routes() if r.scoped == "case"}
# Routes that change something: tried with an empty POST (scope is checked before the form).
POSTED = re.compile(r"(start|assign|record|add|decide|appeal|unseal|check-result)$")
# The check a role's answers are about: his own kind, so that "his" is really his.
CHECK_OF = {Role.INVESTIGATOR: "identity", Role.POLYGRAPH_EXAMINER: "polygraph", Role.CI_OFFICER: "ci_review"}
SIDES = ("his", "legion", "outside")
# Routes about an object this world does not hold, so even "his" case answers 404 (the object is
# not there): a document's pages under the viewer's own audited opening, a screening hit, a
# possible pair. Each is tested in scope in tests/vetting (test_documents.py, test_flag_tiers.py);
# here they prove that roles without the permission get 403 and no other case is reachable.
UNDER_AN_OPENING = {"vetting:document-page", "vetting:hit-resolve", "vetting:possible-resolve"}


@dataclass
class World:
    staff: dict[str, Staff]
    cases: dict[str, Case]


@pytest.fixture
def world(submit: Submit, make_staff: MakeStaff) -> World:
    setup = make_staff("setup-intake", Role.INTAKE_OFFICER)
    staff = {role: make_staff(f"k-{role}", role, scope_kind=ScopeKind.LEGION, scope_ref="frl") for role in Role.values}
    cases = {
        "his": submit(external_ref="k-his"),
        "legion": submit(external_ref="k-legion"),
        "outside": submit(external_ref="k-outside", legion="bel"),
    }
    for case in cases.values():
        services.vetting_start(case_id=case.pk, actor=setup)
    # One applicant thrice: screening flags the re-applications. Flags are this test's to set, and
    # so is assignment: starting vetting hands each check to a checker of the legion, which could be
    # one of this test's cast (the "legion" case must be nobody's).
    started = [c.pk for c in cases.values()]
    Case.objects.filter(pk__in=started).update(flagged=False, assigned_to=None)
    Check.objects.filter(case_id__in=started).update(assigned_to=None, examiner=None)
    his = cases["his"]
    for role, slug in CHECK_OF.items():
        check = his.checks.get(check_type_id=slug)
        services.check_assign(check_id=check.pk, assignee=staff[role], actor=setup)
    assert cases["legion"].checks.filter(check_type__is_ci_review=True, assigned_to__isnull=True).exists()
    return World(staff=staff, cases={k: Case.objects.get(pk=c.pk) for k, c in cases.items()})


def _path(template: str, case: Case, role: str) -> str:
    check = case.checks.filter(check_type_id=CHECK_OF.get(role, "identity")).first() or case.checks.first()
    assert check is not None
    path = re.sub(r"[<{](?:\w+:)?case_id[>}]", str(case.pk), template)
    path = re.sub(r"[<{](?:\w+:)?check_id[>}]", str(check.pk), path)
    # Anything else a route names lies under the case (a flag, a document, a page): any value, since
    # the case's scope is checked first.
    return re.sub(r"[<{](?:(?:int|slug|str):)?\w+[>}]", "1", path)


def _answer(client: Client, name: str, path: str) -> int:
    if POSTED.search(name):
        return client.post(path, {}, secure=True).status_code
    status = client.get(path, secure=True).status_code
    # A route that takes only a POST (it opens or resolves something) is asked with an empty one.
    return client.post(path, {}, secure=True).status_code if status == 405 else status


def _agrees(shown: str, answers: dict[str, int], *, under_an_opening: bool = False) -> bool:
    seen = {side: code not in (403, 404) for side, code in answers.items()}
    if shown == "403":
        return set(answers.values()) == {403}
    if under_an_opening:
        # Served only under the viewer's own opening, which this world has none of: every side is
        # 404, the case's scope for the outside one. The in-scope pictures are proved served, and
        # to their viewer only, by tests/vetting/test_documents.py.
        return set(answers.values()) == {404}
    if shown == NONE_OF_THEM:
        return set(answers.values()) == {404}
    if shown == WHOLE_SCOPE:
        return seen["his"] and seen["legion"] and answers["outside"] == 404
    if shown == NARROWED:
        return seen["his"] and answers["legion"] == 404 and answers["outside"] == 404
    return False


def test_case_routes_are_in_the_matrix() -> None:
    assert {"vetting:case", "vetting:unseal", "api-public:vetting-case", "api-public:vetting-check"} <= set(ROUTES)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_case_route_answers_each_role_as_its_matrix_cell_says(name: str, world: World) -> None:
    route = ROUTES[name]
    wrong = []
    for role in Role.values:
        client = signed_in(world.staff[role])
        # The matrix is about access, not CSRF (tested elsewhere): this client sends no token.
        client.handler.enforce_csrf_checks = False
        answers = {side: _answer(client, name, _path(route.path, world.cases[side], role)) for side in SIDES}
        shown = cell(route, role)
        if not _agrees(shown, answers, under_an_opening=name in UNDER_AN_OPENING):
            wrong.append((role, shown, answers))
    assert wrong == []


def test_the_counter_intelligence_officer_sees_only_flagged_cases_and_his_reviews(world: World) -> None:
    ci = world.staff[Role.CI_OFFICER]
    assert set(cases_visible_to(ci)) == {world.cases["his"]}
    Case.objects.filter(pk=world.cases["legion"].pk).update(flagged=True)
    assert set(cases_visible_to(ci)) == {world.cases["his"], world.cases["legion"]}


def test_lists_pages_unsealing_and_exports_agree_for_every_role(world: World) -> None:
    for role, staff in world.staff.items():
        seen = set(cases_visible_to(staff, perm=Perm.VIEW_CASES).values_list("pk", flat=True))
        client = signed_in(staff)
        listed = client.get("/api/v1/vetting/cases", secure=True)
        if listed.status_code == 200:
            assert {c["id"] for c in listed.json()["cases"]} == seen, role
        pages = {c.pk for c in world.cases.values() if client.get(f"/cases/{c.pk}/", secure=True).status_code == 200}
        assert pages == seen, role
        # Unsealing: the people of the cases the unseal route lets him open, and no one else.
        openable = set(cases_visible_to(staff, perm=Perm.UNSEAL_IDENTITY).values_list("person_id", flat=True))
        assert set(people_visible_to(staff, perm=Perm.UNSEAL_IDENTITY).values_list("pk", flat=True)) == openable, role
        # Exports: the people list of reports holds the people of the cases he sees (and no others).
        if {Perm.VIEW_REPORTS, Perm.VIEW_CASES} <= ROLE_PERMISSIONS[role]:
            exported = b"".join(client.get("/reports/people.csv", secure=True).streaming_content).decode()
            for case in world.cases.values():
                assert (case.person.call_sign in exported) == (case.pk in seen), (role, case.pk)


@pytest.mark.django_db(transaction=True)
def test_a_legion_scoped_ci_officer_cannot_unseal_a_case_that_is_not_his(submit: Submit, make_staff: MakeStaff) -> None:
    setup = make_staff("setup-intake", Role.INTAKE_OFFICER)
    ci = make_staff("ci-frl", Role.CI_OFFICER, scope_kind=ScopeKind.LEGION, scope_ref="frl")
    # Starting vetting hands the CI review to a CI officer of the legion: here his colleague, so
    # that the case is of his legion and has a CI review, but the review is not his.
    colleague = make_staff("ci-another", Role.CI_OFFICER, scope_kind=ScopeKind.LEGION, scope_ref="frl")
    case = services.vetting_start(case_id=submit(external_ref="k-ci").pk, actor=setup)
    review = case.checks.get(check_type__is_ci_review=True)
    assert review.assigned_to == colleague
    with pytest.raises(NotPermitted):
        unseal_identity(person=case.person, actor=Actor("ci-frl", ci), reason="checking a hunch")
    services.check_assign(check_id=review.pk, assignee=ci, actor=setup)
    assert unseal_identity(person=case.person, actor=Actor("ci-frl", ci), reason="CI review of this case")


# Staff routes naming nothing scoped: every role whose cell is ✓ must get through.
UNSCOPED = sorted((r.name, r.path) for r in matrix_routes() if r.rule.startswith("staff:") and not r.scoped)


@pytest.mark.parametrize(("name", "template"), UNSCOPED)
def test_every_role_the_matrix_allows_through_an_unscoped_route_gets_through(
    name: str, template: str, make_staff: MakeStaff
) -> None:
    route = next(r for r in matrix_routes() if r.name == name)
    path = re.sub(r"[<{](?:\w+:)?\w+[>}]", "1", template)
    wrong = []
    for role in Role.values:
        if cell(route, role) != "✓":
            continue
        client = signed_in(make_staff(f"u-{role}", role))
        status = client.get(path, secure=True).status_code
        # An argument ("1") may name nothing (404); the role itself must never be refused.
        if status in (401, 403) or status >= 500 or (status == 404 and path == template):
            wrong.append((role, status))
    assert wrong == []


def test_the_row_by_row_forms_of_the_rule_agree_with_the_rule_for_every_role(world: World) -> None:
    """``cases_visible_to(per_row=True)`` and ``checks_assigned_to`` (My work's fast paths at a
    million people) name exactly the cases and checks the rule itself does, in every state below."""
    legion, outside = world.cases["legion"], world.cases["outside"]

    def agree(state: str) -> None:
        for role, staff in world.staff.items():
            for perm in (Perm.VIEW_CASES, Perm.UNSEAL_IDENTITY):
                rule = set(cases_visible_to(staff, perm=perm))
                assert set(cases_visible_to(staff, perm=perm, per_row=True)) == rule, (state, role, perm)
                assigned = set(Check.objects.filter(assigned_to=staff, case__in=[c.pk for c in rule]))
                assert set(checks_assigned_to(staff, perm=perm)) == assigned, (state, role, perm)

    agree("as built")
    # Checks of the legion's unassigned case and of another legion's case handed to every checker
    # (a CI officer given a check that is not a CI review, an investigator one outside his legion).
    for role in CHECK_OF:
        Check.objects.filter(case=legion, check_type_id="identity").update(assigned_to=world.staff[role])
        Check.objects.filter(case=outside, check_type_id="ci_review").update(assigned_to=world.staff[role])
        agree(f"checks handed to {role}")
    Check.objects.filter(case=legion, check_type_id="polygraph").update(examiner=world.staff[Role.INVESTIGATOR])
    agree("examined by the investigator")
    Case.objects.filter(pk=legion.pk).update(flagged=True)
    agree("the legion's case flagged")
    Case.objects.filter(pk=legion.pk).update(flagged=False, possible="open")
    agree("the legion's case with a possible pair")
    Case.objects.filter(pk=legion.pk).update(possible="", assigned_to=world.staff[Role.POLYGRAPH_EXAMINER])
    agree("the legion's case assigned to the examiner")
