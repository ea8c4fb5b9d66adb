"""``legionary demo [--people N]``: obviously synthetic data for trying the system out.

Creates one staff account per role (passwords written to ``$LEGIONARY_HOME/demo-credentials.txt``,
mode 0600, and printed), then grows the instance to N synthetic people at every stage of the
pipeline with ``core.scale.fill``: sealed identities, vetting cases and checks, cohorts and
enrolments, a unit tree with assignments, and their audit entries. Run again with a larger N, it
adds only the difference. Demo names are made up from a tiny list and marked as such; nothing here
resembles a real person.

The demo accounts hold system-wide grants, and the fill assigns the open cases and checks to the
demo investigator, polygraph examiner and counter-intelligence officer, so every role sees data.

The fill writes its rows in bulk, not through arrival, so it marks no possible duplicate; when it
added people, the demo then marks them as arrival would have, with the service of ``legionary
duplicates backfill-possible`` (``vetting.services.possible_backfill``, under the actor "demo"):
the counter-intelligence officer finds the possible pairs (one at least in every 1,000 people: the
fill plants a re-application under another name) on his "My work" at once.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import transaction

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.access.services import Scope, staff_add
from legionary.commands import LegionaryCommand, UsageError

MAX_PEOPLE = 10_000_000


class Command(LegionaryCommand):
    help = "Fills an initialised instance with synthetic staff and people at every stage, and prints how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--people",
            type=int,
            default=60,
            help="How many synthetic people the instance should hold (default 60); existing ones are kept.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        people = options["people"]
        if not isinstance(people, int) or isinstance(people, bool) or not 0 <= people <= MAX_PEOPLE:
            raise UsageError(f"--people must be a whole number from 0 to {MAX_PEOPLE}.")
        from legionary.audit.services import AuditError, signer
        from legionary.core.scale import ScaleError, check_ready, fill
        from legionary.identity.services import IdentityError, check_keyring_ready

        try:
            check_keyring_ready()
            signer()
            check_ready()
        except (IdentityError, AuditError, ScaleError) as exc:
            raise UsageError(str(exc)) from None
        credentials = self._staff()
        report = fill(people, progress_to=sys.stderr if os.isatty(2) else None)
        marked = None
        if report.added:
            from legionary.vetting.services import possible_backfill

            marked = possible_backfill(actor="demo")
        # The dashboard reads a pre-counted rollup (docs/reports.md); a demo has one from the start.
        from legionary.reports.rollup import refresh as refresh_reports

        refresh_reports()
        path = settings.LEGIONARY_HOME / "demo-credentials.txt"
        # One column for the names, as wide as the longest, so every password starts in one place.
        width = max((len(username) for username, _password in credentials), default=0) + 2
        if credentials:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for username, password in credentials:
                    handle.write(f"  {username:<{width}}{password}\n")
        stages = ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in sorted(report.statuses.items()))
        self.stdout.write(
            f"Demo data: {len(credentials)} new staff accounts, {report.people} synthetic applicants "
            f"({report.added} new" + (f": {stages}" if stages else "") + ")."
        )
        if report.added:
            self.stdout.write(
                f"Added {report.cases} vetting cases, {report.checks} checks, {report.findings} findings, "
                f"{report.flags} screening flags, {report.cohorts} cohorts, {report.enrolments} enrolments, "
                f"{report.units} units, {report.billets} billets, {report.assignments} assignments and "
                f"{report.audit_entries} audit entries in {report.seconds:.0f} s."
            )
        if marked is not None:
            self.stdout.write(
                "Screened as on arrival: possible duplicates marked for the counter-intelligence "
                f"officer to review: {marked.open}."
            )
        if credentials:
            self.stdout.write("Staff accounts (username, password); they are also in " + str(path) + ":")
            for username, password in credentials:
                self.stdout.write(f"  {username:<{width}}{password}")
            self.stdout.write(
                "Sign in at /login/; the first time, leave the code empty and scan the QR code with an "
                "authenticator app (FreeOTP, Aegis, Google Authenticator)."
            )

    def _staff(self) -> list[tuple[str, str]]:
        made = []
        with transaction.atomic():
            for role in Role.values:
                username = "demo-" + role.replace("_", "-")
                if Staff.objects.filter(username=username).exists():
                    continue
                # System-wide: the demo staff see all the demo data their role may see.
                _, password = staff_add(username=username, roles=[role], scope=Scope(), actor="demo")
                made.append((username, password))
        return made
