"""Django admin login for platform operators.

Emails are unique per organization, not globally, so Django's ModelBackend cannot
look a user up by email alone. The admin is for operators (users with no
organization) and for staff flagged explicitly; dashboard users log in through
the API, which knows the tenant.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from auth_org.models import User


class OperatorBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: object,
    ) -> User | None:
        if not username or not password:
            return None
        candidates = list(
            User.objects.filter(email__iexact=username, is_staff=True)[:2]
        )
        if len(candidates) != 1:
            User().set_password(password)  # same work either way: no user enumeration
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
