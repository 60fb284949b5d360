"""Disbursements, payments, statistics and exports in the role matrix and tenant
isolation suites. Objects are made so that allowed roles get past the role check
without touching the network (a DRAFT disbursement cannot start: 400)."""

from __future__ import annotations

import json

from auth_org.models import Role
from auth_org.permissions import ALL, BIZ, OWNER_FC
from tests.api_matrix import Route, Upload, register, register_object
from tests.factories import DisbursementFactory, PaymentFactory

WRITE = OWNER_FC | {Role.INITIATOR}
START = OWNER_FC | {Role.APPROVER}
PAY = OWNER_FC | {Role.BUSINESS}
EXPORT = OWNER_FC | {Role.APPROVER, Role.INITIATOR}
INSTRUCTIONS = Upload(
    "instructions.csv",
    b"phone,id,amount,verification\n+14155550101,r-1,10.5,1990-01-30\n",
)


def multipart_draft(ids: dict[str, str]) -> dict:
    """The dashboard's create form: the fields as JSON in ``data``, and the file."""
    data = {
        "name": "Matrix payroll",
        "wallet_id": ids["wallet"],
        "asset_id": ids["native_asset"],
        "registration_contact_type": "PHONE_NUMBER",
        "verification_field": "DATE_OF_BIRTH",
    }
    return {"data": json.dumps(data), "file": INSTRUCTIONS}


@register_object("disbursement")
def make_disbursement(organization, user) -> str:
    return str(DisbursementFactory(organization=organization).pk)


@register_object("payment")
def make_payment(organization, user) -> str:
    disbursement = DisbursementFactory(organization=organization, status="STARTED")
    return str(PaymentFactory(disbursement=disbursement, status="FAILED").pk)


register(
    Route("GET", "disbursements", BIZ, "read:disbursements"),
    Route(
        "POST",
        "disbursements",
        WRITE,
        "write:disbursements",
        body={"name": "", "wallet_id": "x", "asset_id": "x"},
    ),
    Route("GET", "disbursements/{disbursement}", BIZ, "read:disbursements"),
    Route("DELETE", "disbursements/{disbursement}", WRITE, "write:disbursements"),
    Route(
        "GET", "disbursements/{disbursement}/instructions", BIZ, "read:disbursements"
    ),
    Route(
        "POST",
        "disbursements",
        WRITE,
        "write:disbursements",
        body=multipart_draft,
        multipart=True,
        body_objects=("wallet", "native_asset"),
    ),
    Route(
        "POST",
        "disbursements/{disbursement}/instructions",
        WRITE,
        "write:disbursements",
        body={"file": INSTRUCTIONS},
        multipart=True,
    ),
    Route("GET", "disbursements/{disbursement}/receivers", BIZ, "read:disbursements"),
    Route(
        "PATCH",
        "disbursements/{disbursement}/status",
        START,
        "write:disbursements",
        body={"status": "STARTED"},
    ),
    Route("GET", "payments", BIZ, "read:payments"),
    Route("GET", "payments/{payment}", BIZ, "read:payments"),
    Route(
        "POST",
        "payments",
        PAY,
        "write:payments",
        body={"amount": "0", "asset": {}, "receiver": {}},
    ),
    Route(
        "PATCH",
        "payments/retry",
        PAY,
        "write:payments",
        body=lambda ids: {"payment_ids": [ids["payment"]]},
        body_objects=("payment",),
    ),
    Route(
        "PATCH",
        "payments/{payment}/status",
        OWNER_FC,
        "write:payments",
        body={"status": "CANCELED"},
    ),
    # docs/controls.md
    Route("GET", "disbursements/{disbursement}/preflight", BIZ, "read:disbursements"),
    Route(
        "POST",
        "disbursements/{disbursement}/retry",
        PAY,
        "write:payments",
        body={"reason": "no_trustline"},
    ),
    Route(
        "POST",
        "payments/{payment}/release",
        OWNER_FC,
        "write:payments",
        body={"reason": "checked"},
    ),
    Route("POST", "payments/{payment}/approve", START, "write:disbursements"),
    Route("GET", "statistics", ALL, "read:statistics"),
    Route("GET", "statistics/{disbursement}", ALL, "read:statistics"),
    Route("GET", "exports/disbursements", EXPORT, "read:exports"),
    Route("GET", "exports/payments", EXPORT, "read:exports"),
    Route("GET", "exports/receivers", EXPORT, "read:exports"),
)
