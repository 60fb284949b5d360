from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.models import Message
from messaging.selectors import disbursement_message_stats, sms_segments
from messaging.services import (
    deliver_message,
    retry_failed_messages,
    set_tenant_daily_cap,
    sweep_pending_messages,
)
from messaging.texts import (
    render_receiver_invitation,
    render_receiver_otp,
    render_staff_email,
    validate_template_override,
)
from receivers.invitations import queue_invitations
from receivers.models import ReceiverWallet
from tests.factories import (
    MessageFactory,
    OrganizationFactory,
    ReceiverWalletFactory,
)

pytestmark = pytest.mark.django_db


def ready_wallets(organization, n, **receiver):
    return [
        ReceiverWalletFactory(
            receiver__organization=organization,
            status=ReceiverWallet.Status.READY,
            **{f"receiver__{k}": v for k, v in receiver.items()},
        )
        for _ in range(n)
    ]


def test_daily_cap_holds_messages_until_the_next_day_with_a_reason():
    organization = OrganizationFactory(sms_daily_cap=2)
    queue_invitations(organization, ready_wallets(organization, 3))
    outcomes = [deliver_message(m.pk) for m in Message.objects.order_by("created_at")]
    assert outcomes == ["delivered", "delivered", "skipped"]
    held = Message.objects.get(status=Message.Status.PENDING)
    assert held.hold_reason.startswith("daily cap of 2 SMS/WhatsApp messages reached")
    assert held.not_before > timezone.now()
    assert sweep_pending_messages(older_than=timedelta(0)) == 0
    with time_machine.travel(held.not_before + timedelta(minutes=1)):
        assert deliver_message(held.pk) == "delivered"


def test_raising_the_cap_releases_held_messages():
    organization = OrganizationFactory(sms_daily_cap=0)
    queue_invitations(organization, ready_wallets(organization, 1))
    message = Message.objects.get()
    assert deliver_message(message.pk) == "skipped"
    assert set_tenant_daily_cap(organization.id, None) == 1
    assert deliver_message(message.pk) == "delivered"


def test_retry_moves_failed_back_to_pending_and_delivers(
    django_capture_on_commit_callbacks,
):
    message = MessageFactory(status=Message.Status.FAILURE, attempts=5, error="x")
    with django_capture_on_commit_callbacks() as callbacks:
        assert retry_failed_messages([message.pk]) == 1
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.PENDING, 0)
    assert deliver_message(message.pk) == "delivered"


def test_admin_lists_searches_and_retries(client, operator):
    failed = MessageFactory(status=Message.Status.FAILURE)
    MessageFactory(status=Message.Status.SUCCESS)
    client.force_login(operator)
    response = client.get("/admin/messaging/message/?q=FAILURE")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert (
        client.get(f"/admin/messaging/message/{failed.pk}/change/").status_code == 200
    )
    response = client.post(
        "/admin/messaging/message/",
        {"action": "retry_failed", "_selected_action": [str(failed.pk)]},
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == Message.Status.PENDING


def test_cost_per_disbursement():
    organization = OrganizationFactory()
    import uuid

    disbursement_id = uuid.uuid4()
    for body, status in [
        ("a" * 10, "SUCCESS"),
        ("b" * 200, "PENDING"),
        ("c", "FAILURE"),
    ]:
        MessageFactory(
            tenant_id=organization.id,
            disbursement_id=disbursement_id,
            body=body,
            status=status,
        )
    stats = disbursement_message_stats(disbursement_id)
    assert stats.total == 3
    assert stats.units == 3  # 1 + 2 segments; the failed one is not billed
    assert stats.estimated_cost == Decimal("0.0249000")
    assert sms_segments("é" * 70) == 1
    assert sms_segments("ж" * 71) == 2


def test_template_rules():
    assert validate_template_override("  Hi {{ organization_name }} ") == (
        "Hi {{ organization_name }}"
    )
    for bad in [
        "<b>x</b>",
        "&lt;script&gt;",
        "javascript:alert(1)",
        "x" * 256,
        "{% if x %}",
    ]:
        with pytest.raises(ValidationError):
            validate_template_override(bad, field="otp_message_template")
    assert render_receiver_otp("", organization_name="Aid & Co", otp="123456") == (
        "123456 is your Aid & Co verification code. If you did not request this "
        "code, please ignore. Do not share your code with anyone."
    )
    assert render_receiver_otp(
        "Code for {{ organization_name }}", organization_name="A", otp="1"
    ).startswith("1 Code for A")
    assert render_receiver_invitation(
        "", organization_name="A", registration_link="L"
    ) == ("You have a payment waiting for you from the A. Click L to register.")
    subject, body = render_staff_email(
        "USER_MFA", {"mfa_code": "654321", "organization_name": "A"}
    )
    assert subject == "Verification code to access your account"
    assert "654321" in body
