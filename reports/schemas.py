"""Declared shapes of the reports' JSON (OpenAPI)."""

from rest_framework import serializers


class ReconciledAsset(serializers.Serializer):
    asset_code = serializers.CharField()
    asset_issuer = serializers.CharField(allow_blank=True)
    distribution_account = serializers.CharField()
    payments_checked = serializers.IntegerField(min_value=0)
    operations_checked = serializers.IntegerField(min_value=0)
    ran_at = serializers.DateTimeField()


class ReconciliationDifference(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            "NOT_SUCCESS_HERE",
            "MISSING_ON_NETWORK",
            "AMOUNT_DIFFERS",
            "DESTINATION_DIFFERS",
            "MEMO_DIFFERS",
            "UNKNOWN_PAYMENT",
        ]
    )
    asset_code = serializers.CharField()
    payment_id = serializers.UUIDField(allow_null=True)
    transaction_hash = serializers.CharField(allow_blank=True)
    operation_id = serializers.CharField(allow_blank=True)
    our_amount = serializers.CharField(allow_null=True)
    network_amount = serializers.CharField(allow_null=True)
    our_destination = serializers.CharField(allow_blank=True)
    network_destination = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)


class ReconciliationReport(serializers.Serializer):
    date = serializers.DateField()
    reconciled = ReconciledAsset(many=True)
    differences = ReconciliationDifference(many=True)
