"""``legionary backup FILE``: an encrypted, signed archive of the database and uploads.

``--init-key`` creates the backup key pair (also made on the first backup): the public key goes
beside the keyring, the private key to ``--private-key-out`` (default
``$LEGIONARY_HOME/backup-private.key``), to be moved off the machine at once. The keyring is never
in a backup; the output says so. Never prints a key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.core import backup


class Command(LegionaryCommand):
    help = "Writes an encrypted, signed backup of the database and uploads (the keyring is not included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the archive to write (must not exist)")
        parser.add_argument("--init-key", action="store_true", help="create the backup key pair")
        parser.add_argument("--private-key-out", help="where to write a new private backup key")
        parser.add_argument("--json", action="store_true", help="print the manifest as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["file"] and not options["init_key"]:
            raise UsageError("Give the file to write the backup to, or --init-key to create the backup key.")
        try:
            if options["file"]:
                backup.check_destination(Path(options["file"]).absolute())  # before any key is made
            if options["init_key"] or not backup.public_key_path().exists():
                self._init_key(options["private_key_out"])
            if options["file"]:
                self._backup(Path(options["file"]), as_json=options["json"])
        except backup.BackupError as exc:
            raise UsageError(str(exc)) from None

    def _init_key(self, private_out: str | None) -> None:
        target = Path(private_out) if private_out else backup.default_private_key_path()
        public, key_id = backup.backup_key_init(target.absolute())
        out = self.stderr if not sys.stdout.isatty() else self.stdout
        out.write(f"Backup key {key_id} created: public key at {public}.")
        out.write(
            f"The private backup key is at {target.absolute()}. Move it off this machine now (and keep a copy "
            "apart from the keyring): without it no backup can be restored, and with it and the keyring anyone "
            "can read one."
        )

    def _backup(self, path: Path, *, as_json: bool) -> None:
        show = sys.stderr.isatty() and not as_json
        with tqdm(unit="B", unit_scale=True, desc="backup", file=sys.stderr, disable=not show) as bar:
            result = backup.backup_create(destination=path.absolute(), progress=bar.update, actor=operator_actor())
        manifest = result.manifest
        if as_json:
            self.stdout.write(json.dumps(manifest, sort_keys=True))
            return
        self.stdout.write(
            f"Backup {manifest['backup_id']} written to {result.path}: {manifest['database']['vendor']} database "
            f"({manifest['database']['bytes']} bytes) and {manifest['uploads']['files']} uploaded files, "
            f"encrypted to backup key {manifest['recipient']} and signed by {manifest['instance']}."
        )
        self.stdout.write(
            "The keyring and the audit signing key are NOT in the backup: back them up separately, and "
            "keep them apart from the backups."
        )
