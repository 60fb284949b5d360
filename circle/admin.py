"""Operators' views of the Circle rail: read-only, no API key (encrypted or
not) shown; one action, for a request left PENDING after Circle refused it
following an unanswered send: fail it once Circle's dashboard shows no
transfer with its idempotency key (the payment can then be retried)."""

from django.contrib import admin, messages

from circle import services
from circle.models import CircleAccount, TransferRequest
from core.admin_display import short_column


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TransferRequest)
class TransferRequestAdmin(ReadOnlyAdmin):
    list_display = (
        short_column("external_id", "payment", keep=8),
        "attempt",
        "kind",
        "status",
        "circle_status",
        "amount",
        "asset_code",
        short_column("destination"),
        short_column("stellar_transaction_hash", "transaction hash"),
        "maybe_accepted",
        "created_at",
    )
    list_filter = ("status", "kind", "maybe_accepted")
    search_fields = ("external_id", "idempotency_key", "circle_id", "destination")
    actions = ["fail_not_made_by_circle"]

    @admin.action(
        description="Fail: Circle shows no transfer with this idempotency key"
    )
    def fail_not_made_by_circle(self, request, queryset):
        failed = services.fail_not_made(
            list(queryset.values_list("pk", flat=True)), operator=request.user.email
        )
        self.message_user(request, f"{failed} request(s) failed", messages.SUCCESS)


@admin.register(CircleAccount)
class CircleAccountAdmin(ReadOnlyAdmin):
    list_display = (short_column("tenant_id", "tenant id", keep=8), "wallet_id")
    exclude = ("encrypted_api_key",)
