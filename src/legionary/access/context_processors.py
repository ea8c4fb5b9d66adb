from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from legionary.access.policy import is_fully_signed_in, request_permissions, request_roles
from legionary.access.roles import Role


@dataclass(frozen=True)
class NavItem:
    """One entry of the staff navigation (GOV.UK service navigation)."""

    key: str
    label: str
    url: str
    current: bool
    # Items waiting for this person there, shown as a badge; None when the section has no count.
    count: int | None = None


def _nav_items(request: HttpRequest) -> list[NavItem]:
    from legionary.access.views import sections_for

    path = request.path
    items = []
    for key, label, _text, url in sections_for(request_permissions(request), one_per_place=True):
        current = path == url if url == "/" else path.startswith(url)
        items.append(NavItem(key=key, label=label, url=url, current=current))
    return items


def staff_context(request: HttpRequest) -> dict[str, object]:
    """What the staff base needs: whether a staff member is signed in, his roles, what he may open."""
    from legionary.access.views import sections_for

    signed_in = is_fully_signed_in(request)
    perms = request_permissions(request) if signed_in else frozenset()
    roles = sorted(str(Role(code).label) for code in request_roles(request) if code in Role.values) if signed_in else []
    return {
        "staff_signed_in": signed_in,
        "staff_perms": {str(p) for p in perms},
        "staff_roles": roles,
        "staff_nav": sections_for(perms, one_per_place=True) if signed_in else [],
        "staff_nav_items": _nav_items(request) if signed_in else [],
    }
