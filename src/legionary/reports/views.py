"""The reports pages: the pipeline dashboard, the people list, and their exports.

Responsible for reading filters, building the viewer's ``ReportScope`` (the one need-to-know rule,
through ``access.scopes``) and handing the figures, with small numbers already hidden
(``reports.tables``), to templates and to ``reports.services`` for exports. Every view needs
``Perm.VIEW_REPORTS``. Must never compute a figure itself, read a sealed identity, or show a number
that did not pass through ``Protection``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
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
from legionary.reports.selectors import (
    PEOPLE_ORDER,
    Period,
    ReportScope,
    people_list,
    pipeline_dashboard,
    scope_for_staff,
)
from legionary.reports.svg import bar_chart
from legionary.reports.tables import Protection, Section, Table, dashboard_sections, legion_name

PEOPLE_PER_PAGE = 100


@dataclass
class ShownTable:
    table: Table
    chart: SafeString


def _sections(scope: ReportScope, period: Period) -> tuple[list[Section], Protection]:
    protection = Protection(exact=scope.exact)
    return dashboard_sections(pipeline_dashboard(scope, period), protection), protection


def _download(export: services.ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@staff_required(Perm.VIEW_REPORTS)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    period = form.period()
    scope = scope_for_staff(request.user)
    sections, protection = _sections(scope, period)
    shown = [
        (section, [ShownTable(t, bar_chart(t, chart_id=f"chart-{t.id}")) for t in section.tables])
        for section in sections
    ]
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "sections": shown,
            "protection": protection,
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
    sections, _protection = _sections(scope, period)
    tables = {t.id: t for s in sections for t in s.tables}
    if table_id not in tables:
        raise Http404
    export = services.export_table(
        actor_name=request.user.get_username(), table=tables[table_id], period=period, exact=scope.exact, fmt=fmt
    )
    return _download(export)


def _heading(request: HttpRequest, period: Period, protection: Protection) -> list[str]:
    since = period.since.isoformat() if period.since else _("the first application")
    until = period.until.isoformat() if period.until else _("today")
    lines = [
        _("Pipeline summary"),
        _("%(legion)s: applications received from %(since)s until %(until)s.")
        % {"legion": legion_name(period.legion), "since": since, "until": until},
        _("Prepared for %(user)s on %(date)s.")
        % {"user": request.user.get_username(), "date": timezone.localdate().isoformat()},
    ]
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
    sections, protection = _sections(scope, period)
    heading = _heading(request, period, protection)
    if not services.is_latin1(services.summary_texts(sections, heading)) and services.unicode_font() is None:
        # No font for this language on the machine: the summary is printed in English instead.
        with translation.override("en"):
            sections, protection = _sections(scope, period)
            heading = _heading(request, period, protection)
    export = services.export_summary_pdf(
        actor_name=request.user.get_username(), sections=sections, heading=heading, period=period, exact=scope.exact
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
def people_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in services.FORMATS:
        raise Http404
    form = PeopleFilterForm(request.GET or None)
    filters = form.filters()
    found = people_list(scope_for_staff(request.user), filters)
    export = services.export_people(actor_name=request.user.get_username(), people=found, filters=filters, fmt=fmt)
    return _download(export)
