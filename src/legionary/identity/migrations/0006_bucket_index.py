"""The blind-index lookup index gains the person as its last key column.

``legionary duplicates`` pairs everyone who shares a token in a small bucket. With the person in
the index, PostgreSQL reads the buckets in one ordered pass over the index alone (an index-only
scan) and groups each bucket as it passes; before, it grouped 18.5M rows at 544,000 people in a
hash, joined the small buckets back to the table and probed the index once a row for the partner
(over 32 minutes at 544k). Every lookup by token still uses the index's first three columns.

The new index is built before the old one goes, so lookups always have one. On PostgreSQL the
build gets more sort memory for this transaction (the default 64 MB would sort ~34M rows at a
million people on disk); it holds a write lock on the index table while it runs (minutes at a
million people: see the upgrade notes in docs/operations.md).
"""

from typing import Any

from django.db import migrations, models


def _more_sort_memory(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET LOCAL maintenance_work_mem = '512MB'")


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0005_waiting_indexes"),
    ]

    operations = [
        migrations.RunPython(_more_sort_memory, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="blindindex",
            index=models.Index(fields=["name", "key_version", "value", "person"], name="blind_index_bucket"),
        ),
        migrations.RemoveIndex(
            model_name="blindindex",
            name="blind_index_lookup",
        ),
    ]
