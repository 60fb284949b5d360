"""Organizations (tenants) and their configuration, users and roles, API keys, audit."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.fields import amount_field

DEFAULT_INVITATION_TEMPLATE = (
    "You have a payment waiting for you from the {{ organization_name }}. "
    "Click {{ registration_link }} to register."
)
DEFAULT_OTP_TEMPLATE = "{{ otp }} is your {{ organization_name }} verification code."


class MessageChannel(models.TextChoices):
    SMS = "SMS"
    EMAIL = "EMAIL"
    WHATSAPP = "WHATSAPP"


def default_channel_priority() -> list[str]:
    return [MessageChannel.SMS, MessageChannel.EMAIL]


class Organization(models.Model):
    """A tenant: one organization paying its receivers, with all its settings."""

    class Status(models.TextChoices):
        CREATED = "TENANT_CREATED"
        PROVISIONED = "TENANT_PROVISIONED"
        ACTIVATED = "TENANT_ACTIVATED"
        DEACTIVATED = "TENANT_DEACTIVATED"

    class DistributionAccountType(models.TextChoices):
        STELLAR_ENV = "DISTRIBUTION_ACCOUNT.STELLAR.ENV"
        STELLAR_DB_VAULT = "DISTRIBUTION_ACCOUNT.STELLAR.DB_VAULT"
        CIRCLE_DB_VAULT = "DISTRIBUTION_ACCOUNT.CIRCLE.DB_VAULT"

    class DistributionAccountStatus(models.TextChoices):
        ACTIVE = "ACTIVE"
        PENDING_USER_ACTIVATION = "PENDING_USER_ACTIVATION"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The tenant name: what SDP-Tenant-Name and the host's first label carry.
    name = models.CharField(
        max_length=63,
        validators=[RegexValidator(r"^[a-z-]+$", "lower-case letters and dashes only")],
    )
    display_name = models.CharField(max_length=64)
    base_url = models.URLField(blank=True)
    sdp_ui_base_url = models.URLField(blank=True)
    status = models.CharField(max_length=32, choices=Status, default=Status.CREATED)
    is_default = models.BooleanField(default=False)
    distribution_account_address = models.CharField(max_length=56, blank=True)
    distribution_account_type = models.CharField(
        max_length=64,
        choices=DistributionAccountType,
        default=DistributionAccountType.STELLAR_DB_VAULT,
    )
    distribution_account_status = models.CharField(
        max_length=32,
        choices=DistributionAccountStatus,
        default=DistributionAccountStatus.ACTIVE,
    )

    # Organization settings (SDP's organizations table)
    timezone_utc_offset = models.CharField(max_length=6, default="+00:00")
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_content_type = models.CharField(max_length=32, blank=True)
    receiver_registration_message_template = models.CharField(
        max_length=255, default=DEFAULT_INVITATION_TEMPLATE
    )
    otp_message_template = models.CharField(
        max_length=255, default=DEFAULT_OTP_TEMPLATE
    )
    is_approval_required = models.BooleanField(default=False)
    receiver_invitation_resend_interval_days = models.PositiveIntegerField(
        null=True, blank=True
    )
    payment_cancellation_period_days = models.PositiveIntegerField(
        null=True, blank=True
    )
    privacy_policy_link = models.URLField(blank=True)
    message_channel_priority = ArrayField(
        models.CharField(max_length=16, choices=MessageChannel),
        default=default_channel_priority,
    )
    is_link_shortener_enabled = models.BooleanField(default=True)
    is_memo_tracing_enabled = models.BooleanField(default=True)
    # When set, these override the environment's DISABLE_MFA / DISABLE_RECAPTCHA.
    mfa_disabled = models.BooleanField(null=True, blank=True)
    captcha_disabled = models.BooleanField(null=True, blank=True)
    receiver_invitations_disabled = models.BooleanField(null=True, blank=True)
    # Cost control beyond SDP: SMS/WhatsApp messages a day; null means no cap.
    sms_daily_cap = models.PositiveIntegerField(null=True, blank=True)
    # Not SDP's: the language tag whose numbers and dates the reports use (one of
    # auth_org.locales.known()); empty means the deployment's REPORTS_LOCALE.
    locale = models.CharField(max_length=16, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organization_name_uniq"),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="organization_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_serving(self) -> bool:
        """Whether its users, keys and receivers may use the platform."""
        return self.deleted_at is None and self.status != self.Status.DEACTIVATED


class Role(models.TextChoices):
    OWNER = "owner"
    FINANCIAL_CONTROLLER = "financial_controller"
    DEVELOPER = "developer"
    BUSINESS = "business"
    INITIATOR = "initiator"
    APPROVER = "approver"


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, email: str, password: str | None = None, **fields
    ) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A dashboard user of one organization, or (organization unset) a platform
    operator who uses only the Django admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    # Unique per organization (case-insensitive), not globally: the same person may
    # work for two tenants, as in SDP's schema-per-tenant layout.
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=128, blank=True)
    last_name = models.CharField(max_length=128, blank=True)
    roles = ArrayField(
        models.CharField(max_length=32, choices=Role), default=list, blank=True
    )
    is_owner = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Django admin access for platform operators.
    is_staff = models.BooleanField(default=False)
    is_superuser = models.BooleanField(default=False)
    # Carried in every session token; raising it ends all the user's sessions
    # (password changed or reset).
    token_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("email"), name="user_org_email_uniq"
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(organization__isnull=True),
                name="user_operator_email_uniq",
            ),
            models.CheckConstraint(
                condition=~(
                    models.Q(roles__contains=[Role.INITIATOR])
                    & models.Q(roles__contains=[Role.APPROVER])
                ),
                name="user_initiator_approver_exclusive",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_active and self.is_superuser

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.is_superuser

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Asset(models.Model):
    """A Stellar asset an organization pays in."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="assets"
    )
    code = models.CharField(max_length=12)
    issuer = models.CharField(max_length=56, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code", "issuer"],
                condition=models.Q(deleted_at__isnull=True),
                name="asset_org_code_issuer_uniq",
            ),
            models.CheckConstraint(
                condition=(models.Q(code="XLM") & models.Q(issuer=""))
                | (~models.Q(code="XLM") & models.Q(issuer__regex=r"^G[A-Z2-7]{55}$")),
                name="asset_issuer_matches_code",
            ),
        ]

    def __str__(self) -> str:
        return self.code if self.is_native else f"{self.code}:{self.issuer[:6]}…"

    @property
    def is_native(self) -> bool:
        return self.code == "XLM" and not self.issuer


class Wallet(models.Model):
    """A wallet provider receivers can register with."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="wallets"
    )
    name = models.CharField(max_length=30)
    homepage = models.URLField()
    deep_link_schema = models.CharField(max_length=255)
    sep_10_client_domain = models.CharField(max_length=255)
    enabled = models.BooleanField(default=True)
    user_managed = models.BooleanField(default=False)
    embedded = models.BooleanField(default=False)
    assets = models.ManyToManyField(Asset, blank=True, related_name="wallets")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="wallet_org_name_uniq"
            ),
            models.UniqueConstraint(
                fields=["organization", "homepage"], name="wallet_org_homepage_uniq"
            ),
            models.UniqueConstraint(
                fields=["organization", "deep_link_schema"],
                name="wallet_org_deep_link_uniq",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(user_managed=True),
                name="wallet_one_user_managed",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def live_assets(self) -> list[Asset]:
        """Its assets not deleted, oldest first, as a wallet's JSON lists them
        (from a prefetch of ``assets`` when there is one)."""
        live = (a for a in self.assets.all() if a.deleted_at is None)
        return sorted(live, key=lambda a: (a.created_at, a.pk))


class APIKey(models.Model):
    """An API key: ``SDP_<id>.<secret>``; only a salted hash of the secret is kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=128)
    key_hash = models.CharField(max_length=64)
    salt = models.CharField(max_length=32)
    permissions = ArrayField(models.CharField(max_length=32), default=list)
    allowed_ips = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    expiry_date = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    @property
    def is_enabled(self) -> bool:
        """False once expired."""
        return self.expiry_date is None or self.expiry_date > timezone.now()


class PasswordResetToken(models.Model):
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="reset_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    is_valid = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # 20 minutes for a forgotten password, 7 days for an invitation.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_valid=True),
                name="reset_token_one_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"reset token of {self.user_id}"


class MFACode(models.Model):
    """The email code for one user on one device, and how long the device is trusted."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="mfa_codes")
    device_id = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    device_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "device_id"], name="mfa_user_device_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"MFA {self.user_id} / {self.device_id}"


class RevokedSession(models.Model):
    """A dashboard session ended by logout: its tokens (same ``sid``) are refused
    until they would have expired anyway."""

    session_id = models.UUIDField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"revoked session {self.session_id}"


class AuditEntry(models.Model):
    """A security-relevant action: who, in which tenant, from where, what changed."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # Before/after values as the models hold them: dates, decimals, UUIDs too.
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return (
            f"{self.action} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
        )


class AssetControls(models.Model):
    """A tenant's controls on one asset: spending limits (empty: no limit) and,
    through its ``tiers``, the approvals a start needs above an amount. Written
    only by ``auth_org.controls``, each change audited."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    asset = models.OneToOneField(
        Asset, on_delete=models.CASCADE, related_name="controls"
    )
    daily_max = amount_field(null=True, blank=True)
    per_disbursement_max = amount_field(null=True, blank=True)
    per_receiver_max = amount_field(null=True, blank=True)
    per_receiver_window_days = models.PositiveIntegerField(default=30)
    # The low-balance warning (docs/controls.md): the event
    # ``distribution_account.low_balance`` when the distribution account's balance
    # of the asset falls below the threshold (null: off); ``low_balance_since`` is
    # when it was told, cleared once the balance is back at or above it.
    low_balance_threshold = amount_field(null=True, blank=True)
    low_balance_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "asset controls"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(low_balance_threshold__gte=0)
                | models.Q(low_balance_threshold__isnull=True),
                name="asset_controls_low_balance_threshold_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(daily_max__gt=0) | models.Q(daily_max__isnull=True),
                name="asset_controls_daily_max_gt_0",
            ),
            models.CheckConstraint(
                condition=models.Q(per_disbursement_max__gt=0)
                | models.Q(per_disbursement_max__isnull=True),
                name="asset_controls_per_disbursement_max_gt_0",
            ),
            models.CheckConstraint(
                condition=models.Q(per_receiver_max__gt=0)
                | models.Q(per_receiver_max__isnull=True),
                name="asset_controls_per_receiver_max_gt_0",
            ),
            models.CheckConstraint(
                condition=models.Q(per_receiver_window_days__gt=0),
                name="asset_controls_window_gt_0",
            ),
        ]

    def __str__(self) -> str:
        return f"controls of {self.asset}"


class ApprovalTier(models.Model):
    """Above ``above`` (a disbursement's total, a direct payment's amount) a start
    needs ``approvals`` distinct approvers, none of them its initiator."""

    controls = models.ForeignKey(
        AssetControls, on_delete=models.CASCADE, related_name="tiers"
    )
    above = amount_field()
    approvals = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["above"]
        constraints = [
            models.UniqueConstraint(
                fields=["controls", "above"], name="approval_tier_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(above__gte=0), name="approval_tier_above_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(approvals__gte=1),
                name="approval_tier_approvals_gte_1",
            ),
        ]

    def __str__(self) -> str:
        return f"above {self.above}: {self.approvals} approvals"


class TenantControls(models.Model):
    """A tenant's controls that are not per asset: the duplicate-payment warnings'
    window and tolerance, and the cooling period of new or changed wallet
    addresses (0: off). Written only by ``auth_org.controls``, audited."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="controls"
    )
    duplicate_window_days = models.PositiveIntegerField(default=30)
    # A payment within this percentage of an earlier one's amount is "near" it.
    duplicate_tolerance_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0
    )
    cooling_period_hours = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "tenant controls"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duplicate_tolerance_percent__gte=0)
                & models.Q(duplicate_tolerance_percent__lte=100),
                name="tenant_controls_tolerance_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"controls of {self.organization_id}"
