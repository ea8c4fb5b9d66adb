"""On PostgreSQL, the unit path column compares byte by byte (the "C" collation), as on SQLite.

In the database's own collation a subtree (a path prefix) is not a range of the path index, so a
roster's first page in tree order walked the index from the tree's first unit. ``PathField`` asks
for the "C" collation when a table is created; this changes a column created before (the unique
index and its ``_like`` companion are rebuilt with it, and the table analysed: one row per unit).
Nothing to do on SQLite.
"""

from typing import Any

from django.db import migrations


def _set_collation(collation: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f'ALTER TABLE "units_unit" ALTER COLUMN "path" TYPE varchar(255) COLLATE "{collation}"'
        )
        # The new type drops the column's statistics; without them the planner misjudges a
        # subtree's size and may sort a whole legion's billets for one page.
        schema_editor.execute('ANALYZE "units_unit"')

    return run


class Migration(migrations.Migration):
    dependencies = [("units", "0002_pending_override_index")]

    operations = [migrations.RunPython(_set_collation("C"), _set_collation("default"))]
