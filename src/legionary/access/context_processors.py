from __future__ import annotations

from django.http import HttpRequest

from legionary.access.policy import is_fully_signed_in, request_permissions


def staff_context(request: HttpRequest) -> dict[str, object]:
    """What the base layout needs: whether a staff member is signed in, and what he may open."""
    from legionary.access.views import sections_for

    signed_in = is_fully_signed_in(request)
    perms = request_permissions(request) if signed_in else frozenset()
    return {
        "staff_signed_in": signed_in,
        "staff_perms": {str(p) for p in perms},
        "staff_nav": sections_for(perms, one_per_place=True) if signed_in else [],
    }
