"""``legionary screening load FILE [--name NAME]`` and ``legionary screening hits [--json]``.

``load`` reads a FollowTheMoney / OpenSanctions export, one entity per line; only blind-index
tokens, the list's entry ids and captions are stored, and everyone is screened against it at once.
``hits`` lists every hit with its member (external reference or pseudonymous id), list, entry,
via, strength and state. Neither prints a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import JsonList, LegionaryCommand, StreamedText, UsageError, operator_actor
from legionary.identity.services import IdentityError, check_keyring_ready
from legionary.vetting import screening


class Command(LegionaryCommand):
    help = "Loads designation or sanctions lists (FollowTheMoney JSON lines) and lists screening hits."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Load (or reload) a list from a FollowTheMoney JSON-lines file.")
        load.add_argument("file")
        load.add_argument("--name", help="The list's name (default: the file name without extension).")
        hits = sub.add_parser("hits", help="Every screening hit, whatever the state of the person's case.")
        hits.add_argument("--json", action="store_true", help="One JSON document on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "hits":
            self._hits(as_json=options["json"])
            return
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
                loaded = screening.screening_list_load(name=name, lines=lines, actor_name=operator_actor())
        except UnicodeDecodeError:
            raise UsageError(f"{path} is not UTF-8 text; a FollowTheMoney export is JSON lines in UTF-8.") from None
        except screening.ScreeningError as exc:
            raise UsageError(f"{path}: {exc} Nothing of the file was kept.") from None
        self.stdout.write(
            f"Loaded list {loaded.screening_list.name!r}: {loaded.entries} people, {loaded.skipped} other entities "
            f"skipped; everyone screened, {loaded.hits} new screening hits."
        )

    def _hits(self, *, as_json: bool) -> None:
        # Written as read: a million people's hits are never held at once.
        out = StreamedText(self.stdout)
        hits = JsonList(out, "hits", first=True) if as_json else None
        count = open_count = 0
        for row in screening.screening_hits():
            count += 1
            open_count += row.state == "open"
            if hits is not None:
                hits.add(
                    {
                        "member": row.member,
                        "list": row.list,
                        "entry": row.entry,
                        "via": row.via,
                        "strength": row.strength,
                        "state": row.state,
                    }
                )
            else:
                out.write(
                    f"{row.member}  {row.list}/{row.entry}  via {row.via.replace('_', ' ')}  {row.strength}  "
                    f"{row.state}\n"
                )
        if hits is not None:
            hits.close(end=True)
        else:
            out.write(f"{count} screening hits, {open_count} open.\n")
        out.flush()
