""" "My work" on the vetting side: each role finds what waits for him, and a section costs the same queries
whatever the number of cases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from legionary.access.policy import staff_may
from legionary.access.roles import Perm
from legionary.vetting import services, work
from legionary.vetting.models import Case, Check
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import NOW, RATIONALE, Cast, Submit, finish_checks

pytestmark = pytest.mark.django_db


def _perms(staff: object) -> frozenset[Perm]:
    return frozenset(p for p in Perm if staff_may(staff, p))


def _section(staff: object, key: str) -> work.WorkSection:
    sections = {s.key: s for s in work.my_work(staff, _perms(staff))}
    return sections[key]


def _case_ids(staff: object, key: str) -> list[int]:
    return [item.case_id for item in _section(staff, key).items]


def test_the_intake_officer_sees_new_applications_until_he_assigns_them(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    assert _case_ids(vetting_cast.intake, "new-applications") == [case.pk]
    services.case_assign(case_id=case.pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    assert _case_ids(vetting_cast.intake, "new-applications") == []


def test_an_assigned_application_appears_on_the_investigators_my_work(submit: Submit, vetting_cast: Cast) -> None:
    case = submit()
    assert case.pk not in _case_ids(vetting_cast.investigator, "my-checks")
    services.case_assign(case_id=case.pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    assert case.pk in _case_ids(vetting_cast.investigator, "my-checks")
    # And on the page he lands on, linked to the case.
    page = signed_in(vetting_cast.investigator).get("/cases/", secure=True).content.decode()
    assert f'data-case="{case.pk}"' in page.split('id="work-my-checks"')[1]


def test_the_examiner_and_the_ci_officer_find_their_checks(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(
        case_id=submit(legion="frl").pk, officer=vetting_cast.investigator, actor=vetting_cast.intake
    )
    polygraph = _section(vetting_cast.examiner, "my-checks")
    assert [i.case_id for i in polygraph.items] == [case.pk] and polygraph.items[0].what == "Polygraph examination"
    assert case.pk in _case_ids(vetting_cast.ci, "my-checks")


def test_checks_are_listed_most_overdue_first(submit: Submit, vetting_cast: Cast) -> None:
    older = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    newer = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    Check.objects.filter(case=newer, check_type_id="identity").update(due_on=NOW.date().replace(year=2020))
    items = _section(vetting_cast.investigator, "my-checks").items
    assert items[0].case_id == newer.pk and items[0].overdue
    assert older.pk in [i.case_id for i in items[1:]]


def test_adjudicators_see_cases_waiting_and_which_need_a_second_vote(submit: Submit, vetting_cast: Cast) -> None:
    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    case = finish_checks(case, vetting_cast)
    first, second = vetting_cast.adjudicators[:2]
    assert [(i.case_id, i.note) for i in _section(first, "to-decide").items] == [(case.pk, "first")]
    services.case_decide(case_id=case.pk, actor=first, outcome="approve", rationale=RATIONALE, now=NOW)
    # His vote takes the case off his list; the next adjudicator sees that it needs a second decision.
    assert _case_ids(first, "to-decide") == []
    assert [(i.case_id, i.note) for i in _section(second, "to-decide").items] == [(case.pk, "second")]


def test_the_ci_officer_sees_open_flags(submit: Submit, vetting_cast: Cast) -> None:
    submit()
    again = submit()  # the same person again: flagged by intake
    assert again.flagged
    assert _case_ids(vetting_cast.ci, "flags") == [again.pk]
    assert _case_ids(vetting_cast.intake, "flags") == [again.pk]


def test_a_role_without_vetting_work_gets_no_vetting_section(make_staff: MakeStaff) -> None:
    instructor = make_staff("ina-instructor", "instructor")
    assert work.my_work(instructor, _perms(instructor)) == []


def _queries(staff: object) -> int:
    perms = _perms(staff)
    with CaptureQueriesContext(connection) as captured:
        work.my_work(staff, perms)
    return len(captured.captured_queries)


def test_every_section_costs_the_same_queries_with_more_cases(submit: Submit, vetting_cast: Cast) -> None:
    def grow() -> None:
        for _ in range(3):
            case = services.case_assign(
                case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake
            )
            finish_checks(case, vetting_cast)
        submit()
        submit()

    cast = [vetting_cast.intake, vetting_cast.investigator, vetting_cast.examiner, vetting_cast.ci]
    cast += [vetting_cast.adjudicators[0], vetting_cast.senior]
    grow()
    before = [_queries(s) for s in cast]
    grow()
    grow()
    assert Case.objects.count() >= 15
    assert [_queries(s) for s in cast] == before


def test_the_shared_my_work_page_shows_the_vetting_sections_and_counts_them_in_the_navigation(
    submit: Submit, vetting_cast: Cast
) -> None:
    from legionary.access import mywork

    case = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    page = signed_in(vetting_cast.investigator).get("/work/", secure=True).content.decode()
    section = page.split('id="work-my-checks"')[1].split("</section>")[0]
    assert f'href="/cases/{case.pk}/#check-' in section and "Identity and document verification" in section
    who = mywork.Who(staff=vetting_cast.investigator, perms=_perms(vetting_cast.investigator))
    mywork.forget_counts(vetting_cast.investigator.pk)
    assert mywork.nav_counts(who)["cases"] == case.checks.filter(assigned_to=vetting_cast.investigator).count()
