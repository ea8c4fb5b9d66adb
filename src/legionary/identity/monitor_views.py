"""The openings monitor's pages (issue 21): the monitor itself and its daily summary as CSV or JSON.

Open to staff who read the audit log (``Perm.VIEW_AUDIT_LOG``: security officers, and auditors,
read-only: the monitor shows what the log already holds, counted), narrowed to the legions of their
grants (``monitor.scope_of``). Like the audit viewer, every view and export is itself recorded in
the audit log with the period asked for. Thin: ``identity.monitor`` counts; this module formats.
Staff by account, people by call sign and pseudonymous id; never an identity or a reason.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from legionary.access.policy import request_permissions, request_staff, staff_required
from legionary.access.roles import Perm
from legionary.audit.services import audit_record
from legionary.identity import monitor, openings
from legionary.identity.monitor_settings import WorkingHours
from legionary.identity.views import CAUSE_NAMES, KIND_NAMES, STATE_NAMES
from legionary.reports.svg import bar_chart
from legionary.reports.tables import Cell, Column, Table

PERIOD_CHOICES = [
    (monitor.TODAY, gettext_lazy("Today")),
    (monitor.WEEK, gettext_lazy("Last 7 days")),
    (monitor.CUSTOM, gettext_lazy("Dates of your own")),
]
# The tag colour (components/tag.html) of each request state.
STATE_TAGS = {
    openings.PENDING: "flagged",
    openings.APPROVED: "new",
    openings.USED: "done",
    openings.REFUSED: "overdue",
    openings.EXPIRED: "",
    openings.IMMEDIATE: "flagged",
}


class PeriodForm(forms.Form):
    """The period selector; ``clean`` turns it into a ``monitor.Period`` or field errors."""

    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES, required=False)
    first = forms.CharField(label=gettext_lazy("First date"), required=False, max_length=10)
    last = forms.CharField(label=gettext_lazy("Last date"), required=False, max_length=10)

    def __init__(self, *args: Any, hours: WorkingHours, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hours = hours
        self.period_value: monitor.Period | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        choice = data.get("period") or (monitor.CUSTOM if data.get("first") or data.get("last") else monitor.TODAY)
        try:
            self.period_value = monitor.period_of(
                choice=choice, first=data.get("first", ""), last=data.get("last", ""), zone=self.hours.zone
            )
        except monitor.MonitorError as exc:
            self.add_error(exc.field if exc.field in ("first", "last") else "period", str(exc))
        data["period"] = choice
        return data


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def audit_url(
    *, actor: str = "", subject: str = "", since: datetime | None = None, until: datetime | None = None
) -> str:
    """The audit viewer, filtered to the entries behind a row (its times are UTC, ``until`` exclusive)."""
    query = {"actor": actor, "subject": subject}
    if since is not None:
        query["since"] = _utc(since)
    if until is not None:
        query["until"] = _utc(until)
    return reverse("audit:entries") + "?" + urlencode({k: v for k, v in query.items() if v})


def _entry_url(row: monitor.OpeningRow) -> str:
    if row.audit_index is not None:
        return reverse("audit:entry", args=[row.audit_index])
    return audit_url(actor=row.account, subject=row.person_id, since=row.at, until=row.at + timedelta(seconds=1))


def _local(moment: datetime | None, hours: WorkingHours) -> str:
    return moment.astimezone(hours.zone).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def _opening_rows(rows: list[monitor.OpeningRow], hours: WorkingHours) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        through = ""
        if row.request_state == openings.IMMEDIATE:
            through = _("opened at once (alert)")
        elif row.approver:
            through = _("approved by %(account)s") % {"account": row.approver}
        out.append(
            {
                "at": _local(row.at, hours),
                "weekday": row.at.astimezone(hours.zone).strftime("%a"),
                "account": row.account,
                "person_id": row.person_id,
                "call_sign": row.call_sign,
                "kind": KIND_NAMES.get(row.kind, row.kind),
                "through": through,
                "url": _entry_url(row),
            }
        )
    return out


def _context(figures: monitor.Monitor, *, may_decide: bool) -> dict[str, Any]:
    hours = figures.hours
    period = figures.period
    # The newest days' rows (the JSON summary holds every one).
    shown_days = figures.per_staff_day[-monitor.LIMIT :]
    chart = Table(
        id="openings-per-day",
        title=gettext_lazy("Openings per staff member per day"),
        columns=[Column("who", gettext_lazy("Day and account")), Column("openings", gettext_lazy("Openings"), True)],
        rows=[
            [Cell(f"{row.day:%Y-%m-%d} · {row.account}"), Cell(str(row.openings), row.openings)] for row in shown_days
        ],
        chart_label="who",
        chart_values=("openings",),
    )
    per_day = []
    for row in shown_days:
        start = datetime.combine(row.day, datetime.min.time(), tzinfo=hours.zone)
        per_day.append(
            {
                "day": row.day.isoformat(),
                "account": row.account,
                "openings": row.openings,
                "out_of_hours": row.out_of_hours,
                "unassigned": row.unassigned,
                "url": audit_url(actor=row.account, since=start, until=start + timedelta(days=1)),
            }
        )
    requests = []
    for r in figures.requests:
        ends = [t for t in (r.decided_at, r.used_at, r.expires_at) if t is not None]
        requests.append(
            {
                "pk": r.pk,
                "created": _local(r.created_at, hours),
                "decided": _local(r.decided_at, hours),
                "used": _local(r.used_at, hours),
                "person_id": r.person_id,
                "call_sign": r.call_sign,
                "kind": KIND_NAMES.get(r.kind, r.kind),
                "cause": CAUSE_NAMES.get(r.cause, r.cause),
                "state": r.state,
                "state_name": STATE_NAMES.get(r.state, r.state),
                "state_tag": STATE_TAGS.get(r.state, ""),
                "requester": r.requester,
                "approver": r.approver,
                "url": audit_url(subject=r.person_id, since=r.created_at, until=max(ends) + timedelta(seconds=1)),
                "review_url": reverse("openings:review", args=[r.pk]) if may_decide else "",
            }
        )
    crowded = [
        {
            "person_id": p.person_id,
            "call_sign": p.call_sign,
            "staff": p.staff,
            "openings": p.openings,
            "accounts": ", ".join(p.accounts),
            "url": audit_url(subject=p.person_id, since=period.start, until=period.end),
        }
        for p in figures.crowded
    ]
    return {
        "figures": figures,
        "period": period,
        "hours": hours,
        "chart": bar_chart(chart, chart_id="chart-openings-per-day"),
        "per_day": per_day,
        "out_of_hours": _opening_rows(figures.out_of_hours, hours),
        "unassigned": _opening_rows(figures.unassigned, hours),
        "requests": requests,
        "crowded": crowded,
        "per_day_total": len(figures.per_staff_day),
    }


def _weekday_names(hours: WorkingHours) -> list[str]:
    names = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
    return [names[day - 1] for day in sorted(hours.days)]


def _period_query(period: monitor.Period) -> str:
    if period.choice == monitor.CUSTOM:
        return urlencode({"period": monitor.CUSTOM, "first": period.first.isoformat(), "last": period.last.isoformat()})
    return urlencode({"period": period.choice})


def _period(request: HttpRequest, hours: WorkingHours) -> tuple[PeriodForm, monitor.Period | None]:
    form = PeriodForm(request.GET or {"period": monitor.TODAY}, hours=hours)
    if not form.is_valid():
        return form, None
    return form, form.period_value


def _recorded(request: HttpRequest, action: str, period: monitor.Period, scope: monitor.Scope, **extra: Any) -> None:
    audit_record(
        actor=request.user.get_username(),
        action=action,
        details={
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "legions": list(scope.legions) if scope.legions is not None else "all",
            **extra,
        },
    )


@staff_required(Perm.VIEW_AUDIT_LOG)
@never_cache
@require_GET
def monitor_view(request: HttpRequest) -> HttpResponse:
    """The monitor for the chosen period (today by default) in the viewer's legions."""
    hours = monitor.working_hours()
    form, period = _period(request, hours)
    context: dict[str, Any] = {"form": form, "hours": hours, "days": ", ".join(_weekday_names(hours))}
    context["choices"] = PERIOD_CHOICES
    context["chosen"] = form.data.get("period") or (monitor.CUSTOM if form.data.get("first") else monitor.TODAY)
    if period is None:
        return render(request, "identity/monitor.html", context, status=400)
    scope = monitor.scope_of(request_staff(request))
    figures = monitor.monitor(period=period, scope=scope, hours=hours)
    _recorded(request, "openings.monitor_viewed", period, scope)
    may_decide = Perm.APPROVE_OPENING in request_permissions(request)
    context.update(_context(figures, may_decide=may_decide))
    context["perms_approve"] = may_decide
    context.update({"query": _period_query(period), "scope": scope, "limit": monitor.distinct_staff_limit()})
    return render(request, "identity/monitor.html", context)


@staff_required(Perm.VIEW_AUDIT_LOG)
@never_cache
@require_GET
def summary_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The daily summary of the chosen period as CSV (one row per day) or JSON (the days, and the
    unusual items behind them)."""
    hours = monitor.working_hours()
    form, period = _period(request, hours)
    if period is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors + "\n", status=400, content_type="text/plain; charset=utf-8")
    scope = monitor.scope_of(request_staff(request))
    document = monitor.summary_document(period=period, scope=scope, hours=hours, with_items=fmt == "json")
    _recorded(request, "openings.summary_exported", period, scope, format=fmt)
    name = f"openings-summary-{period.first.isoformat()}-{period.last.isoformat()}.{fmt}"
    if fmt == "json":
        body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(monitor.SUMMARY_COLUMNS)
        for day in document["days"]:
            writer.writerow([day[column] for column in monitor.SUMMARY_COLUMNS])
        response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
