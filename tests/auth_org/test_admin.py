"""The Django admin as an operations console: pages load, secrets stay hidden."""

from __future__ import annotations

import pytest
from django.urls import reverse

from auth_org.apikeys import create_api_key
from auth_org.models import AuditEntry, MFACode, Organization, PasswordResetToken
from tests.factories import AssetFactory, UserFactory, WalletFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "organization",
    "user",
    "apikey",
    "auditentry",
    "passwordresettoken",
    "mfacode",
    "asset",
    "wallet",
]


@pytest.fixture
def console(client, operator, user):
    create_api_key(user, name="ops", permissions=["read:all"])
    MFACode.objects.create(user=user, device_id="dev", code_hash="secret-code-hash")
    PasswordResetToken.objects.create(user=user, token_hash="secret-token-hash")
    AuditEntry.objects.create(action="login.succeeded", actor=user)
    AssetFactory(organization=user.organization)
    WalletFactory(organization=user.organization)
    client.force_login(operator)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages_load(console, model):
    changelist = console.get(reverse(f"admin:auth_org_{model}_changelist") + "?q=a")
    assert changelist.status_code == 200
    first = changelist.context["cl"].result_list
    page = console.get(
        reverse(f"admin:auth_org_{model}_change", args=[first[0].pk])
        if first
        else reverse(f"admin:auth_org_{model}_changelist")
    )
    assert page.status_code == 200
    assert b"secret-code-hash" not in page.content
    assert b"secret-token-hash" not in page.content


def test_audit_trail_is_read_only(console):
    entry = AuditEntry.objects.first()
    response = console.post(
        reverse("admin:auth_org_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_deactivate_action_goes_through_the_audited_service(console, user, operator):
    member = UserFactory(organization=user.organization, roles=["business"])
    response = console.post(
        reverse("admin:auth_org_user_changelist"),
        {"action": "deactivate", "_selected_action": [member.pk]},
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_active is False
    entry = AuditEntry.objects.get(action="user.activation_changed")
    assert entry.actor == operator


def test_tenant_deactivation_action(console, organization):
    console.post(
        reverse("admin:auth_org_organization_changelist"),
        {"action": "deactivate", "_selected_action": [organization.pk]},
    )
    organization.refresh_from_db()
    assert organization.status == Organization.Status.DEACTIVATED
    assert AuditEntry.objects.filter(action="tenant.updated").exists()


def test_dashboard_user_cannot_use_the_admin(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:auth_org_user_changelist"))
    assert response.status_code == 302


def test_changing_the_daily_cap_in_the_admin_releases_held_messages(
    console, organization, operator
):
    from messaging.models import Message
    from messaging.services import deliver_message
    from tests.factories import MessageFactory

    organization.sms_daily_cap = 0
    organization.save()
    message = MessageFactory(tenant_id=organization.id, daily_cap=0)
    assert deliver_message(message.pk) == "skipped"
    url, data = _organization_form(console, organization)
    data["sms_daily_cap"] = 7
    response = console.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    organization.refresh_from_db()
    message.refresh_from_db()
    assert organization.sms_daily_cap == 7
    assert (message.status, message.daily_cap, message.hold_reason) == (
        Message.Status.PENDING,
        7,
        "",
    )
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.actor == operator
    assert entry.changes["sms_daily_cap"] == {"before": 0, "after": 7}


def _organization_form(console, organization) -> tuple[str, dict]:
    url = reverse("admin:auth_org_organization_change", args=[organization.pk])
    form = console.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = (
            "on"
            if value is True
            else ",".join(value)
            if isinstance(value, list)
            else value
        )
    return url, data


def test_the_reports_locale_is_chosen_in_the_admin_and_audited(
    console, organization, operator
):
    url, data = _organization_form(console, organization)
    refused = console.post(url, {**data, "locale": "xx"})
    assert refused.status_code == 200
    assert "locale" in refused.context["adminform"].form.errors
    organization.refresh_from_db()
    assert organization.locale == ""
    response = console.post(url, {**data, "locale": "de"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    organization.refresh_from_db()
    assert organization.locale == "de"
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.actor == operator
    assert entry.changes == {"locale": {"before": "", "after": "de"}}
