"""``legionary duplicates --json``: groups of records screening considers one person, and pairs a
person should review, from blind indexes only (nothing is decrypted)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import LegionaryCommand
from legionary.identity import services
from legionary.identity.models import Person


class Command(LegionaryCommand):
    help = "Lists groups of records that screening considers the same person, and possible pairs (blind indexes only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        screened = services.duplicate_screen()
        ids = {member for group in screened.groups for member in group.members}
        ids |= {member for pair in screened.possible for member in pair.members}
        refs: dict[str, str | None] = {}
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            refs.update(Person.objects.filter(id__in=chunk).values_list("id", "external_ref"))
        groups = [
            {"members": [refs.get(m) or m for m in group.members], "reasons": list(group.reasons)}
            for group in screened.groups
        ]
        possible = [
            {"members": [refs.get(m) or m for m in pair.members], "reasons": list(pair.reasons)}
            for pair in screened.possible
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"groups": groups, "possible": possible}, ensure_ascii=False))
            return
        for group in groups:
            self.stdout.write(f"{', '.join(group['members'])}  ({', '.join(group['reasons'])})")
        for pair in possible:
            self.stdout.write(f"possible: {', '.join(pair['members'])}  ({', '.join(pair['reasons'])})")
        self.stdout.write(f"{len(groups)} groups, {len(possible)} possible pairs to review.")
