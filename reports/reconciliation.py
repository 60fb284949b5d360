"""The daily reconciliation: our SUCCESS payments against the distribution
account's operations on the network, per tenant, asset and day.

Both sides are matched by transaction hash:
- a payment SUCCESS here whose transaction has no payment to it on the
  network: MISSING_ON_NETWORK; one whose amount, destination or memo differs
  from the network's: AMOUNT_DIFFERS, DESTINATION_DIFFERS, MEMO_DIFFERS;
- an outgoing payment on the network whose hash is a payment of ours that is
  not SUCCESS: NOT_SUCCESS_HERE; whose hash is none of ours: UNKNOWN_PAYMENT.

The network is read first, outside any transaction; the results are written in
one transaction that replaces the day's row and its differences, and the owners
are emailed when there are differences.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from auth_org.models import Asset, Organization, Role, User
from disbursements.models import Payment, PaymentStatusChange
from messaging.models import Message
from messaging.services import queue_message
from reports import ledger, matching
from reports.models import Difference, Reconciliation
from tss.models import SubmitterTransaction

logger = logging.getLogger(__name__)

# A payment's SUCCESS is recorded a moment after its ledger closed: a payment
# near midnight is matched against the network across this margin.
MARGIN = dt.timedelta(hours=1)


def utc_offset(organization: Organization) -> dt.timezone:
    raw = organization.timezone_utc_offset or "+00:00"
    try:
        sign = -1 if raw[0] == "-" else 1
        hours, minutes = raw.lstrip("+-").split(":")
        return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))
    except (ValueError, IndexError):
        return dt.UTC


def day_bounds(
    organization: Organization, day: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """The organization's ``day`` as [start, end) in its UTC offset."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=utc_offset(organization))
    return start, start + dt.timedelta(days=1)


def distribution_account(organization: Organization) -> str:
    if organization.distribution_account_address:
        return organization.distribution_account_address
    from tss import accounts

    return accounts.distribution_account_for(organization.pk)


@dataclass
class Found:
    payments_checked: int = 0
    operations_checked: int = 0
    differences: list[Difference] = field(default_factory=list)


def succeeded_in(organization, asset, start, end) -> list[Payment]:
    """Payments of ``asset`` SUCCESS now whose SUCCESS was recorded in [start, end)."""
    succeeded = (
        PaymentStatusChange.objects.filter(
            payment__organization=organization,
            payment__asset=asset,
            to_status=Payment.Status.SUCCESS,
        )
        .values("payment_id")
        .annotate(at=Max("created_at"))
        .filter(at__gte=start, at__lt=end)
        .values("payment_id")
    )
    return list(
        Payment.objects.filter(pk__in=succeeded, status=Payment.Status.SUCCESS)
        .select_related("receiver_wallet")
        .order_by("pk")
    )


def _expected_memos(payments) -> dict[str, tuple[str, str]]:
    """The memo each payment was sent with, as the TSS built it."""
    rows = SubmitterTransaction.objects.filter(
        external_id__in=[str(p.pk) for p in payments]
    ).values_list("external_id", "memo", "memo_type")
    return {external_id: (memo, memo_type) for external_id, memo, memo_type in rows}


def operation_indexes(hashes: dict[str, str]) -> dict[str, int]:
    """Payment id -> the index of its operation in its transaction, for the
    payments (id -> transaction hash) whose TSS record is of that transaction."""
    rows = SubmitterTransaction.objects.filter(
        external_id__in=list(hashes), operation_index__isnull=False
    ).values_list("external_id", "stellar_transaction_hash", "operation_index")
    return {
        external_id: index
        for external_id, tx_hash, index in rows
        if tx_hash and tx_hash == hashes.get(external_id)
    }


def _as_ours(payments, indexes: dict[int, int]) -> list[matching.Ours]:
    return [
        matching.Ours(
            key=p.pk,
            transaction_hash=p.stellar_transaction_id,
            destination=p.receiver_wallet.stellar_address or "",
            amount=p.amount,
            operation_index=indexes.get(str(p.pk)),
        )
        for p in payments
        if p.stellar_transaction_id
    ]


def _compare(
    organization: Organization,
    asset: Asset,
    start: dt.datetime,
    end: dt.datetime,
    network: list[ledger.NetworkPayment],
) -> Found:
    found = Found()
    ours = succeeded_in(organization, asset, start, end)
    found.payments_checked = len(ours)
    ours_ids = {p.pk for p in ours}
    # Every payment in the transactions at hand, of any tenant and status: a
    # tenant paying from the shared host account (SDP's ENV distribution
    # account) shares it with the other such tenants, and a payment not
    # SUCCESS here may have been paid on the network.
    hashes = {op.transaction_hash for op in network} | {
        p.stellar_transaction_id for p in ours if p.stellar_transaction_id
    }
    others = list(
        Payment.objects.filter(
            stellar_transaction_id__in=hashes,
            asset__code=asset.code,
            asset__issuer=asset.issuer,
        )
        .exclude(pk__in=ours_ids)
        .select_related("receiver_wallet")
    )
    everyone = {p.pk: p for p in [*ours, *others]}
    ops = {op.operation_id: op for op in network}
    paired = matching.pair(
        [
            matching.Op(op.operation_id, op.transaction_hash, op.destination, op.amount)
            for op in network
        ],
        _as_ours(
            everyone.values(),
            operation_indexes(
                {str(p.pk): p.stellar_transaction_id for p in everyone.values()}
            ),
        ),
    )
    op_of = {payment_id: ops[op_id] for op_id, payment_id in paired.items()}
    memos = _expected_memos(ours)
    for payment in ours:
        destination = payment.receiver_wallet.stellar_address or ""
        tx_hash = payment.stellar_transaction_id
        base = {
            "payment_id": payment.pk,
            "transaction_hash": tx_hash,
            "our_amount": payment.amount,
            "our_destination": destination,
        }
        op = op_of.get(payment.pk)
        if op is None:
            found.differences.append(
                Difference(
                    kind=Difference.Kind.MISSING_ON_NETWORK,
                    detail="no payment of the distribution account in this "
                    "transaction on the network is this payment",
                    **base,
                )
            )
            continue
        net = {
            "operation_id": op.operation_id,
            "network_amount": op.amount,
            "network_destination": op.destination,
        }
        if op.destination != destination:
            found.differences.append(
                Difference(kind=Difference.Kind.DESTINATION_DIFFERS, **base, **net)
            )
        if op.amount != payment.amount:
            found.differences.append(
                Difference(kind=Difference.Kind.AMOUNT_DIFFERS, **base, **net)
            )
        memo, memo_type = memos.get(str(payment.pk), ("", ""))
        if memo and (op.memo, op.memo_type) != (memo, memo_type):
            found.differences.append(
                Difference(
                    kind=Difference.Kind.MEMO_DIFFERS,
                    detail=f"ours {memo_type}:{memo}, network {op.memo_type}:{op.memo}",
                    **base,
                    **net,
                )
            )
    in_day = [op for op in network if start <= op.at < end]
    found.operations_checked = len(in_day)
    tenants_of = {}
    for p in everyone.values():
        tenants_of.setdefault(p.stellar_transaction_id, set()).add(p.organization_id)
    for op in in_day:
        payment_id = paired.get(op.operation_id)
        payment = everyone[payment_id] if payment_id is not None else None
        if payment is not None and (
            payment.pk in ours_ids or payment.organization_id != organization.pk
        ):
            continue  # checked above, or another tenant's
        net = {
            "transaction_hash": op.transaction_hash,
            "operation_id": op.operation_id,
            "network_amount": op.amount,
            "network_destination": op.destination,
        }
        if payment is None:
            tenants = tenants_of.get(op.transaction_hash, set())
            if tenants and organization.pk not in tenants:
                continue  # in another tenant's transaction: theirs to report
            found.differences.append(
                Difference(
                    kind=Difference.Kind.UNKNOWN_PAYMENT,
                    detail="an outgoing payment no payment of ours made",
                    **net,
                )
            )
        elif payment.status != Payment.Status.SUCCESS:
            found.differences.append(
                Difference(
                    kind=Difference.Kind.NOT_SUCCESS_HERE,
                    payment_id=payment.pk,
                    our_amount=payment.amount,
                    detail=f"paid on the network, {payment.status} here",
                    **net,
                )
            )
        # a SUCCESS payment whose SUCCESS falls on another day is checked there
    return found


def reconcile(organization: Organization, day: dt.date) -> list[Reconciliation]:
    """Reconcile every asset of ``organization`` for ``day``; the rows written."""
    account = distribution_account(organization)
    start, end = day_bounds(organization, day)
    # The network first, outside any transaction: from the margin before the day.
    records = ledger.operations_since(account, start - MARGIN)
    results = []
    for asset in Asset.objects.filter(
        organization=organization, deleted_at__isnull=True
    ):
        network = ledger.outgoing_payments(records, account, (asset.code, asset.issuer))
        found = _compare(organization, asset, start, end, network)
        results.append(_store(organization, asset, day, account, found))
    differences = [d for r in results for d in r.differences.all()]
    if differences:
        _email_owners(organization, day, differences)
    return results


def _store(organization, asset, day, account, found: Found) -> Reconciliation:
    with transaction.atomic():
        row, _created = Reconciliation.objects.update_or_create(
            organization=organization,
            asset=asset,
            date=day,
            defaults={
                "distribution_account": account,
                "payments_checked": found.payments_checked,
                "operations_checked": found.operations_checked,
            },
        )
        row.differences.all().delete()
        for difference in found.differences:
            difference.reconciliation = row
        Difference.objects.bulk_create(found.differences)
    if found.differences:
        logger.warning(
            "reconciliation of %s %s on %s: %d differences",
            organization.name,
            asset.code,
            day,
            len(found.differences),
        )
    return row


def _email_owners(organization: Organization, day: dt.date, differences) -> None:
    lines = [
        f"- {d.kind}: payment {d.payment_id or '-'}, transaction "
        f"{d.transaction_hash or '-'}, ours {d.our_amount} to "
        f"{d.our_destination or '-'}, network {d.network_amount} to "
        f"{d.network_destination or '-'}"
        for d in differences
    ]
    body = (
        f"The reconciliation of {organization.display_name or organization.name} "
        f"for {day.isoformat()} found {len(differences)} difference(s) between the "
        "platform's payments and the Stellar network:\n\n" + "\n".join(lines)
    )
    owners = User.objects.filter(
        organization=organization, is_active=True, roles__contains=[Role.OWNER]
    )
    with transaction.atomic():
        for owner in owners:
            queue_message(
                tenant_id=organization.pk,
                kind=Message.Kind.RECONCILIATION_DIFFERENCES,
                channel=Message.Channel.EMAIL,
                recipient=owner.email,
                title=f"Reconciliation {day.isoformat()}: "
                f"{len(differences)} difference(s)",
                body=body,
                user_id=owner.pk,
            )
