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


def test_the_case_list_pages_by_keyset_and_keeps_its_filters(
    submit: Submit, vetting_cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [submit(legion="geo") for _ in range(3)]
    submit(legion="frl")
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 2)
    monkeypatch.setattr(selectors.cases_filtered, "__kwdefaults__", {"after": None, "limit": 2})
    client = signed_in(vetting_cast.intake)
    first = client.get("/cases/all/", {"legion": "geo", "state": "received"}, secure=True).content.decode()
    assert first.count('id="case-row-') == 2 and 'id="cases-next"' in first
    link = first.split('id="cases-next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "legion=geo" in link and "state=received" in link
    second = client.get("/cases/all/" + link, secure=True).content.decode()
    assert f'id="case-row-{cases[2].pk}"' in second and second.count('id="case-row-') == 1
    assert 'id="cases-next"' not in second
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


def test_the_case_list_refuses_a_role_without_cases(make_staff: MakeStaff) -> None:
    instructor = make_staff("ivo-instructor", "instructor")
    assert signed_in(instructor).get("/cases/all/", secure=True).status_code == 403
