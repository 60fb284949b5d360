"""Message types, their default texts (in ``messaging/templates/messaging/``) and
the rules for an organization's (or a disbursement's) overrides.

SDP's types and variables (§7.1): receiver invitation (organization_name,
registration_link), receiver OTP (otp, organization_name), and the staff emails
user invitation (first_name, role, organization_name, forgot_password_link),
forgot password (reset_password_link) and MFA code (mfa_code). Callers render with
these functions and hand the text to ``queue_message``.

The receiver texts an organization writes are not Django (or Go) templates: they
are plain text with named placeholders, substituted in one linear pass. A
placeholder is written either as SDP writes it, ``{{.OrganizationName}}``, or as
we always have, ``{{ organization_name }}``; both mean the same value:

- invitation: ``{{.OrganizationName}}`` / ``{{ organization_name }}`` and
  ``{{.RegistrationLink}}`` / ``{{ registration_link }}``;
- one-time code: ``{{.OTP}}`` / ``{{ otp }}`` and ``{{.OrganizationName}}`` /
  ``{{ organization_name }}``.

Tags (``{% ... %}``), comments (``{# ... #}``), filters, fields of fields and
unknown names are refused when a template is saved (``validate_template``), and
never executed: a stored text that breaks the rules (saved before they existed)
is replaced by the default text when rendered.
"""

from __future__ import annotations

import html
import logging
import re
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.template.loader import render_to_string

from messaging.models import Message

logger = logging.getLogger(__name__)

MAX_TEMPLATE_LENGTH = 255
OTP_SUFFIX = (
    " If you did not request this code, please ignore. "
    "Do not share your code with anyone."
)
SUBJECTS = {
    Message.Kind.RECEIVER_INVITATION: "You have a payment waiting for you from {org}",
    Message.Kind.RECEIVER_OTP: "Your One-Time Password: {otp}",
    Message.Kind.USER_INVITATION: "You have been invited to {org}",
    Message.Kind.USER_FORGOT_PASSWORD: "Reset your password",
    Message.Kind.USER_MFA: "Verification code to access your account",
}
DEFAULT_TEMPLATE_FILES = {
    Message.Kind.RECEIVER_INVITATION: "messaging/receiver_invitation.txt",
    Message.Kind.RECEIVER_OTP: "messaging/receiver_otp.txt",
    Message.Kind.USER_INVITATION: "messaging/user_invitation.html",
    Message.Kind.USER_FORGOT_PASSWORD: "messaging/user_forgot_password.html",
    Message.Kind.USER_MFA: "messaging/user_mfa.html",
}

# The placeholders of each receiver text: every accepted spelling -> the value's
# name. SDP's Go spelling first (what the errors suggest), then ours.
PLACEHOLDERS: dict[str, dict[str, str]] = {
    Message.Kind.RECEIVER_INVITATION: {
        "OrganizationName": "organization_name",
        "RegistrationLink": "registration_link",
        "organization_name": "organization_name",
        "registration_link": "registration_link",
    },
    Message.Kind.RECEIVER_OTP: {
        "OTP": "otp",
        "OrganizationName": "organization_name",
        "otp": "otp",
        "organization_name": "organization_name",
    },
}

# ``{{ name }}`` or ``{{.Name}}`` (spaces optional). Bounded character classes:
# one linear pass, whatever the input.
_PLACEHOLDER = re.compile(r"\{\{\s*\.?([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
_BRACES = re.compile(r"\{\{[^{}]{0,80}\}\}|\{\{")
_TAG = re.compile(r"\{[%#][^{}]{0,60}\}?")
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_DANGEROUS = re.compile(r"javascript\s*:|expression\s*\(", re.IGNORECASE)


def _allowed(kind: str) -> str:
    names = [name for name in PLACEHOLDERS[kind] if name[0].isupper()]
    return ", ".join("{{." + name + "}}" for name in names)


def _problem(text: str, kind: str) -> str | None:
    """Why ``text`` is not an acceptable template of ``kind``, or None."""
    tag = _TAG.search(text)
    if tag:
        shown = tag.group(0)
        end = shown.find("%}") if shown[1] == "%" else shown.find("#}")
        shown = shown[: end + 2] if end >= 0 else shown
        return (
            f"template tags are not allowed: {shown.strip()}; "
            f"use only the placeholders {_allowed(kind)}"
        )
    names = PLACEHOLDERS[kind]
    for match in _BRACES.finditer(text):
        placeholder = _PLACEHOLDER.fullmatch(match.group(0))
        if placeholder is None:
            return (
                f"{match.group(0)} is not a placeholder (no filters, functions or "
                f"expressions); use only {_allowed(kind)}"
            )
        if placeholder.group(1) not in names:
            return f"unknown placeholder {match.group(0)}; use only {_allowed(kind)}"
    return None


@lru_cache(maxsize=16)
def default_template(kind: str) -> str:
    """The default text of an SMS-able type, as a template source."""
    from django.template.loader import get_template

    return get_template(DEFAULT_TEMPLATE_FILES[kind]).template.source


def validate_template(
    text: str,
    *,
    kind: str = Message.Kind.RECEIVER_INVITATION,
    field: str = "template",
    max_length: int = MAX_TEMPLATE_LENGTH,
) -> str:
    """Check an organization's (or disbursement's) receiver template override;
    returns it stripped. An empty string means "use the default" and is valid.

    Raises ValidationError ``{field: message}`` when the text is longer than
    ``max_length``, contains HTML, ``javascript:`` or ``expression(`` (raw or
    entity-decoded, as SDP checks), a template tag, a filter, or a placeholder
    that ``kind`` does not have (the message names it).
    """
    text = (text or "").strip()
    if len(text) > max_length:
        raise ValidationError({field: f"must be at most {max_length} characters"})
    for candidate in (text, html.unescape(text), html.unescape(html.unescape(text))):
        if _HTML_TAG.search(candidate) or _DANGEROUS.search(candidate):
            raise ValidationError({field: "must not contain HTML or scripts"})
    problem = _problem(text, kind)
    if problem:
        raise ValidationError({field: problem})
    return text


def validate_template_override(text: str, *, field: str = "template") -> str:
    """``validate_template`` for the OTP or invitation text named by ``field``."""
    kind = (
        Message.Kind.RECEIVER_OTP
        if field.startswith("otp")
        else Message.Kind.RECEIVER_INVITATION
    )
    return validate_template(text, kind=kind, field=field)


def _has(source: str, kind: str, value_name: str) -> bool:
    names = PLACEHOLDERS[kind]
    return any(
        names.get(match.group(1)) == value_name
        for match in _PLACEHOLDER.finditer(source)
    )


def render_template(source: str, kind: str, values: dict[str, str]) -> str:
    """Substitute ``kind``'s placeholders in ``source`` (one pass; the values are
    inserted as they are and never read again as a template). A source that
    breaks the rules is not executed: the default text is used instead."""
    if _problem(source, kind):
        logger.warning("refused a stored %s template that breaks the rules", kind)
        source = default_template(kind)
    names = PLACEHOLDERS[kind]

    def value(match: re.Match) -> str:
        return values.get(names.get(match.group(1), ""), "")

    return _PLACEHOLDER.sub(value, source).strip()


def render_receiver_invitation(
    template: str, *, organization_name: str, registration_link: str
) -> str:
    """The invitation text; the link is appended when the template lacks it."""
    kind = Message.Kind.RECEIVER_INVITATION
    source = (template or "").strip() or default_template(kind)
    if _problem(source, kind):
        logger.warning("refused a stored invitation template that breaks the rules")
        source = default_template(kind)
    if not _has(source, kind, "registration_link"):
        source = f"{source} {{{{.RegistrationLink}}}}"
    return render_template(
        source,
        kind,
        {
            "organization_name": organization_name,
            "registration_link": registration_link,
        },
    )


def render_receiver_otp(template: str, *, organization_name: str, otp: str) -> str:
    """The OTP text, SDP's warning appended; the code is prefixed when the
    template lacks it."""
    kind = Message.Kind.RECEIVER_OTP
    source = (template or "").strip() or default_template(kind)
    if _problem(source, kind):
        logger.warning("refused a stored OTP template that breaks the rules")
        source = default_template(kind)
    if not _has(source, kind, "otp"):
        source = f"{{{{.OTP}}}} {source}"
    text = render_template(
        source, kind, {"organization_name": organization_name, "otp": otp}
    )
    return text + OTP_SUFFIX


def render_staff_email(kind: str, context: dict) -> tuple[str, str]:
    """(subject, HTML body) of a staff email: USER_INVITATION (first_name, role,
    organization_name, forgot_password_link), USER_FORGOT_PASSWORD
    (reset_password_link, organization_name) or USER_MFA (mfa_code)."""
    body = render_to_string(DEFAULT_TEMPLATE_FILES[kind], context)
    subject = SUBJECTS[kind].format(org=context.get("organization_name", ""))
    return subject, body


def subject_for(kind: str, **values: str) -> str:
    return SUBJECTS[kind].format(**values)
