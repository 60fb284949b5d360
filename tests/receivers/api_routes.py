"""Receivers routes in the role matrix and tenant isolation suites."""

from __future__ import annotations

from auth_org.models import Role
from auth_org.permissions import ALL, BIZ, OWNER_FC
from tests.api_matrix import Route, register, register_object
from tests.factories import ReceiverFactory, ReceiverWalletFactory, WalletFactory

WRITE = OWNER_FC | {Role.APPROVER, Role.INITIATOR}


@register_object("receiver")
def make_receiver(organization, user) -> str:
    return str(ReceiverFactory(organization=organization).pk)


@register_object("receiver_wallet")
def make_receiver_wallet(organization, user) -> str:
    return str(
        ReceiverWalletFactory(receiver__organization=organization, status="DRAFT").pk
    )


@register_object("managed")
def make_managed_receiver(organization, user) -> str:
    return str(ReceiverFactory(organization=organization).pk)


@register_object("managed_wallet")
def make_managed_wallet(organization, user) -> str:
    receiver = ReceiverFactory(organization=organization, phone_number=None,
                               email=f"m-{organization.pk}@example.org")  # fmt: skip
    wallet = WalletFactory(organization=organization, user_managed=True)
    return str(ReceiverWalletFactory(receiver=receiver, wallet=wallet).pk)


register(
    Route("GET", "receivers", BIZ, "read:receivers"),
    Route(
        "POST",
        "receivers",
        WRITE,
        "write:receivers",
        body={"external_id": "x", "verifications": []},
    ),
    Route("GET", "receivers/{receiver}", BIZ, "read:receivers"),
    Route(
        "PATCH",
        "receivers/{receiver}",
        WRITE,
        "write:receivers",
        body={"external_id": "renamed"},
    ),
    Route(
        "PATCH",
        "receivers/{receiver}/wallets/{receiver_wallet}",
        WRITE,
        "write:receivers",
        body={"stellar_address": "GBAD"},
    ),
    Route("PATCH", "receivers/wallets/{receiver_wallet}", WRITE, "write:receivers"),
    Route(
        "PATCH",
        "receivers/wallets/{receiver_wallet}/status",
        WRITE,
        "write:receivers",
        body={"status": "READY"},
    ),
    Route("GET", "receivers/verification-types", ALL, "read:receivers"),
    Route("GET", "registration-contact-types", ALL, "read:all"),
)
