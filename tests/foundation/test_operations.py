import pytest
from django.core.cache import cache

from disbursements.models import Payment
from messaging.models import Message
from sdp.fsm import transition
from sdp.operations import operations_figures
from tests.factories import MessageFactory, OrganizationFactory, PaymentFactory
from tss.models import ChannelAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_tenant(settings):
    settings.HORIZON_URL = "http://127.0.0.1:9"  # no network: balances unknown
    cache.clear()
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
