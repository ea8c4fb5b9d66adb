"""Units' web pages: the tree in scope, a unit's roster and its CSV, people by call sign, a service record.

Thin: reads through ``units.selectors``, changes through ``units.services``; ``Http404`` from the
scope helper answers anything out of scope, ``UnitsError`` becomes a message on the page. Every
view carries exactly one access decorator.

Must never: show or look up a name (people appear by call sign and pseudonymous id), or write a
model directly.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from legionary.access import mywork
from legionary.access.policy import request_permissions, request_staff, staff_required
from legionary.access.roles import Perm
from legionary.access.scopes import get_in_scope_or_404, units_visible_to
from legionary.access.stepup import KIN, step_up
from legionary.identity.models import PersonStatus
from legionary.identity.openings import OpeningError, OpeningHeld, watermark_text
from legionary.identity.services import IdentityError
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.pagination import BadCursor
from legionary.units import selectors, services
from legionary.units.filters import PeopleFilters, RosterFilters
from legionary.units.forms import StatusForm
from legionary.units.models import Billet, BilletRole, OverrideRequest, UnitKind


@staff_required(Perm.VIEW_UNITS)
@require_GET
def unit_tree(request: HttpRequest) -> HttpResponse:
    try:
        page = selectors.units_page(staff=request_staff(request), after=request.GET.get("after"))
    except BadCursor:
        return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    top = min((u.depth for u in page.rows), default=0)
    # Indentation as text: the CSP forbids inline styles, and the nesting must read without CSS.
    rows = [(u, "· " * (u.depth - top)) for u in page.rows]
    return render(request, "units/unit_tree.html", {"rows": rows, "count": len(rows), "next": page.next})


@staff_required(Perm.VIEW_UNITS)
@require_GET
def unit_roster(request: HttpRequest, unit_id: int) -> HttpResponse:
    staff = request_staff(request)
    unit = get_in_scope_or_404(units_visible_to(staff).select_related("overseer", "parent"), pk=unit_id)
    form = RosterFilters(request)
    if not form.is_valid():
        roster = selectors.Roster(unit=unit, lines=[])
    else:
        try:
            roster = selectors.roster(
                staff=staff,
                unit=unit,
                after=request.GET.get("after"),
                before=request.GET.get("before"),
                limit=selectors.ROSTER_SCREEN,
                vacant_only=bool(form.applied.get("vacant")),
                role=form.applied.get("role", ""),
                holder_status=form.applied.get("status", ""),
            )
        except BadCursor:
            return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    perms = request_permissions(request)
    may_manage = (
        Perm.MANAGE_UNITS in perms and units_visible_to(staff, perm=Perm.MANAGE_UNITS).filter(pk=unit.pk).exists()
    )
    context = {
        "unit": unit,
        "roster": roster,
        # Person links by a prefix reversed once, not a reverse per line.
        "person_base": reverse("units:person", args=["-"]).removesuffix("-/"),
        # Vacant lines link to their assignment page for staff who may fill this unit's billets.
        "fill_base": reverse("units:billet-assign", args=[0]).removesuffix("0/assign")
        if Perm.ASSIGN_BILLETS in perms
        and units_visible_to(staff, perm=Perm.ASSIGN_BILLETS).filter(pk=unit.pk).exists()
        else "",
        "may_manage": may_manage,
        # The unit's own vacant billets on this page, each with its assignment form (managers only).
        "vacant_here": [line for line in roster.lines if not line.filled and line.unit_id == unit.pk]
        if may_manage
        else [],
        "overrides": selectors.pending_overrides(
            units=units_visible_to(staff, perm=Perm.MANAGE_UNITS).filter(path__within=unit.path)
        )
        if may_manage
        else [],
        "billet_roles": BilletRole.choices,
        "vacant_only": bool(form.applied.get("vacant")),
        **form.context(),
        "next_url": form.url(after=roster.next) if roster.next else "",
        "previous_url": form.url(before=roster.previous) if roster.previous else "",
        "refused": not form.is_valid(),
        "legion_name": str(KNOWN_LEGIONS.get(unit.legion, unit.legion)),
        "kinds": UnitKind.choices,
    }
    return render(request, "units/unit_roster.html", context, status=400 if context["refused"] else 200)


@staff_required(Perm.VIEW_UNITS)
@require_GET
def roster_csv(request: HttpRequest, unit_id: int) -> HttpResponse:
    filename, text = services.roster_export(actor=request_staff(request), unit_id=unit_id)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _back_to_unit(unit_id: int) -> HttpResponse:
    return redirect("units:unit", unit_id=unit_id)


@staff_required(Perm.MANAGE_UNITS)
@require_POST
def unit_move(request: HttpRequest, unit_id: int) -> HttpResponse:
    staff = request_staff(request)
    get_in_scope_or_404(units_visible_to(staff, perm=Perm.MANAGE_UNITS), pk=unit_id)
    parent = request.POST.get("parent", "")
    if not parent.isdigit():
        return HttpResponse(_("Give the id of the new parent unit."), status=400)
    try:
        services.unit_move(actor=staff, unit_id=unit_id, new_parent_id=int(parent))
        messages.success(request, _("Unit moved."))
    except services.UnitsError as exc:
        messages.error(request, str(exc))
    return _back_to_unit(unit_id)


@staff_required(Perm.MANAGE_UNITS)
@require_POST
def unit_add(request: HttpRequest, unit_id: int) -> HttpResponse:
    staff = request_staff(request)
    parent = get_in_scope_or_404(units_visible_to(staff, perm=Perm.MANAGE_UNITS), pk=unit_id)
    kind, name = request.POST.get("kind", ""), request.POST.get("name", "")
    if not kind or not name.strip():
        return HttpResponse(_("Give the new unit's kind and name."), status=400)
    try:
        unit = services.unit_create(
            actor=staff,
            kind=kind,
            name=name,
            overseer=parent.overseer,
            parent_id=parent.pk,
            commander_call_sign=request.POST.get("commander_call_sign", ""),
        )
    except services.UnitsError as exc:
        messages.error(request, str(exc))
        return _back_to_unit(parent.pk)
    messages.success(request, _("Unit created."))
    return _back_to_unit(unit.pk)


@staff_required(Perm.MANAGE_UNITS)
@require_POST
def billet_add(request: HttpRequest, unit_id: int) -> HttpResponse:
    staff = request_staff(request)
    get_in_scope_or_404(units_visible_to(staff, perm=Perm.MANAGE_UNITS), pk=unit_id)
    role = request.POST.get("role", "")
    if not role:
        return HttpResponse(_("Choose the billet's role."), status=400)
    codes = request.POST.get("qualifications", "").replace(",", " ").split()
    try:
        services.billet_create(
            actor=staff, unit_id=unit_id, role=role, title=request.POST.get("title", ""), qualification_codes=codes
        )
        messages.success(request, _("Billet added."))
    except services.UnitsError as exc:
        messages.error(request, str(exc))
    return _back_to_unit(unit_id)


@staff_required(Perm.ASSIGN_BILLETS)
@require_http_methods(["GET", "POST"])
def billet_assign(request: HttpRequest, billet_id: int) -> HttpResponse:
    """Fills a vacant billet: the people awaiting assignment in its legion (longest waiting first, each
    with what he lacks for it, none chosen), or a pseudonymous id typed on the roster."""
    staff = request_staff(request)
    billet = get_in_scope_or_404(
        Billet.objects.filter(unit__in=units_visible_to(staff, perm=Perm.ASSIGN_BILLETS)).select_related("unit"),
        pk=billet_id,
    )
    try:
        candidates = selectors.candidates_for(staff=staff, billet=billet, after=request.GET.get("after"))
    except BadCursor:
        return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    errors: dict[str, str] = {}
    person_id, reason = request.POST.get("person", "").strip(), request.POST.get("override_reason", "").strip()
    if request.method == "POST":
        if not person_id:
            errors["person"] = _("Choose the person to assign.")
        else:
            try:
                if reason:
                    services.override_request(actor=staff, person_id=person_id, billet_id=billet.pk, reason=reason)
                    messages.success(request, _("Override requested; another staff member must approve it."))
                else:
                    assignment = services.billet_assign(actor=staff, person_id=person_id, billet_id=billet.pk)
                    mywork.forget_counts(staff.pk)  # his badge of people awaiting assignment, counted again
                    messages.success(
                        request,
                        _("%(call_sign)s assigned: %(role)s, %(unit)s.")
                        % {
                            "call_sign": assignment.person.call_sign,
                            "role": billet.get_role_display(),
                            "unit": billet.unit.name,
                        },
                    )
                return _back_to_unit(billet.unit_id)
            except services.QualificationsMissing as exc:
                errors["override_reason"] = str(exc)
            except services.UnitsError as exc:
                errors["person"] = str(exc)
    context = {
        "billet": billet,
        "required": list(billet.qualifications.order_by("code").values_list("code", flat=True)),
        "candidates": candidates.rows,
        "next_url": "?" + urlencode({"after": candidates.next}) if candidates.next else None,
        "errors": errors,
        "chosen": person_id,
        "reason": request.POST.get("override_reason", ""),
    }
    return render(request, "units/billet_assign.html", context, status=400 if errors else 200)


@staff_required(Perm.MANAGE_UNITS)
@require_POST
def override_approve(request: HttpRequest, override_id: int) -> HttpResponse:
    staff = request_staff(request)
    pending = get_in_scope_or_404(
        OverrideRequest.objects.filter(billet__unit__in=units_visible_to(staff, perm=Perm.MANAGE_UNITS)),
        pk=override_id,
    )
    try:
        services.override_approve(actor=staff, request_id=pending.pk)
        messages.success(request, _("Override approved; the person is assigned."))
    except services.UnitsError as exc:
        messages.error(request, str(exc))
    return redirect("units:unit", unit_id=pending.billet.unit_id)


@staff_required(Perm.VIEW_UNITS)
@require_GET
def people_list(request: HttpRequest) -> HttpResponse:
    """People in scope by call sign, filtered by call sign or id, status, legion and unit; keyset pages.

    The filters only narrow the scope; a bad one is shown at its field (400) with no rows.
    """
    form = PeopleFilters(request)
    page = None
    if form.is_valid():
        applied = form.applied
        try:
            page = selectors.people_page(
                staff=request_staff(request),
                query=applied.get("q", ""),
                status=applied.get("status", ""),
                legion=applied.get("legion", ""),
                unit_path=form.unit_path(),
                after=request.GET.get("after"),
                before=request.GET.get("before"),
            )
        except BadCursor:
            return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    rows = page.rows if page is not None else []
    units = selectors.latest_unit_names(rows)
    labels = {value: str(label) for value, label in PersonStatus.choices}
    context = {
        "page": page,
        # Status labels looked up once, not by ``get_status_display`` per row (it rebuilds the choices).
        "people": [(p, units.get(p.pk, ""), labels.get(p.status, p.status)) for p in rows],
        "shown": len(rows),
        "person_base": reverse("units:person", args=["0"]).removesuffix("0/"),
        **form.context(page),
    }
    return render(request, "units/people_list.html", context, status=200 if page is not None else 400)


def _person_page(
    request: HttpRequest, record: selectors.ServiceRecord, form: StatusForm, *, status: int = 200
) -> HttpResponse:
    perms = request_permissions(request)
    context = {
        "record": record,
        "may_record_status": Perm.RECORD_SERVICE_STATUS in perms,
        "may_contact_kin": Perm.CONTACT_NEXT_OF_KIN in perms,
        "status_form": form,
        "status_label": dict(PersonStatus.choices).get(record.person.status, record.person.status),
    }
    return render(request, "units/person_record.html", context, status=status)


@staff_required(Perm.VIEW_UNITS)
@require_GET
def person_record(request: HttpRequest, person_id: str) -> HttpResponse:
    record = selectors.service_record(staff=request_staff(request), person_id=person_id)
    form = StatusForm(current=record.person.status, initial={"effective_on": timezone.localdate()})
    return _person_page(request, record, form)


@staff_required(Perm.RECORD_SERVICE_STATUS)
@require_POST
def person_status(request: HttpRequest, person_id: str) -> HttpResponse:
    """Records a status change; one that ends service (discharged, deceased) is first confirmed on its own page."""
    staff = request_staff(request)
    # Scope first, so that an out-of-scope person is 404 whatever the form holds.
    record = selectors.service_record(staff=staff, person_id=person_id)
    form = StatusForm(request.POST, current=record.person.status)
    if not form.is_valid():
        return _person_page(request, record, form, status=400)
    data = form.cleaned_data
    label = dict(PersonStatus.choices)[data["status"]]
    if form.needs_confirmation and request.POST.get("confirmed") != "yes":
        context = {"record": record, "form": form, "label": label, "data": data}
        return render(request, "units/status_confirm.html", context)
    try:
        services.person_status_change(
            actor=staff,
            person_id=person_id,
            status=data["status"],
            effective_on=data["effective_on"],
            reason=data["reason"],
        )
    except services.UnitsError as exc:
        form.add_error(None, str(exc))
        return _person_page(request, record, form, status=400)
    messages.success(
        request,
        _("%(call_sign)s: status recorded as “%(status)s” from %(day)s.")
        % {"call_sign": record.person.call_sign, "status": label, "day": date_format(data["effective_on"])},
    )
    return redirect("units:person", person_id=person_id)


@staff_required(Perm.ASSIGN_BILLETS)
@require_http_methods(["GET", "POST"])
def person_assign(request: HttpRequest, person_id: str) -> HttpResponse:
    """Puts a trained (or serving) person into one of the vacant billets the staff member may fill."""
    staff = request_staff(request)
    person = selectors.assignment_candidate(staff=staff, person_id=person_id)
    try:
        vacant = selectors.vacant_for(staff=staff, person=person, after=request.GET.get("after"))
    except BadCursor:
        return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    errors: dict[str, str] = {}
    if request.method == "POST":
        billet = request.POST.get("billet", "")
        reason = request.POST.get("override_reason", "").strip()
        if not billet.isdigit():
            errors["billet"] = _("Choose the billet.")
        else:
            try:
                if reason:
                    services.override_request(actor=staff, person_id=person.pk, billet_id=int(billet), reason=reason)
                    messages.success(
                        request,
                        _("Override for %(call_sign)s requested; another staff member must approve it.")
                        % {"call_sign": person.call_sign},
                    )
                    return redirect("units:person-assign", person_id=person.pk)
                assignment = services.billet_assign(actor=staff, person_id=person.pk, billet_id=int(billet))
            except services.QualificationsMissing as exc:
                errors["override_reason"] = str(exc)
            except services.UnitsError as exc:
                errors["billet"] = str(exc)
            else:
                mywork.forget_counts(staff.pk)  # his badge of people awaiting assignment, counted again
                messages.success(
                    request,
                    _("%(call_sign)s assigned: %(role)s, %(unit)s.")
                    % {
                        "call_sign": person.call_sign,
                        "role": assignment.billet.get_role_display(),
                        "unit": assignment.billet.unit.name,
                    },
                )
                return redirect("units:person", person_id=person.pk)
    context = {
        "person": person,
        "vacant": vacant.rows,
        "next_url": "?" + urlencode({"after": vacant.next}) if vacant.next else None,
        "errors": errors,
        "chosen": request.POST.get("billet", "") if request.method == "POST" else "",
        "reason": request.POST.get("override_reason", "") if request.method == "POST" else "",
    }
    return render(request, "units/person_assign.html", context, status=400 if errors else 200)


@staff_required(Perm.CONTACT_NEXT_OF_KIN)
@require_POST
@step_up(KIN)  # the code again first when the last one is old (issue 21)
def next_of_kin(request: HttpRequest, person_id: str) -> HttpResponse:
    staff = request_staff(request)
    record = selectors.service_record(staff=staff, person_id=person_id)
    try:
        contacts = services.next_of_kin_open(actor=staff, person_id=person_id, reason=request.POST.get("reason", ""))
    except OpeningHeld as held:  # break-glass (issue 21): the requester's "held for approval" page
        return redirect("openings:held", request_id=held.request.pk)
    except (services.UnitsError, IdentityError, OpeningError) as exc:
        messages.error(request, str(exc))
        return redirect("units:person", person_id=person_id)
    shown = {"person": record.person, "contacts": contacts, "watermark": watermark_text(staff.get_username())}
    response = render(request, "units/next_of_kin.html", shown)
    # Opened contacts must not linger in a browser or proxy cache.
    response["Cache-Control"] = "no-store"
    return response
