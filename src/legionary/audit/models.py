"""Storage of the tamper-evident audit log.

Rows here are written only by ``audit.services``; nothing else in the project may create, change
or delete them, and no model here may ever grow an update path (the log is append-only: a row that
changes after it was appended is tampering, and ``legionary audit verify`` reports it). An entry
names people only by pseudonymous id and never holds plaintext identity.
"""

from __future__ import annotations

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


class RowKeyField(models.BigIntegerField):  # type: ignore[type-arg]
    """A 64-bit primary key that SQLite keeps as the table's own rowid (``integer PRIMARY KEY``).

    Declared ``bigint``, SQLite would store the table in rowid order plus a separate unique index
    on the key: every read in key order then seeks the table once per row, and every append
    writes both. As ``integer`` the key *is* the rowid, so the table is one B-tree in key order
    (what verification scans) and an append writes it once. Same 64-bit range; other databases
    keep ``bigint``.
    """

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "sqlite":
            return "integer"
        return super().db_type(connection)


class LogHead(models.Model):
    """The single row holding the log's size. Appenders lock it, so indexes never collide."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    # When the newest checkpoint was signed: read under the lock an appender holds anyway, so
    # deciding whether a checkpoint is due costs no extra query. A scheduling hint only; never
    # trusted by verification.
    checkpoint_at = models.DateTimeField(null=True)


class Entry(models.Model):
    """One leaf of the Merkle tree. ``body`` is the canonical encoding that is hashed.

    ``created_at``, ``actor``, ``action`` and ``subject`` repeat what the body says so the viewer
    can filter with indexes; verification checks they still agree with the body.
    """

    index = RowKeyField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    subject = models.CharField(max_length=64, blank=True, default="")
    body = models.BinaryField()

    class Meta:
        verbose_name_plural = "entries"
        # Each filter of the viewer is an equality followed by "newest first, before N": an index
        # on (column, index) answers it with one range scan, without sorting or counting.
        indexes = [
            models.Index(fields=["actor", "index"], name="audit_entry_actor_idx"),
            models.Index(fields=["action", "index"], name="audit_entry_action_idx"),
            models.Index(fields=["subject", "index"], name="audit_entry_subject_idx"),
        ]


class Node(models.Model):
    """Hash of one perfect subtree: ``key`` packs (level, index) as level << 56 | index.

    Level-0 keys are therefore the entry indexes themselves, which lets verification join an
    entry to its leaf node on equal keys.
    """

    key = RowKeyField(primary_key=True)
    hash = models.BinaryField()


class Checkpoint(models.Model):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note) of the first ``size`` entries."""

    size = models.BigIntegerField(primary_key=True)
    root = models.BinaryField()
    note = models.TextField()
    created_at = models.DateTimeField()
