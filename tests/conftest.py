"""The cast of the test suite and the clients they sign in with.

Like healthchecks' base test case: staff of every role, built in code, signed in with both factors
through the same session keys the login view sets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind

MakeStaff = Callable[..., Staff]


@pytest.fixture(scope="session", autouse=True)
def instance_keys() -> None:
    """A keyring and an audit signing key in the test home, as `legionary init` makes them."""
    from legionary.audit.services import signing_key_init
    from legionary.identity.services import keyring_init

    keyring_init()
    signing_key_init()


@pytest.fixture(autouse=True)
def kept_checkpoint_per_test(settings: Any, tmp_path: Path) -> None:
    """Each test keeps its audit checkpoints outside the database in its own file: the test
    database is emptied between tests, and a checkpoint kept by an earlier test would (rightly)
    make the next test's log look truncated."""
    settings.LEGIONARY_AUDIT_CHECKPOINT = tmp_path / "audit-checkpoint"


@pytest.fixture
def make_staff(db: None) -> MakeStaff:
    def make(
        username: str,
        *roles: str,
        scope_kind: str = ScopeKind.SYSTEM,
        scope_ref: str = "",
        password: str = "correct horse battery staple",
    ) -> Staff:
        staff = Staff.objects.create_user(username=username, password=password)
        for role in roles:
            RoleGrant.objects.create(staff=staff, role=role, scope_kind=scope_kind, scope_ref=scope_ref)
        TOTPDevice.objects.create(user=staff, name="authenticator", confirmed=True)
        return staff

    return make


def signed_in(staff: Staff) -> Client:
    """A CSRF-enforcing client signed in with password and second factor."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    device = TOTPDevice.objects.filter(user=staff, confirmed=True).first()
    assert device is not None
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def cast(make_staff: MakeStaff) -> dict[str, Staff]:
    """One account per role, named after it, with a system-wide grant."""
    return {role: make_staff(f"{role.replace('_', '-')}-1", role) for role in Role.values}


@pytest.fixture
def openings_alert_policy(settings: Any) -> None:
    """Every legion's break-glass goes through at once (alerting the security officer) and no daily
    allowance runs out, for tests about what an opening shows rather than who may open: the gate
    itself is tested in tests/identity/test_openings.py under the default policy."""
    default = settings.LEGIONARY_OPENING_POLICY["default"]
    unlimited = {role: 10**9 for role in default["allowance"]}
    settings.LEGIONARY_OPENING_POLICY = {
        "default": {**default, "break_glass": "alert", "allowance": unlimited},
        "legions": {},
    }
