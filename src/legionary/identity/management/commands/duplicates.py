"""``legionary duplicates --json``: groups of records screening considers one person, from blind
indexes only (nothing is decrypted)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import LegionaryCommand
from legionary.identity import services
from legionary.identity.models import Person
from legionary.vetting.duplicates import apply_resolutions


class Command(LegionaryCommand):
    help = "Lists groups of records that screening considers the same person (blind indexes only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        # A counter-intelligence officer's conclusions (same person / different people) applied.
        resolved = apply_resolutions([(list(g.members), list(g.reasons)) for g in services.duplicate_groups()])
        ids = {member for group in resolved.groups for member in group.members}
        ids |= {member for pair in resolved.dismissed for member in pair}
        refs = dict(Person.objects.filter(id__in=list(ids)).values_list("id", "external_ref"))
        out: list[dict[str, Any]] = [
            {
                "members": [refs.get(m) or m for m in group.members],
                "reasons": group.reasons,
                "confirmed": group.confirmed,
            }
            for group in resolved.groups
        ]
        dismissed = [
            {"members": [refs.get(m) or m for m in pair], "reasons": ["different_people"]}
            for pair in resolved.dismissed
        ]
        if options["json"]:
            self.stdout.write(json.dumps({"groups": out, "dismissed": dismissed}, ensure_ascii=False))
            return
        for group in out:
            self.stdout.write(f"{', '.join(group['members'])}  ({', '.join(group['reasons'])})")
        self.stdout.write(f"{len(out)} groups.")
