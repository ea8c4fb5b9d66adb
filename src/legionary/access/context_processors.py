from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language

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
    # Every dashboard section that leads to this place (e.g. "cases adjudication"), space-separated.
    keys: str = ""


def _nav_items(request: HttpRequest, sections: list[tuple[str, str, str, str]]) -> list[NavItem]:
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from legionary.access import mywork
    from legionary.access.policy import request_staff
    from legionary.access.views import sections_for

    path = request.path
    perms = request_permissions(request)
    who = mywork.Who(staff=request_staff(request), perms=perms)
    counts = mywork.nav_counts(who)
    # The navigation shows one item per place; sections that share a place share its item and badge.
    keys_at: dict[str, list[str]] = {}
    for key, _label, _text, url in sections_for(perms):
        keys_at.setdefault(url, []).append(key)
    work_url = reverse("access:my-work")
    items = [NavItem(key="work", label=_("My work"), url=work_url, current=path == work_url, keys="work")]
    for key, label, _text, url in sections:
        keys = keys_at.get(url, [key])
        counted = [counts[k] for k in keys if k in counts]
        items.append(
            NavItem(
                key=key,
                label=label,
                url=url,
                current=path.startswith(url),
                count=sum(counted) if counted else None,
                keys=" ".join(keys),
            )
        )
    return items


@functools.lru_cache(maxsize=256)
def _role_names(codes: frozenset[str], _language: str | None) -> tuple[str, ...]:
    """The role names for the header, sorted, in the language (kept: every staff page shows them)."""
    return tuple(sorted(str(Role(code).label) for code in codes if code in Role.values))


def _nav_items_once(request: HttpRequest, sections: list[tuple[str, str, str, str]]) -> list[NavItem]:
    """The navigation of this request, built once however many templates it renders."""
    items = getattr(request, "_legionary_nav_items", None)
    if items is None:
        items = _nav_items(request, sections)
        request._legionary_nav_items = items  # type: ignore[attr-defined]
    return cast(list[NavItem], items)


def staff_context(request: HttpRequest) -> dict[str, object]:
    """What the staff base needs: whether a staff member is signed in, his roles, what he may open."""
    from legionary.access.views import sections_for

    signed_in = is_fully_signed_in(request)
    perms = request_permissions(request) if signed_in else frozenset()
    roles = list(_role_names(request_roles(request), get_language())) if signed_in else []
    nav = sections_for(perms, one_per_place=True) if signed_in else []
    return {
        "staff_signed_in": signed_in,
        "staff_perms": {str(p) for p in perms},
        "staff_roles": roles,
        "staff_nav": nav,
        # Lazily: a page that never shows the navigation (an error page) never counts.
        "staff_nav_items": SimpleLazyObject(lambda: _nav_items_once(request, nav)) if signed_in else [],
    }
