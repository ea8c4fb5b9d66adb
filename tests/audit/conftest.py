"""Helpers for the audit log tests: a small log with checkpoints, and the CLI run in-process."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from legionary.audit.services import audit_record


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_audit(*args: str) -> Run:
    """``legionary audit ARGS`` in-process, with the exit code the CLI would give."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return Run(exc.returncode, out.getvalue(), str(exc))
    return Run(0, out.getvalue(), err.getvalue())


MakeLog = Callable[..., None]


@pytest.fixture
def make_log(db: None, settings: Any) -> MakeLog:
    """Appends ``size`` entries through the service, with a checkpoint every ``every`` entries."""

    def make(size: int, every: int = 4) -> None:
        settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES = every
        # Far in the future: only the entry count triggers checkpoints, so tests know where they are.
        settings.LEGIONARY_CHECKPOINT_EVERY_MINUTES = 10**6
        for n in range(size):
            audit_record(
                actor=f"officer-{n % 3}",
                action=("identity.unsealed", "person.created", "login.success")[n % 3],
                subject=f"P-{n:04d}" if n % 3 != 2 else "",
                details={"reason": f"case review {n}", "n": n},
            )

    return make
