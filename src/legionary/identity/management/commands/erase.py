"""``legionary erase <person-id> --reason TEXT``: crypto-shred one person's sealed identity."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.core.reasons import visible_reason
from legionary.identity import services
from legionary.identity.models import Person


class Command(LegionaryCommand):
    help = "Crypto-shreds one person's sealed identity; the pseudonymous records stay, marked erased."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("person_id")
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        reason = visible_reason(options["reason"])
        if not reason:
            raise UsageError("Give the reason for the erasure with --reason (a few words).")
        person = Person.objects.filter(id=options["person_id"]).first()
        if person is None:
            raise UsageError(f"No person has the id {options['person_id']!r}.")
        if person.is_erased:
            raise UsageError(f"Person {person.id} was already erased on {person.erased_at:%Y-%m-%d}.")
        services.erase_person_data(person=person, actor_name=operator_actor(), reason=reason)
        self.stdout.write(f"Erased the sealed identity of {person.id} ({person.call_sign}).")
