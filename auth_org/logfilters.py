"""The request id and the tenant's name on every log record.

Configured by name in ``LOGGING`` (sdp/settings.py), before the apps load, so
this module imports no model at import time.
"""

from __future__ import annotations

import logging

from core.logfilters import request_id_var, request_var


class RequestIDFilter(logging.Filter):
    """Adds ``request_id`` and ``tenant`` (the tenant's name, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        # Only a tenant already known: resolving one here would query the
        # database from inside logging. (Imported here: logging is configured
        # before the apps and their models load.)
        from auth_org.tenancy import known_tenant

        tenant = known_tenant(request_var.get())
        record.tenant = getattr(tenant, "name", None) or "-"
        return True
