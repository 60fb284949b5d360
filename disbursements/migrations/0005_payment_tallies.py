"""Payment tallies kept by statement triggers on disbursements_payment.

Each INSERT, UPDATE or DELETE statement on payments appends, per (organization,
disbursement, asset, status), the net change of the rows it touched; an UPDATE
that moves no status and no amount appends nothing. The existing payments are
tallied in the same transaction as the triggers are created (CREATE TRIGGER
holds off concurrent writes until the commit).
"""

from django.db import migrations, models

TALLY = "disbursements_paymenttally"
COLUMNS = "organization_id, disbursement_id, asset_id, status"

FUNCTION = f"""
CREATE FUNCTION disbursements_payment_tally() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TALLY} ({COLUMNS}, count, amount, folded)
        SELECT {COLUMNS}, count(*), sum(amount), false
        FROM new_rows GROUP BY {COLUMNS};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {TALLY} ({COLUMNS}, count, amount, folded)
        SELECT {COLUMNS}, -count(*), -sum(amount), false
        FROM old_rows GROUP BY {COLUMNS};
    ELSE
        INSERT INTO {TALLY} ({COLUMNS}, count, amount, folded)
        SELECT {COLUMNS}, sum(n), sum(a), false
        FROM (
            SELECT {COLUMNS}, 1 AS n, amount AS a FROM new_rows
            UNION ALL
            SELECT {COLUMNS}, -1, -amount FROM old_rows
        ) AS moved
        GROUP BY {COLUMNS}
        HAVING sum(n) <> 0 OR sum(a) <> 0;
    END IF;
    RETURN NULL;
END
$$;
"""

TRIGGERS = [
    "CREATE TRIGGER payment_tally_insert AFTER INSERT ON disbursements_payment "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION disbursements_payment_tally()",
    "CREATE TRIGGER payment_tally_update AFTER UPDATE ON disbursements_payment "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION disbursements_payment_tally()",
    "CREATE TRIGGER payment_tally_delete AFTER DELETE ON disbursements_payment "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION disbursements_payment_tally()",
]

BACKFILL = f"""
INSERT INTO {TALLY} ({COLUMNS}, count, amount, folded)
SELECT {COLUMNS}, count(*), sum(amount), true
FROM disbursements_payment GROUP BY {COLUMNS}
"""

REVERSE = [
    *(
        f"DROP TRIGGER payment_tally_{op} ON disbursements_payment"
        for op in ("insert", "update", "delete")
    ),
    "DROP FUNCTION disbursements_payment_tally()",
]


class Migration(migrations.Migration):

    dependencies = [
        ('auth_org', '0002_reset_token_expiry'),
        ('disbursements', '0004_fewer_payment_indexes'),
        ('receivers', '0004_receiver_search_trigrams'),
    ]

    operations = [
        migrations.CreateModel(
            name='PaymentTally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('organization_id', models.UUIDField()),
                ('disbursement_id', models.UUIDField(blank=True, null=True)),
                ('asset_id', models.UUIDField()),
                ('status', models.CharField(max_length=16)),
                ('count', models.BigIntegerField()),
                ('amount', models.DecimalField(decimal_places=7, max_digits=38)),
                ('folded', models.BooleanField(default=False)),
            ],
        ),
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['disbursement', 'created_at', 'id'], name='payment_disb_created'),
        ),
        migrations.RunSQL([FUNCTION, *TRIGGERS, BACKFILL], REVERSE),
        migrations.RemoveIndex(
            model_name='payment',
            name='payment_org_status_asset_amt',
        ),
        migrations.RemoveIndex(
            model_name='payment',
            name='payment_disb_status_amt',
        ),
        migrations.AddIndex(
            model_name='paymenttally',
            index=models.Index(fields=['organization_id', 'status'], name='tally_org'),
        ),
        migrations.AddIndex(
            model_name='paymenttally',
            index=models.Index(fields=['disbursement_id'], name='tally_disbursement'),
        ),
        migrations.AddIndex(
            model_name='paymenttally',
            index=models.Index(condition=models.Q(('folded', False)), fields=['id'], name='tally_unfolded'),
        ),
    ]
