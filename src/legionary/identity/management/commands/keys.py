"""``legionary keys rotate`` (new KEK version, rewrap every data key) and ``legionary keys reindex``
(new index key version, recompute every blind index), both resumable with ``--resume``."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import CommandParser
from tqdm import tqdm

from legionary.commands import LegionaryCommand, UsageError, operator_actor
from legionary.identity import services
from legionary.identity.keyring import KeyringError
from legionary.identity.models import Person, SealedIdentity


class Command(LegionaryCommand):
    help = "Rotates the key-encryption key (rewrap) or the blind-index key (re-index)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rotate = sub.add_parser("rotate", help="Add a KEK version, make it current and rewrap every data key.")
        rotate.add_argument(
            "--resume", action="store_true", help="Finish an interrupted rotation without a new version."
        )
        rotate.add_argument("--batch-size", type=int, default=500)
        reindex = sub.add_parser("reindex", help="Add an index key version and recompute every blind index.")
        reindex.add_argument(
            "--resume", action="store_true", help="Finish an interrupted re-index without a new version."
        )
        reindex.add_argument("--batch-size", type=int, default=200)
        sub.add_parser("status", help="Show key versions and how many records still use older ones.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            services.check_keyring_ready()
        except services.IdentityError as exc:
            raise UsageError(str(exc)) from None
        if action == "status":
            self._status()
            return
        if options["batch_size"] < 1:
            raise UsageError("--batch-size must be at least 1.")
        actor = services.Actor(operator_actor())
        show = os.isatty(2)
        try:
            if action == "rotate":
                total = SealedIdentity.objects.count()
                with tqdm(total=total, desc="rewrap", unit="key", file=sys.stderr, disable=not show) as bar:
                    if options["resume"]:
                        version, done = (
                            services.key_provider().current_kek_version(),
                            services.kek_rewrap(batch_size=options["batch_size"], progress=bar.update),
                        )
                    else:
                        version, done = services.kek_rotate(
                            actor=actor, batch_size=options["batch_size"], progress=bar.update
                        )
                self.stdout.write(f"Key-encryption key version {version} is current; {done} data keys rewrapped.")
            else:
                total = Person.objects.filter(sealed__isnull=False).count()
                with tqdm(total=total, desc="reindex", unit="person", file=sys.stderr, disable=not show) as bar:
                    if options["resume"]:
                        version = services.key_provider().current_index_key_version()
                        done = services.reindex(batch_size=options["batch_size"], progress=bar.update)
                    else:
                        version, done = services.index_rotate(
                            actor=actor, batch_size=options["batch_size"], progress=bar.update
                        )
                self.stdout.write(f"Index key version {version} is current; {done} people re-indexed.")
        except KeyringError as exc:
            raise UsageError(str(exc)) from None

    def _status(self) -> None:
        provider = services.key_provider()
        self.stdout.write(f"Current key-encryption key version: {provider.current_kek_version()}")
        self.stdout.write(f"Data keys still under an older version: {services.kek_pending()}")
        self.stdout.write(f"Current index key version: {provider.current_index_key_version()}")
