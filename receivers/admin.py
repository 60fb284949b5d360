"""Staff views of receivers; flag and unflag through receivers.services."""

from __future__ import annotations

from django.contrib import admin, messages

from core.admin import StatusHistoryInline
from core.admin_display import short_column
from core.api import APIError
from core.fsm import InvalidTransition
from receivers import services
from receivers.models import (
    Receiver,
    ReceiverVerification,
    ReceiverWallet,
    ReceiverWalletStatusChange,
)
from receivers.registration import reset_verification_attempts


class ReceiverVerificationInline(admin.TabularInline):
    model = ReceiverVerification
    # The hash is never shown: it is of no use to staff and only helps guessing.
    fields = ("verification_field", "attempts", "confirmed_at", "confirmed_by_type",
              "failed_at", "updated_at")  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ReceiverWalletInline(admin.TabularInline):
    model = ReceiverWallet
    fields = ("wallet", "status", "stellar_address", "invitation_sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Receiver)
class ReceiverAdmin(admin.ModelAdmin):
    list_display = (
        "external_id",
        "organization",
        "phone_number",
        "email",
        "created_at",
    )
    list_filter = ("organization",)
    search_fields = ("id", "external_id", "phone_number", "email")
    list_select_related = ("organization",)
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("organization",)
    inlines = [ReceiverWalletInline, ReceiverVerificationInline]
    actions = ["reset_verification_attempts"]

    @admin.action(description="Reset the verification attempts of the receivers")
    def reset_verification_attempts(self, request, queryset):
        verifications = ReceiverVerification.objects.filter(
            receiver__in=queryset
        ).select_related("receiver")
        count = 0
        for verification in verifications:
            reset_verification_attempts(verification, actor=request.user)
            count += 1
        self.message_user(
            request, f"{count} verification value(s) unlocked", messages.SUCCESS
        )


@admin.register(ReceiverVerification)
class ReceiverVerificationAdmin(admin.ModelAdmin):
    list_display = ("receiver", "verification_field", "confirmed_at", "attempts")
    list_filter = ("verification_field", "confirmed_by_type")
    search_fields = ("receiver__external_id", "receiver__phone_number",
                     "receiver__email")  # fmt: skip
    list_select_related = ("receiver",)
    exclude = ("hashed_value",)
    readonly_fields = ("receiver", "verification_field", "attempts", "confirmed_at",
                       "failed_at", "verification_channel", "confirmed_by_type",
                       "confirmed_by_id")  # fmt: skip
    actions = ["reset_attempts"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Reset the attempts of the selected verification values")
    def reset_attempts(self, request, queryset):
        count = 0
        for verification in queryset.select_related("receiver"):
            reset_verification_attempts(verification, actor=request.user)
            count += 1
        self.message_user(
            request, f"{count} verification value(s) unlocked", messages.SUCCESS
        )


class ReceiverWalletStatusChangeInline(StatusHistoryInline):
    model = ReceiverWalletStatusChange


@admin.register(ReceiverWallet)
class ReceiverWalletAdmin(admin.ModelAdmin):
    list_display = ("__str__", "organization", "status",
                    short_column("stellar_address", "address"),
                    "invitation_sent_at")  # fmt: skip
    list_filter = ("status", "organization")
    search_fields = ("id", "stellar_address", "receiver__external_id",
                     "receiver__phone_number", "receiver__email")  # fmt: skip
    list_select_related = ("receiver", "wallet", "organization")
    readonly_fields = ("status", "stellar_address", "stellar_memo", "stellar_memo_type",
                       "otp_confirmed_at", "invitation_sent_at", "created_at",
                       "updated_at")  # fmt: skip
    exclude = ("otp_hash",)
    raw_id_fields = ("organization", "receiver", "wallet")
    inlines = [ReceiverWalletStatusChangeInline]
    actions = ["resend_invitation", "flag", "unflag"]

    def _run(self, request, queryset, action, done: str) -> None:
        ok = 0
        for receiver_wallet in queryset.select_related("receiver", "wallet"):
            try:
                action(receiver_wallet, actor=request.user)
            except (APIError, InvalidTransition) as exc:
                message = getattr(exc, "message", str(exc))
                self.message_user(
                    request, f"{receiver_wallet}: {message}", messages.ERROR
                )
            else:
                ok += 1
        if ok:
            self.message_user(request, f"{ok} {done}", messages.SUCCESS)

    @admin.action(description="Resend the invitation of the selected receiver wallets")
    def resend_invitation(self, request, queryset):
        # The dashboard's "retry invitation" (PATCH /receivers/wallets/{id}).
        self._run(
            request,
            queryset,
            lambda receiver_wallet, actor: services.retry_invitation(receiver_wallet),
            "invitation(s) queued",
        )

    @admin.action(description="Flag the selected receiver wallets")
    def flag(self, request, queryset):
        self._run(request, queryset, services.flag_wallet, "receiver wallet(s) flagged")

    @admin.action(description="Unflag the selected receiver wallets")
    def unflag(self, request, queryset):
        self._run(
            request, queryset, services.unflag_wallet, "receiver wallet(s) unflagged"
        )
