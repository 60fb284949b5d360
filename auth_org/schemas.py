"""The declared shape of auth_org's resources, as /openapi.json publishes them.

One serializer per resource, declared once: it renders the users, API keys,
assets and wallets the routes answer with (auth_org.api, catalog_api), it is
what /openapi.json publishes, and where a read writes the same JSON in SQL
(catalog_api.ASSET_TEXT, WALLET_MEMBERS) tests/foundation/test_schema_parity.py
holds the two together field by field. tests/auth_org/test_openapi.py holds
every answer of the real routes against the published schema.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField

from auth_org.models import Organization, Role
from core.apidoc import Timestamp, multipart_body

# --- catalog -----------------------------------------------------------------


class Asset(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    issuer = serializers.CharField(allow_blank=True, help_text="'' for XLM")
    created_at = Timestamp()
    updated_at = Timestamp()
    deleted_at = Timestamp(allow_null=True)


class WalletWithoutAssets(serializers.Serializer):
    """A wallet within a receiver wallet."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    homepage = serializers.CharField()
    deep_link_schema = serializers.CharField()
    sep_10_client_domain = serializers.CharField()
    enabled = serializers.BooleanField()
    user_managed = serializers.BooleanField()
    embedded = serializers.BooleanField()
    created_at = Timestamp()
    updated_at = Timestamp()
    deleted_at = Timestamp(allow_null=True)


class Wallet(WalletWithoutAssets):
    """A wallet provider, with the assets it takes."""

    assets = Asset(
        many=True, source="live_assets", help_text="its assets that are not deleted"
    )


class AssetRef(serializers.Serializer):
    id = serializers.UUIDField()


class WalletInput(serializers.Serializer):
    """POST /wallets; PATCH /wallets/{id} takes any of these (``enabled`` alone
    to switch a wallet on or off)."""

    name = serializers.CharField(max_length=30)
    homepage = serializers.URLField(max_length=200, help_text="https")
    deep_link_schema = serializers.CharField(max_length=255)
    sep_10_client_domain = serializers.CharField(max_length=255)
    enabled = serializers.BooleanField(required=False)
    assets = AssetRef(many=True, required=False)
    assets_ids = serializers.ListField(child=serializers.UUIDField(), required=False)


class WalletPatch(WalletInput):
    name = serializers.CharField(max_length=30, required=False)
    homepage = serializers.URLField(max_length=200, required=False)
    deep_link_schema = serializers.CharField(max_length=255, required=False)
    sep_10_client_domain = serializers.CharField(max_length=255, required=False)


class AssetInput(serializers.Serializer):
    code = serializers.CharField(max_length=12)
    issuer = serializers.CharField(max_length=56, allow_blank=True, required=False)


# --- users, profile, API keys --------------------------------------------------

ROLES = Role.values


class User(serializers.Serializer):
    id = serializers.UUIDField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES))
    is_active = serializers.BooleanField()


class Profile(serializers.Serializer):
    id = serializers.UUIDField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES))
    organization_name = serializers.CharField()


class Roles(serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=ROLES))


class APIKey(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    allowed_ips = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField(
        source="is_enabled", help_text="false once expired"
    )
    expiry_date = Timestamp(allow_null=True)
    created_at = Timestamp()
    created_by = serializers.UUIDField(source="created_by_id", allow_null=True)
    updated_at = Timestamp()
    updated_by = serializers.UUIDField(source="updated_by_id", allow_null=True)
    last_used_at = Timestamp(allow_null=True)
    key = serializers.CharField(
        source="plaintext",
        required=False,
        help_text="SDP_<id>.<secret>: only in the answer of its creation",
    )


# --- organization --------------------------------------------------------------


class CircleWalletId(serializers.CharField):
    """Present only on a Circle tenant's account (null until configured): an
    instance without the attribute leaves the field out rather than null."""

    def get_attribute(self, instance: Any) -> Any:
        if not hasattr(instance, "circle_wallet_id"):
            raise SkipField
        return super().get_attribute(instance)


class DistributionAccount(serializers.Serializer):
    """An organization's distribution account (rendered from the organization)."""

    address = serializers.CharField(
        source="distribution_account_address", allow_blank=True
    )
    type = serializers.CharField(source="distribution_account_type")
    status = serializers.CharField(source="distribution_account_status")
    circle_wallet_id = CircleWalletId(
        required=False, allow_null=True, help_text="Circle tenants only"
    )


class OrganizationSerializer(serializers.Serializer):
    """An organization; what is not a column (logo_url, base_url, the effective
    settings, the templates that are not the default) is an attribute of the
    instance (auth_org.api.organization_json's)."""

    name = serializers.CharField(source="display_name")
    logo_url = serializers.URLField()
    base_url = serializers.CharField()
    distribution_account_public_key = serializers.CharField(
        source="distribution_account_address", allow_blank=True
    )
    distribution_account = DistributionAccount(source="*")
    timezone_utc_offset = serializers.CharField()
    is_approval_required = serializers.BooleanField()
    is_link_shortener_enabled = serializers.BooleanField()
    is_memo_tracing_enabled = serializers.BooleanField()
    receiver_invitation_resend_interval_days = serializers.IntegerField()
    payment_cancellation_period_days = serializers.IntegerField()
    privacy_policy_link = serializers.CharField(allow_null=True)
    message_channel_priority = serializers.ListField(child=serializers.CharField())
    mfa_disabled = serializers.BooleanField()
    captcha_disabled = serializers.BooleanField()
    receiver_invitations_disabled = serializers.BooleanField()
    locale = serializers.CharField(
        allow_blank=True,
        help_text="the reports' number and date format (a language tag such as de "
        "or pt-BR); '' for the deployment's REPORTS_LOCALE",
    )
    receiver_registration_message_template = serializers.CharField(
        required=False, help_text="only when not the default"
    )
    otp_message_template = serializers.CharField(
        required=False, help_text="only when not the default"
    )

    class Meta:
        ref_name = "Organization"


class OrganizationSettings(serializers.Serializer):
    """Any of these; the dashboard's Settings toggles send one at a time."""

    organization_name = serializers.CharField(required=False, max_length=64)
    privacy_policy_link = serializers.CharField(required=False, allow_blank=True)
    timezone_utc_offset = serializers.CharField(required=False)
    is_approval_required = serializers.BooleanField(required=False)
    is_link_shortener_enabled = serializers.BooleanField(required=False)
    is_memo_tracing_enabled = serializers.BooleanField(required=False)
    mfa_disabled = serializers.BooleanField(required=False, allow_null=True)
    captcha_disabled = serializers.BooleanField(required=False, allow_null=True)
    receiver_invitations_disabled = serializers.BooleanField(
        required=False, allow_null=True
    )
    receiver_invitation_resend_interval_days = serializers.IntegerField(
        required=False, allow_null=True
    )
    payment_cancellation_period_days = serializers.IntegerField(
        required=False, allow_null=True
    )
    receiver_registration_message_template = serializers.CharField(
        required=False, allow_blank=True, help_text="'' for the default"
    )
    otp_message_template = serializers.CharField(
        required=False, allow_blank=True, help_text="'' for the default"
    )
    sms_daily_cap = serializers.IntegerField(required=False, allow_null=True)
    locale = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="the reports' numbers and dates: a language tag Django formats "
        "(en, de, fr, es, pt-BR, ...); '' or null for the deployment's REPORTS_LOCALE",
    )


class OrganizationUpdate(serializers.Serializer):
    data = serializers.CharField(
        required=False, help_text="OrganizationSettings as a JSON string"
    )
    logo = serializers.FileField(required=False, help_text="PNG or JPEG, 2 MB max")


ORGANIZATION_UPDATE = multipart_body(OrganizationUpdate, also_json=OrganizationSettings)


class AppConfig(serializers.Serializer):
    captcha_disabled = serializers.BooleanField()
    captcha_type = serializers.CharField()
    captcha_site_key = serializers.CharField(allow_blank=True)


class CircleConfigInput(serializers.Serializer):
    wallet_id = serializers.CharField(required=False, allow_blank=True, max_length=64)
    api_key = serializers.CharField(required=False, allow_blank=True, max_length=256)


class CircleAccount(serializers.Serializer):
    circle_wallet_id = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    type = serializers.CharField()


class CircleBalance(serializers.Serializer):
    amount = serializers.CharField()
    asset_code = serializers.CharField()
    asset_issuer = serializers.CharField(allow_blank=True)


class CircleBalances(serializers.Serializer):
    account = CircleAccount()
    balances = CircleBalance(many=True)


class BridgeIntegration(serializers.Serializer):
    status = serializers.CharField()


# --- the tenants' admin API ------------------------------------------------------


class Tenant(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    base_url = serializers.CharField(allow_null=True)
    sdp_ui_base_url = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=Organization.Status.choices)
    distribution_account_address = serializers.CharField(allow_null=True)
    distribution_account_type = serializers.CharField()
    distribution_account_status = serializers.CharField()
    is_default = serializers.BooleanField()
    created_at = Timestamp()
    updated_at = Timestamp()
    deleted_at = Timestamp(allow_null=True)


class LoginResult(serializers.Serializer):
    """A token, or a message when a code was sent for MFA."""

    token = serializers.CharField(required=False)
    message = serializers.CharField(required=False)


class ListedAsset(Asset):
    """An asset in GET /assets: with ?enabled=, also its trustline and balance."""

    enabled = serializers.BooleanField(required=False)
    has_trustline = serializers.BooleanField(required=False)
    balance = serializers.CharField(
        required=False, help_text="the distribution account's, 7 decimals"
    )


# --- webhooks --------------------------------------------------------------------


class WebhookEndpoint(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    event_types = serializers.ListField(
        child=serializers.CharField(), help_text="empty: every event type"
    )
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(
        help_text="why the platform disabled it (repeated failure), else empty"
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    secret = serializers.CharField(
        required=False,
        help_text="whsec_...: only in the answer of its creation or of a roll",
    )


class WebhookAttempt(serializers.Serializer):
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField(help_text="its first KB")
    error = serializers.CharField()


class WebhookDelivery(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    object_id = serializers.CharField()
    status = serializers.ChoiceField(choices=["PENDING", "DELIVERED", "FAILED"])
    attempts = serializers.ListField(child=WebhookAttempt())
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


# --- controls (docs/controls.md) -------------------------------------------------


class ApprovalTier(serializers.Serializer):
    above = serializers.CharField(help_text="an amount with 7 decimals")
    approvals = serializers.IntegerField(min_value=1)


class AssetControls(serializers.Serializer):
    """An asset's spending limits (null: no limit), approval tiers and
    low-balance threshold."""

    asset_id = serializers.UUIDField(read_only=True)
    daily_max = serializers.CharField(allow_null=True, required=False)
    per_disbursement_max = serializers.CharField(allow_null=True, required=False)
    per_receiver_max = serializers.CharField(allow_null=True, required=False)
    per_receiver_window_days = serializers.IntegerField(required=False)
    approval_tiers = ApprovalTier(many=True, required=False)
    low_balance_threshold = serializers.CharField(
        allow_null=True,
        required=False,
        help_text=(
            "an amount with 7 decimals, 0 or more (null: off); below it the "
            "distribution_account.low_balance webhook event is sent once per fall"
        ),
    )


class TenantControls(serializers.Serializer):
    """The tenant's duplicate-warning window and tolerance, and cooling period."""

    duplicate_window_days = serializers.IntegerField(required=False)
    duplicate_tolerance_percent = serializers.CharField(required=False)
    cooling_period_hours = serializers.IntegerField(required=False)
