"""A tag redirect may point to another tag (issue 20): the first article's promotional
keywords stop being tags, and their old URLs lead to the nearest real topic."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('library', '0007_reader_trust_fields'),
    ]

    operations = [
        migrations.AlterField(
            model_name='tagredirect',
            name='target_kind',
            field=models.CharField(choices=[('disease', 'Disease'), ('therapy', 'Therapy'), ('tag', 'Tag')], max_length=10),
        ),
    ]
