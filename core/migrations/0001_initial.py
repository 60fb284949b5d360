# The idempotency keys' table moves from disbursements to the bottom library
# (core), rows kept: the model is taken over in the migration state only, then
# its table renamed (disbursements_idempotencykey -> core_idempotencykey).

import django.db.models.deletion
from django.db import migrations, models


def _move_content_type(apps, schema_editor):
    # Permissions granted on the model follow it (same content type row).
    content_types = apps.get_model("contenttypes", "ContentType")
    if not content_types.objects.filter(
        app_label="core", model="idempotencykey"
    ).exists():
        content_types.objects.filter(
            app_label="disbursements", model="idempotencykey"
        ).update(app_label="core")


def _move_content_type_back(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    if not content_types.objects.filter(
        app_label="disbursements", model="idempotencykey"
    ).exists():
        content_types.objects.filter(app_label="core", model="idempotencykey").update(
            app_label="disbursements"
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("auth_org", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        # The table was created there.
        ("disbursements", "0002_idempotency_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=255)),
                        ("fingerprint", models.CharField(max_length=64)),
                        ("method", models.CharField(max_length=8)),
                        ("path", models.CharField(max_length=255)),
                        ("response_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("response_body", models.BinaryField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField(db_index=True)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="auth_org.organization")),
                    ],
                    options={
                        "db_table": "disbursements_idempotencykey",
                        "constraints": [models.UniqueConstraint(fields=("organization", "key"), name="idempotency_org_key_uniq")],
                    },
                ),
            ],
        ),
        # Renames the table in the database (rows, indexes and constraints kept).
        migrations.AlterModelTable(name="idempotencykey", table=None),
        migrations.RunPython(_move_content_type, _move_content_type_back),
    ]
