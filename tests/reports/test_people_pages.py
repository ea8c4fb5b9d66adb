"""The reports people list comes in keyset pages (no OFFSET, no COUNT): every match once, the
filters kept on the next link, a clear 400 for a cursor that is not ours."""

from __future__ import annotations

import re

import pytest

from legionary.access.models import Staff
from legionary.identity.models import Person
from legionary.reports import views
from tests.conftest import signed_in
from tests.reports.conftest import World

ROW = re.compile(
    r'<tr class="govuk-table__row" id="person-[^"]+">'
    r'<th class="govuk-table__header" scope="row"><bdi>([^<]+)</bdi></th>'
)
NEXT = re.compile(r'id="people-next" href="\?([^"]+)"')


def test_the_people_list_pages_through_every_match_keeping_the_filters(
    world: World, viewers: dict[str, Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PEOPLE_PER_PAGE", 2)
    client = signed_in(viewers["geo"])
    geo = {s.call_sign for s in world.specs if s.legion == "geo"}
    by_key = Person.objects.filter(call_sign__in=geo).order_by("call_sign_key").values_list("call_sign", flat=True)
    expected = list(by_key)  # the folded call sign's order (look-alike digits fold to letters)
    seen, query, pages = [], "", 0
    while True:
        html = client.get(f"/reports/people/?{query}", secure=True).content.decode()
        seen.extend(ROW.findall(html))
        pages += 1
        found = NEXT.search(html)
        if not found:
            break
        query = found.group(1).replace("&amp;", "&")
    assert len(expected) > 2 and seen == expected and pages == -(-len(expected) // 2)
    assert 'id="people-total">' in html


def test_a_bad_cursor_on_the_people_list_is_a_400(viewers: dict[str, Staff]) -> None:
    response = signed_in(viewers["geo"]).get("/reports/people/", {"after": "!!"}, secure=True)
    assert response.status_code == 400
