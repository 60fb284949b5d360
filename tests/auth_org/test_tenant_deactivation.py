"""A tenant is not deactivated while its payments are READY or PENDING: auth_org
asks (auth_org.signals.tenant_deactivating), disbursements, which owns the
payments, refuses; nothing is written."""

from __future__ import annotations

import pytest

from auth_org import tenants
from auth_org.models import Organization
from core.api import APIError
from tests.factories import PaymentFactory


@pytest.mark.parametrize("status", ["READY", "PENDING"])
def test_deactivation_refused_while_payments_are_in_flight(organization, status):
    PaymentFactory(disbursement__organization=organization, status=status)
    with pytest.raises(APIError, match="payments READY or PENDING"):
        tenants.update_tenant(
            organization, data={"status": Organization.Status.DEACTIVATED}
        )
    organization.refresh_from_db()
    assert organization.status != Organization.Status.DEACTIVATED


def test_deactivation_once_payments_are_done(organization):
    PaymentFactory(disbursement__organization=organization, status="SUCCESS")
    tenants.update_tenant(
        organization, data={"status": Organization.Status.DEACTIVATED}
    )
    organization.refresh_from_db()
    assert organization.status == Organization.Status.DEACTIVATED
