"""The newest signed checkpoint, kept outside the database beside the keyring.

A log that loses entries is caught by a checkpoint signed before the loss; but the checkpoints in
the database go with the database (Django's ``flush``, a dropped table, a restored old copy), and
an empty log with no checkpoints verifies as intact. So every checkpoint, once committed, is also
written to one file beside the keyring (``LEGIONARY_AUDIT_CHECKPOINT``, by default
``audit-checkpoint`` in the keyring's folder), and ``legionary audit verify`` checks the log
against that file by default: a log shorter than it, or disagreeing with it, fails.

Responsible for: writing the file atomically (a temporary file renamed over it), only ever with a
larger checkpoint than the one it holds (two processes may commit checkpoints out of order), under
a lock; reading it; setting it aside when a restore legitimately replaces the log.

Must never: fail the action that made the checkpoint (a file that cannot be written is logged, and
the database's own checkpoint stands); hold anything but a signed note (it is public).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)

# The tree size is the second line of a checkpoint body (C2SP tlog-checkpoint).
_SIZE_LINE = re.compile(r"\A[^\n]*\n(\d{1,20})\n")


class KeptCheckpointError(Exception):
    """The kept checkpoint file exists but cannot be read; the message says what to do."""


def path() -> Path:
    return Path(settings.LEGIONARY_AUDIT_CHECKPOINT)


def note_size(note: str) -> int | None:
    """The tree size a note's body claims (unverified: for ordering writes only)."""
    match = _SIZE_LINE.match(note)
    return int(match.group(1)) if match else None


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    lock = target.with_name(target.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def keep(note: str) -> bool:
    """Writes ``note`` to the file unless it already holds a checkpoint at least as large.

    Called after the checkpoint's transaction committed. True if written; on an error it logs and
    returns False, leaving the action that made the checkpoint done.
    """
    target = path()
    size = note_size(note)
    if size is None:
        return False
    try:
        with _locked(target):
            try:
                held = note_size(target.read_text(encoding="utf-8"))
            except FileNotFoundError:
                held = None
            except (OSError, UnicodeDecodeError):
                held = None  # unreadable or damaged: a fresh signed note replaces it
            if held is not None and held >= size:
                return False
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(note)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, target)
    except OSError as exc:
        log.warning("the audit checkpoint could not be kept at %s (%s)", target, exc.strerror)
        return False
    return True


def read() -> str | None:
    """The kept note, or None when there is none yet."""
    target = path()
    try:
        return target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeptCheckpointError(
            f"The audit checkpoint kept at {target} cannot be read ({exc}); make it readable by the user that "
            "runs legionary."
        ) from None


def set_aside(label: str) -> Path | None:
    """Renames the kept file to ``audit-checkpoint.LABEL`` (a restore replaced the log); its new path."""
    target = path()
    if not target.exists():
        return None
    aside = target.with_name(f"{target.name}.{label}")
    with _locked(target):
        os.replace(target, aside)
    return aside
