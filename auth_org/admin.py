"""Django admin for platform operators: tenants, users, API keys, audit trail.

Secrets (password hashes, key hashes, MFA codes, reset tokens) are never shown.
Changes that matter for security go through the same services as the API, so they
are audited: tenant status, user activation, tenant provisioning.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from auth_org import catalog, locales, services, tenants
from auth_org.models import (
    APIKey,
    Asset,
    AuditEntry,
    MFACode,
    Organization,
    PasswordResetToken,
    User,
    Wallet,
)
from core.admin_display import short_column
from core.api import APIError
from core.middleware import client_ip
from messaging import texts
from messaging.models import Message

# Django 6 makes https the default scheme of a typed URL; take it now.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TenantProvisioningForm(forms.ModelForm):
    """Adding an organization provisions a tenant: owner, wallets, assets, account."""

    owner_email = forms.EmailField()
    owner_first_name = forms.CharField(max_length=128)
    owner_last_name = forms.CharField(max_length=128)

    base_url = forms.URLField(required=False, assume_scheme="https")
    sdp_ui_base_url = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Organization
        fields = ["name", "display_name", "base_url", "sdp_ui_base_url"]


class OrganizationChangeForm(forms.ModelForm):
    """Message templates take their placeholders only, and the locale is one the
    reports can format, as through the API."""

    locale = forms.ChoiceField(
        required=False,
        choices=locales.choices,
        help_text="The number and date format of statements and payment notices.",
    )

    class Meta:
        model = Organization
        fields = "__all__"  # noqa: DJ007 - the admin's own field list decides

    def _template(self, field: str, kind: str) -> str:
        try:
            value = texts.validate_template(
                self.cleaned_data.get(field, ""), kind=kind, field=field
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[field]) from None
        return value or Organization._meta.get_field(field).default

    def clean_receiver_registration_message_template(self) -> str:
        return self._template(
            "receiver_registration_message_template",
            Message.Kind.RECEIVER_INVITATION,
        )

    def clean_otp_message_template(self) -> str:
        return self._template("otp_message_template", Message.Kind.RECEIVER_OTP)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationChangeForm
    list_display = [
        "name",
        "display_name",
        "status",
        "is_default",
        short_column("distribution_account_address", "distribution account"),
        "created_at",
        "deleted_at",
    ]
    list_filter = ["status", "is_default", "distribution_account_type"]
    search_fields = ["name", "display_name", "distribution_account_address"]
    readonly_fields = [
        "id",
        "status",
        "is_default",
        short_column("distribution_account_address", "distribution account"),
        "distribution_account_type",
        "distribution_account_status",
        "created_at",
        "updated_at",
        "deleted_at",
    ]
    exclude = ["logo"]
    ordering = ["name"]
    formfield_overrides = URL_FIELDS
    actions = ["activate", "deactivate"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TenantProvisioningForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "name",
                "display_name",
                "base_url",
                "sdp_ui_base_url",
                "owner_email",
                "owner_first_name",
                "owner_last_name",
            ]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            # Through the service: row lock, audit, and a new daily cap reaches
            # the messages already waiting.
            updates = {name: form.cleaned_data[name] for name in form.changed_data}
            if updates:
                services.apply_organization_changes(
                    obj, updates, actor=request.user, ip=client_ip(request)
                )
            return
        data = form.cleaned_data
        organization = tenants.create_tenant(
            name=data["name"],
            organization_name=data["display_name"],
            owner_email=data["owner_email"],
            owner_first_name=data["owner_first_name"],
            owner_last_name=data["owner_last_name"],
            base_url=data.get("base_url", ""),
            sdp_ui_base_url=data.get("sdp_ui_base_url", ""),
            ip=client_ip(request),
        )
        # The admin goes on with the instance it built: make it the provisioned one.
        obj.__dict__.update(organization.__dict__)

    def _set_status(self, request, queryset, status: str) -> None:
        for organization in queryset:
            try:
                tenants.update_tenant(
                    organization, data={"status": status}, ip=client_ip(request)
                )
            except APIError as exc:
                self.message_user(
                    request, f"{organization.name}: {exc.message}", messages.ERROR
                )

    @admin.action(description="Activate the selected tenants")
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Organization.Status.ACTIVATED)

    @admin.action(description="Deactivate the selected tenants")
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, Organization.Status.DEACTIVATED)


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "organization",
        "roles",
        "is_active",
        "is_staff",
        "last_login",
        "created_at",
    ]
    list_filter = ["is_active", "is_staff", "is_owner", "organization"]
    search_fields = ["email", "first_name", "last_name", "organization__name"]
    list_select_related = ["organization"]
    fields = [
        "id",
        "organization",
        "email",
        "first_name",
        "last_name",
        "roles",
        "is_owner",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
        "created_at",
        "updated_at",
    ]
    # Roles and activation change through audited actions/the dashboard.
    readonly_fields = [
        "id",
        "organization",
        "roles",
        "is_owner",
        "is_active",
        "last_login",
        "created_at",
        "updated_at",
    ]
    actions = ["activate", "deactivate"]
    ordering = ["email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # dashboard users are invited; operators via createsuperuser

    def _set_active(self, request, queryset, is_active: bool) -> None:
        for user in queryset.select_related("organization"):
            try:
                services.set_user_activation(
                    user.organization,
                    actor=request.user,
                    user_id=user.pk,
                    is_active=is_active,
                    ip=client_ip(request),
                )
            except APIError as exc:
                self.message_user(request, f"{user}: {exc.message}", messages.ERROR)

    @admin.action(description="Activate the selected users")
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, False)


@admin.register(APIKey)
class APIKeyAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "organization",
        "created_by",
        "permissions",
        "expiry_date",
        "last_used_at",
        "created_at",
    ]
    list_filter = ["organization"]
    search_fields = ["name", "id", "organization__name", "created_by__email"]
    list_select_related = ["organization", "created_by"]
    exclude = ["key_hash", "salt"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "organization",
        "actor",
        "ip_address",
        "object_type",
        "object_id",
    ]
    list_filter = ["action", "organization"]
    search_fields = ["action", "actor__email", "object_id", "ip_address"]
    list_select_related = ["organization", "actor"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the audit trail is append-only


@admin.register(PasswordResetToken)
class PasswordResetTokenAdmin(ReadOnlyAdmin):
    list_display = ["user", "is_valid", "created_at", "expires_at"]
    list_filter = ["is_valid"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    exclude = ["token_hash"]


@admin.register(MFACode)
class MFACodeAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "device_id",
        "code_expires_at",
        "attempts",
        "device_expires_at",
    ]
    search_fields = ["user__email", "device_id"]
    list_select_related = ["user"]
    exclude = ["code_hash"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["code", short_column("issuer"), "organization", "created_at",
                    "deleted_at"]  # fmt: skip
    list_filter = ["code", "organization"]
    search_fields = ["code", "issuer", "organization__name"]
    list_select_related = ["organization"]


class WalletForm(forms.ModelForm):
    class Meta:
        model = Wallet
        fields = "__all__"  # noqa: DJ007 - the admin's own field list decides

    def clean_deep_link_schema(self) -> str:
        value = self.cleaned_data.get("deep_link_schema", "")
        error = catalog.deep_link_schema_error(value)
        if error:
            raise ValidationError(error)
        return value


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    form = WalletForm
    list_display = [
        "name",
        "organization",
        "homepage",
        "enabled",
        "user_managed",
        "embedded",
        "deleted_at",
    ]
    list_filter = ["enabled", "user_managed", "embedded", "organization"]
    search_fields = ["name", "homepage", "sep_10_client_domain", "organization__name"]
    list_select_related = ["organization"]
    filter_horizontal = ["assets"]
    formfield_overrides = URL_FIELDS
