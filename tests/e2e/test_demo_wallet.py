"""manage.py demo_wallet against a live server, a real worker and the localnet:
the recipient's wallet registers over HTTP and sees the payment land."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from disbursements.handoff import tracing_memo
from disbursements.models import Disbursement, Payment
from messaging.models import Message
from receivers.invitations import queue_invitations
from receivers.models import ReceiverWallet
from tests.e2e.conftest import write_phone_csv
from tests.factories import DisbursementFactory, PaymentFactory
from tests.receivers.conftest import DATE_OF_BIRTH, make_ready_receiver
from tests.tss.conftest import payments_on_ledger

PHONE = "+14155550142"

pytestmark = pytest.mark.django_db(transaction=True)


def _invited_receiver(tenant, amount: Decimal, phone: str = PHONE) -> Payment:
    """A started disbursement with one READY payment, and its invitation."""
    organization = tenant.organization
    disbursement = DisbursementFactory(
        organization=organization,
        asset=tenant.usdc,
        wallet=tenant.wallet,
        status=Disbursement.Status.STARTED,
    )
    receiver_wallet = make_ready_receiver(organization, tenant.wallet, phone=phone)
    payment = PaymentFactory(
        disbursement=disbursement,
        receiver_wallet=receiver_wallet,
        status=Payment.Status.READY,
        amount=amount,
    )
    assert queue_invitations(organization, [receiver_wallet], asset=tenant.usdc) == 1
    return payment


def _link_sent_to(phone: str) -> str:
    body = Message.objects.get(
        kind=Message.Kind.RECEIVER_INVITATION, recipient=phone
    ).body
    return re.search(r"https?://\S+/r/\w+", body).group(0)


def _command(live_server, tenant, csv_path, *extra) -> str:
    out = StringIO()
    call_command(
        "demo_wallet",
        "--base-url",
        live_server.url,
        "--tenant",
        tenant.name,
        "--csv",
        str(csv_path),
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_demo_wallet_registers_and_sees_the_payment(
    journey_tenant, live_server, tss_worker, network, tmp_path, settings
):
    # As `make demo` runs the platform: no client attribution.
    settings.SEP10_CLIENT_ATTRIBUTION_REQUIRED = False
    started = timezone.now()
    payment = _invited_receiver(journey_tenant, Decimal("3.2500000"))
    csv_path = write_phone_csv(
        tmp_path / "receivers.csv",
        [
            {"phone": "+14155550100", "id": "r-0", "amount": "1", "verification": "x"},
            {
                "phone": PHONE,
                "id": "r-1",
                "amount": "3.25",
                "verification": DATE_OF_BIRTH,
            },
        ],
    )
    link = _link_sent_to(PHONE)

    output = _command(
        live_server,
        journey_tenant,
        csv_path,
        "--invite",
        link,  # the short link from the invitation text
        "--wait",
        "--wait-timeout",
        "60",
    )

    found = re.search(r"paid (\S+) USDC in transaction ([0-9a-f]{64})", output)
    assert found, output
    assert "invitation link found; its signature checks out" in output
    assert "SEP-10: authenticated\n" in output  # no client domain
    # The ledger shows the payment a moment before the worker records it.
    deadline = time.monotonic() + 15
    while payment.status != Payment.Status.SUCCESS and time.monotonic() < deadline:
        time.sleep(0.2)
        payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCESS
    assert payment.stellar_transaction_id == found.group(2)
    receiver_wallet = payment.receiver_wallet
    receiver_wallet.refresh_from_db()
    assert receiver_wallet.status == ReceiverWallet.Status.REGISTERED
    # What the ledger itself says, not what the command printed.
    on_ledger = payments_on_ledger(
        network, receiver_wallet.stellar_address, journey_tenant.distribution_address
    )
    assert [
        (p["amount"], p["asset_code"], p["transaction_hash"]) for p in on_ledger
    ] == [("3.2500000", "USDC", found.group(2))]
    memo = tracing_memo(journey_tenant.organization.base_url)
    assert f"memo: {memo} (text)" in output
    status, transaction = network.request("GET", f"/transactions/{found.group(2)}")
    assert status == 200
    assert transaction["memo"] == memo
    assert (timezone.now() - started).total_seconds() < 60


def test_demo_wallet_says_which_step_failed(
    journey_tenant, live_server, wallet_domain, tmp_path, settings
):
    # One phone goes through the pages three times in a few seconds.
    settings.OTP_SEND_MIN_INTERVAL_SECONDS = 0
    _invited_receiver(journey_tenant, Decimal("1"))
    _invited_receiver(journey_tenant, Decimal("2"), phone="+14155550143")
    csv_path = write_phone_csv(
        tmp_path / "receivers.csv",
        [{"phone": PHONE, "id": "r-1", "amount": "1", "verification": "1980-01-01"}],
    )
    secret = ("--client-domain-secret", wallet_domain.keypair.secret)

    with pytest.raises(CommandError, match="requires client attribution"):
        _command(live_server, journey_tenant, csv_path, "--invite", PHONE)
    with pytest.raises(
        CommandError, match=r"registration verify: .*could not be found"
    ):
        _command(live_server, journey_tenant, csv_path, "--invite", PHONE, *secret)
    with pytest.raises(CommandError, match="has no row with that phone"):
        _command(
            live_server, journey_tenant, csv_path, "--invite", "+14155550199", *secret
        )

    link = _link_sent_to(PHONE)
    with pytest.raises(CommandError, match="this link went to 2 receivers"):
        _command(live_server, journey_tenant, csv_path, "--invite", link, *secret)
    with pytest.raises(
        CommandError, match=r"registration verify: .*could not be found"
    ):
        _command(
            live_server,
            journey_tenant,
            csv_path,
            *("--invite", link, "--contact", PHONE),
            *secret,
        )
