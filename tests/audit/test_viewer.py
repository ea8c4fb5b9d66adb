"""The audit viewer: only auditors and security officers read it, and every read is recorded."""

from __future__ import annotations

import pytest

from legionary.access.models import Staff
from legionary.access.roles import ROLE_PERMISSIONS, Perm, Role
from legionary.audit.models import Entry, Node
from legionary.audit.services import audit_record, pack_key
from tests.audit.conftest import MakeLog
from tests.conftest import signed_in

READERS = sorted(r for r in Role.values if Perm.VIEW_AUDIT_LOG in ROLE_PERMISSIONS[r])
OTHERS = sorted(r for r in Role.values if Perm.VIEW_AUDIT_LOG not in ROLE_PERMISSIONS[r])
PAGES = ["/audit/", "/audit/entries/0/", "/audit/checkpoints/"]


def test_only_auditors_and_security_officers_hold_the_permission() -> None:
    assert READERS == ["auditor", "security_officer"]


@pytest.mark.parametrize("role", OTHERS)
@pytest.mark.parametrize("path", PAGES)
def test_every_other_role_is_refused_every_audit_page(
    make_log: MakeLog, cast: dict[str, Staff], role: str, path: str
) -> None:
    make_log(3)
    client = signed_in(cast[role])  # signing in is recorded too, so count after it
    before = Entry.objects.count()
    response = client.get(path, secure=True)
    assert response.status_code == 403
    assert Entry.objects.count() == before  # a refused request reads nothing, so records nothing


@pytest.mark.parametrize("role", READERS)
@pytest.mark.parametrize("path", PAGES)
def test_readers_may_open_every_audit_page_and_each_view_is_recorded(
    make_log: MakeLog, cast: dict[str, Staff], role: str, path: str
) -> None:
    make_log(3)
    response = signed_in(cast[role]).get(path, secure=True)
    assert response.status_code == 200
    newest = Entry.objects.order_by("-index").first()
    assert newest is not None
    assert newest.actor == cast[role].username
    assert newest.action.startswith("audit.")


def test_the_list_filters_by_actor_person_action_and_time_and_records_the_filters(
    make_log: MakeLog, cast: dict[str, Staff]
) -> None:
    make_log(9)
    client = signed_in(cast["auditor"])
    response = client.get(
        "/audit/",
        {"actor": "officer-0", "subject": "P-0003", "action": "identity.", "since": "2000-01-01 00:00"},
        secure=True,
    )
    assert response.status_code == 200
    shown = [row["index"] for row in response.context["page"].rows]
    assert shown == [3]
    viewed = Entry.objects.order_by("-index").first()
    assert viewed is not None and viewed.action == "audit.log_viewed"
    assert b'"actor":"officer-0"' in bytes(viewed.body)
    assert b'"subject":"P-0003"' in bytes(viewed.body)
    assert b'"since":"2000-01-01T00:00:00+00:00"' in bytes(viewed.body)
    # A range that ends before the log began shows nothing.
    empty = client.get("/audit/", {"until": "2000-01-01 00:00"}, secure=True)
    assert list(empty.context["page"].rows) == []


def test_a_reversed_time_range_is_refused_with_a_sentence(make_log: MakeLog, cast: dict[str, Staff]) -> None:
    make_log(2)
    response = signed_in(cast["auditor"]).get(
        "/audit/", {"since": "2030-01-01 00:00", "until": "2020-01-01 00:00"}, secure=True
    )
    assert response.status_code == 400
    assert "must come before its end" in response.content.decode()


def test_pages_run_newest_first_without_offset_or_count(cast: dict[str, Staff]) -> None:
    for n in range(120):
        audit_record(actor="pager", action="test.paged", details={"n": n})
    client = signed_in(cast["auditor"])
    first = client.get("/audit/", {"actor": "pager"}, secure=True)
    rows = [row["index"] for row in first.context["page"].rows]
    assert len(rows) == 50 and rows == sorted(rows, reverse=True)
    second = client.get("/audit/" + first.context["next_url"], secure=True)
    more = [row["index"] for row in second.context["page"].rows]
    assert more[0] == rows[-1] - 1
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/audit/" + first.context["next_url"], secure=True)
    listing = [q["sql"] for q in queries.captured_queries if '"audit_entry"' in q["sql"] and "SELECT" in q["sql"]]
    assert listing and all("OFFSET" not in sql and "COUNT(" not in sql.upper() for sql in listing)


def test_an_entry_page_shows_its_body_and_a_verified_proof(make_log: MakeLog, cast: dict[str, Staff]) -> None:
    make_log(6)
    response = signed_in(cast["security_officer"]).get("/audit/entries/4/", secure=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Verified:" in page
    assert "case review 4" in page
    assert response.context["evidence"].verified


def test_an_entry_page_says_not_verified_when_the_tree_was_edited(make_log: MakeLog, cast: dict[str, Staff]) -> None:
    make_log(6)
    Node.objects.filter(key=pack_key(0, 5)).update(hash=b"\x22" * 32)
    response = signed_in(cast["auditor"]).get("/audit/entries/4/", secure=True)
    assert "NOT verified:" in response.content.decode()


def test_a_missing_entry_is_a_404(make_log: MakeLog, cast: dict[str, Staff]) -> None:
    make_log(2)
    assert signed_in(cast["auditor"]).get("/audit/entries/999/", secure=True).status_code == 404


def test_the_checkpoints_page_shows_every_signed_note_and_the_verifier_key(
    make_log: MakeLog, cast: dict[str, Staff]
) -> None:
    make_log(9)
    response = signed_in(cast["auditor"]).get("/audit/checkpoints/", secure=True)
    page = response.content.decode()
    sizes = [row["size"] for row in response.context["page"].rows]
    assert sizes == [8, 4, 1]
    assert "— legionary.local/audit " in page
    assert response.context["verifier_key"].startswith("legionary.local/audit+")
