"""GET/PATCH /organization, the logo, and the sections the dashboard hides."""

from __future__ import annotations

import json

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from auth_org.api import default_logo
from auth_org.models import DEFAULT_INVITATION_TEMPLATE, AuditEntry
from tests.auth_org.helpers import bearer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = default_logo()
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64

FIELDS = {
    "name",
    "logo_url",
    "privacy_policy_link",
    "base_url",
    "distribution_account_public_key",
    "timezone_utc_offset",
    "is_approval_required",
    "receiver_invitation_resend_interval_days",
    "payment_cancellation_period_days",
    "is_link_shortener_enabled",
    "is_memo_tracing_enabled",
    "mfa_disabled",
    "captcha_disabled",
    "receiver_invitations_disabled",
    "distribution_account",
}


def patch_org(client, user, data=None, logo=None, logo_name="logo.png"):
    fields = {}
    if data is not None:
        fields["data"] = json.dumps(data)
    if logo is not None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        fields["logo"] = SimpleUploadedFile(logo_name, logo)
    return client.patch(
        "/organization",
        encode_multipart(BOUNDARY, fields),
        content_type=MULTIPART_CONTENT,
        headers=bearer(user),
    )


def test_organization_has_every_field_the_dashboard_reads(client, user, organization):
    organization.distribution_account_address = "G" + "A" * 55
    organization.save()
    body = client.get("/organization", headers=bearer(user)).json()
    assert set(body) >= FIELDS
    assert body["name"] == organization.display_name
    assert body["distribution_account"] == {
        "address": "G" + "A" * 55,
        "type": "DISTRIBUTION_ACCOUNT.STELLAR.DB_VAULT",
        "status": "ACTIVE",
    }
    assert body["distribution_account_public_key"] == "G" + "A" * 55
    assert body["timezone_utc_offset"] == "+00:00"
    assert body["receiver_invitation_resend_interval_days"] == 0
    assert body["payment_cancellation_period_days"] == 0
    # Left out while they are SDP's defaults (see the test below).
    assert "receiver_registration_message_template" not in body
    assert "otp_message_template" not in body
    assert body["mfa_disabled"] is False
    assert "/organization/logo?v=" in body["logo_url"]


@pytest.mark.parametrize(
    "key", ["receiver_registration_message_template", "otp_message_template"]
)
def test_default_templates_are_left_out_so_the_dashboard_shows_standard_message(
    client, user, organization, key
):
    """The dashboard 6.5 shows "Custom message" whenever the key is present;
    "Standard message" sends "" (SDP: the template is only shown when it is
    not the default)."""
    assert key not in client.get("/organization", headers=bearer(user)).json()
    custom = "Hello from {{ organization_name }}"
    assert patch_org(client, user, {key: custom}).status_code == 200
    assert client.get("/organization", headers=bearer(user)).json()[key] == custom
    assert patch_org(client, user, {key: ""}).status_code == 200
    assert key not in client.get("/organization", headers=bearer(user)).json()


def test_a_new_logo_gets_a_new_url(client, user, organization):
    """The logo is cached for five minutes: its URL changes with it, so the
    dashboard shows a new logo at once."""
    first = client.get("/organization", headers=bearer(user)).json()["logo_url"]
    assert patch_org(client, user, logo=JPEG, logo_name="logo.jpg").status_code == 200
    second = client.get("/organization", headers=bearer(user)).json()["logo_url"]
    assert second != first
    path = second.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, headers=bearer(user))
    assert response.status_code == 200
    assert response.content == JPEG
    assert patch_org(client, user, logo=PNG).status_code == 200
    third = client.get("/organization", headers=bearer(user)).json()["logo_url"]
    assert third not in (first, second)


def test_settings_toggles_one_key_at_a_time(client, user, organization):
    for key, value in [
        ("mfa_disabled", True),
        ("captcha_disabled", True),
        ("is_memo_tracing_enabled", False),
        ("is_link_shortener_enabled", False),
        ("receiver_invitations_disabled", True),
        ("receiver_invitation_resend_interval_days", 3),
        ("payment_cancellation_period_days", 5),
        (
            "receiver_registration_message_template",
            "Hello from {{ organization_name }}",
        ),
    ]:
        response = patch_org(client, user, {key: value})
        assert response.status_code == 200, (key, response.content)
        assert response.json() == {"message": "Organization updated successfully"}
        assert client.get("/organization", headers=bearer(user)).json()[key] == value


def test_profile_page_update(client, user, organization):
    response = patch_org(
        client,
        user,
        {
            "organization_name": "Aid Org",
            "privacy_policy_link": "https://aid.example.org/privacy",
            "timezone_utc_offset": "-03:00",
            "is_approval_required": True,
        },
    )
    assert response.status_code == 200
    body = client.get("/organization", headers=bearer(user)).json()
    assert body["name"] == "Aid Org"
    assert body["privacy_policy_link"] == "https://aid.example.org/privacy"
    assert body["timezone_utc_offset"] == "-03:00"
    assert body["is_approval_required"] is True
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.changes["display_name"]["after"] == "Aid Org"
    assert entry.actor == user


def test_zero_turns_an_interval_off_and_empty_template_resets(
    client, user, organization
):
    patch_org(client, user, {"payment_cancellation_period_days": 4})
    patch_org(client, user, {"payment_cancellation_period_days": 0})
    organization.refresh_from_db()
    assert organization.payment_cancellation_period_days is None
    patch_org(client, user, {"receiver_registration_message_template": "Custom"})
    patch_org(client, user, {"receiver_registration_message_template": ""})
    organization.refresh_from_db()
    assert (
        organization.receiver_registration_message_template
        == DEFAULT_INVITATION_TEMPLATE
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"receiver_registration_message_template": "<b>hi</b>"},
            "receiver_registration_message_template",
        ),
        ({"otp_message_template": "x" * 256}, "otp_message_template"),
        (
            {"receiver_invitation_resend_interval_days": -1},
            "receiver_invitation_resend_interval_days",
        ),
        (
            {"payment_cancellation_period_days": "soon"},
            "payment_cancellation_period_days",
        ),
        ({"timezone_utc_offset": "UTC"}, "timezone_utc_offset"),
        ({"organization_name": "x" * 65}, "organization_name"),
        ({"mfa_disabled": "yes"}, "mfa_disabled"),
        ({"privacy_policy_link": "not a url"}, "privacy_policy_link"),
    ],
)
def test_invalid_settings_are_400_naming_the_field(client, user, data, field):
    response = patch_org(client, user, data)
    assert response.status_code == 400
    assert field in response.json()["extras"]


def test_pubnet_needs_https_privacy_link_and_mfa(client, user, settings):
    settings.IS_PUBNET = True
    http = patch_org(client, user, {"privacy_policy_link": "http://aid.example.org/p"})
    assert http.status_code == 400
    assert patch_org(client, user, {"mfa_disabled": True}).status_code == 400


def test_data_or_logo_is_required(client, user):
    response = client.patch(
        "/organization",
        encode_multipart(BOUNDARY, {}),
        content_type=MULTIPART_CONTENT,
        headers=bearer(user),
    )
    assert response.status_code == 400


def test_logo_upload_and_download(client, user, organization):
    response = patch_org(client, user, logo=JPEG, logo_name="logo.jpg")
    assert response.status_code == 200
    # Public: the dashboard's <img> fetch, and the login page, carry no token.
    logo = client.get(
        "/organization/logo", headers={"SDP-Tenant-Name": organization.name}
    )
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/jpeg"
    assert logo.content == JPEG


def test_default_logo_when_none(client, organization):
    logo = client.get(
        "/organization/logo/", headers={"SDP-Tenant-Name": organization.name}
    )
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/png"
    assert logo.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"GIF89a" + b"\x00" * 10, "logo.gif"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024), "big.png"),
    ],
)
def test_logo_must_be_a_small_png_or_jpeg(client, user, content, name):
    response = patch_org(client, user, logo=content, logo_name=name)
    assert response.status_code == 400
    assert "logo" in response.json()["extras"]


def test_financial_controller_may_update_business_may_not(client, organization):
    controller = UserFactory(organization=organization, roles=["financial_controller"])
    business = UserFactory(organization=organization, roles=["business"])
    assert (
        patch_org(client, controller, {"is_approval_required": True}).status_code == 200
    )
    assert (
        patch_org(client, business, {"is_approval_required": False}).status_code == 403
    )


def test_bridge_and_balances_hide_their_sections(client, user):
    bridge = client.get("/bridge-integration", headers=bearer(user))
    assert bridge.status_code == 200
    assert bridge.json() == {"status": "NOT_ENABLED"}
    balances = client.get("/balances", headers=bearer(user))
    assert balances.status_code == 400
    assert "CIRCLE" in balances.json()["error"]


def test_logo_tenant_from_the_bearer_when_no_header(client, user):
    response = client.get("/organization/logo", headers=bearer(user))
    assert response.status_code == 200
    assert client.get("/organization/logo").status_code == 400


def _held_message(organization):
    """A PENDING SMS held back by the organization's daily cap of 0."""
    from messaging.models import Message
    from messaging.services import deliver_message
    from tests.factories import MessageFactory

    message = MessageFactory(
        tenant_id=organization.id,
        channel=Message.Channel.SMS,
        status=Message.Status.PENDING,
        daily_cap=0,
    )
    assert deliver_message(message.pk) == "skipped"
    message.refresh_from_db()
    assert message.hold_reason.startswith("daily cap of 0")
    return message


def test_patching_the_daily_cap_releases_messages_it_held(client, user, organization):
    organization.sms_daily_cap = 0
    organization.save()
    message = _held_message(organization)
    response = patch_org(client, user, {"sms_daily_cap": 5})
    assert response.status_code == 200, response.content
    organization.refresh_from_db()
    message.refresh_from_db()
    assert organization.sms_daily_cap == 5
    assert (message.daily_cap, message.hold_reason, message.not_before) == (5, "", None)
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.changes["sms_daily_cap"] == {"before": 0, "after": 5}


def test_a_null_daily_cap_removes_the_cap(client, user, organization):
    organization.sms_daily_cap = 0
    organization.save()
    message = _held_message(organization)
    assert patch_org(client, user, {"sms_daily_cap": None}).status_code == 200
    message.refresh_from_db()
    assert message.daily_cap is None


@pytest.mark.parametrize("value", [-1, "5", True, 2.5, [1]])
def test_a_bad_daily_cap_is_refused_and_nothing_changes(
    client, user, organization, value
):
    organization.sms_daily_cap = 3
    organization.save()
    response = patch_org(client, user, {"sms_daily_cap": value})
    assert response.status_code == 400
    assert "sms_daily_cap" in response.json()["extras"]
    organization.refresh_from_db()
    assert organization.sms_daily_cap == 3


# --- the reports' locale (not SDP's) -------------------------------------------------


def test_locale_is_set_shown_audited_and_reset(client, user, organization):
    assert client.get("/organization", headers=bearer(user)).json()["locale"] == ""
    # The dashboard's multipart form, a tag in any case
    response = patch_org(client, user, {"locale": "pt-br"})
    assert response.status_code == 200, response.content
    body = client.get("/organization", headers=bearer(user)).json()
    assert body["locale"] == "pt-BR"
    entry = AuditEntry.objects.get(action="organization.updated")
    assert entry.actor == user
    assert entry.changes == {"locale": {"before": "", "after": "pt-BR"}}
    # A script's JSON body, and null back to the deployment's
    response = client.patch(
        "/organization",
        {"locale": "de"},
        content_type="application/json",
        headers=bearer(user),
    )
    assert response.status_code == 200, response.content
    organization.refresh_from_db()
    assert organization.locale == "de"
    assert patch_org(client, user, {"locale": None}).status_code == 200
    organization.refresh_from_db()
    assert organization.locale == ""


@pytest.mark.parametrize(
    "value", ["xx", "af", "zh-cn", "de-DE-x", "en_US", "d" * 17, 7, ["de"], "../de"]
)
def test_a_locale_the_reports_cannot_format_is_a_400_naming_it(
    client, user, organization, value
):
    # af: a language Django names but has no number formats for; zh-cn: an alias
    organization.locale = "fr"
    organization.save()
    response = patch_org(client, user, {"locale": value, "is_approval_required": True})
    assert response.status_code == 400
    assert set(response.json()["extras"]) == {"locale"}
    organization.refresh_from_db()
    assert (organization.locale, organization.is_approval_required) == ("fr", False)


def test_locale_roles_are_the_routes(client, organization):
    controller = UserFactory(organization=organization, roles=["financial_controller"])
    business = UserFactory(organization=organization, roles=["business"])
    assert patch_org(client, business, {"locale": "de"}).status_code == 403
    assert patch_org(client, controller, {"locale": "de"}).status_code == 200
    organization.refresh_from_db()
    assert organization.locale == "de"
    answered = client.get("/organization", headers=bearer(business)).json()
    assert answered["locale"] == "de"
