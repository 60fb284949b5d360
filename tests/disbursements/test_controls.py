"""Approval tiers and spending limits (docs/controls.md), through the dashboard's
requests, and their races on the real PostgreSQL."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from auth_org.controls import update_controls
from auth_org.models import AuditEntry, Role
from core.api import APIError
from disbursements import payments as payment_services
from disbursements import services
from disbursements.models import Disbursement, DisbursementApproval, Payment
from tests.api2_fixtures import client_for, role_user
from tests.disbursements.test_api_disbursements import create_with_csv
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    OrganizationFactory,
    PaymentFactory,
    ReceiverWalletFactory,
)

pytestmark = pytest.mark.django_db

ADDRESS = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H"


def start(client, disbursement_id):
    return client.patch(
        f"/disbursements/{disbursement_id}/status", {"status": "STARTED"}, format="json"
    )


@pytest.fixture
def initiator(organization):
    # Can both create and start: only the approval rules stop it.
    return role_user(organization, Role.FINANCIAL_CONTROLLER)


@pytest.fixture
def approvers(organization):
    return [role_user(organization, Role.APPROVER) for _ in range(3)]


def set_controls(organization, asset, **data):
    return update_controls(organization, asset, data, actor=None)


# --- approval tiers --------------------------------------------------------------


def test_above_a_tier_two_distinct_approvers_who_did_not_prepare_it(
    organization, wallet, usdc, initiator, approvers
):
    set_controls(organization, usdc, approval_tiers=[{"above": "30", "approvals": 2}])
    body = create_with_csv(client_for(initiator), wallet, usdc).json()  # 30.5 USDC

    refused = start(client_for(initiator), body["id"])
    assert refused.status_code == 403
    assert "initiator" in refused.json()["error"]

    first = start(client_for(approvers[0]), body["id"])
    assert first.status_code == 403
    extras = first.json()["extras"]
    assert extras["approvals_required"] == 2
    assert extras["approvals_missing"] == 1
    assert extras["tier_above"] == "30.0000000"
    assert [a["email"] for a in extras["approvals"]] == [approvers[0].email]
    assert "1 missing" in first.json()["error"]
    # The same approver again is still one approval.
    assert start(client_for(approvers[0]), body["id"]).status_code == 403

    second = start(client_for(approvers[1]), body["id"])
    assert second.status_code == 200, second.json()
    assert second.json() == {"message": "Disbursement started"}
    disbursement = Disbursement.objects.get(pk=body["id"])
    assert disbursement.status == "STARTED"
    approvals = list(disbursement.approvals.values_list("user_id", flat=True))
    assert approvals == [approvers[0].pk, approvers[1].pk]


def test_under_the_first_tier_the_single_approval_flow_is_unchanged(
    organization, wallet, usdc, initiator, approvers
):
    organization.is_approval_required = True
    organization.save()
    set_controls(organization, usdc, approval_tiers=[{"above": "100", "approvals": 2}])
    body = create_with_csv(client_for(initiator), wallet, usdc).json()
    assert start(client_for(initiator), body["id"]).status_code == 403
    assert start(client_for(approvers[0]), body["id"]).status_code == 200
    assert not DisbursementApproval.objects.exists()


def test_uploading_again_forgets_the_approvals(
    organization, wallet, usdc, initiator, approvers
):
    set_controls(organization, usdc, approval_tiers=[{"above": "30", "approvals": 2}])
    client = client_for(initiator)
    body = create_with_csv(client, wallet, usdc).json()
    assert start(client_for(approvers[0]), body["id"]).status_code == 403
    from tests.disbursements.test_api_disbursements import PHONE_CSV, csv_file

    upload = client.post(
        f"/disbursements/{body['id']}/instructions", {"file": csv_file(PHONE_CSV)}
    )
    assert upload.status_code == 200, upload.content
    assert not DisbursementApproval.objects.exists()
    assert start(client_for(approvers[1]), body["id"]).status_code == 403


def direct_payment_over_tier(organization, api, usdc, amount="60"):
    set_controls(organization, usdc, approval_tiers=[{"above": "50", "approvals": 2}])
    wallet_row = ReceiverWalletFactory(
        receiver__organization=organization,
        status="REGISTERED",
        stellar_address=ADDRESS,
    )
    wallet_row.wallet.assets.add(usdc)
    response = api.post(
        "/payments",
        {
            "amount": amount,
            "asset": {"id": str(usdc.pk)},
            "receiver": {"id": str(wallet_row.receiver_id)},
            "wallet": {"id": str(wallet_row.wallet_id)},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def approve(client, payment_id):
    return client.post(f"/payments/{payment_id}/approve", format="json")


def test_direct_payment_above_a_multi_approval_tier_waits_for_two_approvers(
    organization, owner, api, usdc, approvers
):
    body = direct_payment_over_tier(organization, api, usdc)
    payment = Payment.objects.get(pk=body["id"])
    assert payment.status == "DRAFT"
    assert body["status"] == "DRAFT"
    note = payment.status_changes.get().note
    assert "waits for 2 approvals" in note
    assert "50.0000000 USDC" in note

    refused = approve(api, body["id"])  # its creator
    assert refused.status_code == 403
    assert refused.json()["extras"] == {"approver": "is its initiator"}

    first = approve(client_for(approvers[0]), body["id"])
    assert first.status_code == 403
    extras = first.json()["extras"]
    assert extras["approvals_required"] == 2
    assert extras["approvals_missing"] == 1
    assert extras["tier_above"] == "50.0000000"
    assert [a["email"] for a in extras["approvals"]] == [approvers[0].email]
    # The same approver again is still one approval.
    again = approve(client_for(approvers[0]), body["id"])
    assert again.status_code == 403
    assert again.json()["extras"]["approvals_missing"] == 1
    payment.refresh_from_db()
    assert payment.status == "DRAFT"

    second = approve(client_for(approvers[1]), body["id"])
    assert second.status_code == 200, second.json()
    payment.refresh_from_db()
    assert payment.status != "DRAFT"
    assert second.json()["status"] == payment.status
    assert list(payment.approvals.values_list("user_id", flat=True)) == [
        approvers[0].pk,
        approvers[1].pk,
    ]
    assert payment.status_changes.filter(to_status="READY").count() == 1
    # Handed off: a third approval has nothing to approve.
    assert approve(client_for(approvers[2]), body["id"]).status_code == 400


def test_a_held_direct_payment_can_be_canceled_and_is_then_not_approved(
    organization, api, usdc, approvers
):
    body = direct_payment_over_tier(organization, api, usdc)
    canceled = api.patch(
        f"/payments/{body['id']}/status", {"status": "CANCELED"}, format="json"
    )
    assert canceled.status_code == 200, canceled.json()
    payment = Payment.objects.get(pk=body["id"])
    assert payment.status == "CANCELED"
    assert approve(client_for(approvers[0]), body["id"]).status_code == 400
    assert not payment.approvals.exists()


def test_approving_a_payment_of_another_tenant_is_404_and_others_are_400(
    organization, api, usdc, approvers
):
    body = direct_payment_over_tier(organization, api, usdc)
    stranger = role_user(OrganizationFactory(), Role.APPROVER)
    assert approve(client_for(stranger), body["id"]).status_code == 404
    under = PaymentFactory(organization=organization, status="READY")
    assert approve(client_for(approvers[0]), under.pk).status_code == 400
    assert not Payment.objects.get(pk=body["id"]).approvals.exists()


def test_a_limit_exceeded_by_the_last_approval_answers_as_the_limit(
    organization, api, usdc, approvers
):
    body = direct_payment_over_tier(organization, api, usdc)
    set_controls(organization, usdc, daily_max="55")
    assert approve(client_for(approvers[0]), body["id"]).status_code == 403
    refused = approve(client_for(approvers[1]), body["id"])
    assert refused.status_code == 400
    assert refused.json()["extras"]["limit"] == "daily_max"
    assert refused.json()["extras"]["requested"] == "60.0000000"
    payment = Payment.objects.get(pk=body["id"])
    assert payment.status == "DRAFT"
    # The approvals stay: raising the limit and approving again pays it.
    set_controls(organization, usdc, daily_max="100")
    assert approve(client_for(approvers[1]), body["id"]).status_code == 200
    payment.refresh_from_db()
    assert payment.status != "DRAFT"


@pytest.mark.django_db(transaction=True)
def test_two_approvers_of_a_direct_payment_at_once_hand_it_off_once(
    organization, api, usdc, approvers
):
    body = direct_payment_over_tier(organization, api, usdc)
    payment = Payment.objects.get(pk=body["id"])
    barrier = threading.Barrier(2)
    outcomes = []

    def run(user):
        try:
            barrier.wait(5)
            payment_services.approve_direct_payment(payment, actor=user)
            outcomes.append("approved")
        except APIError as exc:
            outcomes.append(exc.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in approvers[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    payment.refresh_from_db()
    assert payment.status != "DRAFT", outcomes
    assert outcomes.count("approved") == 1, outcomes
    assert payment.approvals.count() == 2
    assert payment.status_changes.filter(to_status="READY").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_start_it_exactly_once(
    organization, wallet, usdc, initiator, approvers
):
    set_controls(organization, usdc, approval_tiers=[{"above": "30", "approvals": 2}])
    body = create_with_csv(client_for(initiator), wallet, usdc).json()
    disbursement = Disbursement.objects.get(pk=body["id"])
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(user):
        try:
            barrier.wait(5)
            services.start_disbursement(disbursement, actor=user)
            outcomes.append("started")
        except APIError as exc:
            outcomes.append(exc.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in approvers[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    disbursement.refresh_from_db()
    # Whichever counted last saw both approvals: started once; the other one
    # either counted one approval (403) or found it started (400).
    assert disbursement.status == "STARTED", outcomes
    assert outcomes.count("started") == 1, outcomes
    assert disbursement.approvals.count() == 2
    assert disbursement.status_changes.filter(to_status="STARTED").count() == 1


# --- spending limits ---------------------------------------------------------------


def ready_disbursement(organization, wallet, asset, *amounts, receiver_wallet=None):
    disbursement = DisbursementFactory(
        organization=organization, wallet=wallet, asset=asset, status="READY"
    )
    for amount in amounts:
        extra = {"receiver_wallet": receiver_wallet} if receiver_wallet else {}
        PaymentFactory(disbursement=disbursement, amount=Decimal(amount), **extra)
    return disbursement


def test_per_disbursement_limit_answers_400_with_the_figures(
    api, organization, wallet, usdc
):
    set_controls(organization, usdc, per_disbursement_max="25")
    body = create_with_csv(api, wallet, usdc).json()  # 30.5
    response = start(api, body["id"])
    assert response.status_code == 400
    answer = response.json()
    assert answer["extras"] == {
        "limit": "per_disbursement_max",
        "limit_amount": "25.0000000",
        "requested": "30.5000000",
        "over_by": "5.5000000",
    }
    assert "over the per-disbursement limit of 25.0000000 USDC" in answer["error"]
    assert Disbursement.objects.get(pk=body["id"]).status == "READY"


def test_daily_limit_counts_what_was_started_today(api, organization, wallet, usdc):
    set_controls(organization, usdc, daily_max="100")
    first = ready_disbursement(organization, wallet, usdc, "40", "30")
    assert start(api, first.pk).status_code == 200
    second = ready_disbursement(organization, wallet, usdc, "20", "20")
    response = start(api, second.pk)
    assert response.status_code == 400
    assert response.json()["extras"] == {
        "limit": "daily_max",
        "limit_amount": "100.0000000",
        "used_today": "70.0000000",
        "requested": "40.0000000",
        "over_by": "10.0000000",
    }
    # A canceled payment gives its amount back.
    Payment.objects.filter(disbursement=first, amount=Decimal("30")).update(
        status="CANCELED"
    )
    assert start(api, second.pk).status_code == 200


def test_per_receiver_limit_over_a_rolling_window(api, organization, wallet, usdc):
    set_controls(organization, usdc, per_receiver_max="50", per_receiver_window_days=7)
    receiver_wallet = ReceiverWalletFactory(
        receiver__organization=organization,
        receiver__external_id="ext-7",
        wallet=wallet,
    )
    earlier = ready_disbursement(
        organization, wallet, usdc, "30", receiver_wallet=receiver_wallet
    )
    assert start(api, earlier.pk).status_code == 200
    later = ready_disbursement(
        organization, wallet, usdc, "25", receiver_wallet=receiver_wallet
    )
    response = start(api, later.pk)
    assert response.status_code == 400
    extras = response.json()["extras"]
    assert extras["limit"] == "per_receiver_max"
    assert extras["receivers"] == [
        {"external_id": "ext-7", "earlier": "30.0000000", "requested": "25.0000000"}
    ]
    # Outside the window the earlier payment no longer counts.
    from datetime import timedelta

    from django.utils import timezone

    Payment.objects.filter(disbursement=earlier).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    assert start(api, later.pk).status_code == 200


def test_direct_payment_over_the_daily_limit_is_refused(
    api, organization, wallet, usdc
):
    set_controls(organization, usdc, daily_max="100")
    started = ready_disbursement(organization, wallet, usdc, "90")
    assert start(api, started.pk).status_code == 200
    wallet_row = ReceiverWalletFactory(
        receiver__organization=organization,
        wallet=wallet,
        status="REGISTERED",
        stellar_address=ADDRESS,
    )
    wallet.assets.add(usdc)
    response = api.post(
        "/payments",
        {
            "amount": "20",
            "asset": {"id": str(usdc.pk)},
            "receiver": {"id": str(wallet_row.receiver_id)},
            "wallet": {"id": str(wallet.pk)},
        },
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert response.json()["extras"]["used_today"] == "90.0000000"
    assert not Payment.objects.filter(type="DIRECT").exists()


@pytest.mark.django_db(transaction=True)
def test_two_starts_competing_for_one_daily_limit(api, organization, wallet, usdc):
    set_controls(organization, usdc, daily_max="100")
    first = ready_disbursement(organization, wallet, usdc, "60")
    second = ready_disbursement(organization, wallet, usdc, "60")
    barrier = threading.Barrier(2)
    outcomes = {}

    def run(disbursement):
        try:
            barrier.wait(5)
            services.start_disbursement(disbursement, actor=None)
            outcomes[disbursement.pk] = "started"
        except APIError as exc:
            outcomes[disbursement.pk] = exc.extras
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(d,)) for d in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(map(str, outcomes.values())).count("started") == 1, outcomes
    refused = next(v for v in outcomes.values() if v != "started")
    assert refused["used_today"] == "60.0000000"
    statuses = set(
        Disbursement.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {"STARTED", "READY"}


# --- the controls route -------------------------------------------------------------


def test_controls_route_changes_are_audited_and_validated(api, organization, usdc):
    url = f"/assets/{usdc.pk}/controls"
    assert api.get(url).json()["daily_max"] is None
    response = api.patch(
        url,
        {
            "daily_max": "1000",
            "approval_tiers": [
                {"above": "5000", "approvals": 3},
                {"above": "500", "approvals": 2},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["approval_tiers"] == [
        {"above": "500.0000000", "approvals": 2},
        {"above": "5000.0000000", "approvals": 3},
    ]
    entry = AuditEntry.objects.get(action="controls.changed")
    assert entry.changes["daily_max"] == {"from": None, "to": "1000.0000000"}
    assert entry.object_id == str(usdc.pk)

    for bad, field in [
        ({"daily_max": "-1"}, "daily_max"),
        ({"daily_max": "abc"}, "daily_max"),
        ({"per_receiver_window_days": 0}, "per_receiver_window_days"),
        (
            {"approval_tiers": [{"above": "1", "approvals": 0}]},
            "approval_tiers[0].approvals",
        ),
        ({"approval_tiers": "x"}, "approval_tiers"),
        ({"limit": 1}, "limit"),
    ]:
        answer = api.patch(url, bad, format="json")
        assert answer.status_code == 400, bad
        assert field in answer.json()["extras"], answer.json()
    assert AuditEntry.objects.filter(action="controls.changed").count() == 1


def test_controls_route_roles_and_tenants(api, organization, usdc):
    other = AssetFactory(organization=OrganizationFactory(), code="EURC")
    assert api.get(f"/assets/{other.pk}/controls").status_code == 404
    assert (
        api.patch(f"/assets/{other.pk}/controls", {}, format="json").status_code == 404
    )
    business = client_for(role_user(organization, Role.BUSINESS))
    assert business.get(f"/assets/{usdc.pk}/controls").status_code == 200
    answer = business.patch(
        f"/assets/{usdc.pk}/controls", {"daily_max": "1"}, format="json"
    )
    assert answer.status_code == 403


def test_low_balance_threshold_through_the_route(api, organization, usdc):
    url = f"/assets/{usdc.pk}/controls"
    assert api.get(url).json()["low_balance_threshold"] is None
    answer = api.patch(url, {"low_balance_threshold": "250.5"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["low_balance_threshold"] == "250.5000000"
    assert api.get(url).json()["low_balance_threshold"] == "250.5000000"
    entry = AuditEntry.objects.get(action="controls.changed")
    assert entry.changes == {
        "low_balance_threshold": {"from": None, "to": "250.5000000"}
    }
    assert entry.object_id == str(usdc.pk)
    for bad in ["-1", "abc", "1.12345678", True, [], "NaN", "-0.0"]:
        refused = api.patch(url, {"low_balance_threshold": bad}, format="json")
        assert refused.status_code == 400, bad
        assert "low_balance_threshold" in refused.json()["extras"], bad
    assert AuditEntry.objects.filter(action="controls.changed").count() == 1
    # 0 is a threshold (never under it); null turns the warning off.
    assert (
        api.patch(url, {"low_balance_threshold": "0.00"}, format="json").json()[
            "low_balance_threshold"
        ]
        == "0.0000000"
    )
    answer = api.patch(url, {"low_balance_threshold": None}, format="json")
    assert answer.json()["low_balance_threshold"] is None
    assert AuditEntry.objects.filter(action="controls.changed").count() == 3

    for role in (Role.BUSINESS, Role.DEVELOPER, Role.INITIATOR, Role.APPROVER):
        other = client_for(role_user(organization, role))
        assert other.get(url).status_code == 200
        assert (
            other.patch(url, {"low_balance_threshold": "1"}, format="json").status_code
            == 403
        ), role
    controller = client_for(role_user(organization, Role.FINANCIAL_CONTROLLER))
    assert (
        controller.patch(url, {"low_balance_threshold": "1"}, format="json").status_code
        == 200
    )
    stranger = AssetFactory(organization=OrganizationFactory(), code="EURC")
    assert (
        api.patch(
            f"/assets/{stranger.pk}/controls",
            {"low_balance_threshold": "1"},
            format="json",
        ).status_code
        == 404
    )


# --- duplicate warnings -------------------------------------------------------------


def test_upload_warns_and_start_needs_an_acknowledgement(
    api, owner, organization, wallet, usdc
):
    first = create_with_csv(api, wallet, usdc, name="May payroll").json()
    from tests.disbursements.test_api_disbursements import PHONE_CSV, csv_file

    second = api.post(
        "/disbursements",
        {
            "data": json.dumps(
                {
                    "name": "May payroll again",
                    "wallet_id": str(wallet.pk),
                    "asset_id": str(usdc.pk),
                    "registration_contact_type": "PHONE_NUMBER",
                    "verification_field": "DATE_OF_BIRTH",
                }
            )
        },
    ).json()
    upload = api.post(
        f"/disbursements/{second['id']}/instructions", {"file": csv_file(PHONE_CSV)}
    )
    assert upload.status_code == 200
    warnings = upload.json()["duplicates"]
    assert {w["kind"] for w in warnings} == {"other_disbursement"}
    assert {w["earlier_payment"]["disbursement_id"] for w in warnings} == {first["id"]}
    assert {w["receiver_external_id"] for w in warnings} == {"r-1", "r-2"}

    refused = start(api, second["id"])
    assert refused.status_code == 400
    assert "acknowledge_duplicates" in refused.json()["extras"]
    assert len(refused.json()["extras"]["duplicates"]) == 2
    assert Disbursement.objects.get(pk=second["id"]).status == "READY"

    started = api.patch(
        f"/disbursements/{second['id']}/status",
        {"status": "STARTED", "acknowledge_duplicates": True},
        format="json",
    )
    assert started.status_code == 200, started.json()
    change = Disbursement.objects.get(pk=second["id"]).status_changes.get(
        to_status="STARTED"
    )
    assert change.note == "started; 2 duplicate warnings acknowledged"
    assert change.actor_id == owner.pk


def test_near_amounts_within_the_tenant_tolerance_are_duplicates(
    api, organization, wallet, usdc
):
    from auth_org.controls import update_tenant_settings
    from disbursements.duplicates import find_duplicates

    receiver_wallet = ReceiverWalletFactory(
        receiver__organization=organization, wallet=wallet
    )
    paid = ready_disbursement(
        organization, wallet, usdc, "100", receiver_wallet=receiver_wallet
    )
    Payment.objects.filter(disbursement=paid).update(status="SUCCESS")
    Disbursement.objects.filter(pk=paid.pk).update(status="COMPLETED")
    later = ready_disbursement(
        organization, wallet, usdc, "101", receiver_wallet=receiver_wallet
    )
    assert find_duplicates(later) == []
    update_tenant_settings(
        organization, {"duplicate_tolerance_percent": "2"}, actor=None
    )
    (warning,) = find_duplicates(later)
    assert warning["kind"] == "recent_payment"
    assert warning["earlier_payment"]["amount"] == "100.0000000"
    # Older than the window: no longer a warning.
    update_tenant_settings(organization, {"duplicate_window_days": 1}, actor=None)
    from datetime import timedelta

    from django.utils import timezone

    Payment.objects.filter(disbursement=paid).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    assert find_duplicates(later) == []


def test_tenant_controls_route(api, organization):
    answer = api.patch(
        "/organization/controls",
        {"duplicate_tolerance_percent": "1.5", "cooling_period_hours": 24},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "duplicate_window_days": 30,
        "duplicate_tolerance_percent": "1.50",
        "cooling_period_hours": 24,
    }
    assert api.get("/organization/controls").json() == answer.json()
    bad = api.patch(
        "/organization/controls", {"duplicate_tolerance_percent": "NaN"}, format="json"
    )
    assert bad.status_code == 400
    assert AuditEntry.objects.filter(action="controls.changed").count() == 1
