"""When a receiver wallet's Stellar address was set or changed, kept by the
database whatever writes it (registration, the receivers API, a CSV's COPY):
the cooling period of new or changed addresses counts from it
(docs/controls.md). Row triggers with WHEN clauses: the function runs only for
rows whose address is set or changes."""

from django.db import migrations, models

FUNCTION = """
CREATE FUNCTION sdp_stamp_address_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.address_changed_at := clock_timestamp();
    RETURN NEW;
END
$$;
"""
TRIGGERS = [
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
REVERSE = [
    "DROP TRIGGER IF EXISTS receiver_wallet_address_set ON receivers_receiverwallet",
    "DROP TRIGGER IF EXISTS receiver_wallet_address_changed "
    "ON receivers_receiverwallet",
    "DROP FUNCTION IF EXISTS sdp_stamp_address_change()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("receivers", "0008_stranger_code"),
    ]

    operations = [
        migrations.AddField(
            model_name="receiverwallet",
            name="address_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL([FUNCTION, *TRIGGERS], REVERSE),
    ]
