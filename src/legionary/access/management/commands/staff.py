"""``legionary staff add USERNAME --role ROLE [--role ROLE] [--scope SCOPE]`` and ``legionary staff list``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from legionary.access.models import Staff
from legionary.access.roles import Role
from legionary.access.services import Scope, StaffError, staff_add
from legionary.commands import LegionaryCommand, UsageError


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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            self._add(options)
        else:
            self._list(options)

    def _add(self, options: dict[str, Any]) -> None:
        try:
            scope = Scope.parse(options["scope"])
            user, password = staff_add(username=options["username"], roles=options["roles"], scope=scope, actor="cli")
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
