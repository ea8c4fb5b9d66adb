"""Project-wide views: the health check, ``/.well-known/security.txt`` and error pages that never echo input."""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from legionary.access.policy import public


@public
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Says only ok or not ok; no version, no detail, no auth."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("not ok\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@public
@require_GET
def security_txt(request: HttpRequest) -> HttpResponse:
    """RFC 9116: where to report a vulnerability. The contact is ``LEGIONARY_SECURITY_CONTACT``."""
    contact = os.environ.get("LEGIONARY_SECURITY_CONTACT") or f"mailto:security@{request.get_host().split(':')[0]}"
    # The RFC asks for an expiry under a year away; it moves forward with each day the server runs.
    expires = (timezone.now() + timedelta(days=180)).replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [
        f"Contact: {contact}",
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: en, uk, ru",
        f"Canonical: https://{request.get_host()}/.well-known/security.txt",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@public
@require_GET
def switch_language(request: HttpRequest, code: str) -> HttpResponse:
    """The staff language switch: a plain link (GOV.UK language navigation) that keeps the choice in
    the language cookie and returns to the page it came from (``?next=``, same site only)."""
    if code not in {c for c, _name in settings.LANGUAGES}:
        raise Http404
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # "Lax" in settings
    )
    return response


# Paths under which an error page is a staff page (staff base, en/uk/ru). Anything else — the public
# form and status page, the landing page, a mistyped address — gets the public base in the
# applicant's language (en/uk/ru/be/ka), with "Exit this page".
STAFF_PREFIXES = (
    "/login/", "/logout/", "/language/", "/dashboard/", "/work/", "/intake/", "/cases/",
    "/training/", "/units/", "/reports/", "/audit/", "/api/",
)  # fmt: skip


def is_staff_path(path: str) -> bool:
    return (path == "/" and not _public_landing_exists()) or path.startswith(STAFF_PREFIXES)


def _public_landing_exists() -> bool:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("intake:landing") == "/"
    except NoReverseMatch:
        return False


def _public_error_language(request: HttpRequest) -> str:
    """``?lang=`` or the browser's first public language; never the body (it may be what failed)."""
    from legionary.intake.views import PUBLIC_LANGUAGES

    codes = [code for code, _name in PUBLIC_LANGUAGES]
    chosen = request.GET.get("lang", "")
    if chosen in codes:
        return chosen
    for part in str(request.META.get("HTTP_ACCEPT_LANGUAGE", "")).split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in codes:
            return code
    return "en"


def _error(request: HttpRequest, status: int, *, csrf: bool = False) -> HttpResponse:
    # Rendered without the request: no context processor may touch the session or the database
    # (which may be the thing that failed), and nothing from the request is echoed back. Only the
    # path's prefix (staff or public) and the public page's ?lang= / Accept-Language are read.
    context: dict[str, object] = {"status": status, "csrf": csrf}
    if is_staff_path(request.path):
        body = render_to_string("error.html", {**context, "base": "staff_base.html"})
        return HttpResponse(body, status=status)
    lang = _public_error_language(request)
    with translation.override(lang):
        body = render_to_string("error.html", {**context, "base": "public_base.html", "lang": lang})
    response = HttpResponse(body, status=status)
    response["Content-Language"] = lang
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's own CSRF page has inline styles (which our CSP blocks) and names the reason."""
    return _error(request, 403, csrf=True)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        # A path that matches no API route (``/api/v1/units/abc/roster``): the API's error format.
        from legionary.api.problems import problem

        return problem(404, "not-found", "Not found", "There is no such resource.")
    return _error(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500)
