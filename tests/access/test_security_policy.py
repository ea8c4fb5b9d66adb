"""Request-wide controls from ASVS 5.0 level 2 that no single view owns (docs/asvs.md):
methods, the API over plain HTTP, caching, sign-out clearing the site, cookie prefixes, CORS,
redirects off the site, refusal logging, output encoding, and TLS to a remote database."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from legionary.access.roles import Role
from legionary.audit.models import Entry
from legionary.audit.services import audit_record
from legionary.identity.models import Person
from legionary.units.models import UnitKind
from legionary.units.services import unit_create
from tests.access.test_login import current_code, sign_in
from tests.conftest import MakeStaff, signed_in
from tests.intake.helpers import application

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
KIND_PROBLEM = "application/problem+json"


@pytest.mark.parametrize("path", ["/healthz", "/login/", "/api/v1/openapi.json", "/apply/", "/"])
@pytest.mark.parametrize("method", ["TRACE", "TRACK", "CONNECT", "PROPFIND"])
def test_trace_and_other_unused_methods_are_refused_everywhere(path: str, method: str) -> None:
    response = Client().generic(method, path, secure=True)
    assert response.status_code == 405 and "TRACE" not in response["Allow"]
    assert response.content == b""


def test_the_api_over_plain_http_is_refused_with_a_problem_and_not_redirected() -> None:
    body = json.dumps(application())
    response = Client().post("/api/v1/applications", data=body, content_type="application/json")
    assert response.status_code == 403 and not response.has_header("Location")
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/https-required")
    assert not Person.objects.exists()
    assert Client().get("/api/v1/openapi.json").status_code == 403
    # Pages meant for a browser are still redirected, and HTTPS is served.
    assert Client().get("/apply/").status_code == 301
    assert Client().get("/api/v1/openapi.json", secure=True).status_code == 200


def test_pages_and_api_answers_tell_browsers_and_proxies_not_to_store_them(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ada", Role.ADMINISTRATOR))
    for url in ["/", "/work/", "/units/", "/api/v1/training/courses", "/login/", "/apply/", "/api/v1/openapi.json"]:
        response = client.get(url, secure=True)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"], url
    # Static files keep the caching whitenoise gives them.
    static = Client().get("/static/legionary/legionary.min.css", secure=True)
    assert static.status_code == 200 and "no-store" not in static.get("Cache-Control", "")


def test_signing_out_tells_the_browser_to_clear_the_sites_cache_cookies_and_storage(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ada", Role.ADMINISTRATOR))
    client.get("/work/", secure=True)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/logout/", {"csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'


def test_every_cookie_the_site_sets_is_host_only_secure_and_prefixed(make_staff: MakeStaff) -> None:
    staff = make_staff("ada", Role.ADMINISTRATOR)
    client = Client()
    seen: dict[str, dict[str, object]] = {}

    def keep(response: object) -> None:
        for name, morsel in response.cookies.items():  # type: ignore[attr-defined]
            seen[name] = {"secure": morsel["secure"], "path": morsel["path"], "domain": morsel["domain"]}

    keep(client.get("/apply/", secure=True))
    # The application form's draft cookie (set by the first step's answer) too.
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    form = {"legion": "geo", "csrfmiddlewaretoken": token}
    keep(client.post("/apply/legion/", form, secure=True, HTTP_ORIGIN="https://testserver"))
    keep(client.post("/i18n/setlang/", {"language": "uk", "next": "/login/"}, secure=True))
    keep(sign_in(client, "ada", PASSWORD, current_code(staff)))
    keep(client.get("/work/", secure=True))
    assert set(seen) >= {settings.CSRF_COOKIE_NAME, settings.SESSION_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME}
    assert "__Host-legionary-apply" in seen
    for name, attributes in seen.items():
        assert name.startswith("__Host-"), name
        assert attributes == {"secure": True, "path": "/", "domain": ""}, name
    assert "cookie" not in settings.MESSAGE_STORAGE.lower()


def test_no_answer_allows_another_origin_to_read_it(make_staff: MakeStaff) -> None:
    client = signed_in(make_staff("ada", Role.ADMINISTRATOR))
    evil = {"HTTP_ORIGIN": "https://evil.example"}
    for response in [
        client.get("/api/v1/training/courses", secure=True, **evil),
        client.options("/api/v1/training/courses", secure=True, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET", **evil),
        Client().get("/api/v1/openapi.json", secure=True, **evil),
    ]:
        assert not response.has_header("Access-Control-Allow-Origin")
        assert not response.has_header("Access-Control-Allow-Credentials")


def test_choosing_a_language_never_redirects_to_another_site() -> None:
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"]:
        response = Client().post("/i18n/setlang/", {"language": "uk", "next": target}, secure=True)
        location = response.get("Location", "")
        assert "evil.example" not in location and not location.startswith("javascript:"), target


def test_refusals_are_logged_with_the_account_and_a_path_that_cannot_forge_a_line(
    make_staff: MakeStaff, caplog: pytest.LogCaptureFixture
) -> None:
    client = signed_in(make_staff("aud", Role.AUDITOR))
    with caplog.at_level(logging.WARNING, logger="legionary.security"):
        assert client.get("/cases/", secure=True).status_code == 403
        assert Client().generic("TRACE", "/x%0Aforged: entry", secure=True).status_code == 405
    lines = [r.getMessage() for r in caplog.records if r.name == "legionary.security"]
    assert any(line.startswith("refused GET /cases/ with 403 for aud") for line in lines), lines
    assert any("TRACE /x\\nforged: entry with 405" in line for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_markup_written_into_an_audited_reason_is_shown_escaped(make_staff: MakeStaff) -> None:
    # Staff write reasons (unseal, erase, next of kin) as free text; the audit viewer shows them.
    reason = 'Checking <script>alert("x")</script> and <img src=x onerror=alert(1)>'
    audit_record(actor="sec<b>", action="identity.unsealed", subject="p" + "a" * 20, details={"reason": reason})
    index = Entry.objects.filter(action="identity.unsealed").values_list("index", flat=True).get()
    auditor = signed_in(make_staff("aud", Role.AUDITOR))
    for url in [f"/audit/entries/{index}/", "/audit/?action=identity.unsealed"]:
        page = auditor.get(url, secure=True).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page and "sec<b>" not in page, url
    assert "&lt;script&gt;" in auditor.get(f"/audit/entries/{index}/", secure=True).content.decode()


def _database_options(url: str, tmp_path: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=url, LEGIONARY_HOME=str(tmp_path))
    code = "import json, legionary.settings as s; print(json.dumps(s.DATABASES['default']['OPTIONS']))"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    options: dict[str, object] = json.loads(result.stdout)
    return options


def test_a_database_on_another_machine_is_reached_over_tls_with_its_certificate_checked(tmp_path: Path) -> None:
    assert _database_options("postgres://app:pw@db.example.org:5432/legionary", tmp_path)["sslmode"] == "verify-full"
    # The operator may say otherwise in the URL; a local socket or loopback needs no TLS.
    assert _database_options("postgres://app:pw@db.example.org/legionary?sslmode=require", tmp_path)["sslmode"] == (
        "require"
    )
    assert "sslmode" not in _database_options("postgres://app:pw@127.0.0.1:5432/legionary", tmp_path)
    assert "sslmode" not in _database_options("postgres://app:pw@localhost/legionary", tmp_path)


def test_text_answers_name_their_charset_and_exports_are_attachments_with_our_file_name(
    make_staff: MakeStaff,
) -> None:
    admin = make_staff("ada", Role.ADMINISTRATOR)
    unit = unit_create(actor=admin, kind=UnitKind.FRAMEWORK, name="International Legion", overseer=admin, legion="")
    client = signed_in(admin)
    answers = {
        url: client.get(url, secure=True)
        for url in [
            "/",
            "/work/",
            "/login/",
            "/.well-known/security.txt",
            f"/units/{unit.pk}/roster.csv",
            "/api/v1/units/",
        ]
    }
    answers["problem"] = client.get("/api/v1/units/999999/roster", secure=True)
    for url, response in answers.items():
        kind = response["Content-Type"]
        assert response.status_code in (200, 404), url
        assert not kind.startswith("text/") or kind.endswith("charset=utf-8"), (url, kind)
        assert kind.split(";")[0] in {
            "text/html",
            "text/plain",
            "text/csv",
            "application/json",
            "application/problem+json",
        }
    roster = answers[f"/units/{unit.pk}/roster.csv"]
    assert roster["Content-Disposition"] == f'attachment; filename="roster-unit-{unit.pk}.csv"'


def test_forwarded_headers_from_the_client_are_not_believed_without_a_proxy(settings: object) -> None:
    settings.LEGIONARY_APPLY_LIMIT = 1  # type: ignore[attr-defined]
    body = {"data": json.dumps(application()), "content_type": "application/json", "secure": True}
    assert Client().post("/api/v1/applications", **body).status_code == 201  # type: ignore[arg-type]
    second = json.dumps(application(external_ref="other-ref"))
    forged = Client().post(
        "/api/v1/applications",
        data=second,
        content_type="application/json",
        secure=True,
        HTTP_X_FORWARDED_FOR="203.0.113.77",
        HTTP_X_REAL_IP="203.0.113.78",
    )
    assert forged.status_code == 429
    # Nor is X-Forwarded-Proto: a plain request claiming HTTPS is still redirected.
    assert Client().get("/apply/", HTTP_X_FORWARDED_PROTO="https").status_code == 301


def test_source_control_metadata_and_folders_are_not_served() -> None:
    for path in ["/.git/config", "/.git/HEAD", "/static/", "/static/legionary/", "/static/../settings.py", "/.env"]:
        response = Client().get(path, secure=True)
        assert response.status_code in (301, 302, 404), path
        assert b"Index of" not in response.content and b"[core]" not in response.content, path
