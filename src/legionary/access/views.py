"""Sign-in (password + second factor in one step), first-time authenticator enrolment, sign-out
and the per-role dashboard.

A failed sign-in never says which part was wrong. Until both factors are checked the account is
not signed in: enrolment runs on a short-lived pending marker in the session.
"""

from __future__ import annotations

import functools
import io
import time
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.translation import get_language, gettext_lazy, gettext_noop, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access import mywork, services, stepup
from legionary.access.forms import EnrolForm, LoginForm, StepUpForm
from legionary.access.policy import (
    login_step,
    public,
    request_permissions,
    request_roles,
    request_staff,
    staff_required,
)
from legionary.access.roles import Perm, Role
from legionary.audit.services import audit_record

PENDING_KEY = "legionary_pending_enrolment"
PENDING_SECONDS = 600
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _failed(request: HttpRequest, form: LoginForm) -> HttpResponse:
    form.add_error(None, _("Sign-in failed. Check your username, password and code, and try again."))
    return render(request, "access/login.html", {"form": form}, status=200)


@login_step
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "access/login.html", {"form": LoginForm()})
    form = LoginForm(request.POST)
    if not form.is_valid():
        return render(request, "access/login.html", {"form": form})
    from django.contrib.auth import authenticate

    username = form.cleaned_data["username"]
    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if getattr(request, "axes_locked_out", False):
        return render(request, "access/locked.html", status=429)
    if user is None:
        return _failed(request, form)
    code = form.cleaned_data["code"].replace(" ", "")
    if not user_has_device(user):
        # First sign-in: the password was right and there is no authenticator yet.
        request.session.cycle_key()
        request.session[PENDING_KEY] = {"user": user.pk, "until": time.time() + PENDING_SECONDS}
        audit_record(actor=user.get_username(), action="login.enrolment_started")
        return redirect("access:enrol")
    device = match_token(user, code) if code else None
    if device is None:
        # Counted by django-axes like a wrong password, so guessing codes locks the account too.
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        return _failed(request, form)
    login(request, user, backend=BACKEND)
    otp_login(request, device)
    return redirect("access:my-work")


def _pending_user(request: HttpRequest) -> Any | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def _enrolment_device(user: Any) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name="authenticator").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, confirmed=False, name="authenticator")
    return device


@login_step
@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None or user_has_device(user):
        return redirect("access:login")
    device = _enrolment_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].replace(" ", "")):
            with transaction.atomic():
                codes = services.staff_confirm_second_factor(staff=user, device=device)
            del request.session[PENDING_KEY]
            login(request, user, backend=BACKEND)
            otp_login(request, device)
            return render(request, "access/recovery_codes.html", {"codes": codes})
        form.add_error("code", _("That code is not right. Codes change every 30 seconds; try the current one."))
    secret = services.base32_secret(device)
    return render(
        request,
        "access/enrol.html",
        {"form": form, "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))},
    )


@login_step
@never_cache
def enrol_qr_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None or user_has_device(user):
        return HttpResponse(status=404)
    device = _enrolment_device(user)
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@login_step
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse("access:login"))


@public
@require_GET
def root_view(request: HttpRequest) -> HttpResponse:
    """``/`` when no public landing page is installed: applicants go to the form, never to the
    staff sign-in (staff come in by /login/ and land on /work/)."""
    return redirect("intake:apply")


# What each role's dashboard offers, and where each section lives. The texts are marked for
# translation here and translated when the page is rendered.
DASHBOARD_SECTIONS: list[tuple[Perm, str, str, str, str]] = [
    (Perm.VIEW_INTAKE_QUEUE, "intake", "intake-queue:queue", gettext_noop("Intake"),
     gettext_noop("New applications and screening flags.")),
    (Perm.VIEW_CASES, "cases", "vetting:queue", gettext_noop("Cases"),
     gettext_noop("Vetting cases and checks assigned to you.")),
    (Perm.ADJUDICATE, "adjudication", "vetting:queue", gettext_noop("Decisions"),
     gettext_noop("Cases waiting for a decision.")),
    (Perm.VIEW_TRAINING, "training", "training:cohorts", gettext_noop("Training"),
     gettext_noop("Your cohorts and gradebooks.")),
    (Perm.VIEW_UNITS, "units", "units:tree", gettext_noop("Units"),
     gettext_noop("Units, billets and rosters in your scope.")),
    (Perm.VIEW_REPORTS, "reports", "reports:dashboard", gettext_noop("Reports"),
     gettext_noop("Pipeline figures and exports.")),
    (Perm.VIEW_AUDIT_LOG, "audit", "audit:entries", gettext_noop("Audit log"),
     gettext_noop("The audit log and its checkpoints.")),
]  # fmt: skip


def sections_for(perms: frozenset[Perm], *, one_per_place: bool = False) -> list[tuple[str, str, str, str]]:
    """(key, label, text, url) of the sections open to these permissions, translated.

    ``one_per_place`` drops sections that lead to a page already listed (for the navigation bar).
    Every staff page asks this twice (header and navigation): the answer is kept per permissions,
    language and URL configuration (seven reverses and fourteen translations each time otherwise).
    """
    key = (perms, one_per_place, get_language(), get_script_prefix(), str(settings.ROOT_URLCONF))
    return list(_sections_for(*key))


@functools.lru_cache(maxsize=512)
def _sections_for(
    perms: frozenset[Perm], one_per_place: bool, _language: str | None, _prefix: str, _urlconf: str
) -> tuple[tuple[str, str, str, str], ...]:
    out: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    for perm, key, url_name, label, text in DASHBOARD_SECTIONS:
        if perm not in perms or (one_per_place and url_name in seen):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue  # the app is not installed in this deployment
        seen.add(url_name)
        out.append((key, _(label), _(text), url))
    return tuple(out)


@staff_required(Perm.VIEW_DASHBOARD)
@never_cache
@require_GET
def my_work_view(request: HttpRequest) -> HttpResponse:
    """What waits for this person, from every domain (legionary.access.mywork), oldest and overdue
    first; where every staff member lands after signing in."""
    who = mywork.Who(staff=request_staff(request), perms=request_permissions(request))
    sections = mywork.sections_for(who)
    with transaction.atomic():
        for section in sections:
            if section.audit_action:
                # Showing the section reads the audit log: recorded like any other view of it.
                audit_record(
                    actor=who.username, action=section.audit_action, details={"via": "my-work", "section": section.key}
                )
    return render(request, "access/my_work.html", {"sections": sections})


@staff_required(Perm.VIEW_DASHBOARD)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    # The roles were read with the permissions (one query per request, shared with the header).
    roles = sorted({str(Role(code).label) for code in request_roles(request) if code in Role.values})
    sections = sections_for(request_permissions(request))
    return render(request, "access/dashboard.html", {"roles": roles, "sections": sections})


# What the step-up page says the interrupted action does.
STEP_UP_DOING = {
    stepup.IDENTITY: gettext_lazy("Open the identity"),
    stepup.KIN: gettext_lazy("Open the next of kin"),
    stepup.DOCUMENTS: gettext_lazy("Open the uploaded documents"),
    stepup.APPROVAL: gettext_lazy("Approve a break-glass request"),
}
STEP_UP_ERRORS = {
    stepup.WRONG: gettext_lazy("That code is not right. Codes change every 30 seconds; try the current one."),
    stepup.EMPTY: gettext_lazy("Enter the code your authenticator shows now."),
    stepup.THROTTLED: gettext_lazy("Too many wrong codes in a row. Wait a few seconds, then enter the current code."),
}


@staff_required(Perm.VIEW_DASHBOARD)
@never_cache
@require_http_methods(["GET", "POST"])
def step_up_view(request: HttpRequest) -> HttpResponse:
    """The code asked again (access.stepup). With an interrupted opening, the form posts the code and
    the kept fields back to that opening, which checks the code before anything is opened; without
    one (the page visited on its own, or named by the API's ``step-up-required``), it posts here."""
    if request.method == "POST":
        refusal = stepup.check_code(request, request.POST.get(stepup.CODE_FIELD, ""), doing="")
        if refusal is not None:
            return refusal
        minutes = settings.LEGIONARY_STEP_UP_MINUTES
        messages.success(
            request,
            ngettext(
                "Code confirmed. Openings need no code again for %(minutes)d minute.",
                "Code confirmed. Openings need no code again for %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
        )
        return redirect("access:my-work")
    pending = request.session.get(stepup.PENDING)
    if not isinstance(pending, dict):
        pending = None
    form = StepUpForm(data={})
    form.is_valid()
    error = request.session.pop(stepup.ERROR, None)
    if error in STEP_UP_ERRORS:
        form.add_error(stepup.CODE_FIELD, str(STEP_UP_ERRORS[error]))
    fields = dict(pending.get("fields") or {}) if pending else {}
    context = {
        "form": form,
        "pending": pending,
        "doing": STEP_UP_DOING.get(pending.get("doing", ""), "") if pending else "",
        "reason": fields.get("reason", ""),
        "note": fields.get("note", ""),
        "kept": sorted(fields.items()),
        "action": pending["action"] if pending else reverse("access:step-up"),
        "back": (pending.get("back") if pending else "") or reverse("access:my-work"),
        "minutes": settings.LEGIONARY_STEP_UP_MINUTES,
    }
    return render(request, "access/step_up.html", context)
