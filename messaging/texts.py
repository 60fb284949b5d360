"""Message types, their default texts (Django templates in
``messaging/templates/messaging/``) and the rules for an organization's overrides.

SDP's types and variables (§7.1): receiver invitation (organization_name,
registration_link), receiver OTP (otp, organization_name), and the staff emails
user invitation (first_name, role, organization_name, forgot_password_link),
forgot password (reset_password_link) and MFA code (mfa_code). Callers render with
these functions and hand the text to ``queue_message``.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import render_to_string

from messaging.models import Message

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

_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_DANGEROUS = re.compile(r"javascript\s*:|expression\s*\(", re.IGNORECASE)


@lru_cache(maxsize=16)
def default_template(kind: str) -> str:
    """The default text of an SMS-able type, as a template source."""
    from django.template.loader import get_template

    return get_template(DEFAULT_TEMPLATE_FILES[kind]).template.source


def validate_template_override(text: str, *, field: str = "template") -> str:
    """Check an organization's (or disbursement's) SMS template override; returns
    it stripped. An empty string means "use the default" and is valid.

    Raises ValidationError naming ``field`` when the text is longer than 255
    characters, contains HTML, ``javascript:`` or ``expression(`` (raw or
    entity-decoded, as SDP checks), or is not a valid template.
    """
    text = (text or "").strip()
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise ValidationError(
            {field: f"must be at most {MAX_TEMPLATE_LENGTH} characters"}
        )
    for candidate in (text, html.unescape(text), html.unescape(html.unescape(text))):
        if _HTML_TAG.search(candidate) or _DANGEROUS.search(candidate):
            raise ValidationError({field: "must not contain HTML or scripts"})
    try:
        Template(text)
    except TemplateSyntaxError as exc:
        raise ValidationError({field: f"is not a valid template: {exc}"}) from None
    return text


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return Template(source)


def _render_sms(source: str, context: dict) -> str:
    # SMS text is plain: no HTML escaping of names or links.
    return _compiled(source).render(Context(context, autoescape=False)).strip()


def render_receiver_invitation(
    template: str, *, organization_name: str, registration_link: str
) -> str:
    """The invitation text; the link is appended when the template lacks it."""
    source = template or default_template(Message.Kind.RECEIVER_INVITATION)
    if "registration_link" not in source:
        source = f"{source} {{{{ registration_link }}}}"
    return _render_sms(
        source,
        {
            "organization_name": organization_name,
            "registration_link": registration_link,
        },
    )


def render_receiver_otp(template: str, *, organization_name: str, otp: str) -> str:
    """The OTP text, SDP's warning appended; the code is prefixed when the
    template lacks it."""
    source = template or default_template(Message.Kind.RECEIVER_OTP)
    if "otp" not in source:
        source = f"{{{{ otp }}}} {source}"
    text = _render_sms(source, {"organization_name": organization_name, "otp": otp})
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
