"""A muxed address (M...) is 69 characters: widen every column storing a
receiver's address. The address-change triggers (0009) depend on the column,
so they are dropped around the change and created again as they were."""

from django.db import migrations, models

DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS receiver_wallet_address_set ON receivers_receiverwallet",
    "DROP TRIGGER IF EXISTS receiver_wallet_address_changed "
    "ON receivers_receiverwallet",
]
CREATE_TRIGGERS = [
    """
    CREATE TRIGGER receiver_wallet_address_set
    BEFORE INSERT ON receivers_receiverwallet FOR EACH ROW
    WHEN (NEW.stellar_address IS NOT NULL AND NEW.stellar_address <> '')
    EXECUTE FUNCTION sdp_stamp_address_change();
    """,
    """
    CREATE TRIGGER receiver_wallet_address_changed
    BEFORE UPDATE OF stellar_address ON receivers_receiverwallet FOR EACH ROW
    WHEN (NEW.stellar_address IS DISTINCT FROM OLD.stellar_address
          AND NEW.stellar_address IS NOT NULL AND NEW.stellar_address <> '')
    EXECUTE FUNCTION sdp_stamp_address_change();
    """,
]


class Migration(migrations.Migration):
    dependencies = [
        ("receivers", "0010_upload_indexes"),
    ]

    operations = [
        migrations.RunSQL(DROP_TRIGGERS, CREATE_TRIGGERS),
        migrations.AlterField(
            model_name="receiverregistrationattempt",
            name="wallet_address",
            field=models.CharField(blank=True, max_length=69),
        ),
        migrations.AlterField(
            model_name="receiverstellaraddress",
            name="stellar_address",
            field=models.CharField(max_length=69),
        ),
        migrations.AlterField(
            model_name="receiverwallet",
            name="stellar_address",
            field=models.CharField(blank=True, max_length=69, null=True),
        ),
        migrations.RunSQL(CREATE_TRIGGERS, DROP_TRIGGERS),
    ]
