"""Step-up: the second factor asked again before an opening of sealed data (issue 21, "sudo mode").

Every sign-in checks the authenticator code; the time of that check, and of every later one, is kept
in the session (``VERIFIED_AT``, stamped by ``second_factor_verified``). A view that opens an
identity, next of kin or documents, or approves a break-glass request, is wrapped in ``step_up``:
when the last check is older than ``LEGIONARY_STEP_UP_MINUTES``, nothing is opened. The action's own
fields (its reason...) are kept in the session and the browser is sent to the step-up page
(post/redirect/get). That page's form posts the code, with the kept fields, back to the interrupted
action, where ``step_up`` checks the code before the view runs: only a right code lets the action
go on, and the action then runs its own checks (role, scope, purpose, break-glass) as always.

A wrong code opens nothing, is audited (``stepup.failed``) and counted: after
``LEGIONARY_LOGIN_FAILURE_LIMIT`` wrong codes in one session the session is signed out
(``stepup.signed_out``). django-otp's own throttle (a growing wait after each wrong code, per
device) applies as at sign-in. An API call that would open something while a step-up is due is
answered 403 with the problem type ``step-up-required`` (``StepUpRequired``; legionary.api).

Never stores or logs a code. The kept fields are what the staff member typed into the interrupted
form (a reason, a decision), never an identity.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django_otp import devices_for_user, match_token

from legionary.audit.services import audit_record

VERIFIED_AT = "_legionary_otp_verified_at"
PENDING = "_legionary_step_up"
FAILURES = "_legionary_step_up_failures"
ERROR = "_legionary_step_up_error"
CODE_FIELD = "step_up_code"
"""The field of the step-up form that carries the code to the interrupted action."""
STEP_UP_ATTR = "legionary_step_up"
"""Marks a view under ``step_up`` (what it does), for the access matrix."""

# What an interrupted action does (the step-up page says it, and the audit entry names it).
IDENTITY, KIN, DOCUMENTS, APPROVAL = "identity", "kin", "documents", "approval"
WRONG, EMPTY, THROTTLED = "wrong", "empty", "throttled"

View = TypeVar("View", bound=Callable[..., HttpResponse])


class StepUpRequired(Exception):
    """An API call would open sealed data while the session's last code is too old (answered 403)."""


def second_factor_verified(session: SessionBase) -> None:
    """Stamps the session: its second factor was checked now (sign-in, enrolment, step-up)."""
    session[VERIFIED_AT] = int(time.time())
    session.pop(FAILURES, None)


def step_up_due(session: SessionBase, now: float | None = None) -> bool:
    """Whether the code must be asked again: the last check is ``LEGIONARY_STEP_UP_MINUTES`` old or
    more (0: before every opening), or the session holds no stamp at all (fails closed)."""
    at = session.get(VERIFIED_AT)
    if not isinstance(at, int):
        return True
    return (time.time() if now is None else now) - at >= settings.LEGIONARY_STEP_UP_MINUTES * 60


def require_for_api(request: HttpRequest) -> None:
    """For an API operation that opens sealed data: raises ``StepUpRequired`` when a step-up is due."""
    if step_up_due(request.session):
        raise StepUpRequired


def _back(request: HttpRequest) -> str:
    """Where "Cancel" leads: the page the interrupted form was on, if it is ours."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return str(referer)
    return ""


def _throttled(user: Any) -> bool:
    """Whether django-otp holds back every device of ``user`` for now (after recent wrong codes)."""
    devices = list(devices_for_user(user))
    return bool(devices) and all(not device.verify_is_allowed()[0] for device in devices)


def check_code(request: HttpRequest, code: str, *, doing: str) -> HttpResponse | None:
    """Checks a step-up code: None when it is right (the session is stamped), else the answer to
    give (back to the step-up page, or signed out after too many wrong codes). Audited either way."""
    session = request.session
    username = request.user.get_username()
    code = code.replace(" ", "").strip()
    if not code:
        session[ERROR] = EMPTY
        return redirect("access:step-up")
    if _throttled(request.user):
        # A growing wait after each wrong code (django-otp); not counted again.
        session[ERROR] = THROTTLED
        return redirect("access:step-up")
    device = match_token(request.user, code)
    if device is not None:
        second_factor_verified(session)
        audit_record(actor=username, action="stepup.verified", details={"for": doing, "path": request.path})
        return None
    failures = int(session.get(FAILURES, 0)) + 1
    session[FAILURES] = failures
    audit_record(
        actor=username, action="stepup.failed", details={"for": doing, "path": request.path, "failures": failures}
    )
    limit = int(settings.AXES_FAILURE_LIMIT)
    if failures >= limit:
        audit_record(actor=username, action="stepup.signed_out", details={"failures": failures})
        logout(request)
        messages.error(
            request,
            ngettext(
                "You were signed out after %(count)d wrong authenticator code. Sign in again.",
                "You were signed out after %(count)d wrong authenticator codes. Sign in again.",
                failures,
            )
            % {"count": failures},
        )
        return redirect("access:login")
    session[ERROR] = WRONG
    return redirect("access:step-up")


def step_up(
    doing: str, *, fields: tuple[str, ...] = ("reason",), when: Callable[[HttpRequest], bool] | None = None
) -> Callable[[View], View]:
    """Wraps a view that opens sealed data (a POST): the code is asked again first when it is due.

    ``fields`` are the form's fields kept for the return (the reason...); ``when`` limits the step-up
    to some posts of the view (approving, not refusing). Goes inside ``staff_required``, so the
    wrong role is refused before any code is asked.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST" or (when is not None and not when(request)):
                return view(request, *args, **kwargs)
            kept = {name: request.POST.get(name, "")[:2000] for name in fields}
            code = request.POST.get(CODE_FIELD)
            if code is None and not step_up_due(request.session):
                return view(request, *args, **kwargs)
            previous = request.session.get(PENDING)
            if code is None or not isinstance(previous, dict):
                back = _back(request)
            else:
                back = str(previous.get("back", ""))  # posted from the step-up page: keep where it began
            request.session[PENDING] = {"action": request.path, "doing": doing, "fields": kept, "back": back}
            if code is None:
                # Nothing is opened: the code first (post/redirect/get), then back here with the fields.
                return redirect("access:step-up")
            refusal = check_code(request, code, doing=doing)
            if refusal is not None:
                return refusal
            request.session.pop(PENDING, None)
            return view(request, *args, **kwargs)

        setattr(wrapped, STEP_UP_ATTR, doing)  # copied onto the outer decorators by functools.wraps
        return cast(View, wrapped)

    return decorate
