"""``legionary demo [--people N]``: obviously synthetic data for trying the system out.

Creates one staff account per role (passwords written to ``$LEGIONARY_HOME/demo-credentials.txt``,
mode 0600, and printed) and N synthetic applicants. Demo names are made up from a tiny list and
marked as such; nothing here resembles a real person.
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


class Command(LegionaryCommand):
    help = "Fills an initialised instance with synthetic staff and people, and prints how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=60, help="How many synthetic applicants (default 60).")

    def handle(self, *args: Any, **options: Any) -> None:
        people = options["people"]
        if people < 0 or people > 10_000_000:
            raise UsageError("--people must be between 0 and 10000000.")
        credentials = self._staff()
        from legionary.core.demo import make_people

        made = make_people(people, progress_to=sys.stderr if os.isatty(2) else None)
        path = settings.LEGIONARY_HOME / "demo-credentials.txt"
        if credentials:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                for username, password in credentials:
                    handle.write(f"  {username:<22} {password}\n")
        self.stdout.write(f"Demo data: {len(credentials)} new staff accounts, {made} synthetic applicants.")
        if credentials:
            self.stdout.write("Staff accounts (username, password); they are also in " + str(path) + ":")
            for username, password in credentials:
                self.stdout.write(f"  {username:<22} {password}")
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
                _, password = staff_add(username=username, roles=[role], scope=Scope(), actor="demo")
                made.append((username, password))
        return made
