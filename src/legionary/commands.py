"""Base class of every ``legionary`` verb: plain-sentence errors and the contract's exit codes."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class UsageError(CommandError):
    """Bad usage or configuration: exit 2, nothing written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=EXIT_USAGE)


class LegionaryCommand(BaseCommand):
    def run_from_argv(self, argv: list[str]) -> None:
        try:
            # With --traceback Django re-raises CommandError instead of printing
            # "CommandError: ..."; we print the sentence alone, as the contract asks.
            super().run_from_argv([*argv[:2], "--traceback", *argv[2:]])
        except CommandError as exc:
            if os.environ.get("LEGIONARY_CLI_DEBUG"):
                raise
            sys.stderr.write(f"legionary: {exc}\n")
            sys.exit(exc.returncode)
