"""Vetting's staff pages: the work queue and the case page with its actions.

Thin: each view checks the form's shape, calls one service and redirects back to the case (or
re-renders it with the service's sentence). Out-of-scope cases answer 404. People are shown by
call sign and pseudonymous id; the identity only in the response to an unseal request with a
reason, rendered once and never stored or cached.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from legionary.access.memo import remembering
from legionary.access.models import Staff
from legionary.access.policy import request_permissions, staff_required
from legionary.access.roles import Perm
from legionary.access.scopes import cases_visible_to, get_in_scope_or_404
from legionary.access.stepup import DOCUMENTS, IDENTITY, KIN, step_up
from legionary.identity import documents
from legionary.identity.models import SealedDocument, SealedRecord
from legionary.identity.openings import OpeningError, OpeningHeld, watermark_text
from legionary.identity.services import (
    Actor,
    IdentityError,
    NotPermitted,
    ReasonMissing,
    document_picture,
    documents_unseal,
    unseal_identity_with_records,
)
from legionary.pagination import BadCursor
from legionary.vetting import guidelines, history, presenters, screening, selectors, services, work
from legionary.vetting.catalogue import check_type_name
from legionary.vetting.filters import CaseFilters
from legionary.vetting.models import Case, CheckResult, FlagResolution, Outcome, PolygraphOutcome, Severity


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


def _case_context(request: HttpRequest, case: Case, *, opened: bool = False) -> dict[str, Any]:
    """The case page's values. ``opened``: the page that shows an identity (or next of kin) once,
    which carries the checks and findings the opening serves but not the possible duplicates, list
    hits, decisions or history (they stay on the case page, one link away): it is not read for them."""
    today = timezone.localdate()
    checks = selectors.case_checks_shown(case)
    perms = request_permissions(request)
    ci_officer = (
        not opened and Perm.RECORD_CHECK in perms and services.holds_role(request.user, "ci_officer", case.legion)
    )
    return {
        "case": case,
        "opened": opened,
        "checks": [
            {"check": c, "name": check_type_name(c.check_type), "overdue": selectors.is_overdue(c, today)}
            for c in checks
        ],
        "open_checks": any(not c.result for c in checks),
        "findings": list(case.findings.select_related("source_check__check_type")),
        "decisions": [] if opened else selectors.case_decisions(case),
        "flags": selectors.case_flags(case) if not opened and (case.flagged or ci_officer) else [],
        "may_resolve_flags": ci_officer,
        # The possible tier and the list hits: for counter-intelligence only (need to know).
        "possible": selectors.case_possible(case) if ci_officer else [],
        "hits": screening.hits_for_person(case.person_id) if ci_officer else [],
        "profile": presenters.profile_rows(case.profile or {}),
        "timeline": [] if opened else history.case_timeline(case),
        "guidelines": guidelines.GUIDELINES,
        "factors": list(guidelines.WHOLE_PERSON_FACTORS.items()),
        "results": CheckResult.choices,
        "polygraph_outcomes": PolygraphOutcome.choices,
        "severities": Severity.choices,
        "outcomes": Outcome.choices,
        "can": {p.name: (p in perms) for p in Perm},
        "me": request.user.pk,
    }


def _render_case(
    request: HttpRequest,
    case: Case,
    *,
    status: int = 200,
    response_extra: dict[str, Any] | None = None,
    opened: bool = False,
) -> HttpResponse:
    context = {**_case_context(request, case, opened=opened), **(response_extra or {})}
    return render(request, "vetting/case.html", context, status=status)


def _after(request: HttpRequest, case_id: int, call: Any, *, form: str, success: str) -> HttpResponse:
    """Runs a service call. Success: back to the case page (post/redirect/get) with a banner.
    Refusal: the case page again with the reason at the top and at the form, and every value typed kept."""
    try:
        call()
    except selectors.NotInScope:
        raise Http404 from None
    except services.NotAllowed:
        raise PermissionDenied from None
    except (services.VettingError, IdentityError) as exc:
        case = _case_or_404(request, case_id)
        status = 409 if isinstance(exc, services.StaleCase) else 400
        kept = {key: request.POST.get(key, "") for key in request.POST if key != "csrfmiddlewaretoken"}
        return _render_case(
            request, case, status=status, response_extra={"error": str(exc), "error_form": form, "kept": kept}
        )
    messages.success(request, success)
    return redirect("vetting:case", case_id=case_id)


@staff_required(Perm.VIEW_CASES)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """The vetting side of "My work": what waits for this staff member, section by section."""
    sections = work.my_work(request.user, request_permissions(request))
    return render(request, "vetting/queue.html", {"sections": sections})


@staff_required(Perm.VIEW_CASES)
@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    """Every case the viewer may see, filtered by state, legion, assignee, overdue; keyset pages.

    Filters only narrow the viewer's scope; a bad one is shown at its field (400) with no rows.
    """
    form = CaseFilters(request)
    page = None
    if form.is_valid():
        try:
            page = selectors.cases_filtered(
                staff=request.user,
                filters=form.case_filter(request.user.pk),
                after=request.GET.get("after") or None,
                before=request.GET.get("before") or None,
            )
        except BadCursor:
            return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    context = {
        "page": page,
        **form.context(page),
        "case_base": reverse("vetting:case", args=[0]).removesuffix("0/"),
    }
    return render(request, "vetting/cases.html", context, status=200 if page is not None else 400)


@staff_required(Perm.VIEW_CASES)
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _render_case(request, _case_or_404(request, case_id))


@staff_required(Perm.ASSIGN_CHECKS)
@require_POST
def case_start(request: HttpRequest, case_id: int) -> HttpResponse:
    version = _int(request.POST.get("version"))
    return _after(
        request,
        case_id,
        lambda: services.vetting_start(case_id=case_id, actor=request.user, expected_version=version),
        form="start-form",
        success=_("Vetting started; each check went to whoever does that kind of check."),
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

    return _after(request, case_id, call, form="checks", success=_("Check assigned."))


@staff_required(Perm.ASSIGN_CHECKS)
@require_http_methods(["GET", "POST"])
def checks_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    """One screen for who does every open check of the case."""
    case = _case_or_404(request, case_id)
    checks = [c for c in selectors.case_checks(case) if not c.result]
    choices = services.checkers_for(legion=case.legion, roles={c.check_type.role for c in checks})
    error = ""
    if request.method == "POST":
        people = {s.pk: s for staff in choices.values() for s in staff}
        wanted: dict[int, Any] = {}
        for check in checks:
            chosen = _int(request.POST.get(f"check-{check.pk}"))
            if chosen is not None and chosen != check.assigned_to_id:
                wanted[check.pk] = people.get(chosen)
        try:
            if any(who is None for who in wanted.values()):
                raise services.VettingError(_("Choose, for each check, someone whose role performs it."))
            if wanted:
                services.checks_assign(
                    case_id=case.pk,
                    assignments=wanted,
                    actor=request.user,
                    expected_version=_int(request.POST.get("version")),
                )
        except selectors.NotInScope:
            raise Http404 from None
        except services.NotAllowed:
            raise PermissionDenied from None
        except services.VettingError as exc:
            error = str(exc)
        else:
            count = len(wanted)
            messages.success(
                request,
                ngettext("%(count)d check reassigned.", "%(count)d checks reassigned.", count) % {"count": count}
                if count
                else _("Nothing changed: every check already had that assignee."),
            )
            return redirect("vetting:case", case_id=case.pk)
    rows = [
        {
            "check": c,
            "name": check_type_name(c.check_type),
            "people": choices.get(c.check_type.role, []),
            "chosen": _int(request.POST.get(f"check-{c.pk}")) if request.method == "POST" else c.assigned_to_id,
        }
        for c in checks
    ]
    context = {"case": case, "rows": rows, "error": error, "error_field": "checks-form"}
    return render(request, "vetting/checks_assign.html", context, status=400 if error else 200)


@staff_required(Perm.RECORD_CHECK)
@require_POST
def check_record(request: HttpRequest, case_id: int, check_id: int) -> HttpResponse:
    _case_or_404(request, case_id)
    post = request.POST
    version = _int(post.get("version"))

    def call() -> None:
        polygraph = None
        if "polygraph_outcome" in post or "examined_on" in post:
            try:
                examined_on = datetime.date.fromisoformat(post.get("examined_on", ""))
            except ValueError:
                raise services.VettingError(_("Give the examination date as YYYY-MM-DD.")) from None
            areas = [a for a in post.get("question_areas", "").splitlines() if a.strip()]
            polygraph = services.PolygraphRecord(
                examined_on=examined_on, question_areas=areas, outcome=post.get("polygraph_outcome", "")
            )
        services.check_record(
            check_id=check_id,
            actor=request.user,
            result=post.get("result", ""),
            note=post.get("note", ""),
            polygraph=polygraph,
            expected_version=version,
        )

    return _after(request, case_id, call, form=f"record-form-{check_id}", success=_("Check result recorded."))


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
        form="finding-form",
        success=_("Finding recorded."),
    )


@staff_required(Perm.ADJUDICATE)
@require_POST
def decide(request: HttpRequest, case_id: int) -> HttpResponse:
    """Records one adjudicator's vote. A denial first shows what will happen and asks to confirm it."""
    post = request.POST
    factors = {key: post.get(f"factor_{key}", "") for key in guidelines.WHOLE_PERSON_FACTORS}
    if post.get("outcome") == Outcome.DENY and post.get("confirmed") != "yes":
        case = _case_or_404(request, case_id)
        kept = {key: post.get(key, "") for key in post if key not in ("csrfmiddlewaretoken", "confirmed")}
        return render(request, "vetting/confirm_deny.html", {"case": case, "kept": kept})
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
        form="decide-form",
        success=_("Your decision is recorded."),
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
        form="appeal-form",
        success=_("Appeal entered: a new pair of adjudicators will decide."),
    )


def _resolution_banner(resolution: str) -> str:
    """The success banner after a conclusion on a pair of records (a flag or a possible pair)."""
    if resolution == FlagResolution.SAME_PERSON:
        return _("Resolved: the same person. The two records are linked.")
    return _("Resolved: different people. The flag is dismissed.")


@staff_required(Perm.RECORD_CHECK)
@require_POST
def flag_resolve(request: HttpRequest, case_id: int, flag_id: int) -> HttpResponse:
    """A CI officer's conclusion on a possible duplicate: the same person, or different people."""
    get_in_scope_or_404(cases_visible_to(request.user, perm=Perm.RECORD_CHECK), pk=case_id)
    post = request.POST
    resolution = post.get("resolution", "")
    success = _resolution_banner(resolution)
    return _after(
        request,
        case_id,
        lambda: services.flag_resolve(
            flag_id=flag_id, actor=request.user, resolution=resolution, reason=post.get("reason", "")
        ),
        form=f"flag-form-{flag_id}",
        success=success,
    )


@staff_required(Perm.RESOLVE_SCREENING)
@require_POST
def possible_resolve(request: HttpRequest, case_id: int, other_id: str) -> HttpResponse:
    """A CI officer's conclusion on a possible-tier pair that has no flag yet (same form as a flag's)."""
    get_in_scope_or_404(cases_visible_to(request.user, perm=Perm.RESOLVE_SCREENING), pk=case_id)
    post = request.POST
    resolution = post.get("resolution", "")
    success = _resolution_banner(resolution)
    return _after(
        request,
        case_id,
        lambda: services.possible_pair_resolve(
            case_id=case_id, other_id=other_id, actor=request.user, resolution=resolution, reason=post.get("reason", "")
        ),
        form=f"possible-form-{other_id}",
        success=success,
    )


@staff_required(Perm.RESOLVE_SCREENING)
@require_POST
def hit_resolve(request: HttpRequest, case_id: int, hit_id: int) -> HttpResponse:
    """A CI officer marks a designation-list hit of the case's person as looked at (audited)."""
    case = get_in_scope_or_404(cases_visible_to(request.user, perm=Perm.RESOLVE_SCREENING), pk=case_id)

    def resolve() -> None:
        if not services.holds_role(request.user, "ci_officer", case.legion):
            raise services.NotAllowed(_("Only a counter-intelligence officer resolves a screening hit."))
        if not any(h.id == hit_id for h in screening.hits_for_person(case.person_id)):
            raise selectors.NotInScope(_("There is no such screening hit."))
        try:
            screening.screening_hit_resolve(hit_id=hit_id, actor=request.user)
        except screening.ScreeningError:
            raise selectors.NotInScope(_("There is no such screening hit.")) from None

    return _after(request, case_id, resolve, form=f"hit-form-{hit_id}", success=_("Screening hit resolved."))


def _unseal(
    request: HttpRequest, case: Case, *, records: list[SealedRecord] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Opens the identity, and ``records`` with it (audited first, by ``unseal_identity_with_records``),
    with the request's reason; returns the identity and the records' texts."""
    try:
        return unseal_identity_with_records(
            person=case.person,
            actor=Actor(request.user.get_username(), request.user),
            reason=request.POST.get("reason", ""),
            records=records or (),
        )
    except NotPermitted:
        raise PermissionDenied from None


def _no_store(response: HttpResponse) -> HttpResponse:
    # Rendered once in this response only: not stored, not put in the session, not cached.
    response["Cache-Control"] = "no-store, private, max-age=0"
    return response


@staff_required(Perm.UNSEAL_IDENTITY)
@require_POST
@never_cache
@step_up(IDENTITY)  # the code again first when the last one is old (issue 21)
def unseal(request: HttpRequest, case_id: int) -> HttpResponse:
    # The grants are read once for the scope, the opening's own scope check and its gate.
    with remembering():
        return _unseal_response(request, case_id)


def _unseal_response(request: HttpRequest, case_id: int) -> HttpResponse:
    # The cases whose identity this staff member may open: the need-to-know rule for unsealing.
    case = get_in_scope_or_404(
        cases_visible_to(request.user, perm=Perm.UNSEAL_IDENTITY).select_related("person", "assigned_to"), pk=case_id
    )
    # The motivation is shown beside the identity: a sealed record opened (and audited) with it.
    record = SealedRecord.objects.filter(person=case.person, kind="motivation").order_by("-id").first()
    try:
        identity, texts = _unseal(request, case, records=[record] if record is not None else [])
        motivation = texts[0] if texts else None
    except OpeningHeld as held:  # break-glass (issue 21): the requester's "held for approval" page
        return redirect("openings:held", request_id=held.request.pk)
    except (IdentityError, OpeningError) as exc:
        refused = {"error": str(exc), "error_form": "unseal-form", "kept": {"reason": request.POST.get("reason", "")}}
        return _no_store(_render_case(request, case, status=400, response_extra=refused))
    extra: dict[str, Any] = {
        "watermark": watermark_text(request.user.get_username()),  # traceable views (issue 21)
        "identity_rows": presenters.identity_rows(identity),
        "identity_profile": presenters.profile_rows(case.profile or {}, motivation),
        "kin_count": len(identity.get("next_of_kin") or []),
    }
    return _no_store(_render_case(request, case, response_extra=extra, opened=True))


@staff_required(Perm.UNSEAL_IDENTITY)
@require_POST
@never_cache
@step_up(KIN)
def next_of_kin(request: HttpRequest, case_id: int) -> HttpResponse:
    """Opens the next of kin only, with their own reason (a separate audit entry)."""
    with remembering():
        return _next_of_kin_response(request, case_id)


def _next_of_kin_response(request: HttpRequest, case_id: int) -> HttpResponse:
    case = get_in_scope_or_404(
        cases_visible_to(request.user, perm=Perm.UNSEAL_IDENTITY).select_related("person", "assigned_to"), pk=case_id
    )
    try:
        identity, _texts = _unseal(request, case)
    except OpeningHeld as held:  # break-glass (issue 21)
        return redirect("openings:held", request_id=held.request.pk)
    except (IdentityError, OpeningError) as exc:
        extra = {"error": str(exc), "error_form": "kin-form", "kept": {"kin_reason": request.POST.get("reason", "")}}
        return _no_store(_render_case(request, case, status=400, response_extra=extra))
    shown = {"kin": presenters.next_of_kin(identity), "watermark": watermark_text(request.user.get_username())}
    return _no_store(_render_case(request, case, response_extra=shown, opened=True))


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
@step_up(DOCUMENTS)  # the opening (POST) only; the list (GET) shows nothing sealed
def documents_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case's uploaded documents: a reason first (POST, audited), then each page as a picture."""
    case = get_in_scope_or_404(
        cases_visible_to(request.user, perm=Perm.UNSEAL_IDENTITY).select_related("person"), pk=case_id
    )
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
    except OpeningHeld as held:  # break-glass (issue 21)
        return redirect("openings:held", request_id=held.request.pk)
    except ReasonMissing:
        error = _("Write the reason for opening these documents (at least a few words).")
        return render(request, "vetting/documents.html", {**context, "error": error}, status=400)
    except (IdentityError, OpeningError) as exc:
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
    marked = {"shown": shown, "watermark": watermark_text(request.user.get_username())}  # issue 21
    return render(request, "vetting/documents.html", {**context, **marked})


@staff_required(Perm.UNSEAL_IDENTITY)
@require_GET
def document_page(request: HttpRequest, case_id: int, document_id: str, opening: int, page: int) -> HttpResponse:
    """One page of a document as a PNG made in the sandbox, under the audit entry of its opening."""
    case = get_in_scope_or_404(cases_visible_to(request.user, perm=Perm.UNSEAL_IDENTITY), pk=case_id)
    document = SealedDocument.objects.filter(pk=document_id, person=case.person).first()
    if document is None:
        raise Http404
    try:
        picture = document_picture(
            document=document,
            actor=Actor(request.user.get_username(), request.user),
            opening=opening,
            page=page,
            watermark_text=watermark_text(request.user.get_username()),  # traceable views (issue 21)
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
