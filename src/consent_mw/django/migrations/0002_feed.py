"""The change feed's table (consent_mw.stores.feed)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("consent_mw", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="FeedEntry",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("subject_id", models.CharField(db_index=True, max_length=255)),
                ("body", models.TextField()),
            ],
            options={"db_table": "consent_mw_feed"},
        ),
    ]
