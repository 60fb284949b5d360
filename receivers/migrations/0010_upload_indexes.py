"""Indexes an upload writes less into: the receiver wallet's SEP-24 id is not
indexed (never searched), and the trigram indexes take an upload's entries in
their pending list, merged by (auto)vacuum."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth_org", "0004_session_revocation"),
        ("receivers", "0009_address_changed_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="receiverwallet",
            name="sep24_transaction_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        # The trigram indexes keep their definition; only their storage parameters
        # change (Django would drop and rebuild them).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name="receiver",
                    name="receiver_external_id_trgm",
                ),
                migrations.RemoveIndex(
                    model_name="receiver",
                    name="receiver_phone_number_trgm",
                ),
                migrations.RemoveIndex(
                    model_name="receiver",
                    name="receiver_email_trgm",
                ),
                migrations.AddIndex(
                    model_name="receiver",
                    index=django.contrib.postgres.indexes.GinIndex(
                        django.contrib.postgres.indexes.OpClass(
                            django.db.models.functions.text.Upper("external_id"),
                            name="gin_trgm_ops",
                        ),
                        fastupdate=True,
                        gin_pending_list_limit=32768,
                        name="receiver_external_id_trgm",
                    ),
                ),
                migrations.AddIndex(
                    model_name="receiver",
                    index=django.contrib.postgres.indexes.GinIndex(
                        django.contrib.postgres.indexes.OpClass(
                            django.db.models.functions.text.Upper("phone_number"),
                            name="gin_trgm_ops",
                        ),
                        fastupdate=True,
                        gin_pending_list_limit=32768,
                        name="receiver_phone_number_trgm",
                    ),
                ),
                migrations.AddIndex(
                    model_name="receiver",
                    index=django.contrib.postgres.indexes.GinIndex(
                        django.contrib.postgres.indexes.OpClass(
                            django.db.models.functions.text.Upper("email"),
                            name="gin_trgm_ops",
                        ),
                        fastupdate=True,
                        gin_pending_list_limit=32768,
                        name="receiver_email_trgm",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        f"ALTER INDEX receiver_{column}_trgm SET "
                        "(fastupdate = on, gin_pending_list_limit = 32768)"
                        for column in ("external_id", "phone_number", "email")
                    ],
                    [
                        f"ALTER INDEX receiver_{column}_trgm "
                        "RESET (fastupdate, gin_pending_list_limit)"
                        for column in ("external_id", "phone_number", "email")
                    ],
                ),
            ],
        ),
    ]
