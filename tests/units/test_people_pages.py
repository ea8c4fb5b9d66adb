"""The people list and the roster come in keyset pages: every person once, a next link until the
last page, a clear 400 for a cursor that is not ours; the search goes by call sign prefix or id."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection

from legionary.identity.models import Person
from legionary.pagination import BadCursor, decode_cursor, encode_cursor, keyset_page
from legionary.units import selectors, services
from legionary.units.models import BilletRole
from tests.conftest import signed_in
from tests.plans import plan_of, statements_of
from tests.units.conftest import Org, trained_person

NEXT = re.compile(r'href="/units/people/\?([^"]+)" rel="next" id="next-page"')


def _walk(client: object, first: str) -> list[list[str]]:
    """The people ids on each page, following the next links from ``first``."""
    pages, url = [], first
    while url:
        body = client.get(url, secure=True).content.decode()  # type: ignore[attr-defined]
        pages.append(re.findall(r'<tr class="govuk-table__row" id="person-(p[a-z2-7]+)"', body))
        found = NEXT.search(body)
        url = "/units/people/?" + found.group(1).replace("&amp;", "&") if found else ""
    return pages


def test_the_people_list_pages_through_everyone_once_in_call_sign_order(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Bravo", "Alpha", "Delta"):
        trained_person(name)
    monkeypatch.setattr(selectors, "PEOPLE_PAGE", 2)
    pages = _walk(signed_in(org.admin), "/units/people/")
    everyone = list(Person.objects.order_by("call_sign_key").values_list("pk", flat=True))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [pk for page in pages for pk in page] == everyone


def test_a_malformed_cursor_is_a_clear_400_on_the_page_and_in_the_api(org: Org) -> None:
    client = signed_in(org.admin)
    page = client.get("/units/people/?after=not-a-cursor", secure=True)
    assert page.status_code == 400 and b"not valid" in page.content
    answer = client.get("/api/v1/units/people?after=%25%25", secure=True)
    assert answer.status_code == 400 and answer["Content-Type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "after"


def test_a_cursor_made_for_another_list_is_refused() -> None:
    other = encode_cursor(("-created_at", "-id"), [7, 7])
    with pytest.raises(BadCursor):
        decode_cursor(selectors.PEOPLE_ORDER, other)


def test_the_api_hands_out_a_next_cursor_until_the_last_page(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    trained_person("Alpha")
    monkeypatch.setattr(selectors, "PEOPLE_PAGE", 2)
    client = signed_in(org.admin)
    first = client.get("/api/v1/units/people", secure=True).json()
    second = client.get("/api/v1/units/people", {"after": first["next"]}, secure=True).json()
    assert [p["call_sign"] for p in first["people"]] == ["Alpha", "Miami"]
    assert [p["call_sign"] for p in second["people"]] == ["Zaza"] and second["next"] is None


def test_the_search_finds_by_call_sign_prefix_in_any_case_and_by_pseudonymous_id(org: Org) -> None:
    trained_person("Zanzibar")
    client = signed_in(org.admin)
    by_prefix = client.get("/api/v1/units/people", {"q": "za"}, secure=True).json()["people"]
    assert sorted(p["call_sign"] for p in by_prefix) == ["Zanzibar", "Zaza"]
    by_id = client.get("/api/v1/units/people", {"q": org.outside.pk}, secure=True).json()["people"]
    assert [p["call_sign"] for p in by_id] == ["Miami"]
    assert client.get("/api/v1/units/people", {"q": "aza"}, secure=True).json()["people"] == []


def test_a_commanders_search_stays_inside_his_subtree(org: Org) -> None:
    trained_person("Zanzibar")  # not assigned anywhere: outside every commander's scope
    people = signed_in(org.commander).get("/api/v1/units/people", {"q": "za"}, secure=True).json()["people"]
    assert [p["call_sign"] for p in people] == ["Zaza"]


def test_the_roster_comes_in_pages_of_billets(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):
        services.billet_create(
            actor=org.admin, unit_id=org.platoon.pk, role=BilletRole.RIFLEMAN, qualification_codes=[]
        )
    monkeypatch.setattr(selectors, "ROSTER_PAGE", 2)
    monkeypatch.setattr(selectors, "ROSTER_SCREEN", 2)
    client = signed_in(org.commander)
    seen: list[int] = []
    url = f"/api/v1/units/{org.company.pk}/roster"
    cursor = None
    while True:
        answer = client.get(url, {"after": cursor} if cursor else {}, secure=True).json()
        seen.extend(line["billet"] for line in answer["lines"])
        cursor = answer["next"]
        if cursor is None:
            break
    everything = [line.billet_id for line in selectors.roster(staff=org.commander, unit=org.company).lines]
    assert seen == everything and len(everything) == 4
    page = client.get(f"/units/{org.company.pk}/", secure=True).content.decode()
    assert 'id="next-page"' in page
    assert client.get(f"/units/{org.company.pk}/?after=x", secure=True).status_code == 400


def test_keyset_pages_of_a_descending_order_cover_every_row_once(org: Org) -> None:
    for name in ("Alpha", "Bravo", "Charlie"):
        trained_person(name)
    order = ("-created_at", "-id")
    seen, cursor = [], None
    while True:
        page = keyset_page(Person.objects.all(), order, after=cursor, limit=2)
        seen.extend(p.pk for p in page.rows)
        if page.next is None:
            break
        cursor = page.next
    assert seen == list(Person.objects.order_by(*order).values_list("pk", flat=True))


def test_a_call_sign_search_page_is_one_range_of_the_call_sign_index_without_a_sort(org: Org) -> None:
    trained_person("Zanzibar")
    statements = [
        s
        for s in statements_of(lambda: selectors.people_page(staff=org.admin, query="za"))
        if "ORDER BY" in s[0] and "call_sign_key" in s[0]
    ]
    assert len(statements) == 1, statements
    plan = plan_of(statements[0])
    if connection.vendor == "sqlite":
        assert re.search(r"USING INDEX \S+ \((legion=\? AND )?call_sign_key>\? AND call_sign_key<\?\)", plan), plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert re.search(r"Index (Only )?Scan using \S*call_?sign", plan), plan
        assert not re.search(r"(^|->\s+)Sort\b", plan, re.MULTILINE), plan


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite compares text byte by byte already")
def test_the_folded_call_sign_compares_byte_by_byte_with_a_fine_histogram_on_postgresql() -> None:
    # In a linguistic collation "starts with" is not a range of the index and lists sort differently
    # from SQLite; migration identity 0003 sets "C" on existing databases. It also keeps 1,000
    # histogram buckets: with the default 100, a prefix of ~5,000 call signs in 1M fits in one
    # bucket, is estimated at 14 rows, and the search fetches and sorts them all (docs/benchmarks.md).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.collation_name, a.attstattarget FROM information_schema.columns c "
            "JOIN pg_attribute a ON a.attrelid = 'identity_person'::regclass AND a.attname = c.column_name "
            "WHERE c.table_name = 'identity_person' AND c.column_name = 'call_sign_key'"
        )
        assert cursor.fetchone() == ("C", 1000)


def test_the_roster_page_shows_vacant_billets_only_when_asked(org: Org) -> None:
    client = signed_in(org.commander)
    everything = client.get(f"/units/{org.company.pk}/", secure=True).content.decode()
    vacant = client.get(f"/units/{org.company.pk}/?vacant=1", secure=True).content.decode()
    assert f'id="billet-{org.rifleman.pk}"' in everything and f'id="billet-{org.medic.pk}"' in everything
    assert f'id="billet-{org.rifleman.pk}"' not in vacant and f'id="billet-{org.medic.pk}"' in vacant
    assert 'class="moj-filter-tags"' not in everything
    tags = vacant.split('class="moj-filter-tags"')[1].split("</ul>")[0]
    assert "Vacant billets only" in tags and f'href="/units/{org.company.pk}/"' in tags


def test_the_roster_filters_by_billet_and_holders_status_and_refuses_an_unknown_one(org: Org) -> None:
    client = signed_in(org.commander)
    medics = client.get(f"/units/{org.company.pk}/", {"role": "medic"}, secure=True).content.decode()
    assert f'id="billet-{org.medic.pk}"' in medics and f'id="billet-{org.rifleman.pk}"' not in medics
    held = client.get(f"/units/{org.company.pk}/", {"status": org.inside.status}, secure=True).content.decode()
    assert f'id="billet-{org.rifleman.pk}"' in held and f'id="billet-{org.medic.pk}"' not in held
    bad = client.get(f"/units/{org.company.pk}/", {"status": "deceased"}, secure=True)
    text = bad.content.decode()
    assert bad.status_code == 400 and "Choose a status from the list." in text and 'id="billet-' not in text


def test_the_people_list_filters_by_status_legion_and_unit_within_scope(org: Org) -> None:
    waiting = trained_person("Waiting")
    client = signed_in(org.admin)
    trained = client.get("/units/people/", {"status": "trained"}, secure=True).content.decode()
    assert f'id="person-{waiting.pk}"' in trained
    assert "Status: Trained" in trained.split('class="moj-filter-tags"')[1]
    frl = client.get("/units/people/", {"legion": "frl"}, secure=True).content.decode()
    assert f'id="person-{org.inside.pk}"' in frl and f'id="person-{org.outside.pk}"' not in frl
    # A unit: the people whose current billet is in its subtree.
    company = client.get("/units/people/", {"unit": org.company.pk}, secure=True).content.decode()
    assert f'id="person-{org.inside.pk}"' in company
    assert f'id="person-{org.outside.pk}"' not in company and f'id="person-{waiting.pk}"' not in company
    bad = client.get("/units/people/", {"status": "ghost"}, secure=True)
    assert bad.status_code == 400 and "Choose a status from the list." in bad.content.decode()
    assert 'id="person-' not in bad.content.decode()


def test_a_unit_outside_the_commanders_scope_is_refused_not_widened(org: Org) -> None:
    client = signed_in(org.commander)  # A Company's subtree
    outside = client.get("/units/people/", {"unit": org.brl_battalion.pk}, secure=True)
    page = outside.content.decode()
    assert outside.status_code == 400 and "Choose one of your units from the list." in page
    assert f'id="person-{org.outside.pk}"' not in page
    offered = page.split('id="filter-unit"')[1].split("</select>")[0]
    assert f'value="{org.company.pk}"' in offered and f'value="{org.battalion.pk}"' not in offered


PREVIOUS = re.compile(r'href="/units/people/\?([^"]+)" rel="prev" id="previous-page"')


def test_the_people_list_pages_back_through_the_same_pages_with_its_filters(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Bravo", "Alpha", "Delta", "Echo", "Foxtrot"):
        trained_person(name)
    monkeypatch.setattr(selectors, "PEOPLE_PAGE", 2)
    client = signed_in(org.admin)
    forward = _walk(client, "/units/people/?status=trained")
    assert [len(p) for p in forward] == [2, 2, 1]  # the five trained; Zaza (assigned) is not
    # From the last page, back by the previous links: the same pages, the filter kept on each link.
    url, back = "/units/people/?status=trained", []
    for _page in forward[:-1]:
        body = client.get(url, secure=True).content.decode()
        found = NEXT.search(body)
        assert found
        url = "/units/people/?" + found.group(1).replace("&amp;", "&")
    while url:
        body = client.get(url, secure=True).content.decode()
        back.append(re.findall(r'<tr class="govuk-table__row" id="person-(p[a-z2-7]+)"', body))
        found = PREVIOUS.search(body)
        url = "/units/people/?" + found.group(1).replace("&amp;", "&") if found else ""
        assert not found or "status=trained" in found.group(1)
    assert back == forward[::-1]


def test_a_cursor_with_stray_characters_is_refused_not_read_around() -> None:
    """base64 decoding skips characters outside its alphabet; a cursor must be its alphabet only, so a
    link mangled in copying (a quote, a space) is refused rather than read as some other position."""
    from legionary.pagination import BadCursor, decode_cursor, encode_cursor

    order = ("-start_date", "-id")
    good = encode_cursor(order, [datetime.date(2025, 3, 3), 752])
    assert decode_cursor(order, good) == [datetime.date(2025, 3, 3), 752]
    for mangled in (good + '"', good + " ", good[:5] + "!" + good[5:], good + "="):
        with pytest.raises(BadCursor):
            decode_cursor(order, mangled)
