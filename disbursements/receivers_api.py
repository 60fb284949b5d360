"""The dashboard's receivers as JSON, with their payment figures.

A receiver's JSON carries counters and received amounts read from the payments,
which belong to this app, a layer above receivers. So the reads that join them
live here, and the receivers routes that answer with a receiver are routed to
this module's views: receivers.api's views, given the JSON written here
(``ReceiverFigures``). receivers' own code reads no payment.
"""

from __future__ import annotations

import functools

from django.http import HttpResponse
from rest_framework.request import Request

from auth_org.catalog_api import WALLET_MEMBERS
from auth_org.models import Asset, Wallet
from core import jsontext as jt
from core import sqljson
from core.sqljson import table
from disbursements import selectors
from messaging.models import Message
from receivers import api
from receivers.models import Receiver, ReceiverVerification, ReceiverWallet

# A receiver and its wallets as the dashboard reads them, JSON written by
# PostgreSQL (core.jsontext: joined text, as json_build_object would write it,
# cheaper), with their payment figures (disbursements.selectors' subqueries).
# The text is built on first use.
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
    f"{table(ReceiverVerification)} v WHERE v.receiver_id = r.id",
    "v.verification_field",
)


def _figures_joins(receiver_id: str) -> str:
    """The payment figures of the receiver whose id is the SQL ``receiver_id``
    (alias ``rf``, selectors.payment_figures_sql) and the asset of its received
    amounts if they have one (``ra``)."""
    figures = selectors.payment_figures_sql("receiver_id", receiver_id)
    return (
        f"CROSS JOIN LATERAL {figures} rf"
        f" LEFT JOIN {table(Asset)} ra ON ra.id = rf.received_asset_id"
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
    source = selectors.received_sql(column, key)
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
            return jt.quoted(f"{figures}.{name}::bigint" if figures else "0")

        return jt.members(
            total_payments=count("total"),
            payments_received=count("successful"),
            failed_payments=count("failed"),
            canceled_payments=count("canceled"),
            remaining_payments=count("remaining"),
        )

    own = selectors.payment_figures_sql("receiver_wallet_id", "rw.id")
    return (
        f"CASE WHEN rf.receiver_wallet_id = rw.id THEN {counters('rf')}"  # noqa: S608
        f" WHEN rf.receiver_wallet_id <> rw.id OR rf.total = 0 THEN {counters()}"
        f" ELSE (SELECT {counters('own')} FROM {own} own) END"
    )


# A receiver wallet's (alias ``rw``) invitations delivered, as SDP reads them
# from its messages: the first (invited_at) and the last (last_message_sent_at).
MESSAGES_JOIN = (
    "CROSS JOIN LATERAL (SELECT min(m.created_at) AS first_at,"  # noqa: S608
    f" max(m.created_at) AS last_at FROM {table(Message)} m"
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
            id=jt.quoted("rw.id::uuid"),
            receiver=jt.obj(id=jt.quoted("rw.receiver_id::uuid")),
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
        f"JOIN {table(Wallet)} w ON w.id = rw.wallet_id {MESSAGES_JOIN}"
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
        f" FROM {table(ReceiverWallet)} rw"
        f" JOIN {table(Wallet)} w ON w.id = rw.wallet_id {MESSAGES_JOIN}"
        " WHERE rw.receiver_id = r.id) ws"
    )
    element = jt.obj(
        id=jt.quoted("r.id::uuid"),
        email=jt.string("coalesce(r.email, '')"),
        phone_number=jt.string("coalesce(r.phone_number, '')"),
        external_id=jt.string("r.external_id"),
        created_at=jt.iso("r.created_at"),
        updated_at=jt.iso("r.updated_at"),
        total_payments=jt.quoted("rf.total::bigint"),
        successful_payments=jt.quoted("rf.successful::bigint"),
        failed_payments=jt.quoted("rf.failed::bigint"),
        canceled_payments=jt.quoted("rf.canceled::bigint"),
        remaining_payments=jt.quoted("rf.remaining::bigint"),
        registered_wallets=jt.quoted("ws.registered::bigint"),
        received_amounts=_received_sql("receiver_id", "r.id", issuer=True),
        wallets="coalesce(ws.list, '[]')",
        verifications=VERIFICATIONS_SQL,
    )
    return element, f"{_figures_joins('r.id')} {wallets}"


def receiver_response(request: Request, pk, status: int = 200) -> HttpResponse:
    element, joins = receiver_sql()
    return sqljson.one_response(
        element,
        f"{table(Receiver)} r {joins}",
        request.tenant.pk,
        pk,
        missing="receiver not found",
        status=status,
    )


def receiver_wallet_response(request: Request, pk) -> HttpResponse:
    element, joins = receiver_wallet_sql()
    return sqljson.one_response(
        element,
        f"{table(ReceiverWallet)} rw {joins}",
        request.tenant.pk,
        pk,
        missing="receiver wallet not found",
    )


class ReceiverFigures:
    """receivers.api's ReceiverJSON, filled in: the receiver's JSON above."""

    receiver_sql = staticmethod(receiver_sql)
    receiver_response = staticmethod(receiver_response)
    receiver_wallet_response = staticmethod(receiver_wallet_response)


class ReceiversView(ReceiverFigures, api.ReceiversView):
    pass


class ReceiverView(ReceiverFigures, api.ReceiverView):
    pass


class ReceiverWalletAddressView(ReceiverFigures, api.ReceiverWalletAddressView):
    pass
