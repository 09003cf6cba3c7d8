"""The content generation's table and its one row (pagecache.models)."""

import django.utils.timezone
from django.db import migrations, models

import pagecache.models


def create_row(apps, schema_editor):
    Generation = apps.get_model("pagecache", "Generation")
    Generation.objects.using(schema_editor.connection.alias).get_or_create(pk=1)


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Generation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("epoch", models.CharField(default=pagecache.models.new_epoch, max_length=32)),
                ("value", models.BigIntegerField(default=1)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
