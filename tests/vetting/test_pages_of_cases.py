"""The case list and the work queue come in keyset pages: each case once, a next cursor until the
last page, and a clear 400 for a cursor that is not ours."""

from __future__ import annotations

import datetime

import pytest

from legionary.vetting import selectors
from legionary.vetting.models import Case
from tests.conftest import MakeStaff, signed_in
from tests.vetting.conftest import Cast, Submit


def test_the_api_case_list_pages_through_every_visible_case_newest_first(
    submit: Submit, vetting_cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        submit()
    monkeypatch.setattr(selectors, "CASES_PAGE", 2)
    client = signed_in(vetting_cast.adjudicators[0])
    seen, after, pages = [], "", 0
    while True:
        answer = client.get("/api/v1/vetting/cases", {"after": after} if after else {}, secure=True).json()
        seen.extend(c["id"] for c in answer["cases"])
        pages += 1
        if answer["next"] is None:
            break
        after = answer["next"]
    assert pages == 3 and seen == list(Case.objects.order_by("-created_at", "-id").values_list("pk", flat=True))


def test_a_malformed_cursor_is_a_400_problem_not_a_500(vetting_cast: Cast) -> None:
    answer = signed_in(vetting_cast.intake).get("/api/v1/vetting/cases", {"after": "eyJvIjoieCJ9"}, secure=True)
    assert answer.status_code == 400 and answer.json()["type"].endswith("/bad-cursor")


def _link(page: str, link_id: str) -> str:
    """The address of the link ``link_id`` on ``page`` (each ``<a`` of the pagination has ``href`` first)."""
    tag = page.split(f'id="{link_id}"')[0].rsplit("<a ", 1)[1]
    return tag.split('href="')[1].split('"')[0].replace("&amp;", "&")


def test_the_case_list_pages_by_keyset_and_keeps_its_filters(
    submit: Submit, vetting_cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [submit(legion="geo") for _ in range(3)]
    submit(legion="frl")
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 2)
    monkeypatch.setattr(selectors.cases_filtered, "__kwdefaults__", {"after": None, "limit": 2, "before": None})
    client = signed_in(vetting_cast.intake)
    first = client.get("/cases/all/", {"legion": "geo", "state": "received"}, secure=True).content.decode()
    assert first.count('id="case-row-') == 2 and 'id="next-page"' in first and 'id="previous-page"' not in first
    link = _link(first, "next-page")
    assert "legion=geo" in link and "state=received" in link
    second = client.get(link, secure=True).content.decode()
    assert f'id="case-row-{cases[2].pk}"' in second and second.count('id="case-row-') == 1
    assert 'id="next-page"' not in second
    # Back again, the filters still in force: the first page's two cases.
    back = client.get(_link(second, "previous-page"), secure=True).content.decode()
    assert "legion=geo" in _link(second, "previous-page") and "state=received" in _link(second, "previous-page")
    assert [f'id="case-row-{c.pk}"' in back for c in cases] == [True, True, False]
    assert client.get("/cases/all/", {"after": "garbage"}, secure=True).status_code == 400


def test_the_case_list_filters_by_overdue_and_assignee(submit: Submit, vetting_cast: Cast) -> None:
    from legionary.vetting import services
    from legionary.vetting.models import Check

    late = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    on_time = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    untouched = submit()
    Check.objects.filter(case=late, check_type_id="identity").update(due_on=datetime.date(2020, 1, 1))
    client = signed_in(vetting_cast.intake)
    overdue = client.get("/cases/all/", {"overdue": "1"}, secure=True).content.decode()
    assert f'id="case-row-{late.pk}"' in overdue and f'id="case-row-{on_time.pk}"' not in overdue
    mine = signed_in(vetting_cast.examiner).get("/cases/all/", {"assignee": "me"}, secure=True).content.decode()
    assert f'id="case-row-{late.pk}"' in mine and f'id="case-row-{untouched.pk}"' not in mine


def test_the_overdue_list_pages_both_ways_oldest_case_first_and_keeps_the_other_filters(
    submit: Submit, vetting_cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from the late checks' side: a case with two late checks is listed once, a case with only
    a check done late is not, and the other filters still narrow what the late checks find."""
    from legionary.vetting import services
    from legionary.vetting.models import Check

    officer, intake = vetting_cast.investigator, vetting_cast.intake
    cases = [
        services.case_assign(case_id=submit(legion=legion).pk, officer=officer, actor=intake)
        for legion in ("frl", "frl", "geo", "frl", "frl")
    ]
    for case in cases:
        Check.objects.filter(case=case).update(due_on=datetime.date(2020, 1, 1))  # every check late
    Check.objects.filter(case=cases[3]).update(result="pass")  # done, even if late: not overdue
    monkeypatch.setattr(selectors.cases_filtered, "__kwdefaults__", {"after": None, "limit": 2, "before": None})
    client = signed_in(vetting_cast.intake)
    first = client.get("/cases/all/", {"overdue": "1", "legion": "frl"}, secure=True).content.decode()
    second = client.get(_link(first, "next-page"), secure=True).content.decode()
    listed = [[f'id="case-row-{c.pk}"' in page for c in cases] for page in (first, second)]
    assert listed == [[True, True, False, False, False], [False, False, False, False, True]]
    back = client.get(_link(second, "previous-page"), secure=True).content.decode()
    assert [f'id="case-row-{c.pk}"' in back for c in cases] == [True, True, False, False, False]


def test_the_case_list_refuses_a_role_without_cases(make_staff: MakeStaff) -> None:
    instructor = make_staff("ivo-instructor", "instructor")
    assert signed_in(instructor).get("/cases/all/", secure=True).status_code == 403


def test_a_bad_filter_is_a_clear_message_on_the_page_and_never_a_wider_list(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff
) -> None:
    geo = submit(legion="geo")
    frl = submit(legion="frl")
    client = signed_in(vetting_cast.intake)
    unknown = client.get("/cases/all/", {"state": "lost"}, secure=True)
    page = unknown.content.decode()
    assert unknown.status_code == 400 and "Choose a state from the list." in page and 'id="form-errors"' in page
    assert 'href="#filter-state"' in page and 'id="case-row-' not in page
    # A legion-scoped intake officer asking for another legion's cases: refused, and nothing shown.
    georgian = make_staff("gia-intake", "intake_officer", scope_kind="legion", scope_ref="geo")
    outside = signed_in(georgian).get("/cases/all/", {"legion": "frl"}, secure=True)
    text = outside.content.decode()
    assert outside.status_code == 400 and "Choose one of the legions you work on." in text
    assert f'id="case-row-{frl.pk}"' not in text and f'id="case-row-{geo.pk}"' not in text
    # His own legion narrows as asked; the legions offered are his only.
    own = signed_in(georgian).get("/cases/all/", {"legion": "geo"}, secure=True).content.decode()
    assert f'id="case-row-{geo.pk}"' in own and f'id="case-row-{frl.pk}"' not in own
    assert 'value="frl"' not in own.split('id="filter-legion"')[1].split("</select>")[0]


def test_the_filters_in_force_are_tags_that_remove_themselves(submit: Submit, vetting_cast: Cast) -> None:
    from legionary.vetting import services

    mine = services.case_assign(case_id=submit().pk, officer=vetting_cast.investigator, actor=vetting_cast.intake)
    nobodys = submit()
    client = signed_in(vetting_cast.intake)
    page = client.get("/cases/all/", {"assignee": "none", "state": "received"}, secure=True).content.decode()
    assert f'id="case-row-{nobodys.pk}"' in page and f'id="case-row-{mine.pk}"' not in page
    tags = page.split('class="moj-filter-tags"')[1].split("</ul>")[0]
    assert "Assigned to: Nobody yet" in tags and "State: Received" in tags
    # Each tag links to the list without that filter, the other kept.
    assert 'href="/cases/all/?state=received"' in tags and 'href="/cases/all/?assignee=none"' in tags
    assert 'href="/cases/all/">Clear filters</a>' in page


def test_the_intake_queue_filters_by_legion_and_possible_match_and_pages_with_them(
    submit: Submit, vetting_cast: Cast, make_staff: MakeStaff, monkeypatch: pytest.MonkeyPatch
) -> None:
    from legionary.intake import selectors as intake_selectors

    first = submit(legion="geo")
    again = submit(legion="geo")  # the same person again: a possible match
    frl = submit(legion="frl")
    assert again.flagged and not first.flagged
    client = signed_in(vetting_cast.intake)
    geo = client.get("/intake/", {"legion": "geo"}, secure=True).content.decode()
    assert f'id="case-{first.pk}"' in geo and f'id="case-{again.pk}"' in geo and f'id="case-{frl.pk}"' not in geo
    flagged = client.get("/intake/", {"flagged": "1"}, secure=True).content.decode()
    assert f'id="case-{again.pk}"' in flagged and f'id="case-{first.pk}"' not in flagged
    assert "Possible matches only" in flagged.split('class="moj-filter-tags"')[1]
    # Pages keep the filters, both ways.
    monkeypatch.setattr(
        intake_selectors.intake_queue,
        "__kwdefaults__",
        {"after": None, "before": None, "page_size": 1, "legion": "", "flagged": False},
    )
    top = client.get("/intake/", {"legion": "geo"}, secure=True).content.decode()
    assert top.count('<tr class="govuk-table__row" id="case-') == 1
    older = client.get(_link(top, "next-page"), secure=True).content.decode()
    assert "legion=geo" in _link(top, "next-page") and f'id="case-{first.pk}"' in older
    assert f'id="case-{again.pk}"' in client.get(_link(older, "previous-page"), secure=True).content.decode()
    # Another legion than his own: refused with a message, nothing listed.
    georgian = make_staff("gio-intake", "intake_officer", scope_kind="legion", scope_ref="geo")
    refused = signed_in(georgian).get("/intake/", {"legion": "frl"}, secure=True)
    assert refused.status_code == 400 and "Choose one of the legions you work on." in refused.content.decode()
    assert f'id="case-{frl.pk}"' not in refused.content.decode()


def test_assigning_from_a_filtered_intake_queue_comes_back_to_it_filtered(submit: Submit, vetting_cast: Cast) -> None:
    from tests.vetting.conftest import browser_post

    case = submit(legion="geo")
    client = signed_in(vetting_cast.intake)
    page = client.get("/intake/", {"legion": "geo"}, secure=True).content.decode()
    action = page.split('id="assign-form" method="post" action="')[1].split('"')[0].replace("&amp;", "&")
    assert action == "/intake/assign?legion=geo"
    answer = browser_post(client, action, {"case": [case.pk], "investigator": vetting_cast.investigator.pk})
    assert answer.status_code == 302 and answer["Location"] == "/intake/?legion=geo"


def _assigned_cases(submit: Submit, cast: Cast) -> dict[str, Case]:
    """Cases the investigator is officer of only, holds open checks on only, both, only done checks
    on, and none: submitted in that order, so they are in the list's order too."""
    from legionary.vetting import services
    from legionary.vetting.models import Check

    investigator, intake = cast.investigator, cast.intake
    officer = services.case_assign(case_id=submit().pk, officer=investigator, actor=intake)
    Check.objects.filter(case=officer).update(assigned_to=None)
    checked = services.case_assign(case_id=submit().pk, officer=investigator, actor=intake)
    Case.objects.filter(pk=checked.pk).update(assigned_to=None)
    Check.objects.filter(case=checked, check_type_id="identity").update(due_on=datetime.date(2020, 1, 1))
    both = services.case_assign(case_id=submit().pk, officer=investigator, actor=intake)
    done = services.case_assign(case_id=submit().pk, officer=investigator, actor=intake)
    Case.objects.filter(pk=done.pk).update(assigned_to=None)
    Check.objects.filter(case=done).update(result="clear")
    other = submit()
    return {"officer": officer, "checked": checked, "both": both, "done": done, "other": other}


def test_assigned_to_lists_the_cases_he_is_officer_of_or_holds_an_open_check_on_for_every_viewer(
    submit: Submit, vetting_cast: Cast
) -> None:
    """The "assigned to" filter reads the assignee's cases from his side (his cases as officer, and
    his open checks in their cases' order): the same cases as the rule says, within each viewer's
    scope, with the other filters still narrowing."""
    from django.utils import timezone

    from legionary.vetting.models import Check

    made = _assigned_cases(submit, vetting_cast)
    assert all(c.case_created_at == made["both"].created_at for c in Check.objects.filter(case=made["both"]))
    his = [made["officer"].pk, made["checked"].pk, made["both"].pk]
    for viewer in (vetting_cast.intake, vetting_cast.investigator, vetting_cast.examiner):
        for overdue in (False, True):
            filters = selectors.CaseFilter(assignee=vetting_cast.investigator.pk, overdue=overdue)
            shown = [c.pk for c in selectors.cases_filtered(staff=viewer, filters=filters).rows]
            rule = set(selectors.visible_cases(viewer).values_list("pk", flat=True))
            expected = [pk for pk in his if pk in rule]
            if overdue:
                expected = [
                    pk
                    for pk in expected
                    if Check.objects.filter(case_id=pk, result="", due_on__lt=timezone.localdate()).exists()
                ]
            assert shown == expected, (viewer.username, overdue)
            assert expected or viewer == vetting_cast.examiner, "the test's cases are visible to these viewers"
    state = selectors.CaseFilter(assignee=vetting_cast.investigator.pk, state="received")
    assert selectors.cases_filtered(staff=vetting_cast.intake, filters=state).rows == []


def test_assigned_to_pages_forwards_and_back_in_the_lists_order(submit: Submit, vetting_cast: Cast) -> None:
    made = _assigned_cases(submit, vetting_cast)
    # A case he holds a check on, made older than all the others: the order is the case's, not the check's.
    from legionary.vetting.models import Check

    oldest = made["checked"].created_at - datetime.timedelta(days=400)
    Case.objects.filter(pk=made["both"].pk).update(created_at=oldest)
    Check.objects.filter(case=made["both"]).update(case_created_at=oldest)
    order = [made["both"].pk, made["officer"].pk, made["checked"].pk]
    filters = selectors.CaseFilter(assignee=vetting_cast.investigator.pk)
    seen, pages, after = [], [], None
    while True:
        page = selectors.cases_filtered(staff=vetting_cast.intake, filters=filters, after=after, limit=1)
        seen += [c.pk for c in page.rows]
        pages.append(page)
        assert (page.previous is not None) == (after is not None)
        if page.next is None:
            break
        after = page.next
    assert seen == order and len(pages) == 3
    back = selectors.cases_filtered(staff=vetting_cast.intake, filters=filters, before=pages[2].previous, limit=1)
    assert [c.pk for c in back.rows] == [order[1]] and back.previous is not None and back.next is not None
    first = selectors.cases_filtered(staff=vetting_cast.intake, filters=filters, before=back.previous, limit=1)
    assert [c.pk for c in first.rows] == [order[0]] and first.previous is None
    two = selectors.cases_filtered(staff=vetting_cast.intake, filters=filters, before=pages[2].previous, limit=2)
    assert [c.pk for c in two.rows] == order[:2] and two.previous is None
