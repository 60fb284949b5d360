"""GET /exports/disbursements|payments|receivers: the list filters, as CSV."""

from __future__ import annotations

from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from auth_org.models import Role
from auth_org.permissions import OWNER_FC
from circle.models import TransferRequest
from core.apidoc import csv_file
from core.params import accepts
from disbursements import selectors
from disbursements.exports import csv_response, record_export
from receivers.selectors import RECEIVER_PARAMS, receivers_for

EXPORT_ROLES = OWNER_FC | {Role.APPROVER, Role.INITIATOR}
BATCH = 2000


def _ip(request: Request) -> str:
    return request.META.get("REMOTE_ADDR", "")


class ExportDisbursementsView(APIView):
    roles = {"GET": EXPORT_ROLES}
    api_key_permissions = {"GET": "read:exports"}

    @accepts(selectors.DISBURSEMENT_PARAMS.for_export())
    @extend_schema(responses=csv_file())
    def get(self, request: Request):
        queryset = selectors.disbursements_for(request.tenant, request.query_params)
        record_export(
            request.tenant,
            request.user,
            "disbursements",
            request.query_params,
            _ip(request),
        )
        header = [
            "ID", "Name", "Status", "Asset.Code", "Asset.Issuer", "Wallet.Name",
            "RegistrationContactType", "VerificationField", "FileName",
            "TotalPayments", "SuccessfulPayments", "FailedPayments",
            "CanceledPayments", "RemainingPayments", "TotalAmount",
            "AmountDisbursed", "AverageAmount", "CreatedAt", "UpdatedAt",
        ]  # fmt: skip

        def rows():
            batch = []
            for disbursement in queryset.select_related("asset", "wallet").iterator(
                chunk_size=BATCH
            ):
                batch.append(disbursement)
                if len(batch) == BATCH:
                    yield from _disbursement_rows(batch)
                    batch = []
            yield from _disbursement_rows(batch)

        return csv_response("disbursements", header, rows())


def _disbursement_rows(batch):
    stats = selectors.disbursement_stats([d.pk for d in batch])
    for d in batch:
        s = stats[d.pk]
        yield [
            d.pk, d.name, d.status, d.asset.code, d.asset.issuer, d.wallet.name,
            d.registration_contact_type, d.verification_field, d.file_name,
            s["total_payments"], s["total_payments_sent"], s["total_payments_failed"],
            s["total_payments_canceled"], s["total_payments_remaining"],
            s["total_amount"], s["amount_disbursed"], s["average_amount"],
            d.created_at.isoformat(), d.updated_at.isoformat(),
        ]  # fmt: skip


class ExportPaymentsView(APIView):
    roles = {"GET": EXPORT_ROLES}
    api_key_permissions = {"GET": "read:exports"}

    @accepts(selectors.PAYMENT_PARAMS.for_export())
    @extend_schema(responses=csv_file())
    def get(self, request: Request):
        queryset = selectors.payments_for(request.tenant, request.query_params)
        record_export(
            request.tenant, request.user, "payments", request.query_params, _ip(request)
        )
        header = [
            "ID", "Amount", "StellarTransactionID", "Status", "Type",
            "Disbursement.ID", "Asset.Code", "Asset.Issuer", "Wallet.Name",
            "Receiver.ID", "Receiver.PhoneNumber", "Receiver.Email",
            "Receiver.ExternalID", "ReceiverWallet.Address", "ReceiverWallet.Status",
            "CreatedAt", "UpdatedAt", "ExternalPaymentID", "CircleTransferRequestID",
        ]  # fmt: skip
        rows = (
            [
                p.pk,
                f"{p.amount:.7f}",
                p.stellar_transaction_id,
                p.status,
                p.type,
                p.disbursement_id or "",
                p.asset.code,
                p.asset.issuer,
                p.receiver_wallet.wallet.name,
                p.receiver_id,
                p.receiver.phone_number or "",
                p.receiver.email or "",
                p.receiver.external_id,
                p.receiver_wallet.stellar_address or "",
                p.receiver_wallet.status,
                p.created_at.isoformat(),
                p.updated_at.isoformat(),
                p.external_payment_id,
                p.circle_transfer_request_id or "",
            ]
            for p in queryset.select_related(
                "asset", "receiver", "receiver_wallet__wallet"
            )
            .annotate(circle_transfer_request_id=latest_circle_request())
            .iterator(chunk_size=BATCH)
        )
        return csv_response("payments", header, rows)


def latest_circle_request() -> Subquery:
    """The payment's latest Circle transfer request (Circle tenants)."""
    return Subquery(
        TransferRequest.objects.filter(
            external_id=Cast(OuterRef("pk"), output_field=CharField())
        )
        .order_by("-attempt")
        .values("idempotency_key")[:1]
    )


class ExportReceiversView(APIView):
    roles = {"GET": EXPORT_ROLES}
    api_key_permissions = {"GET": "read:exports"}

    @accepts(RECEIVER_PARAMS.for_export())
    @extend_schema(responses=csv_file())
    def get(self, request: Request):
        queryset = receivers_for(request.tenant, request.query_params)
        record_export(
            request.tenant,
            request.user,
            "receivers",
            request.query_params,
            _ip(request),
        )
        header = [
            "ID", "PhoneNumber", "Email", "ExternalID", "TotalPayments",
            "SuccessfulPayments", "FailedPayments", "CanceledPayments",
            "RemainingPayments", "RegisteredWallets", "CreatedAt", "UpdatedAt",
        ]  # fmt: skip

        def rows():
            batch = []
            for receiver in queryset.iterator(chunk_size=BATCH):
                batch.append(receiver)
                if len(batch) == BATCH:
                    yield from _receiver_rows(request.tenant, batch)
                    batch = []
            yield from _receiver_rows(request.tenant, batch)

        return csv_response("receivers", header, rows())


def _receiver_rows(organization, batch):
    from receivers.models import ReceiverWallet

    if not batch:
        return
    stats = selectors.receiver_stats([r.pk for r in batch])["receivers"]
    registered = set(
        ReceiverWallet.objects.filter(
            receiver_id__in=[r.pk for r in batch],
            status=ReceiverWallet.Status.REGISTERED,
        ).values_list("receiver_id", flat=True)
    )
    for r in batch:
        counters = selectors.counters_of(stats[r.pk])
        yield [
            r.pk, r.phone_number or "", r.email or "", r.external_id,
            counters["total_payments"], counters["successful_payments"],
            counters["failed_payments"], counters["canceled_payments"],
            counters["remaining_payments"], 1 if r.pk in registered else 0,
            r.created_at.isoformat(), r.updated_at.isoformat(),
        ]  # fmt: skip
