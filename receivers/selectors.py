"""Reads of receivers for the dashboard.

Payment figures (counters, received amounts, payments in flight) live a layer
above, in disbursements. Rather than import upward, receivers asks a reader that
disbursements installs at start-up (``disbursements.apps``): ``PAYMENT_READS``.
"""

from __future__ import annotations

from typing import Protocol

from django.db.models import Q, QuerySet

from auth_org.models import Organization
from receivers.models import Receiver, ReceiverWallet
from sdp.ids import prefix_range
from sdp.listing import date_range, ordering, statuses


class PaymentReads(Protocol):
    # SQL subqueries over the payments whose ``column`` ("receiver_id" or
    # "receiver_wallet_id") equals the SQL ``key`` (e.g. "r.id"), to join
    # LATERAL. figures_sql: one row (total, successful, failed, canceled,
    # remaining; received: the successful ones' amounts summed;
    # received_asset_id: their asset if they share one, else NULL (NULL may
    # also mean "ask received_sql"); receiver_wallet_id: the payments' wallet
    # if they share one). received_sql: a row per asset of the successful ones
    # (asset_code, asset_issuer, amount).
    def figures_sql(self, column: str, key: str) -> str: ...

    def received_sql(self, column: str, key: str) -> str: ...

    def has_payments_in_flight(self, receiver_wallet_id) -> bool: ...


PAYMENT_READS: PaymentReads | None = None


def payment_reads() -> PaymentReads:
    if PAYMENT_READS is None:
        raise RuntimeError("disbursements is not installed: no payment reads")
    return PAYMENT_READS


def receivers_for(organization: Organization, params) -> QuerySet[Receiver]:
    queryset = Receiver.objects.filter(organization=organization)
    if values := statuses(params, ReceiverWallet.Status.values):
        queryset = queryset.filter(
            pk__in=ReceiverWallet.objects.filter(
                organization=organization, status__in=values
            ).values("receiver_id")
        )
    if q := params.get("q"):
        match = (
            Q(external_id__icontains=q)
            | Q(phone_number__icontains=q)
            | Q(email__icontains=q)
        )
        # SDP matches part of an id (r.id ILIKE); here its start, as a range
        # of the primary key.
        if (keys := prefix_range(q)) is not None:
            match |= Q(pk__range=keys)
        queryset = queryset.filter(match)
    queryset = date_range(queryset, params)
    return queryset.order_by(
        *ordering(
            params,
            {"created_at": "created_at", "updated_at": "updated_at"},
            "updated_at",
        )
    )


def registration_contact_kinds(sep24_transaction) -> list[str]:
    """Which contact the registration page asks for ("phone", "email"), the one
    to show first at the front: the contacts that receivers waiting at this
    wallet provider have (their disbursement's registration contact type put
    them there). Says nothing about any one receiver. With none waiting, both,
    phone first, so the page does not tell that nobody is expected."""
    wallet_rules = {
        "wallets__status": ReceiverWallet.Status.READY,
        "wallets__wallet__enabled": True,
        "wallets__wallet__deleted_at__isnull": True,
    }
    if sep24_transaction.client_domain:
        wallet_rules["wallets__wallet__sep_10_client_domain"] = (
            sep24_transaction.client_domain
        )
    # One filter() call: the rules hold for the same wallet row.
    waiting = Receiver.objects.filter(
        organization_id=sep24_transaction.organization_id, **wallet_rules
    )
    kinds = [
        kind
        for kind, column in (("phone", "phone_number"), ("email", "email"))
        if waiting.exclude(**{f"{column}__isnull": True})
        .exclude(**{column: ""})
        .exists()
    ]
    return kinds or ["phone", "email"]
