"""``legionary init``: the home folder, the schema, a keyring and the audit signing key.

Idempotent: run again, it migrates the schema and keeps every existing key. It never overwrites or
regenerates a keyring.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command

from legionary.commands import LegionaryCommand, UsageError


class Command(LegionaryCommand):
    help = "Creates LEGIONARY_HOME, the database schema, a keyring and the audit signing key."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        from legionary.audit.services import signing_key_init
        from legionary.identity.keyring import KeyringError
        from legionary.identity.services import keyring_init

        for folder in (settings.LEGIONARY_UPLOADS, settings.LOG_DIR):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        try:
            created_keyring = keyring_init()
        except KeyringError as exc:
            raise UsageError(str(exc)) from None
        created_signing_key = signing_key_init()
        self.stdout.write(f"LEGIONARY_HOME: {settings.LEGIONARY_HOME}")
        self.stdout.write("Database schema: up to date")
        state = "created" if created_keyring else "kept"
        self.stdout.write(
            f"Keyring: {state} at {settings.LEGIONARY_KEYRING} (mode 0600; back it up apart from the database)"
        )
        self.stdout.write(
            f"Audit signing key: {'created' if created_signing_key else 'kept'} at {settings.LEGIONARY_AUDIT_KEY}"
        )
