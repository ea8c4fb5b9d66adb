"""The one place where a request is allowed or refused.

Every view is wrapped by exactly one of the decorators below, which both enforces the rule and
marks the view; ``AccessPolicyMiddleware`` refuses any view that carries no mark, so a view that
somebody forgets to decorate is closed, not open. ``tests/access/test_every_route_is_guarded.py``
walks the URL patterns and proves it.

Out-of-scope objects are answered with 404, not 403, so that a refusal leaks nothing about what
exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from legionary.access.roles import Perm, permissions_of

if TYPE_CHECKING:
    from legionary.access.models import Staff

log = logging.getLogger(__name__)

ACCESS_ATTR = "legionary_access"
# HttpResponseBase: a view may stream (a large export handed out from its file).
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def _mark(view: Any, rule: str) -> None:
    setattr(view, ACCESS_ATTR, rule)


def access_rule(view: Any) -> str | None:
    """The rule a view was marked with, or None if it was never put under the policy."""
    return cast(str | None, getattr(view, ACCESS_ATTR, None))


def request_permissions(request: HttpRequest) -> frozenset[Perm]:
    """Permissions of the signed-in staff member, computed once per request."""
    cached = getattr(request, "_legionary_perms", None)
    if cached is not None:
        return cast(frozenset[Perm], cached)
    user = request.user
    perms: frozenset[Perm] = frozenset()
    roles: frozenset[str] = frozenset()
    if user.is_authenticated and user.is_active:
        roles = frozenset(user.grants.values_list("role", flat=True))
        perms = permissions_of(set(roles))
    request._legionary_perms = perms  # type: ignore[attr-defined]
    request._legionary_roles = roles  # type: ignore[attr-defined]
    return perms


def request_roles(request: HttpRequest) -> frozenset[str]:
    """Role codes of the signed-in staff member (read with the permissions, no second query)."""
    request_permissions(request)
    return cast(frozenset[str], request._legionary_roles)  # type: ignore[attr-defined]


def request_staff(request: HttpRequest) -> Staff:
    """The signed-in staff member of a request that passed ``staff_required``.

    ``staff_required`` lets only signed-in staff through, so the refusal below is never reached
    from a guarded view; it is there so that a mistake fails closed (403), never open.
    """
    from legionary.access.models import Staff

    user = request.user
    if not isinstance(user, Staff):
        raise PermissionDenied
    return user


def is_fully_signed_in(request: HttpRequest) -> bool:
    """Password and second factor both checked in this session."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_verified", lambda: False)())


def public(view: View) -> View:
    """Open to anyone, signed in or not (the login page, health check, the public form)."""
    _mark(view, "public")
    return view


class NotSignedIn(Exception):
    """An API request without a session signed in with both factors (answered 401, a problem)."""


class CsrfRefused(PermissionDenied):
    """An unsafe API request without its session's CSRF token (answered 403, a problem)."""


# Scope of an API operation: given the staff member and the path's arguments, whether the object
# the path names is his to see. Run before the body is read; False answers 404.
ApiScope = Callable[..., bool]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ApiStaffCheck:
    """The checks of ``staff_required`` for an API operation, in the order that leaks nothing.

    django-ninja runs an operation's auth callbacks before it reads parameters or the body, so this
    check, installed as the operation's only auth callback, answers first: not signed in with both
    factors (401), a role without the permission (403), an unsafe call without the CSRF token (403),
    an object outside the caller's scope (404). Only then does ninja parse and validate the body.
    """

    def __init__(self, perm: Perm, scope: ApiScope | None) -> None:
        self.perm = perm
        self.scope = scope

    def __call__(self, request: HttpRequest) -> Any:
        if not is_fully_signed_in(request):
            raise NotSignedIn
        if self.perm not in request_permissions(request):
            raise PermissionDenied
        if request.method not in _SAFE_METHODS:
            from ninja.utils import check_csrf

            if check_csrf(request) is not None:
                raise CsrfRefused
        if self.scope is not None:
            arguments = request.resolver_match.kwargs if request.resolver_match else {}
            try:
                visible = self.scope(request.user, **arguments)
            except (ValueError, TypeError):
                visible = False
            if not visible:
                raise Http404
        return request.user


def staff_required(perm: Perm, *, scope: ApiScope | None = None) -> Callable[[View], View]:
    """Signed in with both factors and holding ``perm`` through one of the account's roles.

    On an API operation (django-ninja) the same checks run before the body is read
    (``ApiStaffCheck``), with ``scope`` deciding, from the path's arguments, whether the object
    named is the caller's to see.
    """

    def contribute(operation: Any) -> None:
        operation.auth_callbacks = [ApiStaffCheck(perm, scope)]

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not is_fully_signed_in(request):
                return redirect_to_login(request.get_full_path())
            if perm not in request_permissions(request):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        _mark(guarded, f"staff:{perm}")
        # django-ninja calls these when it makes an operation of the view (its documented hook).
        guarded._ninja_contribute_to_operation = [contribute]  # type: ignore[attr-defined]
        return cast(View, guarded)

    return decorate


def login_step(view: View) -> View:
    """A step of signing in (second factor, enrolment): the view itself checks the pending session."""
    _mark(view, "login-step")
    return view


class AccessPolicyMiddleware:
    """Refuses every view that is not under the access policy (deny by default)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if access_rule(view_func) is None:
            log.error("refused a view with no access rule: %s", getattr(view_func, "__qualname__", view_func))
            raise PermissionDenied
        return None


def staff_may(staff: Any, perm: Perm, *, legion: str | None = None) -> bool:
    """Whether ``staff`` holds ``perm`` through a grant whose scope covers ``legion``.

    A system-wide grant covers everything; a legion grant covers that legion only. Narrower scopes
    (unit, cohort, case) are checked by the domain that owns those objects.
    """
    if staff is None or not staff.is_active:
        return False
    from legionary.access.roles import ROLE_PERMISSIONS, ScopeKind
    from legionary.access.scopes import grant_rows  # scopes reads the domain apps' models: imported late

    # grant_rows: read afresh, except inside a ``memo.remembering()`` block that has read them already.
    for role, kind, ref in grant_rows(staff):
        if perm not in ROLE_PERMISSIONS.get(role, frozenset()):
            continue
        if kind == ScopeKind.SYSTEM or (kind == ScopeKind.LEGION and legion is not None and ref == legion):
            return True
    return False
