"""``legionary duplicates --json``: groups of records screening considers one person, and pairs a
person should review, from blind indexes only (nothing is decrypted)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import LegionaryCommand
from legionary.identity import services
from legionary.identity.models import Person
from legionary.vetting.duplicates import apply_resolutions


class Command(LegionaryCommand):
    help = "Lists groups of records that screening considers the same person, and possible pairs (blind indexes only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        screened = services.duplicate_screen()
        # A counter-intelligence officer's conclusions (same person / different people) applied.
        resolved = apply_resolutions([(list(g.members), list(g.reasons)) for g in screened.groups])
        concluded = {frozenset(pair) for pair in resolved.dismissed}
        grouped = {member for group in resolved.groups for member in group.members}
        pairs = [
            pair
            for pair in screened.possible
            if frozenset(pair.members) not in concluded and not set(pair.members) <= grouped
        ]
        ids = grouped | {member for pair in pairs for member in pair.members}
        ids |= {member for pair in resolved.dismissed for member in pair}
        refs: dict[str, str | None] = {}
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            refs.update(Person.objects.filter(id__in=chunk).values_list("id", "external_ref"))
        groups: list[dict[str, Any]] = [
            {
                "members": [refs.get(m) or m for m in group.members],
                "reasons": list(group.reasons),
                "confirmed": group.confirmed,
            }
            for group in resolved.groups
        ]
        possible = [
            {"members": [refs.get(m) or m for m in pair.members], "reasons": list(pair.reasons)} for pair in pairs
        ]
        dismissed = [
            {"members": [refs.get(m) or m for m in pair], "reasons": ["different_people"]}
            for pair in resolved.dismissed
        ]
        if options["json"]:
            self.stdout.write(
                json.dumps({"groups": groups, "possible": possible, "dismissed": dismissed}, ensure_ascii=False)
            )
            return
        for group in groups:
            self.stdout.write(f"{', '.join(group['members'])}  ({', '.join(group['reasons'])})")
        for pair in possible:
            self.stdout.write(f"possible: {', '.join(pair['members'])}  ({', '.join(pair['reasons'])})")
        self.stdout.write(f"{len(groups)} groups, {len(possible)} possible pairs to review.")
