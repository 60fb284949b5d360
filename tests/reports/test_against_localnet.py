"""Statements, notices and the reconciliation against the localnet, with real
payments made by the TSS worker and a difference of each kind planted: a
payment sent from the distribution account outside the platform, and payment
rows edited in the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import formats, translation
from prometheus_client import REGISTRY
from stellar_sdk import Asset as SdkAsset
from stellar_sdk import Keypair
from stellar_sdk import Payment as PaymentOp

from auth_org.models import Role
from disbursements.handoff import hand_off_payments
from disbursements.models import Disbursement, Payment
from messaging.models import Message
from receivers.models import ReceiverWallet
from reports import ledger, matching, render, statements
from reports.api import report_locale
from reports.models import Difference
from reports.reconciliation import MARGIN
from tests.factories import (
    AssetFactory,
    DisbursementFactory,
    OrganizationFactory,
    PaymentFactory,
    UserFactory,
)
from tests.reports.conftest import client_for
from tests.reports.pdftext import assert_shows, pdf_text
from tests.tss.conftest import create_receivers
from tss import accounts, keys
from tss.models import SubmitterTransaction

AMOUNTS = [Decimal("1.25"), Decimal("2.5"), Decimal("3.75"), Decimal("4.1"),
           Decimal("5.0000001")]  # fmt: skip


def _pay_disbursement(organization):
    disbursement = DisbursementFactory(
        organization=organization,
        name="December payroll",
        status=Disbursement.Status.STARTED,
        asset=AssetFactory(organization=organization, code="XLM", issuer=""),
    )
    destinations = create_receivers(len(AMOUNTS))
    for destination, amount in zip(destinations, AMOUNTS, strict=True):
        PaymentFactory(
            disbursement=disbursement,
            asset=disbursement.asset,
            status=Payment.Status.READY,
            amount=amount,
            receiver_wallet__status=ReceiverWallet.Status.REGISTERED,
            receiver_wallet__stellar_address=destination,
        )
    hand_off_payments(Payment.objects.filter(disbursement=disbursement))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not Payment.objects.filter(disbursement=disbursement).exclude(
            status=Payment.Status.SUCCESS
        ):
            break
        time.sleep(0.2)
    payments = list(
        Payment.objects.filter(disbursement=disbursement).order_by("amount")
    )
    assert [p.status for p in payments] == [Payment.Status.SUCCESS] * len(AMOUNTS)
    return disbursement, payments


@pytest.mark.django_db(transaction=True)
def test_statement_notice_and_reconciliation_with_planted_differences(
    network, tss_worker, channel_accounts, settings
):
    # The organization's locale, not the deployment's, formats its reports.
    settings.REPORTS_LOCALE = "en"
    settings.TRANSACTION_EXPLORER_URL = "https://explorer.example/tx/{hash}"
    channel_accounts(2)
    organization = OrganizationFactory(display_name="Acme Relief", locale="de")
    owner = UserFactory(organization=organization, roles=[Role.OWNER])
    account = accounts.create_distribution_account(organization.pk)
    _disbursement, payments = _pay_disbursement(organization)
    today = dt.datetime.now(dt.UTC).date()

    # --- the statement before any planted difference: the network's balances
    asset = payments[0].asset
    statement = statements.build(organization, asset, today, today)
    network_now = ledger.balance(account, ("XLM", ""))
    assert statement.closing == network_now
    # created today: the period's movements (creation, payments, fees) explain
    # the whole balance, so the opening balance read back is zero
    assert statement.opening == Decimal(0)
    paid = [line for line in statement.lines if line.kind == "payment_out"]
    assert sorted(-line.amount for line in paid) == AMOUNTS
    assert {line.receiver_external_id for line in paid} == {
        p.receiver.external_id for p in payments
    }
    assert {line.disbursement for line in paid} == {"December payroll"}
    assert {line.transaction_hash for line in paid} == {
        p.stellar_transaction_id for p in payments
    }
    assert not statement.disagrees
    assert statement.network_payments_out == sum(AMOUNTS)
    # the TSS batched them: transactions of several payments, and the index of
    # each payment's operation, as the TSS recorded it, is the one in Horizon's
    # operation id (what the reconciliation pairs by first)
    assert len({p.stellar_transaction_id for p in payments}) < len(payments)
    records = ledger.operations_since(account, dt.datetime.now(dt.UTC) - MARGIN)
    by_destination = {
        op.destination: op
        for op in ledger.outgoing_payments(records, account, ("XLM", ""))
    }
    for payment in payments:
        row = SubmitterTransaction.objects.get(external_id=str(payment.pk))
        op = by_destination[payment.receiver_wallet.stellar_address]
        assert op.transaction_hash == row.stellar_transaction_hash
        assert matching.operation_index(op.operation_id) == row.operation_index

    # --- plant one difference of each kind
    outsider = create_receivers(1)[0]
    outside = accounts.run_transaction(
        keys.distribution_keypair(organization.pk),
        [PaymentOp(destination=outsider, asset=SdkAsset.native(), amount="0.7")],
    )
    edited_amount, edited_status, edited_hash, edited_destination, untouched = payments
    tamper(edited_amount.pk, amount=Decimal("9.99"))
    # and the memo we asked the TSS for, edited where it is kept
    SubmitterTransaction.objects.filter(external_id=str(edited_amount.pk)).update(
        memo="invoice 7", memo_type="text"
    )
    tamper(edited_status.pk, status=Payment.Status.FAILED)
    tamper(edited_hash.pk, stellar_transaction_id="ab" * 32)
    other = Keypair.random().public_key
    ReceiverWallet.objects.filter(pk=edited_destination.receiver_wallet_id).update(
        stellar_address=other
    )

    out = io.StringIO()
    call_command(
        "reconcile", "--tenant", organization.name, "--date", today.isoformat(),
        stdout=out,
    )  # fmt: skip
    assert "differences=7" in out.getvalue()
    found = {
        (d.kind, str(d.payment_id) if d.payment_id else d.transaction_hash)
        for d in Difference.objects.filter(reconciliation__organization=organization)
    }
    assert found == {
        (Difference.Kind.AMOUNT_DIFFERS, str(edited_amount.pk)),
        (Difference.Kind.MEMO_DIFFERS, str(edited_amount.pk)),
        (Difference.Kind.NOT_SUCCESS_HERE, str(edited_status.pk)),
        (Difference.Kind.MISSING_ON_NETWORK, str(edited_hash.pk)),
        (Difference.Kind.UNKNOWN_PAYMENT, edited_hash.stellar_transaction_id),
        (Difference.Kind.DESTINATION_DIFFERS, str(edited_destination.pk)),
        (Difference.Kind.UNKNOWN_PAYMENT, outside["hash"]),
    }
    amount_row = Difference.objects.get(kind=Difference.Kind.AMOUNT_DIFFERS)
    assert (amount_row.our_amount, amount_row.network_amount) == (
        Decimal("9.99"),
        edited_amount.amount,
    )

    # the API, as the dashboard asks
    response = client_for(owner).get(f"/reports/reconciliation?date={today}")
    assert response.status_code == 200
    body = response.json()
    assert len(body["differences"]) == 7
    assert body["reconciled"][0]["payments_checked"] == 4  # one is FAILED now
    assert body["reconciled"][0]["operations_checked"] == 6
    # the owners are told by email
    email = Message.objects.get(
        tenant_id=organization.pk, kind=Message.Kind.RECONCILIATION_DIFFERENCES
    )
    assert email.recipient == owner.email
    assert "7 difference(s)" in email.title
    assert outside["hash"] in email.body
    # and /metrics counts them
    assert (
        REGISTRY.get_sample_value(
            "sdp_reconciliation_differences",
            {"tenant": organization.name, "kind": "UNKNOWN_PAYMENT"},
        )
        == 2
    )
    # re-running the day replaces its differences, it does not add to them
    call_command(
        "reconcile", "--tenant", organization.name, "--date", today.isoformat(),
        stdout=io.StringIO(),
    )  # fmt: skip
    assert (
        Difference.objects.filter(reconciliation__organization=organization).count()
        == 7
    )

    # --- the statement now: the network's balances, and the disagreement said
    statement = statements.build(organization, asset, today, today)
    assert statement.closing == ledger.balance(account, ("XLM", ""))
    assert statement.opening == Decimal(0)
    assert statement.network_payments_out == sum(AMOUNTS) + Decimal("0.7")
    assert statement.our_payments_out == (
        sum(AMOUNTS) - edited_amount.amount + Decimal("9.99") - edited_status.amount
    )
    assert statement.disagrees
    data = render.statement_pdf(statement, report_locale(organization))
    text = pdf_text(data)
    with translation.override("de"):
        figures = [
            render.money(v)
            for v in (
                statement.opening,
                statement.closing,
                statement.total_in,
                statement.total_out,
                statement.total_fees,
                statement.network_payments_out,
                statement.our_payments_out,
            )
        ] + [render.money(line.amount) for line in statement.lines]
        # German numbers: a decimal comma, a dot between thousands
        assert render.money(Decimal("-1234.5")) == "-1.234,5000000"
    assert all("," in f for f in figures)
    assert_shows(
        text,
        "Acme Relief",
        "disagree",
        *figures,
        *[line.transaction_hash for line in statement.lines],
        # each operation of the batch paired with its own payment (by its
        # index), the one whose destination was edited too; not the one whose
        # hash was edited (its line shows the network's counterparty alone)
        *[
            p.receiver.external_id
            for p in (edited_amount, edited_status, edited_destination, untouched)
        ],
        "December payroll",
        "Network fee",
    )
    # the CSV has the same lines
    rows = list(csv.reader(io.StringIO(render.statement_csv(statement))))
    body_rows = rows[2 : 2 + len(statement.lines)]
    assert [r[6] for r in body_rows] == [
        line.transaction_hash for line in statement.lines
    ]
    assert [Decimal(r[4]) for r in body_rows] == [
        line.amount for line in statement.lines
    ]
    assert Decimal(rows[1][4]) == statement.opening
    assert rows[-2][1] == "Closing balance"
    assert Decimal(rows[-2][4]) == statement.closing
    assert rows[-1][1] == "Platform records differ"

    # --- the statement through the API, as PDF and CSV
    api = client_for(owner)
    response = api.get(
        f"/reports/statement?asset_code=XLM&from={today}&to={today}&format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert outside["hash"] in response.content.decode()
    response = api.get(f"/reports/statement?asset_code=XLM&from={today}&to={today}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert outside["hash"] in pdf_text(response.content).replace("\n", "")
    assert_shows(pdf_text(response.content), *figures)

    # --- the operators' copy, from the disbursement's admin page
    staff = Client()
    staff.force_login(
        UserFactory(organization=None, roles=[], is_owner=False, is_staff=True,
                    is_superuser=True)
    )  # fmt: skip
    response = staff.get(
        f"/admin/reports/disbursement/{untouched.disbursement_id}/statement/"
    )
    assert response.status_code == 200
    assert_shows(
        pdf_text(response.content), outside["hash"], "December payroll", *figures
    )

    # --- the payment notice of a real payment
    response = api.get(f"/reports/payment/{untouched.pk}")
    assert response.status_code == 200
    text = pdf_text(response.content)
    with translation.override("de"):
        amount = render.money(untouched.amount)
        created = formats.date_format(untouched.created_at, "SHORT_DATETIME_FORMAT")
    history = list(untouched.status_changes.order_by("created_at", "pk"))
    assert [c.to_status for c in history][-1] == "SUCCESS"
    assert_shows(
        text,
        "Acme Relief",
        str(untouched.pk),
        amount,
        "XLM",
        untouched.receiver.external_id,
        untouched.receiver_wallet.stellar_address,
        untouched.stellar_transaction_id,
        f"https://explorer.example/tx/{untouched.stellar_transaction_id}",
        created,
        "December payroll",
        *[c.to_status for c in history],
    )
    assert len(pdf_pages(response.content)) == 1


def tamper(payment_id, **values) -> None:
    """Edit a payment row as someone with the database's superuser would: past
    the triggers that keep money rows immutable (session_replication_role)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for column, value in values.items():
            cursor.execute(
                f"UPDATE disbursements_payment SET {column} = %s WHERE id = %s",  # noqa: S608
                [value, payment_id],
            )


def pdf_pages(data: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(data)).pages


@pytest.mark.django_db
def test_daily_task_reconciles_every_active_tenants_yesterday(network):
    from auth_org.models import Organization
    from reports.models import Reconciliation
    from reports.tasks import reconcile_yesterday_task

    active = OrganizationFactory(status=Organization.Status.ACTIVATED)
    active.distribution_account_address = accounts.create_distribution_account(
        active.pk
    )
    active.save(update_fields=["distribution_account_address"])
    asset = AssetFactory(organization=active, code="XLM", issuer="")
    idle = OrganizationFactory(status=Organization.Status.CREATED)
    AssetFactory(organization=idle, code="XLM", issuer="")

    assert reconcile_yesterday_task() == 0
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    run = Reconciliation.objects.get(organization=active)
    assert (run.asset, run.date) == (asset, yesterday)
    assert run.distribution_account == active.distribution_account_address
    assert not Reconciliation.objects.filter(organization=idle).exists()
