"""Many writers appending at once never share an index or break the tree.

SQLite: threads, each on its own connection to a file database in WAL mode (the in-memory test
database is shared-cache, whose table locks fail instead of waiting, so it cannot show how the
real file behaves). PostgreSQL: processes, each with its own Django and connection to the test
database, contending for the log head's row lock.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections

from legionary.audit.models import Entry
from legionary.audit.services import audit_record
from legionary.audit.verification import VerifyResult, audit_verify
from tests.audit.writer_process import append_in_process

WRITERS = 8
APPENDS = 25


def _append_many(writer: int, errors: list[BaseException]) -> None:
    try:
        for n in range(APPENDS):
            audit_record(actor=f"writer-{writer}", action="test.concurrent", details={"n": n})
    except BaseException as exc:  # noqa: BLE001 — handed to the test thread, which fails with it
        errors.append(exc)
    finally:
        connection.close()


@pytest.fixture
def sqlite_file_database(tmp_path: Path) -> Iterator[None]:
    """Points new connections (the worker threads') at a fresh, migrated SQLite file."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite writers test runs on SQLite only")
    settings_dict = connections["default"].settings_dict
    original = settings_dict["NAME"]
    settings_dict["NAME"] = str(tmp_path / "audit.sqlite3")
    try:
        _in_thread(lambda: call_command("migrate", verbosity=0))
        yield
    finally:
        settings_dict["NAME"] = original


def _in_thread(work: object) -> object:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 — re-raised in the caller's thread
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


@pytest.mark.django_db
def test_threads_appending_at_once_on_sqlite_get_distinct_indexes_and_a_verifying_tree(
    sqlite_file_database: None, settings: object
) -> None:
    settings.LEGIONARY_CHECKPOINT_EVERY_ENTRIES = 16  # type: ignore[attr-defined]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_append_many, args=(w, errors)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    def check() -> tuple[list[int], VerifyResult]:
        return list(Entry.objects.order_by("index").values_list("index", flat=True)), audit_verify()

    indexes, result = _in_thread(check)  # type: ignore[misc]
    assert indexes == list(range(WRITERS * APPENDS))
    assert result.ok, result.problems
    assert result.checkpoints >= (WRITERS * APPENDS) // 16


@pytest.mark.django_db(transaction=True)
def test_processes_appending_at_once_on_postgresql_get_distinct_indexes_and_a_verifying_tree() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL writers test runs on PostgreSQL only")
    name = connection.settings_dict["NAME"]
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=append_in_process, args=(name, writer, APPENDS)) for writer in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [p.exitcode for p in processes] == [0] * WRITERS
    indexes = list(Entry.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(WRITERS * APPENDS))
    result = audit_verify()
    assert result.ok, result.problems
