"""Receivers routes of the dashboard (§2.6): thin views over receivers.services."""

from __future__ import annotations

import functools

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org.catalog_api import WALLET_MEMBERS, iso
from auth_org.models import Role
from auth_org.permissions import ALL, BIZ, OWNER_FC
from core import jsontext as jt
from core import sqljson
from core.api import APIError, NotFound, field_errors
from core.apidoc import Message, answers, json_body, page_of
from core.idempotency import idempotent
from core.paging import CachedCountPagination
from core.params import accepts
from receivers import schemas, selectors, services
from receivers.models import Receiver, ReceiverWallet

RECEIVER_WRITE = OWNER_FC | {Role.APPROVER, Role.INITIATOR}


# A receiver and its wallets as the dashboard reads them, JSON written by
# PostgreSQL (core.jsontext: joined text, as json_build_object would write it,
# cheaper). Payment figures come as SQL from the reader disbursements installs
# (selectors.payment_reads()), so the text is built on first use.
# By code, then issuer, comparing code points as Python's sorted() did: under a
# language collation (en_US) "eurc" would come before "USDC".
RECEIVED_ORDER = 'fr.asset_code COLLATE "C", fr.asset_issuer COLLATE "C"'
WALLET_SQL = jt.join(WALLET_MEMBERS)
VERIFICATIONS_SQL = jt.agg(
    jt.obj(
        verification_field=jt.string("v.verification_field"),
        hashed_value=jt.string("v.hashed_value"),
        confirmed_at=jt.iso("v.confirmed_at"),
        verification_channel=jt.string("nullif(v.verification_channel, '')"),
        updated_at=jt.iso("v.updated_at"),
    ),
    "receivers_receiververification v WHERE v.receiver_id = r.id",
    "v.verification_field",
)


def _figures_joins(receiver_id: str) -> str:
    """The payment figures of the receiver whose id is the SQL ``receiver_id``
    (alias ``rf``, PaymentReads.figures_sql) and the asset of its received
    amounts if they have one (``ra``)."""
    figures = selectors.payment_reads().figures_sql("receiver_id", receiver_id)
    return (
        f"CROSS JOIN LATERAL {figures} rf"
        " LEFT JOIN auth_org_asset ra ON ra.id = rf.received_asset_id"
    )


def _received_sql(column: str, key: str, *, issuer: bool, here: str = "") -> str:
    """The received amounts (successful payments summed per asset) of a
    receiver or receiver wallet, as a JSON array in RECEIVED_ORDER, from the
    receiver's figures (``rf``, ``ra``: _figures_joins): none; one asset's; or
    else grouped from the payments with ``column`` = ``key``. ``here``: for a
    receiver wallet, the SQL of its id (its amounts are the receiver's if the
    receiver's payments are all in it, none if all in another)."""

    def amount(code: str, issuer_sql: str, sum_sql: str) -> str:
        fields = {"asset_code": jt.string(code), "received_amount": jt.money(sum_sql)}
        if issuer:
            fields["asset_issuer"] = jt.string(issuer_sql)
        return jt.obj(**fields)

    one = amount("ra.code", "ra.issuer", "rf.received")
    source = selectors.payment_reads().received_sql(column, key)
    several = jt.agg(
        amount("fr.asset_code", "fr.asset_issuer", "fr.amount"),
        f"{source} fr",
        RECEIVED_ORDER,
    )
    none, ones = "rf.received IS NULL", "rf.received_asset_id IS NOT NULL"
    if here:
        none += f" OR rf.receiver_wallet_id <> {here}"
        ones += f" AND rf.receiver_wallet_id = {here}"
    return (
        f"CASE WHEN {none} THEN '[]' WHEN {ones} THEN '[' || {one} || ']'"
        f" ELSE {several} END"
    )


def _wallet_counters() -> str:
    """A receiver wallet's (alias ``rw``) payment counters, as members of its
    object: its receiver's (``rf``) when the receiver's payments are all in
    this wallet, zeros when they are all in another (or there are none), else
    counted from the wallet's own. (A payment's receiver wallet is always one
    of its receiver's.)"""

    def counters(figures: str = "") -> str:
        def count(name: str) -> str:
            return jt.quoted(f"{figures}.{name}" if figures else "0")

        return jt.members(
            total_payments=count("total"),
            payments_received=count("successful"),
            failed_payments=count("failed"),
            canceled_payments=count("canceled"),
            remaining_payments=count("remaining"),
        )

    own = selectors.payment_reads().figures_sql("receiver_wallet_id", "rw.id")
    return (
        f"CASE WHEN rf.receiver_wallet_id = rw.id THEN {counters('rf')}"  # noqa: S608
        f" WHEN rf.receiver_wallet_id <> rw.id OR rf.total = 0 THEN {counters()}"
        f" ELSE (SELECT {counters('own')} FROM {own} own) END"
    )


# A receiver wallet's (alias ``rw``) invitations delivered, as SDP reads them
# from its messages: the first (invited_at) and the last (last_message_sent_at).
MESSAGES_JOIN = (
    "CROSS JOIN LATERAL (SELECT min(m.created_at) AS first_at,"
    " max(m.created_at) AS last_at FROM messaging_message m"
    " WHERE m.receiver_wallet_id = rw.id AND m.status = 'SUCCESS'"
    " AND m.kind = 'RECEIVER_INVITATION') rm"
)


@functools.cache
def _wallet_element() -> str:
    """A receiver wallet (alias ``rw``, its wallet ``w``, its messages ``rm``:
    MESSAGES_JOIN) with its payment figures, from its receiver's (``rf``,
    ``ra``: _figures_joins)."""
    return jt.join(
        jt.members(
            id=jt.quoted("rw.id"),
            receiver=jt.obj(id=jt.quoted("rw.receiver_id")),
            wallet=WALLET_SQL,
            status=jt.string("rw.status"),
            stellar_address=jt.string("coalesce(rw.stellar_address, '')"),
            stellar_memo=jt.string("rw.stellar_memo"),
            stellar_memo_type=jt.string("rw.stellar_memo_type"),
            created_at=jt.iso("rw.created_at"),
            updated_at=jt.iso("rw.updated_at"),
            invited_at=jt.iso("rm.first_at"),
            last_message_sent_at=jt.iso("rm.last_at"),
            # SDP's earlier name of last_message_sent_at, still read by the
            # dashboard 6.5.
            last_sms_sent=jt.iso("rm.last_at"),
            invitation_sent_at=jt.iso("rw.invitation_sent_at"),
            otp_confirmed_at=jt.iso("rw.otp_confirmed_at"),
            otp_confirmed_with=jt.string("nullif(rw.otp_confirmed_with, '')"),
            sep24_transaction_id=jt.string("nullif(rw.sep24_transaction_id, '')"),
        ),
        _wallet_counters(),
        jt.members(
            received_amounts=_received_sql(
                # With the issuer, as SDP's Amount (the receiver's too).
                "receiver_wallet_id",
                "rw.id",
                issuer=True,
                here="rw.id",
            )
        ),
    )


@functools.cache
def receiver_wallet_sql() -> tuple[str, str]:
    """A receiver wallet (alias ``rw``) with its payment figures, as JSON text:
    (element, joins after ``FROM receivers_receiverwallet rw``)."""
    joins = (
        f"JOIN auth_org_wallet w ON w.id = rw.wallet_id {MESSAGES_JOIN}"
        f" {_figures_joins('rw.receiver_id')}"
    )
    return _wallet_element(), joins


@functools.cache
def receiver_sql() -> tuple[str, str]:
    """A receiver (alias ``r``) with its figures, wallets and verifications, as
    JSON text: (element, joins after ``FROM receivers_receiver r``). The
    receiver's payments are read once, for its figures and its wallets'."""
    wallets = (
        "CROSS JOIN LATERAL (SELECT"  # noqa: S608
        f" {jt.array(_wallet_element(), 'rw.created_at, rw.id')} AS list,"
        " count(*) FILTER (WHERE rw.status = 'REGISTERED') AS registered"
        " FROM receivers_receiverwallet rw"
        f" JOIN auth_org_wallet w ON w.id = rw.wallet_id {MESSAGES_JOIN}"
        " WHERE rw.receiver_id = r.id) ws"
    )
    element = jt.obj(
        id=jt.quoted("r.id"),
        email=jt.string("coalesce(r.email, '')"),
        phone_number=jt.string("coalesce(r.phone_number, '')"),
        external_id=jt.string("r.external_id"),
        created_at=jt.iso("r.created_at"),
        updated_at=jt.iso("r.updated_at"),
        total_payments=jt.quoted("rf.total"),
        successful_payments=jt.quoted("rf.successful"),
        failed_payments=jt.quoted("rf.failed"),
        canceled_payments=jt.quoted("rf.canceled"),
        remaining_payments=jt.quoted("rf.remaining"),
        registered_wallets=jt.quoted("ws.registered"),
        received_amounts=_received_sql("receiver_id", "r.id", issuer=True),
        wallets="coalesce(ws.list, '[]')",
        verifications=VERIFICATIONS_SQL,
    )
    return element, f"{_figures_joins('r.id')} {wallets}"


def receiver_response(request: Request, pk, status: int = 200) -> HttpResponse:
    element, joins = receiver_sql()
    return sqljson.one_response(
        element,
        f"receivers_receiver r {joins}",
        request.tenant.pk,
        pk,
        missing="receiver not found",
        status=status,
    )


def receiver_wallet_response(request: Request, pk) -> HttpResponse:
    element, joins = receiver_wallet_sql()
    return sqljson.one_response(
        element,
        f"receivers_receiverwallet rw {joins}",
        request.tenant.pk,
        pk,
        missing="receiver wallet not found",
    )


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


class ReceiversView(APIView):
    roles = {"GET": BIZ, "POST": RECEIVER_WRITE}
    api_key_permissions = {"GET": "read:receivers", "POST": "write:receivers"}

    @accepts(selectors.RECEIVER_PARAMS)
    @extend_schema(responses=answers(page_of(schemas.ReceiverSerializer)))
    def get(self, request: Request) -> Response:
        queryset = selectors.receivers_for(request.tenant, request.query_params)
        element, joins = receiver_sql()
        return CachedCountPagination().json_page(
            queryset,
            request,
            element,
            f"JOIN receivers_receiver r ON r.id = page.id {joins}",
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
        return receiver_response(request, receiver.pk, status=201)


PATCH_KEYS = {
    "email",
    "phone_number",
    "external_id",
    *services.PATCH_VERIFICATIONS,
}


class ReceiverView(APIView):
    roles = {"GET": BIZ, "PATCH": RECEIVER_WRITE}
    api_key_permissions = {"GET": "read:receivers", "PATCH": "write:receivers"}

    @extend_schema(responses=answers(schemas.ReceiverSerializer))
    def get(self, request: Request, pk) -> Response:
        return receiver_response(request, pk)

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
    stellar_address = serializers.CharField(max_length=56)
    stellar_memo = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default=""
    )


class ReceiverWalletAddressView(APIView):
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
        return receiver_wallet_response(request, receiver_wallet.pk)


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
