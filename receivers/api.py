"""Receivers routes of the dashboard (§2.6): thin views over receivers.services.

The views that answer with a receiver's JSON (its payment figures included) are
routed as disbursements.receivers_api's subclasses (ReceiverJSON)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org.catalog_api import iso
from auth_org.models import Role
from auth_org.permissions import ALL, BIZ, OWNER_FC
from core.api import APIError, NotFound, field_errors
from core.apidoc import Message, answers, json_body, page_of
from core.idempotency import idempotent
from core.paging import CachedCountPagination
from core.params import accepts
from core.sqljson import table
from receivers import schemas, selectors, services
from receivers.models import Receiver, ReceiverWallet

RECEIVER_WRITE = OWNER_FC | {Role.APPROVER, Role.INITIATOR}


class ReceiverJSON:
    """How these views write a receiver or a receiver wallet out. The dashboard's
    carry payment figures, which belong to disbursements, a layer above: the
    views routed are disbursements.receivers_api's subclasses, which fill these
    in (no upward import, nothing patched at start-up)."""

    def receiver_sql(self) -> tuple[str, str]:
        """(element, joins after ``FROM receivers_receiver r``)."""
        raise NotImplementedError

    def receiver_response(self, request: Request, pk, status: int = 200):
        raise NotImplementedError

    def receiver_wallet_response(self, request: Request, pk):
        raise NotImplementedError


def get_receiver(request: Request, pk) -> Receiver:
    receiver = Receiver.objects.filter(organization=request.tenant, pk=pk).first()
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


def _every_receiver_error(serializer_errors, raw) -> dict[str, str]:
    """The serializer's errors (types, lengths) and the service's on the fields
    that passed them (contacts, verifications, addresses): all at once."""
    errors = field_errors(serializer_errors)
    flagged = {name.split("[")[0].split(".")[0] for name in errors}
    fields = {
        name: raw.get(name)
        for name in ReceiverInput().fields
        if name not in flagged and hasattr(raw, "get")
    }
    fields.setdefault("external_id", None)
    more, _ = services.new_receiver_errors(services.NewReceiver(**fields))
    more = {k: v for k, v in more.items() if k.split("[")[0] not in flagged}
    return {**more, **errors}


class ReceiversView(ReceiverJSON, APIView):
    roles = {"GET": BIZ, "POST": RECEIVER_WRITE}
    api_key_permissions = {"GET": "read:receivers", "POST": "write:receivers"}

    @accepts(selectors.RECEIVER_PARAMS)
    @extend_schema(responses=answers(page_of(schemas.ReceiverSerializer)))
    def get(self, request: Request) -> Response:
        queryset = selectors.receivers_for(request.tenant, request.query_params)
        element, joins = self.receiver_sql()
        return CachedCountPagination().json_page(
            queryset,
            request,
            element,
            f"JOIN {table(Receiver)} r ON r.id = page.id {joins}",
        )

    @extend_schema(
        request=json_body(schemas.ReceiverInput),
        responses=answers(schemas.ReceiverSerializer, 201),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ReceiverInput(data=request.data)
        if not data.is_valid():
            raise APIError(extras=_every_receiver_error(data.errors, request.data))
        receiver = services.create_receiver(
            request.tenant,
            services.NewReceiver(**data.validated_data),
            actor=request.user,
        )
        return self.receiver_response(request, receiver.pk, status=201)


PATCH_KEYS = {
    "email",
    "phone_number",
    "external_id",
    *services.PATCH_VERIFICATIONS,
}


class ReceiverView(ReceiverJSON, APIView):
    roles = {"GET": BIZ, "PATCH": RECEIVER_WRITE}
    api_key_permissions = {"GET": "read:receivers", "PATCH": "write:receivers"}

    @extend_schema(responses=answers(schemas.ReceiverSerializer))
    def get(self, request: Request, pk) -> Response:
        return self.receiver_response(request, pk)

    @extend_schema(
        request=json_body(schemas.ReceiverPatch, text_plain=True),
        responses=answers(Message),
    )
    @idempotent
    def patch(self, request: Request, pk) -> Response:
        receiver = get_receiver(request, pk)
        if not isinstance(request.data, dict):
            raise APIError(extras={"body": "must be a JSON object"})
        unknown = set(request.data) - PATCH_KEYS
        errors = {name[:64]: "unknown field" for name in sorted(unknown)[:10]}
        for name, value in request.data.items():
            if name in unknown:
                continue
            if value is not None and not isinstance(value, str):
                errors[name] = "must be a string"
            elif isinstance(value, str) and len(value) > 254:
                errors[name] = "at most 254 characters"
        if errors:
            # With the service's checks of the other fields: all at once.
            valid = {k: v for k, v in request.data.items() if k not in errors}
            more, _, _ = services.receiver_update_errors(valid)
            raise APIError(extras={**more, **errors})
        services.update_receiver(receiver, dict(request.data), actor=request.user)
        return Response({"message": "Receiver updated successfully"})


class WalletAddressInput(serializers.Serializer):
    stellar_address = serializers.CharField(max_length=69)
    stellar_memo = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )


class ReceiverWalletAddressView(ReceiverJSON, APIView):
    roles = {"PATCH": RECEIVER_WRITE}
    api_key_permissions = {"PATCH": "write:receivers"}

    @extend_schema(
        request=json_body(schemas.WalletAddressInput),
        responses=answers(schemas.ReceiverWalletSerializer),
    )
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
        return self.receiver_wallet_response(request, receiver_wallet.pk)


class RetryInvitationView(APIView):
    roles = {"PATCH": RECEIVER_WRITE}
    api_key_permissions = {"PATCH": "write:receivers"}

    @extend_schema(request=None, responses=answers(schemas.InvitationRetried))
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

    @extend_schema(
        request=json_body(schemas.ReceiverWalletStatusInput), responses=answers(Message)
    )
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

    @extend_schema(responses=answers(schemas.VERIFICATION_TYPES))
    def get(self, request: Request) -> Response:
        from receivers.models import VerificationField

        return Response(list(VerificationField.values))


class RegistrationContactTypesView(APIView):
    roles = {"GET": ALL}
    api_key_permissions = {"GET": "read:all"}

    @extend_schema(responses=answers(schemas.CONTACT_TYPES))
    def get(self, request: Request) -> Response:
        return Response(
            [
                "EMAIL",
                "PHONE_NUMBER",
                "EMAIL_AND_WALLET_ADDRESS",
                "PHONE_NUMBER_AND_WALLET_ADDRESS",
            ]
        )
