"""Staff operations on disbursements and payments, through the same services as
the API. Statuses are read-only; actions move them."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from disbursements import payments as payment_services
from disbursements import services
from disbursements.models import (
    Disbursement,
    DisbursementStatusChange,
    IdempotencyKey,
    Payment,
    PaymentStatusChange,
)
from messaging.selectors import disbursement_message_stats
from messaging.texts import validate_template
from sdp.admin import StatusHistoryInline
from sdp.api import APIError
from sdp.fsm import InvalidTransition

ERRORS = (APIError, InvalidTransition)


def _run(modeladmin, request, queryset, action, done: str) -> None:
    """Run ``action`` per row; report successes and each refusal by name."""
    ok = 0
    for obj in queryset:
        try:
            action(obj)
        except ERRORS as exc:
            message = getattr(exc, "message", str(exc))
            modeladmin.message_user(request, f"{obj}: {message}", messages.ERROR)
        else:
            ok += 1
    if ok:
        modeladmin.message_user(request, f"{ok} {done}", messages.SUCCESS)


class DisbursementStatusChangeInline(StatusHistoryInline):
    model = DisbursementStatusChange


class DisbursementAdminForm(forms.ModelForm):
    """The invitation text takes placeholders only, as through the API."""

    class Meta:
        model = Disbursement
        fields = "__all__"  # noqa: DJ007 - the admin's own field list decides

    def clean_receiver_registration_message_template(self) -> str:
        field = "receiver_registration_message_template"
        try:
            return validate_template(
                self.cleaned_data.get(field, ""), field=field, max_length=1000
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict[field]) from None


@admin.register(Disbursement)
class DisbursementAdmin(admin.ModelAdmin):
    form = DisbursementAdminForm
    list_display = ("name", "organization", "status", "asset", "wallet", "created_at")
    list_filter = ("status", "registration_contact_type", "organization")
    search_fields = ("name", "id")
    list_select_related = ("organization", "asset", "wallet")
    readonly_fields = (
        "status",
        "created_by",
        "file_name",
        "message_summary",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("organization", "asset", "wallet")
    inlines = [DisbursementStatusChangeInline]
    actions = ["start", "pause", "resume"]
    date_hierarchy = "created_at"

    @admin.display(description="Messages and estimated cost")
    def message_summary(self, obj: Disbursement) -> str:
        if obj.pk is None:
            return "-"
        stats = disbursement_message_stats(obj.pk)
        statuses = ", ".join(
            f"{n} {s.lower()}" for s, n in sorted(stats.by_status.items())
        )
        return (
            f"{stats.total} messages ({statuses or 'none'}); "
            f"{stats.units} billable units, about {stats.estimated_cost:.4f} "
            f"{stats.currency}"
        )

    @admin.action(description="Start the selected disbursements")
    def start(self, request, queryset):
        _run(
            self, request, queryset,
            lambda d: services.start_disbursement(d, actor=request.user),
            "disbursement(s) started",
        )  # fmt: skip

    @admin.action(description="Pause the selected disbursements")
    def pause(self, request, queryset):
        _run(
            self, request, queryset,
            lambda d: services.pause_disbursement(d, actor=request.user),
            "disbursement(s) paused",
        )  # fmt: skip

    @admin.action(description="Resume the selected disbursements")
    def resume(self, request, queryset):
        _run(
            self, request, queryset,
            lambda d: services.resume_disbursement(d, actor=request.user),
            "disbursement(s) resumed",
        )  # fmt: skip


class PaymentStatusChangeInline(StatusHistoryInline):
    model = PaymentStatusChange


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = (
        "id", "organization", "money", "status", "type", "disbursement", "created_at",
    )  # fmt: skip
    list_filter = ("status", "type", "organization")
    search_fields = (
        "id", "external_payment_id", "stellar_transaction_id",
        "receiver_wallet__stellar_address", "disbursement__name",
    )  # fmt: skip
    list_select_related = ("organization", "asset", "disbursement")
    readonly_fields = (
        "status", "money", "stellar_transaction_id", "stellar_operation_id",
        "sender_address", "created_at", "updated_at",
    )  # fmt: skip
    exclude = ("amount",)
    raw_id_fields = (
        "organization", "disbursement", "receiver", "receiver_wallet", "asset",
    )  # fmt: skip
    inlines = [PaymentStatusChangeInline]
    actions = ["cancel", "retry"]

    @admin.display(description="amount", ordering="amount")
    def money(self, payment: Payment) -> str:
        return f"{payment.amount:.7f} {payment.asset.code}"

    @admin.action(description="Cancel the selected READY payments")
    def cancel(self, request, queryset):
        _run(
            self, request, queryset,
            lambda p: payment_services.cancel_payment(p, actor=request.user),
            "payment(s) canceled",
        )  # fmt: skip

    @admin.action(description="Retry the selected FAILED payments")
    def retry(self, request, queryset):
        by_organization = defaultdict(list)
        for payment in queryset.select_related("organization"):
            by_organization[payment.organization].append(payment.pk)
        for organization, ids in by_organization.items():
            try:
                count = payment_services.retry_payments(
                    organization, ids, actor=request.user
                )
            except ERRORS as exc:
                message = getattr(exc, "message", str(exc))
                extras = getattr(exc, "extras", None) or {}
                detail = "; ".join(f"{k}: {v}" for k, v in extras.items())
                self.message_user(
                    request, f"{organization}: {message} {detail}", messages.ERROR
                )
            else:
                self.message_user(
                    request, f"{count} payment(s) retried", messages.SUCCESS
                )


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "organization", "method", "path", "response_status",
                    "created_at", "expires_at")  # fmt: skip
    list_filter = ("method", "response_status")
    search_fields = ("key", "path")
    list_select_related = ("organization",)
    readonly_fields = [f.name for f in IdempotencyKey._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
