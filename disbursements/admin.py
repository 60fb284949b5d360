"""Staff operations on disbursements and payments, through the same services as
the API. Statuses are read-only; actions move them."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from auth_org import catalog
from core.admin import StatusHistoryInline
from core.api import APIError
from core.fsm import InvalidTransition
from core.models import IdempotencyKey
from disbursements import payments as payment_services
from disbursements import services
from disbursements.models import (
    Disbursement,
    DisbursementStatusChange,
    Payment,
    PaymentStatusChange,
)
from disbursements.preflight import preflight as run_preflight
from disbursements.retries import REASON_TEXT
from messaging.selectors import disbursement_message_stats
from messaging.texts import validate_template

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


class DisbursementAddForm(forms.ModelForm):
    """The admin's "Add disbursement": the API's create service, with its CSV.

    The service runs in ``clean`` (inside the admin's transaction), so a refused
    file shows the API's own errors, one per row, and writes nothing."""

    instructions = forms.FileField(
        required=False,
        help_text=(
            "CSV of the recipients and amounts, as the dashboard uploads it "
            "(phone or email, id, amount, verification...). With a file the "
            "disbursement is READY to start; without, it stays DRAFT."
        ),
    )

    class Meta:
        model = Disbursement
        fields = (
            "organization", "name", "wallet", "asset", "registration_contact_type",
            "verification_field", "receiver_registration_message_template",
        )  # fmt: skip

    actor = None  # set by DisbursementAdmin.get_form
    created: Disbursement | None = None

    def clean(self):
        data = super().clean()
        organization, wallet, asset = (
            data.get("organization"), data.get("wallet"), data.get("asset"),
        )  # fmt: skip
        if (
            organization
            and wallet
            and not catalog.wallets_of(organization).filter(pk=wallet.pk).exists()
        ):
            self.add_error("wallet", "not a wallet of this organization")
        if (
            organization
            and asset
            and not catalog.assets_of(organization).filter(pk=asset.pk).exists()
        ):
            self.add_error("asset", "not an asset of this organization")
        return data

    def _post_clean(self):
        # The model's own checks first (fields, the unique name), then the
        # service, which writes the disbursement and its payments.
        super()._post_clean()
        if self.errors:
            return
        data = self.cleaned_data
        upload = data.get("instructions")
        try:
            self.created = services.create_disbursement(
                data["organization"],
                actor=self.actor,
                name=data["name"],
                wallet=data["wallet"],
                asset=data["asset"],
                registration_contact_type=data["registration_contact_type"],
                verification_field=data.get("verification_field") or "",
                receiver_registration_message_template=data.get(
                    "receiver_registration_message_template"
                )
                or "",
                file_name=upload.name if upload else "",
                file_content=upload.read() if upload else None,
            )
        except ERRORS as exc:
            message = getattr(exc, "message", str(exc))
            extras = getattr(exc, "extras", None) or {}
            self.add_error(
                None,
                ValidationError(
                    [message] + [f"{key}: {value}" for key, value in extras.items()]
                ),
            )


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
        "reports",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("organization", "asset", "wallet")
    inlines = [DisbursementStatusChangeInline]
    actions = ["preflight", "start", "pause", "resume"]
    date_hierarchy = "created_at"
    # Past DRAFT these are the money of its payments: read-only, as in the API.
    MONEY_FIELDS = (
        "organization", "asset", "wallet", "registration_contact_type",
        "verification_field",
    )  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Disbursement.Status.DRAFT:
            fields += self.MONEY_FIELDS
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs["form"] = DisbursementAddForm
        kwargs["fields"] = (*DisbursementAddForm.Meta.fields, "instructions")
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fields = (*DisbursementAddForm.Meta.fields, "instructions")
            return [(None, {"fields": fields})]
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def save_form(self, request, form, change):
        if not change and isinstance(form, DisbursementAddForm):
            return form.created  # written by the service in clean()
        return super().save_form(request, form, change)

    def save_model(self, request, obj, form, change):
        if not change and isinstance(form, DisbursementAddForm):
            return
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if not change and isinstance(form, DisbursementAddForm):
            return
        super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status != Disbursement.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.delete_disbursement(obj)

    def delete_queryset(self, request, queryset):
        for disbursement in queryset:
            services.delete_disbursement(disbursement)

    @admin.display(description="reports")
    def reports(self, obj: Disbursement) -> str:
        # The PDFs are the reports app's (above this one): linked by URL name.
        return format_html(
            '<a href="{}">Account statement of its asset (PDF)</a> · payment '
            "notices on each payment's page",
            reverse("reports-admin-statement", args=[obj.pk]),
        )

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

    @admin.action(description="Pre-flight the selected disbursements")
    def preflight(self, request, queryset):
        """What a start would do (docs/controls.md), as a message per
        disbursement; outside the change form, whose transaction must not
        wait on the network."""
        for disbursement in queryset:
            try:
                answer = run_preflight(disbursement)
            except APIError as exc:
                self.message_user(
                    request, f"{disbursement.name}: {exc.message}", messages.ERROR
                )
                continue
            self.message_user(request, preflight_summary(disbursement, answer))

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
    # Titled by amount, asset and receiver (Payment.__str__), not by id.
    list_display = (
        "__str__", "status", "type", "disbursement", "organization", "created_at",
    )  # fmt: skip
    list_filter = ("status", "type", "organization")
    # Support finds a payment by what the receiver tells them.
    search_fields = (
        "id", "external_payment_id", "stellar_transaction_id",
        "receiver__phone_number", "receiver__email", "receiver__external_id",
        "receiver_wallet__stellar_address", "disbursement__name",
    )  # fmt: skip
    list_select_related = ("organization", "asset", "disbursement", "receiver")
    readonly_fields = (
        "status", "money", "failure", "cooling_released_at",
        "stellar_transaction_id", "stellar_operation_id",
        "sender_address", "reports", "created_at", "updated_at",
    )  # fmt: skip
    exclude = ("amount", "failure_reason")
    raw_id_fields = (
        "organization", "disbursement", "receiver", "receiver_wallet", "asset",
    )  # fmt: skip
    inlines = [PaymentStatusChangeInline]
    actions = ["cancel", "retry"]
    # Past DRAFT a payment's money is settled (or on its way): nothing of it is
    # edited here, and it is never deleted (the database refuses too).
    MONEY_FIELDS = (
        "organization", "disbursement", "receiver", "receiver_wallet", "asset",
        "type", "external_payment_id",
    )  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Payment.Status.DRAFT:
            fields += self.MONEY_FIELDS
        return fields

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status != Payment.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        # Payments come from an upload or the direct-payment service, which
        # check the balance and the wallet; a hand-made row would skip both.
        return False

    @admin.display(description="Waiting on the receiver")
    def failure(self, payment: Payment) -> str:
        if not payment.failure_reason:
            return "-"
        return REASON_TEXT.get(payment.failure_reason, payment.failure_reason)

    @admin.display(description="amount", ordering="amount")
    def money(self, payment: Payment) -> str:
        return f"{payment.amount:.7f} {payment.asset.code}"

    @admin.display(description="reports")
    def reports(self, payment: Payment) -> str:
        # The PDFs are the reports app's (above this one): linked by URL name.
        return format_html(
            '<a href="{}">Payment notice (PDF)</a> · '
            '<a href="{}">Statement of its disbursement (PDF)</a>',
            reverse("reports-admin-notice", args=[payment.pk]),
            reverse("reports-admin-statement", args=[payment.disbursement_id])
            if payment.disbursement_id
            else "#",
        )

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


def preflight_summary(disbursement: Disbursement, answer: dict) -> str:
    payments = answer["payments"]
    reasons = ", ".join(
        f"{r['count']} {r['message']}" for r in answer["reasons"]["failing"]
    )
    balance = answer["balance"]
    forecast = answer["forecast"]
    parts = [
        f"{disbursement.name}: {payments['ready']['count']} ready, "
        f"{payments['waiting']['count']} waiting, "
        f"{payments['failing']['count']} failing"
        + (f" ({reasons})" if reasons else ""),
        f"balance {'sufficient' if balance.get('sufficient') else 'NOT sufficient'}"
        + (f", {balance['missing']} missing" if balance.get("missing") else ""),
    ]
    if fees := forecast.get("network_fees"):
        parts.append(
            f"about {fees['total_xlm']} XLM in fees, "
            f"{forecast['seconds_to_pay']} s to pay"
        )
    parts.append(
        f"{forecast['messages']['count']} invitations, about "
        f"{forecast['messages']['estimated_cost']} {forecast['messages']['currency']}"
    )
    if answer["limits"]:
        parts.append("; ".join(problem["message"] for problem in answer["limits"]))
    if answer["duplicates"]:
        parts.append(f"{len(answer['duplicates'])} duplicate warnings")
    return "; ".join(parts)
