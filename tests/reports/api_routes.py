"""The reports' routes in the role matrix and tenant isolation suites. The
statement without its query answers 400 before any network read."""

from __future__ import annotations

from auth_org.permissions import OWNER_FC
from tests.api_matrix import Route, register

register(
    Route("GET", "reports/statement", OWNER_FC, "read:exports"),
    Route("GET", "reports/payment/{payment}", OWNER_FC, "read:payments"),
    Route("GET", "reports/reconciliation", OWNER_FC, "read:payments"),
)
