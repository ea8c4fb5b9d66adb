"""``legionary screening load FILE [--name NAME]``: load a designation or sanctions list.

The file is a FollowTheMoney / OpenSanctions JSON export, one entity per line. Only blind-index
tokens, the list's entry ids and captions are stored; open cases are screened against it at once.
Prints the counts, never a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.identity.services import IdentityError, check_keyring_ready
from legionary.vetting import services


class Command(LegionaryCommand):
    help = "Loads a designation or sanctions list (FollowTheMoney JSON lines) and screens open cases."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Load (or reload) a list from a FollowTheMoney JSON-lines file.")
        load.add_argument("file")
        load.add_argument("--name", help="The list's name (default: the file name without extension).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise UsageError(f"There is no file {path}. Give the path of a FollowTheMoney JSON export.")
        try:
            check_keyring_ready()
        except IdentityError as exc:
            raise UsageError(str(exc)) from None
        name = options["name"] or path.name.split(".")[0]
        try:
            with path.open(encoding="utf-8") as lines:
                loaded = services.screening_list_load(name=name, lines=lines, actor_name=operator_actor())
        except (services.VettingError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: {exc}") from None
        self.stdout.write(
            f"Loaded list {name!r}: {loaded.entries} people, {loaded.skipped} other entities skipped; "
            f"{loaded.hits} new screening hits on open cases."
        )
