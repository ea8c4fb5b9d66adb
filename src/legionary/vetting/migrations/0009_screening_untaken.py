"""The CI officer's "screening hits nobody has taken" from a partial index of exactly those checks.

At a million people PostgreSQL took the open unassigned checks (161) for 700,000: it multiplies the
share of checks with no assignee by the share of open ones, and most closed checks have none. It
then planned the section for that many rows (a parallel scan, JIT compilation, a join to the list
entries that scanned them once a row): 160 ms of the CI officer's My work. The partial index
``check_screening_untaken`` holds those checks in the section's order; the query states its
condition with its values (``selectors.screening_untaken``).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vetting", "0008_open_check_case_order"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="check",
            index=models.Index(
                condition=models.Q(("assigned_to__isnull", True), ("opened_by", "screening"), ("result", "")),
                fields=["created_at", "id"],
                name="check_screening_untaken",
            ),
        ),
    ]
