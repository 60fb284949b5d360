"""The account statement: the distribution account's movements in one asset
over a period, read from the network, with our payments' receivers and
disbursements beside them.

Balances are the network's: the closing balance is today's balance less the
movements after the period, the opening balance the closing one less the
period's movements. Our own sum of SUCCESS payments is shown beside the
network's payments out; where they disagree the statement says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from auth_org.models import Asset, Organization
from disbursements.models import Payment
from reports import ledger, matching
from reports.reconciliation import (
    distribution_account,
    operation_indexes,
    succeeded_in,
    utc_offset,
)

KIND_LABELS = {
    "payment_out": "Payment",
    "funding": "Funding",
    "account_created": "Account created",
    "account_funded": "Account funded",
    "fee": "Network fee",
    "trustline": "Trustline",
    "trustline_removed": "Trustline removed",
}


@dataclass
class Line:
    at: dt.datetime
    kind: str
    amount: Decimal
    transaction_hash: str
    counterparty: str
    receiver_external_id: str = ""
    disbursement: str = ""
    payment_id: str = ""

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class Statement:
    organization: Organization
    asset: Asset
    account: str
    start: dt.date
    end: dt.date
    opening: Decimal | None
    closing: Decimal | None
    lines: list[Line] = field(default_factory=list)
    total_in: Decimal = Decimal(0)
    total_out: Decimal = Decimal(0)
    total_fees: Decimal = Decimal(0)
    network_payments_out: Decimal = Decimal(0)
    our_payments_out: Decimal = Decimal(0)
    generated_at: dt.datetime | None = None

    @property
    def disagrees(self) -> bool:
        return self.network_payments_out != self.our_payments_out

    @property
    def asset_label(self) -> str:
        return self.asset.code


def bounds(
    organization, start: dt.date, end: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in the organization's UTC offset."""
    tz = utc_offset(organization)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def build(
    organization: Organization, asset: Asset, start: dt.date, end: dt.date
) -> Statement:
    """The statement of ``asset`` from ``start`` to ``end`` (both included).
    Reads the network before the database; writes nothing."""
    account = distribution_account(organization)
    key = (asset.code, asset.issuer)
    since, _until = bounds(organization, start, end)
    now_balance = ledger.balance(account, key)
    records = ledger.operations_since(account, since)
    moves = ledger.movements(records, account, key)
    return assemble(organization, asset, account, start, end, now_balance, moves)


def assemble(organization, asset, account, start, end, now_balance, moves) -> Statement:
    since, until = bounds(organization, start, end)
    in_period = [m for m in moves if since <= m.at < until]
    after = sum((m.amount for m in moves if m.at >= until), Decimal(0))
    closing = None if now_balance is None else now_balance - after
    net = sum((m.amount for m in in_period), Decimal(0))
    opening = None if closing is None else closing - net
    ours = _payments_of(
        organization, asset, [m for m in in_period if m.kind == "payment_out"]
    )
    tz = utc_offset(organization)
    statement = Statement(
        organization=organization,
        asset=asset,
        account=account,
        start=start,
        end=end,
        opening=opening,
        closing=closing,
        generated_at=dt.datetime.now(tz),
    )
    for m in in_period:
        payment = ours.get(m.operation_id)
        statement.lines.append(
            Line(
                at=m.at.astimezone(tz),
                kind=m.kind,
                amount=m.amount,
                transaction_hash=m.transaction_hash,
                counterparty=m.counterparty,
                receiver_external_id=payment["receiver__external_id"]
                if payment
                else "",
                disbursement=(payment["disbursement__name"] or "") if payment else "",
                payment_id=str(payment["id"]) if payment else "",
            )
        )
        if m.kind == "fee":
            statement.total_fees -= m.amount
        elif m.amount > 0:
            statement.total_in += m.amount
        else:
            statement.total_out -= m.amount
        if m.kind == "payment_out":
            statement.network_payments_out -= m.amount
    # Our side: what we call SUCCESS in the period, whatever the network says.
    statement.our_payments_out = sum(
        (p.amount for p in succeeded_in(organization, asset, since, until)),
        Decimal(0),
    )
    return statement


def _payments_of(organization, asset, paid: list[ledger.Movement]) -> dict[str, dict]:
    """Operation id -> our payment it is (a transaction of the TSS carries
    several payments: they are paired operation by operation)."""
    rows = {
        r["id"]: r
        for r in Payment.objects.filter(
            organization=organization,
            asset=asset,
            stellar_transaction_id__in={m.transaction_hash for m in paid},
        ).values(
            "id",
            "amount",
            "stellar_transaction_id",
            "receiver_wallet__stellar_address",
            "receiver__external_id",
            "disbursement__name",
        )
    }
    indexes = operation_indexes(
        {str(pk): r["stellar_transaction_id"] for pk, r in rows.items()}
    )
    paired = matching.pair(
        [
            matching.Op(m.operation_id, m.transaction_hash, m.counterparty, -m.amount)
            for m in paid
        ],
        [
            matching.Ours(
                key=pk,
                transaction_hash=r["stellar_transaction_id"],
                destination=r["receiver_wallet__stellar_address"] or "",
                amount=r["amount"],
                operation_index=indexes.get(str(pk)),
            )
            for pk, r in rows.items()
        ],
    )
    return {op_id: rows[pk] for op_id, pk in paired.items()}
