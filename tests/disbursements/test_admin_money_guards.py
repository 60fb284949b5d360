"""Money records are immutable past DRAFT in the admin and in the database, and
every admin write of any model is audited (issue 16, item 17). Real admin
POSTs through Django's test client, logged in as a superuser."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import IntegrityError, transaction
from django.urls import reverse

from auth_org.admin_audit import AuditedAdmin, snapshot
from auth_org.models import AuditEntry, Wallet
from disbursements.models import Disbursement, Payment
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    PaymentFactory,
    WalletFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def change_form_data(response) -> dict:
    """What the browser would post back from a change page, untouched."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        for subform in formset.forms:
            for name in subform.fields:
                value = subform[name].value()
                if value is not None and value is not False:
                    data[subform.add_prefix(name)] = value
    return data


@pytest.fixture
def completed(organization, wallet, usdc):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="COMPLETED"
    )
    payment = PaymentFactory(
        disbursement=disbursement, status="SUCCESS", stellar_transaction_id="ab" * 32
    )
    return disbursement, payment


def test_success_payment_asset_cannot_be_changed_in_the_admin(
    staff, completed, organization
):
    _, payment = completed
    other = AssetFactory(organization=organization, code="EURC")
    url = reverse("admin:disbursements_payment_change", args=[payment.pk])
    page = staff.get(url)
    assert page.status_code == 200
    assert 'name="asset"' not in page.content.decode()
    data = change_form_data(page)
    data.update(asset=str(other.pk), receiver=str(payment.receiver_id))
    response = staff.post(url, data)
    assert response.status_code in (200, 302)
    payment.refresh_from_db()
    assert payment.asset_id == completed[0].asset_id
    assert payment.amount == Decimal("12.5")


def test_success_payment_cannot_be_deleted_in_the_admin(staff, completed):
    _, payment = completed
    url = reverse("admin:disbursements_payment_delete", args=[payment.pk])
    assert staff.post(url, {"post": "yes"}).status_code == 403
    response = staff.post(
        reverse("admin:disbursements_payment_changelist"),
        {"action": "delete_selected", "_selected_action": [str(payment.pk)],
         "post": "yes"},
    )  # fmt: skip
    assert response.status_code in (200, 302, 403)
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_completed_disbursement_asset_and_deletion_refused(
    staff, completed, organization
):
    disbursement, _ = completed
    other = AssetFactory(organization=organization, code="EURC")
    url = reverse("admin:disbursements_disbursement_change", args=[disbursement.pk])
    page = staff.get(url)
    assert 'name="asset"' not in page.content.decode()
    data = change_form_data(page)
    data["asset"] = str(other.pk)
    staff.post(url, data)
    disbursement.refresh_from_db()
    assert disbursement.asset_id != other.pk
    delete = reverse("admin:disbursements_disbursement_delete", args=[disbursement.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    staff.post(
        reverse("admin:disbursements_disbursement_changelist"),
        {"action": "delete_selected", "_selected_action": [str(disbursement.pk)],
         "post": "yes"},
    )  # fmt: skip
    assert Disbursement.objects.filter(pk=disbursement.pk).exists()


def test_a_draft_disbursement_is_deleted_and_the_deletion_audited(
    staff, operator, organization
):
    draft = DisbursementFactory(organization=organization, status="DRAFT")
    PaymentFactory(disbursement=draft, status="DRAFT")
    url = reverse("admin:disbursements_disbursement_delete", args=[draft.pk])
    assert staff.post(url, {"post": "yes"}).status_code == 302
    assert not Disbursement.objects.filter(pk=draft.pk).exists()
    entry = AuditEntry.objects.get(action="admin.delete", object_id=str(draft.pk))
    assert entry.actor_id == operator.pk
    assert entry.organization_id == organization.pk
    assert entry.changes["model"] == "disbursements.disbursement"
    assert entry.changes["fields"]["name"] == {"before": draft.name, "after": None}


def test_the_database_refuses_money_changes_past_draft(completed):
    disbursement, payment = completed
    for statement in (
        lambda: Payment.objects.filter(pk=payment.pk).update(amount=Decimal("99")),
        lambda: Payment.objects.filter(pk=payment.pk).update(
            asset=AssetFactory(organization=disbursement.organization, code="X")
        ),
        lambda: Payment.objects.filter(pk=payment.pk).delete(),
        lambda: Disbursement.objects.filter(pk=disbursement.pk).delete(),
        lambda: Disbursement.objects.filter(pk=disbursement.pk).update(
            wallet=WalletFactory(organization=disbursement.organization)
        ),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            statement()
    payment.refresh_from_db()
    assert payment.amount == Decimal("12.5")
    # Status moves and other columns of the same rows still go through.
    assert Payment.objects.filter(pk=payment.pk).update(sender_address="G" * 56) == 1


def test_draft_payments_stay_editable_and_deletable(organization):
    draft = DisbursementFactory(organization=organization, status="READY")
    payment = PaymentFactory(disbursement=draft, status="DRAFT")
    assert Payment.objects.filter(pk=payment.pk).update(amount=Decimal("3")) == 1
    draft.delete()  # a READY disbursement's DRAFT payments go with it
    assert not Payment.objects.filter(pk=payment.pk).exists()


def test_admin_change_and_action_are_audited_with_before_and_after(
    staff, operator, organization, wallet, usdc
):
    draft = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="DRAFT",
        name="before",
    )  # fmt: skip
    url = reverse("admin:disbursements_disbursement_change", args=[draft.pk])
    data = change_form_data(staff.get(url))
    data["name"] = "after"
    assert staff.post(url, data).status_code == 302
    entry = AuditEntry.objects.get(action="admin.change", object_id=str(draft.pk))
    assert entry.actor_id == operator.pk
    assert entry.changes["fields"]["name"] == {"before": "before", "after": "after"}

    ready = DisbursementFactory(
        organization=organization, wallet=wallet, asset=usdc, status="READY"
    )
    PaymentFactory(disbursement=ready, status="DRAFT")
    staff.post(
        reverse("admin:disbursements_disbursement_changelist"),
        {"action": "start", "_selected_action": [str(ready.pk)]},
    )
    entry = AuditEntry.objects.get(action="admin.action")
    assert entry.actor_id == operator.pk
    assert entry.changes["action"] == "start"
    assert entry.changes["objects"][str(ready.pk)]["status"] == {
        "before": "READY",
        "after": "STARTED",
    }


def test_admin_add_of_another_model_is_audited_without_secrets(
    staff, operator, organization
):
    url = reverse("admin:auth_org_wallet_add")
    page = staff.get(url)
    assert page.status_code == 200
    response = staff.post(
        url,
        {"organization": str(organization.pk), "name": "Audited Wallet",
         "homepage": "https://wallet.example", "deep_link_schema": "wallet://sdp",
         "sep_10_client_domain": "wallet.example", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Wallet.objects.get(name="Audited Wallet")
    entry = AuditEntry.objects.get(action="admin.add", object_id=str(created.pk))
    assert entry.actor_id == operator.pk
    assert entry.changes["fields"]["name"] == {
        "before": None,
        "after": "Audited Wallet",
    }
    assert snapshot(operator)["password"] == "(hidden)"


def test_every_registered_admin_is_audited():
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, AuditedAdmin), model_admin


def test_secret_fields_are_recorded_as_changed_never_by_value():
    from django.db import models

    from auth_org.admin_audit import HIDDEN, _is_secret, diff

    for name in ("key", "api_key", "password", "encrypted_secret", "otp_hash",
                 "hashed_value", "token_hash"):  # fmt: skip
        field = models.CharField(max_length=8)
        field.set_attributes_from_name(name)
        assert _is_secret(field), name
    plain = models.CharField(max_length=8)
    plain.set_attributes_from_name("name")
    assert not _is_secret(plain)
    assert diff(None, {"key": HIDDEN}) == {
        "key": {"before": None, "after": None, "hidden": True}
    }
