"""Read-only views of the TSS's tables for operators: statuses move only
through the engine, and no secret (encrypted or not) is shown."""

from django.contrib import admin

from tss.models import ChannelAccount, DistributionAccount, SubmitterTransaction


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SubmitterTransaction)
class SubmitterTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "external_id",
        "status",
        "amount",
        "asset_code",
        "destination",
        "stellar_transaction_hash",
        "attempts_count",
        "created_at",
    )
    list_filter = ("status", "asset_code")
    search_fields = ("external_id", "stellar_transaction_hash", "destination")
    exclude = ("envelope_xdr",)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(ReadOnlyAdmin):
    list_display = ("public_key", "sequence", "locked_until_ledger_number")
    exclude = ("encrypted_secret",)


@admin.register(DistributionAccount)
class DistributionAccountAdmin(ReadOnlyAdmin):
    list_display = ("public_key", "tenant_id", "retired_at", "created_at")
    exclude = ("encrypted_secret",)
