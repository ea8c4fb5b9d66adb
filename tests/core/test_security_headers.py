"""What every response tells the browser under production settings: CSP, HSTS, framing, sniffing,
referrers, window isolation, and cookies that stay on HTTPS and out of scripts."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.models import Staff
from tests.access.test_login import current_code, sign_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_the_test_suite_runs_with_https_on_as_production_does() -> None:
    # Everything below would prove nothing if the suite had quietly turned HTTPS off.
    assert settings.LEGIONARY_HTTPS is True and settings.SECURE_SSL_REDIRECT is True


def test_a_page_carries_a_strict_content_security_policy() -> None:
    policy = Client().get("/login/", secure=True)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "*" not in policy


def test_a_page_carries_hsts_and_the_other_protective_headers() -> None:
    response = Client().get("/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https_except_the_health_check() -> None:
    page = Client().get("/login/")
    assert page.status_code == 301 and page["Location"] == "https://testserver/login/"
    assert Client().get("/healthz").status_code == 200


def test_the_csrf_cookie_is_secure_http_only_strict_and_host_only() -> None:
    cookie = Client().get("/login/", secure=True).cookies["__Host-legionary-csrf"]
    assert cookie["secure"] is True and cookie["httponly"] is True
    assert cookie["samesite"] == "Strict" and cookie["path"] == "/" and not cookie["domain"]


def test_the_session_cookie_after_sign_in_is_secure_http_only_strict_and_ends_with_the_browser(
    make_staff,  # type: ignore[no-untyped-def]
) -> None:
    staff: Staff = make_staff("alice", "auditor")
    client = Client()
    assert sign_in(client, "alice", PASSWORD, current_code(staff)).status_code == 302  # type: ignore[attr-defined]
    cookie = client.cookies["__Host-legionary-session"]
    assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"] == "Strict"
    assert not cookie["expires"] and not cookie["max-age"]


def test_the_language_cookie_is_secure_and_http_only() -> None:
    client = Client()
    response = client.post("/i18n/setlang/", {"language": "uk", "next": "/login/"}, secure=True)
    assert response.status_code == 302
    cookie = client.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "uk" and cookie["secure"] is True and cookie["httponly"] is True
