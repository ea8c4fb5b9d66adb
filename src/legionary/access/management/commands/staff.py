"""``legionary staff add|list|password|unlock``: staff accounts, changed only through audited services.

``add USERNAME --role ROLE [--role ROLE] [--scope SCOPE]`` creates an account; ``password USERNAME``
gives it a new random password (Django's ``changepassword``, audited); ``unlock USERNAME
[--address IP]`` clears the failed sign-ins that lock it out (``axes_reset_username``, audited);
``attempts`` lists the failed sign-ins recorded (``axes_list_attempts``).
Django's own ``createsuperuser``, ``changepassword`` and ``axes_reset*`` are not offered by
``legionary``: they write no audit entry.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.access.services import Scope, StaffError, staff_add, staff_set_password, staff_unlock
from legionary.commands import LegionaryCommand, UsageError, operator_actor


class Command(LegionaryCommand):
    help = "Manages staff accounts: add one, or list them with their roles."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create a staff account and print its initial password.")
        add.add_argument("username")
        add.add_argument("--role", action="append", required=True, choices=Role.values, dest="roles")
        add.add_argument("--scope", default="system", help="system, legion:SLUG, unit:ID, cohort:ID or case:ID")
        add.add_argument("--json", action="store_true")
        lst = sub.add_parser("list", help="List staff accounts and their grants.")
        lst.add_argument("--json", action="store_true")
        password = sub.add_parser("password", help="Give an account a new random password and print it once.")
        password.add_argument("username")
        password.add_argument("--json", action="store_true")
        unlock = sub.add_parser("unlock", help="Clear the failed sign-ins that lock an account out.")
        unlock.add_argument("username")
        unlock.add_argument("--address", help="clear only the failures from this address")
        attempts = sub.add_parser("attempts", help="List the failed sign-ins recorded (address, username, count).")
        attempts.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "add":
                self._add(options)
            elif options["action"] == "password":
                self._password(options)
            elif options["action"] == "unlock":
                cleared = staff_unlock(username=options["username"], address=options["address"], actor=operator_actor())
                self.stdout.write(f"Unlocked {options['username']}: {cleared} failed sign-in records cleared.")
            elif options["action"] == "attempts":
                self._attempts(options)
            else:
                self._list(options)
        except StaffError as exc:
            raise UsageError(str(exc)) from None

    def _attempts(self, options: dict[str, Any]) -> None:
        from axes.models import AccessAttempt

        rows = list(
            AccessAttempt.objects.order_by("username", "ip_address").values_list(
                "ip_address", "username", "failures_since_start"
            )
        )
        if options["json"]:
            keys = ("address", "username", "failures")
            self.stdout.write(json.dumps({"attempts": [dict(zip(keys, row, strict=True)) for row in rows]}))
            return
        for address, username, failures in rows:
            self.stdout.write(f"{address}\t{username}\t{failures}")

    def _password(self, options: dict[str, Any]) -> None:
        password = staff_set_password(username=options["username"], actor=operator_actor())
        if options["json"]:
            self.stdout.write(json.dumps({"username": options["username"], "password": password}))
        else:
            self.stdout.write(
                f"New password of {options['username']}: {password}\n"
                "Give it over a channel you trust; the account's authenticator is unchanged."
            )

    def _add(self, options: dict[str, Any]) -> None:
        try:
            scope = Scope.parse(options["scope"])
            user, password = staff_add(
                username=options["username"], roles=options["roles"], scope=scope, actor=operator_actor()
            )
        except StaffError as exc:
            raise UsageError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps({"username": user.username, "password": password}))
        else:
            self.stdout.write(
                f"Created {user.username} with initial password: {password}\n"
                "On first sign-in, leave the code empty and set up an authenticator app."
            )

    def _list(self, options: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = []
        for staff in Staff.objects.prefetch_related("grants").order_by("username"):
            grants = [str(g) for g in staff.grants.all()]
            rows.append({"username": staff.username, "active": staff.is_active, "grants": grants})
        if options["json"]:
            self.stdout.write(json.dumps({"staff": rows}))
            return
        for row in rows:
            state = "" if row["active"] else " (disabled)"
            self.stdout.write(f"{row['username']}{state}: {', '.join(row['grants']) or 'no roles'}")
