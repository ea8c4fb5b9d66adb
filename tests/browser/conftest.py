"""A real instance for the browser tests: ``legionary init``, ``staff add`` and ``serve`` as subprocesses.

One server per test module: it runs with production settings (not ``tests.settings``), its own fresh
LEGIONARY_HOME and ``LEGIONARY_HTTPS=0`` on a free loopback port, with the staff accounts the module's
``staff_accounts`` fixture names (override it in a module for another cast). When the suite runs on
PostgreSQL (DATABASE_URL set) it gets its own database on that server, dropped afterwards. Chromium
is Debian's, driven by Playwright; every page records the Content-Security-Policy violations the
browser reports, and a test fails when there is one.

Nothing here may touch the test database of the in-process suite or leave a server running.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from tests.browser.pages import StaffNavigator
from tests.core.instance import ServerFailed, fresh_database, legionary_env, run_legionary, served, start_from_migrated

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Accounts made through the CLI before the server starts: one per test that enrols an authenticator.
ACCOUNTS = ("alice", "bob", "carol")
# A new browser context (no cookies) on the instance, watched like ``page``; the argument is its locale.
OpenPage = Callable[..., Page]

# Reports every CSP violation to Python; Playwright's init scripts are not subject to the page's CSP.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.legionaryCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@dataclass
class Instance:
    base_url: str
    home: Path
    passwords: dict[str, str]
    log: Path
    database_url: str | None


@dataclass
class CspWatch:
    """What the browser said about the Content-Security-Policy while a test ran."""

    violations: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def on_violation(self, description: str) -> None:
        self.violations.append(description)

    def on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)


@pytest.fixture(scope="module")
def staff_accounts() -> dict[str, list[str]]:
    """Username → roles of the accounts ``legionary staff add`` makes before the server starts."""
    return {username: ["intake_officer"] for username in ACCOUNTS}


@pytest.fixture(scope="module")
def server_settings() -> dict[str, str]:
    """Environment variables the module's server runs with beyond the defaults (override it in a module)."""
    return {}


@pytest.fixture(scope="module")
def instance(staff_accounts: dict[str, list[str]], server_settings: dict[str, str]) -> Iterator[Instance]:
    """An initialised instance with the module's staff accounts, served by gunicorn until the module ends."""
    root = Path(tempfile.mkdtemp(prefix="legionary-browser-"))
    with fresh_database(migrated=True) as database_url:
        env = legionary_env(root / "home", database_url, LEGIONARY_HTTPS="0", **server_settings)
        start_from_migrated(env)
        initialised = run_legionary(env, "init")
        assert initialised.returncode == 0, initialised.stderr
        passwords = {}
        for username, roles in staff_accounts.items():
            role_args = [arg for role in roles for arg in ("--role", role)]
            added = run_legionary(env, "staff", "add", username, *role_args, "--json")
            assert added.returncode == 0, added.stderr
            passwords[username] = json.loads(added.stdout)["password"]
        try:
            with served(env, root / "server.log") as server:
                yield Instance(
                    base_url=server.base_url,
                    home=root / "home",
                    passwords=passwords,
                    log=server.log,
                    database_url=database_url,
                )
        except ServerFailed as exc:
            pytest.fail(str(exc))
        finally:
            # The home holds the instance's keyring; nothing of it outlives the module.
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; run `make system-deps` (apt-get install chromium).")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def csp() -> CspWatch:
    return CspWatch()


@pytest.fixture
def open_page(browser: Browser, instance: Instance, csp: CspWatch) -> Iterator[OpenPage]:
    """Opens fresh browser contexts (one per person in a story) whose CSP violations go to ``csp``."""
    contexts: list[BrowserContext] = []

    def open_(locale: str = "en-GB") -> Page:
        context = browser.new_context(base_url=instance.base_url, locale=locale)
        contexts.append(context)
        context.expose_function("legionaryCspViolation", csp.on_violation)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", csp.on_console)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: OpenPage) -> Page:
    """A fresh browser context (no cookies) whose CSP violations fail the test."""
    return open_page()


@pytest.fixture
def clean_browser(csp: CspWatch) -> Iterator[CspWatch]:
    """After the test, asserts the browser reported no CSP violation and no console error."""
    yield csp
    assert csp.violations == [], f"CSP violations: {csp.violations}"
    # A missing static file or a script error shows here too.
    errors = [line for line in csp.console if line.startswith("error:")]
    assert errors == [], f"console errors: {errors}"


@pytest.fixture
def nav(page: Page, instance: Instance, clean_browser: CspWatch) -> StaffNavigator:
    """The page-object navigator; after the test, asserts the browser reported no CSP violation or error."""
    return StaffNavigator(page, instance.passwords)
