"""Loads the shipped curriculum (fixtures/basic_course.json); administrators edit it afterwards."""

from django.db import migrations


def load_basic_course(apps, schema_editor):
    from legionary.training import curriculum

    curriculum.load(curriculum.read_document(), apps.get_model)


class Migration(migrations.Migration):
    dependencies = [("training", "0001_initial")]

    # Reversing leaves the rows: cohorts and results may already refer to them.
    operations = [migrations.RunPython(load_basic_course, migrations.RunPython.noop)]
