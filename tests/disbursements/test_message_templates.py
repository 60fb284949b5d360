"""Receiver message templates (issue 16.6, 17.7): SDP's placeholders
(``{{.OrganizationName}}``, ``{{.RegistrationLink}}``, ``{{.OTP}}``) and ours
mean the same thing; tags, filters and unknown names are refused at save with a
400 naming them, and a stored one is never executed."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from auth_org.admin import OrganizationChangeForm
from disbursements.admin import DisbursementAdminForm
from disbursements.models import Disbursement
from messaging.models import Message
from messaging.texts import render_receiver_invitation, render_receiver_otp
from tests.disbursements.test_api_disbursements import create_with_csv

pytestmark = pytest.mark.django_db

# SDP's dashboard shows this as the default invitation; migrating organizations
# have it saved as their template.
SDP_INVITATION = (
    "You have a payment waiting for you from the {{.OrganizationName}}. "
    "Click {{.RegistrationLink}} to register."
)
SDP_OTP = "{{.OTP}} is your {{.OrganizationName}} verification code."
NESTED_FOR = (
    "{% for a in registration_link %}{% for b in registration_link %}"
    "{% for c in registration_link %}x{% endfor %}{% endfor %}{% endfor %}"
)


def patch_org(api, data):
    return api.patch(
        "/organization",
        encode_multipart(BOUNDARY, {"data": json.dumps(data)}),
        content_type=MULTIPART_CONTENT,
    )


def _start(api, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = api.patch(
            f"/disbursements/{body['id']}/status", {"status": "STARTED"}, format="json"
        )
    assert response.status_code == 200, response.json()


def test_sdp_default_invitation_saved_on_the_organization_renders_its_values(
    api, organization, wallet, usdc, django_capture_on_commit_callbacks
):
    organization.display_name = "Aid Org"
    organization.save()
    response = patch_org(
        api, {"receiver_registration_message_template": SDP_INVITATION}
    )
    assert response.status_code == 200, response.json()

    body = create_with_csv(api, wallet, usdc).json()
    _start(api, body, django_capture_on_commit_callbacks)

    message = Message.objects.filter(disbursement_id=body["id"]).first()
    text = message.body
    assert text.startswith(
        "You have a payment waiting for you from the Aid Org. Click "
    )
    assert text.endswith(" to register.")
    link = text.removeprefix(
        "You have a payment waiting for you from the Aid Org. Click "
    ).removesuffix(" to register.")
    assert link.startswith("http")
    assert " " not in link
    assert "{{" not in text


def test_sdp_template_on_the_disbursement_renders_its_values(
    api, organization, wallet, usdc, django_capture_on_commit_callbacks
):
    template = "Hi from {{ .OrganizationName }}: {{.RegistrationLink}}"
    body = create_with_csv(
        api, wallet, usdc, receiver_registration_message_template=template
    ).json()
    _start(api, body, django_capture_on_commit_callbacks)

    text = Message.objects.filter(disbursement_id=body["id"]).first().body
    assert text.startswith(f"Hi from {organization.display_name}: http")
    assert "{{" not in text


def test_sdp_and_our_placeholders_render_the_same():
    values = {"organization_name": "Aid & Co", "registration_link": "https://x/y?a=1"}
    ours = "From {{ organization_name }}: {{ registration_link }}"
    sdps = "From {{.OrganizationName}}: {{.RegistrationLink}}"
    assert render_receiver_invitation(ours, **values) == render_receiver_invitation(
        sdps, **values
    )
    assert render_receiver_invitation(SDP_INVITATION, **values) == (
        "You have a payment waiting for you from the Aid & Co. "
        "Click https://x/y?a=1 to register."
    )
    assert render_receiver_otp(SDP_OTP, organization_name="Aid", otp="123456") == (
        "123456 is your Aid verification code. If you did not request this code, "
        "please ignore. Do not share your code with anyone."
    )
    # A value is inserted as it is, never read again as a template.
    assert render_receiver_otp(
        "{{.OTP}} from {{.OrganizationName}}",
        organization_name="{{.OTP}} {% for %}",
        otp="1",
    ).startswith("1 from {{.OTP}} {% for %}")


def test_template_tags_are_refused_at_save_naming_them(api, wallet, usdc):
    org = patch_org(api, {"receiver_registration_message_template": NESTED_FOR})
    assert org.status_code == 400
    error = org.json()["extras"]["receiver_registration_message_template"]
    assert "{% for a in registration_link %}" in error

    created = api.post(
        "/disbursements",
        {
            "name": "Loops",
            "wallet_id": str(wallet.pk),
            "asset_id": str(usdc.pk),
            "registration_contact_type": "PHONE_NUMBER",
            "verification_field": "DATE_OF_BIRTH",
            "receiver_registration_message_template": NESTED_FOR,
        },
        format="json",
    )
    assert created.status_code == 400
    assert "{% for" in json.dumps(created.json()["extras"])
    assert not Disbursement.objects.filter(name="Loops").exists()


@pytest.mark.parametrize(
    ("field", "template", "named"),
    [
        ("receiver_registration_message_template", "Pay {{.Amount}}", "{{.Amount}}"),
        ("receiver_registration_message_template", "Code {{.OTP}}", "{{.OTP}}"),
        ("otp_message_template", "{{.OTP}} {{.RegistrationLink}}", "RegistrationLink"),
        ("otp_message_template", "{{ otp|upper }}", "{{ otp|upper }}"),
        ("otp_message_template", "{{ otp.__class__ }}", "{{ otp.__class__ }}"),
        ("otp_message_template", "{# hidden #} {{.OTP}}", "{# hidden #}"),
    ],
)
def test_unknown_placeholders_and_filters_are_400_naming_them(
    api, organization, field, template, named
):
    before = getattr(organization, field)
    response = patch_org(api, {field: template})
    assert response.status_code == 400
    assert named in response.json()["extras"][field]
    organization.refresh_from_db()
    assert getattr(organization, field) == before


def test_sdp_otp_template_is_accepted(api, organization):
    response = patch_org(api, {"otp_message_template": SDP_OTP})
    assert response.status_code == 200, response.json()
    organization.refresh_from_db()
    assert organization.otp_message_template == SDP_OTP


def test_a_stored_template_with_tags_is_never_executed(
    api, organization, wallet, usdc, django_capture_on_commit_callbacks
):
    """Saved before the rules existed: the loops are not run, the default text
    is sent instead."""
    loops = "{% for a in registration_link %}{% for b in registration_link %}LOOP"
    body = create_with_csv(api, wallet, usdc).json()
    Disbursement.objects.filter(pk=body["id"]).update(
        receiver_registration_message_template=loops + "{% endfor %}{% endfor %}"
    )
    _start(api, body, django_capture_on_commit_callbacks)

    text = Message.objects.filter(disbursement_id=body["id"]).first().body
    assert text.startswith(
        f"You have a payment waiting for you from the {organization.display_name}."
    )
    assert "{%" not in text
    assert "LOOP" not in text


def test_rendering_is_linear_even_for_twenty_nested_loops():
    """The 20-level template the attack saved: rendering it must end at once
    (it is not executed), where a template engine would loop for ever."""
    deep = "{% for a in registration_link %}" * 20 + "LOOP" + "{% endfor %}" * 20
    done = []

    def render():
        done.append(
            render_receiver_invitation(
                deep, organization_name="A", registration_link="https://l.example/r/x"
            )
        )

    worker = threading.Thread(target=render, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(timeout=5)
    assert done, "rendering did not finish in 5 s"
    assert time.monotonic() - started < 1
    assert "LOOP" not in done[0]
    # And a long hostile text of braces costs linear time too.
    hostile = "{{" * 5000 + "{%" * 5000
    started = time.monotonic()
    render_receiver_invitation(hostile, organization_name="A", registration_link="L")
    assert time.monotonic() - started < 1


def test_admin_forms_refuse_tags_and_unknown_placeholders(organization):
    form = OrganizationChangeForm(instance=organization)
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    data["receiver_registration_message_template"] = "{% for x in y %}{% endfor %}"
    data["otp_message_template"] = "{{.OTP}} for {{.Nope}}"
    bound = OrganizationChangeForm(data, instance=organization)
    assert not bound.is_valid()
    assert (
        "{% for x in y %}" in bound.errors["receiver_registration_message_template"][0]
    )
    assert "{{.Nope}}" in bound.errors["otp_message_template"][0]

    disbursement_form = DisbursementAdminForm(
        {"receiver_registration_message_template": "{{ registration_link|safe }}"}
    )
    disbursement_form.is_valid()
    assert (
        "registration_link|safe"
        in (disbursement_form.errors["receiver_registration_message_template"][0])
    )
