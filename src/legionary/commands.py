"""Base class of every ``legionary`` verb: plain-sentence errors and the contract's exit codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

OPERATOR_ENV = "LEGIONARY_OPERATOR"


def operator_actor() -> str:
    """The audit log's actor for a command run by hand: ``cli:`` and the person behind it.

    ``LEGIONARY_OPERATOR`` when set; otherwise the login name of whoever ran it, which is
    ``SUDO_USER`` under sudo, and the session's login name (``getlogin``) under ``runuser`` or
    ``su``; otherwise the account the command runs as (a timer's service user). Staff usernames
    hold no colon, so ``cli:NAME`` can never be taken for a staff member.
    """
    name = os.environ.get(OPERATOR_ENV, "").strip() or os.environ.get("SUDO_USER", "").strip()
    if not name:
        try:
            name = os.getlogin()
        except OSError:  # no controlling terminal (a timer, a pipe): the account itself
            name = ""
    if not name:
        import pwd

        try:
            name = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            name = f"uid {os.getuid()}"
    return f"cli:{name}"[:150]


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


class StreamedText:
    """Text for a command's stdout, written a few hundred pieces at a time: a long listing is
    written as it is read, never held whole (``legionary duplicates``, ``screening hits``)."""

    def __init__(self, stdout: OutputWrapper) -> None:
        self.stdout = stdout
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)
        if len(self.parts) >= 500:
            self.flush()

    def flush(self) -> None:
        self.stdout.write("".join(self.parts), ending="")
        self.parts.clear()


class JsonList:
    """One list of a JSON document written item by item, exactly as ``json.dumps(document,
    ensure_ascii=False)`` writes it: ``first`` opens the document, ``end`` closes it."""

    def __init__(self, out: StreamedText, name: str, *, first: bool) -> None:
        out.write(("{" if first else ", ") + json.dumps(name) + ": [")
        self.out, self.empty = out, True

    def add(self, item: dict[str, Any]) -> None:
        self.out.write(("" if self.empty else ", ") + json.dumps(item, ensure_ascii=False))
        self.empty = False

    def close(self, *, end: bool = False) -> None:
        self.out.write("]}\n" if end else "]")
