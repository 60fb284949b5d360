"""Questions from the layers below, answered by refusing (APIError) what
receivers' rows forbid: a wallet is not deleted while receivers are still being
invited to it (receiver wallets DRAFT or READY)."""

from __future__ import annotations

from core.api import APIError
from receivers.models import ReceiverWallet

INVITING = (ReceiverWallet.Status.DRAFT, ReceiverWallet.Status.READY)


def refuse_deleting_wallet_in_use(sender, organization, wallet, **kwargs) -> None:
    if ReceiverWallet.objects.filter(wallet=wallet, status__in=INVITING).exists():
        raise APIError(
            "the wallet has receivers who are still being invited (DRAFT or READY)"
        )


def connect() -> None:
    from auth_org.signals import wallet_deleting

    wallet_deleting.connect(
        refuse_deleting_wallet_in_use, dispatch_uid="receivers.wallet_in_use"
    )
