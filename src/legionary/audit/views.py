"""The audit viewer: entries (filtered, newest first), one entry with its proof, the checkpoints.

Open only to staff holding ``Perm.VIEW_AUDIT_LOG`` (auditors and security officers). Reading the
log is itself recorded: every page view appends one entry naming the filters used, before the
page is sent. Views are thin: selectors read, ``audit.services`` proves and records.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from legionary.access.policy import staff_required
from legionary.access.roles import Perm
from legionary.audit import selectors
from legionary.audit.forms import EntryFilterForm
from legionary.audit.services import AuditError, audit_record, entry_inclusion, verifier_key


@staff_required(Perm.VIEW_AUDIT_LOG)
@never_cache
@require_GET
def entry_list_view(request: HttpRequest) -> HttpResponse:
    form = EntryFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "audit/entry_list.html", {"form": form, "page": None}, status=400)
    if not request.GET:
        form = EntryFilterForm({})
        form.is_valid()
    data = form.cleaned_data
    page = selectors.entries_page(
        actor=data["actor"],
        subject=data["subject"],
        action=data["action"],
        since=data["since"],
        until=data["until"],
        before=data["before"],
    )
    audit_record(actor=request.user.get_username(), action="audit.log_viewed", details=form.filters_used())
    next_url = None
    if page.next_before is not None:
        kept = {k: v for k, v in request.GET.items() if k != "before" and v}
        next_url = "?" + urlencode({**kept, "before": page.next_before})
    return render(request, "audit/entry_list.html", {"form": form, "page": page, "next_url": next_url})


@staff_required(Perm.VIEW_AUDIT_LOG)
@never_cache
@require_GET
def entry_detail_view(request: HttpRequest, index: int) -> HttpResponse:
    try:
        evidence = entry_inclusion(index)
    except AuditError:
        raise Http404 from None
    audit_record(
        actor=request.user.get_username(),
        action="audit.entry_viewed",
        details={"index": index, "verified": evidence.verified},
    )
    return render(
        request,
        "audit/entry_detail.html",
        {
            "evidence": evidence,
            "body": evidence.body.decode("utf-8", errors="replace"),
            "proof": [p.hex() for p in evidence.proof],
        },
    )


@staff_required(Perm.VIEW_AUDIT_LOG)
@never_cache
@require_GET
def checkpoint_list_view(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("before", "")
    before = int(raw) if raw.isdigit() else None
    page = selectors.checkpoints_page(before=before)
    audit_record(actor=request.user.get_username(), action="audit.checkpoints_viewed", details={"before": before})
    next_url = f"?{urlencode({'before': page.next_before})}" if page.next_before is not None else None
    return render(
        request,
        "audit/checkpoint_list.html",
        {"page": page, "next_url": next_url, "verifier_key": verifier_key()},
    )
