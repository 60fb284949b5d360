import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

COLUMNS = ("external_id", "phone_number", "email")


def index(column):
    return django.contrib.postgres.indexes.GinIndex(
        django.contrib.postgres.indexes.OpClass(
            django.db.models.functions.text.Upper(column), name="gin_trgm_ops"
        ),
        name=f"receiver_{column}_trgm",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("auth_org", "0002_reset_token_expiry"),
        ("receivers", "0003_receiver_list_indexes"),
    ]

    operations = [
        TrigramExtension(),
        # Django 5.2 renders an OpClass over an expression as
        # ``((UPPER(col) gin_trgm_ops))``, which PostgreSQL refuses; the SQL is
        # written here, the state is the model's.
        migrations.RunSQL(
            sql=[
                f'CREATE INDEX "receiver_{c}_trgm" ON "receivers_receiver" '
                f'USING gin ((UPPER("{c}"::text)) gin_trgm_ops)'
                for c in COLUMNS
            ],
            reverse_sql=[f'DROP INDEX "receiver_{c}_trgm"' for c in COLUMNS],
            state_operations=[
                migrations.AddIndex(model_name="receiver", index=index(c))
                for c in COLUMNS
            ],
        ),
        # Statistics of the indexed expressions, so that the planner picks the
        # index at once rather than after the next autovacuum.
        migrations.RunSQL("ANALYZE receivers_receiver", migrations.RunSQL.noop),
    ]
