"""Exports: CSV, XLSX and the PDF summary hold what the viewer may see, small numbers hidden, and are audited."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zlib
from typing import Any

import pytest
from django.conf import settings
from openpyxl import load_workbook

from legionary.access.models import Staff
from legionary.audit.models import Entry
from legionary.reports import services
from legionary.reports.services import spreadsheet_safe
from tests.conftest import signed_in
from tests.reports.conftest import World

pytestmark = pytest.mark.django_db


def _last_export() -> dict[str, Any]:
    entry = Entry.objects.filter(action="reports.exported").order_by("-index").first()
    assert entry is not None
    return dict(json.loads(bytes(entry.body))["details"]) | {"actor": entry.actor}


def _streamed(response: Any) -> bytes:
    """The body of a people export, handed out from its spooled file (never held whole)."""
    assert response.streaming
    return b"".join(response.streaming_content)


def _csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_the_people_csv_lists_call_signs_in_scope_with_the_filters_and_is_audited_with_its_row_count(
    world: World, viewers: dict[str, Staff]
) -> None:
    response = signed_in(viewers["geo"]).get(
        "/reports/people.csv", {"since": "2026-02-01", "until": "2026-02-28"}, secure=True
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="people.csv"'
    assert response["Cache-Control"] == "no-store"
    rows = _csv(_streamed(response))
    expected = {s.call_sign: s for s in world.specs if s.legion == "geo" and s.month == "2026-02"}
    assert sorted(r["call_sign"] for r in rows) == sorted(expected)
    assert set(rows[0]) == {"call_sign", "person_id", "legion", "status", "received"}
    assert all(r["person_id"] == expected[r["call_sign"]].person.pk for r in rows)  # type: ignore[union-attr]
    audit = _last_export()
    assert (
        audit.items()
        >= {
            "actor": "adj-geo",
            "list": "people",
            "format": "csv",
            "rows": len(expected),
            "since": "2026-02-01",
            "until": "2026-02-28",
        }.items()
    )


def test_the_people_xlsx_holds_the_same_rows_as_the_csv(world: World, viewers: dict[str, Staff]) -> None:
    client = signed_in(viewers["protected"])
    query = {"legion": "frl", "status": "in_vetting"}
    from_csv = [r["call_sign"] for r in _csv(_streamed(client.get("/reports/people.csv", query, secure=True)))]
    response = client.get("/reports/people.xlsx", query, secure=True)
    sheet = load_workbook(io.BytesIO(_streamed(response)), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("call_sign", "person_id", "legion", "status", "received")
    assert [v[0] for v in values[1:]] == from_csv
    assert sorted(from_csv) == sorted(
        s.call_sign for s in world.specs if s.legion == "frl" and s.status == "in_vetting"
    )
    assert _last_export()["rows"] == len(from_csv) and _last_export()["format"] == "xlsx"


def test_a_table_export_hides_small_counts_for_a_viewer_without_unseal_rights(
    world: World, viewers: dict[str, Staff]
) -> None:
    protected = _csv(signed_in(viewers["protected"]).get("/reports/tables/overdue_by_legion.csv", secure=True).content)
    exact = _csv(signed_in(viewers["exact"]).get("/reports/tables/overdue_by_legion.csv", secure=True).content)
    geo_open = sum(1 for s in world.specs if s.legion == "geo" and s.open_check_due)
    assert 0 < geo_open < 5
    assert [r["open"] for r in protected if r["legion"] == "Georgian Legion"] == ["< 5"]
    assert [r["open"] for r in exact if r["legion"] == "Georgian Legion"] == [str(geo_open)]
    assert _last_export().items() >= {"list": "table:overdue_by_legion", "rows": len(exact), "exact": True}.items()


def test_a_table_export_in_xlsx_writes_hidden_counts_as_text_and_shown_counts_as_numbers(
    world: World, viewers: dict[str, Staff]
) -> None:
    response = signed_in(viewers["protected"]).get("/reports/tables/funnel.xlsx", secure=True)
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))[1:]
    received = next(r for r in rows if r[0] == "Application received")
    assert received[1] == len(world.specs)
    cells = [v for r in rows for v in r[1:]]
    assert "< 5" in cells
    assert all(isinstance(v, int) and (v == 0 or v >= 5) for v in cells if v != "< 5")


def test_an_unknown_table_or_format_is_not_found(world: World, viewers: dict[str, Staff]) -> None:
    client = signed_in(viewers["protected"])
    assert client.get("/reports/tables/nothing.csv", secure=True).status_code == 404
    assert client.get("/reports/tables/funnel.json", secure=True).status_code == 404
    assert client.get("/reports/people.json", secure=True).status_code == 404


def _pdf_text(content: bytes) -> str:
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "\n".join(out)


def test_the_pdf_summary_hides_small_counts_for_a_viewer_without_unseal_rights_and_is_audited(
    world: World, viewers: dict[str, Staff]
) -> None:
    protected = signed_in(viewers["protected"]).get("/reports/summary.pdf", {"legion": "geo"}, secure=True)
    assert protected.status_code == 200 and protected.content.startswith(b"%PDF")
    assert "(< 5)" in _pdf_text(protected.content)
    audit = _last_export()
    assert audit.items() >= {"list": "summary", "format": "pdf", "legion": "geo", "exact": False}.items()
    assert audit["rows"] > 0
    exact = signed_in(viewers["exact"]).get("/reports/summary.pdf", {"legion": "geo"}, secure=True)
    assert "(< 5)" not in _pdf_text(exact.content)
    geo = sum(1 for s in world.specs if s.legion == "geo")
    assert f"({geo})" in _pdf_text(exact.content)


def test_spreadsheet_formulas_are_defused() -> None:
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spreadsheet_safe("@x") == "'@x"
    assert spreadsheet_safe("Zaza") == "Zaza"


def test_the_pdf_summary_is_made_in_the_viewers_language_or_in_english_without_a_font_for_it(
    world: World, viewers: dict[str, Staff]
) -> None:
    client = signed_in(viewers["protected"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    response = client.get("/reports/summary.pdf", secure=True, HTTP_ACCEPT_LANGUAGE="uk")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert _last_export()["list"] == "summary"


def test_a_spooled_export_is_the_file_the_in_memory_writer_made() -> None:
    rows = [("=HYPERLINK()", "p1", "geo", "received", "2026-02-01"), ("Ёжик, «тот»", "p2", "frl", "denied", 3)]
    header = ("call_sign", "person_id", "legion", "status", "received")
    for fmt in ("csv", "xlsx"):
        with tempfile.TemporaryFile() as sink:
            assert services._spool(fmt, "people", header, iter(rows), sink) == len(rows)
            sink.seek(0)
            spooled = sink.read()
        if fmt == "csv":
            assert spooled == services._write(fmt, "people", header, rows)
        else:
            sheet = load_workbook(io.BytesIO(spooled), read_only=True).active
            assert sheet is not None
            assert list(sheet.iter_rows(values_only=True))[1:] == [
                ("'=HYPERLINK()", "p1", "geo", "received", "2026-02-01"),
                ("Ёжик, «тот»", "p2", "frl", "denied", 3),
            ]
