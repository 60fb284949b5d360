"""Webhook events of receivers and receiver wallets (webhooks.events), written
in the caller's transaction by one statement for any number of rows.

The objects are the dashboard's receiver and receiver wallet without their
payment figures: those belong to disbursements, a layer above, and reach
webhooks as payment events."""

from __future__ import annotations

from collections.abc import Iterable

from auth_org.catalog_api import WALLET_MEMBERS
from auth_org.models import Wallet
from core import jsontext as jt
from core.sqljson import table
from receivers.models import Receiver, ReceiverWallet
from webhooks.events import emit_sql

RECEIVER_SQL = jt.obj(
    id=jt.quoted("r.id::uuid"),
    email=jt.string("coalesce(r.email, '')"),
    phone_number=jt.string("coalesce(r.phone_number, '')"),
    external_id=jt.string("r.external_id"),
    created_at=jt.iso("r.created_at"),
    updated_at=jt.iso("r.updated_at"),
)
RECEIVER_WALLET_SQL = jt.obj(
    id=jt.quoted("rw.id::uuid"),
    receiver=jt.obj(id=jt.quoted("rw.receiver_id::uuid")),
    wallet=jt.join(WALLET_MEMBERS),
    status=jt.string("rw.status"),
    stellar_address=jt.string("coalesce(rw.stellar_address, '')"),
    stellar_memo=jt.string("rw.stellar_memo"),
    stellar_memo_type=jt.string("rw.stellar_memo_type"),
    created_at=jt.iso("rw.created_at"),
    updated_at=jt.iso("rw.updated_at"),
    invitation_sent_at=jt.iso("rw.invitation_sent_at"),
    otp_confirmed_at=jt.iso("rw.otp_confirmed_at"),
)


def emit_receivers(event_type: str, receiver_pks: Iterable) -> int:
    pks = [str(pk) for pk in receiver_pks]
    if not pks:
        return 0
    return emit_sql(
        event_type,
        f"SELECT r.organization_id, r.id, {RECEIVER_SQL}"  # noqa: S608
        f" FROM {table(Receiver)} r WHERE r.id = ANY(%s::uuid[])",
        [pks],
    )


def emit_receiver_wallets(event_type: str, receiver_wallet_pks: Iterable) -> int:
    pks = [str(pk) for pk in receiver_wallet_pks]
    if not pks:
        return 0
    return emit_sql(
        event_type,
        f"SELECT rw.organization_id, rw.id, {RECEIVER_WALLET_SQL}"  # noqa: S608
        f" FROM {table(ReceiverWallet)} rw"
        f" JOIN {table(Wallet)} w ON w.id = rw.wallet_id"
        " WHERE rw.id = ANY(%s::uuid[])",
        [pks],
    )


def emit_receivers_in(event_type: str, ids_sql: str, params: list | tuple = ()) -> int:
    """As emit_receivers, for the receivers whose ids ``ids_sql`` selects (a
    bulk write's staging table): no id list is held in memory."""
    return emit_sql(
        event_type,
        f"SELECT r.organization_id, r.id, {RECEIVER_SQL}"  # noqa: S608
        f" FROM {table(Receiver)} r WHERE r.id IN ({ids_sql})",
        params,
    )


def emit_receiver_wallets_in(
    event_type: str, ids_sql: str, params: list | tuple = ()
) -> int:
    """As emit_receiver_wallets, for the wallets whose ids ``ids_sql`` selects."""
    return emit_sql(
        event_type,
        f"SELECT rw.organization_id, rw.id, {RECEIVER_WALLET_SQL}"  # noqa: S608
        f" FROM {table(ReceiverWallet)} rw"
        f" JOIN {table(Wallet)} w ON w.id = rw.wallet_id"
        f" WHERE rw.id IN ({ids_sql})",
        params,
    )
