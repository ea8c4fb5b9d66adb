"""The case list and the work queue come in keyset pages: each case once, a next cursor until the
last page, and a clear 400 for a cursor that is not ours."""

from __future__ import annotations

import pytest

from legionary.vetting import selectors
from legionary.vetting.models import Case
from tests.conftest import signed_in
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


def test_the_queue_shows_a_page_of_each_section_with_a_link_to_the_next(
    submit: Submit, vetting_cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        submit()
    monkeypatch.setattr(selectors, "QUEUE_PAGE", 2)
    client = signed_in(vetting_cast.intake)
    first = client.get("/cases/", secure=True).content.decode()
    assert 'id="queue-start-next"' in first
    cursor = selectors.work_queue(staff=vetting_cast.intake, perms=frozenset(selectors.Perm)).next["start"]
    second = client.get("/cases/", {"start_after": cursor}, secure=True).content.decode()
    assert first.count('<li><a href="/cases/') == 2 and second.count('<li><a href="/cases/') == 1
    assert 'id="queue-start-next"' not in second
    assert client.get("/cases/", {"start_after": "garbage"}, secure=True).status_code == 400
