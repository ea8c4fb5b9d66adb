"""Vetting's staff pages: the work queue and the case page with its actions.

Thin: each view checks the form's shape, calls one service and redirects back to the case (or
re-renders it with the service's sentence). Out-of-scope cases answer 404. People are shown by
call sign and pseudonymous id; the identity only in the response to an unseal request with a
reason, rendered once and never stored or cached.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from legionary.access.models import Staff
from legionary.access.policy import request_permissions, staff_required
from legionary.access.roles import Perm
from legionary.access.scopes import cases_visible_to, get_in_scope_or_404
from legionary.identity import documents
from legionary.identity.models import SealedDocument
from legionary.identity.services import (
    Actor,
    IdentityError,
    NotPermitted,
    ReasonMissing,
    document_picture,
    documents_unseal,
    unseal_identity,
)
from legionary.pagination import BadCursor
from legionary.vetting import guidelines, selectors, services
from legionary.vetting.catalogue import check_type_name
from legionary.vetting.models import Case, CaseState, CheckResult, CheckType, Outcome, PolygraphOutcome, Severity


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _case_or_404(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_get(staff=request.user, case_id=case_id)
    except selectors.NotInScope:
        raise Http404 from None


def _assignable(case: Case, role: str) -> list[Staff]:
    return [
        s
        for s in Staff.objects.filter(is_active=True, grants__role=role).distinct().order_by("username")
        if services.holds_role(s, role, case.legion)
    ]


def _case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    today = timezone.localdate()
    checks = selectors.case_checks(case)
    perms = request_permissions(request)
    roles = {c.check_type.role for c in checks}
    return {
        "case": case,
        "checks": [
            {"check": c, "name": check_type_name(c.check_type), "overdue": selectors.is_overdue(c, today)}
            for c in checks
        ],
        "assignable": {role: _assignable(case, role) for role in roles} if Perm.ASSIGN_CHECKS in perms else {},
        "findings": list(case.findings.select_related("source_check__check_type")),
        "decisions": selectors.case_decisions(case),
        "history": selectors.case_history(case),
        "guidelines": guidelines.GUIDELINES,
        "factors": list(guidelines.WHOLE_PERSON_FACTORS.items()),
        "results": CheckResult.choices,
        "polygraph_outcomes": PolygraphOutcome.choices,
        "severities": Severity.choices,
        "outcomes": Outcome.choices,
        "check_types": [(t.slug, check_type_name(t)) for t in CheckType.objects.order_by("slug")],
        "can": {p.name: (p in perms) for p in Perm},
        "me": request.user.pk,
    }


def _after(request: HttpRequest, case_id: int, call: Any) -> HttpResponse:
    """Runs a service call; success → back to the case page, refusal → the case page with the reason."""
    try:
        call()
    except selectors.NotInScope:
        raise Http404 from None
    except services.NotAllowed:
        raise PermissionDenied from None
    except (services.VettingError, IdentityError) as exc:
        case = _case_or_404(request, case_id)
        status = 409 if isinstance(exc, services.StaleCase) else 400
        return render(request, "vetting/case.html", {**_case_context(request, case), "error": str(exc)}, status=status)
    return redirect("vetting:case", case_id=case_id)


@staff_required(Perm.VIEW_CASES)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    after = {s: request.GET[f"{s}_after"] for s in selectors.QUEUE_SECTIONS if request.GET.get(f"{s}_after")}
    try:
        work = selectors.work_queue(staff=request.user, perms=request_permissions(request), after=after)
    except BadCursor:
        return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    today = timezone.localdate()
    checks = [
        {"check": c, "name": check_type_name(c.check_type), "overdue": selectors.is_overdue(c, today)}
        for c in work.my_checks
    ]
    more = {section: "?" + urlencode({f"{section}_after": cursor}) for section, cursor in work.next.items()}
    # Up to 250 rows: state labels looked up once (``get_state_display`` rebuilds the choices on
    # every call) and case links made from a prefix reversed once, not a reverse per row.
    labels = {value: str(label) for value, label in CaseState.choices}
    context = {
        "work": work,
        "my_checks": checks,
        "more": more,
        "case_base": reverse("vetting:case", args=[0]).removesuffix("0/"),
        "to_decide": [(case, labels.get(case.state, case.state)) for case in work.to_decide],
        "flagged": [(case, labels.get(case.state, case.state)) for case in work.flagged],
    }
    return render(request, "vetting/queue.html", context)


@staff_required(Perm.VIEW_CASES)
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return render(request, "vetting/case.html", _case_context(request, _case_or_404(request, case_id)))


@staff_required(Perm.ASSIGN_CHECKS)
@require_POST
def case_start(request: HttpRequest, case_id: int) -> HttpResponse:
    version = _int(request.POST.get("version"))
    return _after(
        request, case_id, lambda: services.vetting_start(case_id=case_id, actor=request.user, expected_version=version)
    )


@staff_required(Perm.ASSIGN_CHECKS)
@require_POST
def check_assign(request: HttpRequest, case_id: int, check_id: int) -> HttpResponse:
    _case_or_404(request, case_id)
    assignee = Staff.objects.filter(pk=_int(request.POST.get("assignee")) or 0, is_active=True).first()
    version = _int(request.POST.get("version"))

    def call() -> None:
        if assignee is None:
            raise services.VettingError(_("Choose who does this check."))
        services.check_assign(check_id=check_id, assignee=assignee, actor=request.user, expected_version=version)

    return _after(request, case_id, call)


@staff_required(Perm.RECORD_CHECK)
@require_POST
def check_record(request: HttpRequest, case_id: int, check_id: int) -> HttpResponse:
    _case_or_404(request, case_id)
    post = request.POST
    version = _int(post.get("version"))

    def call() -> None:
        polygraph = None
        if post.get("polygraph_outcome"):
            try:
                examined_on = datetime.date.fromisoformat(post.get("examined_on", ""))
            except ValueError:
                raise services.VettingError(_("Give the examination date as YYYY-MM-DD.")) from None
            areas = [a for a in post.get("question_areas", "").splitlines() if a.strip()]
            polygraph = services.PolygraphRecord(
                examined_on=examined_on, question_areas=areas, outcome=post["polygraph_outcome"]
            )
        services.check_record(
            check_id=check_id,
            actor=request.user,
            result=post.get("result", ""),
            note=post.get("note", ""),
            polygraph=polygraph,
            expected_version=version,
        )

    return _after(request, case_id, call)


@staff_required(Perm.RECORD_CHECK)
@require_POST
def finding_add(request: HttpRequest, case_id: int) -> HttpResponse:
    post = request.POST
    return _after(
        request,
        case_id,
        lambda: services.finding_record(
            case_id=case_id,
            actor=request.user,
            guideline=post.get("guideline", ""),
            disqualifying_condition=post.get("disqualifying_condition", ""),
            mitigating_conditions=post.get("mitigating_conditions", ""),
            severity=post.get("severity", ""),
            source_check_id=_int(post.get("source_check") or None),
            expected_version=_int(post.get("version")),
        ),
    )


@staff_required(Perm.ADJUDICATE)
@require_POST
def decide(request: HttpRequest, case_id: int) -> HttpResponse:
    post = request.POST
    factors = {key: post.get(f"factor_{key}", "") for key in guidelines.WHOLE_PERSON_FACTORS}
    return _after(
        request,
        case_id,
        lambda: services.case_decide(
            case_id=case_id,
            actor=request.user,
            outcome=post.get("outcome", ""),
            rationale=post.get("rationale", ""),
            factors=factors,
            expected_version=_int(post.get("version")),
        ),
    )


@staff_required(Perm.ENTER_APPEAL)
@require_POST
def appeal(request: HttpRequest, case_id: int) -> HttpResponse:
    post = request.POST
    return _after(
        request,
        case_id,
        lambda: services.appeal_enter(
            case_id=case_id,
            actor=request.user,
            grounds=post.get("grounds", ""),
            expected_version=_int(post.get("version")),
        ),
    )


@staff_required(Perm.UNSEAL_IDENTITY)
@require_POST
@never_cache
def unseal(request: HttpRequest, case_id: int) -> HttpResponse:
    # The cases whose identity this staff member may open: the need-to-know rule for unsealing.
    case = get_in_scope_or_404(cases_visible_to(request.user, perm=Perm.UNSEAL_IDENTITY), pk=case_id)
    try:
        identity = unseal_identity(
            person=case.person,
            actor=Actor(request.user.get_username(), request.user),
            reason=request.POST.get("reason", ""),
        )
    except NotPermitted:
        raise PermissionDenied from None
    except IdentityError as exc:
        return render(request, "vetting/case.html", {**_case_context(request, case), "error": str(exc)}, status=400)
    # Rendered once in this response only: not stored, not put in the session, not cached.
    return render(request, "vetting/case.html", {**_case_context(request, case), "identity": identity})


# --- documents: opened like an identity, shown as pictures only ----------------------------------


def _document_refusal(code: str) -> str:
    """The staff sentence for a document the sandbox would not turn into pictures."""
    if code in ("too-large", "limits"):
        return _(
            "This document is not shown: it expands beyond the limits when opened (a decompression bomb or "
            "a far too large scan). Ask the applicant for a new scan."
        )
    return _("This document is not shown: it is damaged or is not the kind of file it claims to be.")


@staff_required(Perm.UNSEAL_IDENTITY)
@require_http_methods(["GET", "POST"])
@never_cache
def documents_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's uploaded documents: a reason first (POST, audited), then each page as a picture."""
    case = _case_or_404(request, case_id)
    listed = list(SealedDocument.objects.filter(person=case.person).order_by("created_at", "id"))
    context: dict[str, Any] = {"case": case, "listed": listed}
    if request.method != "POST":
        return render(request, "vetting/documents.html", context)
    try:
        opening = documents_unseal(
            person=case.person,
            actor=Actor(request.user.get_username(), request.user),
            reason=request.POST.get("reason", ""),
        )
    except NotPermitted:
        raise Http404 from None
    except ReasonMissing:
        error = _("Write the reason for opening these documents (at least a few words).")
        return render(request, "vetting/documents.html", {**context, "error": error}, status=400)
    except IdentityError as exc:
        return render(request, "vetting/documents.html", {**context, "error": str(exc)}, status=400)
    shown = []
    for number, item in enumerate(opening.documents, start=1):
        kind = {documents.PDF: "PDF", documents.JPEG: "JPEG", documents.PNG: "PNG"}.get(item.document.content_type, "")
        pages = [
            {
                "url": reverse("vetting:document-page", args=[case.pk, item.document.id, opening.entry, page]),
                "alt": _("Document %(n)s (%(kind)s), page %(page)s of %(pages)s")
                % {"n": number, "kind": kind, "page": page + 1, "pages": item.pages},
            }
            for page in range(item.pages)
        ]
        shown.append(
            {
                "number": number,
                "kind": kind,
                "document": item.document,
                "pages": pages,
                "refusal": _document_refusal(item.refusal) if item.refusal else "",
            }
        )
    return render(request, "vetting/documents.html", {**context, "shown": shown})


@staff_required(Perm.UNSEAL_IDENTITY)
@require_GET
def document_page(request: HttpRequest, case_id: int, document_id: str, opening: int, page: int) -> HttpResponse:
    """One page of a document as a PNG made in the sandbox, under the audit entry of its opening."""
    case = _case_or_404(request, case_id)
    document = SealedDocument.objects.filter(pk=document_id, person=case.person).first()
    if document is None:
        raise Http404
    try:
        picture = document_picture(
            document=document, actor=Actor(request.user.get_username(), request.user), opening=opening, page=page
        )
    except NotPermitted:
        raise Http404 from None
    except documents.DocumentRefused as exc:
        return HttpResponse(_document_refusal(exc.code), status=422, content_type="text/plain; charset=utf-8")
    except IdentityError as exc:
        return HttpResponse(str(exc), status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(picture, content_type="image/png")
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = f'inline; filename="document-{page + 1}.png"'
    return response
