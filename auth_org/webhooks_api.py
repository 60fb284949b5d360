"""Routes of the tenant's webhook endpoints (docs/webhooks.md).

Roles as for API keys (owner, developer), and a session only: an API key
cannot point the tenant's events (receivers' personal data) elsewhere.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_org import schemas
from auth_org import webhooks as endpoints
from auth_org.api import API_KEY_ROLES, _validated
from auth_org.models import User
from auth_org.permissions import SessionOnly
from core.api import NotFound
from core.apidoc import NO_CONTENT, answers, json_body
from core.middleware import client_ip
from core.params import PAGING, QueryParams, accepts
from webhooks.models import Attempt, Delivery, Endpoint

DELIVERIES_SHOWN = 100


def endpoint_json(endpoint: Endpoint, *, secret: str | None = None) -> dict[str, Any]:
    body = {
        "id": str(endpoint.pk),
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at.isoformat(),
        "updated_at": endpoint.updated_at.isoformat(),
    }
    if secret is not None:
        body["secret"] = secret
    return body


class EndpointUpdateInput(serializers.Serializer):
    url = serializers.CharField(max_length=2048, required=False)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50
    )
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True
    )
    enabled = serializers.BooleanField(required=False)


class EndpointInput(EndpointUpdateInput):
    url = serializers.CharField(max_length=2048)


def _user(request: Request) -> User:
    """The session's user (SessionOnly lets no one else in)."""
    return cast(User, request.user)


def _tenant_endpoints(request: Request) -> QuerySet[Endpoint]:
    tenant_id = _user(request).organization_id
    if tenant_id is None:  # a platform operator: no tenant, no endpoints
        return Endpoint.objects.none()
    return Endpoint.objects.filter(tenant_id=tenant_id)


def _endpoint(request: Request, pk: Any) -> Endpoint:
    endpoint = _tenant_endpoints(request).filter(pk=pk).first()
    if endpoint is None:
        raise NotFound("webhook endpoint not found")
    return endpoint


class WebhooksView(APIView):
    permission_classes = [SessionOnly]
    roles = API_KEY_ROLES

    @accepts(QueryParams())
    @extend_schema(responses=answers(schemas.WebhookEndpoint(many=True)))
    def get(self, request: Request) -> Response:
        found = _tenant_endpoints(request)
        return Response([endpoint_json(e) for e in found.order_by("created_at")])

    @extend_schema(
        request=json_body(EndpointInput),
        responses=answers(schemas.WebhookEndpoint, 201),
    )
    def post(self, request: Request) -> Response:
        data = _validated(EndpointInput, request.data)
        endpoint, secret = endpoints.create_endpoint(
            _user(request), ip=client_ip(request._request), **data
        )
        return Response(endpoint_json(endpoint, secret=secret), status=201)


class WebhookView(APIView):
    permission_classes = [SessionOnly]
    roles = API_KEY_ROLES

    @extend_schema(responses=answers(schemas.WebhookEndpoint))
    def get(self, request: Request, pk: Any) -> Response:
        return Response(endpoint_json(_endpoint(request, pk)))

    @extend_schema(
        request=json_body(EndpointUpdateInput),
        responses=answers(schemas.WebhookEndpoint),
    )
    def patch(self, request: Request, pk: Any) -> Response:
        endpoint = _endpoint(request, pk)
        data = _validated(EndpointUpdateInput, request.data)
        endpoints.update_endpoint(
            endpoint, _user(request), ip=client_ip(request._request), **data
        )
        return Response(endpoint_json(endpoint))

    @extend_schema(responses=answers(NO_CONTENT, 204))
    def delete(self, request: Request, pk: Any) -> Response:
        endpoints.delete_endpoint(
            _endpoint(request, pk), _user(request), ip=client_ip(request._request)
        )
        return Response(status=204)


class WebhookSecretView(APIView):
    permission_classes = [SessionOnly]
    roles = API_KEY_ROLES

    @extend_schema(request=None, responses=answers(schemas.WebhookEndpoint))
    def post(self, request: Request, pk: Any) -> Response:
        """Roll the secret: the new one is shown once; the old one keeps
        signing (beside it) for 24 hours."""
        endpoint = _endpoint(request, pk)
        secret = endpoints.roll_secret(
            endpoint, _user(request), ip=client_ip(request._request)
        )
        return Response(endpoint_json(endpoint, secret=secret))


def delivery_json(delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "event_id": str(delivery.event.uid),
        "event_type": delivery.event.type,
        "object_id": delivery.object_id,
        "status": delivery.status,
        "attempts": [
            {
                "started_at": a.started_at.isoformat(),
                "duration_ms": a.duration_ms,
                "status_code": a.status_code,
                "response_body": a.response_body,
                "error": a.error,
            }
            for a in attempts
        ],
        "next_attempt_at": delivery.next_attempt_at.isoformat()
        if delivery.status == Delivery.Status.PENDING
        else None,
        "delivered_at": delivery.delivered_at.isoformat()
        if delivery.delivered_at
        else None,
        "created_at": delivery.created_at.isoformat(),
    }


class WebhookDeliveriesView(APIView):
    permission_classes = [SessionOnly]
    roles = API_KEY_ROLES

    @accepts(QueryParams(PAGING))
    @extend_schema(responses=answers(schemas.WebhookDelivery(many=True)))
    def get(self, request: Request, pk: Any) -> Response:
        """The endpoint's latest deliveries, newest first, with their attempts."""
        endpoint = _endpoint(request, pk)
        page = max(int(request.query_params.get("page") or 1), 1)
        limit = min(max(int(request.query_params.get("page_limit") or 50), 1), 100)
        deliveries = list(
            Delivery.objects.filter(endpoint=endpoint)
            .select_related("event")
            .order_by("-id")[(page - 1) * limit : page * limit]
        )
        attempts: dict[int, list[Attempt]] = {d.pk: [] for d in deliveries}
        for attempt in Attempt.objects.filter(delivery_id__in=list(attempts)):
            attempts[attempt.delivery_id].append(attempt)
        return Response([delivery_json(d, attempts[d.pk]) for d in deliveries])
