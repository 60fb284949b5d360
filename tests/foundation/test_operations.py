import pytest
from django.core.cache import cache

from core.fsm import transition
from disbursements.models import Payment
from messaging.models import Message
from sdp.operations import operations_figures
from tests.factories import MessageFactory, OrganizationFactory, PaymentFactory
from tss.models import ChannelAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_tenant(settings):
    settings.HORIZON_URL = "http://127.0.0.1:9"  # no network: balances unknown
    cache.clear()
    from tss import engine

    engine._capacity.clear()  # a capacity read from an earlier test's localnet
    organization = OrganizationFactory(name="busy-org")
    for _ in range(2):
        transition(
            PaymentFactory(disbursement__organization=organization, status="READY"),
            to=Payment.Status.PENDING,
        )
    failed = PaymentFactory(disbursement__organization=organization, status="PENDING")
    transition(failed, to=Payment.Status.FAILED, note="the receiver has no trustline")
    MessageFactory(tenant_id=organization.id)
    MessageFactory(tenant_id=organization.id, status=Message.Status.FAILURE)
    ChannelAccount.objects.create(public_key="G" + "A" * 55, encrypted_secret="x")
    return organization


def test_figures_per_tenant(busy_tenant):
    figures = operations_figures()
    (tenant,) = [t for t in figures.tenants if t.organization == busy_tenant]
    assert tenant.pending_payments == 2
    assert tenant.oldest_pending_age_s is not None
    assert tenant.failed_last_day == {"the receiver has no trustline": 1}
    assert (tenant.messages_waiting, tenant.messages_failed) == (1, 1)
    assert tenant.balances is None
    assert (figures.channel_accounts_free, figures.channel_accounts_leased) == (1, 0)


def test_operations_page_for_staff_only(client, busy_tenant, operator, user):
    client.force_login(user)
    assert client.get("/admin/operations/").status_code == 302
    client.force_login(operator)
    response = client.get("/admin/operations/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "busy-org" in page
    assert "1 x the receiver has no trustline" in page
    assert "status__exact=PENDING" in page


def test_metrics_carry_the_same_figures_with_a_tenant_label(client, busy_tenant):
    body = client.get("/metrics").content.decode()
    assert 'sdp_payments_pending{tenant="busy-org"} 2.0' in body
    assert (
        'sdp_payments_failed_last_day{reason="the receiver has no trustline",'
        'tenant="busy-org"} 1.0'
    ) in body
    assert 'sdp_messages{status="FAILURE",tenant="busy-org"} 1.0' in body
    assert 'sdp_channel_accounts{state="free"} 1.0' in body


# --- pictures and delivery progress (issue 18, items 6a and 10) ---------------


def test_history_counts_confirmations_failures_and_samples_ages(busy_tenant):
    from disbursements.models import PaymentStatusChange
    from sdp.operations import WINDOWS, history, sample_operations

    for _ in range(3):
        payment = PaymentFactory(
            disbursement__organization=busy_tenant, status="PENDING"
        )
        transition(payment, to=Payment.Status.SUCCESS)
    assert PaymentStatusChange.objects.filter(to_status="SUCCESS").count() == 3
    assert sample_operations() >= 1
    (_, hour, minute), (_, day, quarter) = WINDOWS
    by_minute = history([busy_tenant.pk], window=hour, bucket=minute)[busy_tenant.pk]
    assert len(by_minute.confirmed_per_minute) == 60
    assert by_minute.confirmed_per_minute[-1] == 3
    assert by_minute.failures[-1] == 1  # the payment that failed (fixture)
    assert by_minute.oldest_payment_s[-1] is not None
    # No Horizon: 100 operations a ledger, 99 payments in batches of 100
    # (50 one payment a transaction), 12 ledgers a minute.
    assert by_minute.capacity_share[-1] == pytest.approx(3 / (99 * 12))
    by_quarter = history([busy_tenant.pk], window=day, bucket=quarter)[busy_tenant.pk]
    assert len(by_quarter.confirmed_per_minute) == 96
    assert by_quarter.confirmed_per_minute[-1] == pytest.approx(3 / 15)


def test_operations_page_draws_each_tenant_with_links(client, operator, busy_tenant):
    from sdp.operations import sample_operations

    sample_operations()
    client.force_login(operator)
    page = client.get("/admin/operations/").content.decode()
    assert page.count("<svg") >= 10  # five figures, two windows, per tenant
    content = page[page.index('<div id="content-main">') :]
    assert "<script" not in content  # server-rendered SVG, no script of its own
    of_org = f"organization__id__exact={busy_tenant.pk}"
    assert (
        f'href="/admin/disbursements/payment/?status__exact=SUCCESS&amp;{of_org}"'
        in page
    )
    assert (
        f'href="/admin/disbursements/payment/?status__exact=FAILED&amp;{of_org}"'
        in page
    )
    assert f"tenant_id={busy_tenant.pk}" in page
    assert 'aria-label="confirmed / min: now 0' in page
    assert "oldest pending payment" in page


def test_operations_page_shows_invitation_delivery_beside_payments(client, operator):
    from tests.factories import DisbursementFactory

    disbursement = DisbursementFactory(status="STARTED", name="March payroll")
    for status in ("SUCCESS", "SUCCESS", "FAILURE", "PENDING"):
        MessageFactory(
            tenant_id=disbursement.organization_id,
            disbursement_id=disbursement.pk,
            status=status,
        )
    PaymentFactory(disbursement=disbursement, status="READY")
    client.force_login(operator)
    page = client.get("/admin/operations/").content.decode()
    row = page[page.index("March payroll") :]
    row = row[: row.index("</tr>")]
    assert "4 / 2 /\n          1 / 1" in row  # written / delivered / failed / waiting
    assert "of 1" in row  # its payments
    assert f"disbursement_id={disbursement.pk}" in row


def test_the_sampler_is_scheduled():
    from django.conf import settings

    tasks = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "sdp.tasks.sample_operations_task" in tasks
