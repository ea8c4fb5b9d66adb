"""Session lifetime: a staff sign-in ends after a spell without activity, and at the latest a fixed
time after it began, whatever the activity in between.

Responsible for the two timeouts of ASVS V7.3 on every request of a signed-in staff member:
``LEGIONARY_SESSION_IDLE_SECONDS`` (default 30 minutes) since the last request, and
``LEGIONARY_SESSION_SECONDS`` (``SESSION_COOKIE_AGE``, default 8 hours) since sign-in. Django's
own expiry slides with every write to the session, so on its own it is neither. A timed-out
request is signed out (the session is flushed, the sign-out is audited through Django's
``user_logged_out`` signal) and then carries on as anonymous, so each view's own access rule
answers it: a page sends the browser to the sign-in page, the API refuses.

The time of the last request is written back at most once a minute, not on every request, so that
reading a list does not cost a session write; the idle timeout is therefore exact to a minute.
Must never extend a session past either limit, or touch the session of an anonymous visitor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

log = logging.getLogger("legionary.access")

SIGNED_IN_AT = "_legionary_signed_in_at"
SEEN_AT = "_legionary_seen_at"
SEEN_EVERY = 60
"""Seconds between two writes of the last-request time to the session."""


def session_started(session: SessionBase) -> None:
    """Stamps a session that has just been signed in (called on ``user_logged_in``)."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[SEEN_AT] = now


def session_expired(session: SessionBase, now: int) -> str | None:
    """Why a signed-in session is over at ``now`` ("idle" or "lifetime"), "unknown" when it carries
    no stamps, or None while it may go on."""
    started = session.get(SIGNED_IN_AT)
    seen = session.get(SEEN_AT)
    if not isinstance(started, int) or not isinstance(seen, int):
        # Signed in before these stamps existed: its age is unknown, so it starts again now.
        return "unknown"
    if now - seen > settings.LEGIONARY_SESSION_IDLE_SECONDS:
        return "idle"
    if now - started > settings.SESSION_COOKIE_AGE:
        return "lifetime"
    return None


class SessionTimeoutMiddleware:
    """Signs out a staff session past its idle or absolute limit; keeps the last-request time."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            why = session_expired(session, now)
            if why in ("idle", "lifetime"):
                username = request.user.get_username()
                logout(request)
                log.info("signed out %s: session %s limit reached", username, why)
                if why == "idle":
                    minutes = settings.LEGIONARY_SESSION_IDLE_SECONDS // 60
                    text = ngettext(
                        "You were signed out after %(minutes)d minute without activity. Please sign in again.",
                        "You were signed out after %(minutes)d minutes without activity. Please sign in again.",
                        minutes,
                    ) % {"minutes": minutes}
                else:
                    text = _("Your sign-in reached its time limit. Please sign in again.")
                messages.info(request, text)
            elif why == "unknown":
                session_started(session)
            elif now - session[SEEN_AT] >= SEEN_EVERY:
                session[SEEN_AT] = now
        return self.get_response(request)
