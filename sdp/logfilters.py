"""Logging filters: the request id on every record, and no personal data or secrets.

``RedactingFilter`` is a safety net under the rule that code never logs a contact,
a code or a token: it rewrites the formatted message, replacing e-mail addresses,
phone numbers, JWTs, API keys, bearer tokens and long digit runs (one-time codes).
"""

from __future__ import annotations

import contextvars
import logging
import re

# Set by sdp.middleware.RequestIDMiddleware for the duration of a request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="-"
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
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
