"""The case list's "with an overdue check" filter reads the open checks in their cases' order.

It walked the visible cases oldest first and probed each for a late open check: at a million
people most old cases are closed, and a page took 4.6 s (p50, PostgreSQL). The partial index
``check_open_case`` holds every open check by its case's creation date (copied onto the check by
0007) with its due date, so a page reads the first late ones in order and probes only their cases.
Its condition also says the due date is set, which a late check implies and "assigned to me" does
not state, so that query keeps its own index (``check_assignee_case``) whatever the table's size.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vetting", "0007_assignee_case_order"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="check",
            index=models.Index(
                condition=models.Q(("result", ""), ("due_on__isnull", False)), fields=["case_created_at", "case", "due_on"], name="check_open_case"
            ),
        ),
    ]
