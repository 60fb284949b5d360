"""make demo: the banner's "pay someone" names a receiver still unpaid after a
restart (or adds one), and the terminal shows a line per invitation sent,
payment submitted and payment confirmed."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from auth_org.models import Organization
from disbursements.models import Disbursement, Payment
from messaging.models import Message
from sdp.management.commands.demo import Activity, Command
from tests.factories import MessageFactory, PaymentFactory
from tss import horizon

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(tmp_path, settings, localnet):
    settings.BASE_DIR = tmp_path  # the sample CSV goes to tmp_path/.sdp/demo
    settings.HORIZON_URL = localnet.url
    settings.NETWORK_PASSPHRASE = localnet.passphrase
    horizon.forget_ledger()
    call_command("demo", "--no-serve")
    organization = Organization.objects.get(name="demo")
    command = Command(stdout=io.StringIO())
    command.seed_network(organization, localnet.url)  # as the demo does
    csv_path = command.write_sample_csv()
    command.start_sample_disbursement(organization, csv_path)
    return command, organization, csv_path


def _pay(organization, phone=None):
    payments = Payment.objects.filter(organization=organization)
    if phone:
        payments = payments.filter(receiver__phone_number=phone)
    payments.update(status=Payment.Status.SUCCESS)


def test_the_banner_names_a_receiver_still_unpaid(demo):
    command, organization, csv_path = demo
    assert command.unpaid_receiver(organization, csv_path) == "+14155550101"
    _pay(organization, "+14155550101")  # paid before a restart
    assert command.unpaid_receiver(organization, csv_path) == "+14155550102"


def test_when_all_are_paid_a_new_receiver_is_added_and_kept(demo):
    command, organization, csv_path = demo
    _pay(organization)
    phone = command.unpaid_receiver(organization, csv_path)
    assert phone not in {"+14155550101", "+14155550102", "+14155550103"}
    payment = Payment.objects.get(receiver__phone_number=phone)
    assert payment.status == Payment.Status.READY
    assert payment.disbursement.status == Disbursement.Status.STARTED
    # demo_wallet reads the verification value from the CSV, which keeps the
    # new row across restarts; the next start names the same receiver.
    command.write_sample_csv()
    with csv_path.open(newline="") as handle:
        assert phone in {row["phone"] for row in csv.DictReader(handle)}
    assert command.unpaid_receiver(organization, csv_path) == phone
    assert Payment.objects.filter(receiver__phone_number=phone).count() == 1


def test_the_terminal_shows_invitations_and_payments_once_each(demo):
    _, organization, _ = demo
    out = io.StringIO()
    activity = Activity(organization, out)
    activity.poll()
    assert out.getvalue() == ""  # what was done before is not repeated
    MessageFactory(tenant_id=organization.id, recipient="+14155550177",
                   status=Message.Status.SUCCESS)  # fmt: skip
    payment = PaymentFactory(
        disbursement=Disbursement.objects.get(organization=organization),
        amount="2.5",
        status=Payment.Status.PENDING,
    )
    activity.poll()
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.SUCCESS, stellar_transaction_id="ab" * 32
    )
    activity.poll()
    activity.poll()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith("invitation sent to +14***77 (SMS, dry run)")
    assert "payment of 2.5 USDC to" in lines[1]
    assert lines[1].endswith("submitted to the network")
    assert lines[2].endswith("confirmed on the ledger (transaction abababababab...)")
