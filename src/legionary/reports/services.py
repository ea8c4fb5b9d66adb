"""Exports of the reports: CSV and XLSX of the people list and of the dashboard's tables, and a PDF summary.

Responsible for writing the files and recording each export in the audit log, with who exported
what, the filters applied and the number of rows, in the same transaction, before the file is
handed out. The people list is by call sign and pseudonymous id only; dashboard tables arrive
with small numbers already hidden (``reports.tables``), so an export shows no more than the page.

Must never: read a sealed identity, export anything outside the caller's scope (callers pass
querysets and tables built from a ``ReportScope``), or let a cell start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from legionary.audit.services import DetailValue, audit_record
from legionary.identity.models import Person
from legionary.reports.selectors import PeopleFilter, Period
from legionary.reports.tables import Section, Table

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
PEOPLE_COLUMNS = ("call_sign", "person_id", "legion", "status", "received")
# Fonts with Cyrillic, Georgian and Latin glyphs, looked for when a summary is not plain Latin-1.
UNICODE_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    rows: int


def spreadsheet_safe(value: str) -> str:
    """Defuses spreadsheet formulas: text starting with = + - @ (or a tab or CR) gets a leading apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str | int | float]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) if isinstance(v, str) else v for v in row])
    return out.getvalue().encode("utf-8")


def _xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[str | int | float]]) -> bytes:
    # openpyxl and fpdf are imported where a file is written, not with the module: together they
    # cost most of a second, which every ``legionary`` command and server worker would pay.
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append([spreadsheet_safe(v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write(fmt: str, title: str, header: Sequence[str], rows: Iterable[Sequence[str | int | float]]) -> bytes:
    if fmt == CSV:
        return _csv_bytes(header, rows)
    if fmt == XLSX:
        return _xlsx_bytes(title, header, rows)
    raise ValueError(f"Unknown export format {fmt!r}.")


def _period_details(period: Period) -> dict[str, DetailValue]:
    return {
        "legion": period.legion or None,
        "since": period.since.isoformat() if period.since else None,
        "until": period.until.isoformat() if period.until else None,
    }


@dataclass(frozen=True)
class SpooledExport:
    """An export written to a temporary file (already unlinked, read from its start), not to
    memory: the people list, which grows with the people. The caller hands it out and closes it."""

    filename: str
    content_type: str
    file: BinaryIO
    rows: int


def _spool(
    fmt: str, title: str, header: Sequence[str], rows: Iterable[Sequence[str | int | float]], sink: BinaryIO
) -> int:
    """Writes the export to ``sink`` as ``_write`` would, a row at a time; returns the rows written."""
    count = 0
    if fmt == CSV:
        text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow([spreadsheet_safe(v) if isinstance(v, str) else v for v in row])
            count += 1
        text.flush()
        text.detach()  # the file stays open for the caller
    elif fmt == XLSX:
        from openpyxl import Workbook  # imported where a file is written, as in _write

        book = Workbook(write_only=True)  # rows go to openpyxl's own temporary file, not memory
        sheet = book.create_sheet(title=title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([spreadsheet_safe(v) if isinstance(v, str) else v for v in row])
            count += 1
        book.save(sink)
    else:
        raise ValueError(f"Unknown export format {fmt!r}.")
    return count


def export_people(*, actor_name: str, people: QuerySet[Person], filters: PeopleFilter, fmt: str) -> SpooledExport:
    """The filtered people list (already narrowed to the actor's scope) as CSV or XLSX; audited.

    Read a couple of thousand people at a time and written to a temporary file as read, so that
    memory stays flat however many people the list holds; audited with the rows written before
    the file is handed out."""
    rows = (
        (p.call_sign, p.id, p.legion, p.status, p.created_at.date().isoformat())
        for p in people.iterator(chunk_size=2000)
    )
    sink = tempfile.TemporaryFile()  # handed to the response, which closes it
    try:
        count = _spool(fmt, "people", PEOPLE_COLUMNS, rows, sink)
        sink.seek(0)
        with transaction.atomic():
            audit_record(
                actor=actor_name,
                action="reports.exported",
                details={
                    "list": "people",
                    "format": fmt,
                    "rows": count,
                    "status": filters.status or None,
                    **_period_details(filters.period),
                },
            )
    except BaseException:
        sink.close()
        raise
    return SpooledExport(f"people.{fmt}", CONTENT_TYPES[fmt], sink, count)


def export_table(*, actor_name: str, table: Table, period: Period, exact: bool, fmt: str) -> ExportFile:
    """One dashboard table, with small numbers hidden as on the page, as CSV or XLSX; audited."""
    header = [c.key for c in table.columns]
    rows = [[cell.number if cell.number is not None else cell.text for cell in row] for row in table.rows]
    content = _write(fmt, table.id, header, rows)
    details: dict[str, DetailValue] = {"list": f"table:{table.id}", "format": fmt, "rows": len(rows), "exact": exact}
    with transaction.atomic():
        audit_record(actor=actor_name, action="reports.exported", details=details | _period_details(period))
    return ExportFile(f"{table.id}.{fmt}", CONTENT_TYPES[fmt], content, len(rows))


# --- the PDF summary ---------------------------------------------------------------------------------


def unicode_font() -> Path | None:
    """A TrueType font able to show Cyrillic, if the machine has one (``LEGIONARY_PDF_FONT`` first)."""
    for candidate in (os.environ.get("LEGIONARY_PDF_FONT", ""), *UNICODE_FONTS):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _latin(text: str) -> str:
    for fancy, plain in (("—", "-"), ("…", "..."), ("’", "'"), ("“", '"'), ("”", '"')):
        text = text.replace(fancy, plain)
    return text


def is_latin1(texts: Iterable[str]) -> bool:
    try:
        for t in texts:
            _latin(t).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def summary_texts(sections: Sequence[Section], heading: Sequence[str]) -> list[str]:
    """Every text a summary would print, to choose its font."""
    out = list(heading)
    for section in sections:
        out.append(str(section.title))
        for table in _summary_tables(section):
            out.append(str(table.title))
            out.extend(str(c.label) for c in table.columns)
            out.extend(cell.text for row in table.rows for cell in row)
    return out


def _summary_tables(section: Section) -> list[Table]:
    # The summary carries the charted tables; the breakdowns are in the table exports.
    return [t for t in section.tables if t.chart_values]


def summary_pdf(
    *, sections: Sequence[Section], heading: Sequence[str], font: Path | None, limit: int | None = None
) -> bytes:
    """The dashboard's charted tables on A4 pages; ``font`` for text beyond Latin-1, else Helvetica.

    A table longer than ``limit`` rows prints its first ones and says how many more its exports hold.
    """
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(_latin(heading[0]) if font is None else heading[0])
    pdf.set_creator("legionary")
    if font is not None:
        pdf.add_font("body", "", str(font))
        family = "body"
    else:
        family = "Helvetica"

    def clean(text: str) -> str:
        return text if font is not None else _latin(text)

    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 9, clean(heading[0]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for line in heading[1:]:
        pdf.multi_cell(0, 6, clean(line), new_x="LMARGIN", new_y="NEXT")
    for section in sections:
        pdf.ln(4)
        pdf.set_font(family, size=13)
        pdf.multi_cell(0, 8, clean(str(section.title)), new_x="LMARGIN", new_y="NEXT")
        for table in _summary_tables(section):
            pdf.set_font(family, size=9)
            pdf.multi_cell(0, 6, clean(str(table.title)), new_x="LMARGIN", new_y="NEXT")
            if not table.rows:
                pdf.multi_cell(0, 6, clean(_("Nothing to show.")), new_x="LMARGIN", new_y="NEXT")
                continue
            # Headings in the body face: a Unicode font is added in one style only.
            headings = FontFace(family=family, emphasis="", fill_color=(230, 230, 230))
            with pdf.table(text_align="LEFT", line_height=5, headings_style=headings) as grid:
                heading_row = grid.row()
                for column in table.columns:
                    heading_row.cell(clean(str(column.label)))
                for row in table.rows[:limit]:
                    grid_row = grid.row()
                    for cell in row:
                        grid_row.cell(clean(cell.text))
            if limit is not None and len(table.rows) > limit:
                more = len(table.rows) - limit
                note = ngettext("%(n)s more row is in the exports.", "%(n)s more rows are in the exports.", more)
                pdf.multi_cell(0, 6, clean(note % {"n": more}), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def export_summary_pdf(
    *,
    actor_name: str,
    sections: Sequence[Section],
    heading: Sequence[str],
    period: Period,
    exact: bool,
    limit: int | None = None,
) -> ExportFile:
    """The PDF summary of the dashboard for a period; audited with the number of table rows it prints."""
    texts = summary_texts(sections, heading)
    font = None if is_latin1(texts) else unicode_font()
    if font is None and not is_latin1(texts):
        raise UnicodeError("No font on this machine can print this summary; set LEGIONARY_PDF_FONT.")
    content = summary_pdf(sections=sections, heading=heading, font=font, limit=limit)
    rows = sum(len(t.rows[:limit]) for s in sections for t in _summary_tables(s))
    details: dict[str, DetailValue] = {"list": "summary", "format": "pdf", "rows": rows, "exact": exact}
    with transaction.atomic():
        audit_record(actor=actor_name, action="reports.exported", details=details | _period_details(period))
    return ExportFile(f"pipeline-summary-{timezone.localdate().isoformat()}.pdf", CONTENT_TYPES["pdf"], content, rows)
