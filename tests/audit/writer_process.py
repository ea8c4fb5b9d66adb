"""The body of one writer process in the PostgreSQL concurrency test.

Kept free of Django imports at module level: a spawned process imports this module before it
has set Django up, and importing models first would fail.
"""

from __future__ import annotations

import os


def append_in_process(database_name: str, writer: int, appends: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.db import connection

    connection.settings_dict["NAME"] = database_name
    from legionary.audit.services import audit_record

    try:
        for n in range(appends):
            audit_record(actor=f"writer-{writer}", action="test.concurrent", details={"n": n})
    finally:
        connection.close()
