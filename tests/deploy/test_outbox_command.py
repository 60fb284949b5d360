"""docs/dashboard.md's way to read the MFA code with the dry-run sender:
`manage.py outbox --to EMAIL --kind USER_MFA` prints the stored body (the
admin hides bodies, the dry-run sender logs only their length)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from messaging.models import Message
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

EMAIL = "owner@demo.example.org"


def _outbox(*args: str) -> str:
    out = io.StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def _mfa(sender: str, body: str) -> Message:
    return MessageFactory(
        recipient=EMAIL, kind=Message.Kind.USER_MFA, sender=sender, body=body
    )


def test_prints_the_newest_dry_run_mfa_code():
    _mfa(Message.Sender.DRY_RUN, "Your code is 111111")
    _mfa(Message.Sender.DRY_RUN, "Your code is 222222")
    out = _outbox("--to", EMAIL.upper(), "--kind", "USER_MFA")
    assert "222222" in out
    assert "111111" not in out


def test_never_prints_what_a_real_sender_delivered():
    _mfa(Message.Sender.AWS_EMAIL, "Your code is 333333")
    with pytest.raises(CommandError, match="no dry-run message"):
        _outbox("--to", EMAIL)
