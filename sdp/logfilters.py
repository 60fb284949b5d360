"""Logging filters: the request id on every record, and no personal data or secrets.

``RedactingFilter`` is a safety net under the rule that code never logs a contact,
a code or a token: it rewrites the formatted message, replacing e-mail addresses,
phone numbers, JWTs, API keys, bearer tokens and long digit runs (one-time codes).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time

# Set by sdp.middleware.RequestIDMiddleware for the duration of a request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="-"
)

# The request being served, so that a log line can name its tenant once
# authentication has resolved it (read lazily, at logging time).
request_var: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "request", default=None
)

_PATTERNS = [
    # JWTs: three base64url parts, the first one a JSON header ("eyJ").
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "[token]"),
    (re.compile(r"SDP_[0-9a-fA-F-]{36}\.[\w-]+"), "[api-key]"),
    (re.compile(r"(?i)(bearer|basic)\s+[\w.~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"\+?\d[\d ()-]{7,}\d"), "[phone]"),
    (
        re.compile(r"(?i)(password|secret|token|code|otp)([\"']?\s*[:=]\s*)\S+"),
        r"\1\2***",
    ),
    (re.compile(r"(?<![\w.-])\d{6}(?![\w.-])"), "[code]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        return True


class RequestIDFilter(logging.Filter):
    """Adds ``request_id`` and ``tenant`` (the tenant's name, or "-")."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        # Only a tenant already known: resolving one here would query the
        # database from inside logging. (Imported here: logging is configured
        # before the apps and their models load.)
        from sdp.tenancy import known_tenant

        tenant = known_tenant(request_var.get())
        record.tenant = getattr(tenant, "name", None) or "-"
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, tenant.

    Runs after RedactingFilter, so the message is already free of contacts,
    codes and tokens; exceptions are kept to their type and message (a stack
    trace can quote request data).
    """

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "tenant": getattr(record, "tenant", "-"),
        }
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = redact(f"{type(error).__name__}: {error}")
        return json.dumps(entry, ensure_ascii=False)
