"""Read-only views of the TSS's tables for operators: statuses move only
through the engine, and no secret (encrypted or not) is shown."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from core.admin_display import short_column
from tss.models import ChannelAccount, DistributionAccount, SubmitterTransaction


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SubmitterTransaction)
class SubmitterTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        short_column("external_id", "external id", keep=8),
        "status",
        "amount",
        "asset_code",
        short_column("destination"),
        short_column("stellar_transaction_hash", "transaction hash"),
        "attempts_count",
        "created_at",
    )
    list_filter = ("status", "asset_code")
    search_fields = ("external_id", "stellar_transaction_hash", "destination")
    exclude = ("envelope_xdr",)
    readonly_fields = ("rpc_transaction",)

    @admin.display(description="RPC transaction and events")
    def rpc_transaction(self, obj: SubmitterTransaction) -> str:
        """A contract payment's transaction as Stellar RPC shows it, with its
        events. Read while the page renders (a TemplateResponse renders after
        the admin view's database transaction has ended: no network call
        inside it)."""
        from tss import contract

        if (
            not contract.is_contract(obj.destination)
            or not obj.stellar_transaction_hash
        ):
            return "-"
        try:
            seen = contract.describe_transaction(obj.stellar_transaction_hash)
        except Exception as exc:  # RPC down: say so, the page still shows
            return f"Stellar RPC did not answer ({type(exc).__name__})"
        events = format_html_join(
            "",
            "<li>{}: {} = {}</li>",
            (
                (event["contract"], event["topics"], event["value"])
                for event in seen["events"]
            ),
        )
        return format_html(
            "{} in ledger {} (fee bump: {})<ul>{}</ul>",
            seen["status"],
            seen["ledger"] or "-",
            seen["fee_bump"],
            events,
        )


@admin.register(ChannelAccount)
class ChannelAccountAdmin(ReadOnlyAdmin):
    list_display = (
        short_column("public_key", "public key"),
        "sequence",
        "locked_until_ledger_number",
    )
    exclude = ("encrypted_secret",)


@admin.register(DistributionAccount)
class DistributionAccountAdmin(ReadOnlyAdmin):
    list_display = (
        short_column("public_key", "public key"),
        short_column("tenant_id", "tenant id", keep=8),
        "retired_at",
        "created_at",
    )
    exclude = ("encrypted_secret",)
