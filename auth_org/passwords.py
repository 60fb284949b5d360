"""Password policy beyond Django's validators: SDP's character classes.

With Django's MinimumLength (12), CommonPassword and Numeric validators (settings),
this is at least as strict as SDP: 12+ characters, a lower-case letter, an
upper-case letter, a digit and a special character, not a common password.
"""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

MAX_LENGTH = 128

_CLASSES = (
    (re.compile(r"[a-z]"), "a lower-case letter"),
    (re.compile(r"[A-Z]"), "an upper-case letter"),
    (re.compile(r"\d"), "a digit"),
    (re.compile(r"[^a-zA-Z\d\s]"), "a special character"),
)


class CharacterClassValidator:
    def validate(self, password: str, user: object = None) -> None:
        missing = [name for pattern, name in _CLASSES if not pattern.search(password)]
        if missing:
            raise ValidationError(
                "The password must contain " + ", ".join(missing) + ".",
                code="password_character_classes",
            )
        if len(password) > MAX_LENGTH:
            raise ValidationError(
                f"The password must be at most {MAX_LENGTH} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return (
            "Your password must contain a lower-case letter, an upper-case letter, "
            "a digit and a special character."
        )


def password_problems(password: str, user: object = None) -> str | None:
    """The policy's complaints about ``password`` as one message, or None."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None
