"""The tenant's webhook endpoints, with the audit row of each change in the
same transaction (webhooks.services writes the endpoints; this layer knows
who acted). Secrets are never in the audit: only the fact of a roll."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from auth_org import audit
from auth_org.audit import Action
from auth_org.models import Role, User
from core.api import APIError
from webhooks import services
from webhooks.models import Endpoint


@transaction.atomic
def create_endpoint(user: User, *, ip: str | None, **fields) -> tuple[Endpoint, str]:
    if user.organization_id is None:
        raise APIError("only a tenant's users have webhook endpoints")
    endpoint, secret = services.create_endpoint(
        tenant_id=user.organization_id, created_by_id=user.pk, **fields
    )
    audit.record(
        Action.WEBHOOK_CREATED,
        organization=user.organization,
        actor=user,
        ip_address=ip,
        target=endpoint,
        changes={"url": endpoint.url, "event_types": endpoint.event_types},
    )
    return endpoint, secret


@transaction.atomic
def update_endpoint(endpoint: Endpoint, user: User, *, ip: str | None, **fields):
    made = services.update_endpoint(endpoint, **fields)
    if made:
        audit.record(
            Action.WEBHOOK_UPDATED,
            organization=user.organization,
            actor=user,
            ip_address=ip,
            target=endpoint,
            changes=made,
        )
    return endpoint


@transaction.atomic
def delete_endpoint(endpoint: Endpoint, user: User, *, ip: str | None) -> None:
    audit.record(
        Action.WEBHOOK_DELETED,
        organization=user.organization,
        actor=user,
        ip_address=ip,
        target=endpoint,
        changes={"url": endpoint.url},
    )
    services.delete_endpoint(endpoint)


@transaction.atomic
def roll_secret(endpoint: Endpoint, user: User, *, ip: str | None) -> str:
    secret = services.roll_secret(endpoint)
    audit.record(
        Action.WEBHOOK_SECRET_ROLLED,
        organization=user.organization,
        actor=user,
        ip_address=ip,
        target=endpoint,
        changes={"secret": "rolled"},
    )
    return secret


def on_endpoint_disabled(sender, endpoint: Endpoint, **kwargs) -> None:
    """Email the tenant's owners that the platform disabled an endpoint."""
    from messaging.models import Message
    from messaging.services import queue_message

    owners = User.objects.filter(
        Q(is_owner=True) | Q(roles__contains=[Role.OWNER]),
        organization_id=endpoint.tenant_id,
        is_active=True,
    )
    for owner in owners:
        queue_message(
            tenant_id=endpoint.tenant_id,
            kind=Message.Kind.WEBHOOK_DISABLED,
            channel=Message.Channel.EMAIL,
            recipient=owner.email,
            title="A webhook endpoint was disabled",
            body=(
                f"The webhook endpoint {endpoint.url} did not accept events "
                "for the whole retry window and was disabled. Fix it, then "
                "enable it again in the dashboard: the events waiting for it "
                "will be delivered."
            ),
            user_id=owner.pk,
        )


def connect() -> None:
    from webhooks.signals import endpoint_disabled

    endpoint_disabled.connect(
        on_endpoint_disabled, dispatch_uid="auth_org.webhook_disabled_email"
    )
