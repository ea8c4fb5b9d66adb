"""``legionary restore FILE --key PRIVATE_KEY``: restores a backup made by ``legionary backup``.

Checks the archive's signature over every byte against this instance's audit signing key and
refuses a tampered, truncated or foreign archive (exit 1) before writing anything; then replaces
the database and uploads, migrates, re-applies the erasure journal and records the restore in the
audit log. The keyring must already be in place: it is never in a backup. Before anything is
written, the installed keyring must open a data key of every key-encryption-key version the
archive uses (a keyring copied before a ``keys rotate`` is refused, naming the missing version).
A home that holds the keys but no database schema yet is restored into as it is.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from legionary.commands import EXIT_CHECK_FAILED, LegionaryCommand, UsageError, operator_actor
from legionary.core import backup

KEY_ENV = "LEGIONARY_BACKUP_KEY"


class Command(LegionaryCommand):
    help = "Restores a backup into this instance (the keyring must be in place; it is not in backups)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the archive written by `legionary backup`")
        parser.add_argument("--key", help=f"the private backup key file (or set {KEY_ENV})")
        parser.add_argument("--check", action="store_true", help="only check the signature; restore nothing")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["file"])
        if not source.is_file():
            raise UsageError(f"{source} is not a file. Give the path of a backup archive.")
        try:
            if options["check"]:
                manifest, _digest = backup.archive_verify(source)
                self._report({"manifest": manifest, "verified": True}, options["json"], "Signature verified")
                return
            key = options["key"] or os.environ.get(KEY_ENV)
            if not key:
                raise UsageError(f"Give the private backup key with --key FILE (or {KEY_ENV}).")
            self._keyring_ready()
            show = sys.stderr.isatty() and not options["json"]
            with tqdm(unit="B", unit_scale=True, desc="restore", file=sys.stderr, disable=not show) as bar:
                result = backup.backup_restore(
                    source=source, private_key_path=Path(key), progress=bar.update, actor=operator_actor()
                )
        except backup.ArchiveRejected as exc:
            raise CommandError(str(exc), returncode=EXIT_CHECK_FAILED) from None
        except backup.BackupError as exc:
            raise UsageError(str(exc)) from None
        self._report(
            {"manifest": result.manifest, "erasures_reapplied": result.erasures_reapplied},
            options["json"],
            f"Restored backup {result.manifest.get('backup_id')} of {result.manifest.get('created_at')}; "
            f"{result.erasures_reapplied} later erasures re-applied",
        )

    def _keyring_ready(self) -> None:
        """The keyring must load; whether it opens the archive's data keys is checked on the archive
        itself, before anything is written (the live database may not even have a schema yet)."""
        from legionary.identity.keyring import KeyringError
        from legionary.identity.services import key_provider

        try:
            key_provider()
        except KeyringError as exc:
            raise UsageError(
                f"{exc} Backups never hold the keyring: put the instance's keyring back before restoring."
            ) from None

    def _report(self, document: dict[str, Any], as_json: bool, sentence: str) -> None:
        if as_json:
            self.stdout.write(json.dumps(document, sort_keys=True))
        else:
            self.stdout.write(sentence + ".")
