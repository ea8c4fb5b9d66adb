"""Deny by default: every route carries an access rule, anonymous users and wrong roles are refused."""

from __future__ import annotations

import pytest
from django.test import Client

from legionary.access.policy import access_rule
from legionary.access.roles import ROLE_PERMISSIONS, Role
from tests.conftest import signed_in
from tests.routes import all_routes

# The only routes anyone may open without signing in, and why.
PUBLIC = {
    "healthz",  # says ok / not ok, nothing more
    "set_language",  # the language switch (a POST form)
    "switch-language",  # the staff language navigation's links: sets the language cookie, nothing else
    "security-txt",  # RFC 9116: where to report a vulnerability
    "access:root",  # "/" without the public landing page: a redirect to the application form
}
LOGIN_STEPS = {"access:login", "access:enrol", "access:enrol-qr", "access:logout"}


def test_every_route_has_an_access_rule() -> None:
    missing = [r.name for r in all_routes() if access_rule(r.callback) is None]
    assert missing == []


def test_only_the_listed_routes_are_public() -> None:
    public = {r.name for r in all_routes() if access_rule(r.callback) == "public"}
    assert public <= PUBLIC | {n for n in public if n.startswith("intake:") or n.startswith("api-public:")}


def test_a_view_without_a_rule_is_refused_by_the_middleware(rf: pytest.FixtureRequest) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse

    from legionary.access.policy import AccessPolicyMiddleware

    def naked(request: object) -> HttpResponse:
        return HttpResponse("secret")

    middleware = AccessPolicyMiddleware(lambda request: HttpResponse())
    with pytest.raises(PermissionDenied):
        middleware.process_view(rf.get("/"), naked, (), {})  # type: ignore[attr-defined]


def _staff_routes() -> list[tuple[str, str, str]]:
    out = []
    for route in all_routes():
        rule = access_rule(route.callback) or ""
        if rule.startswith("staff:"):
            out.append((route.name, route.path, rule.removeprefix("staff:")))
    return out


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "perm"), _staff_routes())
def test_staff_routes_send_anonymous_users_to_sign_in(name: str, path: str, perm: str) -> None:
    response = Client().get(path, secure=True)
    if path.startswith("/api/"):
        # The API answers a problem, never the sign-in page (issue 20, finding 6).
        assert response.status_code == 401
        assert response["Content-Type"].startswith("application/problem+json")
        return
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "perm"), _staff_routes())
def test_staff_routes_refuse_every_role_without_the_permission(make_staff, name: str, path: str, perm: str) -> None:  # type: ignore[no-untyped-def]
    refused = [role for role in Role.values if perm not in ROLE_PERMISSIONS[role]]
    for role in refused:
        client = signed_in(make_staff(f"x-{role}", role))
        response = client.get(path, secure=True)
        assert response.status_code in (403, 404), (role, path, response.status_code)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "perm"), _staff_routes())
def test_staff_routes_refuse_a_password_only_session(make_staff, name: str, path: str, perm: str) -> None:  # type: ignore[no-untyped-def]
    allowed = [role for role in Role.values if perm in ROLE_PERMISSIONS[role]]
    staff = make_staff("half", *allowed)
    client = Client()
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(path, secure=True)
    assert response.status_code == (401 if path.startswith("/api/") else 302)
