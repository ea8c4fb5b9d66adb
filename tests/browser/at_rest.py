"""Everything a served instance keeps at rest, read from outside the server, for ``tests.plaintext.search``.

Unlike ``tests.plaintext.find_plaintext`` (which reads the in-process suite's database through
Django), this reads a running ``legionary serve``: every file under its LEGIONARY_HOME (the SQLite
database with its ``-wal`` and ``-shm``, uploads, logs, keyring), the server's own output, and
every row of every table of its database: through ``sqlite3`` read-only, or through psycopg on
the PostgreSQL database the instance was given.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.browser.conftest import Instance

SQLITE_NAME = "legionary.sqlite3"


def _cell_bytes(cell: object) -> bytes:
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return bytes(cell)
    if isinstance(cell, (dict, list)):
        return json.dumps(cell, ensure_ascii=False).encode("utf-8")
    return str(cell).encode("utf-8")


def _sqlite_rows(database: Path) -> bytes:
    chunks: list[bytes] = []
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            for row in connection.execute(f"SELECT * FROM {quoted}"):  # noqa: S608 — names from sqlite_master
                chunks += [_cell_bytes(cell) for cell in row if cell is not None]
    finally:
        connection.close()
    return b"\x00".join(chunks)


def _postgres_rows(database_url: str) -> bytes:
    import psycopg
    from psycopg import sql

    chunks: list[bytes] = []
    with psycopg.connect(database_url) as connection:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        for table in tables:
            for row in connection.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))):
                chunks += [_cell_bytes(cell) for cell in row if cell is not None]
    return b"\x00".join(chunks)


def database_rows(instance: Instance) -> bytes:
    """Every cell of every table of the served database, joined with NUL bytes."""
    if instance.database_url:
        return _postgres_rows(instance.database_url)
    return _sqlite_rows(instance.home / SQLITE_NAME)


def served_haystacks(instance: Instance) -> dict[str, bytes]:
    """Where → bytes, for everything the served instance has written (and its database's rows)."""
    haystacks = {"database rows": database_rows(instance), str(instance.log): instance.log.read_bytes()}
    for path in sorted(instance.home.rglob("*")):
        if path.is_file():
            haystacks[str(path)] = path.read_bytes()
    return haystacks


def count_rows(instance: Instance, table: str) -> int:
    """How many rows ``table`` of the served instance's database has (read-only)."""
    assert table.replace("_", "").isalnum(), table
    if instance.database_url is None:
        connection = sqlite3.connect(f"file:{instance.home / SQLITE_NAME}?mode=ro", uri=True)
        try:
            return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
        finally:
            connection.close()
    import psycopg
    from psycopg import sql

    with psycopg.connect(instance.database_url) as connection:
        row = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        assert row is not None
        return int(row[0])
