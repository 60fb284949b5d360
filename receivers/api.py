"""Receivers routes of the dashboard (§2.6): thin views over receivers.services."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org.catalog_api import iso, wallet_json
from auth_org.models import Role
from auth_org.permissions import ALL, BIZ, OWNER_FC
from receivers import selectors, services
from receivers.models import Receiver, ReceiverVerification, ReceiverWallet
from sdp.api import APIError, NotFound
from sdp.idempotency import idempotent
from sdp.paging import CachedCountPagination

RECEIVER_WRITE = OWNER_FC | {Role.APPROVER, Role.INITIATOR}


def _money(value) -> str:
    return f"{value:.7f}"


def _received(entry: dict[str, Any], *, issuer: bool = True) -> list[dict]:
    amounts = []
    for (code, asset_issuer), amount in sorted(entry["received"].items()):
        item = {"asset_code": code, "received_amount": _money(amount)}
        if issuer:
            item["asset_issuer"] = asset_issuer
        amounts.append(item)
    return amounts


def receiver_wallet_json(receiver_wallet: ReceiverWallet, stats: dict) -> dict:
    entry = stats["wallets"][receiver_wallet.pk]
    counters = _wallet_counters(entry)
    return {
        "id": str(receiver_wallet.pk),
        "receiver": {"id": str(receiver_wallet.receiver_id)},
        "wallet": wallet_json(receiver_wallet.wallet, assets=False),
        "status": receiver_wallet.status,
        "stellar_address": receiver_wallet.stellar_address or "",
        "stellar_memo": receiver_wallet.stellar_memo,
        "stellar_memo_type": receiver_wallet.stellar_memo_type,
        "created_at": iso(receiver_wallet.created_at),
        "updated_at": iso(receiver_wallet.updated_at),
        "invited_at": iso(receiver_wallet.invitation_sent_at),
        "last_sms_sent": iso(receiver_wallet.invitation_sent_at),
        "invitation_sent_at": iso(receiver_wallet.invitation_sent_at),
        **counters,
        "received_amounts": _received(entry, issuer=False),
    }


def _wallet_counters(entry: dict) -> dict[str, str]:
    count = entry["count"]
    total = sum(count.values())
    success, failed = count.get("SUCCESS", 0), count.get("FAILED", 0)
    canceled = count.get("CANCELED", 0)
    return {
        "total_payments": str(total),
        "payments_received": str(success),
        "failed_payments": str(failed),
        "remaining_payments": str(total - success - failed - canceled),
    }


def receiver_json(receiver: Receiver, stats: dict) -> dict[str, Any]:
    entry = stats["receivers"][receiver.pk]
    count = entry["count"]
    total = sum(count.values())
    success, failed = count.get("SUCCESS", 0), count.get("FAILED", 0)
    canceled = count.get("CANCELED", 0)
    wallets = receiver.listed_wallets
    return {
        "id": str(receiver.pk),
        "email": receiver.email or "",
        "phone_number": receiver.phone_number or "",
        "external_id": receiver.external_id,
        "created_at": iso(receiver.created_at),
        "updated_at": iso(receiver.updated_at),
        "total_payments": str(total),
        "successful_payments": str(success),
        "failed_payments": str(failed),
        "canceled_payments": str(canceled),
        "remaining_payments": str(total - success - failed - canceled),
        "registered_wallets": str(
            sum(1 for w in wallets if w.status == ReceiverWallet.Status.REGISTERED)
        ),
        "received_amounts": _received(entry),
        "wallets": [receiver_wallet_json(w, stats) for w in wallets],
        "verifications": [
            {
                "verification_field": v.verification_field,
                "hashed_value": v.hashed_value,
                "confirmed_at": iso(v.confirmed_at),
                "verification_channel": v.verification_channel or None,
                "updated_at": iso(v.updated_at),
            }
            for v in receiver.listed_verifications
        ],
    }


def _with_relations(queryset):
    # to_attr: plain lists. Without it Django builds a filtered queryset per
    # receiver and relation to hold the prefetched rows (~0.1 ms each).
    return queryset.prefetch_related(
        Prefetch(
            "wallets",
            queryset=ReceiverWallet.objects.select_related("wallet").order_by(
                "created_at", "pk"
            ),
            to_attr="listed_wallets",
        ),
        Prefetch(
            "verifications",
            queryset=ReceiverVerification.objects.order_by("verification_field"),
            to_attr="listed_verifications",
        ),
    )


def render_receivers(receivers: list[Receiver]) -> list[dict]:
    stats = selectors.payment_reads().receiver_stats([r.pk for r in receivers])
    return [receiver_json(r, stats) for r in receivers]


def get_receiver(request: Request, pk) -> Receiver:
    receiver = (
        _with_relations(Receiver.objects.filter(organization=request.tenant))
        .filter(pk=pk)
        .first()
    )
    if receiver is None:
        raise NotFound("receiver not found")
    return receiver


def get_receiver_wallet(request: Request, pk, **filters) -> ReceiverWallet:
    receiver_wallet = (
        ReceiverWallet.objects.filter(organization=request.tenant, pk=pk, **filters)
        .select_related("wallet", "receiver", "organization")
        .first()
    )
    if receiver_wallet is None:
        raise NotFound("receiver wallet not found")
    return receiver_wallet


class ReceiverInput(serializers.Serializer):
    email = serializers.CharField(
        max_length=254, required=False, allow_blank=True, allow_null=True
    )
    phone_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True
    )
    external_id = serializers.CharField(max_length=64)
    verifications = serializers.ListField(required=False, default=list, max_length=4)
    wallets = serializers.ListField(required=False, default=list, max_length=1)


class ReceiversView(APIView):
    roles = {"GET": BIZ, "POST": RECEIVER_WRITE}
    api_key_permissions = {"GET": "read:receivers", "POST": "write:receivers"}

    def get(self, request: Request) -> Response:
        queryset = selectors.receivers_for(request.tenant, request.query_params)
        paginator = CachedCountPagination()
        page = paginator.paginate_queryset(_with_relations(queryset), request, self)
        return paginator.get_paginated_response(render_receivers(page))

    @idempotent
    def post(self, request: Request) -> Response:
        data = ReceiverInput(data=request.data)
        data.is_valid(raise_exception=True)
        receiver = services.create_receiver(
            request.tenant,
            services.NewReceiver(**data.validated_data),
            actor=request.user,
        )
        return Response(
            render_receivers([get_receiver(request, receiver.pk)])[0], status=201
        )


PATCH_KEYS = {
    "email",
    "phone_number",
    "external_id",
    *services.PATCH_VERIFICATIONS,
}


class ReceiverView(APIView):
    roles = {"GET": BIZ, "PATCH": RECEIVER_WRITE}
    api_key_permissions = {"GET": "read:receivers", "PATCH": "write:receivers"}

    def get(self, request: Request, pk) -> Response:
        return Response(render_receivers([get_receiver(request, pk)])[0])

    @idempotent
    def patch(self, request: Request, pk) -> Response:
        receiver = get_receiver(request, pk)
        if not isinstance(request.data, dict):
            raise APIError(extras={"body": "must be a JSON object"})
        unknown = set(request.data) - PATCH_KEYS
        if unknown:
            raise APIError(
                extras={name[:64]: "unknown field" for name in sorted(unknown)[:10]}
            )
        for name, value in request.data.items():
            if value is not None and not isinstance(value, str):
                raise APIError(extras={name: "must be a string"})
            if isinstance(value, str) and len(value) > 254:
                raise APIError(extras={name: "at most 254 characters"})
        services.update_receiver(receiver, dict(request.data), actor=request.user)
        return Response({"message": "Receiver updated successfully"})


class WalletAddressInput(serializers.Serializer):
    stellar_address = serializers.CharField(max_length=56)
    stellar_memo = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )


class ReceiverWalletAddressView(APIView):
    roles = {"PATCH": RECEIVER_WRITE}
    api_key_permissions = {"PATCH": "write:receivers"}

    @idempotent
    def patch(self, request: Request, receiver_id, pk) -> Response:
        receiver_wallet = get_receiver_wallet(request, pk, receiver_id=receiver_id)
        data = WalletAddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        receiver_wallet = services.set_wallet_address(
            receiver_wallet,
            address=data.validated_data["stellar_address"],
            memo=data.validated_data["stellar_memo"],
            actor=request.user,
        )
        stats = selectors.payment_reads().receiver_stats([receiver_wallet.receiver_id])
        receiver_wallet = get_receiver_wallet(request, receiver_wallet.pk)
        return Response(receiver_wallet_json(receiver_wallet, stats))


class RetryInvitationView(APIView):
    roles = {"PATCH": RECEIVER_WRITE}
    api_key_permissions = {"PATCH": "write:receivers"}

    @idempotent
    def patch(self, request: Request, pk) -> Response:
        receiver_wallet = services.retry_invitation(get_receiver_wallet(request, pk))
        return Response(
            {
                "id": str(receiver_wallet.pk),
                "receiver_id": str(receiver_wallet.receiver_id),
                "wallet_id": str(receiver_wallet.wallet_id),
                "created_at": iso(receiver_wallet.created_at),
                "invitation_sent_at": iso(receiver_wallet.invitation_sent_at),
                "message": "Invitation sent again",
            }
        )


class ReceiverWalletStatusView(APIView):
    roles = {"PATCH": RECEIVER_WRITE}
    api_key_permissions = {"PATCH": "write:receivers"}

    @idempotent
    def patch(self, request: Request, pk) -> Response:
        receiver_wallet = get_receiver_wallet(request, pk)
        if str(request.data.get("status", "")).upper() != ReceiverWallet.Status.READY:
            raise APIError(extras={"status": "only READY (unregister) is accepted"})
        services.unregister_wallet(receiver_wallet, actor=request.user)
        return Response({"message": "Receiver wallet unregistered successfully"})


class VerificationTypesView(APIView):
    roles = {"GET": ALL}
    api_key_permissions = {"GET": "read:receivers"}

    def get(self, request: Request) -> Response:
        from receivers.models import VerificationField

        return Response(list(VerificationField.values))


class RegistrationContactTypesView(APIView):
    roles = {"GET": ALL}
    api_key_permissions = {"GET": "read:all"}

    def get(self, request: Request) -> Response:
        return Response(
            [
                "EMAIL",
                "PHONE_NUMBER",
                "EMAIL_AND_WALLET_ADDRESS",
                "PHONE_NUMBER_AND_WALLET_ADDRESS",
            ]
        )
