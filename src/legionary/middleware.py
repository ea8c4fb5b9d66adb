"""Request-wide policy: a database that has gone away becomes a clear 503 page instead of a 500
(``DatabaseUnavailableMiddleware``); methods, transport, caching and refusal logging for every
response (``SecurityPolicyMiddleware``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.functional import empty

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError):
            return self._unavailable()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            return self._unavailable()
        return None

    @staticmethod
    def _unavailable() -> HttpResponse:
        log.error("database unavailable")
        response = HttpResponse(render_to_string("error.html", {"status": 503}), status=503)
        response["Retry-After"] = "30"
        return response


# Methods the application answers; TRACE, TRACK, CONNECT and anything else are refused before any
# view runs (ASVS V13.4.4, V4.1.4).
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Status codes that mean a control refused the request: logged (ASVS V16.3.2, V16.3.3).
REFUSALS = frozenset({403, 405, 429})
security_log = logging.getLogger("legionary.security")


class SecurityPolicyMiddleware:
    """What every request and response goes through, whatever view answers it.

    - Methods outside ``ALLOWED_METHODS`` get 405 (no TRACE).
    - The API over plain HTTP gets a 403 problem instead of a redirect: a client that sent its
      request (and its session cookie) in clear must find out rather than be silently redirected
      (``SECURE_REDIRECT_EXEMPT`` lets ``/api/`` through ``SecurityMiddleware`` to here).
    - A response that does not set ``Cache-Control`` gets ``no-store``: staff pages and API
      answers must stay out of browser and proxy caches (static files set their own).
    - Signing out clears the browser's cache, cookies and storage for the site (``Clear-Site-Data``).
    - Refusals (403, 405, 429) are logged with the method, the path (control characters escaped,
      so a path cannot forge a log line), the status and the staff account if one is signed in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._refuse(request) or self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name == "access:logout" and response.status_code in (301, 302, 303):
            response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
        if response.status_code in REFUSALS:
            security_log.warning(
                "refused %s %s with %d for %s",
                request.method,
                _printable(request.path),
                response.status_code,
                _account(request),
            )
        return response

    @staticmethod
    def _refuse(request: HttpRequest) -> HttpResponse | None:
        if request.method not in ALLOWED_METHODS:
            response = HttpResponse(status=405)
            response["Allow"] = ", ".join(sorted(ALLOWED_METHODS))
            return response
        if request.path.startswith("/api/") and settings.SECURE_SSL_REDIRECT and not request.is_secure():
            from legionary.api.problems import problem

            return problem(
                403,
                "https-required",
                "HTTPS required",
                "This API answers over HTTPS only. The request was sent in clear: send it again to the "
                "https:// address, and treat any credential it carried as exposed.",
            )
        return None


def _printable(text: str, limit: int = 300) -> str:
    """``text`` with control characters escaped and cut to ``limit``, safe for one log line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])


def _account(request: HttpRequest) -> str:
    """The signed-in account's name, if this request already looked it up (never a query just to log)."""
    user = getattr(request, "user", None)
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:
        return "-"
    return _printable(str(wrapped.get_username())) if wrapped.is_authenticated else "anonymous"
