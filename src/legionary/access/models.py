"""Staff accounts and role grants.

A staff account holds no legionnaire data. A grant gives one role in one scope; an account may hold
several grants. Grants are changed only through ``access.services`` so that each change is audited.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from legionary.access.roles import Role, ScopeKind


class Staff(AbstractUser):
    """A member of staff. Login is username + password (Argon2id) + TOTP."""

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")


class RoleGrant(models.Model):
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=32, choices=Role.choices)
    scope_kind = models.CharField(max_length=16, choices=ScopeKind.choices, default=ScopeKind.SYSTEM)
    # The scoped object's public reference (a legion slug, a unit, cohort or case id); empty for
    # the whole system.
    scope_ref = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["staff", "role", "scope_kind", "scope_ref"], name="unique_grant"),
            models.CheckConstraint(
                condition=(models.Q(scope_kind="system", scope_ref="") | ~models.Q(scope_kind="system")),
                name="system_scope_has_no_ref",
            ),
        ]

    def __str__(self) -> str:
        where = self.scope_kind if not self.scope_ref else f"{self.scope_kind}:{self.scope_ref}"
        return f"{self.role}@{where}"
