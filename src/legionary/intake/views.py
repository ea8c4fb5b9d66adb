"""Intake's web pages: the public application form and status page, and the staff intake queue.

The public pages use their own base template (no staff navigation), set no cookie but the CSRF
one, choose their language from ``?lang=`` (a visible switch of plain links) or the browser, and
never echo what was submitted outside the form being corrected. Uploaded files are kept in memory
(never in a plaintext temporary file) until ``document_store`` encrypts them.

The staff queue shows call signs and pseudonymous ids only, never a name.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from legionary.access.addresses import client_address
from legionary.access.policy import public, staff_required
from legionary.access.roles import Perm
from legionary.identity.documents import DocumentRefused
from legionary.identity.services import DocumentNotStored, IdentityError
from legionary.intake import selectors, services
from legionary.intake.forms import UPLOAD_ROWS, ApplicationForm

PUBLIC_LANGUAGES = [("en", "English"), ("uk", "Українська"), ("ru", "Русский"), ("be", "Беларуская"), ("ka", "ქართული")]
_CODES = {code for code, _name in PUBLIC_LANGUAGES}
MAX_FORM_BYTES = UPLOAD_ROWS * services.MAX_UPLOAD_BYTES + 1024 * 1024


def public_language(request: HttpRequest) -> str:
    chosen = request.POST.get("lang") if request.method == "POST" else request.GET.get("lang")
    if chosen in _CODES:
        return str(chosen)
    for part in str(request.META.get("HTTP_ACCEPT_LANGUAGE", "")).split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in _CODES:
            return code
    return "en"


def _render(request: HttpRequest, template: str, context: dict[str, Any], lang: str, status: int = 200) -> HttpResponse:
    with translation.override(lang):
        response = render(request, template, {**context, "lang": lang, "languages": PUBLIC_LANGUAGES}, status=status)
    response["Content-Language"] = lang
    return response


class _InMemoryUploads(MemoryFileUploadHandler):
    """Keeps uploads (at most MAX_FORM_BYTES in all) in memory, so no plaintext scan touches the disk."""

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        self.activated = content_length <= MAX_FORM_BYTES


@public
@csrf_exempt  # the check runs in _apply, after the upload handlers are set (Django's documented pattern)
@never_cache
def apply(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_FORM_BYTES:
            lang = request.GET.get("lang") if request.GET.get("lang") in _CODES else "en"
            return _render(request, "intake/too_large.html", {}, str(lang), status=413)
        request.upload_handlers = [_InMemoryUploads(request)]
    return _apply(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _apply(request: HttpRequest) -> HttpResponse:
    lang = public_language(request)
    with translation.override(lang):
        if request.method != "POST":
            return _render(request, "intake/apply.html", {"form": ApplicationForm()}, lang)
        form = ApplicationForm(request.POST, request.FILES)
        if form.is_valid():
            form.validate_contract(lang)
        if form.is_valid() and form.application is not None:
            try:
                submission = services.application_submit(
                    application=form.application,
                    uploads=form.uploads(),
                    channel=services.Channel.FORM,
                    client_address=client_address(request),
                )
            except services.TooManySubmissions:
                form.add_error(None, _("Too many applications were sent from here. Try again in an hour."))
                return _render(request, "intake/apply.html", {"form": form}, lang, status=429)
            except DocumentNotStored as exc:
                form.add_error(None, str(exc))
                return _render(request, "intake/apply.html", {"form": form}, lang, status=507)
            except DocumentRefused as exc:
                form.add_error(None, _upload_refusal(exc.code))
                return _render(request, "intake/apply.html", {"form": form}, lang, status=422)
            except IdentityError:
                form.add_error(
                    None, _("A file was refused. Only PDF, JPEG and PNG files of at most 20 MB each are accepted.")
                )
            except services.IntakeError as exc:
                form.add_error(None, str(exc))
            except IntegrityError:
                form.add_error(None, _("This application was already received."))
            else:
                return _render(request, "intake/receipt.html", {"receipt": submission.receipt}, lang, status=201)
        return _render(request, "intake/apply.html", {"form": form}, lang, status=400)


def _upload_refusal(code: str) -> str:
    """The applicant's sentence for an upload the sandbox refused (``DocumentRefused.code``)."""
    if code == "damaged":
        return _("A file was refused: it is damaged or incomplete. Scan or save it again and send it once more.")
    if code in ("too-large", "limits"):
        return _(
            "A file was refused: it is too large once opened (too many pixels or pages). "
            "Send a smaller scan of at most 20 pages."
        )
    return _("A file was refused: it is not a PDF, JPEG or PNG file, or not the kind of file it says it is.")


@public
@never_cache
@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    lang = public_language(request)
    if request.method != "POST":
        return _render(request, "intake/status.html", {}, lang)
    try:
        state = services.receipt_status(receipt=request.POST.get("receipt", ""), client_address=client_address(request))
    except services.TooManyAttempts:
        return _render(request, "intake/status.html", {"limited": True}, lang, status=429)
    if state is None:
        return _render(request, "intake/status.html", {"wrong": True}, lang, status=404)
    return _render(request, "intake/status.html", {"state": str(state)}, lang)


# --- staff ---------------------------------------------------------------------------------------


@staff_required(Perm.VIEW_INTAKE_QUEUE)
@require_http_methods(["GET"])
def queue(request: HttpRequest) -> HttpResponse:
    page = selectors.intake_queue(staff=request.user, after=request.GET.get("after") or None)
    investigators = selectors.investigators()
    return render(request, "intake/queue.html", {"page": page, "investigators": investigators})


@staff_required(Perm.VIEW_INTAKE_QUEUE)
@require_POST
def assign(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        investigator_id = int(request.POST.get("investigator", ""))
    except ValueError:
        investigator_id = 0
    try:
        services.case_assign(case_id=case_id, investigator_id=investigator_id, actor=request.user)
    except services.NotInScope:
        raise Http404 from None
    except services.IntakeError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return redirect(reverse("intake-queue:queue"))
