"""``legionary audit verify|checkpoint|key|proof``: the operator's handle on the tamper-evident log.

Thin: every action is one call into ``audit.services`` or ``audit.verification``. Verifications and
proof requests are themselves recorded in the log, *after* they were computed, so that recording
one can never change what it reports. Exit codes follow contract/cli.md: 1 when the log or proof
does not check out, 2 for usage errors (a malformed key or file, a missing signing key).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError
from tqdm import tqdm

from legionary.audit import kept_checkpoint
from legionary.audit.models import LogHead
from legionary.audit.services import AuditError, audit_record, checkpoint_now, entry_inclusion, verifier_key
from legionary.audit.verification import VerifyResult, audit_verify
from legionary.commands import EXIT_CHECK_FAILED, LegionaryCommand, UsageError, operator_actor


class Command(LegionaryCommand):
    help = "Verifies the audit log, prints its signed checkpoint or verifier key, or proves an entry."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Recompute the tree and check every checkpoint (exit 1 if tampered).")
        verify.add_argument("--json", action="store_true", help="Print one JSON document.")
        verify.add_argument("--checkpoint", metavar="FILE", help="A signed checkpoint saved off the machine earlier.")
        verify.add_argument("--key", metavar="VERIFIER_KEY", help="The verifier key a witness kept (default: ours).")
        verify.add_argument(
            "--without-kept-checkpoint",
            action="store_true",
            help="Do not check against the checkpoint kept beside the keyring (only after a deliberate reset).",
        )
        sub.add_parser("checkpoint", help="Print the newest signed checkpoint, signing one if the log grew.")
        sub.add_parser("key", help="Print the public verifier key to give to a witness.")
        proof = sub.add_parser("proof", help="Print an entry's inclusion proof against the newest checkpoint.")
        proof.add_argument("index", type=int)
        proof.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "verify":
                self._verify(options)
            elif action == "checkpoint":
                self.stdout.write(checkpoint_now().note, ending="")
            elif action == "key":
                self.stdout.write(verifier_key())
            else:
                self._proof(options)
        except AuditError as exc:
            raise UsageError(str(exc)) from None

    def _verify(self, options: dict[str, Any]) -> None:
        note = _read_note(options["checkpoint"]) if options["checkpoint"] else None
        kept = None
        if not options["without_kept_checkpoint"]:
            try:
                kept_note = kept_checkpoint.read()
            except kept_checkpoint.KeptCheckpointError as exc:
                raise UsageError(str(exc)) from None
            kept = (str(kept_checkpoint.path()), kept_note) if kept_note is not None else None
        bar = self._progress_bar()
        try:
            result = audit_verify(
                progress=bar.update if bar is not None else None,
                verifier=options["key"],
                external_notes=[note] if note is not None else [],
                kept=kept,
            )
        finally:
            if bar is not None:
                bar.close()
        recorded = _record(
            "audit.verified",
            {
                "ok": result.ok,
                "entries": result.entries,
                "problems": len(result.problems),
                "first_bad_entry": result.first("entry"),
                "first_bad_checkpoint": result.first("checkpoint"),
                "external_checkpoint": result.external[0] if result.external else None,
                "kept_checkpoint": result.kept,
            },
        )
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
        else:
            self._print_result(result)
        if not result.ok:
            raise CommandError(
                f"the audit log failed verification ({len(result.problems)} problem(s)); "
                "keep the database as it is and compare it with a backup and your saved checkpoints.",
                returncode=EXIT_CHECK_FAILED,
            )
        if not recorded:
            raise CommandError(
                "the log verified, but this verification could not be recorded in it; run it again.",
                returncode=EXIT_CHECK_FAILED,
            )

    def _print_result(self, result: VerifyResult) -> None:
        if not result.ok:
            for problem in result.ordered():
                self.stdout.write(problem.message)
            return
        self.stdout.write(
            f"The audit log is intact: {result.entries} entries, {result.checkpoints} signed checkpoints, "
            f"root {result.root.hex()}."
        )
        for size in result.external:
            self.stdout.write(f"The given checkpoint of size {size} verifies: the log only grew since it was signed.")
        if result.kept is not None:
            self.stdout.write(
                f"The checkpoint kept at {kept_checkpoint.path()} (size {result.kept}) verifies: no entry before it "
                "was lost."
            )

    def _progress_bar(self) -> tqdm[Any] | None:
        if not sys.stderr.isatty():
            return None
        total = LogHead.objects.filter(id=1).values_list("size", flat=True).first() or 0
        return tqdm(total=total, unit=" entries", file=sys.stderr, desc="verifying")

    def _proof(self, options: dict[str, Any]) -> None:
        evidence = entry_inclusion(options["index"])
        _record("audit.proof_requested", {"index": evidence.index, "verified": evidence.verified})
        if options["json"]:
            self.stdout.write(json.dumps(evidence.as_json()))
        else:
            write: Callable[[str], None] = self.stdout.write
            write(f"entry {evidence.index}, leaf hash {evidence.leaf_hash.hex()}")
            write(f"tree size {evidence.tree_size}, signed root {evidence.root.hex()}")
            for step, digest in enumerate(evidence.proof):
                write(f"proof[{step}] {digest.hex()}")
            write("verified: " + ("yes" if evidence.verified else "NO"))
            write("")
            write(evidence.note)
        if not evidence.verified:
            raise CommandError(
                f"the inclusion proof of entry {evidence.index} does not verify against the signed checkpoint; "
                "run `legionary audit verify` to find what was changed.",
                returncode=EXIT_CHECK_FAILED,
            )


def _read_note(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the checkpoint file {path} ({exc}). Give the file holding the note.") from None


def _record(action: str, details: dict[str, Any]) -> bool:
    """Records a verification or proof request; False if the log could not take the entry."""
    try:
        audit_record(actor=operator_actor(), action=action, details=details)
    except (AuditError, DatabaseError):
        return False
    return True
