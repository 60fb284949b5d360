"""The declared shape of receivers, their wallets and the SEP routes, as
/openapi.json publishes them.

Declared once: the dashboard reads are written in SQL for speed
(disbursements.receivers_api.receiver_sql, receiver_wallet_sql); these render
the same resources from model instances (the payment figures, which are not
columns, are attributes of the instance), and
tests/foundation/test_schema_parity.py holds each SQL answer against them field
by field. tests/auth_org/test_openapi.py holds every answer of the real routes
against the published schema.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from auth_org.schemas import WalletWithoutAssets
from core.apidoc import BlankAsNull, CountText, Money, NullAsBlank, Timestamp
from receivers.models import ReceiverWallet, VerificationField


def _strings(values: list[str]) -> dict:
    return {"type": "array", "items": {"type": "string", "enum": list(values)}}


VERIFICATION_TYPES = _strings(VerificationField.values)
CONTACT_TYPES = _strings(
    [
        "EMAIL",
        "PHONE_NUMBER",
        "EMAIL_AND_WALLET_ADDRESS",
        "PHONE_NUMBER_AND_WALLET_ADDRESS",
    ]
)


class IdRef(serializers.Serializer):
    id = serializers.UUIDField()


class ReceivedAmount(serializers.Serializer):
    asset_code = serializers.CharField()
    asset_issuer = serializers.CharField(allow_blank=True)
    received_amount = Money()


class ReceiverWalletSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    receiver = IdRef()
    wallet = WalletWithoutAssets()
    status = serializers.ChoiceField(choices=ReceiverWallet.Status.choices)
    stellar_address = NullAsBlank()
    stellar_memo = serializers.CharField(allow_blank=True)
    stellar_memo_type = serializers.CharField(allow_blank=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    invited_at = Timestamp(allow_null=True)
    last_message_sent_at = Timestamp(allow_null=True)
    last_sms_sent = Timestamp(
        source="last_message_sent_at",
        allow_null=True,
        help_text="SDP's earlier name of last_message_sent_at",
    )
    invitation_sent_at = Timestamp(allow_null=True)
    otp_confirmed_at = Timestamp(allow_null=True)
    otp_confirmed_with = BlankAsNull()
    sep24_transaction_id = BlankAsNull()
    total_payments = CountText()
    payments_received = CountText()
    failed_payments = CountText()
    canceled_payments = CountText()
    remaining_payments = CountText()
    received_amounts = ReceivedAmount(many=True)

    class Meta:
        ref_name = "ReceiverWallet"


class Verification(serializers.Serializer):
    verification_field = serializers.ChoiceField(choices=VerificationField.choices)
    hashed_value = serializers.CharField()
    confirmed_at = Timestamp(allow_null=True)
    verification_channel = BlankAsNull()
    updated_at = Timestamp()


class ReceiverSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = NullAsBlank()
    phone_number = NullAsBlank()
    external_id = serializers.CharField(allow_blank=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    total_payments = CountText()
    successful_payments = CountText()
    failed_payments = CountText()
    canceled_payments = CountText()
    remaining_payments = CountText()
    registered_wallets = CountText()
    received_amounts = ReceivedAmount(many=True)
    wallets = ReceiverWalletSerializer(many=True)
    verifications = Verification(many=True)

    class Meta:
        ref_name = "Receiver"


class VerificationInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=VerificationField.choices)
    value = serializers.CharField()


class WalletAddressRef(serializers.Serializer):
    address = serializers.CharField()
    memo = serializers.CharField(required=False, allow_blank=True)


class ReceiverInput(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    phone_number = serializers.CharField(
        required=False, allow_blank=True, allow_null=True
    )
    external_id = serializers.CharField(max_length=64)
    verifications = VerificationInput(many=True, required=False)
    wallets = WalletAddressRef(many=True, required=False)


class ReceiverPatch(serializers.Serializer):
    """Any of these; a verification value replaces the receiver's."""

    email = serializers.CharField(required=False, allow_null=True)
    phone_number = serializers.CharField(required=False, allow_null=True)
    external_id = serializers.CharField(required=False, allow_null=True)
    date_of_birth = serializers.CharField(required=False, allow_null=True)
    year_month = serializers.CharField(required=False, allow_null=True)
    pin = serializers.CharField(required=False, allow_null=True)
    national_id = serializers.CharField(required=False, allow_null=True)


class WalletAddressInput(serializers.Serializer):
    stellar_address = serializers.CharField(max_length=69)
    stellar_memo = serializers.CharField(required=False, allow_blank=True)


class ReceiverWalletStatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["READY"])


class InvitationRetried(serializers.Serializer):
    id = serializers.UUIDField()
    receiver_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField()
    created_at = Timestamp()
    invitation_sent_at = Timestamp(allow_null=True)
    message = serializers.CharField()


# --- SEP-10 and SEP-24 (the wallets' side) ------------------------------------


class Sep10Challenge(serializers.Serializer):
    transaction = serializers.CharField(help_text="the challenge, base64 XDR")
    network_passphrase = serializers.CharField()


class Sep10Signed(serializers.Serializer):
    transaction = serializers.CharField(help_text="the signed challenge, base64 XDR")


class Sep24AssetInfo(serializers.Serializer):
    enabled = serializers.BooleanField()
    min_amount = serializers.IntegerField()
    max_amount = serializers.IntegerField()


class Sep24Info(serializers.Serializer):
    deposit = serializers.DictField(child=Sep24AssetInfo())
    withdraw = serializers.DictField()
    fee = serializers.DictField()
    features = serializers.DictField()


class Sep24DepositInput(serializers.Serializer):
    asset_code = serializers.CharField()
    asset_issuer = serializers.CharField(required=False, allow_blank=True)
    account = serializers.CharField(required=False, allow_blank=True)
    lang = serializers.CharField(required=False, allow_blank=True)


class Sep24Interactive(serializers.Serializer):
    type = serializers.CharField()
    url = serializers.URLField()
    id = serializers.CharField()


class Sep24FeeDetails(serializers.Serializer):
    total = serializers.CharField()
    asset = serializers.CharField()


class Sep24Transaction(serializers.Serializer):
    """SEP-24's transaction object as receivers.sep.interactive.transaction_body
    writes it: what does not apply to the status is left out."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(["deposit"])
    status = serializers.CharField()
    more_info_url = serializers.URLField()
    started_at = Timestamp()
    updated_at = Timestamp()
    to = serializers.CharField(help_text="the account that authenticated")
    message = serializers.CharField(allow_blank=True)
    deposit_memo = serializers.CharField(required=False)
    deposit_memo_type = serializers.CharField(required=False)
    external_transaction_id = serializers.CharField(
        required=False, help_text="the platform's payment id, once there is one"
    )
    amount_in = serializers.CharField(required=False)
    amount_in_asset = serializers.CharField(
        required=False, help_text="SEP-38 form: stellar:CODE:ISSUER or stellar:native"
    )
    amount_out = serializers.CharField(required=False)
    amount_out_asset = serializers.CharField(required=False)
    amount_fee = serializers.CharField(required=False)
    amount_fee_asset = serializers.CharField(required=False)
    fee_details = Sep24FeeDetails(required=False)
    stellar_transaction_id = serializers.CharField(required=False)
    completed_at = Timestamp(required=False)
    # "from" is a Python keyword: declared below.


Sep24Transaction._declared_fields["from"] = serializers.CharField(
    required=False, help_text="the account that paid"
)


class Sep24Transactions(serializers.Serializer):
    transactions = Sep24Transaction(many=True)


class Sep24AuthenticationRequired(serializers.Serializer):
    """SEP-24's answer to a missing or invalid SEP-10 token (403)."""

    type = serializers.ChoiceField(["authentication_required"])


class Sep24TransactionAnswer(serializers.Serializer):
    transaction = Sep24Transaction()


class RegistrationInfo(serializers.Serializer):
    organization_name = serializers.CharField()
    organization_logo = serializers.URLField()
    privacy_policy_link = serializers.CharField(allow_null=True, allow_blank=True)
    is_registered = serializers.BooleanField()
    is_recaptcha_disabled = serializers.BooleanField()
    recaptcha_site_key = serializers.CharField(allow_blank=True)
    captcha_type = serializers.CharField()


class RegistrationOTPInput(serializers.Serializer):
    phone_number = serializers.CharField(required=False, allow_blank=True)
    email = serializers.CharField(required=False, allow_blank=True)
    recaptcha_token = serializers.CharField(required=False, allow_blank=True)


class RegistrationOTPSent(serializers.Serializer):
    message = serializers.CharField()
    verification_field = serializers.CharField(
        allow_null=True,
        help_text="The organization's default question, the same for every "
        "contact; a receiver asked another fact is told it by /verification "
        "(400_7, extras.verification_field) once the code is proven.",
    )


class RegistrationVerificationInput(serializers.Serializer):
    phone_number = serializers.CharField(required=False, allow_blank=True)
    email = serializers.CharField(required=False, allow_blank=True)
    otp = serializers.CharField()
    verification_field = serializers.CharField()
    verification = serializers.CharField()
    recaptcha_token = serializers.CharField(required=False, allow_blank=True)


class Sep10TokenScheme(OpenApiAuthenticationExtension):
    target_class = "receivers.sep.views.Sep10TokenAuthentication"
    name = "sep10Token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "SEP-10 JWT"}


class Sep24TokenScheme(OpenApiAuthenticationExtension):
    target_class = "receivers.sep.views.Sep24TokenAuthentication"
    name = "sep24Token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "the interactive URL's token",
        }
