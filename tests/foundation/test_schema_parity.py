"""One declared schema per resource, held against what the routes answer.

The dashboard's reads write their JSON in SQL for speed (core.sqljson,
core.jsontext); each resource is also declared once, as a serializer in its
app's ``schemas.py`` (what /openapi.json publishes). Here the same rows go
through both: the route's answer (SQL, or the declaration itself where the
route renders in Python) and the declaration rendering the model instances
read with the ORM. They must agree field by field: the same names, JSON types,
nulls (and a null only where the declaration allows one) and values.

Figures that are not columns (counters, amounts received, a receiver wallet's
invitations) are computed here from the ORM's rows, in Python, and given to the
instances as attributes: the SQL's aggregates are held against an independent
count.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from rest_framework import serializers

from auth_org import schemas as auth_schemas
from auth_org.apikeys import create_api_key
from auth_org.models import Asset, Organization, User, Wallet
from disbursements import receivers_api
from disbursements import schemas as disbursement_schemas
from disbursements.models import (
    Disbursement,
    DisbursementStatusChange,
    Payment,
    PaymentStatusChange,
)
from messaging.models import Message
from receivers import schemas as receiver_schemas
from receivers.models import Receiver, ReceiverVerification, ReceiverWallet
from tests.auth_org.helpers import bearer
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    MessageFactory,
    PaymentFactory,
    ReceiverFactory,
    ReceiverWalletFactory,
    UserFactory,
    WalletFactory,
)

pytestmark = pytest.mark.django_db

ADDRESS = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"


# --- the comparison ----------------------------------------------------------------


def _kind(value: Any) -> str:
    return type(value).__name__


def differences(answered: Any, declared: Any, path: str = "$") -> list[str]:
    """Where the two JSON values differ: names, types, values."""
    if isinstance(answered, dict) and isinstance(declared, dict):
        found = []
        for name in sorted(answered.keys() - declared.keys()):
            found.append(f"{path}.{name}: answered, not declared")
        for name in sorted(declared.keys() - answered.keys()):
            found.append(f"{path}.{name}: declared, not answered")
        for name in sorted(answered.keys() & declared.keys()):
            found += differences(answered[name], declared[name], f"{path}.{name}")
        return found
    if isinstance(answered, list) and isinstance(declared, list):
        if len(answered) != len(declared):
            return [f"{path}: {len(answered)} items answered, {len(declared)} declared"]
        found = []
        for i, (a, d) in enumerate(zip(answered, declared, strict=True)):
            found += differences(a, d, f"{path}[{i}]")
        return found
    if _kind(answered) != _kind(declared):
        return [
            f"{path}: {_kind(answered)} {answered!r} != {_kind(declared)} {declared!r}"
        ]
    if answered != declared:
        return [f"{path}: {answered!r} != {declared!r}"]
    return []


def undeclared_nulls(
    field: serializers.Field, value: Any, path: str = "$"
) -> list[str]:
    """The nulls in ``value`` where the declaration ``field`` allows none."""
    if value is None:
        return [] if field.allow_null else [f"{path}: null, not allowed_null"]
    if isinstance(field, serializers.ListSerializer):
        return [
            found
            for i, item in enumerate(value)
            for found in undeclared_nulls(field.child, item, f"{path}[{i}]")
        ]
    if isinstance(field, serializers.Serializer):
        return [
            found
            for name, child in field.fields.items()
            if name in value
            for found in undeclared_nulls(child, value[name], f"{path}.{name}")
        ]
    return []


def assert_parity(declaration: serializers.Serializer, answered: Any) -> None:
    declared = json.loads(json.dumps(declaration.data))
    assert differences(answered, declared) == []
    assert undeclared_nulls(declaration, answered) == []


# --- the rows ----------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value:.7f}"


@pytest.fixture
def rows(organization):
    """A tenant with a bit of everything: a wallet with a live and a deleted
    asset, a started disbursement with payments in several states, a direct
    payment in another asset and wallet, a receiver with and one without
    payments (no email), a verification, an invitation delivered."""
    owner = UserFactory(organization=organization, first_name="Grace")
    usdc = AssetFactory(organization=organization, code="USDC")
    eurc = AssetFactory(organization=organization, code="EURC")
    gone = AssetFactory(organization=organization, code="GONE")
    gone.deleted_at = timezone.now()
    gone.save(update_fields=["deleted_at"])
    wallet = WalletFactory(organization=organization)
    wallet.assets.set([usdc, eurc, gone])
    other_wallet = WalletFactory(organization=organization)
    receiver = ReceiverFactory(organization=organization, email="ada@example.org")
    ReceiverVerification.objects.create(
        receiver=receiver,
        verification_field="DATE_OF_BIRTH",
        hashed_value="hash",
        confirmed_at=timezone.now(),
        verification_channel="SMS",
    )
    registered = ReceiverWalletFactory(
        receiver=receiver,
        wallet=wallet,
        status="REGISTERED",
        stellar_address=ADDRESS,
        stellar_memo="42",
        stellar_memo_type="id",
        otp_confirmed_at=timezone.now(),
        otp_confirmed_with="+14155550100",
        sep24_transaction_id="",
    )
    second = ReceiverWalletFactory(receiver=receiver, wallet=other_wallet)
    ReceiverFactory(organization=organization, email=None)  # no payments
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, created_by=owner
    )
    DisbursementStatusChange.objects.create(
        disbursement=disbursement, from_status="DRAFT", to_status="READY"
    )
    DisbursementStatusChange.objects.create(
        disbursement=disbursement,
        from_status="READY",
        to_status="STARTED",
        actor=owner,
    )
    Disbursement.objects.filter(pk=disbursement.pk).update(status="STARTED")
    payments = []
    for amount, status in (("10", "SUCCESS"), ("5.5", "FAILED"), ("2.25", "READY")):
        payment = PaymentFactory(
            disbursement=disbursement,
            receiver_wallet=registered,
            amount=Decimal(amount),
            stellar_transaction_id="ab" * 32 if status == "SUCCESS" else "",
        )
        Payment.objects.filter(pk=payment.pk).update(status=status)
        PaymentStatusChange.objects.create(
            payment=payment, from_status="DRAFT", to_status=status, note='a "note"'
        )
        payments.append(payment)
    direct = Payment.objects.create(
        organization=organization,
        receiver=receiver,
        receiver_wallet=second,
        asset=eurc,
        amount=Decimal("3.1415926"),
        type=Payment.Type.DIRECT,
        status="SUCCESS",
        external_payment_id="ext-1",
    )
    payments.append(direct)
    message = MessageFactory(
        tenant_id=organization.pk, receiver_wallet_id=registered.pk, status="SUCCESS"
    )
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    MessageFactory(
        tenant_id=organization.pk, receiver_wallet_id=registered.pk, status="SUCCESS"
    )
    return SimpleNamespace(
        owner=owner,
        wallet=wallet,
        disbursement=disbursement,
        payments=payments,
        direct=direct,
        receiver=receiver,
    )


def _get(client, user, path: str) -> Any:
    response = client.get(path, headers=bearer(user))
    assert response.status_code == 200, response.content
    return response.json()


# --- what is computed from the rows, apart from the SQL ------------------------------


def _counts(payments: list[Payment]) -> dict[str, int]:
    by = defaultdict(int)
    for payment in payments:
        by[payment.status] += 1
    total = len(payments)
    return {
        "total": total,
        "successful": by["SUCCESS"],
        "failed": by["FAILED"],
        "canceled": by["CANCELED"],
        "remaining": total - by["SUCCESS"] - by["FAILED"] - by["CANCELED"],
    }


def _received(payments: list[Payment]) -> list[dict[str, str]]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for payment in payments:
        if payment.status == "SUCCESS":
            sums[(payment.asset.code, payment.asset.issuer)] += payment.amount
    return [
        {"asset_code": code, "asset_issuer": issuer, "received_amount": amount}
        for (code, issuer), amount in sorted(sums.items())
    ]


def _give_figures(obj: Any, payments: list[Payment], *, successful: str) -> None:
    """A receiver's or receiver wallet's payment figures, as its attributes."""
    counts = _counts(payments)
    obj.total_payments = counts["total"]
    setattr(obj, successful, counts["successful"])
    obj.failed_payments = counts["failed"]
    obj.canceled_payments = counts["canceled"]
    obj.remaining_payments = counts["remaining"]
    obj.received_amounts = _received(payments)


def _with_wallet_figures(wallet: ReceiverWallet) -> ReceiverWallet:
    own = list(Payment.objects.filter(receiver_wallet=wallet).select_related("asset"))
    _give_figures(wallet, own, successful="payments_received")
    delivered = sorted(
        Message.objects.filter(
            receiver_wallet_id=wallet.pk,
            status="SUCCESS",
            kind=Message.Kind.RECEIVER_INVITATION,
        ).values_list("created_at", flat=True)
    )
    wallet.invited_at = delivered[0] if delivered else None
    wallet.last_message_sent_at = delivered[-1] if delivered else None
    return wallet


def _receiver_instance(pk) -> Receiver:
    receiver = Receiver.objects.prefetch_related(
        Prefetch(
            "wallets",
            ReceiverWallet.objects.select_related("wallet").order_by(
                "created_at", "id"
            ),
        ),
        Prefetch(
            "verifications",
            ReceiverVerification.objects.order_by("verification_field"),
        ),
    ).get(pk=pk)
    payments = list(Payment.objects.filter(receiver=receiver).select_related("asset"))
    _give_figures(receiver, payments, successful="successful_payments")
    wallets = receiver.wallets.all()
    receiver.registered_wallets = sum(1 for w in wallets if w.status == "REGISTERED")
    for wallet in wallets:
        _with_wallet_figures(wallet)
    return receiver


def _disbursement_instance(pk) -> Disbursement:
    disbursement = (
        Disbursement.objects.select_related("asset", "wallet", "created_by")
        .prefetch_related(
            "wallet__assets",
            Prefetch(
                "status_changes",
                DisbursementStatusChange.objects.order_by("created_at", "id"),
            ),
        )
        .get(pk=pk)
    )
    payments = list(Payment.objects.filter(disbursement=disbursement))
    counts = _counts(payments)
    disbursement.total_payments = counts["total"]
    disbursement.total_payments_sent = counts["successful"]
    disbursement.total_payments_failed = counts["failed"]
    disbursement.total_payments_canceled = counts["canceled"]
    disbursement.total_payments_remaining = counts["remaining"]
    total = sum((p.amount for p in payments), Decimal(0))
    disbursement.total_amount = total
    disbursement.amount_disbursed = sum(
        (p.amount for p in payments if p.status == "SUCCESS"), Decimal(0)
    )
    disbursement.average_amount = (
        (total / len(payments)).quantize(Decimal("1e-7"), ROUND_HALF_EVEN)
        if payments
        else Decimal(0)
    )
    starts = [c for c in disbursement.status_changes.all() if c.to_status == "STARTED"]
    disbursement.started_by = (
        User.objects.get(pk=starts[-1].actor_id)
        if starts and starts[-1].actor_id
        else None
    )
    return disbursement


def _payments_read():
    return Payment.objects.select_related(
        "asset", "disbursement", "receiver", "receiver_wallet__wallet"
    ).prefetch_related(
        Prefetch(
            "status_changes", PaymentStatusChange.objects.order_by("created_at", "id")
        )
    )


# --- a test per resource ------------------------------------------------------------


def test_disbursement(client, rows):
    declared = disbursement_schemas.DisbursementSerializer(
        _disbursement_instance(rows.disbursement.pk)
    )
    answered = _get(client, rows.owner, f"/disbursements/{rows.disbursement.pk}")
    assert_parity(declared, answered)
    listed = _get(client, rows.owner, "/disbursements")["data"]
    assert_parity(declared, listed[0])
    # what the rows hold, so that agreeing is not agreeing on nothing
    assert answered["total_payments"] == 3
    assert answered["average_amount"] == "5.9166667"
    assert answered["started_by"]["first_name"] == "Grace"
    assert [a["code"] for a in answered["wallet"]["assets"]] == ["USDC", "EURC"]


def test_payment(client, rows):
    for payment in (*rows.payments[:3], rows.direct):
        declared = disbursement_schemas.PaymentSerializer(
            _payments_read().get(pk=payment.pk)
        )
        answered = _get(client, rows.owner, f"/payments/{payment.pk}")
        assert_parity(declared, answered)
    assert "disbursement" not in answered  # the direct payment
    listed = _get(client, rows.owner, "/payments?page_limit=100")["data"]
    by_id = {
        p.pk: p for p in _payments_read().filter(organization=rows.direct.organization)
    }
    for item in listed:
        declared = disbursement_schemas.PaymentSerializer(by_id[UUID(item["id"])])
        assert_parity(declared, item)
    assert len(listed) == 4


def test_disbursement_receiver(client, rows):
    answered = _get(
        client, rows.owner, f"/disbursements/{rows.disbursement.pk}/receivers"
    )["data"]
    payments = _payments_read().filter(disbursement=rows.disbursement)
    declared = disbursement_schemas.DisbursementReceiver(
        payments.order_by("created_at", "id"), many=True
    )
    assert_parity(declared, answered)
    assert len(answered) == 3


def test_receiver(client, rows):
    for receiver in Receiver.objects.filter(organization=rows.receiver.organization):
        declared = receiver_schemas.ReceiverSerializer(_receiver_instance(receiver.pk))
        answered = _get(client, rows.owner, f"/receivers/{receiver.pk}")
        assert_parity(declared, answered)
    answered = _get(client, rows.owner, f"/receivers/{rows.receiver.pk}")
    assert answered["total_payments"] == "4"
    assert {a["asset_code"] for a in answered["received_amounts"]} == {"USDC", "EURC"}
    assert answered["wallets"][0]["invited_at"] is not None


def test_receiver_wallet(rows):
    tenant = SimpleNamespace(tenant=rows.receiver.organization)
    for wallet in ReceiverWallet.objects.filter(receiver=rows.receiver):
        response = receivers_api.receiver_wallet_response(tenant, wallet.pk)
        instance = _with_wallet_figures(
            ReceiverWallet.objects.select_related("wallet").get(pk=wallet.pk)
        )
        assert_parity(
            receiver_schemas.ReceiverWalletSerializer(instance),
            json.loads(response.content),
        )


def test_wallet_and_asset(client, rows):
    """Python-rendered routes (the declaration itself) and the SQL-written wallet
    and asset inside a disbursement (ASSET_TEXT, WALLET_MEMBERS)."""
    wallet = Wallet.objects.prefetch_related("assets").get(pk=rows.wallet.pk)
    answered = _get(client, rows.owner, f"/wallets/{wallet.pk}")
    assert_parity(auth_schemas.Wallet(wallet), answered)
    in_sql = _get(client, rows.owner, f"/disbursements/{rows.disbursement.pk}")
    assert_parity(auth_schemas.Wallet(wallet), in_sql["wallet"])
    asset = Asset.objects.get(pk=rows.disbursement.asset_id)
    assert_parity(auth_schemas.Asset(asset), in_sql["asset"])
    listed = _get(client, rows.owner, "/assets")
    assets = Asset.objects.filter(pk__in=[a["id"] for a in listed]).order_by(
        "code", "issuer"
    )
    assert_parity(auth_schemas.Asset(assets, many=True), listed)
    payment = _get(client, rows.owner, f"/payments/{rows.direct.pk}")
    assert_parity(auth_schemas.Asset(rows.direct.asset), payment["asset"])


def test_user_and_api_key(client, rows):
    users = _get(client, rows.owner, "/users")
    instances = {
        str(u.pk): u for u in User.objects.filter(organization=rows.owner.organization)
    }
    for item in users:
        assert_parity(auth_schemas.User(instances[item["id"]]), item)
    key, _ = create_api_key(
        rows.owner,
        name="parity",
        permissions=["read:all"],
        expiry_date=timezone.now() + timedelta(days=3),
    )
    listed = _get(client, rows.owner, "/api-keys")
    assert_parity(auth_schemas.APIKey(key.__class__.objects.get(pk=key.pk)), listed[0])


def test_statistics(client, rows):
    organization = rows.receiver.organization
    payments = list(
        Payment.objects.filter(organization=organization).select_related("asset")
    )
    counters = {s.lower(): 0 for s in Payment.Status.values}
    amounts: dict[str, dict[str, Decimal]] = {}
    for payment in payments:
        counters[payment.status.lower()] += 1
        of_asset = amounts.setdefault(
            payment.asset.code, {s.lower(): Decimal(0) for s in Payment.Status.values}
        )
        of_asset[payment.status.lower()] += payment.amount
    counters["total"] = len(payments)
    by_asset = []
    for code, figures in sorted(amounts.items()):
        count = sum(1 for p in payments if p.asset.code == code)
        total = sum(figures.values(), Decimal(0))
        by_asset.append(
            {
                "asset_code": code,
                "payment_amounts": {
                    **figures,
                    "average": (total / count).quantize(Decimal("1e-7")),
                    "total": total,
                },
            }
        )
    wallets = {s.lower(): 0 for s in ReceiverWallet.Status.values}
    for wallet in ReceiverWallet.objects.filter(organization=organization):
        wallets[wallet.status.lower()] += 1
    wallets["total"] = sum(wallets.values())
    figures = {
        "payment_counters": counters,
        "payment_amounts_by_asset": by_asset,
        "receiver_wallets_counters": wallets,
        "total_receivers": Receiver.objects.filter(organization=organization).count(),
        "total_disbursements": Disbursement.objects.filter(
            organization=organization
        ).count(),
    }
    answered = _get(client, rows.owner, "/statistics")
    assert_parity(disbursement_schemas.Statistics(figures), answered)
    assert answered["payment_counters"]["success"] == 2


def test_organization(client, rows):
    from auth_org.api import DEFAULT_TEMPLATES

    organization = Organization.objects.get(pk=rows.owner.organization_id)
    answered = _get(client, rows.owner, "/organization")
    # What is not a column, from the row and the settings, apart from the route.
    organization.logo_url = answered["logo_url"]
    organization.base_url = organization.base_url or settings.BASE_URL
    organization.receiver_invitation_resend_interval_days = (
        organization.receiver_invitation_resend_interval_days or 0
    )
    organization.payment_cancellation_period_days = (
        organization.payment_cancellation_period_days or 0
    )
    organization.privacy_policy_link = organization.privacy_policy_link or None
    organization.mfa_disabled = answered["mfa_disabled"]
    organization.captcha_disabled = answered["captcha_disabled"]
    organization.receiver_invitations_disabled = bool(
        organization.receiver_invitations_disabled
    )
    # The row's values, without the templates that are the default (shown only
    # when they are not).
    values = {
        name: getattr(organization, name)
        for name in auth_schemas.OrganizationSerializer().fields
        if hasattr(organization, name) and name not in DEFAULT_TEMPLATES
    }
    values |= {
        f.attname: getattr(organization, f.attname)
        for f in Organization._meta.concrete_fields
        if f.attname not in DEFAULT_TEMPLATES
    }
    for key, default in DEFAULT_TEMPLATES.items():
        if getattr(organization, key) != default:
            values[key] = getattr(organization, key)
    declared = auth_schemas.OrganizationSerializer(SimpleNamespace(**values))
    assert_parity(declared, answered)
    assert answered["name"] == organization.display_name
