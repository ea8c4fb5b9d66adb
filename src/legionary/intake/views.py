"""Intake's web pages: the public landing page, the application form and status page, and the staff queue.

The public pages use their own base template (no staff navigation, no account), choose their
language from ``?lang=`` (a visible switch of plain links) or the browser, and never echo what was
submitted outside the form being corrected. The form is GOV.UK's step-by-step pattern: one group
of questions per page (``forms.STEPS``), the answers kept between pages in a draft sealed with a key
only the applicant's browser holds (``drafts``), a check-your-answers page where the scans are
attached and consent given, and a confirmation page that shows the receipt once. Every POST answers
with a redirect (post/redirect/get) or, when something must be corrected, the page again with the
errors; sending claims the draft, so a reload, a double click or going back and sending again
stores nothing more. Uploaded files are kept in memory (never in a plaintext temporary file) until
``document_store`` encrypts them, and are never kept in a draft.

A POST of every field at once to ``/apply/`` (scripts, older clients) is still taken: it is checked
as a whole and, when something must be corrected, continues in the step-by-step form.

The staff queue shows call signs and pseudonymous ids only, never a name.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from legionary.access.addresses import client_address
from legionary.access.policy import public, staff_required
from legionary.access.roles import Perm
from legionary.access.scopes import cases_visible_to, get_in_scope_or_404
from legionary.identity.documents import DocumentRefused
from legionary.identity.services import DocumentNotStored, IdentityError
from legionary.intake import drafts, selectors, services
from legionary.intake.countries import country_name
from legionary.intake.filters import QueueFilters
from legionary.intake.forms import (
    DOCUMENT_KINDS,
    EXPERIENCE,
    FINAL_FIELDS,
    MAX_DOCUMENTS,
    MAX_KIN,
    SKILLS,
    STEP_BY_SLUG,
    STEPS,
    UPLOAD_ROWS,
    ApplicationForm,
    Step,
    as_data,
    step_form,
)
from legionary.intake.legions import KNOWN_LEGIONS
from legionary.pagination import BadCursor

PUBLIC_LANGUAGES = [("en", "English"), ("uk", "Українська"), ("ru", "Русский"), ("be", "Беларуская"), ("ka", "ქართული")]
_CODES = {code for code, _name in PUBLIC_LANGUAGES}
MAX_FORM_BYTES = UPLOAD_ROWS * services.MAX_UPLOAD_BYTES + 1024 * 1024
# The coarse states the status page can show (``services.receipt_status``).
STATES = frozenset(str(state) for state in services.PublicState)
TOO_MANY = gettext_lazy("Too many applications were sent from here. Try again in an hour.")
DISK_FULL = gettext_lazy(
    "The document could not be stored: the server's disk is full. Nothing was kept; try again later."
)
FILE_REFUSED = gettext_lazy("A file was refused. Only PDF, JPEG and PNG files of at most 20 MB each are accepted.")


def public_language(request: HttpRequest) -> str:
    chosen = request.POST.get("lang") if request.method == "POST" else request.GET.get("lang")
    if chosen not in _CODES:
        chosen = request.GET.get("lang")
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


def _to(name: str, lang: str, **kwargs: Any) -> HttpResponseRedirect:
    """A 303 to a public page in ``lang`` (303: the browser follows with GET, and a reload repeats only the GET)."""
    response = HttpResponseRedirect(f"{reverse(name, kwargs=kwargs or None)}?lang={lang}")
    response.status_code = 303
    return response


@public
@never_cache
@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return _render(request, "intake/landing.html", {}, public_language(request))


# --- the form, step by step -----------------------------------------------------------------------


def _rows(draft: drafts.Draft | None, group: str, most: int) -> int:
    return max(1, min(most, draft.rows.get(group, 1) if draft else 1))


def _step_form(step: Step, draft: drafts.Draft | None, data: Any = None) -> ApplicationForm:
    doc_rows, kin_rows = _rows(draft, "doc", MAX_DOCUMENTS), _rows(draft, "kin", MAX_KIN)
    if data is None and draft is not None and step.slug in draft.done:
        data = as_data(draft.answers)
    return step_form(step, data, doc_rows=doc_rows, kin_rows=kin_rows)


def _neighbours(step: Step) -> tuple[Step | None, Step | None]:
    i = STEPS.index(step)
    return (STEPS[i - 1] if i > 0 else None), (STEPS[i + 1] if i + 1 < len(STEPS) else None)


def _render_step(
    request: HttpRequest, step: Step, form: ApplicationForm, lang: str, status: int = 200, draft: Any = None
) -> HttpResponse:
    previous, _next = _neighbours(step)
    if previous is None:
        back = f"{reverse('intake:landing')}?lang={lang}"
    else:
        back = f"{reverse('intake:step', kwargs={'step': previous.slug})}?lang={lang}"
    if draft is not None and all(s.slug in draft.done for s in STEPS):
        back = f"{reverse('intake:check')}?lang={lang}"
    context = {
        "form": form,
        "step": step,
        "step_number": STEPS.index(step) + 1,
        "step_count": len(STEPS) + 1,
        "back": back,
        "max_documents": MAX_DOCUMENTS,
        "max_kin": MAX_KIN,
    }
    response = _render(request, f"intake/step_{step.slug}.html", context, lang, status=status)
    if draft is not None and draft.fresh:
        drafts.set_cookie(response, draft)
    return response


def _save_answers(draft: drafts.Draft, form: ApplicationForm, data: Any, only: list[str] | None = None) -> None:
    for key in form.raw_keys(only):
        values = [v for v in data.getlist(key)] if hasattr(data, "getlist") else data.get(key)
        draft.answers[key] = values
    for key in [k for k in draft.answers if k.startswith(("doc_", "kin_"))]:
        index = key.split("_")[1]
        group = key.split("_")[0]
        if index.isdigit() and int(index) > _rows(draft, group, MAX_DOCUMENTS if group == "doc" else MAX_KIN):
            del draft.answers[key]


def _shift_rows_down(draft: drafts.Draft, group: str, removed: int, count: int) -> None:
    """Forgets row ``removed`` of an "add another" group and moves the rows after it up by one."""
    for i in range(removed, count):
        for key in [k for k in draft.answers if k.startswith(f"{group}_{i + 1}_")]:
            draft.answers[f"{group}_{i}_" + key.split("_", 2)[2]] = draft.answers.pop(key)
    for key in [k for k in draft.answers if k.startswith(f"{group}_{count}_")]:
        del draft.answers[key]


@public
@never_cache
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, step: str) -> HttpResponse:
    found = STEP_BY_SLUG.get(step)
    if found is None:
        raise Http404
    lang = public_language(request)
    with translation.override(lang):
        draft = drafts.load(request)
        if draft is not None and draft.receipt is not None:
            return _to("intake:sent", lang)
        if request.method != "POST":
            return _render_step(request, found, _step_form(found, draft), lang)
        return _post_step(request, found, draft or drafts.load_or_new(request), lang)


def _post_step(request: HttpRequest, step: Step, draft: drafts.Draft, lang: str) -> HttpResponse:
    action = request.POST.get("action", "continue")
    group = {"documents": "doc", "kin": "kin"}.get(step.slug)
    if group is not None and (action == "add" or action.startswith("remove-")):
        most = MAX_DOCUMENTS if group == "doc" else MAX_KIN
        count = _rows(draft, group, most)
        form = _step_form(step, draft, request.POST)
        if action == "add" and not form.is_valid():
            return _render_step(request, step, form, lang, status=400, draft=None)
        _save_answers(draft, form, request.POST)
        if action == "add":
            draft.rows[group] = min(most, count + 1)
            anchor = f"#id_{group}_{min(most, count + 1)}_{'kind' if group == 'doc' else 'name'}"
        else:
            removed = int(action.removeprefix("remove-")) if action.removeprefix("remove-").isdigit() else 0
            if 1 <= removed <= count and count > 1:
                _shift_rows_down(draft, group, removed, count)
                draft.rows[group] = count - 1
            anchor = ""
        if step.slug not in draft.done:
            draft.done.append(step.slug)
        drafts.save(draft)
        response = _to("intake:step", lang, step=step.slug)
        response["Location"] += anchor
        if draft.fresh:
            drafts.set_cookie(response, draft)
        return response
    form = _step_form(step, draft, request.POST)
    if not form.is_valid():
        return _render_step(request, step, form, lang, status=400, draft=None)
    _save_answers(draft, form, request.POST)
    if step.slug not in draft.done:
        draft.done.append(step.slug)
    drafts.save(draft)
    _previous, following = _neighbours(step)
    if following is None or all(s.slug in draft.done for s in STEPS):
        response = _to("intake:check", lang)
    else:
        response = _to("intake:step", lang, step=following.slug)
    if draft.fresh:
        drafts.set_cookie(response, draft)
    return response


# --- check your answers, send, confirmation ------------------------------------------------------------


def _whole_form(draft: drafts.Draft, data: Any = None, files: Any = None) -> ApplicationForm:
    merged = as_data(draft.answers)
    if data is not None:
        for key in FINAL_FIELDS:
            if key in data:
                merged.setlist(key, data.getlist(key))
    return ApplicationForm(
        merged if data is not None else as_data(draft.answers),
        files,
        doc_rows=_rows(draft, "doc", MAX_DOCUMENTS),
        kin_rows=_rows(draft, "kin", MAX_KIN),
    )


def _summary(draft: drafts.Draft, lang: str) -> list[dict[str, Any]]:
    """The answers, section by section, as (question, answer) rows for the check-your-answers page."""
    form = _whole_form(draft)
    form.is_valid()
    data = form.cleaned_data
    labels = dict(DOCUMENT_KINDS) | dict(EXPERIENCE) | dict(SKILLS)
    none = _("Not given")

    def text(value: Any) -> Any:
        if value in (None, "", []):
            return none
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        return value

    def date(value: Any) -> Any:
        return value.strftime("%d.%m.%Y") if value else none

    sections = []
    legion = str(data.get("legion") or "")
    sections.append({"step": STEP_BY_SLUG["legion"], "rows": [(_("Legion"), KNOWN_LEGIONS.get(legion, none))]})
    sections.append(
        {
            "step": STEP_BY_SLUG["identity"],
            "rows": [
                (_("Given names"), text(data.get("given_names"))),
                (_("Family name"), text(data.get("family_name"))),
                (_("Patronymic"), text(data.get("patronymic"))),
                (_("Other names"), text(data.get("other_names"))),
                (_("Date of birth"), date(data.get("date_of_birth"))),
                (_("Place of birth"), text(data.get("place_of_birth"))),
                (_("Citizenship"), text([country_name(c, lang) for c in data.get("citizenships") or []])),
            ],
        }
    )
    documents = []
    until = _("valid until")
    for document in form.documents_of(data):
        expires = document.get("expires")
        line = f"{labels[document['kind']]}, {country_name(document['country'], lang)}, {document['number']}"
        documents.append(line + (f", {until} {expires[8:10]}.{expires[5:7]}.{expires[:4]}" if expires else ""))
    sections.append({"step": STEP_BY_SLUG["documents"], "rows": [(_("Documents"), text(documents))]})
    sections.append(
        {
            "step": STEP_BY_SLUG["contact"],
            "rows": [
                (_("Phone"), text(data.get("phone"))),
                (_("E-mail"), text(data.get("email"))),
                (_("Address"), text(data.get("address"))),
            ],
        }
    )
    kin = [", ".join(v for v in person.values() if v) for person in form.kin_of(data)]
    sections.append({"step": STEP_BY_SLUG["kin"], "rows": [(_("Next of kin"), text(kin))]})
    sections.append(
        {
            "step": STEP_BY_SLUG["experience"],
            "rows": [
                (_("Military experience"), text(labels.get(data.get("military_experience") or "", ""))),
                (_("Years of service"), text(data.get("years_of_service"))),
                (_("Skills"), text([labels[s] for s in data.get("skills") or []])),
                (_("Languages you speak"), text(", ".join(data.get("languages") or []))),
                (_("Why do you want to join?"), text(data.get("motivation"))),
                (_("Call sign you would like"), text(data.get("preferred_call_sign"))),
            ],
        }
    )
    return sections


def _render_check(
    request: HttpRequest, draft: drafts.Draft, form: ApplicationForm, lang: str, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {
        "form": form,
        "sections": _summary(draft, lang),
        "back": f"{reverse('intake:step', kwargs={'step': STEPS[-1].slug})}?lang={lang}",
        "uploads": [form[f"upload_{i}"] for i in range(1, UPLOAD_ROWS + 1)],
        **extra,
    }
    response = _render(request, "intake/check.html", context, lang, status=status)
    if draft.fresh:
        drafts.set_cookie(response, draft)
    return response


class _InMemoryUploads(MemoryFileUploadHandler):
    """Keeps uploads (at most MAX_FORM_BYTES in all) in memory, so no plaintext scan touches the disk."""

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        self.activated = content_length <= MAX_FORM_BYTES


def _too_large(request: HttpRequest) -> HttpResponse | None:
    """Refuses a body over MAX_FORM_BYTES before reading it; else keeps the uploads in memory."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_FORM_BYTES:
        lang = request.GET.get("lang") if request.GET.get("lang") in _CODES else "en"
        return _render(request, "intake/too_large.html", {}, str(lang), status=413)
    request.upload_handlers = [_InMemoryUploads(request)]
    return None


@public
@csrf_exempt  # the check runs in _check, after the upload handlers are set (Django's documented pattern)
@never_cache
def check(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        refused = _too_large(request)
        if refused is not None:
            return refused
    return _check(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _check(request: HttpRequest) -> HttpResponse:
    lang = public_language(request)
    with translation.override(lang):
        draft = drafts.load(request)
        if draft is None or draft.receipt is not None:
            return _to("intake:sent", lang)
        missing = [s for s in STEPS if s.slug not in draft.done]
        if missing:
            return _to("intake:step", lang, step=missing[0].slug)
        if request.method != "POST":
            return _render_check(request, draft, _whole_form(draft), lang)
        form = _whole_form(draft, request.POST, request.FILES)
        return _send(request, draft, form, lang)


def _send(request: HttpRequest, draft: drafts.Draft, form: ApplicationForm, lang: str) -> HttpResponse:
    """Validates the whole application and submits it once; answers a 303 to the confirmation page."""
    if form.is_valid():
        form.validate_contract(lang)
    if not form.is_valid() or form.application is None:
        return _render_check(request, draft, form, lang, status=400)
    if not draft.fresh and not drafts.take(draft):
        return _to("intake:sent", lang)  # another request sent this draft a moment ago
    try:
        submission = services.application_submit(
            application=form.application,
            uploads=form.uploads(),
            channel=services.Channel.FORM,
            client_address=client_address(request),
        )
    except services.TooManySubmissions:
        form.add_error(None, str(TOO_MANY))
        status = 429
    except DocumentNotStored:
        form.add_error(None, str(DISK_FULL))
        status = 507
    except DocumentRefused as exc:
        form.add_error(None, _upload_refusal(exc.code))
        status = 400
    except IdentityError:
        form.add_error(None, str(FILE_REFUSED))
        status = 400
    except services.IntakeError as exc:
        form.add_error(None, str(exc))
        status = 400
    except IntegrityError:
        form.add_error(None, _("This application was already received."))
        status = 400
    else:
        sent = drafts.Draft(draft.token, receipt=submission.receipt, fresh=draft.fresh)
        drafts.save(sent)
        response = _to("intake:sent", lang)
        if sent.fresh:
            drafts.set_cookie(response, sent)
        return response
    if not draft.fresh:
        drafts.save(draft)  # not sent: the answers stay for another try
    return _render_check(request, draft, form, lang, status=status)


@public
@never_cache
@require_GET
def sent(request: HttpRequest) -> HttpResponse:
    """The confirmation page: the receipt once, then never again (the draft holding it is deleted)."""
    lang = public_language(request)
    draft, receipt = drafts.take_sent(request)
    response = _render(request, "intake/confirmation.html", {"receipt": receipt}, lang)
    if receipt is not None or draft is None:
        response.delete_cookie(drafts.cookie_name(), path="/", samesite="Strict")
    return response


# --- /apply/: the first step, or every field at once ----------------------------------------------------


@public
@csrf_exempt  # the check runs in _apply, after the upload handlers are set (Django's documented pattern)
@never_cache
def apply(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        refused = _too_large(request)
        if refused is not None:
            return refused
    return _apply(request)


@csrf_protect
@require_http_methods(["GET", "POST"])
def _apply(request: HttpRequest) -> HttpResponse:
    lang = public_language(request)
    with translation.override(lang):
        if request.method != "POST":
            return step(request, STEPS[0].slug)
        if set(request.POST) <= {"legion", "lang", "action", "csrfmiddlewaretoken"}:
            return _post_step(request, STEPS[0], drafts.load_or_new(request), lang)
        return _apply_at_once(request, lang)


def _apply_at_once(request: HttpRequest, lang: str) -> HttpResponse:
    """Every field in one POST: sent if all is well; else the first page with something to correct."""
    doc_rows = max(
        [1] + [i for i in range(1, MAX_DOCUMENTS + 1) if any(k.startswith(f"doc_{i}_") for k in request.POST)]
    )
    kin_rows = max([1] + [i for i in range(1, MAX_KIN + 1) if any(k.startswith(f"kin_{i}_") for k in request.POST)])
    draft = drafts.Draft(drafts.load_or_new(request).token, rows={"doc": doc_rows, "kin": kin_rows}, fresh=True)
    whole = ApplicationForm(request.POST, request.FILES, doc_rows=doc_rows, kin_rows=kin_rows)
    if whole.is_valid():
        # Each step's form is the whole form restricted to its fields, so every step is valid too:
        # the answers are kept step by step (for the check page, should sending fail) without
        # building and checking each field a second time.
        for page in STEPS:
            _save_answers(draft, whole, request.POST, page.field_names(doc_rows, kin_rows))
            draft.done.append(page.slug)
    else:
        for page in STEPS:
            form = step_form(page, request.POST, doc_rows=doc_rows, kin_rows=kin_rows)
            valid = form.is_valid()
            _save_answers(draft, form, request.POST)
            if not valid:
                drafts.save(draft)
                return _render_step(request, page, form, lang, status=400, draft=draft)
            draft.done.append(page.slug)
    response = _send(request, draft, whole, lang)
    if response.status_code != 303:
        drafts.save(draft)  # the answers, to correct on the check page
    return response


# --- status ---------------------------------------------------------------------------------------------


STATUS_SECONDS = 60


def _status_cookie() -> str:
    return "__Host-legionary-status" if settings.SESSION_COOKIE_SECURE else "legionary-status"


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
    """Check your application. A right receipt answers with a redirect (post/redirect/get) to this
    page, which shows the coarse state once: it travels in a signed cookie that lives a minute and is
    deleted when shown, so a reload neither posts the receipt again nor shows the state again."""
    lang = public_language(request)
    if request.method != "POST":
        state = None
        if _status_cookie() in request.COOKIES:
            try:
                state = signing.loads(request.COOKIES[_status_cookie()], salt="intake.status", max_age=STATUS_SECONDS)
            except signing.BadSignature:
                state = None
        response = _render(request, "intake/status.html", {"state": state if state in STATES else None}, lang)
        response.delete_cookie(_status_cookie(), path="/", samesite="Strict")
        return response
    try:
        found = services.receipt_status(receipt=request.POST.get("receipt", ""), client_address=client_address(request))
    except services.TooManyAttempts:
        return _render(request, "intake/status.html", {"limited": True}, lang, status=429)
    if found is None:
        return _render(request, "intake/status.html", {"wrong": True}, lang, status=404)
    response = _to("intake:status", lang)
    response.set_cookie(
        _status_cookie(),
        signing.dumps(str(found), salt="intake.status"),
        max_age=STATUS_SECONDS,
        path="/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


# --- staff ---------------------------------------------------------------------------------------


def _queue_page(
    request: HttpRequest, *, error: str = "", chosen: list[int] | None = None, status: int = 200
) -> HttpResponse:
    form = QueueFilters(request)
    page = None
    if form.is_valid():
        try:
            page = selectors.intake_queue(
                staff=request.user,
                after=request.GET.get("after") or None,
                before=request.GET.get("before") or None,
                legion=form.applied.get("legion", ""),
                flagged=bool(form.applied.get("flagged")),
            )
        except BadCursor:
            return HttpResponse(_("This page link is not valid; start again from the first page."), status=400)
    context = {
        "page": page,
        "investigators": selectors.investigators(),
        "case_base": reverse("vetting:case", args=[0]).removesuffix("0/"),
        "error": error,
        "chosen": set(chosen or []),
        "chosen_investigator": _int(request.POST.get("investigator")) if request.method == "POST" else None,
        # The filters ride along with the assignment, so the queue comes back as it was filtered.
        "assign_action": _with_filters(reverse("intake-queue:assign-many"), form),
        **form.context(page),
    }
    return render(request, "intake/queue.html", context, status=status if page is not None else 400)


def _with_filters(url: str, form: QueueFilters) -> str:
    query = form.query()
    return url + ("?" + urlencode(query) if query else "")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@staff_required(Perm.VIEW_INTAKE_QUEUE)
@require_http_methods(["GET"])
def queue(request: HttpRequest) -> HttpResponse:
    return _queue_page(request)


def _assigned(request: HttpRequest, cases: list[Any]) -> HttpResponse:
    """Post/redirect/get: back to the queue, with a banner naming who now has the case(s)."""
    officer = cases[0].assigned_to.get_username()
    if len(cases) == 1:
        text = _("Case %(call_sign)s assigned to %(officer)s; vetting has started.") % {
            "call_sign": cases[0].person.call_sign,
            "officer": officer,
        }
    else:
        text = ngettext(
            "%(count)d case assigned to %(officer)s; vetting has started.",
            "%(count)d cases assigned to %(officer)s; vetting has started.",
            len(cases),
        ) % {"count": len(cases), "officer": officer}
    messages.success(request, text)
    return redirect(_with_filters(reverse("intake-queue:queue"), QueueFilters(request)))


@staff_required(Perm.VIEW_INTAKE_QUEUE)
@require_POST
def assign_many(request: HttpRequest) -> HttpResponse:
    """Assigns the ticked applications to the chosen investigator (all or none)."""
    chosen = [pk for pk in (_int(v) for v in request.POST.getlist("case")) if pk is not None]
    investigator_id = _int(request.POST.get("investigator")) or 0
    if not chosen:
        return _queue_page(request, error=_("Choose at least one application to assign."), status=400)
    try:
        cases = services.cases_assign(case_ids=chosen, investigator_id=investigator_id, actor=request.user)
    except services.NotInScope:
        raise Http404 from None
    except services.IntakeError:
        return _queue_page(
            request,
            error=_("Choose an investigator who works on this legion's cases."),
            chosen=chosen,
            status=400,
        )
    return _assigned(request, cases)


@staff_required(Perm.VIEW_INTAKE_QUEUE)
@require_POST
def assign(request: HttpRequest, case_id: int) -> HttpResponse:
    # Scope before the form: a case outside it is 404 whatever was posted.
    get_in_scope_or_404(cases_visible_to(request.user, perm=Perm.VIEW_INTAKE_QUEUE), pk=case_id)
    investigator_id = _int(request.POST.get("investigator")) or 0
    try:
        case = services.case_assign(case_id=case_id, investigator_id=investigator_id, actor=request.user)
    except services.NotInScope:
        raise Http404 from None
    except services.IntakeError:
        return _queue_page(
            request, error=_("Choose an investigator who works on this legion's cases."), chosen=[case_id], status=400
        )
    return _assigned(request, [case])
