"""Every sign-in success and failure goes into the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from legionary.access.sessions import session_started
from legionary.access.stepup import second_factor_verified
from legionary.audit.services import audit_record


@receiver(user_logged_in)
def _record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(actor=user.get_username(), action="login.success")
    if request is not None and hasattr(request, "session"):
        session_started(request.session)
        # Staff are signed in only once their second factor is checked (access.views: sign-in and
        # enrolment), so a sign-in is a check of the code: the step-up clock starts here.
        second_factor_verified(request.session)


@receiver(user_logged_out)
def _record_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(actor=user.get_username(), action="login.logout")


@receiver(user_login_failed)
def _record_login_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # The username typed may be anything (even a mistyped password); keep it short and never
    # record the other credentials.
    typed = str(credentials.get("username", ""))[:150]
    audit_record(actor=typed or "(blank)", action="login.failure")
