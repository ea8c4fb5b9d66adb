"""The reports pages: the pipeline dashboard, the people list, and their exports.

Responsible for reading filters, building the viewer's ``ReportScope`` (the one need-to-know rule,
through ``access.scopes``) and handing the figures, with small numbers already hidden
(``reports.tables``), to templates and to ``reports.services`` for exports. Every view needs
``Perm.VIEW_REPORTS``. Must never compute a figure itself, read a sealed identity, or show a number
that did not pass through ``Protection``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from html import escape  # what django.utils.html.escape calls, without its lazy-string wrapper

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from legionary.access.policy import staff_required
from legionary.access.roles import Perm
from legionary.identity.models import PersonStatus
from legionary.pagination import BadCursor, keyset_page
from legionary.reports import services
from legionary.reports.forms import PeopleFilterForm, PeriodForm
from legionary.reports.freshness import maybe_refresh
from legionary.reports.selectors import (
    PEOPLE_ORDER,
    Dashboard,
    Period,
    ReportScope,
    people_list,
    pipeline_dashboard,
    scope_for_staff,
)
from legionary.reports.svg import bar_chart
from legionary.reports.tables import Protection, Section, Table, dashboard_sections, legion_name, source_note

PEOPLE_PER_PAGE = 100


# A table longer than this shows its first rows on the page (and in its chart and the PDF summary);
# its exports hold every row. Only cohort progress and a legion's units grow with the instance.
PAGE_TABLE_ROWS = 100


def page_rows() -> int:
    return int(getattr(settings, "LEGIONARY_REPORT_PAGE_ROWS", PAGE_TABLE_ROWS))


@dataclass
class ShownTable:
    table: Table
    chart: SafeString
    body: SafeString  # the rows (table_body)
    more: int = 0


_HEADER_CELL = '<th scope="row" class="govuk-table__header">'
_NUMBER_CELL = '<td class="govuk-table__cell govuk-table__cell--numeric">'
_HIDDEN_CELL = '<td class="govuk-table__cell govuk-table__cell--numeric hidden-count">'


def table_body(table: Table) -> SafeString:
    """The rows of a table's ``<tbody>``: the first cell a row header, the others numeric cells
    (a hidden count marked). Written here rather than by template loops: the dashboard's tables
    hold a few thousand cells, and through the template engine they were most of the page's time.
    Every text is escaped."""
    rows = []
    for row in table.rows:
        cells = [_HEADER_CELL, escape(row[0].text), "</th>"] if row else []
        for cell in row[1:]:
            cells += (_HIDDEN_CELL if cell.hidden else _NUMBER_CELL, escape(cell.text), "</td>")
        rows.append('<tr class="govuk-table__row">' + "".join(cells) + "</tr>")
    return SafeString("\n  ".join(rows))


def _shown(table: Table, limit: int) -> ShownTable:
    """The table as the page shows it: at most ``limit`` rows, its chart drawn from those."""
    if len(table.rows) > limit:
        table = dataclasses.replace(table, rows=table.rows[:limit], more=table.more + len(table.rows) - limit)
    return ShownTable(table, bar_chart(table, chart_id=f"chart-{table.id}"), table_body(table), more=table.more)


def _sections(
    scope: ReportScope, period: Period, *, limit: int | None = None
) -> tuple[list[Section], Protection, Dashboard]:
    protection = Protection(exact=scope.exact)
    figures = pipeline_dashboard(scope, period)
    return dashboard_sections(figures, protection, limit=limit), protection, figures


def _download(export: services.ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _download_file(export: services.SpooledExport) -> FileResponse:
    """A spooled export handed out as read from its file (the response closes it)."""
    response = FileResponse(export.file, as_attachment=True, filename=export.filename, content_type=export.content_type)
    response["Cache-Control"] = "no-store"
    return response


@staff_required(Perm.VIEW_REPORTS)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    period = form.period()
    scope = scope_for_staff(request.user)
    # Whole-legion viewers read the rollup: started again here if changes were recorded after it.
    fresh = maybe_refresh() if scope.whole is not None else None
    limit = page_rows()
    sections, protection, figures = _sections(scope, period, limit=limit)
    shown = [(section, [_shown(t, limit) for t in section.tables]) for section in sections]
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "sections": shown,
            "protection": protection,
            "as_of": figures.as_of,
            "as_of_local": timezone.localtime(figures.as_of) if figures.as_of is not None else None,
            "counted_at": timezone.localtime(),
            # Changes recorded after the figures were counted (only for figures read from the rollup).
            "behind": fresh.behind if fresh is not None and figures.as_of is not None else 0,
            "refreshing": fresh is not None and fresh.refreshing,
            "wide": scope.whole is not None,
            "query": request.GET.urlencode(),
            "formats": services.FORMATS,
        },
    )


@staff_required(Perm.VIEW_REPORTS)
@require_GET
def table_export(request: HttpRequest, table_id: str, fmt: str) -> HttpResponse:
    if fmt not in services.FORMATS:
        raise Http404
    period = PeriodForm(request.GET or None).period()
    scope = scope_for_staff(request.user)
    sections, _protection, _figures = _sections(scope, period)
    tables = {t.id: t for s in sections for t in s.tables}
    if table_id not in tables:
        raise Http404
    export = services.export_table(
        actor_name=request.user.get_username(), table=tables[table_id], period=period, exact=scope.exact, fmt=fmt
    )
    return _download(export)


def _heading(request: HttpRequest, period: Period, protection: Protection, figures: Dashboard) -> list[str]:
    since = period.since.isoformat() if period.since else _("the first application")
    until = period.until.isoformat() if period.until else _("today")
    lines = [
        _("Pipeline summary"),
        _("%(legion)s: applications received from %(since)s until %(until)s.")
        % {"legion": legion_name(period.legion), "since": since, "until": until},
        _("Prepared for %(user)s on %(date)s.")
        % {"user": request.user.get_username(), "date": timezone.localdate().isoformat()},
    ]
    if figures.as_of is not None:
        lines.append(source_note(figures.as_of))
    if protection.exact:
        lines.append(_("Counts are exact."))
    else:
        lines.append(
            _("Counts from 1 to %(below)s are shown as “< %(threshold)s”.")
            % {"below": protection.threshold - 1, "threshold": protection.threshold}
        )
    return lines


@staff_required(Perm.VIEW_REPORTS)
@require_GET
def summary_pdf(request: HttpRequest) -> HttpResponse:
    period = PeriodForm(request.GET or None).period()
    scope = scope_for_staff(request.user)
    sections, protection, figures = _sections(scope, period)
    heading = _heading(request, period, protection, figures)
    if not services.is_latin1(services.summary_texts(sections, heading)) and services.unicode_font() is None:
        # No font for this language on the machine: the summary is printed in English instead.
        with translation.override("en"):
            sections, protection, figures = _sections(scope, period)
            heading = _heading(request, period, protection, figures)
    export = services.export_summary_pdf(
        actor_name=request.user.get_username(),
        sections=sections,
        heading=heading,
        period=period,
        exact=scope.exact,
        limit=page_rows(),
    )
    return _download(export)


@staff_required(Perm.VIEW_REPORTS)
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    form = PeopleFilterForm(request.GET or None)
    found = people_list(scope_for_staff(request.user), form.filters())
    try:
        page = keyset_page(found, PEOPLE_ORDER, after=request.GET.get("after"), limit=PEOPLE_PER_PAGE)
    except BadCursor:
        return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    labels = {value: str(label) for value, label in PersonStatus.choices}
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("page", None)
    next_query = None
    if page.next:
        following = query.copy()
        following["after"] = page.next
        next_query = following.urlencode()
    context = {
        "form": form,
        # Status labels looked up once, not by ``get_status_display`` per row (it rebuilds the choices).
        "people": [(p, labels.get(p.status, p.status)) for p in page.rows],
        "first_page": not request.GET.get("after"),
        "next_query": next_query,
        "query": query.urlencode(),
        "formats": services.FORMATS,
    }
    return render(request, "reports/people.html", context)


@staff_required(Perm.VIEW_REPORTS)
@require_GET
def people_export(request: HttpRequest, fmt: str) -> FileResponse:
    if fmt not in services.FORMATS:
        raise Http404
    form = PeopleFilterForm(request.GET or None)
    filters = form.filters()
    found = people_list(scope_for_staff(request.user), filters)
    export = services.export_people(actor_name=request.user.get_username(), people=found, filters=filters, fmt=fmt)
    return _download_file(export)
