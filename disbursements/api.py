"""Disbursements, payments and statistics routes (dashboard §2.3-2.5): parse,
call one service, render what the dashboard reads."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import catalog
from auth_org.catalog_api import asset_json, iso, wallet_json
from auth_org.models import Asset, Role
from auth_org.permissions import ALL, BIZ, OWNER_FC
from disbursements import payments as payment_services
from disbursements import selectors, services
from disbursements.csv_ingest import CSVError
from disbursements.models import (
    Disbursement,
    DisbursementStatusChange,
    Payment,
    PaymentStatusChange,
)
from sdp import sqljson
from sdp.api import APIError, NotFound
from sdp.idempotency import idempotent
from sdp.paging import CachedCountPagination

DISBURSEMENT_WRITE = OWNER_FC | {Role.INITIATOR}
DISBURSEMENT_START = OWNER_FC | {Role.APPROVER}
PAYMENT_WRITE = OWNER_FC | {Role.BUSINESS}


def user_json(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": str(user.pk),
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


# --- disbursements -----------------------------------------------------------


def _with_history(queryset):
    # file_content (the uploaded CSV) is read only by the instructions download.
    return (
        queryset.defer("file_content")
        .select_related("wallet", "asset", "created_by")
        .prefetch_related(
            # to_attr: plain lists, not a filtered queryset built per row.
            Prefetch(
                "status_changes",
                queryset=DisbursementStatusChange.objects.select_related(
                    "actor"
                ).order_by("created_at", "pk"),
                to_attr="history",
            ),
            Prefetch(
                "wallet__assets", queryset=Asset.objects.all(), to_attr="listed_assets"
            ),
        )
    )


def disbursement_json(disbursement: Disbursement, stats: dict[str, Any]) -> dict:
    history = disbursement.history
    started = [h for h in history if h.to_status == Disbursement.Status.STARTED]
    return {
        "id": str(disbursement.pk),
        "name": disbursement.name,
        "status": disbursement.status,
        "wallet": wallet_json(disbursement.wallet),
        "asset": asset_json(disbursement.asset),
        "verification_field": disbursement.verification_field,
        "registration_contact_type": disbursement.registration_contact_type,
        "receiver_registration_message_template": (
            disbursement.receiver_registration_message_template
        ),
        "file_name": disbursement.file_name,
        "status_history": [
            {
                "status": h.to_status,
                "user_id": str(h.actor_id) if h.actor_id else "",
                "timestamp": iso(h.created_at),
            }
            for h in history
        ],
        "created_at": iso(disbursement.created_at),
        "updated_at": iso(disbursement.updated_at),
        "created_by": user_json(disbursement.created_by),
        "started_by": user_json(started[-1].actor) if started else None,
        **stats,
    }


def render_disbursements(disbursements: list[Disbursement]) -> list[dict]:
    stats = selectors.disbursement_stats([d.pk for d in disbursements])
    return [disbursement_json(d, stats[d.pk]) for d in disbursements]


def get_disbursement(request: Request, pk) -> Disbursement:
    disbursement = (
        _with_history(Disbursement.objects.filter(organization=request.tenant))
        .filter(pk=pk)
        .first()
    )
    if disbursement is None:
        raise NotFound("disbursement not found")
    return disbursement


class DisbursementInput(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    wallet_id = serializers.UUIDField()
    asset_id = serializers.UUIDField()
    registration_contact_type = serializers.CharField(max_length=40)
    verification_field = serializers.CharField(
        max_length=32, allow_blank=True, required=False, default=""
    )
    receiver_registration_message_template = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=1000
    )

    def validate_receiver_registration_message_template(self, value: str) -> str:
        from django.utils.html import strip_tags

        if strip_tags(value) != value:
            raise serializers.ValidationError("HTML is not allowed in the template")
        return value


def uploaded_file(request: Request) -> tuple[str, bytes] | None:
    upload = request.FILES.get("file")
    if upload is None:
        return None
    from django.conf import settings

    if upload.size > settings.CSV_MAX_BYTES:
        raise CSVError(
            {"file": f"the file is larger than {settings.CSV_MAX_BYTES} bytes"}
        )
    return upload.name or "", upload.read()


class DisbursementsView(APIView):
    roles = {"GET": BIZ, "POST": DISBURSEMENT_WRITE}
    api_key_permissions = {"GET": "read:disbursements", "POST": "write:disbursements"}

    def get(self, request: Request) -> Response:
        queryset = selectors.disbursements_for(request.tenant, request.query_params)
        paginator = CachedCountPagination()
        page = paginator.paginate_queryset(_with_history(queryset), request, self)
        return paginator.get_paginated_response(render_disbursements(page))

    @idempotent
    def post(self, request: Request) -> Response:
        raw = request.data
        if "data" in raw and request.content_type.startswith("multipart/"):
            try:
                raw = json.loads(raw["data"])
            except (TypeError, json.JSONDecodeError):
                raise APIError(extras={"data": "must be a JSON object"}) from None
            if not isinstance(raw, dict):
                raise APIError(extras={"data": "must be a JSON object"})
        data = DisbursementInput(data=raw)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        organization = request.tenant
        wallet = catalog.wallets_of(organization).filter(pk=values["wallet_id"]).first()
        if wallet is None:
            raise NotFound("wallet not found")
        asset = catalog.assets_of(organization).filter(pk=values["asset_id"]).first()
        if asset is None:
            raise NotFound("asset not found")
        upload = uploaded_file(request)
        disbursement = services.create_disbursement(
            organization,
            actor=request.user,
            name=values["name"],
            wallet=wallet,
            asset=asset,
            registration_contact_type=values["registration_contact_type"],
            verification_field=values["verification_field"],
            receiver_registration_message_template=values[
                "receiver_registration_message_template"
            ],
            file_name=upload[0] if upload else "",
            file_content=upload[1] if upload else None,
        )
        disbursement = get_disbursement(request, disbursement.pk)
        return Response(render_disbursements([disbursement])[0], status=201)


class DisbursementView(APIView):
    roles = {"GET": BIZ, "DELETE": DISBURSEMENT_WRITE}
    api_key_permissions = {"GET": "read:disbursements", "DELETE": "write:disbursements"}

    def get(self, request: Request, pk) -> Response:
        return Response(render_disbursements([get_disbursement(request, pk)])[0])

    def delete(self, request: Request, pk) -> Response:
        disbursement = get_disbursement(request, pk)
        body = render_disbursements([disbursement])[0]
        services.delete_disbursement(disbursement)
        return Response(body)


class InstructionsView(APIView):
    roles = {"GET": BIZ, "POST": DISBURSEMENT_WRITE}
    api_key_permissions = {"GET": "read:disbursements", "POST": "write:disbursements"}

    def get(self, request: Request, pk) -> HttpResponse:
        disbursement = get_disbursement(request, pk)
        content = Disbursement.objects.filter(pk=disbursement.pk).values_list(
            "file_content", flat=True
        )[0]
        if content is None:
            raise NotFound("the disbursement has no instructions file")
        response = HttpResponse(bytes(content), content_type="text/csv")
        name = disbursement.file_name.replace('"', "").replace("\n", "")
        response["Content-Disposition"] = f"attachment; filename={name}"
        return response

    @idempotent
    def post(self, request: Request, pk) -> Response:
        disbursement = get_disbursement(request, pk)
        upload = uploaded_file(request)
        if upload is None:
            raise APIError(extras={"file": "file is required"})
        services.upload_instructions(
            disbursement, actor=request.user, file_name=upload[0], content=upload[1]
        )
        return Response({"message": "File uploaded successfully"})


class DisbursementStatusView(APIView):
    roles = {"PATCH": DISBURSEMENT_START}
    api_key_permissions = {"PATCH": "write:disbursements"}

    @idempotent
    def patch(self, request: Request, pk) -> Response:
        disbursement = get_disbursement(request, pk)
        status = str(request.data.get("status", "")).upper()
        message = services.set_disbursement_status(
            disbursement, status=status, actor=request.user
        )
        return Response({"message": message})


class DisbursementReceiversView(APIView):
    roles = {"GET": BIZ}
    api_key_permissions = {"GET": "read:disbursements"}

    def get(self, request: Request, pk) -> Response:
        # Only whether it is the tenant's: its history and wallet are not shown.
        if not Disbursement.objects.filter(organization=request.tenant, pk=pk).exists():
            raise NotFound("disbursement not found")
        payments = (
            Payment.objects.filter(disbursement_id=pk)
            .select_related("receiver", "receiver_wallet__wallet", "asset")
            .only(
                *_payment_columns(
                    receiver=RECEIVER_COLUMNS,
                    asset=ASSET_COLUMNS,
                    receiver_wallet=RECEIVER_WALLET_COLUMNS,
                )
            )
            .order_by("created_at", "pk")
        )
        paginator = CachedCountPagination(
            exact_total=lambda: selectors.disbursement_payments_total(pk)
        )
        page = paginator.paginate_queryset(payments, request, self)
        data = []
        for payment in page:
            receiver, receiver_wallet = payment.receiver, payment.receiver_wallet
            data.append(
                {
                    "id": str(receiver.pk),
                    "phone_number": receiver.phone_number or "",
                    "email": receiver.email or "",
                    "external_id": receiver.external_id,
                    "created_at": iso(receiver.created_at),
                    "updated_at": iso(receiver.updated_at),
                    "receiver_wallet": receiver_wallet_json(receiver_wallet),
                    "payment": {
                        "id": str(payment.pk),
                        "amount": f"{payment.amount:.7f}",
                        "stellar_transaction_id": payment.stellar_transaction_id,
                        "stellar_operation_id": payment.stellar_operation_id,
                        "status": payment.status,
                        "asset": asset_json(payment.asset),
                        "created_at": iso(payment.created_at),
                        "updated_at": iso(payment.updated_at),
                    },
                }
            )
        return paginator.get_paginated_response(data)


# --- payments ----------------------------------------------------------------


def receiver_wallet_json(receiver_wallet) -> dict[str, Any]:
    return {
        "id": str(receiver_wallet.pk),
        "receiver": {"id": str(receiver_wallet.receiver_id)},
        "wallet": {
            "id": str(receiver_wallet.wallet_id),
            "name": receiver_wallet.wallet.name,
        },
        "stellar_address": receiver_wallet.stellar_address or "",
        "stellar_memo": receiver_wallet.stellar_memo,
        "stellar_memo_type": receiver_wallet.stellar_memo_type,
        "status": receiver_wallet.status,
        "created_at": iso(receiver_wallet.created_at),
        "updated_at": iso(receiver_wallet.updated_at),
    }


# What payment_json and the disbursement receivers list read of a payment's
# relations (only these columns are selected: fewer to compile, carry and load).
ASSET_COLUMNS = ("code", "issuer", "created_at", "updated_at", "deleted_at")
RECEIVER_WALLET_COLUMNS = (
    "receiver", "wallet", "stellar_address", "stellar_memo", "stellar_memo_type",
    "status", "created_at", "updated_at", "wallet__name",
)  # fmt: skip
RECEIVER_COLUMNS = ("phone_number", "email", "external_id", "created_at", "updated_at")


def _payment_columns(**relations: tuple[str, ...]) -> list[str]:
    own = [f.name for f in Payment._meta.concrete_fields]
    return own + [f"{rel}__{col}" for rel, cols in relations.items() for col in cols]


def _payments_with_relations(queryset):
    return (
        queryset.select_related("disbursement", "asset", "receiver_wallet__wallet")
        .only(
            *_payment_columns(
                disbursement=("name", "status", "created_at", "updated_at"),
                asset=ASSET_COLUMNS,
                receiver_wallet=RECEIVER_WALLET_COLUMNS,
            )
        )
        .prefetch_related(
            Prefetch(
                "status_changes",
                queryset=PaymentStatusChange.objects.order_by("created_at", "pk"),
                to_attr="history",
            )
        )
    )


# A payment as the dashboard reads it, written by PostgreSQL (sdp.sqljson): the
# payments list and details answer with it, the direct payment route too.
PAYMENT_JOINS = """
    JOIN auth_org_asset a ON a.id = p.asset_id
    JOIN receivers_receiverwallet rw ON rw.id = p.receiver_wallet_id
    JOIN auth_org_wallet w ON w.id = rw.wallet_id
    LEFT JOIN disbursements_disbursement d ON d.id = p.disbursement_id
"""
ASSET_SQL = sqljson.obj(
    id="a.id",
    code="a.code",
    issuer="a.issuer",
    created_at=sqljson.iso("a.created_at"),
    updated_at=sqljson.iso("a.updated_at"),
    deleted_at=sqljson.iso("a.deleted_at"),
)
RECEIVER_WALLET_SQL = sqljson.obj(
    id="rw.id",
    receiver=sqljson.obj(id="rw.receiver_id"),
    wallet=sqljson.obj(id="rw.wallet_id", name="w.name"),
    stellar_address="coalesce(rw.stellar_address, '')",
    stellar_memo="rw.stellar_memo",
    stellar_memo_type="rw.stellar_memo_type",
    status="rw.status",
    created_at=sqljson.iso("rw.created_at"),
    updated_at=sqljson.iso("rw.updated_at"),
)
_PAYMENT_FIELDS = {
    "id": "p.id",
    "amount": sqljson.money("p.amount"),
    "type": "p.type",
    "status": "p.status",
    "status_history": sqljson.agg(
        sqljson.obj(
            status="h.to_status",
            status_message="h.note",
            timestamp=sqljson.iso("h.created_at"),
        ),
        "disbursements_paymentstatuschange h WHERE h.payment_id = p.id",
        "h.created_at, h.id",
    ),
    "stellar_transaction_id": "p.stellar_transaction_id",
    "stellar_operation_id": "p.stellar_operation_id",
    "stellar_address": "coalesce(rw.stellar_address, '')",
    "external_payment_id": "p.external_payment_id",
    "circle_transfer_request_id": "NULL",
    "sender_address": "p.sender_address",
    "asset": ASSET_SQL,
    "receiver_wallet": RECEIVER_WALLET_SQL,
    "created_at": sqljson.iso("p.created_at"),
    "updated_at": sqljson.iso("p.updated_at"),
}
# A direct payment has no "disbursement" key at all (the dashboard's "Direct
# Payment"), not a null one.
PAYMENT_SQL = f"""CASE WHEN d.id IS NULL THEN {sqljson.obj(**_PAYMENT_FIELDS)}
    ELSE {sqljson.obj(**_PAYMENT_FIELDS, disbursement=sqljson.obj(
        id="d.id",
        name="d.name",
        status="d.status",
        created_at=sqljson.iso("d.created_at"),
        updated_at=sqljson.iso("d.updated_at"),
    ))} END"""  # fmt: skip


def payment_response(request: Request, pk, status: int = 200):
    body = sqljson.fetch_text(
        f"SELECT ({PAYMENT_SQL})::text FROM disbursements_payment p {PAYMENT_JOINS}"  # noqa: S608
        " WHERE p.organization_id = %s AND p.id = %s",
        [request.tenant.pk, pk],
    )
    if body is None:
        raise NotFound("payment not found")
    return sqljson.json_response(body, status)


def get_payment(request: Request, pk) -> Payment:
    payment = Payment.objects.filter(organization=request.tenant, pk=pk).first()
    if payment is None:
        raise NotFound("payment not found")
    return payment


class DirectPaymentInput(serializers.Serializer):
    amount = serializers.CharField(max_length=32)
    asset = serializers.DictField()
    receiver = serializers.DictField()
    wallet = serializers.DictField(required=False, allow_null=True)
    external_payment_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )


class PaymentsView(APIView):
    roles = {"GET": BIZ, "POST": PAYMENT_WRITE}
    api_key_permissions = {"GET": "read:payments", "POST": "write:payments"}

    def get(self, request: Request) -> Response:
        params = request.query_params
        queryset = selectors.payments_for(request.tenant, params)
        paginator = CachedCountPagination(
            exact_total=lambda: selectors.payments_total(request.tenant, params)
        )
        return paginator.json_page(
            queryset,
            request,
            PAYMENT_SQL,
            f"JOIN disbursements_payment p ON p.id = page.id {PAYMENT_JOINS}",
        )

    @idempotent
    def post(self, request: Request) -> Response:
        data = DirectPaymentInput(data=request.data)
        data.is_valid(raise_exception=True)
        payment = payment_services.create_direct_payment(
            request.tenant,
            payment_services.DirectPaymentRequest(**data.validated_data),
            actor=request.user,
        )
        return payment_response(request, payment.pk, status=201)


class PaymentView(APIView):
    roles = {"GET": BIZ}
    api_key_permissions = {"GET": "read:payments"}

    def get(self, request: Request, pk) -> Response:
        return payment_response(request, pk)


class PaymentsRetryView(APIView):
    roles = {"PATCH": PAYMENT_WRITE}
    api_key_permissions = {"PATCH": "write:payments"}

    @idempotent
    def patch(self, request: Request) -> Response:
        ids = request.data.get("payment_ids")
        if not isinstance(ids, list):
            raise APIError(extras={"payment_ids": "a list of payment ids is required"})
        payment_services.retry_payments(request.tenant, ids, actor=request.user)
        return Response({"message": "Payments retried successfully"})


class PaymentStatusView(APIView):
    roles = {"PATCH": OWNER_FC}
    api_key_permissions = {"PATCH": "write:payments"}

    @idempotent
    def patch(self, request: Request, pk) -> Response:
        payment = get_payment(request, pk)
        if str(request.data.get("status", "")).upper() != Payment.Status.CANCELED:
            raise APIError(extras={"status": "only CANCELED is accepted"})
        payment_services.cancel_payment(payment, actor=request.user)
        return Response({"message": "Payment canceled"})


# --- statistics --------------------------------------------------------------


class StatisticsView(APIView):
    roles = {"GET": ALL}
    api_key_permissions = {"GET": "read:statistics"}

    def get(self, request: Request, pk=None) -> Response:
        disbursement = None
        if pk is not None:
            disbursement = Disbursement.objects.filter(
                organization=request.tenant, pk=pk
            ).first()
            if disbursement is None:
                raise NotFound("disbursement not found")
        return Response(selectors.cached_statistics(request.tenant, disbursement))
