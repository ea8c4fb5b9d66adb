"""Test-only set-up for the browser tests: data the pages need before a story starts.

Everything goes through the served instance's own ``legionary`` command, with the instance's
environment (its LEGIONARY_HOME and database): staff accounts with ``legionary staff add``,
applicants with ``legionary import`` of a small JSON Lines file, and, where no page or command
gets there quickly, ``legionary shell -c`` calling the real services. Nothing is mocked.

The one shortcut is ``people_set_status_for_setup``: it writes a person's status directly (an
applicant approved or trained without walking vetting and a whole course), for set-up only; every
step a test proves is then done through the pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser

from tests.browser.conftest import CSP_LISTENER, CspWatch, Instance
from tests.browser.pages import StaffNavigator
from tests.core.instance import legionary_env, run_legionary

# What Chromium logs on the console for a page answered 404.
NOT_FOUND_LOGGED = "error: Failed to load resource: the server responded with a status of 404 (Not Found)"
# Marks the line of ``legionary shell`` output that holds the result, whatever else it prints.
RESULT_MARK = "LEGIONARY-SETUP-RESULT "


@dataclass(frozen=True)
class SetUpPerson:
    """A person made for a test: pseudonymous id and call sign (the only things pages show)."""

    external_ref: str
    id: str
    call_sign: str


def instance_env(instance: Instance) -> dict[str, str]:
    """The environment the served instance runs with (the ``instance`` fixture's)."""
    return legionary_env(instance.home, instance.database_url, LEGIONARY_HTTPS="0")


def staff_add(instance: Instance, username: str, role: str, scope: str = "system") -> None:
    """``legionary staff add USERNAME --role ROLE --scope SCOPE``; the password joins ``instance.passwords``."""
    added = run_legionary(instance_env(instance), "staff", "add", username, "--role", role, "--scope", scope, "--json")
    assert added.returncode == 0, added.stderr
    instance.passwords[username] = json.loads(added.stdout)["password"]


def applicants_import(instance: Instance, applications: list[dict[str, Any]], folder: Path) -> None:
    """``legionary import`` of the applications as JSON Lines: applicants as an import brings them in."""
    path = folder / "applicants.jsonl"
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in applications), encoding="utf-8")
    imported = run_legionary(instance_env(instance), "import", str(path), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["accepted"] == len(applications), imported.stdout


def shell(instance: Instance, code: str) -> Any:
    """Runs ``code`` in ``legionary shell -c``; the code prints its result with ``result(...)``."""
    prelude = f"import json\ndef result(value):\n    print({RESULT_MARK!r} + json.dumps(value))\n"
    ran = run_legionary(instance_env(instance), "shell", "-c", prelude + code)
    assert ran.returncode == 0, ran.stderr
    lines = [line for line in ran.stdout.splitlines() if line.startswith(RESULT_MARK)]
    assert len(lines) == 1, ran.stdout + ran.stderr
    return json.loads(lines[0].removeprefix(RESULT_MARK))


def people_set_status_for_setup(instance: Instance, external_refs: list[str], status: str) -> list[SetUpPerson]:
    """Sets the imported people's status directly (set-up only: no vetting, no course) and returns them."""
    found = shell(
        instance,
        "from legionary.identity.models import Person\n"
        f"refs = {external_refs!r}\n"
        f"Person.objects.filter(external_ref__in=refs).update(status={status!r})\n"
        "people = {p.external_ref: [p.pk, p.call_sign] for p in Person.objects.filter(external_ref__in=refs)}\n"
        "result([[ref, *people[ref]] for ref in refs])\n",
    )
    return [SetUpPerson(external_ref=ref, id=pk, call_sign=call_sign) for ref, pk, call_sign in found]


@contextmanager
def signed_in(browser: Browser, instance: Instance, username: str, section: str) -> Iterator[StaffNavigator]:
    """A staff member's own browser, signed in (first sign-in: password and authenticator), for set-up.

    Watched like a test's pages: a CSP violation or console error on the way fails the set-up.
    """
    csp = CspWatch()
    context = browser.new_context(base_url=instance.base_url, locale="en-GB")
    try:
        context.expose_function("legionaryCspViolation", csp.on_violation)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", csp.on_console)
        member = StaffNavigator(page, instance.passwords)
        member.staff_signs_in_for_the_first_time(username, section)
        yield member
    finally:
        context.close()
    assert csp.violations == [], f"CSP violations during set-up: {csp.violations}"
    errors = [line for line in csp.console if line.startswith("error:")]
    assert errors == [], f"console errors during set-up: {errors}"


def consume_expected_404s(csp: CspWatch, count: int) -> None:
    """Takes the console errors of ``count`` pages a test asked for and expected to be 404, and no more.

    Chromium logs every 404 page as a console error; the ``clean_browser`` check then sees only the rest.
    """
    assert csp.console.count(NOT_FOUND_LOGGED) == count, csp.console
    csp.console[:] = [line for line in csp.console if line != NOT_FOUND_LOGGED]
