"""Logging filters: no personal data or secrets; the request id's context.

``RedactingFilter`` is a safety net under the rule that code never logs a contact,
a code or a token: it rewrites the formatted message, replacing e-mail addresses,
phone numbers, JWTs, API keys, bearer tokens, Stellar secret seeds, values named
as secrets (password=, token=, otp=, ...) and six-digit one-time codes, and keeps
ids readable (UUIDs, Stellar public keys, transaction hashes, amounts).

The filter that puts the request id and the tenant on every record names a
tenant, so it lives with the tenants: ``auth_org.logfilters.RequestIDFilter``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time

# Set by core.middleware.RequestIDMiddleware for the duration of a request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default="-"
)

# The request being served, so that a log line can name its tenant once
# authentication has resolved it (read lazily, at logging time).
request_var: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "request", default=None
)

# What is secret or personal, and only that: ids stay readable (UUIDs such as
# payment ids, Stellar public keys G.../M..., transaction hashes, amounts,
# ledger numbers), since a log that hides them cannot be followed.
_HIDDEN_FIELD = (
    r"[\w-]*(?:password|passwd|secret|token|api_?key|private_?key|authorization"
    r"|otp|(?:mfa|verification|reset|confirmation)_?code)[\w-]*|pin"
)
_PATTERNS = [
    # JWTs: three base64url parts, the first one a JSON header ("eyJ").
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "[token]"),
    (re.compile(r"SDP_[0-9a-fA-F-]{36}\.[\w-]+"), "[api-key]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), r"\1 [redacted]"),
    # Stellar secret seeds (S + 55 base32 characters).
    (re.compile(r"(?<![A-Za-z0-9])S[A-Z2-7]{55}(?![A-Za-z0-9])"), "[secret-seed]"),
    # name=value / "name": "value" where the name says it is secret.
    (
        re.compile(rf"(?i)\b({_HIDDEN_FIELD})\b([\"']?\s*[:=]\s*)[\"']?[^\s,\"'}}&]+"),
        r"\1\2***",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    # Phones: E.164 ("+" and digits, maybe spaced), or a bare run of 10-15
    # digits; never digits inside an id (a UUID's groups, a hash) or a number.
    (re.compile(r"(?<![\w.+-])\+\d[\d ()-]{6,}\d(?![\w.-])"), "[phone]"),
    (re.compile(r"(?<![\w.+-])\d{10,15}(?![\w.-])"), "[phone]"),
    # One-time codes: six digits on their own.
    (re.compile(r"(?<![\w.+-])\d{6}(?![\w.-])"), "[code]"),
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


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, tenant.

    Runs after RedactingFilter, so the message is already free of contacts,
    codes and tokens; exceptions are kept to their type and message (a stack
    trace can quote request data).
    """

    converter = time.gmtime  # type: ignore[assignment]  # the stubs' signature is narrower
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
        access = getattr(record, "access", None)
        if isinstance(access, dict):  # sdp.accesslog
            entry.update({k: v for k, v in access.items() if k not in entry})
            entry["path"] = redact(str(access.get("path", "")))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = redact(f"{type(error).__name__}: {error}")
        return json.dumps(entry, ensure_ascii=False)
