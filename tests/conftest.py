"""The cast of the test suite and the clients they sign in with.

Like healthchecks' base test case: staff of every role, built in code, signed in with both factors
through the same session keys the login view sets.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from legionary.access.models import RoleGrant, Staff
from legionary.access.roles import Role, ScopeKind

MakeStaff = Callable[..., Staff]

THIS_FILE = Path(__file__).resolve()
TESTS = THIS_FILE.parent
# The fixtures through which a test reaches the in-process test database (pytest-django refuses
# any database access to a test that has none of them).
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}
)
# How test code reaches PostgreSQL otherwise: a database of its own on the suite's server
# (tests.core.instance.fresh_database), the server's URL, the settings, or a driver connection.
# ``legionary_env`` drops DATABASE_URL, so a child process runs on PostgreSQL only when given one.
DATABASE_WORDS = ("fresh_database", "DATABASE_URL", "DATABASES", "psycopg", "pgserver", "connection")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--every-test-on-postgres",
        action="store_true",
        help="on PostgreSQL, run the tests that use no database too (they are deselected there by default)",
    )


def _test_modules(module: ModuleType) -> set[ModuleType]:
    """``module`` and every module of this suite it reaches through its globals, transitively."""
    found: set[ModuleType] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        for value in vars(current).values():
            owner = value if isinstance(value, ModuleType) else inspect.getmodule(value)
            if owner is not None and owner.__name__.startswith("tests") and owner not in found:
                todo.append(owner)
    return found


def _reaches_a_database(item: pytest.Item, sources: dict[str, str]) -> bool:
    """Whether a test can touch a database: it has a database fixture, or its module, its fixtures'
    modules or the suite's modules they use (helpers, instance fixtures) name a way to PostgreSQL."""
    if set(getattr(item, "fixturenames", ())) & DATABASE_FIXTURES or item.get_closest_marker("django_db"):
        return True
    modules = _test_modules(item.module) if isinstance(item, pytest.Function) else set()
    for definitions in item._fixtureinfo.name2fixturedefs.values() if isinstance(item, pytest.Function) else ():
        for definition in definitions:
            owner = inspect.getmodule(definition.func)
            if owner is not None and owner.__name__.startswith("tests"):
                modules |= _test_modules(owner)
    for module in modules:
        path = getattr(module, "__file__", None)
        # This file names those ways itself; each of its fixtures that touches the database asks for ``db``.
        if path is None or not Path(path).resolve().is_relative_to(TESTS) or Path(path).resolve() == THIS_FILE:
            continue
        if path not in sources:
            sources[path] = Path(path).read_text(encoding="utf-8")
        if any(word in sources[path] for word in DATABASE_WORDS):
            return True
    return not isinstance(item, pytest.Function)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, the tests that cannot touch a database are deselected: they ran on SQLite
    already, and would prove nothing more on a second run (parsing, normalisation, crypto, catalogues,
    hypothesis properties). Every test that can reach a database runs on both engines."""
    from django.conf import settings

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"] or config.getoption("--every-test-on-postgres"):
        return
    sources: dict[str, str] = {}
    kept = [item for item in items if _reaches_a_database(item, sources)]
    if len(kept) < len(items):
        kept_ids = {id(item) for item in kept}
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept_ids])
        items[:] = kept


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
