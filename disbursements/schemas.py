"""The declared shape of disbursements, payments and statistics, as
/openapi.json publishes them.

Declared once: the routes write their JSON in SQL for speed (disbursements.api:
DISBURSEMENT_SQL, PAYMENT_SQL, DISBURSEMENT_RECEIVER_SQL) or in Python
(selectors.statistics); these render the same resources from model instances
(a figure that is not a column, such as a disbursement's counters, is an
attribute of the instance), and tests/foundation/test_schema_parity.py holds
each SQL answer against them field by field. tests/auth_org/test_openapi.py
holds every answer of the real routes against the published schema.
"""

from __future__ import annotations

from rest_framework import serializers

from auth_org.schemas import Asset, Wallet
from core.apidoc import BlankAsNull, Money, NullAsBlank, Timestamp, multipart_body
from disbursements.models import Disbursement, Payment, RegistrationContactType
from receivers.models import ReceiverWallet
from receivers.schemas import IdRef


class UserRef(serializers.Serializer):
    id = serializers.UUIDField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)


class DisbursementStatusChange(serializers.Serializer):
    status = serializers.ChoiceField(
        source="to_status", choices=Disbursement.Status.choices
    )
    user_id = NullAsBlank(source="actor_id", help_text="'' for the system")
    timestamp = Timestamp(source="created_at")


class DisbursementSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Disbursement.Status.choices)
    wallet = Wallet()
    asset = Asset()
    verification_field = serializers.CharField(allow_blank=True)
    registration_contact_type = serializers.ChoiceField(
        choices=RegistrationContactType.choices
    )
    receiver_registration_message_template = serializers.CharField(allow_blank=True)
    file_name = serializers.CharField(allow_blank=True)
    status_history = DisbursementStatusChange(many=True, source="status_changes")
    created_at = Timestamp()
    updated_at = Timestamp()
    created_by = UserRef(allow_null=True)
    started_by = UserRef(allow_null=True)
    total_payments = serializers.IntegerField()
    total_payments_sent = serializers.IntegerField()
    total_payments_failed = serializers.IntegerField()
    total_payments_canceled = serializers.IntegerField()
    total_payments_remaining = serializers.IntegerField()
    total_amount = Money()
    amount_disbursed = Money()
    average_amount = Money()

    class Meta:
        ref_name = "Disbursement"


class DisbursementInput(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    wallet_id = serializers.UUIDField()
    asset_id = serializers.UUIDField()
    registration_contact_type = serializers.ChoiceField(
        choices=RegistrationContactType.choices
    )
    verification_field = serializers.CharField(
        max_length=32, allow_blank=True, required=False, help_text="'' for none"
    )
    receiver_registration_message_template = serializers.CharField(
        allow_blank=True, required=False, max_length=1000
    )


class DisbursementUpload(serializers.Serializer):
    data = serializers.CharField(help_text="DisbursementInput as a JSON string")
    file = serializers.FileField(help_text="the instructions CSV")


class InstructionsUpload(serializers.Serializer):
    file = serializers.FileField(help_text="the instructions CSV")


DISBURSEMENT_CREATE = {
    "application/json": DisbursementInput,
    **multipart_body(DisbursementUpload),
}


class StatusInput(serializers.Serializer):
    status = serializers.CharField()


class DisbursementStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["STARTED", "PAUSED"])
    acknowledge_duplicates = serializers.BooleanField(
        required=False,
        help_text="required (true) to start a disbursement with duplicate warnings",
    )


class PaymentStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["CANCELED"])


class PaymentsRetryInput(serializers.Serializer):
    payment_ids = serializers.ListField(child=serializers.UUIDField())


# --- payments ------------------------------------------------------------------


class WalletName(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class PaymentReceiverWallet(serializers.Serializer):
    """A payment's receiver wallet (in payments and a disbursement's receivers)."""

    id = serializers.UUIDField()
    receiver = IdRef()
    wallet = WalletName()
    stellar_address = NullAsBlank()
    stellar_memo = serializers.CharField(allow_blank=True)
    stellar_memo_type = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=ReceiverWallet.Status.choices)
    created_at = Timestamp()
    updated_at = Timestamp()
    invitation_sent_at = Timestamp(allow_null=True)
    otp_confirmed_at = Timestamp(allow_null=True)
    otp_confirmed_with = BlankAsNull()
    sep24_transaction_id = BlankAsNull()


class PaymentStatusChange(serializers.Serializer):
    status = serializers.ChoiceField(source="to_status", choices=Payment.Status.choices)
    status_message = serializers.CharField(source="note", allow_blank=True)
    timestamp = Timestamp(source="created_at")


class PaymentDisbursement(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Disbursement.Status.choices)
    created_at = Timestamp()
    updated_at = Timestamp()


class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    amount = Money()
    type = serializers.ChoiceField(choices=Payment.Type.choices)
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    status_history = PaymentStatusChange(many=True, source="status_changes")
    stellar_transaction_id = serializers.CharField(allow_blank=True)
    stellar_operation_id = serializers.CharField(allow_blank=True)
    external_payment_id = serializers.CharField(allow_blank=True)
    circle_transfer_request_id = serializers.CharField(
        allow_null=True, help_text="the latest Circle transfer request (Circle tenants)"
    )
    sender_address = serializers.CharField(allow_blank=True)
    asset = Asset()
    receiver_wallet = PaymentReceiverWallet()
    created_at = Timestamp()
    updated_at = Timestamp()
    disbursement = PaymentDisbursement(
        required=False, help_text="absent for a direct payment"
    )

    class Meta:
        ref_name = "Payment"

    def to_representation(self, instance):
        body = super().to_representation(instance)
        if body.get("disbursement", ...) is None:
            del body["disbursement"]  # a direct payment: no key, not null
        return body


class DirectPaymentInput(serializers.Serializer):
    amount = serializers.CharField(max_length=32)
    asset = serializers.DictField(help_text="{id} or {code, issuer}")
    receiver = serializers.DictField(
        help_text="{id}, {email}, {phone_number}, {external_id} or {wallet_address}"
    )
    wallet = serializers.DictField(
        required=False, allow_null=True, help_text="{id} or {address}"
    )
    external_payment_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True
    )


# --- a disbursement's receivers --------------------------------------------------


class DisbursementReceiverPayment(serializers.Serializer):
    id = serializers.UUIDField()
    amount = Money()
    stellar_transaction_id = serializers.CharField(allow_blank=True)
    stellar_operation_id = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Payment.Status.choices)
    asset = Asset()
    created_at = Timestamp()
    updated_at = Timestamp()


class DisbursementReceiver(serializers.Serializer):
    """One of a disbursement's payments, by its receiver (rendered from the
    payment)."""

    id = serializers.UUIDField(source="receiver.id")
    phone_number = NullAsBlank(source="receiver.phone_number")
    email = NullAsBlank(source="receiver.email")
    external_id = serializers.CharField(source="receiver.external_id", allow_blank=True)
    created_at = Timestamp(source="receiver.created_at")
    updated_at = Timestamp(source="receiver.updated_at")
    receiver_wallet = PaymentReceiverWallet()
    payment = DisbursementReceiverPayment(source="*")


# --- statistics -------------------------------------------------------------------


def _counters(name: str, keys: list[str]) -> type[serializers.Serializer]:
    fields = {key: serializers.IntegerField() for key in [*keys, "total"]}
    return type(name, (serializers.Serializer,), {"__module__": __name__, **fields})


PaymentCounters = _counters("PaymentCounters", [s.lower() for s in Payment.Status])
WalletCounters = _counters(
    "ReceiverWalletCounters", [s.lower() for s in ReceiverWallet.Status]
)
PaymentAmounts = type(
    "PaymentAmounts",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        **{
            key: Money()
            for key in [*(s.lower() for s in Payment.Status), "average", "total"]
        },
    },
)


class AssetAmounts(serializers.Serializer):
    asset_code = serializers.CharField()
    payment_amounts = PaymentAmounts()


class Statistics(serializers.Serializer):
    payment_counters = PaymentCounters()
    payment_amounts_by_asset = AssetAmounts(many=True)
    receiver_wallets_counters = WalletCounters()
    total_receivers = serializers.IntegerField()
    total_disbursements = serializers.IntegerField()


# --- controls (docs/controls.md) -------------------------------------------------


class EarlierPayment(serializers.Serializer):
    id = serializers.UUIDField()
    amount = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    disbursement_id = serializers.UUIDField(allow_null=True)
    disbursement_name = serializers.CharField(allow_null=True)


class DuplicateWarning(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["recent_payment", "other_disbursement"])
    payment_id = serializers.UUIDField()
    receiver_external_id = serializers.CharField()
    amount = serializers.CharField()
    earlier_payment = EarlierPayment()


class InstructionsUploaded(serializers.Serializer):
    message = serializers.CharField()
    duplicates = DuplicateWarning(many=True, required=False)


class OutcomeTotal(serializers.Serializer):
    count = serializers.IntegerField()
    amount = serializers.CharField()


class PreflightPayments(serializers.Serializer):
    total = serializers.IntegerField()
    ready = OutcomeTotal()
    waiting = OutcomeTotal()
    failing = OutcomeTotal()


class PreflightReason(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()
    message = serializers.CharField()


class PreflightReasons(serializers.Serializer):
    waiting = PreflightReason(many=True)
    failing = PreflightReason(many=True)


class PreflightFailure(serializers.Serializer):
    payment_id = serializers.UUIDField()
    receiver_id = serializers.UUIDField()
    receiver_external_id = serializers.CharField()
    stellar_address = serializers.CharField(allow_blank=True)
    amount = serializers.CharField()
    reason = serializers.CharField()
    message = serializers.CharField()


class Preflight(serializers.Serializer):
    """What starting the disbursement now would do (docs/controls.md)."""

    disbursement_id = serializers.UUIDField()
    status = serializers.CharField()
    checked_at = serializers.DateTimeField()
    cached = serializers.BooleanField()
    payments = PreflightPayments()
    reasons = PreflightReasons()
    failures = PreflightFailure(many=True)
    failures_truncated = serializers.BooleanField()
    balance = serializers.DictField()
    limits = serializers.ListField(child=serializers.DictField())
    approvals = serializers.DictField()
    forecast = serializers.DictField(
        help_text="network_fees, operations_per_ledger, ledger_close_seconds, "
        "ledgers_to_pay, seconds_to_pay, messages"
    )
    duplicates = DuplicateWarning(many=True)


class DisbursementRetryInput(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=["no_account", "no_trustline", "not_authorized", "line_full", "other"],
        required=False,
        help_text="only the FAILED payments with this reason; all of them without",
    )


class RetryAnswer(serializers.Serializer):
    message = serializers.CharField()
    retried = serializers.IntegerField()


class PaymentReleaseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
