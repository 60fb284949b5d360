"""Money records are immutable once they leave DRAFT, whatever writes them.

A payment past DRAFT keeps its amount, asset, receiver, receiver wallet,
organization, disbursement and type, and cannot be deleted; a disbursement that
was started keeps its organization, asset and wallet and cannot be deleted.
Row triggers with a WHEN clause: PostgreSQL evaluates the condition itself and
calls the function only to refuse, so the bulk paths (COPY of an upload, status
moves of many rows, the cascade of a DRAFT disbursement's payments) pay a
comparison per row and no function call. The error is a check violation
(SQLSTATE 23514), an IntegrityError in Django.
"""

from django.db import migrations

PAYMENT_MONEY = (
    "amount, asset_id, receiver_id, receiver_wallet_id, organization_id, "
    "disbursement_id, type"
)
DISBURSEMENT_MONEY = "organization_id, asset_id, wallet_id"
STARTED = "('STARTED', 'PAUSED', 'COMPLETED')"
# Removing a whole test organization (the benchmarks' clean-up) sets
# ``SET LOCAL sdp.purge = 'on'`` in its transaction; nothing else does.
NOT_PURGING = "current_setting('sdp.purge', true) IS DISTINCT FROM 'on'"

FUNCTION = """
CREATE FUNCTION sdp_refuse_money_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of a % % row is not allowed (id %)',
        lower(TG_OP), TG_TABLE_NAME, OLD.status, OLD.id
        USING ERRCODE = 'check_violation',
              HINT = 'money records are immutable once they leave DRAFT';
END
$$;
"""

TRIGGERS = [
    f"""
    CREATE TRIGGER payment_money_immutable
    BEFORE UPDATE ON disbursements_payment FOR EACH ROW
    WHEN (OLD.status <> 'DRAFT'
          AND ({", ".join("OLD." + c.strip() for c in PAYMENT_MONEY.split(","))})
              IS DISTINCT FROM
              ({", ".join("NEW." + c.strip() for c in PAYMENT_MONEY.split(","))}))
    EXECUTE FUNCTION sdp_refuse_money_change();
    """,
    f"""
    CREATE TRIGGER payment_no_delete_past_draft
    BEFORE DELETE ON disbursements_payment FOR EACH ROW
    WHEN (OLD.status <> 'DRAFT' AND {NOT_PURGING})
    EXECUTE FUNCTION sdp_refuse_money_change();
    """,
    f"""
    CREATE TRIGGER disbursement_money_immutable
    BEFORE UPDATE ON disbursements_disbursement FOR EACH ROW
    WHEN (OLD.status IN {STARTED}
          AND ({", ".join("OLD." + c.strip() for c in DISBURSEMENT_MONEY.split(","))})
              IS DISTINCT FROM
              ({", ".join("NEW." + c.strip() for c in DISBURSEMENT_MONEY.split(","))}))
    EXECUTE FUNCTION sdp_refuse_money_change();
    """,
    f"""
    CREATE TRIGGER disbursement_no_delete_once_started
    BEFORE DELETE ON disbursements_disbursement FOR EACH ROW
    WHEN (OLD.status IN {STARTED} AND {NOT_PURGING})
    EXECUTE FUNCTION sdp_refuse_money_change();
    """,
]

REVERSE = [
    "DROP TRIGGER IF EXISTS payment_money_immutable ON disbursements_payment",
    "DROP TRIGGER IF EXISTS payment_no_delete_past_draft ON disbursements_payment",
    "DROP TRIGGER IF EXISTS disbursement_money_immutable ON disbursements_disbursement",
    "DROP TRIGGER IF EXISTS disbursement_no_delete_once_started "
    "ON disbursements_disbursement",
    "DROP FUNCTION IF EXISTS sdp_refuse_money_change()",
]


class Migration(migrations.Migration):
    dependencies = [("disbursements", "0007_alter_payment_id")]

    operations = [migrations.RunSQL([FUNCTION, *TRIGGERS], REVERSE)]
