"""The search counter beside the content generation's other two (pagecache.models)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pagecache", "0002_listing_counter"),
    ]

    operations = [
        migrations.AddField(
            model_name="generation",
            name="search",
            field=models.BigIntegerField(default=1),
        ),
    ]
