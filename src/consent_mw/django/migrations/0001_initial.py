"""The ledger's tables (see consent_mw.django.models)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="AccessLogEntry",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("time", models.FloatField()),
                ("actor", models.CharField(max_length=255)),
                ("body", models.TextField()),
            ],
            options={
                "db_table": "consent_mw_access_log",
            },
        ),
        migrations.CreateModel(
            name="CurrentState",
            fields=[
                ("subject_id", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("user_id", models.CharField(max_length=255, null=True)),
                ("body", models.TextField()),
            ],
            options={
                "db_table": "consent_mw_current",
            },
        ),
        migrations.CreateModel(
            name="ChoiceCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("policy_version", models.CharField(max_length=255)),
                ("category", models.CharField(max_length=255)),
                ("granted", models.BooleanField()),
                ("n", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "consent_mw_counter",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("policy_version", "category", "granted"),
                        name="consent_mw_counter_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CollectedEvent",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("time", models.FloatField(db_index=True)),
                ("kind", models.CharField(max_length=32)),
                ("subject_id", models.CharField(max_length=255, null=True)),
                ("user_id", models.CharField(max_length=255, null=True)),
                ("expires_at", models.FloatField(db_index=True)),
                ("body", models.TextField()),
            ],
            options={
                "db_table": "consent_mw_event",
                "indexes": [
                    models.Index(fields=["subject_id", "time"], name="consent_mw_event_subject"),
                    models.Index(fields=["user_id", "time"], name="consent_mw_event_user"),
                ],
            },
        ),
        migrations.CreateModel(
            name="LedgerRecord",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("record_id", models.CharField(max_length=64, unique=True)),
                ("subject_id", models.CharField(max_length=255)),
                ("user_id", models.CharField(max_length=255, null=True)),
                ("time", models.FloatField()),
                ("policy_version", models.CharField(max_length=255)),
                ("action", models.CharField(max_length=32)),
                ("body", models.TextField()),
            ],
            options={
                "db_table": "consent_mw_record",
                "indexes": [
                    models.Index(fields=["subject_id", "seq"], name="consent_mw_record_subject")
                ],
            },
        ),
        migrations.CreateModel(
            name="UserLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("user_id", models.CharField(max_length=255)),
                ("subject_id", models.CharField(db_index=True, max_length=255)),
                ("seq", models.BigIntegerField()),
            ],
            options={
                "db_table": "consent_mw_link",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user_id", "subject_id"), name="consent_mw_link_key"
                    )
                ],
            },
        ),
    ]
