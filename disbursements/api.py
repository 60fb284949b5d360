"""Disbursements, payments and statistics routes (dashboard §2.3-2.5): parse,
call one service, render what the dashboard reads."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import catalog
from auth_org.catalog_api import ASSET_TEXT, WALLET_MEMBERS
from auth_org.models import Asset, Role, User, Wallet
from auth_org.permissions import ALL, BIZ, OWNER_FC
from circle.models import TransferRequest
from core import jsontext as jt
from core import sqljson
from core.api import APIError, Choice, NotFound, PageNumberPagination, field_errors
from core.apidoc import Message, answers, csv_file, json_body, multipart_body, page_of
from core.idempotency import idempotent
from core.middleware import client_ip
from core.paging import CachedCountPagination
from core.params import PAGING, Param, QueryParams, accepts
from core.sqljson import table
from core.validators import parse_amount
from disbursements import cooling, retries, schemas, selectors, services
from disbursements import payments as payment_services
from disbursements.csv_ingest import CSVError
from disbursements.duplicates import find_duplicates
from disbursements.models import (
    Disbursement,
    DisbursementStatusChange,
    Payment,
    PaymentStatusChange,
    RegistrationContactType,
)
from disbursements.preflight import preflight
from messaging.texts import validate_template
from receivers.models import Receiver, ReceiverWallet, VerificationField

DISBURSEMENT_WRITE = OWNER_FC | {Role.INITIATOR}
DISBURSEMENT_START = OWNER_FC | {Role.APPROVER}
PAYMENT_WRITE = OWNER_FC | {Role.BUSINESS}


def status_history(source: str, **detail: str) -> str:
    """A status history as the dashboard reads it, oldest first: each change
    (alias ``h``, from ``source``: the table and its WHERE) with its status,
    its ``detail`` members and its timestamp."""
    return jt.agg(
        jt.obj(
            status=jt.string("h.to_status"),
            **detail,
            timestamp=jt.iso("h.created_at"),
        ),
        source,
        "h.created_at, h.id",
    )


# --- disbursements -----------------------------------------------------------

# A disbursement as the dashboard reads it, JSON written by PostgreSQL
# (core.jsontext: joined text, as json_build_object would write it, cheaper) for
# the alias ``d`` with DISBURSEMENT_JOINS: the list, the details, and the
# answers of POST and DELETE. Its counters and amounts are the selectors'
# (disbursement_stats, from the payment tallies). Its relations are scalar
# subqueries rather than joins: PostgreSQL plans them in a fraction of the time.
DISBURSEMENT_JOINS = selectors.DISBURSEMENT_STATS_JOIN

_DISB_USER_TEXT = jt.obj(
    id=jt.quoted("u.id::uuid"),
    first_name=jt.string("u.first_name"),
    last_name=jt.string("u.last_name"),
)


def _user_text(user_id: str) -> str:
    """The user ``{id, first_name, last_name}`` of ``user_id``, as SQL giving
    JSON text or NULL without one."""
    return f"(SELECT {_DISB_USER_TEXT} FROM {table(User)} u WHERE u.id = {user_id})"  # noqa: S608


# The wallet's assets, oldest first (the order the unordered prefetch gave in
# practice); within the subquery "a" is the listed asset.
_DISB_WALLET_TEXT = jt.join(
    WALLET_MEMBERS,
    jt.members(
        assets=jt.agg(
            ASSET_TEXT,
            f"{table(Wallet.assets.through)} wa"
            f" JOIN {table(Asset)} a ON a.id = wa.asset_id"
            " WHERE wa.wallet_id = w.id AND a.deleted_at IS NULL",
            "a.created_at, a.id",
        )
    ),
)
# The user of its last start (null when that start had none).
_DISB_STARTED_BY = (
    f"(SELECT {_user_text('h.actor_id')}"  # noqa: S608
    f" FROM {table(DisbursementStatusChange)} h"
    " WHERE h.disbursement_id = d.id AND h.to_status = 'STARTED'"
    " ORDER BY h.created_at DESC, h.id DESC LIMIT 1)"
)
# Counters as numbers, amounts as strings with 7 decimals.
_DISB_STATS = {
    key: jt.money(f"stats.{key}")
    if key in selectors.STATS_AMOUNTS
    else jt.literal(f"stats.{key}")
    for key in selectors.STATS_KEYS
}
DISBURSEMENT_SQL = jt.obj(
    id=jt.quoted("d.id::uuid"),
    name=jt.string("d.name"),
    status=jt.string("d.status"),
    wallet=jt.literal(
        f"(SELECT {_DISB_WALLET_TEXT} FROM {table(Wallet)} w"  # noqa: S608
        " WHERE w.id = d.wallet_id)"
    ),
    asset=jt.literal(
        f"(SELECT {ASSET_TEXT} FROM {table(Asset)} a"  # noqa: S608
        " WHERE a.id = d.asset_id)"
    ),
    verification_field=jt.string("d.verification_field"),
    registration_contact_type=jt.string("d.registration_contact_type"),
    receiver_registration_message_template=jt.string(
        "d.receiver_registration_message_template"
    ),
    file_name=jt.string("d.file_name"),
    status_history=status_history(
        f"{table(DisbursementStatusChange)} h WHERE h.disbursement_id = d.id",
        user_id=jt.quoted("h.actor_id::uuid", null='""'),
    ),
    created_at=jt.iso("d.created_at"),
    updated_at=jt.iso("d.updated_at"),
    created_by=jt.literal(_user_text("d.created_by_id")),
    started_by=jt.literal(_DISB_STARTED_BY),
    **_DISB_STATS,
)


def disbursement_text(request: Request, pk) -> str:
    return sqljson.one_text(
        DISBURSEMENT_SQL,
        f"{table(Disbursement)} d {DISBURSEMENT_JOINS}",
        request.tenant.pk,
        pk,
        missing="disbursement not found",
    )


def get_disbursement(request: Request, pk) -> Disbursement:
    """The model, for the writes. file_content (the uploaded CSV) is read only by
    the instructions download."""
    disbursement = (
        Disbursement.objects.filter(organization=request.tenant, pk=pk)
        .defer("file_content")
        .select_related("wallet", "asset")
        .first()
    )
    if disbursement is None:
        raise NotFound("disbursement not found")
    return disbursement


class DisbursementInput(serializers.Serializer):
    name = serializers.CharField(max_length=128)
    wallet_id = serializers.UUIDField()
    asset_id = serializers.UUIDField()
    registration_contact_type = Choice(RegistrationContactType.values)
    verification_field = Choice(
        VerificationField.values, allow_blank=True, required=False, default=""
    )
    receiver_registration_message_template = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=1000
    )

    def validate_receiver_registration_message_template(self, value: str) -> str:
        # Placeholders only ({{.OrganizationName}}, {{.RegistrationLink}}):
        # no HTML, no template tags, no unknown names.
        try:
            return validate_template(value, max_length=1000, field="template")
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["template"]) from None


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


def _disbursement_input(organization, raw) -> tuple[dict, Any, Any]:
    """The new disbursement's fields, its wallet and its asset; else one 400
    naming every invalid field (the wallet and asset looked up whenever their
    ids are valid). Unknown wallet or asset alone: SDP's 404."""
    data = DisbursementInput(data=raw)
    errors = {} if data.is_valid() else field_errors(data.errors)
    found = {}
    lookups = (("wallet_id", catalog.wallets_of), ("asset_id", catalog.assets_of))
    for field, of in lookups:
        if field not in errors and hasattr(raw, "get"):
            found[field] = of(organization).filter(pk=raw.get(field)).first()
            if found[field] is None:
                errors[field] = f"{field.removesuffix('_id')} not found"
    wallet = found.get("wallet_id")
    if wallet is not None and (not wallet.enabled or wallet.deleted_at):
        errors["wallet_id"] = "not enabled"
    if errors and all(v.endswith(" not found") for v in errors.values()):
        # Only unknown references (another tenant's, say): SDP's 404.
        first = next(iter(errors.values()))
        raise NotFound(first, extras=errors if len(errors) > 1 else None)
    if errors == {"wallet_id": "not enabled"}:
        raise APIError("wallet is not enabled", extras=errors)
    if errors:
        raise APIError(extras=errors)
    return data.validated_data, wallet, found["asset_id"]


class DisbursementsView(APIView):
    roles = {"GET": BIZ, "POST": DISBURSEMENT_WRITE}
    api_key_permissions = {"GET": "read:disbursements", "POST": "write:disbursements"}

    @accepts(selectors.DISBURSEMENT_PARAMS)
    @extend_schema(responses=answers(page_of(schemas.DisbursementSerializer)))
    def get(self, request: Request) -> HttpResponse:
        # A tenant's disbursements are few: counted exactly on every request.
        queryset = selectors.disbursements_for(request.tenant, request.query_params)
        return CachedCountPagination().json_page(
            queryset,
            request,
            DISBURSEMENT_SQL,
            f"JOIN {table(Disbursement)} d ON d.id = page.id {DISBURSEMENT_JOINS}",
            exact=True,
        )

    @extend_schema(
        request=schemas.DISBURSEMENT_CREATE,
        responses=answers(schemas.DisbursementSerializer, 201),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        raw = request.data
        if "data" in raw and request.content_type.startswith("multipart/"):
            try:
                raw = json.loads(raw["data"])
            except (TypeError, json.JSONDecodeError, RecursionError):
                raise APIError(extras={"data": "must be a JSON object"}) from None
            if not isinstance(raw, dict):
                raise APIError(extras={"data": "must be a JSON object"})
        values, wallet, asset = _disbursement_input(request.tenant, raw)
        organization = request.tenant
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
        return sqljson.json_response(
            disbursement_text(request, disbursement.pk), status=201
        )


class DisbursementView(APIView):
    roles = {"GET": BIZ, "DELETE": DISBURSEMENT_WRITE}
    api_key_permissions = {"GET": "read:disbursements", "DELETE": "write:disbursements"}

    @extend_schema(responses=answers(schemas.DisbursementSerializer))
    def get(self, request: Request, pk) -> HttpResponse:
        return sqljson.json_response(disbursement_text(request, pk))

    @extend_schema(responses=answers(schemas.DisbursementSerializer))
    def delete(self, request: Request, pk) -> HttpResponse:
        disbursement = get_disbursement(request, pk)
        body = disbursement_text(request, pk)
        services.delete_disbursement(disbursement)
        return sqljson.json_response(body)


class InstructionsView(APIView):
    roles = {"GET": BIZ, "POST": DISBURSEMENT_WRITE}
    api_key_permissions = {"GET": "read:disbursements", "POST": "write:disbursements"}

    @extend_schema(responses=csv_file())
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

    @extend_schema(
        request=multipart_body(schemas.InstructionsUpload),
        responses=answers(schemas.InstructionsUploaded),
    )
    @idempotent
    def post(self, request: Request, pk) -> Response:
        disbursement = get_disbursement(request, pk)
        upload = uploaded_file(request)
        if upload is None:
            raise APIError(extras={"file": "file is required"})
        services.upload_instructions(
            disbursement, actor=request.user, file_name=upload[0], content=upload[1]
        )
        body: dict[str, Any] = {"message": "File uploaded successfully"}
        if duplicates := find_duplicates(disbursement):
            body["duplicates"] = duplicates  # warnings; the start asks to confirm
        return Response(body)


class _StatusInput(serializers.Serializer):
    """A status PATCH: a wrong or missing status lists the values allowed."""

    allowed: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"] = Choice(choices=list(self.allowed))

    @classmethod
    def status_of(cls, data: Any) -> str:
        status = data.get("status") if isinstance(data, dict) else None
        if isinstance(status, str):
            status = status.strip().upper()  # as SDP: "started" is STARTED
        serializer = cls(data={} if status is None else {"status": status})
        if not serializer.is_valid():
            raise APIError(extras=field_errors(serializer.errors))
        return serializer.validated_data["status"]


class DisbursementStatusInput(_StatusInput):
    allowed = (Disbursement.Status.STARTED, Disbursement.Status.PAUSED)


class PaymentStatusInput(_StatusInput):
    allowed = (Payment.Status.CANCELED,)


class DisbursementStatusView(APIView):
    roles = {"PATCH": DISBURSEMENT_START}
    api_key_permissions = {"PATCH": "write:disbursements"}

    @extend_schema(
        request=json_body(schemas.DisbursementStatusInput), responses=answers(Message)
    )
    @idempotent
    def patch(self, request: Request, pk) -> Response:
        disbursement = get_disbursement(request, pk)
        status = DisbursementStatusInput.status_of(request.data)
        message = services.set_disbursement_status(
            disbursement,
            status=status,
            actor=request.user,
            acknowledge_duplicates=request.data.get("acknowledge_duplicates") is True,
        )
        return Response({"message": message})


class DisbursementPreflightView(APIView):
    """What starting it now would do: per payment ready, waiting or failing, the
    balance, the cost and time, the duplicate warnings (docs/controls.md)."""

    roles = {"GET": BIZ}
    api_key_permissions = {"GET": "read:disbursements"}

    @extend_schema(responses=answers(schemas.Preflight))
    def get(self, request: Request, pk) -> Response:
        return Response(preflight(get_disbursement(request, pk)))


class DisbursementRetryView(APIView):
    """Staff: retry every FAILED payment of a disbursement, or those with one
    reason (no_account, no_trustline, not_authorized, line_full, other)."""

    roles = {"POST": PAYMENT_WRITE}
    api_key_permissions = {"POST": "write:payments"}

    @extend_schema(
        request=json_body(schemas.DisbursementRetryInput),
        responses=answers(schemas.RetryAnswer),
    )
    @idempotent
    def post(self, request: Request, pk) -> Response:
        disbursement = get_disbursement(request, pk)
        data = request.data if isinstance(request.data, dict) else {}
        reason = data.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise APIError(extras={"reason": "a reason name"})
        count = retries.retry_failed_of_disbursement(
            disbursement, reason=reason, actor=request.user
        )
        return Response({"message": f"{count} payments retried", "retried": count})


# A disbursement's receivers list: each of its payments with the receiver, for
# the page's ids, as JSON text (core.jsontext); the payment's receiver wallet and
# asset read from scalar subqueries (quicker to plan than joins).
DISBURSEMENT_RECEIVER_JOINS = f"""
    JOIN {table(Payment)} p ON p.id = page.id
    JOIN {table(Receiver)} r ON r.id = p.receiver_id
"""
# A receiver wallet (alias ``rw``, its wallet ``w``) of a payment: in the
# payments and in a disbursement's receivers.
RECEIVER_WALLET_TEXT = jt.obj(
    id=jt.quoted("rw.id::uuid"),
    receiver=jt.obj(id=jt.quoted("rw.receiver_id::uuid")),
    wallet=jt.obj(id=jt.quoted("rw.wallet_id::uuid"), name=jt.string("w.name")),
    stellar_address=jt.string("coalesce(rw.stellar_address, '')"),
    stellar_memo=jt.string("rw.stellar_memo"),
    stellar_memo_type=jt.string("rw.stellar_memo_type"),
    status=jt.string("rw.status"),
    created_at=jt.iso("rw.created_at"),
    updated_at=jt.iso("rw.updated_at"),
    invitation_sent_at=jt.iso("rw.invitation_sent_at"),
    otp_confirmed_at=jt.iso("rw.otp_confirmed_at"),
    otp_confirmed_with=jt.string("nullif(rw.otp_confirmed_with, '')"),
    sep24_transaction_id=jt.string("nullif(rw.sep24_transaction_id, '')"),
)
DISBURSEMENT_RECEIVER_SQL = jt.obj(
    id=jt.quoted("r.id::uuid"),
    phone_number=jt.string("coalesce(r.phone_number, '')"),
    email=jt.string("coalesce(r.email, '')"),
    external_id=jt.string("r.external_id"),
    created_at=jt.iso("r.created_at"),
    updated_at=jt.iso("r.updated_at"),
    receiver_wallet=jt.literal(
        f"(SELECT {RECEIVER_WALLET_TEXT} FROM {table(ReceiverWallet)} rw"  # noqa: S608
        f" JOIN {table(Wallet)} w ON w.id = rw.wallet_id"
        " WHERE rw.id = p.receiver_wallet_id)"
    ),
    payment=jt.obj(
        id=jt.quoted("p.id::uuid"),
        amount=jt.money("p.amount"),
        stellar_transaction_id=jt.string("p.stellar_transaction_id"),
        stellar_operation_id=jt.string("p.stellar_operation_id"),
        status=jt.string("p.status"),
        asset=jt.literal(
            f"(SELECT {ASSET_TEXT} FROM {table(Asset)} a"  # noqa: S608
            " WHERE a.id = p.asset_id)"
        ),
        created_at=jt.iso("p.created_at"),
        updated_at=jt.iso("p.updated_at"),
    ),
)


# What a disbursement's receivers list accepts. SDP 6.5 sorts it by the
# receivers' created_at or updated_at; it parses q, status and dates but ignores
# them, so here they are refused (400) rather than silently ignored.
DISBURSEMENT_RECEIVER_PARAMS = QueryParams(
    PAGING,
    Param(
        "sort",
        enum=("created_at", "updated_at"),
        description="Sort by the receivers' field; without it, in upload order.",
    ),
    Param(
        "direction",
        enum=("asc", "desc"),
        any_case=True,
        description="Sort order (case-insensitive): desc by default with sort,"
        " asc (upload order) without.",
    ),
)


def _disbursement_receiver_keys(params) -> str:
    """The SQL of a page's payment ids: in upload order (index
    payment_disb_created) unless sorted by the receivers' field. The ORDER BY
    is built from the declaration's enums only."""
    sort = params.get("sort")
    descending = (params.get("direction") or ("desc" if sort else "asc")).lower()
    way = "DESC" if descending == "desc" else "ASC"
    if sort:
        order = f"r.{'created_at' if sort == 'created_at' else 'updated_at'} {way}"
        inner = (
            f"SELECT p.id FROM {table(Payment)} p"  # noqa: S608
            f" JOIN {table(Receiver)} r ON r.id = p.receiver_id"
            f" WHERE p.disbursement_id = %s ORDER BY {order}, p.id {way}"
        )
    else:
        inner = (
            f"SELECT id FROM {table(Payment)}"  # noqa: S608
            f" WHERE disbursement_id = %s ORDER BY created_at {way}, id {way}"
        )
    return f"SELECT ARRAY({inner} LIMIT %s OFFSET %s)::text"


class DisbursementReceiversView(APIView):
    roles = {"GET": BIZ}
    api_key_permissions = {"GET": "read:disbursements"}

    @accepts(DISBURSEMENT_RECEIVER_PARAMS)
    @extend_schema(responses=answers(page_of(schemas.DisbursementReceiver)))
    def get(self, request: Request, pk) -> HttpResponse:
        # Whether it is the tenant's (its history and wallet are not shown) and
        # how many payments it has, from its tallies.
        total = sqljson.fetch_text(
            f"SELECT stats.total_payments FROM {table(Disbursement)} d"  # noqa: S608
            f" {selectors.DISBURSEMENT_STATS_JOIN}"
            " WHERE d.organization_id = %s AND d.id = %s",
            [request.tenant.pk, pk],
        )
        if total is None:
            raise NotFound("disbursement not found")
        paginator = PageNumberPagination()
        paginator.read_page(request)
        paginator.set_total(total)
        # Its payments in upload order (index payment_disb_created), then their
        # JSON. Apart: with the keys' query inside (LIMIT and OFFSET unknown to
        # a generic plan) PostgreSQL planned the whole rendering on every
        # request; alone, it is one generic plan. Read as text, the
        # keys go back as one text parameter (sqljson.uuid_array).
        keys = sqljson.fetch_text(
            _disbursement_receiver_keys(request.query_params),
            [pk, paginator.limit, paginator.start],
        )
        body = sqljson.fetch_text(
            jt.page(DISBURSEMENT_RECEIVER_SQL, DISBURSEMENT_RECEIVER_JOINS), [keys]
        )
        return sqljson.envelope(body, paginator.links())


# --- payments ----------------------------------------------------------------


# A payment as the dashboard reads it, JSON written by PostgreSQL (core.jsontext:
# joined text, as json_build_object would write it, cheaper): the payments list
# and details answer with it, the direct payment route too.
PAYMENT_JOINS = f"""
    JOIN {table(Asset)} a ON a.id = p.asset_id
    JOIN {table(ReceiverWallet)} rw ON rw.id = p.receiver_wallet_id
    JOIN {table(Wallet)} w ON w.id = rw.wallet_id
    LEFT JOIN {table(Disbursement)} d ON d.id = p.disbursement_id
"""
_PAYMENT_MEMBERS = jt.members(
    id=jt.quoted("p.id::uuid"),
    amount=jt.money("p.amount"),
    type=jt.string("p.type"),
    status=jt.string("p.status"),
    status_history=status_history(
        f"{table(PaymentStatusChange)} h WHERE h.payment_id = p.id",
        status_message=jt.string("h.note"),
    ),
    stellar_transaction_id=jt.string("p.stellar_transaction_id"),
    stellar_operation_id=jt.string("p.stellar_operation_id"),
    external_payment_id=jt.string("p.external_payment_id"),
    # The payment's latest Circle transfer request (Circle tenants; else null).
    circle_transfer_request_id=jt.quoted(
        f"(SELECT c.idempotency_key FROM {table(TransferRequest)} c"  # noqa: S608
        " WHERE c.external_id = p.id::text ORDER BY c.attempt DESC LIMIT 1)::uuid"
    ),
    sender_address=jt.string("p.sender_address"),
    asset=ASSET_TEXT,
    receiver_wallet=RECEIVER_WALLET_TEXT,
    created_at=jt.iso("p.created_at"),
    updated_at=jt.iso("p.updated_at"),
)
_DISBURSEMENT_MEMBER = jt.members(
    disbursement=jt.obj(
        id=jt.quoted("d.id::uuid"),
        name=jt.string("d.name"),
        status=jt.string("d.status"),
        created_at=jt.iso("d.created_at"),
        updated_at=jt.iso("d.updated_at"),
    )
)
# A direct payment has no "disbursement" key at all (the dashboard's "Direct
# Payment"), not a null one.
PAYMENT_SQL = jt.join(
    f"{_PAYMENT_MEMBERS} || CASE WHEN d.id IS NULL THEN ''"
    f" ELSE ', ' || {_DISBURSEMENT_MEMBER} END"
)


def payment_response(request: Request, pk, status: int = 200):
    return sqljson.one_response(
        PAYMENT_SQL,
        f"{table(Payment)} p {PAYMENT_JOINS}",
        request.tenant.pk,
        pk,
        missing="payment not found",
        status=status,
    )


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

    def validate_amount(self, value: str) -> str:
        # The service's check here too: reported with every other invalid field.
        _, error = parse_amount(value.strip())
        if error:
            raise serializers.ValidationError(error)
        return value


class PaymentsView(APIView):
    roles = {"GET": BIZ, "POST": PAYMENT_WRITE}
    api_key_permissions = {"GET": "read:payments", "POST": "write:payments"}

    @accepts(selectors.PAYMENT_PARAMS)
    @extend_schema(responses=answers(page_of(schemas.PaymentSerializer)))
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
            f"JOIN {table(Payment)} p ON p.id = page.id {PAYMENT_JOINS}",
        )

    @extend_schema(
        request=json_body(schemas.DirectPaymentInput),
        responses=answers(schemas.PaymentSerializer, 201),
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

    @extend_schema(responses=answers(schemas.PaymentSerializer))
    def get(self, request: Request, pk) -> Response:
        return payment_response(request, pk)


class PaymentsRetryView(APIView):
    roles = {"PATCH": PAYMENT_WRITE}
    api_key_permissions = {"PATCH": "write:payments"}

    @extend_schema(
        request=json_body(schemas.PaymentsRetryInput), responses=answers(Message)
    )
    @idempotent
    def patch(self, request: Request) -> Response:
        ids = request.data.get("payment_ids")
        if not isinstance(ids, list):
            raise APIError(extras={"payment_ids": "a list of payment ids is required"})
        payment_services.retry_payments(request.tenant, ids, actor=request.user)
        return Response({"message": "Payments retried successfully"})


class PaymentReleaseView(APIView):
    """Staff: pay a payment held by its receiver's address cooling period now,
    with a reason (recorded in the audit log)."""

    roles = {"POST": OWNER_FC}
    api_key_permissions = {"POST": "write:payments"}

    @extend_schema(
        request=json_body(schemas.PaymentReleaseInput), responses=answers(Message)
    )
    @idempotent
    def post(self, request: Request, pk) -> Response:
        payment = get_payment(request, pk)
        data = request.data if isinstance(request.data, dict) else {}
        reason = data.get("reason")
        cooling.release_payment(
            payment,
            actor=request.user,
            reason=reason if isinstance(reason, str) else "",
            ip_address=client_ip(request._request),
        )
        return Response({"message": "Payment released"})


class PaymentApproveView(APIView):
    """An approver's approval of a direct payment held by an approval tier
    (docs/controls.md): 403 with the approvals so far until enough are in,
    then the payment goes READY to the TSS and is answered."""

    roles = {"POST": DISBURSEMENT_START}
    api_key_permissions = {"POST": "write:disbursements"}

    @extend_schema(request=None, responses=answers(schemas.PaymentSerializer))
    @idempotent
    def post(self, request: Request, pk) -> Response:
        payment = get_payment(request, pk)
        payment_services.approve_direct_payment(payment, actor=request.user)
        return payment_response(request, payment.pk)


class PaymentStatusView(APIView):
    roles = {"PATCH": OWNER_FC}
    api_key_permissions = {"PATCH": "write:payments"}

    @extend_schema(
        request=json_body(schemas.PaymentStatusInput), responses=answers(Message)
    )
    @idempotent
    def patch(self, request: Request, pk) -> Response:
        payment = get_payment(request, pk)
        PaymentStatusInput.status_of(request.data)
        payment_services.cancel_payment(payment, actor=request.user)
        return Response({"message": "Payment canceled"})


# --- statistics --------------------------------------------------------------


class StatisticsView(APIView):
    roles = {"GET": ALL}
    api_key_permissions = {"GET": "read:statistics"}

    @extend_schema(responses=answers(schemas.Statistics))
    def get(self, request: Request, pk=None) -> Response:
        if pk is not None and not sqljson.fetch_text(
            f"SELECT true FROM {table(Disbursement)}"  # noqa: S608
            " WHERE organization_id = %s AND id = %s",
            [request.tenant.pk, pk],
        ):
            raise NotFound("disbursement not found")
        return Response(selectors.cached_statistics(request.tenant, pk))
