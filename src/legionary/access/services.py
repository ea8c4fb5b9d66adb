"""Actions on staff accounts. Each one writes its audit entry in the same transaction."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind
from legionary.audit.services import audit_record

RECOVERY_CODE_COUNT = 10


class StaffError(Exception):
    """A staff action cannot be done; the message says why in one sentence."""


@dataclass(frozen=True)
class Scope:
    kind: str = ScopeKind.SYSTEM
    ref: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """``system``, ``legion:frl``, ``unit:<id>``, ``cohort:<id>`` or ``case:<id>``."""
        if not text or text == ScopeKind.SYSTEM:
            return cls()
        kind, sep, ref = text.partition(":")
        if not sep or kind not in ScopeKind.values or kind == ScopeKind.SYSTEM or not ref or len(ref) > 64:
            raise StaffError(f"Unknown scope {text!r}; use system, legion:SLUG, unit:ID, cohort:ID or case:ID.")
        return cls(kind, ref)


def generate_password() -> str:
    """A random initial password (about 120 bits), to be changed by its owner."""
    return secrets.token_urlsafe(15)


def staff_add(
    *, username: str, roles: list[str], scope: Scope, actor: str, password: str | None = None
) -> tuple[Staff, str]:
    """Creates an account with one grant per role; returns it and its initial password."""
    if not roles:
        raise StaffError("Give at least one role with --role.")
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise StaffError(f"Unknown role {unknown[0]!r}; choose from: {', '.join(Role.values)}.")
    model = get_user_model()
    user = model(username=username)
    try:
        model.username_validator(username)
    except Exception:  # noqa: BLE001 — Django raises ValidationError with a list of messages
        raise StaffError("A username may hold letters, digits and @ . + - _ only, at most 150 characters.") from None
    password = password or generate_password()
    try:
        validate_password(password, user)
    except Exception as exc:  # noqa: BLE001
        raise StaffError("The password is too weak: " + " ".join(getattr(exc, "messages", []))) from None
    try:
        with transaction.atomic():
            user.set_password(password)
            user.save()
            for role in roles:
                RoleGrant.objects.create(staff=user, role=role, scope_kind=scope.kind, scope_ref=scope.ref)
            audit_record(
                actor=actor,
                action="staff.created",
                details={"username": username, "roles": sorted(roles), "scope": f"{scope.kind}:{scope.ref}"},
            )
    except IntegrityError:
        raise StaffError(f"A staff account named {username!r} already exists.") from None
    return user, password


def staff_grant(*, staff: Staff, role: str, scope: Scope, actor: str) -> RoleGrant:
    if role not in Role.values:
        raise StaffError(f"Unknown role {role!r}; choose from: {', '.join(Role.values)}.")
    with transaction.atomic():
        grant, _ = RoleGrant.objects.get_or_create(staff=staff, role=role, scope_kind=scope.kind, scope_ref=scope.ref)
        audit_record(
            actor=actor,
            action="staff.granted",
            details={"username": staff.username, "role": role, "scope": f"{scope.kind}:{scope.ref}"},
        )
    return grant


def staff_confirm_second_factor(*, staff: Staff, device: TOTPDevice) -> list[str]:
    """Confirms the authenticator and issues single-use recovery codes (django-otp static tokens).

    The codes are shown once. django-otp keeps them as they are, like the TOTP seed; both are
    only a second factor and useless without the password (docs/security.md).
    """
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=staff, name="recovery").delete()
    static = StaticDevice.objects.create(user=staff, name="recovery", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        static.token_set.create(token=code)
    audit_record(actor=staff.username, action="staff.second_factor_enrolled")
    return codes


def base32_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def staff_set_password(*, username: str, actor: str) -> str:
    """Gives an account a new random password (what Django's changepassword did, audited).

    Its authenticator stays: the new password alone does not sign in. Returns the password, shown once.
    """
    with transaction.atomic():
        staff = Staff.objects.select_for_update().filter(username=username).first()
        if staff is None:
            raise StaffError(f"There is no staff account named {username!r}; `legionary staff list` shows them.")
        password = generate_password()
        staff.set_password(password)
        staff.save(update_fields=["password"])
        audit_record(actor=actor, action="staff.password_reset", details={"username": username})
    return password


def staff_unlock(*, username: str, address: str | None, actor: str) -> int:
    """Clears the failed sign-ins that lock an account out (from one address, or from all).

    What ``axes_reset_username`` did, with an audit entry. Returns how many records were cleared.
    """
    from axes.utils import reset

    if not Staff.objects.filter(username=username).exists():
        raise StaffError(f"There is no staff account named {username!r}; `legionary staff list` shows them.")
    with transaction.atomic():
        cleared = int(reset(ip=address, username=username))
        audit_record(
            actor=actor,
            action="staff.unlocked",
            details={"username": username, "address": address or "", "cleared": cleared},
        )
    return cleared
