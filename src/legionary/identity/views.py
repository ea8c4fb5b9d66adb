"""Break-glass openings in the interface (identity.openings): the requester's page saying his opening
is held (and, once approved, where to open it), and the security officer's list and decision.

Thin: the rules (who may decide, expiry, one opening per approval) are ``openings.decide``'s and
``openings.admit``'s. A request is shown by call sign and pseudonymous id, with its reason; never
an identity.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from legionary.access.policy import staff_required
from legionary.access.roles import Perm, Role, ScopeKind
from legionary.access.scopes import grant_rows
from legionary.access.stepup import APPROVAL, step_up
from legionary.identity import openings
from legionary.identity.models import OpeningRequest

KIND_NAMES = {
    openings.IDENTITY: gettext_lazy("Identity"),
    openings.KIN: gettext_lazy("Next of kin"),
    openings.DOCUMENTS: gettext_lazy("Documents"),
}
CAUSE_NAMES = {
    openings.UNASSIGNED: gettext_lazy("Not assigned to the requester"),
    openings.ALLOWANCE: gettext_lazy("Past the requester's daily allowance"),
}
STATE_NAMES = {
    openings.PENDING: gettext_lazy("Awaiting approval"),
    openings.APPROVED: gettext_lazy("Approved"),
    openings.REFUSED: gettext_lazy("Refused"),
    openings.USED: gettext_lazy("Used"),
    openings.EXPIRED: gettext_lazy("Expired"),
    openings.IMMEDIATE: gettext_lazy("Opened at once (alert)"),
}


def open_url(request: OpeningRequest) -> str:
    """Where the requester opens what was approved: the case (identity, documents) or the unit's
    person page (next of kin)."""
    from legionary.vetting.models import Case

    try:
        if request.kind == openings.KIN:
            return reverse("units:person", args=[request.person_id])
        case = Case.objects.filter(person_id=request.person_id).values_list("pk", flat=True).first()
        if case is None:
            return ""
        if request.kind == openings.DOCUMENTS:
            return reverse("vetting:documents", args=[case])
        return reverse("vetting:case", args=[case])
    except NoReverseMatch:
        return ""


def describe(request: OpeningRequest) -> dict[str, object]:
    expired = request.state in (openings.PENDING, openings.APPROVED) and request.expires_at <= timezone.now()
    state = openings.EXPIRED if expired else request.state
    return {
        "held": request,
        "kind": KIND_NAMES.get(request.kind, request.kind),
        "cause": CAUSE_NAMES.get(request.cause, request.cause),
        "state": state,
        "state_name": STATE_NAMES.get(state, state),
        "open_url": open_url(request) if state == openings.APPROVED else "",
    }


def _decidable(staff: Any) -> Q:
    """Requests of the legions where ``staff`` is a security officer (all for a system-wide grant)."""
    # The grants as scopes read them (inside My work's gathering, read once for every section).
    grants = [(kind, ref) for role, kind, ref in grant_rows(staff) if role == Role.SECURITY_OFFICER]
    if any(kind == ScopeKind.SYSTEM for kind, _ref in grants):
        return Q()
    legions = [ref for kind, ref in grants if kind == ScopeKind.LEGION]
    return Q(person__legion__in=legions)


@staff_required(Perm.APPROVE_OPENING)
@require_GET
def requests_list(request: HttpRequest) -> HttpResponse:
    """Break-glass requests awaiting a decision, and the latest decided, of this officer's legions."""
    mine = OpeningRequest.objects.filter(_decidable(request.user)).select_related("person", "requester", "decided_by")
    pending = [describe(r) for r in mine.filter(state=openings.PENDING).order_by("created_at")[:100]]
    recent = [describe(r) for r in mine.exclude(state=openings.PENDING).order_by("-created_at")[:50]]
    return render(request, "identity/requests.html", {"pending": pending, "recent": recent})


@staff_required(Perm.APPROVE_OPENING)
@require_http_methods(["GET", "POST"])
@step_up(APPROVAL, fields=("decision", "note"), when=lambda request: request.POST.get("decision") == "approve")
def request_review(request: HttpRequest, request_id: int) -> HttpResponse:
    """One request: who asks to open whom and why; approve or refuse (never one's own)."""
    held = (
        OpeningRequest.objects.filter(_decidable(request.user))
        .select_related("person", "requester", "decided_by")
        .filter(pk=request_id)
        .first()
    )
    if held is None:
        raise Http404
    context = {**describe(held), "own": held.requester_id == request.user.pk}
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        if decision not in ("approve", "refuse"):
            context["error"] = _("Choose whether to approve or refuse the request.")
            return render(request, "identity/review.html", context, status=400)
        try:
            openings.decide(
                request_pk=held.pk,
                approver=request.user,
                approve=decision == "approve",
                note=request.POST.get("note", ""),
            )
        except openings.OpeningError as exc:
            held.refresh_from_db()
            context = {**describe(held), "own": context["own"], "error": _translated(str(exc))}
            return render(request, "identity/review.html", context, status=409)
        messages.success(
            request, _("Approved: the requester may open it once.") if decision == "approve" else _("Refused.")
        )
        return redirect("openings:list")
    return render(request, "identity/review.html", context)


@staff_required(Perm.VIEW_DASHBOARD)
@require_GET
def request_held(request: HttpRequest, request_id: int) -> HttpResponse:
    """The requester's page: his opening is held for approval (or, later, approved: open it)."""
    held = OpeningRequest.objects.select_related("person").filter(pk=request_id, requester_id=request.user.pk).first()
    if held is None:
        raise Http404
    return render(request, "identity/held.html", describe(held))


def _translated(message: str) -> str:
    """The staff sentence for a refusal of ``openings.decide``."""
    return {
        "You cannot approve or refuse your own request: another security officer must.": _(
            "You cannot approve or refuse your own request: another security officer must."
        ),
        "Only a security officer of this person's legion may decide this request.": _(
            "Only a security officer of this person's legion may decide this request."
        ),
        "This request has already been decided.": _("This request has already been decided."),
        "This request expired before it was decided; it opens nothing.": _(
            "This request expired before it was decided; it opens nothing."
        ),
    }.get(message, message)
