"""Storage of the tamper-evident audit log.

Rows here are written only by ``audit.services``; nothing else in the project may create, change
or delete them. An entry names people only by pseudonymous id and never holds plaintext identity.
"""

from __future__ import annotations

from django.db import models


class LogHead(models.Model):
    """The single row holding the log's size. Appenders lock it, so indexes never collide."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)


class Entry(models.Model):
    """One leaf of the Merkle tree. ``body`` is the canonical encoding that is hashed."""

    index = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=64, blank=True, default="", db_index=True)
    body = models.BinaryField()

    class Meta:
        verbose_name_plural = "entries"


class Node(models.Model):
    """Hash of one perfect subtree: ``key`` packs (level, index) as level << 56 | index."""

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField()


class Checkpoint(models.Model):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note) of the first ``size`` entries."""

    size = models.BigIntegerField(primary_key=True)
    root = models.BinaryField()
    note = models.TextField()
    created_at = models.DateTimeField()
