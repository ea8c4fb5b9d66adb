"""The erasure journal: which people were erased, kept outside the database so restores honour it.

This module is responsible for:

* appending one line per erasure (pseudonymous person id, time, whether blind indexes were kept)
  to ``erasures.journal`` beside the keyring, opened append-only and fsynced before returning;
* reading the journal back, so that ``legionary restore`` re-applies every erasure the restored
  database does not know about yet (crypto-shredding holds across a restore of an older backup).

What it must never do:

* never write anything that identifies a person (no name, no call sign, no reason text): the
  journal lives beside the keyring and is copied with it;
* never rewrite or truncate the file: lines are only ever appended;
* never let a damaged line hide the others: unreadable lines are counted and skipped by readers.

The entry is written *before* the erasure commits: if the erasure then fails, a later restore
erases a person whose erasure had been ordered, which errs on the side of the person.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

JOURNAL_NAME = "erasures.journal"
# Pseudonymous ids are ``p`` + 20 base32 letters; anything with spaces or punctuation is refused.
_PERSON_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ErasureJournalError(Exception):
    """The journal cannot be written; the erasure must not go ahead without it."""


@dataclass(frozen=True)
class JournalEntry:
    person_id: str
    erased_at: datetime
    keep_indexes: bool


def journal_path() -> Path:
    return Path(settings.LEGIONARY_KEYRING).parent / JOURNAL_NAME


def journal_append(*, person_id: str, erased_at: datetime, keep_indexes: bool) -> None:
    """Appends one erasure and fsyncs it; raises ``ErasureJournalError`` if that is not possible."""
    if not _PERSON_ID.match(person_id):
        raise ErasureJournalError("Only pseudonymous person ids go into the erasure journal.")
    line = json.dumps(
        {"person": person_id, "at": erased_at.isoformat(), "keep_indexes": keep_indexes}, separators=(",", ":")
    )
    path = journal_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # One write() of a short line with O_APPEND lands whole, even with several writers.
            os.write(fd, (line + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ErasureJournalError(
            f"The erasure journal {path} cannot be written ({exc.strerror}); free space or fix its "
            "permissions, then erase again."
        ) from None


def journal_entries(path: Path | None = None) -> Iterator[JournalEntry]:
    """Every well-formed entry in the order written; damaged lines (a torn last line) are skipped."""
    path = path or journal_path()
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            try:
                item = json.loads(raw)
                entry = JournalEntry(
                    person_id=str(item["person"]),
                    erased_at=datetime.fromisoformat(str(item["at"])),
                    keep_indexes=bool(item.get("keep_indexes", False)),
                )
            except (ValueError, KeyError, TypeError):
                continue
            if _PERSON_ID.match(entry.person_id):
                yield entry
